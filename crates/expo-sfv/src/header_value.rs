//! Conversions between the typed headers and [`http::HeaderValue`] (feature `http`).

use http::HeaderValue;

use crate::{Dictionary, Error, ExpectSignature, ManifestFilters, ServerDefinedHeaders, Signature};

/// The text of a received header value: Expo SFV is printable ASCII, so a
/// value with other bytes is refused before parsing.
fn text(value: &HeaderValue) -> Result<&str, Error> {
    value.to_str().map_err(|_| Error::NotAscii)
}

/// A canonical Expo SFV value as a header value. What this crate writes is
/// printable ASCII (strings are checked when they enter a value, and
/// members that cannot be written are left out), which `http` accepts.
fn header_value(text: &str) -> HeaderValue {
    HeaderValue::try_from(text)
        .unwrap_or_else(|_| unreachable!("Expo SFV values are printable ASCII: {text:?}"))
}

macro_rules! header_value_conversions {
    ($($name:ident),*) => {
        $(
            impl TryFrom<&HeaderValue> for $name {
                type Error = Error;

                /// Parses a received header value, as
                #[doc = concat!("[`", stringify!($name), "::parse`].")]
                fn try_from(value: &HeaderValue) -> Result<Self, Error> {
                    $name::parse(text(value)?)
                }
            }

            impl From<&$name> for HeaderValue {
                /// The canonical header value, as
                #[doc = concat!("[`", stringify!($name), "::to_header_value`].")]
                fn from(typed: &$name) -> HeaderValue {
                    header_value(&typed.to_header_value())
                }
            }

            impl From<$name> for HeaderValue {
                fn from(typed: $name) -> HeaderValue {
                    HeaderValue::from(&typed)
                }
            }
        )*
    };
}

header_value_conversions!(
    Dictionary,
    ExpectSignature,
    Signature,
    ManifestFilters,
    ServerDefinedHeaders
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_headers_round_trip_through_header_values() {
        let value = HeaderValue::from_static(r#"sig, keyid="main", alg="rsa-v1_5-sha256""#);
        let expect = ExpectSignature::try_from(&value).unwrap();
        assert_eq!(expect.keyid.as_deref(), Some("main"));
        assert_eq!(HeaderValue::from(&expect), value);

        let value = HeaderValue::from_static(r#"sig="c2ln", keyid="root""#);
        let signature = Signature::try_from(&value).unwrap();
        assert_eq!(HeaderValue::from(signature), value);

        let value = HeaderValue::from_static(r#"branch="main", n=5, ok"#);
        let filters = ManifestFilters::try_from(&value).unwrap();
        assert_eq!(HeaderValue::from(&filters), value);
        let defined = ServerDefinedHeaders::try_from(&value).unwrap();
        assert_eq!(HeaderValue::from(&defined), value);
        assert_eq!(
            HeaderValue::from(Dictionary::try_from(&value).unwrap()),
            value
        );
    }

    #[test]
    fn values_that_are_not_ascii_or_not_sfv_are_refused() {
        let opaque = HeaderValue::from_bytes(b"sig, keyid=\"cl\xe9\"").unwrap();
        assert_eq!(ExpectSignature::try_from(&opaque), Err(Error::NotAscii));
        assert_eq!(Dictionary::try_from(&opaque), Err(Error::NotAscii));
        let bad = HeaderValue::from_static("sig=(");
        assert!(matches!(
            Signature::try_from(&bad),
            Err(Error::Syntax { .. })
        ));
    }

    #[test]
    fn members_that_cannot_be_written_are_left_out() {
        let expect = ExpectSignature {
            sig: true,
            keyid: Some("cl\u{e9}".into()),
            alg: None,
        };
        assert_eq!(HeaderValue::from(&expect), "sig");
    }
}
