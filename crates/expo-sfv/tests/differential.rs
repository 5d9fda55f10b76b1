//! Differential tests: the answers of two independent RFC 8941 peers (npm
//! `structured-headers`, `PyPI` `http-sfv`), recorded in
//! `interop/recorded.json` by `interop/generate.py`, against ours.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

use serde::Deserialize;

#[derive(Deserialize)]
struct Record {
    input: String,
    structured_headers: Answer,
    http_sfv: Answer,
}

#[derive(Deserialize, Clone, PartialEq, Debug)]
struct Answer {
    ok: bool,
    canonical: Option<String>,
}

/// Where the peers disagree, RFC 8941 decides; each entry is the RFC's
/// answer and which peer strays.
const RFC_DECIDES: &[(&str, Option<&str>, &str)] = &[
    (
        r#"en="Applepie", da=:w4ZibGV0w6ZydGUK:"#,
        Some(r#"en="Applepie", da=:w4ZibGV0w6ZydGUK:"#),
        "structured-headers refuses byte sequences it cannot decode in this runtime",
    ),
    (
        "a=:aGVsbG8=:",
        Some("a=:aGVsbG8=:"),
        "structured-headers, as above",
    ),
    ("a=::", Some("a=::"), "structured-headers, as above"),
    (
        "",
        Some(""),
        "http-sfv refuses an empty dictionary (RFC 8941 4.2: empty is a valid, empty dictionary)",
    ),
    (
        "a=1.",
        None,
        "http-sfv accepts a decimal ending in '.' (RFC 8941 4.2.4 step 9.2 fails it)",
    ),
    (
        "a=1.0",
        Some("a=1.0"),
        "structured-headers writes JavaScript's 1.0 as the integer 1",
    ),
];

/// RFC-valid values Expo SFV refuses although every member is of an allowed
/// type: the member limit of this crate.
const OVER_OUR_LIMITS: &[&str] = &["k0=0,k1=1"];

fn rfc_answer(input: &str) -> Answer {
    match sfv::Parser::new(input)
        .with_version(sfv::Version::Rfc8941)
        .parse::<sfv::Dictionary>()
    {
        Ok(dict) => {
            let mut ser = sfv::DictSerializer::new();
            ser.members(&dict);
            Answer {
                ok: true,
                canonical: Some(ser.finish().unwrap_or_default()),
            }
        }
        Err(_) => Answer {
            ok: false,
            canonical: None,
        },
    }
}

fn records() -> Vec<Record> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/interop/recorded.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn table_is_large_enough() {
    assert!(records().len() >= 100);
}

#[test]
fn rfc_layer_agrees_with_both_peers() {
    let mut decided = 0;
    for r in records() {
        let ours = rfc_answer(&r.input);
        let (sh, py) = (&r.structured_headers, &r.http_sfv);
        if sh.ok == py.ok && (!sh.ok || sh.canonical == py.canonical) {
            assert_eq!(ours.ok, sh.ok, "validity of {:?}", r.input);
            assert_eq!(
                ours.canonical, sh.canonical,
                "serialization of {:?}",
                r.input
            );
        } else {
            let (_, rfc, why) = RFC_DECIDES
                .iter()
                .find(|(input, ..)| *input == r.input)
                .unwrap_or_else(|| {
                    panic!("peers disagree on {:?}: list the RFC's answer", r.input)
                });
            assert_eq!(ours.canonical.as_deref(), *rfc, "{:?} ({why})", r.input);
            decided += 1;
        }
    }
    assert_eq!(
        decided,
        RFC_DECIDES.len(),
        "every listed disagreement still occurs"
    );
}

#[test]
fn expo_subset_accepts_exactly_the_allowed_members() {
    for r in records() {
        let rfc = rfc_answer(&r.input);
        let expo = expo_sfv::Dictionary::parse(&r.input);
        let allowed = rfc.ok && in_expo_subset(&r.input);
        let over_limit = OVER_OUR_LIMITS.iter().any(|p| r.input.starts_with(p));
        if allowed && !over_limit {
            let dict = expo.unwrap_or_else(|e| panic!("{:?} refused: {e}", r.input));
            assert_eq!(Some(dict.to_header_value()), rfc.canonical, "{:?}", r.input);
        } else {
            assert!(expo.is_err(), "{:?} accepted", r.input);
        }
    }
}

fn in_expo_subset(input: &str) -> bool {
    let Ok(dict) = sfv::Parser::new(input).parse::<sfv::Dictionary>() else {
        return false;
    };
    dict.values().all(|entry| match entry {
        sfv::ListEntry::Item(item) => {
            item.params.is_empty()
                && matches!(
                    item.bare_item,
                    sfv::BareItem::Boolean(_)
                        | sfv::BareItem::Integer(_)
                        | sfv::BareItem::Decimal(_)
                        | sfv::BareItem::String(_)
                )
        }
        sfv::ListEntry::InnerList(_) => false,
    })
}
