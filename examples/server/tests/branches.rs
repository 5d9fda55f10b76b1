//! Branches behind channels, through the real binary: a split channel serves each install
//! one branch consistently and about half of the installs each; moving the channel and
//! ending the split change what is served; the admin API refuses hostile input with a JSON
//! error naming what is wrong; and a data directory written before branches existed serves
//! exactly as it did.
#![allow(
    clippy::unwrap_used,
    clippy::too_many_lines,
    reason = "tests may unwrap; each test is one scenario, read top to bottom"
)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Backend, Server, bin, run_json, run_ok};
use expo_update_server::store::channels::split_bucket;
use futures_util::StreamExt as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const TOKEN: &str = "branches-test-token-0123456789";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The update id `/manifest` serves for this channel, platform and install (`None`: no
/// update), and the status.
async fn served(
    client: &reqwest::Client,
    server: &Server,
    channel: Option<&str>,
    platform: &str,
    runtime: &str,
    install: Option<&str>,
) -> (u16, Option<String>) {
    let mut request = client
        .get(server.url("/manifest"))
        .header("expo-protocol-version", "1")
        .header("expo-platform", platform)
        .header("expo-runtime-version", runtime)
        .header("accept", "multipart/mixed");
    if let Some(channel) = channel {
        request = request.header("expo-channel-name", channel);
    }
    if let Some(install) = install {
        request = request.header("eas-client-id", install);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    let id = body
        .split_once("\"id\":\"")
        .map(|(_, rest)| rest[..36].to_owned());
    (status, id)
}

/// Publishes the export `dist` to `branch` (iOS) on `backend`, returning the update id.
fn publish_on(backend: &Backend, data: &Path, dist: &Path, branch: &str) -> String {
    let published = run_json(
        backend
            .bin(data)
            .arg("publish")
            .arg(dist)
            .args(["--branch", branch, "--platform", "ios"])
            .args(["--runtime-version", "1.0.0", "--brotli-quality", "0"]),
    );
    published[0]["id"].as_str().unwrap().to_owned()
}

/// [`publish_on`] `SQLite`.
fn publish(data: &Path, dist: &Path, branch: &str) -> String {
    publish_on(&Backend::sqlite(), data, dist, branch)
}

fn exports() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data-at-0008-exports")
}

async fn admin(
    method: reqwest::Method,
    server: &Server,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = client()
        .request(method, server.url(path))
        .bearer_auth(TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_split_channel_serves_each_install_one_branch_and_half_each() {
    split_channel_on(&Backend::sqlite()).await;
}

/// The same on `PostgreSQL`: the CLI's change reaches the server through the change counter
/// of the shared database, as it reaches other replicas.
#[tokio::test(flavor = "multi_thread")]
async fn a_split_channel_on_postgres() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    split_channel_on(&backend).await;
}

async fn split_channel_on(backend: &Backend) {
    let data = tempfile::tempdir().unwrap();
    let production = publish_on(
        backend,
        data.path(),
        &exports().join("v1/dist"),
        "production",
    );
    let canary = publish_on(backend, data.path(), &exports().join("v2/dist"), "canary");
    let split = run_ok(backend.bin(data.path()).args([
        "channel",
        "split",
        "production",
        "--split-branch",
        "canary",
        "--percent",
        "50",
    ]));
    assert!(String::from_utf8_lossy(&split.stdout).contains("canary 50%"));
    // Listings say which channels serve each update's branch.
    let listed = run_json(backend.bin(data.path()).arg("list"));
    let served_by = |id: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == id)
            .map(|u| u["served_by"].clone())
    };
    assert_eq!(served_by(&canary), Some(json!(["canary", "production"])));
    assert_eq!(served_by(&production), Some(json!(["production"])));
    let shown = run_ok(backend.bin(data.path()).args(["show", &canary]));
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains("served by        canary, production"),
        "{}",
        String::from_utf8_lossy(&shown.stdout)
    );
    let server = backend.server(data.path(), &["--admin-token", TOKEN]);
    let client = client();

    // 10,000 synthetic installs: the split bucket puts about half on each branch...
    let installs: Vec<String> = (0..10_000).map(|i| format!("install-{i:05}")).collect();
    let expected = |install: &str| {
        if split_bucket(install) < 50 {
            &canary
        } else {
            &production
        }
    };
    let on_canary = installs.iter().filter(|i| expected(i) == &canary).count();
    assert!((4_500..=5_500).contains(&on_canary), "{on_canary} of 10000");
    // ...and the server agrees for every one of them, asked concurrently.
    let started = Instant::now();
    let answers: Vec<(String, (u16, Option<String>))> = futures_util::stream::iter(&installs)
        .map(|install| {
            let (client, server) = (&client, &server);
            async move {
                let answer = served(
                    client,
                    server,
                    Some("production"),
                    "ios",
                    "1.0.0",
                    Some(install),
                )
                .await;
                (install.clone(), answer)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    eprintln!("10000 manifest requests in {:?}", started.elapsed());
    let mut served_canary = 0;
    for (install, (status, id)) in &answers {
        assert_eq!(*status, 200, "{install}");
        assert_eq!(id.as_ref(), Some(expected(install)), "{install}");
        served_canary += usize::from(id.as_ref() == Some(&canary));
    }
    assert!(
        (4_500..=5_500).contains(&served_canary),
        "{served_canary} of 10000 served the canary"
    );
    // The same install gets the same branch every time.
    for install in installs.iter().take(50) {
        for _ in 0..3 {
            let (_, id) = served(
                &client,
                &server,
                Some("production"),
                "ios",
                "1.0.0",
                Some(install),
            )
            .await;
            assert_eq!(id.as_ref(), Some(expected(install)));
        }
    }
    // Without a client id: the main branch.
    let (_, anonymous) = served(&client, &server, Some("production"), "ios", "1.0.0", None).await;
    assert_eq!(anonymous, Some(production.clone()));

    // Listed through the admin API.
    let (status, channels) = admin(Method::GET, &server, "/admin/channels", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        channels.as_array().unwrap().contains(&json!({
            "name": "production", "branch": "production",
            "split": {"branch": "canary", "percent": 50}
        })),
        "{channels}"
    );
    let (_, branches) = admin(Method::GET, &server, "/admin/branches", None).await;
    assert_eq!(
        branches,
        json!([
            {"name": "canary", "updates": 1, "channels": ["canary", "production"]},
            {"name": "production", "updates": 1, "channels": ["production"]},
        ])
    );

    // Ending the split keeping the split branch: everyone gets the canary.
    let (status, ended) = admin(
        Method::DELETE,
        &server,
        "/admin/channels/production/split?keep=split",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{ended}");
    assert_eq!(
        ended,
        json!({"name": "production", "branch": "canary", "split": null})
    );
    for install in installs.iter().take(200) {
        let (_, id) = served(
            &client,
            &server,
            Some("production"),
            "ios",
            "1.0.0",
            Some(install),
        )
        .await;
        assert_eq!(id.as_ref(), Some(&canary), "{install}");
    }

    // Moving the channel back to the other branch serves that branch's update.
    let (status, moved) = admin(
        Method::PUT,
        &server,
        "/admin/channels/production",
        Some(json!({"branch": "production"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    for install in installs.iter().take(200) {
        let (_, id) = served(
            &client,
            &server,
            Some("production"),
            "ios",
            "1.0.0",
            Some(install),
        )
        .await;
        assert_eq!(id.as_ref(), Some(&production), "{install}");
    }

    // A change from another process (the CLI) is seen through the change counter.
    run_ok(
        backend
            .bin(data.path())
            .args(["channel", "set", "production", "--branch", "canary"]),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, id) = served(
            &client,
            &server,
            Some("production"),
            "ios",
            "1.0.0",
            Some("x"),
        )
        .await;
        if id.as_ref() == Some(&canary) {
            break;
        }
        assert!(Instant::now() < deadline, "the CLI's change was not served");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Rolling back a branch by name: the channel serving it serves the previous update.
    let newer = publish_on(backend, data.path(), &exports().join("v1/dist"), "canary");
    let (status, rolled) = admin(
        Method::POST,
        &server,
        "/admin/rollback",
        Some(json!({"branch": "canary", "runtime_version": "1.0.0", "platform": "ios"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{rolled}");
    assert_eq!(rolled[0]["republished_from"], json!(canary));
    assert_eq!(rolled[0]["channel"], json!("canary"));
    assert_ne!(rolled[0]["id"], json!(newer));
}

/// A refused request: method, path, body; the status, error code and the member naming
/// what is wrong (`field=name`, `parameter=keep`; empty: none).
type Case = (
    Method,
    String,
    Option<Value>,
    u16,
    &'static str,
    &'static str,
);

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_api_refuses_hostile_branch_and_channel_changes() {
    let data = tempfile::tempdir().unwrap();
    publish(data.path(), &exports().join("v1/dist"), "production");
    publish(data.path(), &exports().join("v2/dist"), "canary");
    let server = Server::start(data.path(), &["--admin-token", TOKEN]);
    let long = "x".repeat(300);
    let cases: Vec<Case> = vec![
        // (method, path, body, status, code, what the error names)
        (
            Method::PATCH,
            "/admin/branches/canary".into(),
            Some(json!({"name": "production"})),
            409,
            "conflict",
            "",
        ),
        (
            Method::PATCH,
            "/admin/branches/missing".into(),
            Some(json!({"name": "new"})),
            404,
            "not_found",
            "",
        ),
        (
            Method::POST,
            "/admin/branches".into(),
            Some(json!({"name": "canary"})),
            409,
            "conflict",
            "",
        ),
        (
            Method::POST,
            "/admin/branches".into(),
            Some(json!({"name": "a/b"})),
            400,
            "bad_request",
            "field=name",
        ),
        (
            Method::POST,
            "/admin/branches".into(),
            Some(json!({"name": long})),
            400,
            "invalid_name",
            "field=name",
        ),
        (
            Method::POST,
            "/admin/branches".into(),
            Some(json!({"name": "tab\there"})),
            400,
            "invalid_name",
            "field=name",
        ),
        (
            Method::POST,
            "/admin/branches".into(),
            Some(json!({"nom": "x"})),
            422,
            "bad_request",
            "field=nom",
        ),
        (
            Method::PATCH,
            format!("/admin/branches/{long}"),
            Some(json!({"name": "new"})),
            400,
            "invalid_name",
            "parameter=name",
        ),
        (
            Method::PATCH,
            "/admin/branches/canary".into(),
            Some(json!({"name": "x/y"})),
            400,
            "bad_request",
            "field=name",
        ),
        (
            Method::PUT,
            "/admin/channels/production/split".into(),
            Some(json!({"branch": "canary", "percent": 101})),
            400,
            "bad_request",
            "field=percent",
        ),
        (
            Method::PUT,
            "/admin/channels/production/split".into(),
            Some(json!({"branch": "canary", "percent": -1})),
            422,
            "bad_request",
            "field=percent",
        ),
        (
            Method::PUT,
            "/admin/channels/production/split".into(),
            Some(json!({"branch": "canary", "percent": "50"})),
            422,
            "bad_request",
            "field=percent",
        ),
        (
            Method::PUT,
            "/admin/channels/production/split".into(),
            Some(json!({"branch": "production", "percent": 10})),
            400,
            "bad_request",
            "field=branch",
        ),
        (
            Method::PUT,
            "/admin/channels/production/split".into(),
            Some(json!({"branch": "missing", "percent": 10})),
            404,
            "not_found",
            "",
        ),
        (
            Method::PUT,
            "/admin/channels/production".into(),
            Some(json!({"branch": "a/b"})),
            400,
            "bad_request",
            "field=branch",
        ),
        (
            Method::PUT,
            format!("/admin/channels/{long}"),
            Some(json!({"branch": "canary"})),
            400,
            "invalid_name",
            "parameter=name",
        ),
        (
            Method::DELETE,
            "/admin/channels/production/split?keep=both".into(),
            None,
            400,
            "bad_request",
            "parameter=keep",
        ),
        (
            Method::DELETE,
            "/admin/channels/production/split".into(),
            None,
            400,
            "bad_request",
            "parameter=keep",
        ),
        (
            Method::DELETE,
            "/admin/channels/production/split?keep=main".into(),
            None,
            409,
            "conflict",
            "",
        ),
        (
            Method::DELETE,
            "/admin/branches/production".into(),
            None,
            409,
            "conflict",
            "",
        ),
        (
            Method::DELETE,
            "/admin/branches/production?force=maybe".into(),
            None,
            400,
            "bad_request",
            "parameter=force",
        ),
    ];
    for (method, path, body, status, code, names) in cases {
        let (got, error) = admin(method.clone(), &server, &path, body.clone()).await;
        let shown = format!("{method} {path} {body:?}: {got} {error}");
        assert_eq!(got.as_u16(), status, "{shown}");
        assert_eq!(error["error"]["code"], json!(code), "{shown}");
        assert!(
            error["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{shown}"
        );
        if let Some((member, value)) = names.split_once('=') {
            assert_eq!(error["error"][member], json!(value), "{shown}");
        }
    }
    // Nothing of the refused changes happened.
    let (_, branches) = admin(Method::GET, &server, "/admin/branches", None).await;
    let names: Vec<&str> = branches
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["canary", "production"]);
    let (_, channels) = admin(Method::GET, &server, "/admin/channels", None).await;
    assert!(
        channels
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["split"].is_null() && c["name"] == c["branch"]),
        "{channels}"
    );

    // A branch a channel points at is not deleted, even with force.
    let (status, _) = admin(
        Method::PUT,
        &server,
        "/admin/channels/production",
        Some(json!({"branch": "canary"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, refused) = admin(
        Method::DELETE,
        &server,
        "/admin/branches/canary?force=true",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("production"),
        "{refused}"
    );
    // With updates, only with force; then nothing serves them.
    let (status, _) = admin(
        Method::PUT,
        &server,
        "/admin/channels/production",
        Some(json!({"branch": "production"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = admin(Method::DELETE, &server, "/admin/branches/canary", None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = admin(
        Method::DELETE,
        &server,
        "/admin/branches/canary?force=true",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, id) = served(
        &client(),
        &server,
        Some("canary"),
        "ios",
        "1.0.0",
        Some("x"),
    )
    .await;
    assert_eq!(id, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_data_directory_from_before_branches_serves_as_it_did() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let data = tempfile::tempdir().unwrap();
    copy_dir(&fixtures.join("data-at-0008"), data.path());
    let expected: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(fixtures.join("data-at-0008-answers.json")).unwrap(),
    )
    .unwrap();
    let server = Server::start(data.path(), &[]);
    let client = client();
    assert!(expected.len() > 300);
    for answer in &expected {
        let got = served(
            &client,
            &server,
            answer["channel"].as_str(),
            answer["platform"].as_str().unwrap(),
            "1.0.0",
            answer["client_id"].as_str(),
        )
        .await;
        let want = (
            u16::try_from(answer["status"].as_u64().unwrap()).unwrap(),
            answer["update"].as_str().map(str::to_owned),
        );
        assert_eq!(got, want, "{answer}");
    }
    // Every channel is implicit: it serves the branch of its name.
    let channels = run_json(bin(data.path()).args(["channel", "list"]));
    assert_eq!(
        channels,
        json!([
            {"name": "production", "branch": "production", "split": null},
            {"name": "staging", "branch": "staging", "split": null},
        ])
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
