//! `kill -9` during `publish`, at random points over its whole duration, never leaves a
//! partial update visible, and running it again completes it.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Backend, decode, hex_of_manifest_hash, run_json, sha256_hex, synthetic_export};
use rand::Rng as _;
use serde_json::Value;

/// How many kills (at least 20); `KILL_POINTS` raises it.
fn kill_points() -> usize {
    std::env::var("KILL_POINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
        .max(20)
}

fn publish_command(backend: &Backend, data: &Path, dist: &Path) -> std::process::Command {
    let mut command = backend.bin(data);
    command
        .arg("publish")
        .arg(dist)
        .args(["--channel", "production", "--message", "killed?"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// Checks that what `list` shows is whole: no update, or every platform of one publish,
/// each with all its assets stored and intact.
fn assert_no_partial_update(backend: &Backend, data: &Path) -> usize {
    let list = run_json(backend.bin(data).arg("list"));
    let updates = list.as_array().unwrap();
    assert!(
        updates.len().is_multiple_of(2),
        "a publish of two platforms is visible by halves: {list:#}"
    );
    for update in updates {
        let id = update["id"].as_str().unwrap();
        let shown = run_json(backend.bin(data).args(["show", id]));
        let assets: Vec<&Value> = std::iter::once(&shown["launch_asset"])
            .chain(shown["assets"].as_array().unwrap())
            .collect();
        assert_eq!(assets.len(), 3, "{shown:#}");
        for asset in assets {
            let hash = hex_of_manifest_hash(asset["hash"].as_str().unwrap());
            let identity = backend
                .read_blob(data, &hash)
                .unwrap_or_else(|| panic!("blob {hash} of visible update {id} is missing"));
            assert_eq!(sha256_hex(&identity), hash);
            for (suffix, encoding) in [("br", "br"), ("gz", "gzip")] {
                if let Some(bytes) = backend.read_blob(data, &format!("{hash}.{suffix}")) {
                    assert_eq!(decode(Some(encoding), &bytes), identity, "{hash}.{suffix}");
                }
            }
        }
    }
    updates.len()
}

on_every_backend!(kill_9_during_publish_never_shows_a_partial_update);

fn kill_9_during_publish_never_shows_a_partial_update(backend: &Backend) {
    let work = tempfile::tempdir().unwrap();
    // Big enough that brotli 11 takes a while: kills land in every phase.
    let dist = synthetic_export(work.path(), 120_000, "1.0.0");

    // How long a whole publish takes here.
    let calibration = work.path().join("calibration");
    let start = Instant::now();
    assert!(
        publish_command(backend, &calibration, &dist)
            .status()
            .unwrap()
            .success()
    );
    let full = start.elapsed();
    assert_eq!(assert_no_partial_update(backend, &calibration), 2);

    let mut rng = rand::rng();
    let mut generation = 0;
    let mut data = work.path().join("data-0");
    // A fresh store per generation too (the calibration used `backend`'s).
    let mut current = backend.fresh();
    let (mut killed_before_commit, mut finished_before_kill) = (0, 0);
    for _ in 0..kill_points() {
        let delay = Duration::from_micros(
            rng.random_range(0..=u64::try_from(full.as_micros()).unwrap() * 11 / 10),
        );
        let mut child = publish_command(&current, &data, &dist).spawn().unwrap();
        std::thread::sleep(delay);
        let finished = child.try_wait().unwrap().is_some();
        child.kill().ok(); // SIGKILL; an error means it had already exited
        child.wait().unwrap();
        // The database may never have been created if the kill came very early.
        if !current.store_exists(&data) {
            killed_before_commit += 1;
            continue;
        }
        let visible = assert_no_partial_update(&current, &data);
        if visible == 0 {
            killed_before_commit += 1;
        } else {
            // It completed: go on with a fresh data directory, to kill a publish mid-way again.
            finished_before_kill += usize::from(finished);
            generation += 1;
            data = work.path().join(format!("data-{generation}"));
            current = backend.fresh();
        }
    }
    eprintln!(
        "{} kills over {full:?}: {killed_before_commit} left no update, {} completed \
         ({finished_before_kill} had exited before the kill)",
        kill_points(),
        kill_points() - killed_before_commit
    );
    assert!(killed_before_commit > 0, "no kill landed before the commit");

    // A rerun completes what was killed.
    assert!(
        publish_command(&current, &data, &dist)
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(assert_no_partial_update(&current, &data), 2);
}

on_every_backend!(kill_9_during_gc_keeps_every_served_asset_downloadable);

/// `kill -9` during `gc`, at random points: every update still listed has all its bytes,
/// and `check` downloads every served asset with the right hash; the next `gc` finishes
/// what the killed one left.
fn kill_9_during_gc_keeps_every_served_asset_downloadable(backend: &Backend) {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let mut rng = rand::rng();
    let mut publishes = 0;
    let gc = |data: &Path| {
        let mut command = backend.bin(data);
        command
            .args(["gc", "--older-than", "0s"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    };
    let mut full = Duration::from_millis(200);
    for round in 0..kill_points() / 4 {
        // Updates with distinct bundles, so the collection has many blobs to delete.
        for _ in 0..6 {
            publishes += 1;
            let dist = synthetic_export(
                &work.path().join(format!("export-{publishes}")),
                1_000 + publishes * 37,
                "1.0.0",
            );
            run_json(backend.bin(&data).args(["publish"]).arg(&dist).args([
                "--channel",
                "production",
                "--brotli-quality",
                "1",
            ]));
        }
        if round == 0 {
            // How long a whole collection takes here (it collects the first publishes).
            let started = Instant::now();
            assert!(gc(&data).status().unwrap().success());
            full = started.elapsed();
            continue;
        }
        let delay = Duration::from_micros(
            rng.random_range(0..=u64::try_from(full.as_micros()).unwrap() * 12 / 10),
        );
        let mut child = gc(&data).spawn().unwrap();
        std::thread::sleep(delay);
        child.kill().ok(); // SIGKILL; an error means it had already exited
        child.wait().unwrap();
        assert_no_partial_update(backend, &data);
        check_downloads_everything(backend, &data);
    }
    // The next collection finishes (a pending deletion of a killed one included).
    assert!(gc(&data).status().unwrap().success());
    assert_no_partial_update(backend, &data);
    check_downloads_everything(backend, &data);
}

/// Serves `data` and runs `check` on both platforms: every manifest and every asset in
/// every encoding downloads with the right hash.
fn check_downloads_everything(backend: &Backend, data: &Path) {
    let server = backend.server(data, &["--sample=false"]);
    let output = backend
        .bin(data)
        .args(["check", &server.base, "--runtime-version", "1.0.0"])
        .args(["--channel", "production"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains(" 0 error(s), 0 warning(s)"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
