//! `check URL`: the conformance suite run against this server, on every backend and with
//! several apps, including the two-phase asset-URL stability check across a publish.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]
#![allow(
    clippy::too_many_lines,
    reason = "a scenario reads best as one function"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Backend, bin, block_on, run_json, sample_export};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/expo-codesign/tests/fixtures")
        .join(name)
}

fn sample_export_v2() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../test-fixtures/sample-export-v2/dist")
}

/// `shop` signs with the 2048-bit test key, `blog` with the Expo-generated one; the default
/// app signs with the Expo key too (given on the command line). Every app sends
/// server-defined headers (blog's for its channel) and asset request headers (shop's a
/// signed token that its assets need), so their checks run rather than skip.
fn write_config(dir: &Path) -> PathBuf {
    let path = dir.join("server.toml");
    let key = |name: &str| fixture(name).display().to_string();
    std::fs::write(
        &path,
        format!(
            r#"
[serve.server-defined-headers]
x-tenant = "default"
[serve.asset-request-headers]
x-cdn-key = "edge"

[apps.shop]
admin-token = "shop-token-0123456789"
[[apps.shop.signing-keys]]
key = "{}"
certificate = "{}"
[apps.shop.server-defined-headers]
x-tenant = "shop"
[apps.shop.asset-token]
secret = "shop-asset-token-secret-0123456789"

[apps.blog]
admin-token = "blog-token-0123456789"
[[apps.blog.signing-keys]]
keyid = "main"
key = "{}"
certificate = "{}"
[apps.blog.channels.default.server-defined-headers]
x-channel-cohort = 2
[apps.blog.asset-request-headers]
x-cdn-key = "blog-edge"
"#,
            key("rsa2048-pkcs8.pem"),
            key("rsa2048-certificate.pem"),
            key("expo-private-key.pem"),
            key("expo-certificate.pem"),
        ),
    )
    .unwrap();
    path
}

fn cli(backend: &Backend, data: &Path, config: &Path, app: Option<&str>) -> Command {
    let mut command = backend.bin(data);
    command.env("EXPO_UPDATE_SERVER_CONFIG", config);
    if let Some(app) = app {
        command.args(["--app", app]);
    }
    command
}

fn publish(backend: &Backend, data: &Path, config: &Path, app: Option<&str>, export: &Path) {
    run_json(
        cli(backend, data, config, app)
            .arg("publish")
            .arg(export)
            .args(["--runtime-version", "1.0.0", "--brotli-quality", "1"]),
    );
}

fn report(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The id of the update `manifest_url` serves an iOS install of runtime 1.0.0.
fn served_id(manifest_url: &str) -> Option<String> {
    let url = manifest_url.to_owned();
    block_on(async move {
        let response = reqwest::Client::new()
            .get(url)
            .header("expo-protocol-version", "1")
            .header("expo-platform", "ios")
            .header("expo-runtime-version", "1.0.0")
            .header("accept", "application/expo+json")
            .send()
            .await
            .ok()?;
        let manifest: Value = response.json().await.ok()?;
        manifest["id"].as_str().map(str::to_owned)
    })
}

/// The findings of `report` with this outcome, as `id subject: message` lines.
fn outcomes(report: &Value, outcome: &str) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["outcome"] == outcome)
        .map(|f| format!("{} {}: {}", f["id"], f["subject"], f["message"]))
        .collect()
}

on_every_backend!(check_finds_nothing_wrong_with_this_server_in_any_app);

fn check_finds_nothing_wrong_with_this_server_in_any_app(backend: &Backend) {
    let data = tempfile::tempdir().unwrap();
    let config = write_config(data.path());
    for app in [None, Some("shop"), Some("blog")] {
        publish(backend, data.path(), &config, app, &sample_export());
    }
    let key = format!("main={}", fixture("expo-private-key.pem").display());
    let cert = format!("main={}", fixture("expo-certificate.pem").display());
    let server = {
        let mut backend_server_args = vec![
            "--signing-key",
            key.as_str(),
            "--signing-cert",
            cert.as_str(),
            "--sample=false",
        ];
        let config_arg = config.display().to_string();
        backend_server_args.extend(["--config", config_arg.as_str()]);
        backend.server(data.path(), &backend_server_args)
    };
    let state = data.path().join("state.json");
    let check = |app: Option<&str>, certificate: &str, extra: &[&str]| {
        let mut command = bin(data.path());
        if let Some(app) = app {
            command.args(["--app", app]);
        }
        command
            .args([
                "check",
                &server.base,
                "--runtime-version",
                "1.0.0",
                "--json",
            ])
            .args(["--allow-mutations", "--certificate"])
            .arg(fixture(certificate))
            .args(extra)
            .output()
            .unwrap()
    };

    for (app, certificate) in [
        (None, "expo-certificate.pem"),
        (Some("shop"), "rsa2048-certificate.pem"),
        (Some("blog"), "expo-certificate.pem"),
    ] {
        let output = check(app, certificate, &["--save-state", state.to_str().unwrap()]);
        let json = report(&output);
        assert!(
            output.status.success(),
            "{app:?}: {:#?}",
            outcomes(&json, "fail")
        );
        assert_eq!(json["errors"], 0);
        assert_eq!(json["warnings"], 0, "{:#?}", outcomes(&json, "fail"));
        // Everything ran but the stability check, which needs a publish in between.
        let skipped = outcomes(&json, "skip");
        assert_eq!(skipped.len(), 1, "{app:?}: {skipped:#?}");
        assert!(skipped[0].contains("asset-urls-stable"), "{skipped:?}");
        // What the server sends beyond the manifest is judged, not skipped as absent.
        let passed = outcomes(&json, "pass");
        for id in [
            "manifest-filters",
            "server-defined-headers",
            "asset-request-headers",
        ] {
            assert!(
                passed
                    .iter()
                    .any(|line| line.starts_with(&format!("\"{id}\""))),
                "{app:?}: {id} did not pass: {passed:#?}"
            );
        }
        assert!(
            json["requests"].as_u64().unwrap() >= 25,
            "{}",
            json["requests"]
        );
    }

    // Phase two for blog (whose state was saved last): a new update, the old asset URLs
    // still answer the same bytes.
    let manifest = server.url("/blog/manifest");
    let before = served_id(&manifest);
    publish(
        backend,
        data.path(),
        &config,
        Some("blog"),
        &sample_export_v2(),
    );
    // The server hears of another process's publish within its poll of the store.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while served_id(&manifest) == before {
        assert!(
            std::time::Instant::now() < deadline,
            "the new update is never served"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let output = check(
        Some("blog"),
        "expo-certificate.pem",
        &["--previous-state", state.to_str().unwrap()],
    );
    let json = report(&output);
    assert!(output.status.success(), "{:#?}", outcomes(&json, "fail"));
    assert!(
        outcomes(&json, "skip").is_empty(),
        "{:#?}",
        outcomes(&json, "skip")
    );
    let stable = outcomes(&json, "pass")
        .into_iter()
        .filter(|line| line.starts_with("\"asset-urls-stable\""))
        .count();
    assert!(stable >= 3, "{stable}");

    // The certificate of another key: errors, exit code 1.
    let output = check(Some("shop"), "expo-certificate.pem", &[]);
    assert_eq!(output.status.code(), Some(1));
    let json = report(&output);
    let failed = outcomes(&json, "fail");
    assert!(
        !failed.is_empty() && failed.iter().all(|f| f.contains("signature-")),
        "{failed:#?}"
    );

    // A hard cap on requests, and group selection.
    let output = check(None, "expo-certificate.pem", &["--max-requests", "3"]);
    let json = report(&output);
    assert!(output.status.success());
    assert_eq!(json["requests"], 3);
    let output = check(
        None,
        "expo-certificate.pem",
        &["--only", "assets,caching", "--skip", "caching"],
    );
    let json = report(&output);
    assert!(output.status.success());
    assert!(
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["group"] == "assets")
    );
    let output = check(None, "expo-certificate.pem", &["--only", "nonsense"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown group"));
}

#[test]
fn check_text_report_and_a_runtime_without_updates() {
    let backend = Backend::sqlite();
    let data = tempfile::tempdir().unwrap();
    let server = backend.server(data.path(), &["--sample=false"]);
    // Nothing published: the request an app sends is answered 204, which is right; the
    // checks needing an update say so.
    let output = bin(data.path())
        .args(["check", &server.base, "--runtime-version", "9.9.9"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("skip  manifest-body"), "{stdout}");
    assert!(stdout.contains("0 error(s), 0 warning(s)"), "{stdout}");
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
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Connection refused"), "{stdout}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("1 error(s) found"));
}

/// A server answering 204 to everything: no error (nothing to serve is fine), but requests
/// without a platform or runtime version must be refused: warnings only, exit code 3.
#[test]
fn warnings_alone_exit_with_code_3() {
    use std::io::{BufRead as _, BufReader, Write as _};

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        // Bounded: the check sends at most --max-requests requests.
        for stream in listener.incoming().take(20) {
            let Ok(mut stream) = stream else { break };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            let _ = stream.write_all(
                b"HTTP/1.1 204 No Content\r\nexpo-protocol-version: 1\r\nexpo-sfv-version: 0\r\n\
                  cache-control: private, max-age=0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    let data = tempfile::tempdir().unwrap();
    let output = bin(data.path())
        .args(["check", &format!("http://127.0.0.1:{port}/manifest")])
        .args(["--runtime-version", "1.0.0", "--platform", "ios"])
        .args(["--only", "manifest,request-headers", "--max-requests", "20"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("WARN  platform-missing"), "{stdout}");
    assert!(stdout.contains(" 0 error(s)"), "{stdout}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("warning(s) found"));
}
