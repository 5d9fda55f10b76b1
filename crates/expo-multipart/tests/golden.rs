//! Byte-exact responses, written by hand from the framing the expo-updates
//! clients need: `--B\r\n` first, lower-case header names, `\r\n--B\r\n`
//! between parts and `\r\n--B--\r\n` (final CRLF included) at the end.
#![allow(clippy::unwrap_used, reason = "tests")]

use expo_multipart::{Boundary, Limits, Multipart, Part, decode};

const BOUNDARY: &str = "expo-golden-0123456789";
const CONTENT_TYPE: &str = "multipart/mixed; boundary=expo-golden-0123456789";
const SIGNATURE: &str = r#"sig="c2lnbmF0dXJl", keyid="main", alg="rsa-v1_5-sha256""#;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn manifest_parts() -> Vec<Part> {
    vec![
        Part::form_data(
            "manifest",
            "application/json",
            r#"{"id":"0754dad0-d200-d634-113c-ef1f26106028","createdAt":"2023-02-13T19:20:54.523Z","runtimeVersion":"1"}"#,
        )
        .with_header("expo-signature", SIGNATURE)
        .unwrap(),
        Part::form_data("extensions", "application/json", r#"{"assetRequestHeaders":{}}"#),
    ]
}

fn directive_parts() -> Vec<Part> {
    vec![
        Part::form_data(
            "directive",
            "application/json",
            r#"{"type":"rollBackToEmbedded","parameters":{"commitTime":"2023-02-13T19:20:54.523Z"}}"#,
        )
        .with_header("Expo-Signature", SIGNATURE)
        .unwrap(),
    ]
}

#[test]
fn encoder_writes_the_golden_bytes() {
    for (file, parts) in [
        ("manifest_response.multipart", manifest_parts()),
        ("directive_response.multipart", directive_parts()),
    ] {
        let multipart = Multipart::with_boundary(parts, Boundary::new(BOUNDARY).unwrap()).unwrap();
        let encoded = multipart.encode();
        assert_eq!(encoded.content_type, CONTENT_TYPE);
        assert_eq!(
            String::from_utf8_lossy(&encoded.body),
            String::from_utf8_lossy(&fixture(file)),
            "{file}"
        );
        assert!(encoded.body.ends_with(b"--\r\n"));
    }
}

#[test]
fn decoder_reads_the_golden_bytes() {
    for (file, parts) in [
        ("manifest_response.multipart", manifest_parts()),
        ("directive_response.multipart", directive_parts()),
    ] {
        let decoded = decode(CONTENT_TYPE, &fixture(file), &Limits::default()).unwrap();
        assert_eq!(decoded, parts, "{file}");
        // The signature header is found under its lower-case name.
        assert_eq!(decoded[0].headers()[2].0.as_str(), "expo-signature");
        assert_eq!(decoded[0].header("expo-signature").unwrap(), SIGNATURE);
    }
}

#[test]
fn no_update_is_an_empty_body() {
    let multipart = Multipart::new(Vec::new());
    assert!(multipart.encode().body.is_empty());
    let content_type = multipart.content_type();
    assert!(
        decode(content_type.to_str().unwrap(), b"", &Limits::default())
            .unwrap()
            .is_empty()
    );
}
