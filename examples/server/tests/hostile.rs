//! Hostile clients against the real server: slowloris, slow readers of a large asset, a
//! flood of made-up scopes, forged forwarded hosts, more requests and connections than the
//! caps, a stuck request at shutdown. The test raises its own open-file limit to the hard
//! limit (it holds 2,000 sockets at once).
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]
#![allow(
    clippy::too_many_lines,
    reason = "a scenario reads best as one function"
)]

mod common;

use std::io::{Read as _, Write as _};
use std::time::{Duration, Instant};

use common::{Server, bin, run_json, synthetic_export};
use futures_util::StreamExt as _;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const TOKEN: &str = "0123456789abcdef-test-token";
const SAMPLE_RUNTIME_VERSION: &str = "0.0.0-sample";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Raises this process's open-file limit to the hard limit; panics when that is below
/// `needed`.
fn raise_fd_limit(needed: u64) {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).unwrap();
    }
    assert!(
        hard >= needed,
        "this test needs {needed} open files; the hard limit is {hard} (raise it with ulimit -Hn)"
    );
}

fn address(server: &Server) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

fn manifest(server: &Server, runtime_version: &str) -> reqwest::RequestBuilder {
    client()
        .get(server.url("/manifest"))
        .header("expo-protocol-version", "1")
        .header("expo-platform", "ios")
        .header("expo-runtime-version", runtime_version)
}

/// The value of the one sample whose line holds every `needle` (0 when there is none).
fn metric(text: &str, needles: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#') && needles.iter().all(|n| l.contains(n)))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

/// The `launchAsset.url` of a manifest answer (a multipart body).
fn launch_asset_url(body: &str) -> String {
    let start = body.find('{').unwrap();
    let end = body.rfind('}').unwrap();
    let json: Value = serde_json::from_str(&body[start..=end]).unwrap();
    json["launchAsset"]["url"].as_str().unwrap().to_owned()
}

/// Whether a non-blocking socket was closed by the other end.
fn closed(stream: &mut std::net::TcpStream) -> bool {
    let mut buf = [0_u8; 256];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            // A response (say, a 408) before the close: keep reading.
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn slowloris_connections_are_closed_while_real_requests_are_answered_at_once() {
    const CONNECTIONS: usize = 2000;
    raise_fd_limit(CONNECTIONS as u64 + 512);
    let data = tempfile::tempdir().unwrap();
    // The defaults: a request head must be complete within 10 s.
    let server = Server::start(data.path(), &[]);
    let opened = Instant::now();
    let mut slow = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let stream = std::net::TcpStream::connect(address(&server)).unwrap();
        stream.set_nonblocking(true).unwrap();
        slow.push(stream);
    }
    let head = b"GET /health HTTP/1.1\r\nHost: slow\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    let mut worst = Duration::ZERO;
    // One header byte from every connection every 2 s, for 16 s.
    for tick in 0..8 {
        for stream in &mut slow {
            let _ = stream.write(&head[tick..=tick]);
        }
        if (1..5).contains(&tick) {
            let started = Instant::now();
            let health = client().get(server.url("/health")).send().await.unwrap();
            assert_eq!(health.status(), StatusCode::OK);
            let manifest = manifest(&server, SAMPLE_RUNTIME_VERSION)
                .send()
                .await
                .unwrap();
            assert_eq!(manifest.status(), StatusCode::OK);
            manifest.bytes().await.unwrap();
            worst = worst.max(started.elapsed());
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    assert!(
        worst < Duration::from_secs(1),
        "/health and a manifest took {worst:?} with {CONNECTIONS} slowloris connections"
    );
    assert!(opened.elapsed() >= Duration::from_secs(14));
    let open = slow
        .iter_mut()
        .map(|s| !closed(s))
        .filter(|open| *open)
        .count();
    assert_eq!(
        open,
        0,
        "{open} of {CONNECTIONS} connections still open {:?} after they opened",
        opened.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_keep_alive_connections_are_closed_after_the_idle_timeout() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &["--idle-timeout", "2s"]);
    let mut stream = tokio::net::TcpStream::connect(address(&server))
        .await
        .unwrap();
    let request = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut buf = vec![0_u8; 4096];
    // Requests 1 s apart keep the connection.
    for _ in 0..3 {
        stream.write_all(request).await.unwrap();
        let n = stream.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // Then, idle: closed after 2 s.
    let idle = Instant::now();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(0) | Err(_))), "{read:?}");
    let waited = idle.elapsed();
    assert!(
        waited < Duration::from_secs(5),
        "closed after {waited:?} idle"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_readers_of_a_large_asset_hold_bounded_memory() {
    const READERS: usize = 500;
    /// The bound asserted: the stream budget (32 MiB) plus per-connection state.
    const BOUND: u64 = 96 * 1024 * 1024;
    raise_fd_limit(READERS as u64 + 512);
    let work = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let dist = synthetic_export(work.path(), 3 * 1024 * 1024, "1.0.0");
    run_json(bin(data.path()).args(["publish"]).arg(&dist).args([
        "--channel",
        "default",
        "--message",
        "large",
    ]));
    // Nothing in asset memory: every download streams from the blob store.
    let server = Server::start(
        data.path(),
        &["--asset-memory-mb", "0", "--stream-memory-mb", "32"],
    );
    let body = manifest(&server, "1.0.0")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let url = launch_asset_url(&body);
    let path = url.split_once("/assets/").unwrap().1.to_owned();
    let full = client()
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(full.len() > 2 * 1024 * 1024, "{}", full.len());

    let pid = server.child.id();
    let status = |field: &str| -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let line = status.lines().find(|l| l.starts_with(field)).unwrap();
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
            * 1024
    };
    let baseline = status("VmRSS:");
    let request = format!("GET /assets/{path} HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut readers = Vec::with_capacity(READERS);
    for _ in 0..READERS {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        // A small window, so the bytes wait in the server, not in this process's kernel.
        socket.set_recv_buffer_size(4096).unwrap();
        let mut stream = socket
            .connect(address(&server).parse().unwrap())
            .await
            .unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        readers.push(stream);
    }
    // Each reads 1 KiB every 200 ms: slow, never stopped.
    let mut peak = baseline;
    let mut buf = vec![0_u8; 1024];
    for _ in 0..25 {
        for stream in &mut readers {
            let _ = tokio::time::timeout(Duration::from_millis(1), stream.read(&mut buf)).await;
        }
        peak = peak.max(status("VmRSS:"));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    peak = peak.max(status("VmHWM:").min(peak.max(status("VmRSS:"))));
    let grown = peak.saturating_sub(baseline);
    assert!(
        grown < BOUND,
        "{READERS} slow readers grew the server by {} MiB (bound {} MiB)",
        grown >> 20,
        BOUND >> 20
    );
    // The server still answers everything else at once.
    let started = Instant::now();
    let health = client().get(server.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_made_up_scopes_after_a_publish_leaves_the_real_scope_cached() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    // Right after a publish (here: the sample, at startup) nothing is cached yet.
    let statuses = futures_util::stream::iter(0..=10_000)
        .map(|n| {
            let request = manifest(&server, &format!("made-up-{n}"));
            async move { request.send().await.unwrap().status() }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    assert!(statuses.iter().all(|s| *s == StatusCode::NO_CONTENT));
    let misses = |text: &str| metric(text, &["expo_manifest_cache_total{", r#"result="miss""#]);
    let before = misses(&server.metrics_text().await);
    assert!(before >= 10_001.0, "{before}");
    for _ in 0..3 {
        let response = manifest(&server, SAMPLE_RUNTIME_VERSION)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let after = misses(&server.metrics_text().await);
    assert!(
        (after - before - 1.0).abs() < 0.5,
        "the real scope must be loaded once, then served from the cache ({} loads)",
        after - before
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn forwarded_hosts_are_the_last_hops_and_alternating_ones_are_built_once() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &["--trust-proxy"]);
    let ask = |host: &'static str| {
        manifest(&server, SAMPLE_RUNTIME_VERSION)
            .header("x-forwarded-host", host)
            .header("x-forwarded-proto", "http, https")
    };
    let body = ask("evil.example, good.example")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let url = launch_asset_url(&body);
    assert!(url.starts_with("https://good.example/assets/"), "{url}");

    let builds = |text: &str| metric(text, &["expo_manifest_builds_total"]);
    let before = builds(&server.metrics_text().await);
    for n in 0..100 {
        let host = if n % 2 == 0 { "a.example" } else { "b.example" };
        let body = ask(host).send().await.unwrap().text().await.unwrap();
        assert!(launch_asset_url(&body).starts_with(&format!("https://{host}/")));
    }
    let built = builds(&server.metrics_text().await) - before;
    assert!(
        built <= 2.0,
        "{built} manifests built for two alternating hosts"
    );

    // With an allow-list, other hosts get the public URL.
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(
        data.path(),
        &["--trust-proxy", "--forwarded-host", "good.example"],
    );
    for (host, expected) in [
        ("good.example", "http://good.example/"),
        ("evil.example", &server.url("/")),
    ] {
        let body = manifest(&server, SAMPLE_RUNTIME_VERSION)
            .header("x-forwarded-host", host)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let url = launch_asset_url(&body);
        assert!(url.starts_with(expected), "{host}: {url}");
    }
}

/// Opens a connection holding an admin request in flight: its body never arrives.
async fn stuck_request(server: &Server) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(address(server))
        .await
        .unwrap();
    let head = format!(
        "POST /admin/rollback HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

#[tokio::test(flavor = "multi_thread")]
async fn past_the_caps_clients_get_503_with_retry_after() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(
        data.path(),
        &["--admin-token", TOKEN, "--max-in-flight", "2"],
    );
    let stuck = [stuck_request(&server).await, stuck_request(&server).await];
    tokio::time::sleep(Duration::from_millis(500)).await;
    let shed = client().get(server.url("/health")).send().await.unwrap();
    assert_eq!(shed.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(shed.headers()["retry-after"], "1");
    let body: Value = shed.json().await.unwrap();
    assert_eq!(body["error"]["code"], "overloaded", "{body}");
    drop(stuck);
    // Once they are gone, requests are served again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = client()
            .get(server.url("/health"))
            .send()
            .await
            .unwrap()
            .status();
        if status == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "still {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let text = server.metrics_text().await;
    assert!(metric(&text, &["expo_http_shed_total{", r#"reason="requests""#]) >= 1.0);

    // Connections past --max-connections get a 503 before their request is read.
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &["--max-connections", "3"]);
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(
            tokio::net::TcpStream::connect(address(&server))
                .await
                .unwrap(),
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The answer comes before the request is read (HTTP clients that insist on sending
    // first may report a closed connection instead), so read it raw.
    let mut shed = tokio::net::TcpStream::connect(address(&server))
        .await
        .unwrap();
    let _ = shed
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), shed.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    assert!(answer.contains("\r\nretry-after: 1\r\n"), "{answer}");
    let body: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "overloaded", "{body}");
    drop(idle);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = client()
        .get(server.url("/health"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_waits_for_a_stuck_request_only_until_its_deadline() {
    let data = tempfile::tempdir().unwrap();
    let mut server = Server::start(
        data.path(),
        &[
            "--admin-token",
            TOKEN,
            "--shutdown-timeout",
            "2s",
            "--body-timeout",
            "1h",
        ],
    );
    let _stuck = stuck_request(&server).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = nix::unistd::Pid::from_raw(i32::try_from(server.child.id()).unwrap());
    let asked = Instant::now();
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(20),
            "still running {:?} after SIGTERM",
            asked.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let took = asked.elapsed();
    assert!(status.success(), "{status}");
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(8),
        "stopped {took:?} after SIGTERM (deadline 2 s)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn health_details_metrics_access_and_asset_headers() {
    let data = tempfile::tempdir().unwrap();
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let metrics_bind = format!("127.0.0.1:{metrics_port}");
    let metrics_token = "metrics-0123456789abcdef";
    let server = Server::start(
        data.path(),
        &[
            "--admin-token",
            TOKEN,
            "--metrics-bind",
            &metrics_bind,
            "--metrics-token",
            metrics_token,
        ],
    );
    // The public gets ok / not ok; the admin token gets the details.
    let public: Value = client()
        .get(server.url("/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(public, serde_json::json!({ "status": "ok" }));
    let admin = server.admin_json("/health", TOKEN).await;
    assert_eq!(admin["database"], "ok", "{admin}");

    // /metrics is on its own address only, behind its token.
    let on_app_port = client().get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(on_app_port.status(), StatusCode::NOT_FOUND);
    let metrics_url = format!("http://{metrics_bind}/metrics");
    let anonymous = client().get(&metrics_url).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let wrong = client()
        .get(&metrics_url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let text = client()
        .get(&metrics_url)
        .bearer_auth(metrics_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("expo_http_requests_total"), "{text}");

    // Assets are neither sniffed nor run by browsers.
    let body = manifest(&server, SAMPLE_RUNTIME_VERSION)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let asset = client().get(launch_asset_url(&body)).send().await.unwrap();
    assert_eq!(asset.status(), StatusCode::OK);
    assert_eq!(asset.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        asset.headers()["content-security-policy"],
        "default-src 'none'; sandbox"
    );
}
