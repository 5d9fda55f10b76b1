//! Negotiation rules, limits and round trips.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

use expo_accept::{
    Accept, AcceptEncoding, ContentCoding, Error, MAX_ELEMENTS, MAX_HEADER_LEN, ResponseFormat,
    negotiate_encoding, negotiate_format,
};
use proptest::prelude::*;

const ALL: [ResponseFormat; 3] = ResponseFormat::ALL;

fn format(header: Option<&str>) -> Result<ResponseFormat, Error> {
    negotiate_format(header, &ALL)
}

#[test]
fn real_clients() {
    // Android and iOS expo-updates
    assert_eq!(
        format(Some(
            "multipart/mixed,application/expo+json,application/json"
        ))
        .unwrap(),
        ResponseFormat::MultipartMixed
    );
    // the spec's example and its SHOULD
    assert_eq!(
        format(Some(
            "application/expo+json;q=0.9, application/json;q=0.8, multipart/mixed"
        ))
        .unwrap(),
        ResponseFormat::MultipartMixed
    );
    assert_eq!(
        format(Some("application/expo+json, application/json")).unwrap(),
        ResponseFormat::ExpoJson
    );
    assert_eq!(format(None).unwrap(), ResponseFormat::MultipartMixed);
}

#[test]
fn weights_then_specificity_then_server_order() {
    assert_eq!(
        format(Some("application/json;q=0.9, multipart/mixed;q=0.8")).unwrap(),
        ResponseFormat::Json
    );
    // the more specific range decides a type's weight
    assert_eq!(
        format(Some("application/*;q=0.1, application/json, */*;q=0.5")).unwrap(),
        ResponseFormat::Json
    );
    // equal weights: specific beats wildcard
    assert_eq!(
        format(Some("*/*;q=0.5, application/json;q=0.5")).unwrap(),
        ResponseFormat::Json
    );
    // equal everything: the server's order
    assert_eq!(
        format(Some("application/json, application/expo+json")).unwrap(),
        ResponseFormat::ExpoJson
    );
}

#[test]
fn not_acceptable_and_exclusions() {
    for header in [
        "text/html",
        "multipart/mixed;q=0, application/*;q=0",
        "*/*;q=0",
        "",
        "garbage",
    ] {
        assert!(
            matches!(format(Some(header)), Err(Error::NotAcceptable { .. })),
            "{header}"
        );
    }
    assert_eq!(
        negotiate_format(Some("application/json"), &[ResponseFormat::MultipartMixed])
            .unwrap_err()
            .to_string(),
        "none of multipart/mixed is acceptable"
    );
    assert_eq!(
        format(Some("*/*, multipart/mixed;q=0")).unwrap(),
        ResponseFormat::ExpoJson
    );
}

#[test]
fn case_whitespace_and_parameters() {
    assert_eq!(
        format(Some("  MULTIPART/Mixed ; Q=0.5 , text/plain")).unwrap(),
        ResponseFormat::MultipartMixed
    );
    assert_eq!(
        format(Some("application/json;charset=utf-8")).unwrap_err(),
        Error::NotAcceptable {
            offered: "multipart/mixed, application/expo+json, application/json".into()
        }
    );
    let accept = Accept::parse(r#"a/b;p="x,y";q=0.5, c/d"#).unwrap();
    assert_eq!(accept.ranges().len(), 2);
    assert_eq!(accept.quality_of("a/b;p=x,y"), 0); // offers are single types, the comma splits
    assert_eq!(accept.quality_of("c/d"), 1000);
    assert_eq!(accept.quality_of_mime(&"c/d".parse().unwrap()), 1000);
}

#[test]
fn strict_parsing_names_the_element() {
    let err = Accept::parse_strict("application/json, */json").unwrap_err();
    assert!(
        matches!(&err, Error::Malformed { element, .. } if element == "*/json"),
        "{err}"
    );
    assert!(Accept::parse_strict("application/json;q=0.5555").is_err());
    assert!(AcceptEncoding::parse_strict("gzip;level=1").is_err());
    assert!(AcceptEncoding::parse_strict("gzip;q=0.5, br").is_ok());
}

#[test]
fn limits() {
    let long = "a/b,".repeat(MAX_HEADER_LEN);
    assert!(matches!(Accept::parse(&long), Err(Error::TooLong { .. })));
    assert!(matches!(format(Some(&long)), Err(Error::TooLong { .. })));
    let many = vec!["a/b"; MAX_ELEMENTS + 1].join(",");
    assert!(matches!(
        Accept::parse(&many),
        Err(Error::TooManyElements { .. })
    ));
    let many = vec!["gzip"; MAX_ELEMENTS + 1].join(",");
    assert!(matches!(
        AcceptEncoding::parse(&many),
        Err(Error::TooManyElements { .. })
    ));
}

#[test]
fn encodings() {
    use ContentCoding::{Brotli, Gzip, Identity};
    let all = ContentCoding::ALL;
    let pick = |h: Option<&str>| negotiate_encoding(h, &all).ok();
    assert_eq!(pick(Some("gzip, deflate, br")), Some(Brotli));
    assert_eq!(pick(Some("gzip")), Some(Gzip));
    assert_eq!(pick(Some("gzip;q=0.5, br;q=0.4")), Some(Gzip));
    assert_eq!(pick(None), Some(Identity));
    assert_eq!(pick(Some("")), Some(Identity));
    assert_eq!(pick(Some("*")), Some(Brotli));
    // br is not named and there is no `*`: nothing is left
    assert_eq!(pick(Some("identity;q=0, gzip;q=0")), None);
    assert_eq!(
        negotiate_encoding(Some("identity;q=0"), &[Identity]).ok(),
        None
    );
    assert_eq!(negotiate_encoding(Some("*;q=0"), &[Identity]).ok(), None);
    assert_eq!(
        negotiate_encoding(Some("*;q=0, identity"), &[Identity]).ok(),
        Some(Identity)
    );
    assert_eq!(
        negotiate_encoding(Some("br"), &[Gzip, Identity]).ok(),
        Some(Identity)
    );
    assert_eq!(
        negotiate_encoding(Some("x-gzip"), &[Brotli, Gzip]).ok(),
        Some(Gzip)
    );
}

fn weight() -> impl Strategy<Value = Option<u16>> {
    prop_oneof![Just(None), (0u16..=1000).prop_map(Some)]
}

fn q(w: Option<u16>) -> String {
    match w {
        None => String::new(),
        Some(1000) => ";q=1".into(),
        Some(w) => format!(";q=0.{w:03}"),
    }
}

proptest! {
    #[test]
    fn accept_display_round_trips(ranges in prop::collection::vec(("[a-z]{1,8}|\\*", "[a-z+.-]{1,8}", weight()), 0..8)) {
        let header: Vec<String> = ranges
            .iter()
            .map(|(t, s, w)| {
                let s = if t == "*" { "*" } else { s.as_str() };
                format!("{t}/{s}{}", q(*w))
            })
            .collect();
        let parsed = Accept::parse_strict(&header.join(", ")).unwrap();
        prop_assert_eq!(Accept::parse_strict(&parsed.to_string()).unwrap(), parsed);
    }

    #[test]
    fn encoding_display_round_trips(entries in prop::collection::vec(("br|gzip|identity|\\*|deflate", weight()), 0..8)) {
        let header: Vec<String> = entries.iter().map(|(c, w)| format!("{c}{}", q(*w))).collect();
        let parsed = AcceptEncoding::parse_strict(&header.join(", ")).unwrap();
        prop_assert_eq!(AcceptEncoding::parse_strict(&parsed.to_string()).unwrap(), parsed);
    }

    #[test]
    fn never_panics(header in "\\PC{0,300}") {
        let _ = negotiate_format(Some(&header), &ALL);
        let _ = negotiate_encoding(Some(&header), &ContentCoding::ALL);
        let _ = Accept::parse_strict(&header);
    }
}
