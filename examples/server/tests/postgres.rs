//! `PostgreSQL` going away: a publish whose database disappears fails with a clear error and
//! leaves no partial update; once the database is back, running it again succeeds.
//!
//! The database "stops" by closing a loopback TCP proxy in front of it (every connection
//! cut, new ones refused; see [`common::proxy`]), so other tests sharing the server are not
//! disturbed.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

mod common;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::proxy::Proxy;
use common::{Backend, TestDatabase, run_json, synthetic_export, with_database};

fn upstream(url: &str) -> SocketAddr {
    let host_port = url
        .split("://")
        .nth(1)
        .unwrap()
        .rsplit_once('@')
        .map_or_else(|| url.split("://").nth(1).unwrap(), |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap();
    host_port.parse().unwrap()
}

/// `url` pointing at `address` instead of the database server.
fn through(url: &str, address: SocketAddr) -> String {
    url.replace(&upstream(url).to_string(), &address.to_string())
}

#[test]
fn a_publish_losing_its_database_fails_cleanly_and_succeeds_when_it_is_back() {
    let Some(db) = TestDatabase::create() else {
        return;
    };
    let direct = Backend::on_database(db);
    let url = direct.database_url().unwrap().to_owned();
    let mut proxy = Proxy::start("127.0.0.1:0".parse().unwrap(), upstream(&url));
    let proxied = through(&url, proxy.address);
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    // Large enough that precompression takes a while: the database goes away meanwhile.
    let dist = synthetic_export(work.path(), 400_000, "1.0.0");
    let publish = || {
        let mut command = common::bin(&data);
        command
            .env("EXPO_UPDATE_SERVER_DATABASE_URL", &proxied)
            .arg("publish")
            .arg(&dist)
            .args(["--channel", "production"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    };

    let started = Instant::now();
    let child = publish().spawn().unwrap();
    // The publish connects (and migrates) first, then compresses for a while.
    std::thread::sleep(Duration::from_millis(700));
    proxy.stop();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "the publish succeeded although the database went away ({:?} in)",
        started.elapsed()
    );
    assert!(
        stderr.contains("is unreachable") && stderr.contains(&proxy.address.to_string()),
        "unclear error: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let listed = run_json(direct.bin(&data).arg("list"));
    assert_eq!(
        listed.as_array().unwrap().len(),
        0,
        "partial update: {listed:#}"
    );

    // Refused outright: a quick, clear error too.
    let start = Instant::now();
    let output = common::bin(&data)
        .env("EXPO_UPDATE_SERVER_DATABASE_URL", &proxied)
        .arg("list")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("is unreachable"), "{stderr}");
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "{:?}",
        start.elapsed()
    );
    assert!(!stderr.contains(&url), "the URL is shown whole: {stderr}");

    // The database is back: the rerun completes, reusing the blobs already stored.
    let _proxy = Proxy::start(proxy.address, upstream(&url));
    let output = publish().output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listed = run_json(direct.bin(&data).arg("list"));
    assert_eq!(listed.as_array().unwrap().len(), 2);
}

#[test]
fn database_urls_are_rewritten_for_the_test_databases() {
    assert_eq!(
        with_database(
            "postgres://u:p@127.0.0.1:5432/expo_test?sslmode=disable",
            "t1"
        ),
        "postgres://u:p@127.0.0.1:5432/t1?sslmode=disable"
    );
    assert_eq!(
        through(
            "postgres://postgres@127.0.0.1:5432/x",
            "127.0.0.1:9".parse().unwrap()
        ),
        "postgres://postgres@127.0.0.1:9/x"
    );
}
