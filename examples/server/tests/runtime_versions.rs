//! Runtime versions per platform, as the Expo CLI computes them, and `publish --project`.
//!
//! The expected values were produced by the real `npx expo-updates runtimeversion:resolve
//! --platform ios|android` (expo-updates 55.0.33, expo 55.0.31, `@expo/config-plugins`
//! 55.0.12) on a blank SDK 55 app (`create-expo-app --template expo-template-blank@55.1.18`)
//! whose `app.json` held each config below. The fingerprint policy and `--project` run
//! a stand-in `npx` (`EXPO_UPDATE_SERVER_NPX`) that answers as the Expo CLI does and
//! records how it was called.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

mod common;

use std::path::{Path, PathBuf};

use common::{bin, run_json, sample_export};
use serde_json::{Value, json};

/// The app configs and what the Expo CLI resolved for (iOS, Android).
/// What the Expo CLI resolves for (iOS, Android), or part of its refusal.
type Expected = Result<(&'static str, &'static str), &'static str>;

fn cases() -> Vec<(&'static str, Value, Expected)> {
    vec![
        (
            "string",
            json!({"runtimeVersion": "1.2.3"}),
            Ok(("1.2.3", "1.2.3")),
        ),
        (
            "android override",
            json!({"runtimeVersion": "1.2.3", "android": {"runtimeVersion": "7"}}),
            Ok(("1.2.3", "7")),
        ),
        (
            "appVersion",
            json!({"version": "2.1.0", "runtimeVersion": {"policy": "appVersion"}}),
            Ok(("2.1.0", "2.1.0")),
        ),
        (
            "appVersion without a version",
            json!({"runtimeVersion": {"policy": "appVersion"}}),
            Ok(("1.0.0", "1.0.0")),
        ),
        (
            "nativeVersion",
            json!({"version": "2.1.0", "runtimeVersion": {"policy": "nativeVersion"},
                   "ios": {"buildNumber": "14"}, "android": {"versionCode": 42}}),
            Ok(("2.1.0(14)", "2.1.0(42)")),
        ),
        (
            "nativeVersion defaults and ios.version",
            json!({"version": "3.0.0", "runtimeVersion": {"policy": "nativeVersion"},
                   "ios": {"version": "3.0.1"}}),
            Ok(("3.0.1(1)", "3.0.0(1)")),
        ),
        (
            "a per-platform policy over a string",
            json!({"version": "4.0.0", "runtimeVersion": "x",
                   "ios": {"runtimeVersion": {"policy": "appVersion"}}}),
            Ok(("4.0.0", "x")),
        ),
        (
            "sdkVersion",
            json!({"sdkVersion": "55.0.0", "runtimeVersion": {"policy": "sdkVersion"}}),
            Ok(("exposdk:55.0.0", "exposdk:55.0.0")),
        ),
        (
            "unknown policy",
            json!({"runtimeVersion": {"policy": "bogus"}}),
            Err("not a valid runtimeVersion"),
        ),
        (
            "a number",
            json!({"runtimeVersion": 5}),
            Err("not a valid runtimeVersion"),
        ),
        (
            "fingerprint without --project",
            json!({"runtimeVersion": {"policy": "fingerprint"}}),
            Err("pass --project DIR"),
        ),
    ]
}

fn runtimes(report: &Value) -> (String, String) {
    let of = |platform: &str| {
        report["updates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["platform"] == platform)
            .unwrap()["runtime_version"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    (of("ios"), of("android"))
}

#[test]
fn each_policy_resolves_per_platform_as_the_expo_cli() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    for (name, config, expected) in cases() {
        let path = work.path().join("app-config.json");
        std::fs::write(&path, config.to_string()).unwrap();
        let output = bin(&data)
            .arg("publish")
            .arg(sample_export())
            .arg("--app-config")
            .arg(&path)
            .args(["--dry-run", "--json"])
            .output()
            .unwrap();
        match expected {
            Ok((ios, android)) => {
                assert!(
                    output.status.success(),
                    "{name}: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                let report: Value = serde_json::from_slice(&output.stdout).unwrap();
                assert_eq!(runtimes(&report), (ios.into(), android.into()), "{name}");
            }
            Err(message) => {
                let stderr = String::from_utf8_lossy(&output.stderr);
                assert!(!output.status.success(), "{name}");
                assert!(stderr.contains(message), "{name}: {stderr}");
            }
        }
    }
    assert!(!data.exists());

    // `--platform all` stores each platform under its own runtime version.
    let path = work.path().join("native.json");
    std::fs::write(&path, cases()[4].1.to_string()).unwrap();
    let published = run_json(
        bin(&data)
            .arg("publish")
            .arg(sample_export())
            .arg("--app-config")
            .arg(&path)
            .args(["--brotli-quality", "1"]),
    );
    let mut stored: Vec<(String, String)> = published
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["platform"].as_str().unwrap().to_owned(),
                u["runtime_version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    stored.sort();
    assert_eq!(
        stored,
        [
            ("android".to_owned(), "2.1.0(42)".to_owned()),
            ("ios".to_owned(), "2.1.0(14)".to_owned())
        ]
    );
    // A flag that contradicts the config for one platform is refused, naming the fix.
    let refused = bin(&data)
        .arg("publish")
        .arg(sample_export())
        .arg("--app-config")
        .arg(&path)
        .args(["--runtime-version", "2.1.0(14)", "--dry-run"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("runtimeVersion \"2.1.0(42)\"") && stderr.contains("gives android"),
        "{stderr}"
    );
}

/// A stand-in for `npx` answering `expo export`, `expo config` and `expo-updates
/// runtimeversion:resolve` as the Expo CLI does, logging each call (cwd and arguments).
fn fake_npx(dir: &Path, config: &Value, fail: bool) -> PathBuf {
    let script = dir.join("npx");
    let log = dir.join("npx.log");
    let config_file = dir.join("config.json");
    std::fs::write(&config_file, config.to_string()).unwrap();
    let fixture = sample_export();
    std::fs::write(
        &script,
        format!(
            r#"#!/bin/sh
echo "$(pwd) $*" >> '{log}'
{fail}
case "$1 $2" in
  "expo export")
    out=""; prev=""
    for arg in "$@"; do [ "$prev" = "--output-dir" ] && out="$arg"; prev="$arg"; done
    rm -rf "$out" && cp -r '{fixture}' "$out" ;;
  "expo config") cat '{config}' ;;
  "expo-updates runtimeversion:resolve")
    echo "some warning"
    echo "{{\"runtimeVersion\":\"fingerprint-of-$4\",\"fingerprintSources\":[],\"workflow\":\"managed\"}}" ;;
  *) exit 3 ;;
esac
"#,
            log = log.display(),
            fixture = fixture.display(),
            config = config_file.display(),
            fail = if fail {
                "echo 'CommandError: something broke' >&2; exit 1"
            } else {
                ""
            },
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    script
}

#[test]
fn project_exports_configures_and_resolves_fingerprints() {
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("app");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("package.json"), "{}").unwrap();
    let config = json!({"name": "app", "slug": "app",
        "runtimeVersion": {"policy": "fingerprint"}});
    let npx = fake_npx(work.path(), &config, false);
    let data = work.path().join("data");
    let published = run_json(
        bin(&data)
            .env("EXPO_UPDATE_SERVER_NPX", &npx)
            .arg("publish")
            .arg("--project")
            .arg(&project)
            .args(["--platform", "android", "--brotli-quality", "1"]),
    );
    assert_eq!(published.as_array().unwrap().len(), 1);
    assert_eq!(published[0]["platform"], "android");
    assert_eq!(published[0]["runtime_version"], "fingerprint-of-android");
    let log = std::fs::read_to_string(work.path().join("npx.log")).unwrap();
    let project_dir = project.display().to_string();
    let calls: Vec<&str> = log.lines().collect();
    assert_eq!(calls.len(), 3, "{log}");
    assert!(
        calls[0].starts_with(&format!(
            "{project_dir} expo export --platform android --output-dir "
        )),
        "{log}"
    );
    assert_eq!(
        calls[1],
        format!("{project_dir} expo config --json --type public")
    );
    assert_eq!(
        calls[2],
        format!("{project_dir} expo-updates runtimeversion:resolve --platform android")
    );
    // The app config the export was published with is the one `expo config` printed.
    let shown = run_json(bin(&data).args(["show", published[0]["id"].as_str().unwrap()]));
    assert_eq!(shown["extra"]["expoClient"], config);

    // An export made before (`--no-export`): the project only resolves the fingerprint.
    let dist_config = work.path().join("fp.json");
    std::fs::write(&dist_config, config.to_string()).unwrap();
    let report = run_json(
        bin(&data)
            .env("EXPO_UPDATE_SERVER_NPX", &npx)
            .arg("publish")
            .arg(sample_export())
            .arg("--app-config")
            .arg(&dist_config)
            .arg("--project")
            .arg(&project)
            .args(["--no-export", "--dry-run"]),
    );
    assert_eq!(
        runtimes(&report),
        (
            "fingerprint-of-ios".to_owned(),
            "fingerprint-of-android".to_owned()
        )
    );

    // A failing Expo CLI stops the publish with its message and the command it ran.
    let failing = fake_npx(work.path(), &config, true);
    let output = bin(&data)
        .env("EXPO_UPDATE_SERVER_NPX", &failing)
        .arg("publish")
        .arg(sample_export())
        .arg("--app-config")
        .arg(&dist_config)
        .arg("--project")
        .arg(&project)
        .arg("--no-export")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("npx expo-updates runtimeversion:resolve --platform ios")
            && stderr.contains("something broke"),
        "{stderr}"
    );
    // A directory that is no app is refused before anything runs.
    let output = bin(&data)
        .env("EXPO_UPDATE_SERVER_NPX", &npx)
        .arg("publish")
        .arg("--project")
        .arg(work.path().join("nothing"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no package.json"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
