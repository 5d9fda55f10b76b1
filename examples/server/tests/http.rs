//! The real server on loopback: health, assets in every encoding, the admin API, malformed
//! requests, graceful shutdown.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]
#![allow(
    clippy::too_many_lines,
    reason = "a scenario reads best as one function"
)]

mod common;

use std::time::Duration;

use common::{Backend, Server, bin, decode, hex_of_manifest_hash, run_json, run_ok, sha256_hex};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const TOKEN: &str = "0123456789abcdef-test-token";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Every asset hash (hex) of every update the server knows, with its content type.
async fn all_assets(server: &Server) -> Vec<(String, String)> {
    let list: Value = server.admin_json("/admin/updates", TOKEN).await;
    let mut assets = Vec::new();
    for update in list.as_array().unwrap() {
        let id = update["id"].as_str().unwrap();
        let shown: Value = server
            .admin_json(&format!("/admin/updates/{id}"), TOKEN)
            .await;
        for asset in
            std::iter::once(&shown["launch_asset"]).chain(shown["assets"].as_array().unwrap())
        {
            if asset.is_null() {
                continue;
            }
            let entry = (
                hex_of_manifest_hash(asset["hash"].as_str().unwrap()),
                asset["content_type"].as_str().unwrap().to_owned(),
            );
            if !assets.contains(&entry) {
                assets.push(entry);
            }
        }
    }
    assets
}

/// Every asset of the bundled sample, in every coding, conditionally, by either hash
/// spelling, with HEAD and a range: the bytes hash to the manifest's hash.
async fn assert_assets_served(server: &Server, http: &reqwest::Client) {
    // The bundled sample (the real export) was published into the empty database.
    let assets = all_assets(server).await;
    assert_eq!(assets.len(), 4, "2 bundles + 2 PNGs: {assets:?}");

    let mut encodings_seen = Vec::new();
    for (hash, content_type) in &assets {
        for accept in [
            None,
            Some("br"),
            Some("gzip"),
            Some("gzip, deflate, br"),
            Some("identity"),
        ] {
            let mut request = http.get(server.url(&format!("/assets/{hash}")));
            if let Some(accept) = accept {
                request = request.header("accept-encoding", accept);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{hash} {accept:?}");
            let headers = response.headers().clone();
            assert_eq!(headers["content-type"], content_type.as_str());
            assert_eq!(
                headers["cache-control"],
                "public, max-age=31536000, immutable"
            );
            assert_eq!(headers["vary"], "accept-encoding");
            let encoding = headers
                .get("content-encoding")
                .map(|v| v.to_str().unwrap().to_owned());
            match (accept, encoding.as_deref()) {
                (None | Some("identity"), None)
                | (Some("gzip"), Some("gzip") | None)
                | (Some("br" | "gzip, deflate, br"), Some("br") | None) => {}
                other => panic!("{hash}: unexpected encoding for {other:?}"),
            }
            encodings_seen.push(encoding.clone().unwrap_or_default());
            let body = response.bytes().await.unwrap();
            assert_eq!(
                headers["content-length"].to_str().unwrap(),
                body.len().to_string()
            );
            assert_eq!(sha256_hex(&decode(encoding.as_deref(), &body)), *hash);

            // Conditional request with the ETag of that representation.
            let etag = headers["etag"].to_str().unwrap().to_owned();
            let mut again = http
                .get(server.url(&format!("/assets/{hash}")))
                .header("if-none-match", &etag);
            if let Some(accept) = accept {
                again = again.header("accept-encoding", accept);
            }
            assert_eq!(
                again.send().await.unwrap().status(),
                StatusCode::NOT_MODIFIED
            );
        }
        // The manifest spelling of the hash (base64url) names the same asset.
        let b64 = {
            use base64::Engine as _;
            let digest: Vec<u8> = (0..32)
                .map(|i| u8::from_str_radix(&hash[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
        };
        let response = http
            .get(server.url(&format!("/assets/{b64}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(sha256_hex(&response.bytes().await.unwrap()), *hash);

        // HEAD: headers only.
        let head = http
            .head(server.url(&format!("/assets/{hash}")))
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), StatusCode::OK);
        assert!(head.bytes().await.unwrap().is_empty());

        // A range of the representation the client negotiated (brotli when stored).
        let full = http
            .get(server.url(&format!("/assets/{hash}")))
            .header("accept-encoding", "br")
            .send()
            .await
            .unwrap();
        let encoding = full.headers().get("content-encoding").cloned();
        let full = full.bytes().await.unwrap();
        let partial = http
            .get(server.url(&format!("/assets/{hash}")))
            .header("range", "bytes=10-99")
            .header("accept-encoding", "br")
            .send()
            .await
            .unwrap();
        assert_eq!(partial.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(partial.headers().get("content-encoding"), encoding.as_ref());
        assert_eq!(
            partial.headers()["content-range"],
            format!("bytes 10-99/{}", full.len()).as_str()
        );
        assert_eq!(partial.bytes().await.unwrap(), full.slice(10..100));
    }
    assert!(
        encodings_seen.iter().any(|e| e == "br"),
        "some asset served with br"
    );
    assert!(
        encodings_seen.iter().any(|e| e == "gzip"),
        "some asset served with gzip"
    );
}

on_every_backend!(async assets_stream_without_asset_memory);

/// With the asset memory off every asset streams from the blob store: same answers.
async fn assets_stream_without_asset_memory(backend: &Backend) {
    let data = tempfile::tempdir().unwrap();
    let server = backend.server(
        data.path(),
        &["--asset-memory-mb", "0", "--admin-token", TOKEN],
    );
    assert_assets_served(&server, &client()).await;
}

/// Connections served on the shared runtime (`--connection-threads 0`) or on more threads
/// than cores: the same answers. An absurd count stops startup, naming the flag.
#[tokio::test]
async fn any_number_of_connection_threads_serves_the_same_answers() {
    for threads in ["0", "3"] {
        let data = tempfile::tempdir().unwrap();
        let server = Server::start(
            data.path(),
            &["--connection-threads", threads, "--admin-token", TOKEN],
        );
        assert_assets_served(&server, &client()).await;
    }
    let data = tempfile::tempdir().unwrap();
    let log = Server::try_start(data.path(), &["--connection-threads", "5000"])
        .err()
        .expect("5000 connection threads are refused");
    assert!(
        log.contains("--connection-threads must be at most 1024"),
        "{log}"
    );
}

on_every_backend!(async assets_admin_and_health);

async fn assets_admin_and_health(backend: &Backend) {
    let data = tempfile::tempdir().unwrap();
    let server = backend.server(data.path(), &["--admin-token", TOKEN]);
    let http = client();

    let health = http.get(server.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let health: Value = health.json().await.unwrap();
    assert_eq!(health["status"], "ok");

    assert_assets_served(&server, &http).await;

    // Admin API: republish and rollback, seen by the CLI.
    let list: Value = http
        .get(server.url("/admin/updates?platform=ios"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ios = list[0]["id"].as_str().unwrap().to_owned();
    let republished = http
        .post(server.url(&format!("/admin/updates/{ios}/republish")))
        .bearer_auth(TOKEN)
        .json(&json!({"channel": "staging", "message": "promoted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(republished.status(), StatusCode::CREATED);
    let republished: Value = republished.json().await.unwrap();
    assert_eq!(republished[0]["channel"], "staging");
    assert_eq!(republished[0]["republished_from"], ios.as_str());

    let embedded = http
        .post(server.url("/admin/rollback"))
        .bearer_auth(TOKEN)
        .json(&json!({"channel": "staging", "runtime_version": "0.0.0-sample", "embedded": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(embedded.status(), StatusCode::CREATED);
    let cli_list = run_json(
        backend
            .bin(data.path())
            .args(["list", "--channel", "staging"]),
    );
    assert_eq!(cli_list[0]["kind"], "rollback_to_embedded");
    assert_eq!(cli_list.as_array().unwrap().len(), 2);

    // Graceful shutdown on SIGTERM.
    let pid = server.child.id().to_string();
    run_ok(std::process::Command::new("kill").args(["-TERM", &pid]));
    let mut server = server;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_needs_its_token() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &["--admin-token", TOKEN, "--sample=false"]);
    let http = client();
    for (auth, status) in [
        (None, StatusCode::UNAUTHORIZED),
        (
            Some("Bearer wrong-token-wrong-token".to_owned()),
            StatusCode::UNAUTHORIZED,
        ),
        (Some(format!("Basic {TOKEN}")), StatusCode::UNAUTHORIZED),
        (Some(format!("Bearer {TOKEN}x")), StatusCode::UNAUTHORIZED),
        (Some(format!("bearer {TOKEN}")), StatusCode::OK),
    ] {
        let mut request = http.get(server.url("/admin/updates"));
        if let Some(auth) = &auth {
            request = request.header("authorization", auth);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{auth:?}");
        if status == StatusCode::UNAUTHORIZED {
            assert_eq!(response.headers()["www-authenticate"], "Bearer");
        }
    }
    drop(server);

    let disabled = Server::start(data.path(), &["--sample=false"]);
    let response = http
        .get(disabled.url("/admin/updates"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "admin_disabled");
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_requests_get_a_json_4xx() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &["--admin-token", TOKEN]);
    let http = client();
    let assets = all_assets(&server).await;
    let png = assets
        .iter()
        .find(|(_, ct)| ct == "image/png")
        .map(|(h, _)| h.clone())
        .unwrap();
    let unknown = "0".repeat(64);
    let admin =
        |method: Method, path: &str| http.request(method, server.url(path)).bearer_auth(TOKEN);
    let big = "x".repeat(100 * 1024);

    let cases: Vec<(&str, reqwest::RequestBuilder)> = vec![
        ("unknown path", http.get(server.url("/nope"))),
        ("unknown nested path", http.get(server.url("/assets/a/b"))),
        ("health by POST", http.post(server.url("/health"))),
        (
            "asset by POST",
            http.post(server.url(&format!("/assets/{png}"))),
        ),
        (
            "asset by DELETE",
            http.delete(server.url(&format!("/assets/{png}"))),
        ),
        (
            "short hex",
            http.get(server.url(&format!("/assets/{}", &png[..63]))),
        ),
        ("long hex", http.get(server.url(&format!("/assets/{png}0")))),
        (
            "not hex",
            http.get(server.url(&format!("/assets/{}", "g".repeat(64)))),
        ),
        (
            "padded base64",
            http.get(server.url(&format!("/assets/{}=", "A".repeat(43)))),
        ),
        (
            "base64 wrong length",
            http.get(server.url(&format!("/assets/{}", "A".repeat(42)))),
        ),
        (
            "encoded traversal",
            http.get(server.url("/assets/..%2F..%2Fmetadata.sqlite")),
        ),
        ("encoded NUL", http.get(server.url("/assets/%00"))),
        ("invalid UTF-8", http.get(server.url("/assets/%FF%FE"))),
        (
            "very long hash",
            http.get(server.url(&format!("/assets/{}", "a".repeat(8000)))),
        ),
        ("unicode hash", http.get(server.url("/assets/%C3%A9"))),
        (
            "unknown asset",
            http.get(server.url(&format!("/assets/{unknown}"))),
        ),
        (
            "range past the end",
            http.get(server.url(&format!("/assets/{png}")))
                .header("range", "bytes=99999999-"),
        ),
        (
            "range of zero suffix",
            http.get(server.url(&format!("/assets/{png}")))
                .header("range", "bytes=-0"),
        ),
        (
            "identity refused",
            http.get(server.url(&format!("/assets/{png}")))
                .header("accept-encoding", "identity;q=0"),
        ),
        (
            "everything refused",
            http.get(server.url(&format!("/assets/{png}")))
                .header("accept-encoding", "*;q=0"),
        ),
        (
            "admin bad id",
            admin(Method::GET, "/admin/updates/not-a-uuid"),
        ),
        (
            "admin unknown id",
            admin(
                Method::GET,
                "/admin/updates/4d0e8a8b-1a5e-4f55-9c41-0bb8e6f4a111",
            ),
        ),
        (
            "admin limit zero",
            admin(Method::GET, "/admin/updates?limit=0"),
        ),
        (
            "admin limit huge",
            admin(Method::GET, "/admin/updates?limit=1000000"),
        ),
        (
            "admin limit not a number",
            admin(Method::GET, "/admin/updates?limit=abc"),
        ),
        (
            "admin unknown query field",
            admin(Method::GET, "/admin/updates?colour=red"),
        ),
        (
            "admin bad platform",
            admin(Method::GET, "/admin/updates?platform=web"),
        ),
        ("admin DELETE", admin(Method::DELETE, "/admin/updates")),
        ("admin unknown route", admin(Method::GET, "/admin/nope")),
        (
            "republish unknown",
            admin(
                Method::POST,
                "/admin/updates/4d0e8a8b-1a5e-4f55-9c41-0bb8e6f4a111/republish",
            ),
        ),
        (
            "republish bad id",
            admin(Method::POST, "/admin/updates/xyz/republish"),
        ),
        (
            "republish bad JSON",
            admin(Method::POST, &format!("/admin/updates/{unknown}/republish"))
                .header("content-type", "application/json")
                .body("{"),
        ),
        (
            "rollback bad JSON",
            admin(Method::POST, "/admin/rollback")
                .header("content-type", "application/json")
                .body("{\"to\":"),
        ),
        (
            "rollback JSON array",
            admin(Method::POST, "/admin/rollback").json(&json!([1, 2])),
        ),
        (
            "rollback wrong type",
            admin(Method::POST, "/admin/rollback").json(&json!({"embedded": "yes"})),
        ),
        (
            "rollback unknown field",
            admin(Method::POST, "/admin/rollback")
                .json(&json!({"runtime_version": "1", "force": true})),
        ),
        (
            "rollback without runtime",
            admin(Method::POST, "/admin/rollback").json(&json!({"channel": "default"})),
        ),
        (
            "rollback to bad id",
            admin(Method::POST, "/admin/rollback").json(&json!({"to": "nope"})),
        ),
        (
            "rollback to unknown",
            admin(Method::POST, "/admin/rollback")
                .json(&json!({"to": "4d0e8a8b-1a5e-4f55-9c41-0bb8e6f4a111"})),
        ),
        (
            "rollback to and embedded",
            admin(Method::POST, "/admin/rollback").json(&json!({"to": unknown, "embedded": true})),
        ),
        (
            "rollback bad channel",
            admin(Method::POST, "/admin/rollback")
                .json(&json!({"runtime_version": "1", "channel": "a\tb"})),
        ),
        (
            "rollback long channel",
            admin(Method::POST, "/admin/rollback")
                .json(&json!({"runtime_version": "1", "channel": "c".repeat(300)})),
        ),
        (
            "rollback nothing there",
            admin(Method::POST, "/admin/rollback").json(&json!({"runtime_version": "9.9.9"})),
        ),
        (
            "rollback nothing earlier",
            admin(Method::POST, "/admin/rollback")
                .json(&json!({"runtime_version": "0.0.0-sample"})),
        ),
        (
            "rollback bad platform",
            admin(Method::POST, "/admin/rollback")
                .json(&json!({"runtime_version": "0.0.0-sample", "platform": "web"})),
        ),
        (
            "body too large",
            admin(Method::POST, "/admin/rollback")
                .header("content-type", "application/json")
                .body(big),
        ),
        (
            "admin without token",
            http.get(server.url("/admin/updates")),
        ),
    ];
    assert!(cases.len() >= 40, "{} cases", cases.len());
    for (name, request) in cases {
        let response = request.send().await.unwrap();
        let status = response.status();
        assert!(status.is_client_error(), "{name}: {status}");
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.bytes().await.unwrap();
        assert_eq!(
            content_type.as_deref(),
            Some("application/json"),
            "{name}: {status}"
        );
        let json: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{name}: {e}: {}", String::from_utf8_lossy(&body)));
        assert!(
            expo_updates::ErrorBody::from_json_slice(&body).is_ok(),
            "{name}: {json}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_come_from_flags_then_env_then_file() {
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("server.toml");
    std::fs::write(
        &config,
        "[serve]\nadmin-token = \"token-from-the-file-0000\"\nsample = false\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let data = work.path().join("data");
    let http = client();
    let status = |server: &Server, token: &'static str| {
        let request = http.get(server.url("/admin/updates")).bearer_auth(token);
        async move { request.send().await.unwrap().status() }
    };

    let server = Server::start(&data, &["--config", config]);
    assert_eq!(
        status(&server, "token-from-the-file-0000").await,
        StatusCode::OK
    );
    drop(server);

    let env = [("EXPO_UPDATE_SERVER_ADMIN_TOKEN", "token-from-the-env-00000")];
    let server = Server::try_start_env(&data, &["--config", config], &env).unwrap();
    assert_eq!(
        status(&server, "token-from-the-env-00000").await,
        StatusCode::OK
    );
    assert_eq!(
        status(&server, "token-from-the-file-0000").await,
        StatusCode::UNAUTHORIZED
    );
    drop(server);

    let args = [
        "--config",
        config,
        "--admin-token",
        "token-from-the-flag-0000",
    ];
    let server = Server::try_start_env(&data, &args, &env).unwrap();
    assert_eq!(
        status(&server, "token-from-the-flag-0000").await,
        StatusCode::OK
    );
    assert_eq!(
        status(&server, "token-from-the-env-00000").await,
        StatusCode::UNAUTHORIZED
    );

    // `sample = false` from the file: nothing was published.
    let list = run_json(bin(&data).arg("list"));
    assert!(list.as_array().unwrap().is_empty());
}

fn codesign_fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/expo-codesign/tests/fixtures")
        .join(name);
    assert!(path.is_file(), "missing {}", path.display());
    path.to_str().unwrap().to_owned()
}

#[test]
fn signing_keys_are_checked_at_startup() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let key = |keyid: &str, name: &str| format!("{keyid}={}", codesign_fixture(name));

    // A key with its certificate, plus an older one for rotation: the server starts.
    let good = Server::try_start(
        &data,
        &[
            "--sample=false",
            "--signing-key",
            &key("main", "expo-private-key.pem"),
            "--signing-cert",
            &key("main", "expo-certificate.pem"),
            "--signing-key",
            &key("old", "rsa2048-pkcs8.pem"),
            "--signing-cert",
            &key("old", "rsa2048-certificate.pem"),
        ],
    );
    assert!(good.is_ok(), "{}", good.err().unwrap_or_default());
    drop(good);

    let refused = |args: &[String], expected: &str| {
        let output = bin(&data)
            .args(["serve", "--bind", "127.0.0.1:0", "--sample=false"])
            .args(args)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?} started");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    };
    // A certificate of another key.
    refused(
        &[
            "--signing-key".into(),
            key("main", "expo-private-key.pem"),
            "--signing-cert".into(),
            key("main", "rsa2048-certificate.pem"),
        ],
        "signing key \"main\"",
    );
    // An encrypted key, an unsupported key type, a key too small, garbage.
    for name in [
        "encrypted-pkcs8.pem",
        "ec-pkcs8.pem",
        "rsa1024-pkcs1.pem",
        "expo-certificate.pem",
    ] {
        refused(
            &["--signing-key".into(), key("k", name)],
            "signing key \"k\"",
        );
    }
    refused(
        &["--signing-key".into(), "/nonexistent/key.pem".into()],
        "/nonexistent/key.pem",
    );
    refused(
        &["--signing-cert".into(), key("main", "expo-certificate.pem")],
        "--signing-cert needs a --signing-key",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_requests_and_asset_bytes() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &["--admin-token", TOKEN]);
    let http = client();
    let (hash, _) = all_assets(&server).await.remove(0);
    let body = http
        .get(server.url(&format!("/assets/{hash}")))
        .header("accept-encoding", "identity")
        .header("expo-platform", "ios")
        .header("expo-channel-name", "production")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    http.get(server.url("/health")).send().await.unwrap();

    let response = http.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    let line = |needle: &[&str]| {
        text.lines()
            .find(|l| !l.starts_with('#') && needle.iter().all(|n| l.contains(n)))
            .unwrap_or_else(|| panic!("no {needle:?} in\n{text}"))
            .to_owned()
    };
    let assets = line(&[
        "expo_http_requests_total{",
        r#"route="/assets/{hash}""#,
        r#"status="200""#,
        r#"platform="ios""#,
        // Nothing was published to `production`: a name from the client, not a label.
        r#"channel="other""#,
    ]);
    assert!(assets.ends_with(" 1"), "{assets}");
    let bytes = line(&["expo_asset_bytes_total{", r#"encoding="identity""#]);
    assert!(bytes.ends_with(&format!(" {}", body.len())), "{bytes}");
    line(&[
        "expo_http_request_duration_seconds_bucket{",
        r#"route="/health""#,
    ]);
    // Paths never become labels: only route patterns do.
    assert!(!text.contains(&hash), "{text}");
}
