//! The command line on a temporary data directory: publish, list, show, republish, rollback.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]
#![allow(
    clippy::too_many_lines,
    clippy::case_sensitive_file_extension_comparisons,
    reason = "a scenario reads best as one function; blob file names are ours, lower-case"
)]

mod common;

use std::path::Path;

use common::{Backend, bin, run_json, run_ok, sample_export, synthetic_export};
use serde_json::Value;

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect()
}

on_every_backend!(publish_list_show_republish_rollback);

fn publish_list_show_republish_rollback(backend: &Backend) {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let dist = synthetic_export(work.path(), 20_000, "1.0.0");

    let before = now_ms();
    let published = run_json(backend.bin(&data).args(["publish"]).arg(&dist).args([
        "--channel",
        "production",
        "--message",
        "first",
    ]));
    let after = now_ms();
    let published = published.as_array().unwrap().clone();
    assert_eq!(published.len(), 2, "one update per platform");
    for update in &published {
        let created = update["created_at"].as_i64().unwrap();
        assert!(
            (before..=after + 1).contains(&created),
            "createdAt is the publish time"
        );
        assert_eq!(
            update["runtime_version"], "1.0.0",
            "taken from app-config.json"
        );
        assert_eq!(update["channel"], "production");
        assert_eq!(update["asset_count"], 3);
        assert_eq!(update["group_id"], published[0]["group_id"]);
    }

    // Identical assets are stored once: 2 bundles + 1 png + 1 font = 4 identity files.
    let identity_files = |data: &Path| {
        backend
            .blob_names(data)
            .into_iter()
            .filter(|f| !f.contains('.'))
            .count()
    };
    assert_eq!(identity_files(&data), 4);
    // Bundles are stored with br and gzip variants; the PNG with none.
    assert!(backend.blob_names(&data).iter().any(|f| f.ends_with(".br")));
    assert!(backend.blob_names(&data).iter().any(|f| f.ends_with(".gz")));

    // Publishing the same export again stores nothing new.
    let second = run_json(backend.bin(&data).args(["publish"]).arg(&dist).args([
        "--channel",
        "production",
        "--platform",
        "ios",
        "-m",
        "second",
    ]));
    assert_eq!(second.as_array().unwrap().len(), 1);
    assert_eq!(second[0]["platform"], "ios");
    assert_eq!(identity_files(&data), 4);

    let list = run_json(backend.bin(&data).args(["list"]));
    assert_eq!(list.as_array().unwrap().len(), 3);
    assert_eq!(list[0]["id"], second[0]["id"], "newest first");

    let table = run_ok(backend.bin(&data).args(["list"]));
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.starts_with("ID"), "{table}");
    assert!(
        table.contains("production") && table.contains("second"),
        "{table}"
    );

    let ios_id = second[0]["id"].as_str().unwrap().to_owned();
    let shown = run_json(backend.bin(&data).args(["show", &ios_id]));
    assert_eq!(shown["id"], ios_id.as_str());
    assert_eq!(shown["extra"]["expoClient"]["name"], "Synthetic");
    assert_eq!(
        shown["launch_asset"]["content_type"],
        "application/javascript"
    );
    let extensions: Vec<&str> = shown["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["file_extension"].as_str().unwrap())
        .collect();
    assert_eq!(extensions, [".png", ".ttf"]);
    let text =
        String::from_utf8(run_ok(backend.bin(&data).args(["show", &ios_id])).stdout).unwrap();
    assert!(text.contains("runtime version  1.0.0"), "{text}");

    // Rollback (no target): the ios channel goes back to the first publish.
    let first_ios = published.iter().find(|u| u["platform"] == "ios").unwrap();
    let rolled = run_json(backend.bin(&data).args([
        "rollback",
        "--channel",
        "production",
        "--runtime-version",
        "1.0.0",
        "--platform",
        "ios",
    ]));
    assert_eq!(rolled[0]["republished_from"], first_ios["id"]);
    assert!(rolled[0]["created_at"].as_i64().unwrap() > second[0]["created_at"].as_i64().unwrap());
    assert_ne!(
        rolled[0]["id"], first_ios["id"],
        "a rollback is a new update"
    );

    // Rollback --to the second publish, then republish into another channel.
    let to = run_json(backend.bin(&data).args(["rollback", "--to", &ios_id]));
    assert_eq!(to[0]["republished_from"], ios_id.as_str());
    let promoted =
        run_json(
            backend
                .bin(&data)
                .args(["republish", &ios_id, "--channel", "staging"]),
        );
    assert_eq!(promoted[0]["channel"], "staging");
    assert_eq!(promoted[0]["message"], "second");

    // Rollback to embedded, on both platforms.
    let embedded = run_json(backend.bin(&data).args([
        "rollback",
        "--embedded",
        "--channel",
        "production",
        "--runtime-version",
        "1.0.0",
    ]));
    let kinds: Vec<&str> = embedded
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["rollback_to_embedded", "rollback_to_embedded"]);

    let all =
        run_json(
            backend
                .bin(&data)
                .args(["list", "--channel", "production", "--platform", "ios"]),
        );
    assert_eq!(ids(&all)[0], embedded[0]["id"].as_str().unwrap());
}

on_every_backend!(real_exports_share_their_identical_assets);

fn real_exports_share_their_identical_assets(backend: &Backend) {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let dist = sample_export();
    // A low brotli quality keeps unoptimized test builds quick; the bytes are checked the same.
    let first = run_json(backend.bin(&data).arg("publish").arg(&dist).args([
        "--channel",
        "production",
        "--brotli-quality",
        "4",
    ]));
    assert_eq!(first.as_array().unwrap().len(), 2);
    assert_eq!(first[0]["runtime_version"], "1.0.0");
    let identity_files = || {
        backend
            .blob_names(&data)
            .into_iter()
            .filter(|f| !f.contains('.'))
            .count()
    };
    assert_eq!(identity_files(), 4, "2 Hermes bundles and 2 PNGs");

    // The second export changes one line of JavaScript: new bundles, the same images.
    let v2 = dist.join("../../sample-export-v2/dist");
    let second = run_json(
        backend
            .bin(&data)
            .arg("publish")
            .arg(&v2)
            .args(["--channel", "production", "--brotli-quality", "4"])
            .args(["--runtime-version", "1.0.0", "--app-config"])
            .arg(dist.join("../app-config.json")),
    );
    assert_eq!(second.as_array().unwrap().len(), 2);
    assert_eq!(identity_files(), 6, "only the two new bundles were added");

    for update in second.as_array().unwrap() {
        let shown = run_json(
            backend
                .bin(&data)
                .args(["show", update["id"].as_str().unwrap()]),
        );
        assert_eq!(shown["extra"]["expoClient"]["slug"], "sample-app");
        assert_eq!(shown["assets"].as_array().unwrap().len(), 2);
        assert!(
            shown["assets"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a["content_type"] == "image/png")
        );
    }
}

on_every_backend!(refusals_are_clear);

fn refusals_are_clear(backend: &Backend) {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let dist = synthetic_export(work.path(), 1000, "1.0.0");

    let fail = |command: &mut std::process::Command| -> String {
        let output = command.output().unwrap();
        assert!(!output.status.success(), "{command:?} should fail");
        String::from_utf8(output.stderr).unwrap()
    };

    let err = fail(
        backend
            .bin(&data)
            .arg("publish")
            .arg(&dist)
            .args(["--runtime-version", "2.0.0"]),
    );
    assert!(err.contains("does not match the runtimeVersion"), "{err}");

    let err = fail(backend.bin(&data).arg("publish").arg(work.path()));
    assert!(err.contains("npx expo export"), "{err}");

    let err = fail(
        backend
            .bin(&data)
            .args(["show", "4d0e8a8b-1a5e-4f55-9c41-0bb8e6f4a111"]),
    );
    assert!(err.contains("no update with id"), "{err}");

    let err = fail(backend.bin(&data).args(["show", "not-a-uuid"]));
    assert!(err.contains("invalid value"), "{err}");

    let err = fail(
        backend
            .bin(&data)
            .args(["rollback", "--runtime-version", "1.0.0"]),
    );
    assert!(
        err.contains("no update in app default, channel default"),
        "{err}"
    );

    let err = fail(
        backend
            .bin(&data)
            .arg("publish")
            .arg(&dist)
            .args(["--channel", "bad\tname"]),
    );
    assert!(err.contains("channel"), "{err}");

    // Only one update exists: nothing to roll back to.
    run_ok(
        backend
            .bin(&data)
            .arg("publish")
            .arg(&dist)
            .args(["--platform", "android"]),
    );
    let err = fail(
        backend
            .bin(&data)
            .args(["rollback", "--runtime-version", "1.0.0"]),
    );
    assert!(err.contains("rollback --embedded"), "{err}");
}

#[test]
fn help_documents_every_setting() {
    let work = tempfile::tempdir().unwrap();
    let help = run_ok(bin(work.path()).args(["serve", "--help"]));
    let help = String::from_utf8(help.stdout).unwrap();
    for flag in [
        "--bind",
        "--public-url",
        "--trust-proxy",
        "--admin-token",
        "--signing-key",
        "--signing-cert",
        "--data-dir",
        "--config",
        "--log-format",
        "EXPO_UPDATE_SERVER_BIND",
        "EXPO_UPDATE_SERVER_SIGNING_KEY",
        "127.0.0.1:3000",
    ] {
        assert!(help.contains(flag), "serve --help lacks {flag}:\n{help}");
    }
}

on_every_backend!(rollouts_widen_and_revert);

fn rollouts_widen_and_revert(backend: &Backend) {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let dist = synthetic_export(work.path(), 1000, "1.0.0");
    let publish = |extra: &[&str]| {
        run_json(
            backend
                .bin(&data)
                .arg("publish")
                .arg(&dist)
                .args(["--platform", "ios", "--brotli-quality", "1"])
                .args(extra),
        )
    };
    let base = publish(&[]);
    let canary = publish(&["--rollout", "10"]);
    assert_eq!(canary[0]["rollout_percent"], 10);
    let canary_id = canary[0]["id"].as_str().unwrap().to_owned();

    let widened = run_json(
        backend
            .bin(&data)
            .args(["rollout", &canary_id, "--percent", "50"]),
    );
    assert_eq!(widened["rollout_percent"], 50);
    let shown = run_json(backend.bin(&data).args(["show", &canary_id]));
    assert_eq!(shown["rollout_percent"], 50);

    let reverted = run_json(backend.bin(&data).args(["rollout", &canary_id, "--revert"]));
    assert_eq!(reverted[0]["republished_from"], base[0]["id"]);
    assert_eq!(reverted[0]["rollout_percent"], 100);
    let list = run_json(backend.bin(&data).args(["list"]));
    assert_eq!(list[0]["id"], reverted[0]["id"]);
    assert_eq!(list[1]["rollout_percent"], 0, "the reverted canary");

    for bad in [
        &["publish", "x", "--rollout", "0"][..],
        &["publish", "x", "--rollout", "101"],
        &["rollout", &canary_id],
        &["rollout", &canary_id, "--percent", "5", "--revert"],
    ] {
        let output = backend.bin(&data).args(bad).output().unwrap();
        assert!(!output.status.success(), "{bad:?}");
    }
    let output = backend
        .bin(&data)
        .args([
            "rollout",
            "4d0e8a8b-1a5e-4f55-9c41-0bb8e6f4a111",
            "--percent",
            "5",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stderr).contains("no update with id"));
}

on_every_backend!(gc_keeps_served_updates_and_races_publishes_safely);

/// `gc` with a publish of the same files running at the same time, over several rounds: every
/// visible update keeps every blob it references.
fn gc_keeps_served_updates_and_races_publishes_safely(backend: &Backend) {
    let work = tempfile::tempdir().unwrap();
    let exports: Vec<_> = (0..3)
        .map(|i| {
            let dir = work.path().join(format!("export-{i}"));
            // Different sizes: different bundles, the same PNG and font.
            synthetic_export(&dir, 2000 + i * 500, "1.0.0")
        })
        .collect();
    for round in 0..4 {
        let backend = backend.fresh();
        let data = work.path().join(format!("data-{round}"));
        let publish = |dist: &Path| {
            let mut command = backend.bin(&data);
            command
                .arg("publish")
                .arg(dist)
                .args(["--brotli-quality", "1", "--json"]);
            command
        };
        for dist in &exports {
            run_ok(&mut publish(dist));
        }
        // The first export's update is neither served nor the rollback target: its
        // bundles become garbage, while it is published again concurrently.
        let dry = run_json(
            backend
                .bin(&data)
                .args(["gc", "--older-than", "0s", "--dry-run"]),
        );
        assert_eq!(dry["updates"].as_array().unwrap().len(), 2, "{dry:#}");
        assert_eq!(
            dry["blobs"].as_array().unwrap().len(),
            2,
            "two bundles: {dry:#}"
        );
        let mut gc = backend.bin(&data);
        gc.args(["gc", "--older-than", "0s"]);
        let mut republish = publish(&exports[0]);
        let (gc, republish) = std::thread::scope(|s| {
            let gc = s.spawn(move || gc.output().unwrap());
            std::thread::sleep(std::time::Duration::from_millis(round * 40));
            let republish = s.spawn(move || republish.output().unwrap());
            (gc.join().unwrap(), republish.join().unwrap())
        });
        assert!(
            gc.status.success(),
            "{}",
            String::from_utf8_lossy(&gc.stderr)
        );
        assert!(
            republish.status.success(),
            "{}",
            String::from_utf8_lossy(&republish.stderr)
        );
        let names = backend.blob_names(&data);
        for update in run_json(backend.bin(&data).arg("list")).as_array().unwrap() {
            let shown = run_json(
                backend
                    .bin(&data)
                    .args(["show", update["id"].as_str().unwrap()]),
            );
            for asset in
                std::iter::once(&shown["launch_asset"]).chain(shown["assets"].as_array().unwrap())
            {
                let hex = common::hex_of_manifest_hash(asset["hash"].as_str().unwrap());
                assert!(
                    names.contains(&hex),
                    "round {round}: {hex} of {} is gone",
                    update["id"]
                );
            }
        }
    }
}

/// Two processes opening a fresh `SQLite` database at the same moment (a `serve` and a CLI
/// command right after installation) both succeed: migrations take turns.
#[test]
fn two_processes_opening_a_fresh_database_both_succeed() {
    for round in 0..12 {
        let data = tempfile::tempdir().unwrap();
        let children: Vec<std::process::Child> = (0..2)
            .map(|_| {
                bin(data.path())
                    .args(["list", "--json"])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let listed: Value = serde_json::from_slice(&output.stdout).unwrap();
            assert_eq!(listed, Value::Array(vec![]));
        }
    }
}
