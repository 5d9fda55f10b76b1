//! Interoperability with independent implementations:
//!
//! - encoder output read by `@expo/multipart-body-parser` (the parser Expo's
//!   own tools use for manifest responses) and by Python's `email` package;
//! - the decoder reading bodies written by the npm `form-data` package (what
//!   the Expo reference update server uses), cross-checked with Python.
//!
//! The scripts live in `interop/`; `npm ci` there installs the npm packages.
//! Without node, python3 or the installed packages these tests print
//! `SKIPPED` and pass, except under `CI=true`, where they fail.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use expo_multipart::{Limits, Multipart, Part, decode};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{Value, json};

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// Fails under CI, otherwise reports the skip loudly and returns `None`.
fn unavailable(why: &str) -> Option<Value> {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "interop tool unavailable under CI: {why}"
    );
    // Straight to stderr: the test harness would swallow `eprintln!`.
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
    None
}

/// Runs `program script` in `interop/` with `input` as JSON on stdin and
/// returns its JSON output, or `None` if the tool is unavailable.
fn run(program: &str, script: &str, input: &Value) -> Option<Value> {
    let dir = interop_dir();
    if program == "node" && !dir.join("node_modules").is_dir() {
        return unavailable(
            "interop/node_modules missing (run `npm ci` in crates/expo-multipart/interop)",
        );
    }
    let child = Command::new(program)
        .arg(script)
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(err) => return unavailable(&format!("cannot run {program}: {err}")),
    };
    let input = serde_json::to_vec(input).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        output.status.success(),
        "{program} {script} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_slice(&output.stdout).unwrap())
}

fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

fn unb64(value: &Value) -> Vec<u8> {
    B64.decode(value.as_str().unwrap()).unwrap()
}

/// Characters that stress a multipart reader: line ends, dashes, the start
/// of boundaries, multi-byte UTF-8.
const TRICKY: &[&str] = &[
    "\r\n", "\r", "\n", "--", "-", "\r\n--", "\r\n--a", "{", "}", "\"", ":", " ", "é", "😀",
    "manifest", "0", "Z", "\t", "=",
];

fn tricky_text(rng: &mut StdRng, max_pieces: usize) -> String {
    let n = rng.random_range(0..=max_pieces);
    (0..n)
        .map(|_| TRICKY[rng.random_range(0..TRICKY.len())])
        .collect()
}

/// Expo-shaped parts: form-data names, JSON content types, signatures.
fn expo_parts(rng: &mut StdRng) -> Vec<Part> {
    const NAMES: &[&str] = &["manifest", "directive", "extensions", "certificate_chain"];
    let count = rng.random_range(1..=4);
    (0..count)
        .map(|i| {
            let name = if rng.random_bool(0.8) {
                NAMES[i % NAMES.len()].to_owned()
            } else {
                format!("field-{}", rng.random_range(0..1000))
            };
            let body = tricky_text(rng, 64);
            let mut part = Part::form_data(&name, "application/json", body);
            if rng.random_bool(0.5) {
                let sig: Vec<u8> = (0..rng.random_range(1..300))
                    .map(|_| rng.random())
                    .collect();
                let value = format!(
                    r#"sig="{}", keyid="main", alg="rsa-v1_5-sha256""#,
                    b64(&sig)
                );
                part = part.with_header("expo-signature", value).unwrap();
            }
            if rng.random_bool(0.3) {
                part = part.with_header("x-extra", "a; b=\"c d\"").unwrap();
            }
            part
        })
        .collect()
}

/// Parts with arbitrary bytes for byte-exact readers.
fn binary_parts(rng: &mut StdRng) -> Vec<Part> {
    let count = rng.random_range(0..=5);
    (0..count)
        .map(|_| {
            let mut body: Vec<u8> = tricky_text(rng, 32).into_bytes();
            for _ in 0..rng.random_range(0..64) {
                body.insert(rng.random_range(0..=body.len()), rng.random());
            }
            let mut part = Part::new(body);
            for _ in 0..rng.random_range(0..4) {
                let name = format!("x-h{}", rng.random_range(0..5));
                let value: String = (0..rng.random_range(0..20))
                    .map(|_| char::from(rng.random_range(0x20_u8..0x7f)))
                    .collect();
                part = part.with_header(name.as_str(), value.as_str()).unwrap();
            }
            part
        })
        .collect()
}

fn fixed_expo_cases() -> Vec<Vec<Part>> {
    let manifest = r#"{"id":"0754dad0-d200-d634-113c-ef1f26106028","createdAt":"2023-02-13T19:20:54.523Z","runtimeVersion":"1","launchAsset":{"hash":"DW5MBgKq155wnX8rCP1lnsW6BsTbfKLXxGXRQx1RcOA","key":"0436e5821bff7b95a84c21f22a43cb96","contentType":"application/javascript","url":"https://example.com/api/assets?asset=bundle"},"assets":[],"metadata":{},"extra":{"expoClient":{"name":"app"}}}"#;
    vec![
        vec![
            Part::form_data("manifest", "application/json", manifest)
                .with_header(
                    "expo-signature",
                    r#"sig="AAAA", keyid="main", alg="rsa-v1_5-sha256""#,
                )
                .unwrap(),
            Part::form_data(
                "extensions",
                "application/json",
                r#"{"assetRequestHeaders":{}}"#,
            ),
        ],
        vec![Part::form_data(
            "directive",
            "application/json",
            r#"{"type":"noUpdateAvailable"}"#,
        )],
        vec![Part::form_data("manifest", "application/json", "")],
        vec![Part::form_data(
            "certificate_chain",
            "application/x-pem-file",
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        )],
    ]
}

#[test]
fn expo_multipart_body_parser_reads_encoder_output() {
    let mut rng = StdRng::seed_from_u64(0x6578_706f);
    let mut cases = fixed_expo_cases();
    cases.extend((0..150).map(|_| expo_parts(&mut rng)));
    let encoded: Vec<_> = cases
        .iter()
        .map(|parts| Multipart::new(parts.clone()).encode())
        .collect();
    let input: Value = encoded
        .iter()
        .map(|e| json!({ "contentType": e.content_type.to_str().unwrap(), "body": b64(&e.body) }))
        .collect();
    let Some(output) = run("node", "parse_expo.js", &input) else {
        return;
    };
    for (index, (parts, result)) in cases.iter().zip(output.as_array().unwrap()).enumerate() {
        assert_eq!(result["ok"], true, "case {index}: {result}");
        let read = result["parts"].as_array().unwrap();
        assert_eq!(read.len(), parts.len(), "case {index}");
        for (part, read) in parts.iter().zip(read) {
            assert_eq!(read["name"].as_str(), part.name(), "case {index}");
            assert_eq!(
                read["body"].as_str().unwrap().as_bytes(),
                part.body().as_ref(),
                "case {index}"
            );
            let headers = read["headers"].as_object().unwrap();
            assert_eq!(
                headers.len(),
                part.headers().len(),
                "case {index}: {headers:?}"
            );
            for (name, value) in part.headers() {
                assert_eq!(
                    headers[name.as_str()].as_str().map(str::as_bytes),
                    Some(value.as_bytes()),
                    "case {index}: {name}"
                );
            }
        }
    }
}

/// One part as (header name, value) pairs and body bytes.
type PartView = (Vec<(String, Vec<u8>)>, Vec<u8>);

/// Python's view of one encoded body.
fn python_parts(result: &Value) -> Vec<PartView> {
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["defects"], json!([]), "{result}");
    result["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|part| {
            let headers = part["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| (h[0].as_str().unwrap().to_owned(), unb64(&h[1])))
                .collect();
            (headers, unb64(&part["body"]))
        })
        .collect()
}

fn our_view(parts: &[Part]) -> Vec<PartView> {
    parts
        .iter()
        .map(|p| {
            let headers = p
                .headers()
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
                .collect();
            (headers, p.body().to_vec())
        })
        .collect()
}

#[test]
fn python_email_reads_encoder_output() {
    let mut rng = StdRng::seed_from_u64(0x7079_7468);
    let mut cases = fixed_expo_cases();
    cases.extend((0..100).map(|_| expo_parts(&mut rng)));
    cases.extend((0..150).map(|_| binary_parts(&mut rng)));
    cases.retain(|parts| !parts.is_empty());
    let encoded: Vec<_> = cases
        .iter()
        .map(|parts| Multipart::new(parts.clone()).encode())
        .collect();
    let input: Value = encoded
        .iter()
        .map(|e| json!({ "contentType": e.content_type.to_str().unwrap(), "body": b64(&e.body) }))
        .collect();
    let Some(output) = run("python3", "parse_email.py", &input) else {
        return;
    };
    for (index, (parts, result)) in cases.iter().zip(output.as_array().unwrap()).enumerate() {
        // Exact names (lower case as written), values and body bytes.
        assert_eq!(python_parts(result), our_view(parts), "case {index}");
    }
}

/// A `form-data` field: name, value and append options.
struct Field {
    name: String,
    value: Vec<u8>,
    content_type: Option<&'static str>,
    header: Vec<(&'static str, String)>,
}

fn random_fields(rng: &mut StdRng) -> Vec<Field> {
    (0..rng.random_range(1..=4))
        .map(|i| {
            let mut value: Vec<u8> = tricky_text(rng, 40).into_bytes();
            for _ in 0..rng.random_range(0..16) {
                value.insert(rng.random_range(0..=value.len()), rng.random());
            }
            let mut header = Vec::new();
            if rng.random_bool(0.5) {
                header.push(("expo-signature", format!(r#"sig="{}""#, b64(&value))));
            }
            Field {
                name: match i {
                    0 => "manifest".to_owned(),
                    _ => format!("field {i} \"quoted\""),
                },
                value,
                content_type: rng.random_bool(0.7).then_some("application/json"),
                header,
            }
        })
        .collect()
}

fn form_data_input(cases: &[Vec<Field>]) -> Value {
    cases
        .iter()
        .map(|fields| {
            let fields: Vec<Value> = fields
                .iter()
                .map(|f| {
                    let mut field = json!({ "name": f.name, "value": b64(&f.value) });
                    if let Some(ct) = f.content_type {
                        field["contentType"] = json!(ct);
                    }
                    if !f.header.is_empty() {
                        field["header"] = f
                            .header
                            .iter()
                            .map(|(k, v)| ((*k).to_owned(), json!(v)))
                            .collect();
                    }
                    field
                })
                .collect();
            json!({ "fields": fields })
        })
        .collect()
}

fn check_form_data_part(index: usize, field: &Field, part: &Part) {
    // form-data escapes `"` in names as %22.
    assert_eq!(part.name(), Some(field.name.replace('"', "%22").as_str()));
    assert_eq!(part.body().as_ref(), field.value.as_slice(), "case {index}");
    let content_types: Vec<_> = part
        .headers()
        .iter()
        .filter(|(n, _)| n == "content-type")
        .map(|(_, v)| v.to_str().unwrap())
        .collect();
    // form-data's default for a Buffer value is application/octet-stream.
    let mut expected = vec![field.content_type.unwrap_or("application/octet-stream")];
    expected.extend(
        field
            .header
            .iter()
            .filter(|(k, _)| *k == "content-type")
            .map(|(_, v)| v.as_str()),
    );
    assert_eq!(content_types, expected, "case {index}");
    for (name, value) in &field.header {
        assert!(
            part.headers()
                .iter()
                .any(|(n, v)| n == name && v.as_bytes() == value.as_bytes()),
            "case {index}: {name}"
        );
    }
}

#[test]
fn decoder_reads_form_data_package_output() {
    let mut rng = StdRng::seed_from_u64(0x666f_726d);
    // The reference server's manifest part: a JSON content type, then its
    // own `content-type` and `expo-signature` through `header`.
    let mut cases = vec![vec![
        Field {
            name: "manifest".to_owned(),
            value: br#"{"id":"0754dad0-d200-d634-113c-ef1f26106028"}"#.to_vec(),
            content_type: Some("application/json"),
            header: vec![
                ("content-type", "application/json; charset=utf-8".to_owned()),
                ("expo-signature", r#"sig="AAAA", keyid="main""#.to_owned()),
            ],
        },
        Field {
            name: "extensions".to_owned(),
            value: br#"{"assetRequestHeaders":{}}"#.to_vec(),
            content_type: Some("application/json"),
            header: Vec::new(),
        },
    ]];
    cases.extend((0..150).map(|_| random_fields(&mut rng)));
    let input = form_data_input(&cases);
    let Some(bodies) = run("node", "form_data.js", &input) else {
        return;
    };
    let bodies = bodies.as_array().unwrap();
    let mut decoded = Vec::new();
    for (index, (fields, written)) in cases.iter().zip(bodies).enumerate() {
        let content_type = written["contentType"].as_str().unwrap();
        let body = unb64(&written["body"]);
        assert!(body.ends_with(b"--\r\n"));
        let parts = decode(content_type, &body, &Limits::default()).unwrap();
        assert_eq!(parts.len(), fields.len(), "case {index}");
        for (field, part) in fields.iter().zip(&parts) {
            check_form_data_part(index, field, part);
        }
        decoded.push((content_type.to_owned(), body, parts));
    }

    // Python must see the same headers (up to name case) and bytes.
    let input: Value = decoded
        .iter()
        .map(|(ct, body, _)| json!({ "contentType": ct, "body": b64(body) }))
        .collect();
    let Some(output) = run("python3", "parse_email.py", &input) else {
        return;
    };
    for (index, ((_, _, parts), result)) in
        decoded.iter().zip(output.as_array().unwrap()).enumerate()
    {
        let python: Vec<_> = python_parts(result)
            .into_iter()
            .map(|(headers, body)| {
                let headers = headers
                    .into_iter()
                    .map(|(n, v)| (n.to_ascii_lowercase(), v))
                    .collect::<Vec<_>>();
                (headers, body)
            })
            .collect();
        assert_eq!(python, our_view(parts), "case {index}");
    }
}

#[test]
fn streaming_output_is_what_python_reads() {
    use http_body_util::BodyExt as _;

    let mut rng = StdRng::seed_from_u64(0x7374_7265);
    let parts: Vec<Part> = binary_parts(&mut rng)
        .into_iter()
        .chain([Part::new(Bytes::from(vec![0xAB; 100_000]))])
        .collect();
    let multipart = Multipart::new(parts.clone());
    let content_type = multipart.content_type();
    let body = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(multipart.into_body().collect())
        .unwrap()
        .to_bytes();
    let input = json!([{ "contentType": content_type.to_str().unwrap(), "body": b64(&body) }]);
    let Some(output) = run("python3", "parse_email.py", &input) else {
        return;
    };
    assert_eq!(python_parts(&output[0]), our_view(&parts));
}
