//! The typed Expo Updates headers built on [`Dictionary`].

use std::{fmt, str::FromStr};

use crate::{
    Dictionary, Error, Item,
    parser::{self, Value},
};

const EXPECT_SIGNATURE: &str = "expo-expect-signature";
const SIGNATURE: &str = "expo-signature";

/// `expo-expect-signature`: the client verifies signatures and says with
/// which key and algorithm, e.g. `sig, keyid="main", alg="rsa-v1_5-sha256"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectSignature {
    /// `sig`: the client wants the signature in the `sig` member.
    pub sig: bool,
    /// `keyid`: the key the client verifies with.
    pub keyid: Option<String>,
    /// `alg`: the algorithm the client verifies with.
    pub alg: Option<String>,
}

impl ExpectSignature {
    /// Parses the header value; unknown members are ignored, a missing
    /// `sig` is `false`.
    ///
    /// # Examples
    ///
    /// ```
    /// use expo_sfv::ExpectSignature;
    ///
    /// let expect = ExpectSignature::parse(r#"sig, keyid="main", alg="rsa-v1_5-sha256""#)?;
    /// assert!(expect.sig);
    /// assert_eq!(expect.keyid.as_deref(), Some("main"));
    /// assert_eq!(expect.alg.as_deref(), Some("rsa-v1_5-sha256"));
    /// # Ok::<(), expo_sfv::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Dictionary::parse`], and [`Error::WrongType`] when `sig` is not
    /// a boolean or `keyid`/`alg` not a string.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let mut out = ExpectSignature::default();
        for (key, value) in parser::dictionary(input)? {
            match key {
                "sig" => match value {
                    Value::Boolean(b) => out.sig = b,
                    _ => return Err(wrong_type(EXPECT_SIGNATURE, "sig", "a boolean")),
                },
                "keyid" => out.keyid = Some(string(EXPECT_SIGNATURE, "keyid", &value)?),
                "alg" => out.alg = Some(string(EXPECT_SIGNATURE, "alg", &value)?),
                _ => {}
            }
        }
        Ok(out)
    }

    /// The header value, as a client writes it (`sig` as a bare key).
    ///
    /// # Examples
    ///
    /// ```
    /// use expo_sfv::ExpectSignature;
    ///
    /// let expect = ExpectSignature { sig: true, keyid: Some("main".into()), alg: None };
    /// assert_eq!(expect.to_header_value(), r#"sig, keyid="main""#);
    /// ```
    pub fn to_header_value(&self) -> String {
        let mut dict = Dictionary::new();
        // Only the strings can fail (non-ASCII); such a member is left out.
        let _ = dict.insert("sig", self.sig);
        if let Some(keyid) = &self.keyid {
            let _ = dict.insert("keyid", keyid.as_str());
        }
        if let Some(alg) = &self.alg {
            let _ = dict.insert("alg", alg.as_str());
        }
        dict.to_header_value()
    }
}

impl fmt::Display for ExpectSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_header_value())
    }
}

impl TryFrom<&str> for ExpectSignature {
    type Error = Error;

    fn try_from(s: &str) -> Result<Self, Error> {
        ExpectSignature::parse(s)
    }
}

impl FromStr for ExpectSignature {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        ExpectSignature::parse(s)
    }
}

/// `expo-signature`: `sig="<base64>", keyid="main", alg="rsa-v1_5-sha256"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The signature in standard base64 (an SFV string, as clients require).
    pub sig: String,
    /// The key that signed; a client reads a missing keyid as `root`.
    pub keyid: Option<String>,
    /// The algorithm, `rsa-v1_5-sha256`.
    pub alg: Option<String>,
}

impl Signature {
    /// Parses the header value; `sig` is required, unknown members ignored.
    ///
    /// # Examples
    ///
    /// ```
    /// use expo_sfv::Signature;
    ///
    /// let sig = Signature::parse(r#"sig="c2ln", keyid="main", alg="rsa-v1_5-sha256""#)?;
    /// assert_eq!(sig.sig, "c2ln");
    /// assert_eq!(sig.keyid.as_deref(), Some("main"));
    /// # Ok::<(), expo_sfv::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Dictionary::parse`], [`Error::Missing`] without `sig`, and
    /// [`Error::WrongType`] when a member is not a string.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let (mut sig, mut keyid, mut alg) = (None, None, None);
        for (key, value) in parser::dictionary(input)? {
            match key {
                "sig" => sig = Some(string(SIGNATURE, "sig", &value)?),
                "keyid" => keyid = Some(string(SIGNATURE, "keyid", &value)?),
                "alg" => alg = Some(string(SIGNATURE, "alg", &value)?),
                _ => {}
            }
        }
        Ok(Signature {
            sig: sig.ok_or(Error::Missing {
                header: SIGNATURE,
                key: "sig",
            })?,
            keyid,
            alg,
        })
    }

    /// The header value, members in the order `sig`, `keyid`, `alg`, each an
    /// SFV string, absent members left out.
    ///
    /// # Examples
    ///
    /// ```
    /// use expo_sfv::{Error, Signature};
    ///
    /// let sig = Signature { sig: "c2ln".into(), keyid: Some("main".into()), alg: None };
    /// assert_eq!(sig.try_to_header_value()?, r#"sig="c2ln", keyid="main""#);
    ///
    /// let bad = Signature { keyid: Some("cl\u{e9}".into()), ..sig };
    /// assert_eq!(bad.try_to_header_value(), Err(Error::InvalidString("keyid".into())));
    /// # Ok::<(), expo_sfv::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidString`] naming the first member that holds characters
    /// outside printable ASCII.
    pub fn try_to_header_value(&self) -> Result<String, Error> {
        self.write(false)
    }

    /// Like [`try_to_header_value`](Self::try_to_header_value), with a
    /// member that cannot be written (characters outside printable ASCII)
    /// left out. A signature produced by base64 always can.
    pub fn to_header_value(&self) -> String {
        // Skipping members never fails.
        self.write(true).unwrap_or_default()
    }

    fn write(&self, skip_invalid: bool) -> Result<String, Error> {
        let members = [
            ("sig", Some(&self.sig)),
            ("keyid", self.keyid.as_ref()),
            ("alg", self.alg.as_ref()),
        ];
        // Written straight from the fields: the signature is the one long
        // value, and copying it into a `Dictionary` first would double the work.
        let mut out = String::with_capacity(
            members
                .iter()
                .map(|(key, value)| key.len() + value.map_or(0, String::len) + 5)
                .sum(),
        );
        let mut ser = sfv::DictSerializer::with_buffer(&mut out);
        for (key, value) in members {
            let Some(value) = value else { continue };
            match sfv::StringRef::from_str(value) {
                Ok(string) => drop(ser.bare_item(sfv::key_ref(key), string)),
                Err(_) if skip_invalid => {}
                Err(_) => return Err(Error::InvalidString(key.to_owned())),
            }
        }
        drop(ser.finish());
        Ok(out)
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_header_value())
    }
}

impl TryFrom<&str> for Signature {
    type Error = Error;

    fn try_from(s: &str) -> Result<Self, Error> {
        Signature::parse(s)
    }
}

impl FromStr for Signature {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Signature::parse(s)
    }
}

macro_rules! dictionary_header {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $name(Dictionary);

        impl $name {
            /// The value of `key`.
            pub fn get(&self, key: &str) -> Option<&Item> {
                self.0.get(key)
            }

            /// The members.
            pub fn dictionary(&self) -> &Dictionary {
                &self.0
            }

            /// The members, unwrapped.
            pub fn into_dictionary(self) -> Dictionary {
                self.0
            }

            /// Whether there are no members.
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }

            /// The canonical header value.
            pub fn to_header_value(&self) -> String {
                self.0.to_header_value()
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Error;

            fn try_from(s: &str) -> Result<Self, Error> {
                $name::parse(s)
            }
        }

        impl FromStr for $name {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self, Error> {
                $name::parse(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_header_value())
            }
        }
    };
}

dictionary_header! {
    /// `expo-manifest-filters`: the client keeps only updates whose manifest
    /// `metadata` has, for every key here, no value or an equal value.
    ///
    /// Keys are lower case (SFV keys are); clients compare them with the
    /// metadata keys lower-cased, so the filter `branchname` applies to the
    /// metadata member `branchName` (what EAS sends). A client refuses a
    /// manifest that does not pass the filters sent with it: check with
    /// [`mismatch`](Self::mismatch) before sending.
    ///
    /// # Examples
    ///
    /// ```
    /// use expo_sfv::{Dictionary, Item, ManifestFilters};
    ///
    /// let mut members = Dictionary::new();
    /// members.insert("branchname", "production")?;
    /// let filters = ManifestFilters::new(members);
    /// assert_eq!(filters.to_header_value(), r#"branchname="production""#);
    ///
    /// let parsed: ManifestFilters = r#"branchname="production""#.parse()?;
    /// assert_eq!(parsed.get("branchname").and_then(Item::as_str), Some("production"));
    /// assert!(parsed.matches([("branchName", "production")]));
    /// assert!(!parsed.matches([("branchName", "staging")]));
    /// assert!(parsed.matches([("message", "fix")])); // no value passes
    /// # Ok::<(), expo_sfv::Error>(())
    /// ```
    ManifestFilters
}

impl ManifestFilters {
    /// Wraps a dictionary.
    pub fn new(dictionary: Dictionary) -> Self {
        ManifestFilters(dictionary)
    }

    /// Parses the header value.
    ///
    /// # Errors
    ///
    /// As [`Dictionary::parse`].
    pub fn parse(input: &str) -> Result<Self, Error> {
        Dictionary::parse(input).map(ManifestFilters)
    }

    /// The members, to change them.
    pub fn dictionary_mut(&mut self) -> &mut Dictionary {
        &mut self.0
    }

    /// The first filter key that `metadata` (a manifest's `metadata`
    /// members) does not pass, as the Expo Updates clients judge it: the
    /// metadata member whose key equals the filter key ignoring ASCII case
    /// must be absent or equal to the filter, which must then be a string
    /// (a number or boolean never equals a metadata string).
    pub fn mismatch<K, V>(&self, metadata: impl IntoIterator<Item = (K, V)>) -> Option<&str>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        // One pass over the metadata; the filters are few.
        metadata.into_iter().find_map(|(key, value)| {
            let (filter_key, filter) = self
                .0
                .iter()
                .find(|(filter_key, _)| filter_key.eq_ignore_ascii_case(key.as_ref()))?;
            (filter.as_str() != Some(value.as_ref())).then_some(filter_key)
        })
    }

    /// Whether `metadata` passes every filter ([`mismatch`](Self::mismatch) finds none).
    pub fn matches<K, V>(&self, metadata: impl IntoIterator<Item = (K, V)>) -> bool
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        self.mismatch(metadata).is_none()
    }
}

impl From<Dictionary> for ManifestFilters {
    fn from(dictionary: Dictionary) -> Self {
        ManifestFilters(dictionary)
    }
}

dictionary_header! {
    /// `expo-server-defined-headers`: headers the client stores and sends back
    /// with every later manifest request.
    ///
    /// A server may not define the headers a client sets itself or that carry
    /// the protocol ([`RESERVED`](Self::RESERVED)): depending on the client
    /// and the order it writes headers in, such a member would either be
    /// overwritten or replace what the client means to say (its platform,
    /// runtime version, channel, the update it runs). [`new`](Self::new) and
    /// [`insert`](Self::insert) refuse them; [`parse`](Self::parse) reads
    /// what a server sent as it is, and [`reserved_key`](Self::reserved_key)
    /// finds one.
    ///
    /// # Examples
    ///
    /// ```
    /// use expo_sfv::{Error, ServerDefinedHeaders};
    ///
    /// let mut headers = ServerDefinedHeaders::default();
    /// headers.insert("x-tenant", "acme")?;
    /// assert_eq!(headers.to_header_value(), r#"x-tenant="acme""#);
    /// assert_eq!(
    ///     headers.insert("expo-channel-name", "staging"),
    ///     Err(Error::ReservedKey("expo-channel-name".into()))
    /// );
    ///
    /// let sent: ServerDefinedHeaders = r#"expo-platform="ios""#.parse()?;
    /// assert_eq!(sent.reserved_key(), Some("expo-platform"));
    /// # Ok::<(), expo_sfv::Error>(())
    /// ```
    ServerDefinedHeaders
}

impl ServerDefinedHeaders {
    /// The headers a server may not define, lower case: the protocol's request
    /// headers (those the clients write themselves, and `expo-channel-name`,
    /// which the app configures), content negotiation, and HTTP framing.
    pub const RESERVED: &'static [&'static str] = &[
        "a-im",
        "accept",
        "accept-encoding",
        "connection",
        "content-length",
        "content-type",
        "eas-client-id",
        "expo-api-version",
        "expo-channel-name",
        "expo-current-update-id",
        "expo-embedded-update-id",
        "expo-expect-signature",
        "expo-extra-params",
        "expo-fatal-error",
        "expo-json-error",
        "expo-platform",
        "expo-protocol-version",
        "expo-recent-failed-update-ids",
        "expo-requested-update-id",
        "expo-runtime-version",
        "expo-updates-environment",
        "host",
        "te",
        "transfer-encoding",
        "upgrade",
    ];

    /// Whether `name` (any case) is one of [`RESERVED`](Self::RESERVED).
    pub fn is_reserved(name: &str) -> bool {
        Self::RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name))
    }

    /// The members of `dictionary` as server-defined headers.
    ///
    /// # Errors
    ///
    /// [`Error::ReservedKey`] naming the first reserved member.
    pub fn new(dictionary: Dictionary) -> Result<Self, Error> {
        let headers = ServerDefinedHeaders(dictionary);
        match headers.reserved_key() {
            Some(key) => Err(Error::ReservedKey(key.to_owned())),
            None => Ok(headers),
        }
    }

    /// Parses a received header value as it is, reserved members included
    /// (a client ignores what it may not take; see
    /// [`reserved_key`](Self::reserved_key)).
    ///
    /// # Errors
    ///
    /// As [`Dictionary::parse`].
    pub fn parse(input: &str) -> Result<Self, Error> {
        Dictionary::parse(input).map(ServerDefinedHeaders)
    }

    /// Sets header `name` to `value`, as [`Dictionary::insert`].
    ///
    /// # Errors
    ///
    /// [`Error::ReservedKey`] for a reserved name, else as
    /// [`Dictionary::insert`] (names are lower case, strings printable ASCII).
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<Item>) -> Result<(), Error> {
        let name = name.into();
        if Self::is_reserved(&name) {
            return Err(Error::ReservedKey(name));
        }
        self.0.insert(name, value)
    }

    /// Removes header `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<Item> {
        self.0.remove(name)
    }

    /// The first member that is a reserved header, if any.
    pub fn reserved_key(&self) -> Option<&str> {
        self.0
            .iter()
            .map(|(key, _)| key)
            .find(|key| Self::is_reserved(key))
    }
}

impl TryFrom<Dictionary> for ServerDefinedHeaders {
    type Error = Error;

    fn try_from(dictionary: Dictionary) -> Result<Self, Error> {
        ServerDefinedHeaders::new(dictionary)
    }
}

fn wrong_type(header: &'static str, key: &'static str, expected: &'static str) -> Error {
    Error::WrongType {
        header,
        key,
        expected,
    }
}

fn string(header: &'static str, key: &'static str, value: &Value<'_>) -> Result<String, Error> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| wrong_type(header, key, "a string"))
}
