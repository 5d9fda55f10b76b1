//! `ExportDir` on the committed real export, checked against openssl.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

use std::{path::PathBuf, process::Command};

use expo_manifest::{Error, ExportDir, Platform};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../test-fixtures/sample-export/dist")
}

/// `openssl dgst -sha256 -binary FILE | basenc --base64url`, padding removed.
fn openssl_hash(path: &std::path::Path) -> Option<String> {
    let script = "openssl dgst -sha256 -binary \"$1\" | basenc --base64url";
    let out = Command::new("sh")
        .args(["-c", script, "sh"])
        .arg(path)
        .output()
        .ok()?;
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .trim_end_matches('=')
            .to_owned()
    })
}

fn md5sum(path: &std::path::Path) -> Option<String> {
    let out = Command::new("md5sum").arg(path).output().ok()?;
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_owned()
    })
}

#[test]
fn hashes_match_openssl_for_every_file() {
    let export = ExportDir::open(fixture()).unwrap();
    assert_eq!(
        export.platforms().collect::<Vec<_>>(),
        [Platform::Ios, Platform::Android]
    );
    let mut checked = 0;
    for platform in Platform::ALL {
        let files = export.platform(platform).unwrap();
        assert!(
            files
                .launch_asset
                .path
                .extension()
                .is_some_and(|e| e == "hbc")
        );
        assert_eq!(files.launch_asset.content_type, "application/javascript");
        assert_eq!(files.launch_asset.file_extension, None);
        assert_eq!(files.assets.len(), 2);
        for file in files.files() {
            let Some(expected) = openssl_hash(&file.path) else {
                assert_ne!(
                    std::env::var("CI").as_deref(),
                    Ok("true"),
                    "openssl/basenc missing in CI"
                );
                eprintln!("SKIPPED: openssl or basenc is not installed");
                return;
            };
            assert_eq!(file.hash.to_string(), expected, "{}", file.relative_path);
            assert_eq!(
                Some(file.key.clone()),
                md5sum(&file.path),
                "{}",
                file.relative_path
            );
            assert_eq!(file.size, std::fs::metadata(&file.path).unwrap().len());
            checked += 1;
        }
        for asset in &files.assets {
            assert_eq!(asset.content_type, "image/png");
            assert_eq!(asset.file_extension.as_deref(), Some(".png"));
        }
    }
    assert_eq!(checked, 6);
}

#[test]
fn app_config_loads() {
    let config = ExportDir::load_app_config(fixture().join("../app-config.json")).unwrap();
    assert_eq!(config["slug"], "sample-app");
    assert_eq!(config["runtimeVersion"], "1.0.0");
}

fn scratch(name: &str, metadata: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("expo-manifest-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("metadata.json"), metadata).unwrap();
    std::fs::write(dir.join("bundle.hbc"), b"bundle").unwrap();
    dir
}

#[test]
fn malformed_exports_are_clear_errors_naming_the_file() {
    let missing = std::env::temp_dir().join("expo-manifest-does-not-exist");
    let err = ExportDir::open(&missing).unwrap_err();
    assert!(matches!(err, Error::Io { .. }));
    assert!(err.to_string().contains("metadata.json"), "{err}");

    let dir = scratch("garbage", "{not json");
    let err = ExportDir::open(&dir).unwrap_err();
    assert!(
        matches!(err, Error::Metadata { .. }) && err.to_string().contains("metadata.json"),
        "{err}"
    );

    let dir = scratch(
        "web-only",
        r#"{"fileMetadata":{"web":{"bundle":"x","assets":[]}}}"#,
    );
    assert!(matches!(ExportDir::open(&dir), Err(Error::Metadata { .. })));

    for escaping in [
        "../outside.hbc",
        "/etc/passwd",
        "assets/../../x",
        "a\\\\..\\\\b",
    ] {
        let metadata =
            format!(r#"{{"fileMetadata":{{"ios":{{"bundle":"{escaping}","assets":[]}}}}}}"#);
        let dir = scratch("escape", &metadata);
        let err = ExportDir::open(&dir).unwrap_err();
        assert!(
            matches!(err, Error::PathEscapes { .. }),
            "{escaping}: {err}"
        );
    }

    let dir = scratch(
        "bad-ext",
        r#"{"fileMetadata":{"ios":{"bundle":"bundle.hbc","assets":[{"path":"assets/a","ext":"p/ng"}]}}}"#,
    );
    assert!(matches!(ExportDir::open(&dir), Err(Error::Metadata { .. })));

    let dir = scratch(
        "missing-file",
        r#"{"fileMetadata":{"ios":{"bundle":"bundle.hbc","assets":[{"path":"assets/gone","ext":"png"}]}}}"#,
    );
    let export = ExportDir::open(&dir).unwrap();
    let err = export.platform(Platform::Ios).unwrap_err();
    assert!(
        matches!(err, Error::Io { .. }) && err.to_string().contains("gone"),
        "{err}"
    );
    let err = export.platform(Platform::Android).unwrap_err();
    assert!(
        matches!(
            err,
            Error::PlatformNotExported {
                platform: Platform::Android,
                ..
            }
        ),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_export_are_refused() {
    let dir = scratch(
        "symlink",
        r#"{"fileMetadata":{"ios":{"bundle":"bundle.hbc","assets":[{"path":"assets/link","ext":"png"}]}}}"#,
    );
    std::os::unix::fs::symlink("/etc/hostname", dir.join("assets/link")).unwrap();
    let err = ExportDir::open(&dir)
        .unwrap()
        .platform(Platform::Ios)
        .unwrap_err();
    assert!(matches!(err, Error::PathEscapes { .. }), "{err}");
}

#[test]
fn app_config_errors_name_the_file() {
    let dir = scratch("app-config", "{}");
    std::fs::write(dir.join("config.json"), "[1, 2]").unwrap();
    let err = ExportDir::load_app_config(dir.join("config.json")).unwrap_err();
    assert!(
        matches!(err, Error::AppConfig { .. }) && err.to_string().contains("config.json"),
        "{err}"
    );
    let err = ExportDir::load_app_config(dir.join("absent.json")).unwrap_err();
    assert!(
        matches!(err, Error::Io { .. }) && err.to_string().contains("absent.json"),
        "{err}"
    );
}

#[test]
fn paths_are_absolute_from_a_relative_root() {
    // Tests run in the crate directory.
    let export = ExportDir::open("../../test-fixtures/sample-export/dist").unwrap();
    assert!(export.root().is_absolute());
    let ios = export.platform(Platform::Ios).unwrap();
    for file in ios.files() {
        assert!(file.path.is_absolute(), "{}", file.path.display());
        assert!(file.path.ends_with(&file.relative_path));
    }
}

#[test]
fn the_second_export_differs_in_its_bundles_only() {
    let v1 = ExportDir::open(fixture()).unwrap();
    let v2 = ExportDir::open(fixture().join("../../sample-export-v2/dist")).unwrap();
    for platform in Platform::ALL {
        let (a, b) = (
            v1.platform(platform).unwrap(),
            v2.platform(platform).unwrap(),
        );
        assert_ne!(a.launch_asset.hash, b.launch_asset.hash, "{platform}");
        let hashes = |p: &expo_manifest::PlatformExport| {
            p.assets
                .iter()
                .map(|f| (f.hash, f.key.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(hashes(&a), hashes(&b), "{platform}");
    }
}
