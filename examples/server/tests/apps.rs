//! Several apps in one server: each on its own path with its own keys, token and default
//! channel; the default app keeps the short URLs.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]
#![allow(
    clippy::too_many_lines,
    reason = "a scenario reads best as one function"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{Backend, Server, run_json, sample_export};
use expo_codesign::Verifier;
use expo_manifest::Manifest;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const DEFAULT_TOKEN: &str = "default-token-0123456789";
const SHOP_TOKEN: &str = "shop-token-0123456789";
const BLOG_TOKEN: &str = "blog-token-0123456789";
const EXPECT: &str = r#"sig, keyid="main", alg="rsa-v1_5-sha256""#;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/expo-codesign/tests/fixtures")
        .join(name)
}

fn verifier(certificate: &str) -> Verifier {
    let pem = std::fs::read_to_string(fixture(certificate)).unwrap();
    Verifier::from_certificate_pem(&pem)
        .unwrap()
        .with_keyid("main")
}

/// `shop` signs with the 2048-bit test key and serves `production` by default; `blog`
/// signs with the Expo-generated test key. The default app has no keys.
fn write_config(dir: &Path) -> PathBuf {
    let path = dir.join("server.toml");
    let key = |name: &str| fixture(name).display().to_string();
    std::fs::write(
        &path,
        format!(
            r#"
[apps.shop]
admin-token = "{SHOP_TOKEN}"
default-channel = "production"
[[apps.shop.signing-keys]]
key = "{}"
certificate = "{}"

[apps.blog]
admin-token = "{BLOG_TOKEN}"
gc-older-than = "1s"
[[apps.blog.signing-keys]]
keyid = "main"
key = "{}"
certificate = "{}"
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

fn cli(backend: &Backend, data: &Path, config: &Path) -> Command {
    let mut command = backend.bin(data);
    command.env("EXPO_UPDATE_SERVER_CONFIG", config);
    command
}

fn publish(backend: &Backend, data: &Path, config: &Path, app: Option<&str>) -> Value {
    let mut command = cli(backend, data, config);
    if let Some(app) = app {
        command.args(["--app", app]);
    }
    run_json(command.arg("publish").arg(sample_export()).args([
        "--runtime-version",
        "1.0.0",
        "--brotli-quality",
        "1",
    ]))
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .no_gzip()
        .no_brotli()
        .build()
        .unwrap()
}

/// The JSON manifest at `path` and its signature (asked for when `signed`).
async fn manifest(server: &Server, path: &str, signed: bool) -> (Manifest, Vec<u8>, String) {
    let mut request = client()
        .get(server.url(path))
        .header("expo-protocol-version", "1")
        .header("expo-platform", "ios")
        .header("expo-runtime-version", "1.0.0")
        .header("accept", "application/expo+json");
    if signed {
        request = request.header("expo-expect-signature", EXPECT);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let signature = response
        .headers()
        .get("expo-signature")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.bytes().await.unwrap().to_vec();
    (Manifest::from_json_slice(&body).unwrap(), body, signature)
}

async fn send(
    server: &Server,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = client()
        .request(method, server.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{path}: {status} answered no JSON ({e}): {text}"));
    (status, json)
}

fn ids(updates: &Value) -> Vec<String> {
    updates
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn two_apps_with_their_own_keys_tokens_and_paths(backend: &Backend) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = write_config(dir.path());
    let default_published = publish(backend, &data, &config, None);
    let shop_published = publish(backend, &data, &config, Some("shop"));
    let blog_published = publish(backend, &data, &config, Some("blog"));
    assert_eq!(shop_published[0]["app"], "shop");
    assert_eq!(
        shop_published[0]["channel"], "production",
        "the app's default channel"
    );
    assert_eq!(blog_published[0]["channel"], "default");
    let blog_id = blog_published[0]["id"].as_str().unwrap().to_owned();
    let shop_id = shop_published[0]["id"].as_str().unwrap().to_owned();

    let server = backend.server(
        &data,
        &[
            "--config",
            &config.display().to_string(),
            "--sample=false",
            "--admin-token",
            DEFAULT_TOKEN,
        ],
    );

    // Each app serves its own update, signed with its own key only.
    let shop_verifier = verifier("rsa2048-certificate.pem");
    let blog_verifier = verifier("expo-certificate.pem");
    let (shop, body, signature) = manifest(&server, "/shop/manifest", true).await;
    assert_eq!(shop.id.to_string(), shop_id);
    shop_verifier.verify(&signature, &body).unwrap();
    assert!(blog_verifier.verify(&signature, &body).is_err());
    let (blog, body, signature) = manifest(&server, "/blog/manifest", true).await;
    assert_eq!(blog.id.to_string(), blog_id);
    blog_verifier.verify(&signature, &body).unwrap();
    assert!(shop_verifier.verify(&signature, &body).is_err());
    // Asset URLs point under the app's path, and are served there.
    for asset in std::iter::once(&shop.launch_asset).chain(&shop.assets) {
        assert!(
            asset.url.starts_with(&server.url("/shop/assets/")),
            "{}",
            asset.url
        );
        let response = client().get(&asset.url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{}", asset.url);
    }
    // The default app keeps the short URLs, unsigned (it has no key: asking for a
    // signature is refused).
    let response = client()
        .get(server.url("/manifest"))
        .header("expo-protocol-version", "1")
        .header("expo-platform", "ios")
        .header("expo-runtime-version", "1.0.0")
        .header("expo-expect-signature", EXPECT)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let (default, _, signature) = manifest(&server, "/manifest", false).await;
    assert_eq!(
        default.id.to_string(),
        default_published[0]["id"].as_str().unwrap()
    );
    assert!(signature.is_empty());
    assert!(
        default
            .launch_asset
            .url
            .starts_with(&server.url("/assets/"))
    );

    // Unknown apps, and the server's own routes.
    for path in ["/nope/manifest", "/nope/assets/abc", "/nope/admin/updates"] {
        let (status, body) = send(&server, Method::GET, path, SHOP_TOKEN, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("nope"),
            "{body}"
        );
    }
    let (status, body) = send(&server, Method::GET, "/shop/admin/nope", SHOP_TOKEN, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no such endpoint"),
        "{body}"
    );
    for path in ["/health", "/metrics", "/admin/ui", "/shop/admin/ui"] {
        let response = client().get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }

    // A token opens its own app only: every other app's admin route refuses it.
    let some_hash = "0".repeat(64);
    let routes = |id: &str| {
        vec![
            (Method::GET, "updates".to_owned(), None),
            (Method::GET, format!("updates/{id}"), None),
            (
                Method::POST,
                format!("updates/{id}/republish"),
                Some(json!({})),
            ),
            (
                Method::POST,
                format!("updates/{id}/rollout"),
                Some(json!({"percent": 50})),
            ),
            (Method::POST, "rollback".to_owned(), Some(json!({"to": id}))),
            (Method::GET, "scopes".to_owned(), None),
            (
                Method::POST,
                "blobs/missing".to_owned(),
                Some(json!({"hashes": []})),
            ),
            (Method::PUT, format!("blobs/{some_hash}"), None),
            (Method::POST, "import".to_owned(), Some(json!({}))),
        ]
    };
    for (prefix, token) in [
        ("/blog/admin", SHOP_TOKEN),
        ("/shop/admin", BLOG_TOKEN),
        ("/shop/admin", DEFAULT_TOKEN),
        ("/admin", SHOP_TOKEN),
    ] {
        for (method, route, body) in routes(&blog_id) {
            let path = format!("{prefix}/{route}");
            let (status, answer) = send(&server, method.clone(), &path, token, body).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
            assert_eq!(answer["error"]["code"], "unauthorized", "{method} {path}");
        }
    }
    // With its own token, an app does not see another app's updates either.
    for (method, route, body) in routes(&blog_id).into_iter().take(5) {
        let path = format!("/shop/admin/{route}");
        let (status, answer) = send(&server, method.clone(), &path, SHOP_TOKEN, body).await;
        if route == "updates" {
            assert_eq!(status, StatusCode::OK);
            assert_eq!(ids(&answer).len(), 2, "shop's ios and android: {answer}");
            assert!(!ids(&answer).contains(&blog_id));
        } else {
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
        }
    }
    let (status, answer) = send(
        &server,
        Method::GET,
        "/shop/admin/updates?app=blog",
        SHOP_TOKEN,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(answer["error"]["code"], "wrong_app");
    let (status, answer) = send(
        &server,
        Method::POST,
        "/shop/admin/rollback",
        SHOP_TOKEN,
        Some(json!({"app": "blog", "runtime_version": "1.0.0", "embedded": true})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let (status, scopes) = send(&server, Method::GET, "/shop/admin/scopes", SHOP_TOKEN, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        scopes
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["app"] == "shop"),
        "{scopes}"
    );
    // Its own token acts on its own app: a rollback to embedded of shop's channel.
    let (status, answer) = send(
        &server,
        Method::POST,
        "/shop/admin/rollback",
        SHOP_TOKEN,
        Some(json!({"runtime_version": "1.0.0", "embedded": true})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert!(
        answer
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["app"] == "shop" && u["channel"] == "production"),
        "{answer}"
    );

    // Promoting into an app over its admin URL lands there, whatever the source app.
    let promoted = run_json(
        cli(backend, &data, &config)
            .args(["--app", "blog", "promote", &blog_id])
            .args(["--to", &server.url("/shop"), "--token", SHOP_TOKEN]),
    );
    assert_eq!(promoted["update"]["app"], "shop", "{promoted}");
    assert_eq!(promoted["update"]["channel"], "default", "{promoted}");
    drop(server);

    // --app isolates the CLI commands too.
    let listed = |app: &str| {
        run_json(
            cli(backend, &data, &config)
                .args(["--app", app, "list"])
                .args(["--limit", "100"]),
        )
    };
    assert!(
        listed("blog")
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["app"] == "blog")
    );
    assert_eq!(ids(&listed("blog")).len(), 2);
    for command in [
        vec!["show", blog_id.as_str()],
        vec!["republish", blog_id.as_str()],
        vec!["rollout", blog_id.as_str(), "--percent", "50"],
        vec!["rollback", "--to", blog_id.as_str()],
    ] {
        let output = cli(backend, &data, &config)
            .args(["--app", "shop"])
            .args(&command)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{command:?} crossed apps");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(&blog_id), "{command:?}: {stderr}");
    }
    let output = cli(backend, &data, &config)
        .args(["--app", "admin", "list"])
        .output()
        .unwrap();
    assert!(!output.status.success(), "a reserved app name");
    // Rolling back blog's channel leaves shop's alone.
    let rolled = run_json(
        cli(backend, &data, &config)
            .args(["--app", "blog", "rollback", "--embedded"])
            .args(["--runtime-version", "1.0.0"]),
    );
    assert!(
        rolled
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["app"] == "blog"),
        "{rolled}"
    );
    assert_eq!(
        ids(&listed("shop")).len(),
        5,
        "published (2), embedded (2), promoted"
    );

    // gc: blog's retention (1s) applies to blog only; shop has none and stays whole.
    publish(backend, &data, &config, Some("blog"));
    publish(backend, &data, &config, Some("shop"));
    publish(backend, &data, &config, Some("shop"));
    std::thread::sleep(Duration::from_millis(1100));
    let report = run_json(cli(backend, &data, &config).arg("gc"));
    let deleted = report["updates"].as_array().unwrap();
    assert_eq!(deleted.len(), 2, "blog's first update on both platforms");
    let blog_left = ids(&listed("blog"));
    assert_eq!(blog_left.len(), 4);
    assert!(
        deleted
            .iter()
            .all(|id| !blog_left.contains(&id.as_str().unwrap().to_owned()))
    );
    assert_eq!(ids(&listed("shop")).len(), 9, "shop has no retention");
    assert_eq!(ids(&listed("default")).len(), 2);
    let output = cli(backend, &data, &config)
        .args(["--app", "shop", "gc"])
        .output()
        .unwrap();
    assert!(!output.status.success(), "shop has no gc-older-than");
}
on_every_backend!(async two_apps_with_their_own_keys_tokens_and_paths);

#[test]
fn bad_app_configurations_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (table, why) in [
        ("[apps.metrics]", "route"),
        ("[apps.default]", "default app"),
        ("[apps.\"a/b\"]", "path segment"),
        ("[apps.shop]\nadmin-token = \"short\"", "16 characters"),
        ("[apps.shop]\nbogus = 1", "unknown field"),
    ] {
        let config = dir.path().join("bad.toml");
        std::fs::write(&config, table).unwrap();
        let output = common::bin(&dir.path().join("data"))
            .args(["--config", &config.display().to_string(), "list"])
            .output()
            .unwrap();
        assert!(!output.status.success(), "{table}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(why), "{table}: {stderr}");
    }
}

/// `GET {app}/manifest` is answered without the router (`http::routes`), `POST` through it:
/// both give each app's own answer, byte for byte, and are counted under the same route.
#[tokio::test]
async fn manifests_answered_with_and_without_the_router_are_the_same() {
    let backend = Backend::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = write_config(dir.path());
    publish(&backend, &data, &config, None);
    publish(&backend, &data, &config, Some("shop"));
    publish(&backend, &data, &config, Some("blog"));
    let server = backend.server(
        &data,
        &["--config", &config.display().to_string(), "--sample=false"],
    );
    let ask = |method: Method, path: &str, accept: &str| {
        let request = client()
            .request(method, server.url(path))
            .header("expo-protocol-version", "1")
            .header("expo-platform", "android")
            .header("expo-runtime-version", "1.0.0")
            .header("accept", accept);
        // The default app has no keys.
        let request = if path == "/manifest" {
            request
        } else {
            request.header("expo-expect-signature", EXPECT)
        };
        request.send()
    };
    let mut ids = Vec::new();
    for path in ["/manifest", "/shop/manifest", "/blog/manifest"] {
        for accept in ["multipart/mixed", "application/expo+json"] {
            // The first request renders and keeps the answer; the others are served it.
            let mut answers = Vec::new();
            for method in [Method::GET, Method::POST, Method::GET, Method::POST] {
                let response = ask(method.clone(), path, accept).await.unwrap();
                assert_eq!(response.status(), StatusCode::OK, "{method} {path}");
                let mut headers = response.headers().clone();
                headers.remove("date");
                let body = response.bytes().await.unwrap();
                answers.push((headers, body));
            }
            assert!(
                answers.windows(2).all(|pair| pair[0] == pair[1]),
                "{path} ({accept}): GET and POST answers differ"
            );
            if accept == "application/expo+json" {
                let manifest = Manifest::from_json_slice(&answers[0].1).unwrap();
                assert!(
                    manifest
                        .launch_asset
                        .url
                        .starts_with(&server.url(&path.replace("manifest", "assets/"))),
                    "{path}: {}",
                    manifest.launch_asset.url
                );
                ids.push(manifest.id);
            }
        }
    }
    ids.dedup();
    assert_eq!(ids.len(), 3, "each app serves its own update: {ids:?}");
    // HEAD takes the router, and is refused as before: the protocol has GET and POST.
    let head = ask(Method::HEAD, "/shop/manifest", "multipart/mixed")
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::METHOD_NOT_ALLOWED);

    let text = server.metrics_text().await;
    for route in ["/manifest", "/shop/manifest", "/blog/manifest"] {
        for method in ["GET", "POST"] {
            let labels = [
                format!(r#"route="{route}""#),
                format!(r#"method="{method}""#),
                r#"status="200""#.to_owned(),
                r#"platform="android""#.to_owned(),
            ];
            let line = text
                .lines()
                .find(|line| {
                    line.starts_with("expo_http_requests_total{")
                        && labels.iter().all(|label| line.contains(label.as_str()))
                })
                .unwrap_or_else(|| panic!("no {method} {route} count:\n{text}"));
            assert!(line.ends_with(" 4"), "{method} {route}: {line}");
        }
    }
}
