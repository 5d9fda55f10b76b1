//! The S3 server going away: a publish whose blob storage disappears fails with a clear
//! error and leaves no partial update; once the storage is back, running it again succeeds.
//!
//! The storage "stops" by closing a loopback TCP proxy in front of the test S3 server (see
//! [`common::proxy`]), so other tests sharing it are not disturbed.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

mod common;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::proxy::Proxy;
use common::{Backend, run_json, synthetic_export};

/// The address of an `http://host:port` endpoint.
fn address(endpoint: &str) -> SocketAddr {
    endpoint
        .strip_prefix("http://")
        .unwrap()
        .trim_end_matches('/')
        .parse()
        .unwrap()
}

#[test]
fn a_publish_losing_its_blob_storage_fails_cleanly_and_succeeds_when_it_is_back() {
    let Some(backend) = Backend::s3() else { return };
    let bucket = backend.bucket.as_ref().unwrap();
    let upstream = address(&bucket.endpoint);
    let mut proxy = Proxy::start("127.0.0.1:0".parse().unwrap(), upstream);
    let proxied = format!("http://{}", proxy.address);
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    // Large enough that precompression takes a while: the storage goes away meanwhile.
    let dist = synthetic_export(work.path(), 400_000, "1.0.0");
    let publish = || {
        let mut command = common::bin(&data);
        command
            .env("EXPO_UPDATE_SERVER_STORAGE", &bucket.url)
            .env("AWS_ENDPOINT_URL", &proxied)
            .arg("publish")
            .arg(&dist)
            .args(["--channel", "production"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    };

    let started = Instant::now();
    let child = publish().spawn().unwrap();
    std::thread::sleep(Duration::from_millis(700));
    proxy.stop();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "the publish succeeded although the storage went away ({:?} in)",
        started.elapsed()
    );
    assert!(
        stderr.contains(&format!("blob storage {}", bucket.url)),
        "the error does not name the storage: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_mins(2),
        "gave up only after {:?}",
        started.elapsed()
    );
    let listed = run_json(backend.bin(&data).arg("list"));
    assert_eq!(
        listed.as_array().unwrap().len(),
        0,
        "partial update: {listed:#}"
    );

    // The storage is back: the rerun completes, and every blob it references is stored.
    let _proxy = Proxy::start(proxy.address, upstream);
    let output = publish().output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listed = run_json(backend.bin(&data).arg("list"));
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let names = backend.blob_names(&data);
    for update in listed.as_array().unwrap() {
        let id = update["id"].as_str().unwrap();
        let shown = run_json(backend.bin(&data).args(["show", id]));
        let launch = common::hex_of_manifest_hash(shown["launch_asset"]["hash"].as_str().unwrap());
        assert!(names.contains(&launch), "{launch} missing from {names:?}");
    }
}
