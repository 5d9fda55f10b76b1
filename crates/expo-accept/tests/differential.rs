//! Differential tests against negotiator 1.1.0, the content negotiation of
//! Node servers (Expo's dev server among them), recorded in
//! `interop/recorded.json` by `interop/record.js`.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

use expo_accept::{Accept, AcceptEncoding, ContentCoding};
use serde::Deserialize;

#[derive(Deserialize)]
struct Recorded {
    accept: Vec<AcceptCase>,
    encoding: Vec<EncodingCase>,
}

#[derive(Deserialize)]
struct AcceptCase {
    header: Option<String>,
    offers: Vec<String>,
    chosen: Option<String>,
}

#[derive(Deserialize)]
struct EncodingCase {
    header: Option<String>,
    available: Vec<String>,
    chosen: Option<String>,
}

const INTEROP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/interop");

fn recorded() -> Recorded {
    serde_json::from_str(&std::fs::read_to_string(format!("{INTEROP}/recorded.json")).unwrap())
        .unwrap()
}

/// Asks negotiator itself (`node record.js --stdout`) and checks that the
/// committed table is what it answers today.
#[test]
fn recorded_answers_are_negotiators() {
    let negotiator = std::path::Path::new(INTEROP).join("node_modules/negotiator");
    let output = if negotiator.is_dir() {
        std::process::Command::new("node")
            .args(["record.js", "--stdout"])
            .current_dir(INTEROP)
            .output()
    } else {
        Err(std::io::Error::other(
            "interop/node_modules is missing: run npm ci there",
        ))
    };
    let output = match output {
        Ok(output) => output,
        Err(err) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("SKIPPED: cannot run negotiator ({err})");
            return;
        }
        Err(err) => panic!("cannot run negotiator: {err}"),
    };
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let live: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{INTEROP}/recorded.json")).unwrap())
            .unwrap();
    assert!(
        live == committed,
        "interop/recorded.json is stale: run `node record.js` in interop/"
    );
}

fn our_format(header: Option<&str>, offers: &[String]) -> Option<String> {
    let accept = match header {
        None => Accept::any(),
        Some(h) => Accept::parse(h).unwrap(),
    };
    accept.negotiate(offers).cloned()
}

fn our_coding(header: Option<&str>, available: &[String]) -> Option<String> {
    let available: Vec<ContentCoding> = available.iter().map(|c| c.parse().unwrap()).collect();
    let header = match header {
        None => AcceptEncoding::identity_only(),
        Some(h) => AcceptEncoding::parse(h).unwrap(),
    };
    header.negotiate(&available).map(|c| c.as_str().to_owned())
}

const SERVER_ORDER: &str = "equal weights and specificity: RFC 9110 leaves the choice to the server, \
    which prefers multipart (the only structure that carries directives), then application/expo+json; \
    negotiator takes the client's order";
const Q_GRAMMAR: &str = "RFC 9110 12.4.2: a qvalue is 0 to 1 with at most three decimals; the \
    element is skipped, negotiator reads it with parseFloat";
const LISTED_TWICE: &str = "the same range or coding listed twice: the first entry counts, so a \
    refusal (q=0) is never overridden; negotiator takes the highest weight";
const RFC_SYNTAX: &str = "not RFC 9110 syntax, so the element is skipped; negotiator is lenient";

/// Headers for which we answer differently from negotiator, and why.
const ACCEPT_DIFFERENCES: &[(&str, &str)] = &[
    (
        "application/expo+json, application/json, multipart/mixed",
        SERVER_ORDER,
    ),
    (
        "application/expo+json;q=0.5, application/json;q=0.5, multipart/mixed;q=0.5",
        SERVER_ORDER,
    ),
    ("application/json, application/expo+json", SERVER_ORDER),
    ("application/json,,multipart/mixed", SERVER_ORDER),
    (
        "application/json;q=0.3, multipart/mixed;q=0.3",
        SERVER_ORDER,
    ),
    (
        "application/json;q=0.5, application/expo+json;q=0.5",
        SERVER_ORDER,
    ),
    ("application/json, multipart/mixed", SERVER_ORDER),
    (
        "application/expo+json;q=1, application/json;q=1, multipart/mixed;q=1",
        SERVER_ORDER,
    ),
    ("application/json;q=0.5555", Q_GRAMMAR),
    ("application/json;q=1.5", Q_GRAMMAR),
    ("application/json;q=", Q_GRAMMAR),
    ("application/json;q=.5", Q_GRAMMAR),
    (
        "*/json",
        "RFC 9110 12.5.1: a wildcard type needs a wildcard subtype; negotiator matches the subtype",
    ),
    ("application/json;charset", RFC_SYNTAX),
    ("application/json;p=\"unterminated", RFC_SYNTAX),
    (
        "application/json;q=0.1, application/json;q=0.9, application/expo+json;q=0.5",
        LISTED_TWICE,
    ),
    (
        "application/json;q=0.5;ext=1",
        "RFC 9110 12.5.1: parameters after the weight are accept extensions, not media type \
         parameters; negotiator requires them to match",
    ),
];

const X_GZIP: &str = "RFC 9110 8.4.1.3: x-gzip is gzip; negotiator does not know the alias";

/// Headers for which we answer differently from negotiator, and why.
const ENCODING_DIFFERENCES: &[(&str, &str)] = &[
    ("x-gzip", X_GZIP),
    ("x-gzip;q=0.5, br;q=0.4", X_GZIP),
    ("gzip;q=1.5", Q_GRAMMAR),
    ("gzip;q=0.5555", Q_GRAMMAR),
    ("gzip;q=", Q_GRAMMAR),
    ("gzip;q=\"0.5\"", Q_GRAMMAR),
    (
        "gzip;level=1",
        "RFC 9110 12.5.3: only a weight may follow a coding; the element is skipped",
    ),
    (
        "gzip;q=0.5;x=1",
        "RFC 9110 12.5.3: only a weight may follow a coding; the element is skipped",
    ),
    ("br;gzip", RFC_SYNTAX),
    ("br;q=0, br", LISTED_TWICE),
];

#[test]
fn tables_are_large_enough() {
    let r = recorded();
    let distinct = |v: Vec<Option<String>>| {
        let mut v = v;
        v.sort();
        v.dedup();
        v.len()
    };
    assert!(distinct(r.accept.iter().map(|c| c.header.clone()).collect()) >= 100);
    assert!(distinct(r.encoding.iter().map(|c| c.header.clone()).collect()) >= 100);
}

#[test]
fn accept_matches_negotiator() {
    let (mut differing, mut listed_seen) = (Vec::new(), Vec::new());
    for case in recorded().accept {
        let ours = our_format(case.header.as_deref(), &case.offers);
        if ours == case.chosen {
            continue;
        }
        match ACCEPT_DIFFERENCES
            .iter()
            .find(|(h, _)| Some(*h) == case.header.as_deref())
        {
            Some((h, _)) => listed_seen.push(*h),
            None => differing.push(format!(
                "({:?}, {:?}, ours {ours:?}, negotiator {:?})",
                case.header, case.offers, case.chosen
            )),
        }
    }
    assert!(
        differing.is_empty(),
        "unlisted differences:\n{}",
        differing.join("\n")
    );
    for (h, _) in ACCEPT_DIFFERENCES {
        assert!(
            listed_seen.contains(h),
            "listed difference {h:?} no longer differs"
        );
    }
}

#[test]
fn accept_encoding_matches_negotiator() {
    let (mut differing, mut listed_seen) = (Vec::new(), Vec::new());
    for case in recorded().encoding {
        let ours = our_coding(case.header.as_deref(), &case.available);
        if ours == case.chosen {
            continue;
        }
        match ENCODING_DIFFERENCES
            .iter()
            .find(|(h, _)| Some(*h) == case.header.as_deref())
        {
            Some((h, _)) => listed_seen.push(*h),
            None => differing.push(format!(
                "({:?}, {:?}, ours {ours:?}, negotiator {:?})",
                case.header, case.available, case.chosen
            )),
        }
    }
    assert!(
        differing.is_empty(),
        "unlisted differences:\n{}",
        differing.join("\n")
    );
    for (h, _) in ENCODING_DIFFERENCES {
        assert!(
            listed_seen.contains(h),
            "listed difference {h:?} no longer differs"
        );
    }
}

#[test]
fn single_pass_negotiation_agrees_with_parse_then_negotiate() {
    use expo_accept::{ResponseFormat, negotiate_format};
    for case in recorded().accept {
        let offers: Vec<ResponseFormat> = case
            .offers
            .iter()
            .map(|o| {
                *ResponseFormat::ALL
                    .iter()
                    .find(|f| f.as_str() == o)
                    .unwrap()
            })
            .collect();
        let fast = negotiate_format(case.header.as_deref(), &offers).ok();
        let slow = our_format(case.header.as_deref(), &case.offers);
        assert_eq!(
            fast.map(ResponseFormat::as_str),
            slow.as_deref(),
            "{:?}",
            case.header
        );
    }
}

#[test]
fn single_pass_encoding_agrees_with_parse_then_negotiate() {
    use expo_accept::negotiate_encoding;
    for case in recorded().encoding {
        let available: Vec<ContentCoding> =
            case.available.iter().map(|c| c.parse().unwrap()).collect();
        let fast = negotiate_encoding(case.header.as_deref(), &available).ok();
        let slow = our_coding(case.header.as_deref(), &case.available);
        assert_eq!(
            fast.map(ContentCoding::as_str),
            slow.as_deref(),
            "{:?}",
            case.header
        );
    }
}
