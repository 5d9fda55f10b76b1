//! Differential tests: the answers of two independent RFC 8941 peers (npm
//! `structured-headers`, `PyPI` `http-sfv`), recorded in
//! `interop/recorded.json` by `interop/generate.py`, against ours.
//!
//! Two layers are checked:
//! - RFC 8941, as `sfv` parses it for us: same validity, same members (key,
//!   type, value, parameters) and the same canonical serialization as the
//!   peers. Where the peers disagree, the RFC decides (`RFC_DECIDES`); where
//!   they agree with each other but not with RFC 8941, the reason is listed
//!   (`RFC_9651_ONLY`).
//! - Expo SFV, this crate: it accepts exactly the RFC answers whose members
//!   are all booleans, integers, decimals or strings without parameters (and
//!   within the limits), with the same values and serialization, and refuses
//!   the others naming the first offending member.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

use expo_sfv::{Dictionary, Error, Item, MAX_MEMBERS, parse_string_list};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Recorded {
    dictionaries: Vec<Record>,
    lists: Vec<Record>,
}

#[derive(Deserialize)]
struct Record {
    input: String,
    structured_headers: Answer,
    http_sfv: Answer,
}

#[derive(Deserialize, Clone, Debug)]
struct Answer {
    ok: bool,
    #[serde(default)]
    canonical: Option<String>,
    /// Dictionary members: `[key, type, value, parameter count]`; list
    /// members: `[type, value, parameter count]`.
    #[serde(default)]
    members: Vec<Vec<Value>>,
}

impl PartialEq for Answer {
    fn eq(&self, other: &Self) -> bool {
        self.ok == other.ok
            && self.canonical == other.canonical
            && self.members.len() == other.members.len()
            && self
                .members
                .iter()
                .zip(&other.members)
                .all(|(a, b)| a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same(a, b)))
    }
}

/// JSON values equal, decimals to their three fraction digits.
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => ((x - y) * 1000.0).abs() < 0.5,
        _ => a == b,
    }
}

#[derive(Clone, Copy, Debug)]
enum Peer {
    StructuredHeaders,
    HttpSfv,
}

/// Where the peers disagree, the peer that follows RFC 8941, and why.
const RFC_DECIDES: &[(&str, Peer, &str)] = &[
    (
        "",
        Peer::StructuredHeaders,
        "http-sfv refuses an empty field; RFC 8941 4.2 parses it as an empty dictionary",
    ),
    (
        "a=1.",
        Peer::StructuredHeaders,
        "http-sfv accepts a decimal ending in '.'; RFC 8941 4.2.4 step 9.2 fails it",
    ),
    (
        "a=1.0",
        Peer::HttpSfv,
        "structured-headers keeps numbers as JavaScript numbers: the decimal 1.0 becomes the integer 1",
    ),
    ("a=0.0", Peer::HttpSfv, "structured-headers, as above"),
    ("a=-0.0", Peer::HttpSfv, "structured-headers, as above"),
];

/// Where the peers differ from RFC 8941 on purpose: both implement RFC 9651,
/// which added dates and display strings. Expo SFV 0 is defined over RFC 8941.
const RFC_9651_ONLY: &[&str] = &["a=@1659578233", r#"a=%"x""#];

/// The lists where the peers disagree, as above.
const RFC_DECIDES_LISTS: &[(&str, Peer, &str)] = &[(
    "",
    Peer::StructuredHeaders,
    "http-sfv refuses an empty field; RFC 8941 4.2 parses it as an empty list",
)];

fn recorded() -> Recorded {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/interop/recorded.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The answer RFC 8941 gives: the peers' common answer, or the one named in
/// `decides` (each entry must be used: the list stays true to the record).
fn rfc_answers<'r>(
    records: &'r [Record],
    decides: &[(&str, Peer, &str)],
) -> Vec<(&'r str, Answer)> {
    let mut used = 0;
    let answers = records
        .iter()
        .map(|r| {
            let answer = if r.structured_headers == r.http_sfv {
                r.structured_headers.clone()
            } else {
                let (_, peer, _) = decides
                    .iter()
                    .find(|(input, ..)| *input == r.input)
                    .unwrap_or_else(|| {
                        panic!(
                            "peers disagree on {:?}: say which follows RFC 8941",
                            r.input
                        )
                    });
                used += 1;
                match peer {
                    Peer::StructuredHeaders => r.structured_headers.clone(),
                    Peer::HttpSfv => r.http_sfv.clone(),
                }
            };
            (r.input.as_str(), answer)
        })
        .collect();
    assert_eq!(
        used,
        decides.len(),
        "every listed disagreement still occurs"
    );
    answers
}

/// `[type, value]` of one of `sfv`'s bare items, in the peers' vocabulary.
fn bare(item: &sfv::BareItem) -> [Value; 2] {
    match item {
        sfv::BareItem::Boolean(b) => [json!("boolean"), json!(b)],
        sfv::BareItem::Integer(i) => [json!("integer"), json!(i64::from(*i))],
        sfv::BareItem::Decimal(d) => [json!("decimal"), json!(f64::from(*d))],
        sfv::BareItem::String(s) => [json!("string"), json!(s.as_str())],
        sfv::BareItem::Token(t) => [json!("token"), json!(t.as_str())],
        sfv::BareItem::ByteSequence(_) => {
            // The canonical form is the base64 between colons.
            let text = sfv::ItemSerializer::new().bare_item(item).finish();
            [json!("binary"), json!(text.trim_matches(':'))]
        }
        sfv::BareItem::Date(d) => [json!("date"), json!(i64::from(d.unix_seconds()))],
        sfv::BareItem::DisplayString(s) => [json!("displaystring"), json!(s)],
    }
}

fn entry(entry: &sfv::ListEntry) -> Vec<Value> {
    match entry {
        sfv::ListEntry::Item(item) => {
            let [ty, value] = bare(&item.bare_item);
            vec![ty, value, json!(item.params.len())]
        }
        sfv::ListEntry::InnerList(list) => {
            vec![json!("inner-list"), Value::Null, json!(list.params.len())]
        }
    }
}

/// What `sfv`, the RFC 8941 layer under this crate, answers.
fn sfv_dictionary(input: &str) -> Answer {
    let parser = sfv::Parser::new(input).with_version(sfv::Version::Rfc8941);
    match parser.parse::<sfv::Dictionary>() {
        Ok(dict) => {
            let mut ser = sfv::DictSerializer::new();
            ser.members(&dict);
            Answer {
                ok: true,
                // Like the peers: an empty field is not written at all.
                canonical: Some(ser.finish().unwrap_or_default()),
                members: dict
                    .iter()
                    .map(|(k, e)| {
                        let mut m = vec![json!(k.as_str())];
                        m.extend(entry(e));
                        m
                    })
                    .collect(),
            }
        }
        Err(_) => Answer {
            ok: false,
            canonical: None,
            members: Vec::new(),
        },
    }
}

fn sfv_list(input: &str) -> Answer {
    let parser = sfv::Parser::new(input).with_version(sfv::Version::Rfc8941);
    match parser.parse::<sfv::List>() {
        Ok(list) => {
            let mut ser = sfv::ListSerializer::new();
            ser.members(&list);
            Answer {
                ok: true,
                canonical: Some(ser.finish().unwrap_or_default()),
                members: list.iter().map(entry).collect(),
            }
        }
        Err(_) => Answer {
            ok: false,
            canonical: None,
            members: Vec::new(),
        },
    }
}

fn item_json(item: &Item) -> [Value; 2] {
    match item {
        Item::Boolean(b) => [json!("boolean"), json!(b)],
        Item::Integer(i) => [json!("integer"), json!(i)],
        Item::Decimal(d) => [json!("decimal"), json!(f64::from(*d))],
        Item::String(s) => [json!("string"), json!(s)],
    }
}

/// Whether a member `[type, value, parameter count]` is Expo SFV.
fn allowed(member: &[Value]) -> bool {
    let ty = member.first().and_then(Value::as_str).unwrap_or_default();
    ["boolean", "integer", "decimal", "string"].contains(&ty)
        && member.last().and_then(Value::as_u64) == Some(0)
}

/// Asks the peers again (node and python with the packages of `interop/`)
/// and checks the committed answers are still theirs.
#[test]
fn recorded_answers_are_what_the_peers_answer() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/interop");
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let missing = if !std::path::Path::new(dir)
        .join("node_modules/structured-headers")
        .exists()
    {
        Some("interop/node_modules is missing (run npm ci in crates/expo-sfv/interop)")
    } else if !std::process::Command::new("python3")
        .args(["-c", "import http_sfv"])
        .status()
        .is_ok_and(|s| s.success())
    {
        Some(
            "python3 with http-sfv is missing (pip install -r crates/expo-sfv/interop/requirements.txt)",
        )
    } else if !std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        Some("node is missing")
    } else {
        None
    };
    if let Some(why) = missing {
        assert!(!ci, "{why}");
        eprintln!("SKIPPED: {why}");
        return;
    }
    let out = std::process::Command::new("python3")
        .args(["generate.py", "--check"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn table_is_large_enough() {
    let recorded = recorded();
    assert!(recorded.dictionaries.len() >= 100);
    assert!(recorded.lists.len() >= 20);
}

#[test]
fn rfc_layer_agrees_with_the_peers() {
    let recorded = recorded();
    let mut rfc_9651 = 0;
    for (input, rfc) in rfc_answers(&recorded.dictionaries, RFC_DECIDES) {
        let ours = sfv_dictionary(input);
        if RFC_9651_ONLY.contains(&input) {
            assert!(rfc.ok && !ours.ok, "{input:?}: RFC 8941 has no such type");
            rfc_9651 += 1;
        } else {
            assert_eq!(ours, rfc, "{input:?}");
        }
    }
    assert_eq!(rfc_9651, RFC_9651_ONLY.len());
    for (input, rfc) in rfc_answers(&recorded.lists, RFC_DECIDES_LISTS) {
        assert_eq!(sfv_list(input), rfc, "list {input:?}");
    }
}

#[test]
fn expo_dictionaries_are_the_rfc_answers_with_allowed_members() {
    let recorded = recorded();
    let (mut accepted, mut refused_members) = (0, 0);
    for (input, rfc) in rfc_answers(&recorded.dictionaries, RFC_DECIDES) {
        let ours = Dictionary::parse(input);
        let first_refused = rfc.members.iter().find(|m| !allowed(&m[1..]));
        match (rfc.ok, ours) {
            (false, Err(Error::Syntax { .. })) => {}
            (true, _) if RFC_9651_ONLY.contains(&input) => {
                assert!(matches!(
                    Dictionary::parse(input),
                    Err(Error::Syntax { .. })
                ));
            }
            (true, Err(Error::TooManyMembers { max })) => {
                assert!(rfc.members.len() > max, "{input:?}");
            }
            (true, Err(Error::NotAllowed { key, .. })) => {
                let first = first_refused.unwrap_or_else(|| panic!("{input:?} refused"));
                assert_eq!(Some(key.as_str()), first[0].as_str(), "{input:?}");
                refused_members += 1;
            }
            (true, Ok(dict)) => {
                assert!(first_refused.is_none(), "{input:?} accepted");
                assert!(rfc.members.len() <= MAX_MEMBERS);
                let members: Vec<Vec<Value>> = dict
                    .iter()
                    .map(|(k, item)| {
                        let [ty, value] = item_json(item);
                        vec![json!(k), ty, value, json!(0)]
                    })
                    .collect();
                let ours = Answer {
                    ok: true,
                    canonical: Some(dict.to_header_value()),
                    members,
                };
                assert_eq!(ours, rfc, "{input:?}");
                accepted += 1;
            }
            (_, ours) => panic!("{input:?}: RFC 8941 says {rfc:?}, we say {ours:?}"),
        }
    }
    // The table exercises both sides of the subset.
    assert!(accepted >= 100, "{accepted}");
    assert!(refused_members >= 30, "{refused_members}");
}

#[test]
fn expo_string_lists_are_the_rfc_answers_with_only_strings() {
    let recorded = recorded();
    for (input, rfc) in rfc_answers(&recorded.lists, RFC_DECIDES_LISTS) {
        let first_refused = rfc
            .members
            .iter()
            .position(|m| !(allowed(m) && m.first().and_then(Value::as_str) == Some("string")));
        match (rfc.ok, parse_string_list(input)) {
            (false, Err(Error::Syntax { .. })) => {}
            (true, Err(Error::TooManyMembers { max })) => assert!(rfc.members.len() > max),
            (true, Err(Error::NotAllowed { key, .. })) => {
                let first = first_refused.unwrap_or_else(|| panic!("{input:?} refused"));
                assert_eq!(key, format!("#{first}"), "{input:?}");
            }
            (true, Ok(strings)) => {
                assert!(first_refused.is_none(), "{input:?} accepted");
                let values: Vec<&str> = rfc.members.iter().filter_map(|m| m[1].as_str()).collect();
                assert_eq!(strings, values, "{input:?}");
            }
            (_, ours) => panic!("{input:?}: RFC 8941 says {rfc:?}, we say {ours:?}"),
        }
    }
}
