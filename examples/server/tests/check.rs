//! `check URL`: the client-side checker, run against this server.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

mod common;

use std::path::PathBuf;

use common::{Backend, bin, run_ok, sample_export};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/expo-codesign/tests/fixtures")
        .join(name)
}

on_every_backend!(check_passes_on_a_good_server_and_fails_on_a_wrong_certificate);

fn check_passes_on_a_good_server_and_fails_on_a_wrong_certificate(backend: &Backend) {
    let data = tempfile::tempdir().unwrap();
    run_ok(backend.bin(data.path()).args([
        "publish",
        sample_export().to_str().unwrap(),
        "--runtime-version",
        "1.0.0",
    ]));
    let key = format!("main={}", fixture("expo-private-key.pem").display());
    let cert_arg = format!("main={}", fixture("expo-certificate.pem").display());
    let server = backend.server(
        data.path(),
        &[
            "--signing-key",
            &key,
            "--signing-cert",
            &cert_arg,
            "--sample=false",
        ],
    );
    let certificate = fixture("expo-certificate.pem");
    let check = |extra: &[&str]| {
        bin(data.path())
            .args(["check", &server.base, "--runtime-version", "1.0.0"])
            .args(extra)
            .output()
            .unwrap()
    };

    // Both platforms, signed: every manifest and every asset in identity and br/gzip.
    let output = check(&["--certificate", certificate.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.ends_with("no errors\n"), "{stdout}");
    assert_eq!(stdout.matches("manifest: GET").count(), 2, "{stdout}");
    // 3 assets per platform, each fetched twice.
    assert_eq!(stdout.matches(" -> 200").count(), 2 + 2 * 3 * 2, "{stdout}");

    // JSON report.
    let output = check(&["--platform", "ios", "--json"]);
    assert!(output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["errors"], 0);
    assert_eq!(report["exchanges"].as_array().unwrap().len(), 1 + 3 * 2);

    // A certificate the server's key does not match: the signature check fails.
    let output = check(&[
        "--platform",
        "android",
        "--certificate",
        fixture("rsa2048-certificate.pem").to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(stdout.contains("error: "), "{stdout}");
    assert!(stdout.to_lowercase().contains("signature"), "{stdout}");

    // A runtime version nobody published for: no update, which is fine.
    let output = bin(data.path())
        .args([
            "check",
            &server.url("/manifest"),
            "--runtime-version",
            "9.9.9",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("-> 204"));
}

#[test]
fn check_reports_an_unreachable_server() {
    let data = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = bin(data.path())
        .args([
            "check",
            &format!("http://127.0.0.1:{port}/manifest"),
            "--runtime-version",
            "1.0.0",
            "--platform",
            "ios",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Connection refused"), "{stdout}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("1 error(s) found"));
}
