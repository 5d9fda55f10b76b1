//! The `mime` 0.3 behaviours the crate docs give as the reason for parsing
//! media ranges here: if one of these changes, the reasoning is worth
//! revisiting.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

use expo_accept::{Accept, MediaRange};

fn mime_accepts(s: &str) -> bool {
    s.parse::<mime::Mime>().is_ok()
}

fn we_accept(s: &str) -> bool {
    s.parse::<MediaRange>().is_ok()
}

#[test]
fn mime_accepts_what_rfc_9110_refuses() {
    for range in [
        "*/json",
        "text/",
        "application/json;q=0.5555",
        "application/json;q=abc",
    ] {
        assert!(mime_accepts(range), "{range}");
        assert!(!we_accept(range), "{range}");
    }
}

#[test]
fn mime_refuses_what_rfc_9110_allows() {
    for range in [
        "application/json ; q=0.5",
        "application/json\t;q=0.5",
        r#"application/json;p="\"""#,
    ] {
        assert!(!mime_accepts(range), "{range}");
        assert!(we_accept(range), "{range}");
    }
}

#[test]
fn mime_keeps_the_weight_among_the_parameters() {
    let parsed: mime::Mime = "text/html;q=0.5;level=1".parse().unwrap();
    assert_eq!(parsed.get_param("q").unwrap(), "0.5");
    assert_eq!(parsed.get_param("level").unwrap(), "1");
    // RFC 9110: what follows the weight is not a media type parameter.
    let ours: MediaRange = "text/html;q=0.5;level=1".parse().unwrap();
    assert_eq!(ours.quality(), 500);
    assert_eq!(ours.params().count(), 0);
}

#[test]
fn mime_values_work_as_offers() {
    let offers = [mime::APPLICATION_JSON, mime::TEXT_PLAIN];
    let accept = Accept::parse("text/*;q=0.9, application/json;q=0.5").unwrap();
    assert_eq!(accept.negotiate(&offers), Some(&mime::TEXT_PLAIN));
    assert_eq!(accept.quality_of_mime(&mime::APPLICATION_JSON), 500);
}
