//! `promote` between two real servers' stores: only missing blobs travel, hashes are checked
//! on receipt, a rerun changes nothing, and refusals are clear.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]
#![allow(
    clippy::too_many_lines,
    reason = "a scenario reads best as one function"
)]

mod common;

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Backend, Server, run_json, synthetic_export};
use reqwest::StatusCode;
use serde_json::{Value, json};

const TOKEN: &str = "promote-token-0123456789";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_mins(1))
        .build()
        .unwrap()
}

fn promote(backend: &Backend, data: &Path, args: &[&str]) -> Output {
    backend
        .bin(data)
        .arg("promote")
        .args(args)
        .output()
        .unwrap()
}

fn promote_json(backend: &Backend, data: &Path, args: &[&str]) -> Value {
    run_json(backend.bin(data).arg("promote").args(args))
}

fn update_of<'a>(published: &'a Value, platform: &str) -> &'a Value {
    published
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["platform"] == platform)
        .unwrap()
}

/// The launch asset hash (base64url) the target serves to `platform` on `channel`.
async fn served_launch_hash(server: &Server, platform: &str, channel: &str) -> String {
    let response = client()
        .get(server.url("/manifest"))
        .header("expo-platform", platform)
        .header("expo-runtime-version", "1.0.0")
        .header("expo-channel-name", channel)
        .header("accept", "application/expo+json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let manifest: Value = response.json().await.unwrap();
    manifest["launchAsset"]["hash"].as_str().unwrap().to_owned()
}

async fn json_error(response: reqwest::Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|e| !e.is_empty())
    );
    body
}

on_every_backend!(async promote_between_servers);

async fn promote_between_servers(backend: &Backend) {
    let work = tempfile::tempdir().unwrap();
    let (source, target) = (work.path().join("source"), work.path().join("target"));
    let target_backend = backend.fresh();

    let dist = synthetic_export(&work.path().join("a"), 20_000, "1.0.0");
    let published = run_json(backend.bin(&source).args(["publish"]).arg(&dist).args([
        "--channel",
        "staging",
        "--message",
        "release 1",
    ]));
    let (ios, android) = (
        update_of(&published, "ios"),
        update_of(&published, "android"),
    );
    let ios_id = ios["id"].as_str().unwrap().to_owned();
    let android_id = android["id"].as_str().unwrap().to_owned();
    let shown = |id: &str| run_json(backend.bin(&source).args(["show", id]));
    let (ios_shown, android_shown) = (shown(&ios_id), shown(&android_id));
    let launch_hash = |shown: &Value| shown["launch_asset"]["hash"].as_str().unwrap().to_owned();
    let ios_bundle = common::hex_of_manifest_hash(&launch_hash(&ios_shown));
    let android_bundle = common::hex_of_manifest_hash(&launch_hash(&android_shown));

    // The target already holds the PNG and the font (another export shares them).
    let other = synthetic_export(&work.path().join("b"), 30_000, "1.0.0");
    run_json(
        target_backend
            .bin(&target)
            .args(["publish"])
            .arg(&other)
            .args(["--channel", "other"]),
    );
    let server = target_backend.server(&target, &["--admin-token", TOKEN, "--sample=false"]);
    let base = server.base.clone();

    // Refusals: a wrong token, an unknown update.
    let refused = promote(
        backend,
        &source,
        &[&ios_id, "--to", &base, "--token", "not-the-token-000000"],
    );
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("401") && stderr.contains("token"),
        "{stderr}"
    );
    let response = client()
        .post(server.url("/admin/blobs/missing"))
        .bearer_auth("not-the-token-000000")
        .json(&json!({ "hashes": [ios_bundle] }))
        .send()
        .await
        .unwrap();
    json_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let refused = promote(
        backend,
        &source,
        &[&unknown, "--to", &base, "--token", TOKEN],
    );
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!("no update with id {unknown}")),
        "{stderr}"
    );

    // What the target lacks: only the iOS bundle of the three iOS files.
    let hashes: Vec<String> = std::iter::once(launch_hash(&ios_shown))
        .chain(
            ios_shown["assets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["hash"].as_str().unwrap().to_owned()),
        )
        .collect();
    let response = client()
        .post(server.url("/admin/blobs/missing"))
        .bearer_auth(TOKEN)
        .json(&json!({ "hashes": hashes }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let missing: Value = response.json().await.unwrap();
    assert_eq!(missing["missing"], json!([ios_bundle]));

    // Uploads are checked against their hash; an import without its blobs is refused.
    let response = client()
        .put(server.url(&format!("/admin/blobs/{ios_bundle}")))
        .bearer_auth(TOKEN)
        .header("content-type", "application/javascript")
        .body("not the bundle")
        .send()
        .await
        .unwrap();
    json_error(response, StatusCode::BAD_REQUEST, "hash_mismatch").await;
    let mut import = ios_shown.clone();
    let import_body = json!({
        "source_id": ios_id,
        "app": import["app"].take(),
        "channel": "staging",
        "runtime_version": "1.0.0",
        "platform": "ios",
        "kind": "update",
        "launch_asset": import["launch_asset"].take(),
        "assets": import["assets"].take(),
    });
    let response = client()
        .post(server.url("/admin/import"))
        .bearer_auth(TOKEN)
        .json(&import_body)
        .send()
        .await
        .unwrap();
    let body = json_error(response, StatusCode::CONFLICT, "missing_blobs").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&ios_bundle)
    );
    let response = client()
        .post(server.url("/admin/import"))
        .bearer_auth(TOKEN)
        .json(&json!({ "source_id": ios_id, "channel": "staging" }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());
    // Request bodies are bounded: 4 MiB of hashes is refused with a JSON 413.
    let huge = format!(r#"{{"hashes":["{}"]}}"#, "a".repeat(5 << 20));
    let response = client()
        .post(server.url("/admin/blobs/missing"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    json_error(response, StatusCode::PAYLOAD_TOO_LARGE, "too_large").await;
    let before = target_backend.blob_names(&target);
    assert!(!before.iter().any(|name| name.starts_with(&ios_bundle)));

    // Promote iOS: one blob travels, the target serves it on the same channel.
    let report = promote_json(
        backend,
        &source,
        &[&ios_id, "--to", &base, "--token", TOKEN],
    );
    assert_eq!(report["status"], "created", "{report}");
    assert_eq!(report["uploaded"], json!([ios_bundle]));
    assert_eq!(report["already_stored"], 2);
    assert_eq!(report["update"]["channel"], "staging");
    assert_eq!(report["update"]["message"], "release 1");
    let promoted_ios = report["update"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        served_launch_hash(&server, "ios", "staging").await,
        launch_hash(&ios_shown)
    );
    let names = target_backend.blob_names(&target);
    assert!(names.contains(&ios_bundle), "{names:?}");
    assert!(names.contains(&format!("{ios_bundle}.br")), "precompressed");
    let asset = client()
        .get(server.url(&format!("/assets/{ios_bundle}")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(common::sha256_hex(&asset), ios_bundle);
    let shown_on_target = run_json(target_backend.bin(&target).args(["show", &promoted_ios]));
    assert_eq!(
        shown_on_target["extra"]["expoClient"]["name"], "Synthetic",
        "the app config travels with it"
    );
    assert_eq!(shown_on_target["assets"], ios_shown["assets"]);

    // Twice: nothing uploaded, no duplicate.
    let again = promote_json(
        backend,
        &source,
        &[&ios_id, "--to", &base, "--token", TOKEN],
    );
    assert_eq!(again["status"], "already_there", "{again}");
    assert_eq!(again["uploaded"], json!([]));
    assert_eq!(again["update"]["id"], promoted_ios.as_str());
    let target_list = |channel: &str| {
        run_json(
            target_backend
                .bin(&target)
                .args(["list", "--channel", channel]),
        )
        .as_array()
        .unwrap()
        .len()
    };
    assert_eq!(target_list("staging"), 1);

    // A promotion cut off after its upload: the blob is there, the update is not; the rerun
    // uploads nothing more and registers it, here on another channel at 25%.
    let android_bytes = backend.read_blob(&source, &android_bundle).unwrap();
    let response = client()
        .put(server.url(&format!("/admin/blobs/{android_bundle}")))
        .bearer_auth(TOKEN)
        .header("content-type", "application/javascript")
        .body(android_bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(target_list("production"), 0);
    let report = promote_json(
        backend,
        &source,
        &[
            &android_id,
            "--to",
            &base,
            "--token",
            TOKEN,
            "--channel",
            "production",
            "--rollout",
            "25",
        ],
    );
    assert_eq!(report["status"], "created", "{report}");
    assert_eq!(report["uploaded"], json!([]));
    assert_eq!(report["already_stored"], 3);
    assert_eq!(report["update"]["channel"], "production");
    assert_eq!(report["update"]["rollout_percent"], 25);
    assert_eq!(target_list("production"), 1);
    // A promotion to another channel is another update; the staging one is untouched.
    let report = promote_json(
        backend,
        &source,
        &[&android_id, "--to", &base, "--token", TOKEN],
    );
    assert_eq!(report["status"], "created");
    assert_eq!(target_list("staging"), 2);
    assert_eq!(
        served_launch_hash(&server, "android", "staging").await,
        launch_hash(&android_shown)
    );
    // The text output names what happened.
    let text = backend
        .bin(&source)
        .args(["promote", &android_id, "--to", &base, "--token", TOKEN])
        .output()
        .unwrap();
    assert!(text.status.success());
    let stdout = String::from_utf8(text.stdout).unwrap();
    assert!(stdout.starts_with("already there:"), "{stdout}");
    // The token can come from the environment.
    let from_env = backend
        .bin(&source)
        .env("EXPO_UPDATE_SERVER_PROMOTE_TOKEN", TOKEN)
        .args(["promote", &ios_id, "--to", &base, "--json"])
        .output()
        .unwrap();
    assert!(
        from_env.status.success(),
        "{}",
        String::from_utf8_lossy(&from_env.stderr)
    );
}

/// A loopback TCP proxy that forwards `budget` bytes from clients to `upstream` in all, then
/// cuts every connection: a network failure in the middle of a transfer.
fn cutting_proxy(upstream: SocketAddr, budget: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let remaining = Arc::new(AtomicUsize::new(budget));
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { break };
            let Ok(mut server) = TcpStream::connect(upstream) else {
                continue;
            };
            let (mut client_out, mut server_in) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut server_in, &mut client_out);
                let _ = client_out.shutdown(Shutdown::Both);
            });
            let remaining = Arc::clone(&remaining);
            std::thread::spawn(move || {
                let mut buffer = [0; 8192];
                loop {
                    let n = match client.read(&mut buffer) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let allowed = remaining
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                            Some(left.saturating_sub(n))
                        })
                        .unwrap()
                        .min(n);
                    if server.write_all(&buffer[..allowed]).is_err() || allowed < n {
                        break;
                    }
                }
                let _ = client.shutdown(Shutdown::Both);
                let _ = server.shutdown(Shutdown::Both);
            });
        }
    });
    address
}

on_every_backend!(async interrupted_promote_completes_on_rerun);

async fn interrupted_promote_completes_on_rerun(backend: &Backend) {
    let work = tempfile::tempdir().unwrap();
    let (source, target) = (work.path().join("source"), work.path().join("target"));
    let target_backend = backend.fresh();
    let dist = synthetic_export(&work.path().join("a"), 20_000, "1.0.0");
    let published = run_json(backend.bin(&source).args(["publish"]).arg(&dist).args([
        "--channel",
        "production",
        "--platform",
        "ios",
    ]));
    let id = published[0]["id"].as_str().unwrap().to_owned();
    let shown = run_json(backend.bin(&source).args(["show", &id]));
    let bundle = common::hex_of_manifest_hash(shown["launch_asset"]["hash"].as_str().unwrap());
    let server = target_backend.server(&target, &["--admin-token", TOKEN, "--sample=false"]);
    let upstream: SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();

    // The network fails after 12 kB: the 20 kB bundle can never arrive whole.
    let proxy = cutting_proxy(upstream, 12_000);
    let cut = promote(
        backend,
        &source,
        &[&id, "--to", &format!("http://{proxy}"), "--token", TOKEN],
    );
    assert!(!cut.status.success(), "the transfer was cut");
    let stderr = String::from_utf8_lossy(&cut.stderr);
    assert!(
        stderr.contains(&format!("http://{proxy}/admin/")),
        "{stderr}"
    );
    let list = run_json(target_backend.bin(&target).args(["list"]));
    assert_eq!(list, json!([]), "no update is visible on the target");
    assert!(
        !target_backend
            .blob_names(&target)
            .iter()
            .any(|name| name.starts_with(&bundle)),
        "a cut upload stores nothing"
    );

    let report = promote_json(
        backend,
        &source,
        &[&id, "--to", &server.base, "--token", TOKEN],
    );
    assert_eq!(report["status"], "created", "{report}");
    let uploaded = report["uploaded"].as_array().unwrap();
    assert!(uploaded.contains(&json!(bundle)), "{report}");
    assert_eq!(
        uploaded.len() + usize::try_from(report["already_stored"].as_u64().unwrap()).unwrap(),
        3
    );
    assert_eq!(
        served_launch_hash(&server, "ios", "production").await,
        shown["launch_asset"]["hash"].as_str().unwrap()
    );
    let again = promote_json(
        backend,
        &source,
        &[&id, "--to", &server.base, "--token", TOKEN],
    );
    assert_eq!(again["status"], "already_there");
}
