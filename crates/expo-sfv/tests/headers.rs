//! The typed headers, the limits, and round trips.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

use expo_sfv::{
    Decimal, Dictionary, Error, ExpectSignature, Item, MAX_HEADER_LEN, MAX_MEMBERS,
    ManifestFilters, ServerDefinedHeaders, Signature, parse_string_list,
};
use proptest::prelude::*;

#[test]
fn expect_signature_from_the_spec_and_the_clients() {
    let e = ExpectSignature::parse(r#"sig, keyid="root", alg="rsa-v1_5-sha256""#).unwrap();
    assert_eq!(
        e,
        ExpectSignature {
            sig: true,
            keyid: Some("root".into()),
            alg: Some("rsa-v1_5-sha256".into())
        }
    );
    assert_eq!(
        ExpectSignature::parse("").unwrap(),
        ExpectSignature::default()
    );
    // unknown members are ignored
    assert!(ExpectSignature::parse("sig, future=1").unwrap().sig);
}

#[test]
fn expect_signature_type_errors_name_the_member() {
    let err = ExpectSignature::parse("sig, keyid=1").unwrap_err();
    assert_eq!(
        err,
        Error::WrongType {
            header: "expo-expect-signature",
            key: "keyid",
            expected: "a string"
        }
    );
    assert!(err.to_string().contains("keyid"));
    assert!(matches!(
        ExpectSignature::parse(r#"sig="yes""#),
        Err(Error::WrongType { key: "sig", .. })
    ));
    let err = ExpectSignature::parse("sig, keyid=main").unwrap_err();
    assert_eq!(
        err,
        Error::NotAllowed {
            key: "keyid".into(),
            found: "a token"
        }
    );
}

#[test]
fn signature_writes_what_clients_read() {
    let s = Signature {
        sig: "ab+/cd==".into(),
        keyid: Some("main".into()),
        alg: Some("rsa-v1_5-sha256".into()),
    };
    let value = s.to_header_value();
    assert_eq!(
        value,
        r#"sig="ab+/cd==", keyid="main", alg="rsa-v1_5-sha256""#
    );
    assert_eq!(Signature::parse(&value).unwrap(), s);
    let bare = Signature {
        sig: "x".into(),
        keyid: None,
        alg: None,
    };
    assert_eq!(bare.to_header_value(), r#"sig="x""#);
    assert!(matches!(
        Signature::parse(r#"keyid="main""#),
        Err(Error::Missing { key: "sig", .. })
    ));
    let bad = Signature {
        sig: "x".into(),
        keyid: Some("é".into()),
        alg: None,
    };
    assert!(matches!(bad.try_to_header_value(), Err(Error::InvalidString(k)) if k == "keyid"));
}

#[test]
fn strictness_names_the_member() {
    let cases = [
        ("a=(1 2)", "an inner list"),
        ("a=1;x", "a parameter"),
        ("a=tok", "a token"),
        ("a=:aGk=:", "a byte sequence"),
    ];
    for (input, found) in cases {
        assert_eq!(
            Dictionary::parse(input).unwrap_err(),
            Error::NotAllowed {
                key: "a".into(),
                found
            },
            "{input}"
        );
    }
    // RFC 9651 dates and display strings are not RFC 8941
    assert!(matches!(
        Dictionary::parse("a=@1659578233"),
        Err(Error::Syntax { .. })
    ));
    assert!(matches!(
        Dictionary::parse(r#"a=%"x""#),
        Err(Error::Syntax { .. })
    ));
}

#[test]
fn duplicate_keys_keep_first_position_last_value() {
    let d = Dictionary::parse("a=1, b=2, a=3").unwrap();
    assert_eq!(d.to_header_value(), "a=3, b=2");
}

#[test]
fn limits_refuse_before_parsing() {
    let long = format!("a=\"{}\"", "x".repeat(MAX_HEADER_LEN));
    assert!(matches!(
        Dictionary::parse(&long),
        Err(Error::TooLong { .. })
    ));
    assert!(matches!(
        parse_string_list(&long),
        Err(Error::TooLong { .. })
    ));
    let many: Vec<String> = (0..=MAX_MEMBERS).map(|i| format!("k{i}")).collect();
    assert!(matches!(
        Dictionary::parse(&many.join(", ")),
        Err(Error::TooManyMembers { .. })
    ));
    let mut d = Dictionary::new();
    for i in 0..MAX_MEMBERS {
        d.insert(format!("k{i}"), true).unwrap();
    }
    assert!(matches!(
        d.insert("one-more", true),
        Err(Error::TooManyMembers { .. })
    ));
    d.insert("k0", false).unwrap(); // replacing is not growing
}

#[test]
fn insert_validates() {
    let mut d = Dictionary::new();
    assert!(matches!(d.insert("Upper", 1i64), Err(Error::InvalidKey(_))));
    assert!(matches!(
        d.insert("a", "tab\t"),
        Err(Error::InvalidString(_))
    ));
    assert!(matches!(
        d.insert("a", Item::Integer(i64::MAX)),
        Err(Error::NumberOutOfRange(_))
    ));
    d.insert("branch", "main").unwrap();
    d.insert("n", Decimal::try_from(1.5).unwrap()).unwrap();
    assert_eq!(d.to_header_value(), r#"branch="main", n=1.5"#);
    assert_eq!(d.remove("branch"), Some(Item::String("main".into())));
    assert_eq!(d.len(), 1);
}

#[test]
fn filters_and_server_defined_headers() {
    let f = ManifestFilters::parse(r#"branch="production""#).unwrap();
    assert_eq!(
        f.dictionary().get("branch").and_then(Item::as_str),
        Some("production")
    );
    assert_eq!(f.to_header_value(), r#"branch="production""#);
    let h: ServerDefinedHeaders = r#"expo-channel-name="staging", x-seq=3"#.parse().unwrap();
    assert_eq!(h.dictionary().len(), 2);
    assert_eq!(h.to_string(), r#"expo-channel-name="staging", x-seq=3"#);
}

#[test]
fn string_lists() {
    assert_eq!(
        parse_string_list(r#""0754dad0-d200-d634-113c-ef1f26106028", "b""#).unwrap(),
        ["0754dad0-d200-d634-113c-ef1f26106028", "b"]
    );
    assert_eq!(parse_string_list("").unwrap(), Vec::<String>::new());
    assert!(
        matches!(parse_string_list(r#""a", b"#), Err(Error::NotAllowed { key, .. }) if key == "#1")
    );
    assert!(matches!(
        parse_string_list(r#"("a")"#),
        Err(Error::NotAllowed { .. })
    ));
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        any::<bool>().prop_map(Item::Boolean),
        (-999_999_999_999_999i64..=999_999_999_999_999).prop_map(Item::Integer),
        (-999_999_999_999i64..=999_999_999_999, 0i64..1000).prop_map(|(i, f)| {
            let scaled = i
                .saturating_mul(1000)
                .saturating_add(if i < 0 { -f } else { f });
            Item::Decimal(Decimal::from_integer_scaled_1000(
                sfv::Integer::try_from(scaled).unwrap(),
            ))
        }),
        "[ -~]{0,40}".prop_map(Item::String),
    ]
}

proptest! {
    #[test]
    fn dictionaries_round_trip(members in prop::collection::vec(("[a-z*][a-z0-9_.*-]{0,10}", item()), 0..20)) {
        let mut d = Dictionary::new();
        for (k, v) in members {
            d.insert(k, v).unwrap();
        }
        let text = d.to_header_value();
        prop_assert_eq!(Dictionary::parse(&text).unwrap(), d);
    }

    #[test]
    fn parsing_never_panics(input in "\\PC{0,200}") {
        let _ = Dictionary::parse(&input);
        let _ = ExpectSignature::parse(&input);
        let _ = Signature::parse(&input);
        let _ = parse_string_list(&input);
    }
}

/// A member in RFC 8941 syntax, and whether Expo SFV allows it.
fn rfc_member() -> impl Strategy<Value = (String, bool)> {
    prop_oneof![
        item().prop_map(|i| (format!("={i}"), true)),
        Just((String::new(), true)),
        "[a-z][a-z0-9]{0,5}".prop_map(|t| (format!("={t}"), false)),
        Just(("=:aGk=:".to_owned(), false)),
        Just(("=(1 \"x\")".to_owned(), false)),
        item().prop_map(|i| (format!("={i};p=1"), false)),
        Just((";p".to_owned(), false)),
    ]
}

proptest! {
    #[test]
    fn strictness_follows_the_surviving_member(
        members in prop::collection::vec(("[a-d]", rfc_member()), 0..12)
    ) {
        let text: Vec<String> = members.iter().map(|(k, (v, _))| format!("{k}{v}")).collect();
        let input = text.join(", ");
        // RFC 8941: the last value of a key is the one that counts.
        let mut last: Vec<(&str, bool)> = Vec::new();
        for (key, (_, allowed)) in &members {
            match last.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = *allowed,
                None => last.push((key, *allowed)),
            }
        }
        match Dictionary::parse(&input) {
            Ok(dict) => {
                prop_assert!(last.iter().all(|(_, allowed)| *allowed), "{input}");
                let keys: Vec<&str> = dict.iter().map(|(k, _)| k).collect();
                let expected: Vec<&str> = last.iter().map(|(k, _)| *k).collect();
                prop_assert_eq!(keys, expected);
            }
            Err(Error::NotAllowed { key, .. }) => {
                let first = last.iter().find(|(_, allowed)| !allowed).map(|(k, _)| *k);
                prop_assert_eq!(Some(key.as_str()), first, "{}", input);
            }
            Err(other) => prop_assert!(false, "{input}: {other}"),
        }
    }

    #[test]
    fn signatures_round_trip(
        sig in "[A-Za-z0-9+/]{0,400}={0,2}",
        keyid in proptest::option::of("[ -~]{0,20}"),
        alg in proptest::option::of("[ -~]{0,20}"),
    ) {
        let s = Signature { sig, keyid, alg };
        let text = s.try_to_header_value().unwrap();
        prop_assert_eq!(&text, &s.to_header_value());
        prop_assert_eq!(Signature::parse(&text).unwrap(), s);
    }

    #[test]
    fn expect_signatures_round_trip(
        sig in any::<bool>(),
        keyid in proptest::option::of("[ -~]{0,20}"),
        alg in proptest::option::of("[ -~]{0,20}"),
    ) {
        let e = ExpectSignature { sig, keyid, alg };
        prop_assert_eq!(ExpectSignature::parse(&e.to_header_value()).unwrap(), e);
    }
}

#[test]
fn signature_leaves_out_only_what_cannot_be_written() {
    let s = Signature {
        sig: "x".into(),
        keyid: Some("é".into()),
        alg: Some("rsa-v1_5-sha256".into()),
    };
    assert_eq!(s.to_header_value(), r#"sig="x", alg="rsa-v1_5-sha256""#);
    assert_eq!(s.to_string(), s.to_header_value());
}

#[test]
fn server_defined_headers_refuse_what_the_client_sets_itself() {
    let mut headers = ServerDefinedHeaders::default();
    headers.insert("x-tenant", "acme").unwrap();
    headers.insert("authorization", "Bearer t").unwrap();
    for reserved in [
        "expo-channel-name",
        "expo-platform",
        "expo-runtime-version",
        "expo-protocol-version",
        "expo-current-update-id",
        "expo-embedded-update-id",
        "eas-client-id",
        "accept",
        "host",
    ] {
        assert_eq!(
            headers.insert(reserved, "x"),
            Err(Error::ReservedKey(reserved.into())),
            "{reserved}"
        );
        let err = headers.insert(reserved.to_uppercase(), "x").unwrap_err();
        assert_eq!(err.member(), Some(reserved.to_uppercase().as_str()));
        let mut dict = Dictionary::new();
        dict.insert("x-ok", 1).unwrap();
        dict.insert(reserved, "x").unwrap();
        let err = ServerDefinedHeaders::new(dict.clone()).unwrap_err();
        assert_eq!(err, Error::ReservedKey(reserved.into()));
        assert!(err.to_string().contains(reserved), "{err}");
        assert!(ServerDefinedHeaders::try_from(dict).is_err());
    }
    assert_eq!(
        headers.to_header_value(),
        r#"x-tenant="acme", authorization="Bearer t""#
    );
    assert_eq!(headers.reserved_key(), None);
    // What a server sent is read as it is, and the reserved member found.
    let sent: ServerDefinedHeaders = r#"x-a="1", expo-runtime-version="2""#.parse().unwrap();
    assert_eq!(sent.reserved_key(), Some("expo-runtime-version"));
    assert!(ServerDefinedHeaders::is_reserved("Expo-Platform"));
    assert!(!ServerDefinedHeaders::is_reserved("expo-platformx"));
}

#[test]
fn manifest_filters_judge_metadata_as_the_clients_do() {
    let filters: ManifestFilters = r#"branchname="production", tier="gold""#.parse().unwrap();
    // Metadata keys are compared ignoring case (EAS sends `branchName`).
    assert!(filters.matches([("branchName", "production"), ("tier", "gold")]));
    assert_eq!(
        filters.mismatch([("branchName", "staging"), ("tier", "gold")]),
        Some("branchname")
    );
    assert_eq!(filters.mismatch([("TIER", "silver")]), Some("tier"));
    // An absent member passes; so do members no filter names.
    assert!(filters.matches([("message", "fix")]));
    assert!(filters.matches(Vec::<(&str, &str)>::new()));
    // A filter that is not a string never equals a metadata string.
    let numeric: ManifestFilters = "build=42".parse().unwrap();
    assert_eq!(numeric.mismatch([("build", "42")]), Some("build"));
    assert!(ManifestFilters::default().matches([("branchName", "x")]));
}
