//! The admin page: its headers and routes over HTTP, and a headless Chromium session
//! (`interop/admin-ui.test.mjs`, playwright-core) whose changes are then read back with the
//! CLI.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

mod common;

use std::path::Path;
use std::process::Command;

use common::{Server, bin, run_json, synthetic_export};
use reqwest::StatusCode;
use serde_json::{Value, json};

const TOKEN: &str = "admin-page-token-0123456789";
const CHROMIUM: &str = "/usr/bin/chromium";
const EMBEDDED: &str = "5f0c6e6a-7c3e-4f8e-9a43-0f0bd54c39a1";

fn interop_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// Whether Chromium, Node and playwright-core are here; a loud skip otherwise, a failure when
/// `CI=true`.
fn browser_available() -> bool {
    let mut missing = Vec::new();
    if !Path::new(CHROMIUM).exists() {
        missing.push("chromium (apt-get install chromium)");
    }
    if !Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        missing.push("node");
    }
    if !interop_dir().join("node_modules/playwright-core").is_dir() {
        missing.push("playwright-core (npm ci in examples/server/interop)");
    }
    if missing.is_empty() {
        return true;
    }
    let what = missing.join(", ");
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but the admin page test cannot run: missing {what} (scripts/install-test-deps.sh)"
    );
    eprintln!("SKIPPED: the admin page browser test needs {what}");
    false
}

/// Manifest requests as the expo-updates client sends them (Android, `production`).
async fn ask_manifest(server: &Server, client_id: &str, current: &str, failed: Option<&str>) {
    let mut request = reqwest::Client::new()
        .get(server.url("/manifest"))
        .header("expo-protocol-version", "1")
        .header("expo-platform", "android")
        .header("expo-runtime-version", "1.0.0")
        .header("expo-channel-name", "production")
        .header(
            "accept",
            "multipart/mixed,application/expo+json,application/json",
        )
        .header("expo-embedded-update-id", EMBEDDED)
        .header("eas-client-id", client_id)
        .header("expo-current-update-id", current);
    if let Some(failed) = failed {
        request = request.header("expo-recent-failed-update-ids", format!("\"{failed}\""));
    }
    let status = request.send().await.unwrap().status();
    assert_eq!(status, StatusCode::OK);
}

/// Five installs are served `update`; then three report running it and one failing on it
/// (it fell back to the embedded update). Waits until the admin API counts them.
async fn report_health(server: &Server, update: &str) {
    let client_id = |n: u32| format!("{n:08x}-1111-4000-8000-000000000000");
    for n in 0..5 {
        ask_manifest(server, &client_id(n), EMBEDDED, None).await;
    }
    wait_for_health(server, update, |h| h["served"] == 5).await;
    for n in 0..3 {
        ask_manifest(server, &client_id(n), update, None).await;
    }
    ask_manifest(server, &client_id(3), EMBEDDED, Some(update)).await;
    wait_for_health(server, update, |h| h["launched"] == 3 && h["failed"] == 1).await;
}

async fn wait_for_health(server: &Server, update: &str, done: impl Fn(&Value) -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let shown = server
            .admin_json(&format!("/admin/updates/{update}"), TOKEN)
            .await;
        if done(&shown["health"]) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{shown}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn page_is_self_contained_under_a_strict_csp() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &["--admin-token", TOKEN]);
    let client = reqwest::Client::new();
    // The page and its files need no token: they hold no data.
    let page = client.get(server.url("/admin/ui")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    // No inline script or handler (the CSP would block them), no external asset.
    assert!(html.contains(r#"<script src="ui/app.js" defer></script>"#));
    assert_eq!(html.matches("<script").count(), 1, "one external script");
    assert!(!html.contains(" onclick=") && !html.contains(" onsubmit="));
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(html.contains(r#"<label for="token">Admin token</label>"#));
    for (path, media_type) in [
        ("/admin/ui/app.js", "text/javascript"),
        ("/admin/ui/app.css", "text/css"),
    ] {
        let response = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(media_type)
        );
        let body = response.text().await.unwrap();
        assert!(!body.contains("innerHTML"), "{path} inserts text only");
    }
}

/// The routes the page uses beyond the older ones: scopes and rollout.
#[tokio::test(flavor = "multi_thread")]
async fn scopes_and_rollout_routes() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &["--admin-token", TOKEN]);
    let client = reqwest::Client::new();
    let scopes: Value = server.admin_json("/admin/scopes", TOKEN).await;
    assert_eq!(
        scopes.as_array().unwrap().len(),
        2,
        "the sample: ios, android"
    );
    assert_eq!(scopes[0]["runtime_version"], "0.0.0-sample");
    let updates: Value = server
        .admin_json("/admin/updates?platform=ios", TOKEN)
        .await;
    let id = updates[0]["id"].as_str().unwrap();
    let rollout = |body: Value| {
        client
            .post(server.url(&format!("/admin/updates/{id}/rollout")))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
    };
    for bad in [
        json!({}),
        json!({ "percent": 50, "revert": true }),
        json!({ "percent": 101 }),
        json!({ "percent": -1 }),
    ] {
        let response = rollout(bad.clone()).await.unwrap();
        assert!(response.status().is_client_error(), "{bad}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"]["message"].is_string(), "{bad}: {body}");
    }
    let response = rollout(json!({ "percent": 40 })).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["rollout_percent"], 40);
    // Nothing before the sample to go back to: a JSON 409, and the rollout stays.
    let response = rollout(json!({ "revert": true })).await.unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "conflict", "{body}");
    let unknown = client
        .post(server.url(&format!("/admin/updates/{}/rollout", uuid::Uuid::new_v4())))
        .bearer_auth(TOKEN)
        .json(&json!({ "percent": 10 }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let unauthorized = client
        .post(server.url(&format!("/admin/updates/{id}/rollout")))
        .json(&json!({ "percent": 10 }))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn chromium_signs_in_rolls_back_and_changes_a_rollout() {
    if !browser_available() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let publish = |dir: &str, size: usize| {
        let dist = synthetic_export(&work.path().join(dir), size, "1.0.0");
        run_json(bin(&data).args(["publish"]).arg(&dist).args([
            "--channel",
            "production",
            "--brotli-quality",
            "5",
        ]))
    };
    let first = publish("a", 20_000);
    let second = publish("b", 30_000);
    let id_of = |published: &Value, platform: &str| {
        published
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["platform"] == platform)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let server = Server::start(&data, &["--admin-token", TOKEN, "--sample=false"]);
    // Real reports on the newest Android update: served to 5 installs, 3 run it, 1 failed.
    let android = id_of(&second, "android");
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(report_health(&server, &android));

    let screenshot = std::env::var("ADMIN_UI_SCREENSHOT").ok();
    let mut node = Command::new("node");
    node.current_dir(interop_dir())
        .args(["admin-ui.test.mjs", &server.base, TOKEN])
        .env("EXPECT_HEALTH", format!("{android}:5:3:1"))
        .env("EXPECT_NO_REPORTS", id_of(&first, "ios"))
        .env("CHROMIUM", CHROMIUM);
    if let Some(path) = &screenshot {
        node.env("ADMIN_UI_SCREENSHOT", path);
    }
    let output = node.output().unwrap();
    assert!(
        output.status.success(),
        "the browser session failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();

    // iOS was rolled back: a new update copying the first publish is served.
    let ios = run_json(bin(&data).args(["list", "--channel", "production", "--platform", "ios"]));
    assert_eq!(ios.as_array().unwrap().len(), 3);
    assert_eq!(ios[0]["republished_from"], id_of(&first, "ios").as_str());
    // Android's newest update is rolled out to 30%.
    assert_eq!(report["rolled_out"], android.as_str());
    let shown = run_json(bin(&data).args(["show", &android]));
    assert_eq!(shown["rollout_percent"], 30);
}

/// The channel map of the page (`interop/branches.test.mjs`): a split started in the page
/// serves each install the branch of its split bucket, a rollback of the split branch's
/// scope reaches the installs on it, and ending the split keeping that branch serves it to
/// everyone; each checked on `/manifest`.
#[test]
fn chromium_splits_a_channel_and_rolls_back_a_branch() {
    use expo_update_server::store::channels::split_bucket;
    if !browser_available() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let publish = |dir: &str, size: usize, branch: &str| {
        let dist = synthetic_export(&work.path().join(dir), size, "1.0.0");
        let published = run_json(bin(&data).args(["publish"]).arg(&dist).args([
            "--branch",
            branch,
            "--platform",
            "ios",
            "--brotli-quality",
            "0",
        ]));
        published[0]["id"].as_str().unwrap().to_owned()
    };
    let production = publish("p", 10_000, "production");
    let canary_first = publish("c1", 11_000, "canary");
    let canary_second = publish("c2", 12_000, "canary");
    let server = Server::start(&data, &["--admin-token", TOKEN, "--sample=false"]);
    let installs: Vec<String> = (0..40).map(|n| format!("page-install-{n}")).collect();
    let output = Command::new("node")
        .current_dir(interop_dir())
        .args(["branches.test.mjs", &server.base, TOKEN])
        .env("INSTALLS", installs.join(","))
        .env("CHROMIUM", CHROMIUM)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the browser session failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    // The rollback's copy of the first canary update, found through the CLI.
    let canary = run_json(bin(&data).args(["list", "--channel", "canary"]));
    assert_eq!(canary.as_array().unwrap().len(), 3, "{canary}");
    assert_eq!(canary[0]["republished_from"], canary_first.as_str());
    let copy = canary[0]["id"].as_str().unwrap();
    let on_canary = |install: &str| split_bucket(install) < 50;
    assert!(installs.iter().any(|i| on_canary(i)) && installs.iter().any(|i| !on_canary(i)));
    for install in &installs {
        let expect = |canary: &str| {
            if on_canary(install) {
                canary.to_owned()
            } else {
                production.clone()
            }
        };
        assert_eq!(
            report["after_split"][install],
            expect(&canary_second),
            "{install}"
        );
        assert_eq!(report["after_rollback"][install], expect(copy), "{install}");
        assert_eq!(report["after_end"][install], copy, "{install}");
    }
}
