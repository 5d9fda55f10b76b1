//! Update health on the real server: many fake devices report launches and failures through
//! manifest request headers; the counts reach the admin API, the CLI and /metrics; malformed
//! health headers never fail a request; the automatic rollback fires at its threshold, once;
//! forged reports move a channel back one update at most, and floods of them neither starve
//! operators' writes nor grow the table past its bound.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]
#![allow(
    clippy::too_many_lines,
    reason = "a scenario reads best as one function"
)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Backend, Server, run_json, run_ok, synthetic_export};
use reqwest::StatusCode;
use serde_json::Value;

const TOKEN: &str = "0123456789abcdef-test-token";
const EMBEDDED: &str = "5f0c6e6a-7c3e-4f8e-9a43-0f0bd54c39a1";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// What one fake device sends.
#[derive(Default)]
struct Device<'a> {
    client_id: Option<String>,
    current: Option<&'a str>,
    failed_ids: Option<String>,
    fatal_error: Option<&'a str>,
}

impl<'a> Device<'a> {
    /// Device `n` running `current`.
    fn running(n: usize, current: &'a str) -> Self {
        Self {
            client_id: Some(client_id(n)),
            current: Some(current),
            ..Self::default()
        }
    }

    /// Device `n` that failed to launch `update` and fell back to its embedded update.
    fn failed_on(n: usize, update: &str) -> Self {
        Self {
            client_id: Some(client_id(n)),
            current: Some(EMBEDDED),
            failed_ids: Some(format!("\"{update}\"")),
            ..Self::default()
        }
    }
}

/// A per-install id, upper case like iOS sends it.
fn client_id(n: usize) -> String {
    format!("{n:08X}-0000-4000-8000-000000000000")
}

/// Sends `device`'s manifest request (ios, `runtime`, channel `production`) like the real
/// client (multipart preferred, so directives can be answered); returns the status.
async fn ask(server: &Server, runtime: &str, device: &Device<'_>) -> StatusCode {
    let mut request = client()
        .get(server.url("/manifest"))
        .header("expo-protocol-version", "1")
        .header("expo-platform", "ios")
        .header("expo-runtime-version", runtime)
        .header("expo-channel-name", "production")
        .header(
            "accept",
            "multipart/mixed,application/expo+json,application/json",
        )
        .header("expo-embedded-update-id", EMBEDDED);
    if let Some(id) = &device.client_id {
        request = request.header("eas-client-id", id);
    }
    if let Some(current) = device.current {
        request = request.header("expo-current-update-id", current);
    }
    if let Some(failed) = &device.failed_ids {
        request = request.header("expo-recent-failed-update-ids", failed);
    }
    if let Some(error) = device.fatal_error {
        request = request.header("expo-fatal-error", error);
    }
    request.send().await.unwrap().status()
}

/// The id of the update `server` serves (asked as a fresh install that reports nothing).
async fn served_id(server: &Server, runtime: &str) -> String {
    let response = client()
        .get(server.url("/manifest"))
        .header("expo-protocol-version", "1")
        .header("expo-platform", "ios")
        .header("expo-runtime-version", runtime)
        .header("expo-channel-name", "production")
        .header("accept", "application/expo+json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let manifest: Value = response.json().await.unwrap();
    manifest["id"].as_str().unwrap().to_owned()
}

async fn admin_get(server: &Server, path: &str) -> Value {
    let response = client()
        .get(server.url(path))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

/// The value of the first sample of `metric` whose labels contain `labels`.
fn sample(text: &str, metric: &str, labels: &str) -> Option<f64> {
    text.lines()
        .filter(|line| line.starts_with(metric) && line.contains(labels))
        .find_map(|line| line.rsplit(' ').next()?.parse().ok())
}

/// Devices `ns` ask as fresh installs (running their embedded update, reporting nothing):
/// the server answers them with the update it serves and records them as its installs.
async fn install(servers: &[&Server], runtime: &str, ns: impl IntoIterator<Item = usize>) {
    for (i, n) in ns.into_iter().enumerate() {
        let device = Device {
            client_id: Some(client_id(n)),
            current: Some(EMBEDDED),
            ..Device::default()
        };
        let server = servers[i % servers.len()];
        assert_eq!(ask(server, runtime, &device).await, StatusCode::OK);
    }
}

/// Polls the admin API until `want` installs were recorded as served update `id`.
async fn wait_for_served(server: &Server, id: &str, want: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let shown = admin_get(server, &format!("/admin/updates/{id}")).await;
        let installs = shown["health"]["served"].as_u64().unwrap();
        if installs == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{id} was served to {installs} installs, expected {want}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Polls the admin API until the update's health equals `want` (devices, launched, failed).
async fn wait_for_health(server: &Server, id: &str, want: (u64, u64, u64)) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let shown = admin_get(server, &format!("/admin/updates/{id}")).await;
        let health = shown["health"].clone();
        let got = (
            health["devices"].as_u64().unwrap(),
            health["launched"].as_u64().unwrap(),
            health["failed"].as_u64().unwrap(),
        );
        if got == want {
            return health;
        }
        assert!(
            Instant::now() < deadline,
            "health of {id} stayed {got:?}, expected {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Publishes the synthetic export for ios into `production` twice; returns the runtime
/// version and the two update ids, oldest first.
fn publish_two(backend: &Backend, work: &Path, data: &Path) -> (String, String, String) {
    let dist = synthetic_export(work, 2_000, "1.0.0");
    let mut ids = Vec::new();
    for message in ["first", "second"] {
        let published = run_json(backend.bin(data).args(["publish"]).arg(&dist).args([
            "--channel",
            "production",
            "--platform",
            "ios",
            "--brotli-quality",
            "1",
            "-m",
            message,
        ]));
        ids.push(published[0]["id"].as_str().unwrap().to_owned());
    }
    let second = ids.pop().unwrap();
    let first = ids.pop().unwrap();
    ("1.0.0".to_owned(), first, second)
}

on_every_backend!(async counts_reach_admin_cli_and_metrics);

async fn counts_reach_admin_cli_and_metrics(backend: &Backend) {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let (runtime, first, second) = publish_two(backend, work.path(), &data);
    let server = backend.server(&data, &["--admin-token", TOKEN, "--sample=false"]);

    // The installs that will report were served the update first (reports count only for
    // them): 30 running it, 6 failing on it, 3 with malformed headers, 10 reporting later.
    assert_eq!(served_id(&server, &runtime).await, second);
    install(
        &[&server],
        &runtime,
        (0..30).chain(100..106).chain(200..203).chain(300..310),
    )
    .await;
    wait_for_served(&server, &second, 49).await;
    // 30 devices run the served update, each asking three times.
    for _ in 0..3 {
        for n in 0..30 {
            let status = ask(&server, &runtime, &Device::running(n, &second)).await;
            assert_eq!(status, StatusCode::OK);
        }
    }
    // 5 of them crashed while running it (and kept running it).
    for n in 0..5 {
        let device = Device {
            fatal_error: Some("TypeError: undefined is not a function"),
            ..Device::running(n, &second)
        };
        assert_eq!(ask(&server, &runtime, &device).await, StatusCode::OK);
    }
    // 6 more failed to launch it and run their embedded update; one of them also names the
    // first update (never served to it: not counted) and an update this server never had.
    for n in 100..106 {
        assert_eq!(
            ask(&server, &runtime, &Device::failed_on(n, &second)).await,
            StatusCode::OK
        );
    }
    let unknown = "0754dad0-d200-4634-913c-ef1f26106028";
    let device = Device {
        failed_ids: Some(format!("\"{second}\", \"{first}\", \"{unknown}\"")),
        ..Device::failed_on(100, &second)
    };
    assert_eq!(ask(&server, &runtime, &device).await, StatusCode::OK);

    // Malformed health headers: the manifest is still served, and nothing breaks.
    let malformed = [
        Device {
            failed_ids: Some("(\"unterminated".into()),
            ..Device::running(200, &second)
        },
        Device {
            failed_ids: Some("\"not-an-update-id\", 12".into()),
            ..Device::running(201, &second)
        },
        Device {
            failed_ids: Some("\"not-an-update-id\"".into()),
            ..Device::running(202, &second)
        },
        Device {
            client_id: None,
            ..Device::running(203, &second)
        },
    ];
    for device in &malformed {
        assert_eq!(ask(&server, &runtime, device).await, StatusCode::OK);
    }

    // Distinct devices: 30 + 6 failed elsewhere + 3 of the malformed ones (their current
    // update still counts; the one without a client id does not).
    let health = wait_for_health(&server, &second, (39, 33, 11)).await;
    assert!((health["failure_rate"].as_f64().unwrap() - 11.0 / 39.0).abs() < 1e-9);
    wait_for_health(&server, &first, (0, 0, 0)).await;

    // The admin listing and the CLI say the same.
    let listed = admin_get(&server, "/admin/updates?channel=production").await;
    assert_eq!(listed[0]["id"], second.as_str());
    assert_eq!(listed[0]["health"]["failed"], 11);
    assert_eq!(listed[1]["health"]["devices"], 0);
    let cli_list = run_json(backend.bin(&data).args(["list"]));
    assert_eq!(cli_list[0]["health"]["launched"], 33);
    assert_eq!(cli_list[0]["health"]["devices"], 39);
    assert_eq!(cli_list[1]["health"]["failed"], 0);
    let shown = run_json(backend.bin(&data).args(["show", &second]));
    assert_eq!(shown["health"]["failed"], 11);
    let text = run_ok(backend.bin(&data).args(["show", &second]));
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("launched         33"), "{text}");
    assert!(text.contains("failed           11 (28.2%)"), "{text}");

    // /metrics: per existing update only, and the ignored parts counted.
    let text = server.metrics_text().await;
    let label = |id: &str| format!("update_id=\"{id}\"");
    assert_eq!(
        sample(&text, "expo_update_launched_devices", &label(&second)),
        Some(33.0)
    );
    assert_eq!(
        sample(&text, "expo_update_failed_devices", &label(&second)),
        Some(11.0)
    );
    assert_eq!(
        sample(&text, "expo_update_failed_devices", &label(&first)),
        None,
        "reports on an update never served to the device change nothing"
    );
    assert!(!text.contains(unknown), "no series for unknown updates");
    assert!(
        !text.contains(EMBEDDED),
        "no series for the embedded update"
    );
    for (reason, count) in [
        ("malformed_failed_ids", 2.0),
        ("invalid_failed_id", 1.0),
        ("no_client_id", 1.0),
    ] {
        assert_eq!(
            sample(
                &text,
                "expo_health_ignored_total",
                &format!("reason=\"{reason}\"")
            ),
            Some(count),
            "{reason}:\n{text}"
        );
    }

    // A graceful shutdown stores what is still queued: a long flush interval leaves the
    // last reports to the final write.
    drop(server);
    let mut server = backend.server(
        &data,
        &[
            "--admin-token",
            TOKEN,
            "--sample=false",
            "--health-flush-interval",
            "1h",
        ],
    );
    for n in 300..310 {
        assert_eq!(
            ask(&server, &runtime, &Device::running(n, &second)).await,
            StatusCode::OK
        );
    }
    let pid = server.child.id().to_string();
    run_ok(std::process::Command::new("kill").args(["-TERM", &pid]));
    let deadline = Instant::now() + Duration::from_secs(15);
    while server.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    let shown = run_json(backend.bin(&data).args(["show", &second]));
    assert_eq!(shown["health"]["devices"], 49, "{shown}");
    assert_eq!(shown["health"]["launched"], 43);
}

on_every_backend!(async automatic_rollback_fires_at_the_threshold_once);

async fn automatic_rollback_fires_at_the_threshold_once(backend: &Backend) {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let (runtime, first, second) = publish_two(backend, work.path(), &data);
    // Two servers on the same stores, as behind a load balancer.
    let args = [
        "--admin-token",
        TOKEN,
        "--sample=false",
        "--auto-rollback-threshold",
        "0.25",
        "--auto-rollback-min-devices",
        "40",
    ];
    let servers = [backend.server(&data, &args), backend.server(&data, &args)];
    let replica = |n: usize| &servers[n % 2];
    let count = |list: &Value| list.as_array().unwrap().len();
    install(
        &[&servers[0], &servers[1]],
        &runtime,
        (0..9).chain(100..131),
    )
    .await;
    wait_for_served(&servers[0], &second, 40).await;

    // 9 devices fail on the served update: every device reporting failed, but fewer than 40.
    for n in 0..9 {
        ask(replica(n), &runtime, &Device::failed_on(n, &second)).await;
    }
    wait_for_health(&servers[0], &second, (9, 0, 9)).await;
    // 31 devices run it: 40 devices, 9 failed (22.5%), below the threshold.
    for n in 100..131 {
        let status = ask(replica(n), &runtime, &Device::running(n, &second)).await;
        assert_eq!(status, StatusCode::OK);
    }
    wait_for_health(&servers[1], &second, (40, 31, 9)).await;
    // Several flushes later, nothing was rolled back.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let list = run_json(backend.bin(&data).args(["list"]));
    assert_eq!(count(&list), 2, "{list}");
    assert_eq!(served_id(&servers[0], &runtime).await, second);

    // One device that runs it crashes: 10 of 40 devices (25%), the threshold.
    let crash = Device {
        fatal_error: Some("Error: boom"),
        ..Device::running(100, &second)
    };
    assert_eq!(ask(&servers[1], &runtime, &crash).await, StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(30);
    let rollback = loop {
        let list = run_json(backend.bin(&data).args(["list"]));
        if count(&list) == 3 {
            break list[0].clone();
        }
        assert!(Instant::now() < deadline, "no automatic rollback: {list}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(
        rollback["message"],
        format!("automatic rollback: 10/40 devices failed on {second}")
    );
    assert_eq!(rollback["republished_from"], first.as_str());
    assert_eq!(rollback["channel"], "production");

    // Both servers serve the copy of the first update at once (the acting one invalidated
    // its cache; the other noticed the change).
    let rollback_id = rollback["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    for server in &servers {
        loop {
            let id = served_id(server, &runtime).await;
            if id == rollback_id {
                break;
            }
            assert!(Instant::now() < deadline, "still serving {id}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // Devices keep reporting the failed update for a while (installs it was served to, and
    // new ones it never was): no second rollback, on either server.
    for n in (0..9).chain(600..640) {
        ask(replica(n), &runtime, &Device::failed_on(n, &second)).await;
    }
    wait_for_health(&servers[0], &second, (40, 31, 10)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let list = run_json(backend.bin(&data).args(["list"]));
    assert_eq!(count(&list), 3, "rolled back once: {list}");
    let mut rollbacks = 0.0;
    for server in &servers {
        rollbacks += sample(
            &server.metrics_text().await,
            "expo_auto_rollbacks_total",
            "",
        )
        .unwrap_or(0.0);
    }
    assert!((rollbacks - 1.0).abs() < f64::EPSILON, "{rollbacks}");
}

/// Publishes the synthetic export for ios into `production` once per message; returns the
/// runtime version and the update ids, oldest first.
fn publish_each(backend: &Backend, work: &Path, data: &Path, messages: &[&str]) -> Vec<String> {
    let dist = synthetic_export(work, 2_000, "1.0.0");
    messages
        .iter()
        .map(|message| {
            let published = run_json(backend.bin(data).args(["publish"]).arg(&dist).args([
                "--channel",
                "production",
                "--platform",
                "ios",
                "--brotli-quality",
                "1",
                "-m",
                message,
            ]));
            published[0]["id"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// The updates of the channel, newest first.
fn listed(backend: &Backend, data: &Path) -> Vec<Value> {
    run_json(backend.bin(data).args(["list"]))
        .as_array()
        .unwrap()
        .clone()
}

on_every_backend!(async forged_failures_move_a_channel_back_once_and_never_further);

/// A forger with many client ids: reports on an update its ids were never served change
/// nothing; failures of C from ids that were served it roll the channel back to (a copy
/// of) B once; three rounds of them, also naming the copy, never reach A; and after the
/// operator republishes C, forged failures of the republish change nothing.
async fn forged_failures_move_a_channel_back_once_and_never_further(backend: &Backend) {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let ids = publish_each(backend, work.path(), &data, &["A", "B", "C"]);
    let (a, b, c) = (&ids[0], &ids[1], &ids[2]);
    let runtime = "1.0.0";
    let server = backend.server(
        &data,
        &[
            "--admin-token",
            TOKEN,
            "--sample=false",
            "--auto-rollback-threshold",
            "0.2",
            "--auto-rollback-min-devices",
            "20",
        ],
    );

    // Never served to these ids: they claim to run C (never downloaded from this server)
    // and to have failed on it, or fail on B, which they were never given.
    for n in 0..60 {
        let device = Device {
            failed_ids: Some(format!("\"{c}\"")),
            ..Device::running(n, c)
        };
        assert_eq!(ask(&server, runtime, &device).await, StatusCode::OK);
        ask(&server, runtime, &Device::failed_on(1000 + n, b)).await;
        ask(&server, runtime, &Device::failed_on(1000 + n, b)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(listed(backend, &data).len(), 3, "nothing rolled back");
    assert_eq!(served_id(&server, runtime).await, *c);
    let shown = admin_get(&server, &format!("/admin/updates/{c}")).await;
    assert_eq!(shown["health"]["devices"], 0, "{shown}");
    let shown = admin_get(&server, &format!("/admin/updates/{b}")).await;
    assert_eq!(shown["health"]["devices"], 0, "{shown}");

    // Three rounds: fresh ids get served whatever the channel serves, then report failures
    // of C and of what they were served.
    for round in 1..=3 {
        let first_id = 10_000 * round;
        let served_now = served_id(&server, runtime).await;
        install(&[&server], runtime, first_id..first_id + 40).await;
        tokio::time::sleep(Duration::from_millis(2500)).await;
        for n in first_id..first_id + 40 {
            let device = Device {
                failed_ids: Some(format!("\"{c}\", \"{served_now}\"")),
                ..Device::failed_on(n, c)
            };
            assert_eq!(ask(&server, runtime, &device).await, StatusCode::OK);
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        let now = served_id(&server, runtime).await;
        assert_ne!(now, *a, "round {round}: the channel serves A");
    }
    let updates = listed(backend, &data);
    assert_eq!(updates.len(), 4, "rolled back exactly once: {updates:#?}");
    assert_eq!(updates[0]["republished_from"], b.as_str(), "{updates:#?}");
    assert!(
        updates.iter().all(|u| u["republished_from"] != a.as_str()),
        "A is never served again"
    );
    assert_eq!(served_id(&server, runtime).await, updates[0]["id"]);

    // The operator republishes C: forged failures of the republish change nothing.
    let republished = run_json(backend.bin(&data).args(["republish", c]));
    let republished = republished[0]["id"]
        .as_str()
        .or_else(|| republished["id"].as_str())
        .unwrap()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    while served_id(&server, runtime).await != republished {
        assert!(Instant::now() < deadline, "the republish is not served");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    install(&[&server], runtime, 50_000..50_040).await;
    wait_for_served(&server, &republished, 40).await;
    for n in 50_000..50_040 {
        let device = Device {
            failed_ids: Some(format!("\"{republished}\", \"{c}\"")),
            ..Device::failed_on(n, &republished)
        };
        ask(&server, runtime, &device).await;
    }
    wait_for_health(&server, &republished, (40, 0, 40)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        served_id(&server, runtime).await,
        republished,
        "the republish stays"
    );
    assert_eq!(listed(backend, &data).len(), 5);
    let rollbacks = sample(
        &server.metrics_text().await,
        "expo_auto_rollbacks_total",
        "",
    );
    assert_eq!(rollbacks, Some(1.0));
}

on_every_backend!(async a_report_flood_starves_no_operator_and_stays_bounded);

/// A flood of forged reports from fresh ids (32 clients as fast as the server answers)
/// while an operator publishes and rolls back from the CLI: both finish within 15 s, and
/// the rows kept per update stay under `--health-max-devices`.
async fn a_report_flood_starves_no_operator_and_stays_bounded(backend: &Backend) {
    const BOUND: u64 = 300;
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let ids = publish_each(backend, work.path(), &data, &["A", "B"]);
    let runtime = "1.0.0";
    let bound = BOUND.to_string();
    let server = backend.server(
        &data,
        &[
            "--admin-token",
            TOKEN,
            "--sample=false",
            "--health-max-devices",
            &bound,
            "--auto-rollback-threshold",
            "0.5",
        ],
    );
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let base = server.url("/manifest");
    let mut flooders = Vec::new();
    for worker in 0..32_usize {
        let (stop, sent, base, ids) = (stop.clone(), sent.clone(), base.clone(), ids.clone());
        flooders.push(tokio::spawn(async move {
            let http = client();
            let mut n = worker * 10_000_000;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let failed = format!("\"{}\", \"{}\"", ids[0], ids[1]);
                let _ = http
                    .get(&base)
                    .header("expo-protocol-version", "1")
                    .header("expo-platform", "ios")
                    .header("expo-runtime-version", runtime)
                    .header("expo-channel-name", "production")
                    .header("accept", "application/expo+json")
                    .header("expo-embedded-update-id", EMBEDDED)
                    .header("expo-current-update-id", EMBEDDED)
                    .header("eas-client-id", client_id(n))
                    .header("expo-recent-failed-update-ids", failed)
                    .send()
                    .await;
                sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }
    // Let the flood build up, then act as the operator.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let dist = synthetic_export(&work.path().join("next"), 3_000, runtime);
    let timed = |mut command: std::process::Command| {
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let output = command.output().unwrap();
            (output, started.elapsed())
        })
    };
    let mut command = backend.bin(&data);
    command.arg("publish").arg(&dist).args([
        "--channel",
        "production",
        "--platform",
        "ios",
        "--brotli-quality",
        "1",
        "-m",
        "during the flood",
    ]);
    let (publish, took) = timed(command).await.unwrap();
    assert!(
        publish.status.success(),
        "{}",
        String::from_utf8_lossy(&publish.stderr)
    );
    assert!(took < Duration::from_secs(15), "publish took {took:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut command = backend.bin(&data);
    command.args([
        "rollback",
        "--channel",
        "production",
        "--runtime-version",
        runtime,
    ]);
    let (rollback, took) = timed(command).await.unwrap();
    assert!(
        rollback.status.success(),
        "{}",
        String::from_utf8_lossy(&rollback.stderr)
    );
    assert!(took < Duration::from_secs(15), "rollback took {took:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for flooder in flooders {
        flooder.await.unwrap();
    }
    let total = sent.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("{total} forged reports sent by 32 clients");
    // Each from a fresh id: several times the bound, whatever the machine's speed.
    assert!(
        total > 3 * usize::try_from(BOUND).unwrap(),
        "not a flood: {total} requests"
    );
    // The queued reports are written within a few flushes; no update ever passes the
    // bound meanwhile.
    let deadline = Instant::now() + Duration::from_secs(30);
    let fullest = loop {
        let mut fullest = 0;
        for update in listed(backend, &data) {
            let rows = update["health"]["served"].as_u64().unwrap();
            assert!(rows <= BOUND, "{rows} rows for {}", update["id"]);
            fullest = fullest.max(rows);
        }
        if fullest == BOUND || Instant::now() > deadline {
            break fullest;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(fullest, BOUND, "the flood reached the bound");
    // The charts of every update after the flood: a bounded number of points that add up to
    // the bounded rows, answered at once.
    for update in listed(backend, &data) {
        let id = update["id"].as_str().unwrap();
        for range in [String::new(), format!("?from=0&to={}", i64::MAX)] {
            let started = Instant::now();
            let shown = admin_get(&server, &format!("/admin/updates/{id}/health{range}")).await;
            assert!(started.elapsed() < Duration::from_secs(5), "{range}");
            let points = shown["series"]["served"].as_array().unwrap();
            assert!((1..=96).contains(&points.len()), "{} points", points.len());
            let sum: u64 = points.iter().map(|n| n.as_u64().unwrap()).sum();
            assert_eq!(sum, shown["health"]["served"].as_u64().unwrap(), "{range}");
        }
    }
}

on_every_backend!(async the_health_route_charts_counts_and_the_automatic_rollback);

/// `GET /admin/updates/{id}/health`: the totals, the counts over time (each install once per
/// event, in at most 96 buckets, even for a range of every millisecond there is) and the
/// automatic rollback that happened; bad ids and ranges are JSON 4xx.
async fn the_health_route_charts_counts_and_the_automatic_rollback(backend: &Backend) {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let (runtime, first, second) = publish_two(backend, work.path(), &data);
    let server = backend.server(
        &data,
        &[
            "--admin-token",
            TOKEN,
            "--sample=false",
            "--auto-rollback-threshold",
            "0.5",
            "--auto-rollback-min-devices",
            "4",
        ],
    );
    let server = &server;
    let health = |id: &str, query: &str| {
        let path = format!("/admin/updates/{id}/health{query}");
        async move { admin_get(server, &path).await }
    };
    // Before any report: zeros, the policy, judged, nothing rolled back.
    let before = health(&second, "").await;
    let series = &before["series"];
    let count = series["count"].as_u64().unwrap();
    assert!((1..=96).contains(&count), "{before}");
    assert!(series["served"].as_array().unwrap().iter().all(|n| n == 0));
    assert_eq!(before["auto_rollback"]["enabled"], true);
    assert_eq!(before["auto_rollback"]["threshold"], 0.5);
    assert_eq!(before["auto_rollback"]["min_devices"], 4);
    assert_eq!(before["auto_rollback"]["judged"], true);
    assert!(before["auto_rollback"]["rolled_back"].is_null());

    // Six installs are served the update; two run it, four fail on it (and ask again).
    install(&[server], &runtime, 0..6).await;
    wait_for_served(server, &second, 6).await;
    for _ in 0..2 {
        for n in 0..2 {
            ask(server, &runtime, &Device::running(n, &second)).await;
        }
        for n in 2..6 {
            ask(server, &runtime, &Device::failed_on(n, &second)).await;
        }
    }
    wait_for_health(server, &second, (6, 2, 4)).await;
    // The automatic rollback serves a copy of the first update.
    let deadline = Instant::now() + Duration::from_secs(30);
    let after = loop {
        let shown = health(&second, "").await;
        if !shown["auto_rollback"]["rolled_back"].is_null() {
            break shown;
        }
        assert!(Instant::now() < deadline, "no automatic rollback: {shown}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let rolled_back = &after["auto_rollback"]["rolled_back"];
    let copy = served_id(server, &runtime).await;
    assert_eq!(rolled_back["rollback_id"], copy.as_str(), "{after}");
    assert!(rolled_back["at"].as_i64().unwrap() > after["created_at"].as_i64().unwrap_or(0));
    // The counts in the message are those of the batch that made it fire (at least 4
    // devices, half of them failed), which depends on how the reports were batched.
    let message = rolled_back["message"].as_str().unwrap();
    assert!(
        message.starts_with("automatic rollback: ")
            && message.ends_with(&format!("devices failed on {second}")),
        "{message}"
    );
    assert_eq!(after["health"]["failed"], 4);
    let sum = |name: &str| -> u64 {
        after["series"][name]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_u64().unwrap())
            .sum()
    };
    assert_eq!((sum("served"), sum("launched"), sum("failed")), (6, 2, 4));
    // The copy is never judged; the first update was never rolled back.
    let copy_state = health(&copy, "").await;
    assert_eq!(copy_state["auto_rollback"]["judged"], false);
    assert!(copy_state["auto_rollback"]["rolled_back"].is_null());
    assert!(health(&first, "").await["auto_rollback"]["rolled_back"].is_null());

    // Every millisecond there is, in a bounded number of points, answered at once.
    let started = Instant::now();
    let huge = health(&second, &format!("?from=0&to={}", i64::MAX)).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    let count = huge["series"]["count"].as_u64().unwrap();
    assert!((1..=96).contains(&count), "{count}");
    assert_eq!(
        huge["series"]["served"].as_array().unwrap().len(),
        usize::try_from(count).unwrap()
    );
    // A range before the update: all zeros.
    let empty = health(&second, "?from=0&to=1000").await;
    assert!(
        empty["series"]["served"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n == 0)
    );

    for (path, status) in [
        (
            "/admin/updates/not-an-id/health".to_owned(),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/admin/updates/{}/health", uuid::Uuid::new_v4()),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/admin/updates/{second}/health?from=10&to=5"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/admin/updates/{second}/health?from=-5"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/admin/updates/{second}/health?from=soon"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/admin/updates/{second}/health?to=99999999999999999999"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/admin/updates/{second}/health?buckets=5000"),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let response = client()
            .get(server.url(&path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{path}");
        let body: Value = response.json().await.unwrap();
        let error = &body["error"];
        assert!(
            error["code"].is_string() && error["message"].is_string(),
            "{path}: {body}"
        );
        if path.contains("from=10") {
            assert_eq!(error["parameter"], "to", "{body}");
        }
        if path.contains("from=-5") {
            assert_eq!(error["parameter"], "from", "{body}");
        }
    }
    let unauthorized = client()
        .get(server.url(&format!("/admin/updates/{second}/health")))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
}
