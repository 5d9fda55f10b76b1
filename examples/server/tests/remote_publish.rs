//! `publish --server URL --token T`: a remote publish of the real fixture serves what a local
//! publish serves, a second one uploads no blob bytes, a killed one leaves nothing visible
//! and completes on rerun, tokens are checked per app and never logged; `--dry-run` checks
//! everything and changes nothing.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]
#![allow(
    clippy::too_many_lines,
    reason = "a scenario reads best as one function"
)]

mod common;

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{Backend, run_json, sample_export, synthetic_export};
use reqwest::StatusCode;
use serde_json::{Value, json};

const TOKEN: &str = "remote-publish-token-0123456789";
const SHOP_TOKEN: &str = "shop-publish-token-9876543210";

/// A server whose whole log (debug level) goes to a file, to look for tokens in it.
struct LoggedServer {
    child: Child,
    base: String,
    log: PathBuf,
}

impl LoggedServer {
    #[allow(
        clippy::zombie_processes,
        reason = "the child moves into the server, which kills and waits for it on drop"
    )]
    fn start(backend: &Backend, data: &Path, args: &[&str]) -> Self {
        let log = data.with_extension("log");
        let file = std::fs::File::create(&log).unwrap();
        let mut child = backend
            .bin(data)
            .env("RUST_LOG", "debug")
            .args(["--log-format", "json", "serve", "--bind", "127.0.0.1:0"])
            .args(["--sample=false"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_mins(2);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let listening = text
                .lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .find(|event| event["message"] == "listening");
            if let Some(event) = listening {
                let base = format!("http://{}", event["address"].as_str().unwrap());
                return Self { child, base, log };
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("server did not start:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }

    fn address(&self) -> SocketAddr {
        self.base.trim_start_matches("http://").parse().unwrap()
    }
}

impl Drop for LoggedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback proxy to `upstream` counting the bytes clients send, optionally slowed down
/// to about `rate` bytes per second per connection.
fn counting_proxy(upstream: SocketAddr, rate: Option<u64>) -> (SocketAddr, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let sent = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&sent);
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
            let counter = Arc::clone(&counter);
            std::thread::spawn(move || {
                let mut buffer = [0; 16 * 1024];
                loop {
                    let n = match client.read(&mut buffer) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    counter.fetch_add(n as u64, Ordering::SeqCst);
                    if server.write_all(&buffer[..n]).is_err() {
                        break;
                    }
                    if let Some(rate) = rate {
                        let micros = u64::try_from(n).unwrap() * 1_000_000 / rate;
                        std::thread::sleep(Duration::from_micros(micros));
                    }
                }
                let _ = server.shutdown(Shutdown::Write);
            });
        }
    });
    (address, sent)
}

fn remote(backend: &Backend, data: &Path, dist: &Path, url: &str, token: &str) -> Output {
    backend
        .bin(data)
        .env("RUST_LOG", "debug")
        .arg("publish")
        .arg(dist)
        .args(["--server", url, "--token", token, "--json"])
        .args(["--channel", "production"])
        .output()
        .unwrap()
}

fn ok_json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn text_of(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The manifest `base` serves, with what differs between servers and publishes (ids,
/// times, the host in URLs) taken out.
async fn normalized_manifest(base: &str, prefix: &str, platform: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!("{base}{prefix}/manifest"))
        .header("expo-platform", platform)
        .header("expo-runtime-version", "1.0.0")
        .header("expo-channel-name", "production")
        .header("accept", "application/expo+json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap().replace(base, "BASE");
    let mut manifest: Value = serde_json::from_str(&text).unwrap();
    let object = manifest.as_object_mut().unwrap();
    assert!(object.remove("id").is_some());
    assert!(object.remove("createdAt").is_some());
    manifest
}

async fn admin_list(base: &str, prefix: &str, token: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!("{base}{prefix}/admin/updates"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn updates_of(list: &Value) -> usize {
    list.as_array()
        .or_else(|| list["updates"].as_array())
        .map_or(0, Vec::len)
}

fn write_config(dir: &Path) -> PathBuf {
    let path = dir.join("server.toml");
    std::fs::write(
        &path,
        format!("[apps.shop]\nadmin-token = \"{SHOP_TOKEN}\"\n"),
    )
    .unwrap();
    path
}

on_every_backend!(async remote_publish_of_the_real_fixture);

async fn remote_publish_of_the_real_fixture(backend: &Backend) {
    let work = tempfile::tempdir().unwrap();
    let dist = sample_export();
    let (local, target, client) = (
        work.path().join("local"),
        work.path().join("target"),
        work.path().join("client"),
    );
    let target_backend = backend.fresh();
    run_json(backend.bin(&local).arg("publish").arg(&dist).args([
        "--channel",
        "production",
        "--brotli-quality",
        "1",
    ]));
    let local_server = backend.server(&local, &["--sample=false"]);
    let config = write_config(work.path());
    let server = LoggedServer::start(
        &target_backend,
        &target,
        &[
            "--admin-token",
            TOKEN,
            "--config",
            &config.display().to_string(),
        ],
    );
    let mut outputs = Vec::new();

    // A dry run against the server: every check, nothing uploaded or created.
    let dry = backend
        .bin(&client)
        .arg("publish")
        .arg(&dist)
        .args(["--server", &server.base, "--token", TOKEN, "--dry-run"])
        .args(["--json", "--channel", "production"])
        .output()
        .unwrap();
    let report = ok_json(&dry);
    outputs.push(dry);
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["files"], 4, "{report}");
    assert_eq!(report["to_store"], 4, "{report}");
    assert_eq!(report["updates"].as_array().unwrap().len(), 2);
    assert_eq!(report["updates"][0]["channel"], "production");
    assert_eq!(updates_of(&admin_list(&server.base, "", TOKEN).await), 0);
    assert!(target_backend.blob_names(&target).is_empty());
    assert!(
        !client.exists(),
        "a remote publish never touches a data directory"
    );

    // The first remote publish uploads every blob.
    let (proxy, sent) = counting_proxy(server.address(), None);
    let before = jiff::Timestamp::now().as_millisecond();
    let first = remote(backend, &client, &dist, &format!("http://{proxy}"), TOKEN);
    let report = ok_json(&first);
    outputs.push(first);
    let after = jiff::Timestamp::now().as_millisecond();
    let total: u64 = walk_sizes(&dist);
    assert_eq!(report["uploaded"], 4, "{report}");
    assert_eq!(report["already_stored"], 0, "{report}");
    assert_eq!(report["uploaded_bytes"], total, "{report}");
    assert!(sent.load(Ordering::SeqCst) > total);
    let updates = report["updates"].as_array().unwrap();
    assert_eq!(updates.len(), 2);
    for update in updates {
        let created = update["created_at"].as_i64().unwrap();
        assert!(
            (before..=after).contains(&created),
            "createdAt is stamped by the server at publish time"
        );
        assert_eq!(update["app"], "default");
        assert_eq!(update["runtime_version"], "1.0.0");
    }
    assert_ne!(updates[0]["id"], updates[1]["id"]);
    assert_eq!(updates[0]["group_id"], updates[1]["group_id"]);

    // The same manifests as a local publish (ids, times and hosts aside).
    for platform in ["ios", "android"] {
        assert_eq!(
            normalized_manifest(&server.base, "", platform).await,
            normalized_manifest(&local_server.base, "", platform).await,
            "{platform}"
        );
    }

    // A second publish of the same export uploads no blob bytes.
    let (proxy, sent) = counting_proxy(server.address(), None);
    let second = remote(backend, &client, &dist, &format!("http://{proxy}"), TOKEN);
    let report = ok_json(&second);
    outputs.push(second);
    assert_eq!(report["uploaded"], 0, "{report}");
    assert_eq!(report["uploaded_bytes"], 0, "{report}");
    assert_eq!(report["already_stored"], 4, "{report}");
    let wire = sent.load(Ordering::SeqCst);
    assert!(
        wire < 16 * 1024,
        "{wire} bytes sent: more than the requests without blobs"
    );
    assert_eq!(updates_of(&admin_list(&server.base, "", TOKEN).await), 4);

    // Tokens: a wrong one, another app's, and the app's own under its URL.
    let wrong = remote(
        backend,
        &client,
        &dist,
        &server.base,
        "not-the-token-0000000",
    );
    assert!(!wrong.status.success());
    assert!(text_of(&wrong).contains("401"), "{}", text_of(&wrong));
    outputs.push(wrong);
    let shop_url = format!("{}/shop", server.base);
    let crossed = remote(backend, &client, &dist, &shop_url, TOKEN);
    assert!(!crossed.status.success());
    assert!(text_of(&crossed).contains("401"), "{}", text_of(&crossed));
    outputs.push(crossed);
    let crossed = remote(backend, &client, &dist, &server.base, SHOP_TOKEN);
    assert!(!crossed.status.success());
    assert!(text_of(&crossed).contains("401"), "{}", text_of(&crossed));
    outputs.push(crossed);
    assert_eq!(
        updates_of(&admin_list(&server.base, "/shop", SHOP_TOKEN).await),
        0
    );
    let shop = remote(backend, &client, &dist, &shop_url, SHOP_TOKEN);
    let report = ok_json(&shop);
    outputs.push(shop);
    assert_eq!(report["updates"][0]["app"], "shop");
    assert_eq!(report["uploaded"], 0, "blobs are shared between apps");
    assert_eq!(
        updates_of(&admin_list(&server.base, "/shop", SHOP_TOKEN).await),
        2
    );
    assert_eq!(
        normalized_manifest(&server.base, "/shop", "ios")
            .await
            .to_string()
            .replace("/shop", ""),
        normalized_manifest(&server.base, "", "ios")
            .await
            .to_string()
    );
    // The token from the environment works the same.
    let from_env = backend
        .bin(&client)
        .env("EXPO_UPDATE_SERVER_PUBLISH_TOKEN", TOKEN)
        .arg("publish")
        .arg(&dist)
        .args(["--server", &server.base, "--platform", "ios", "--json"])
        .output()
        .unwrap();
    ok_json(&from_env);
    outputs.push(from_env);

    // No token in any log or output.
    let log = server.log();
    assert!(log.contains("/admin/publish"), "the log is at debug level");
    for token in [TOKEN, SHOP_TOKEN] {
        assert!(!log.contains(token), "the server logged a token");
        for output in &outputs {
            assert!(!text_of(output).contains(token), "{}", text_of(output));
        }
    }
}

fn walk_sizes(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.is_dir() {
            total += walk_sizes(&path);
        } else if path.file_name().unwrap() != "metadata.json" {
            total += entry.metadata().unwrap().len();
        }
    }
    total
}

on_every_backend!(async killed_remote_publish_leaves_nothing_and_resumes);

async fn killed_remote_publish_leaves_nothing_and_resumes(backend: &Backend) {
    let work = tempfile::tempdir().unwrap();
    let dist = synthetic_export(&work.path().join("export"), 300_000, "1.0.0");
    let (target, client) = (work.path().join("target"), work.path().join("client"));
    let target_backend = backend.fresh();
    let server = LoggedServer::start(&target_backend, &target, &["--admin-token", TOKEN]);
    // About 100 kB/s per connection: the small files arrive at once, the bundles take
    // seconds.
    let (proxy, _) = counting_proxy(server.address(), Some(100_000));
    let mut child = backend
        .bin(&client)
        .arg("publish")
        .arg(&dist)
        .args(["--server", &format!("http://{proxy}"), "--token", TOKEN])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_mins(3);
    // Killed once the small blobs are stored and the bundles are on their way.
    while target_backend
        .blob_names(&target)
        .iter()
        .filter(|name| name.len() == 64)
        .count()
        < 2
    {
        assert!(Instant::now() < deadline, "no blob arrived");
        assert!(child.try_wait().unwrap().is_none(), "finished too early");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let stored = target_backend
        .blob_names(&target)
        .iter()
        .filter(|name| name.len() == 64)
        .count();
    assert!(stored < 4, "killed before the bundles arrived");
    assert_eq!(updates_of(&admin_list(&server.base, "", TOKEN).await), 0);
    let response = reqwest::Client::new()
        .get(format!("{}/manifest", server.base))
        .header("expo-platform", "ios")
        .header("expo-runtime-version", "1.0.0")
        .header("expo-channel-name", "production")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT, "nothing visible");

    // The rerun uploads what is left only, and completes.
    let report = ok_json(&remote(backend, &client, &dist, &server.base, TOKEN));
    assert_eq!(report["already_stored"], stored, "{report}");
    assert_eq!(report["uploaded"], 4 - stored, "{report}");
    assert_eq!(updates_of(&admin_list(&server.base, "", TOKEN).await), 2);
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return out;
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.insert(path.clone(), Vec::new());
                stack.push(path);
            } else {
                out.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// The `error: …` of a failed command.
fn error_of(output: &Output) -> String {
    assert!(!output.status.success(), "{}", text_of(output));
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|line| line.starts_with("error:"))
        .collect::<Vec<_>>()
        .join("\n")
}

on_every_backend!(dry_run_changes_nothing);

fn dry_run_changes_nothing(backend: &Backend) {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let fixture = sample_export();

    // Before anything exists: no data directory is created.
    let report = run_json(backend.bin(&data).arg("publish").arg(&fixture).args([
        "--dry-run",
        "--channel",
        "production",
    ]));
    assert_eq!(report["to_store"], 4, "{report}");
    assert!(!data.exists(), "a dry run created the data directory");

    // After a publish of the same export: everything is stored already.
    run_json(
        backend
            .bin(&data)
            .arg("publish")
            .arg(&fixture)
            .args(["--brotli-quality", "1"]),
    );
    let blobs_before = backend.blob_names(&data);
    let list_before = run_json(backend.bin(&data).arg("list"));
    let before_stat = snapshot(&data);
    let report = run_json(backend.bin(&data).arg("publish").arg(&fixture).args([
        "--dry-run",
        "--channel",
        "production",
    ]));
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["already_stored"], 4, "{report}");
    assert_eq!(report["to_store"], 0, "{report}");
    assert_eq!(report["to_store_bytes"], 0, "{report}");
    let runtimes: Vec<&Value> = report["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| &u["runtime_version"])
        .collect();
    assert_eq!(runtimes, [&json!("1.0.0"), &json!("1.0.0")]);
    assert_eq!(
        snapshot(&data),
        before_stat,
        "the dry run changed the data dir"
    );
    let text = backend
        .bin(&data)
        .arg("publish")
        .arg(&fixture)
        .arg("--dry-run")
        .output()
        .unwrap();
    assert!(text.status.success());
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("nothing was changed"),
        "{}",
        text_of(&text)
    );
    assert_eq!(snapshot(&data), before_stat);
    assert_eq!(backend.blob_names(&data), blobs_before);
    assert_eq!(run_json(backend.bin(&data).arg("list")), list_before);

    // Broken exports: the dry run fails as the publish does, and changes nothing.
    let broken = |name: &str, damage: &dyn Fn(&Path)| {
        let root = work.path().join(name);
        copy_dir(fixture.parent().unwrap(), &root);
        damage(&root);
        root.join("dist")
    };
    let cases = [
        broken("missing-bundle", &|root| {
            let dir = root.join("dist/_expo/static/js/ios");
            for entry in std::fs::read_dir(&dir).unwrap() {
                std::fs::remove_file(entry.unwrap().path()).unwrap();
            }
        }),
        broken("bad-metadata", &|root| {
            std::fs::write(root.join("dist/metadata.json"), b"{\"version\":0,").unwrap();
        }),
        broken("unknown-policy", &|root| {
            let path = root.join("app-config.json");
            let mut config: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            config["runtimeVersion"] = json!({"policy": "bogus"});
            std::fs::write(&path, config.to_string()).unwrap();
        }),
    ];
    for dist in &cases {
        let stat = snapshot(&data);
        let dry = backend
            .bin(&data)
            .arg("publish")
            .arg(dist)
            .arg("--dry-run")
            .output()
            .unwrap();
        let dry_error = error_of(&dry);
        assert_eq!(snapshot(&data), stat, "{}", dist.display());
        let real = backend
            .bin(&data)
            .arg("publish")
            .arg(dist)
            .output()
            .unwrap();
        assert_eq!(error_of(&real), dry_error, "{}", dist.display());
        assert!(!dry_error.is_empty());
    }
    assert_eq!(run_json(backend.bin(&data).arg("list")), list_before);
}

/// The committed real export made with `--source-maps`.
fn sourcemap_export() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-fixtures/sourcemap-export/dist")
}

/// The `.map` files of `dist`, by path inside it.
fn maps_in(dist: &Path) -> BTreeMap<String, Vec<u8>> {
    snapshot(dist)
        .into_iter()
        .filter(|(path, _)| path.extension().is_some_and(|e| e == "map"))
        .map(|(path, bytes)| {
            let relative = path.strip_prefix(dist).unwrap().display().to_string();
            (relative, bytes)
        })
        .collect()
}

on_every_backend!(async source_maps_round_trip);

async fn source_maps_round_trip(backend: &Backend) {
    let work = tempfile::tempdir().unwrap();
    let dist = sourcemap_export();
    let expected = maps_in(&dist);
    assert_eq!(expected.len(), 2, "{:?}", expected.keys());
    let data = work.path().join("data");
    let published = run_json(
        backend
            .bin(&data)
            .arg("publish")
            .arg(&dist)
            .args(["--brotli-quality", "1"]),
    );
    let ids: Vec<String> = published
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    // Kept through a collection (the maps are referenced by nothing else).
    run_json(backend.bin(&data).args(["gc", "--older-than", "30d"]));

    // Written back from the data directory, byte for byte, each update its own platform's.
    let out = work.path().join("local-out");
    for id in &ids {
        let listed = run_json(
            backend
                .bin(&data)
                .args(["sourcemaps", id, "--out"])
                .arg(&out),
        );
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    }
    assert_eq!(maps_in(&out), expected);

    // Over HTTP, with the admin token only.
    let server = LoggedServer::start(backend, &data, &["--admin-token", TOKEN]);
    let http = reqwest::Client::new();
    let url = format!("{}/admin/updates/{}/sourcemaps", server.base, ids[0]);
    assert_eq!(
        http.get(&url).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let index: Value = http
        .get(&url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let map = &index["source_maps"][0];
    assert!(
        map["path"].as_str().unwrap().ends_with(".hbc.map"),
        "{index}"
    );
    let map_hash = map["hash"].as_str().unwrap().to_owned();
    // Never in a manifest.
    for platform in ["ios", "android"] {
        let manifest = http
            .get(format!("{}/manifest", server.base))
            .header("expo-platform", platform)
            .header("expo-runtime-version", "1.0.0")
            .header("accept", "application/expo+json")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(manifest.contains("launchAsset"), "{manifest}");
        assert!(!manifest.contains(&map_hash), "{manifest}");
        assert!(!manifest.contains(".map"), "{manifest}");
    }
    // The download route serves the update's source maps, no other blob.
    let shown = run_json(backend.bin(&data).args(["show", &ids[0]]));
    let bundle = common::hex_of_manifest_hash(shown["launch_asset"]["hash"].as_str().unwrap());
    let response = http
        .get(format!("{url}/{bundle}"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = http
        .get(format!("{url}/not-a-hash"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let out = work.path().join("remote-out");
    for id in &ids {
        let output = backend
            .bin(&work.path().join("unused"))
            .args(["sourcemaps", id, "--server", &server.base, "--token", TOKEN])
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", text_of(&output));
    }
    assert_eq!(maps_in(&out), expected);

    // A remote publish keeps them too.
    let target = work.path().join("target");
    let target_backend = backend.fresh();
    let remote_server = LoggedServer::start(&target_backend, &target, &["--admin-token", TOKEN]);
    let report = ok_json(&remote(
        backend,
        &work.path().join("client"),
        &dist,
        &remote_server.base,
        TOKEN,
    ));
    // Two bundles (Hermes bytecode differs per platform) and one map (the same for both).
    assert_eq!(report["uploaded"], 3, "{report}");
    let out = work.path().join("remote-publish-out");
    for update in report["updates"].as_array().unwrap() {
        let output = backend
            .bin(&work.path().join("unused"))
            .args(["sourcemaps", update["id"].as_str().unwrap()])
            .args(["--server", &remote_server.base, "--token", TOKEN])
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", text_of(&output));
    }
    assert_eq!(maps_in(&out), expected);
}
