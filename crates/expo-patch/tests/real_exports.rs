//! The real sample exports, before and after a one-line change: the patch
//! that `Patch::build` makes is applied by the `bspatch` command (bsdiff
//! 4.x) and must give the new bundle byte for byte, at most 10% of the
//! bundle compressed with brotli at quality 11.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]
#![allow(clippy::cast_precision_loss, reason = "a percentage for the log")]

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::Command,
};

use expo_manifest::{ExportDir, Platform};
use expo_patch::{Limits, Patch, worth_serving};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../test-fixtures")
        .join(name)
        .join("dist")
}

fn launch_asset(export: &str, platform: Platform) -> Vec<u8> {
    let dir = ExportDir::open(fixture(export)).unwrap();
    let files = dir.platform(platform).unwrap();
    std::fs::read(&files.launch_asset.path).unwrap()
}

fn brotli_11(bytes: &[u8]) -> usize {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 64 * 1024, 11, 22);
        writer.write_all(bytes).unwrap();
    }
    out.len()
}

/// `bspatch`, or `None` (after saying so) when it is missing outside CI.
fn bspatch() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("bspatch"))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "bspatch is required in CI (Debian package bsdiff)"
        );
        eprintln!("SKIPPED: bspatch not found on PATH (install the Debian package bsdiff)");
    }
    found
}

/// A directory of its own under the target dir, removed afterwards.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("expo-patch-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn check_platform(platform: Platform) {
    let base = launch_asset("sample-export", platform);
    let target = launch_asset("sample-export-v2", platform);
    assert_ne!(base, target, "the fixtures differ by a one-line change");

    let patch = Patch::build(&base, &target, &Limits::default()).unwrap();
    assert_eq!(patch.target_len(), target.len() as u64);
    assert_eq!(patch.apply(&base, &Limits::default()).unwrap(), target);

    let compressed = brotli_11(&target);
    eprintln!(
        "{platform}: bundle {} B, brotli-11 {compressed} B, patch {} B ({:.2}% of brotli)",
        target.len(),
        patch.len(),
        patch.len() as f64 * 100.0 / compressed as f64
    );
    assert!(
        patch.len() * 10 <= compressed,
        "patch {} B is over 10% of the brotli bundle {compressed} B",
        patch.len()
    );
    assert!(worth_serving(patch.len() as u64, compressed as u64));

    let Some(bspatch) = bspatch() else { return };
    let dir = TempDir::new(&platform.to_string());
    let (old, new, diff) = (
        dir.0.join("old.hbc"),
        dir.0.join("new.hbc"),
        dir.0.join("patch"),
    );
    std::fs::write(&old, &base).unwrap();
    std::fs::write(&diff, patch.bytes()).unwrap();
    let status = Command::new(bspatch)
        .arg(&old)
        .arg(&new)
        .arg(&diff)
        .status()
        .unwrap();
    assert!(status.success(), "bspatch failed: {status}");
    assert!(
        std::fs::read(&new).unwrap() == target,
        "bspatch output differs from the new bundle"
    );
}

#[test]
fn ios_bundle_patch_applies_with_bspatch() {
    check_platform(Platform::Ios);
}

#[test]
fn android_bundle_patch_applies_with_bspatch() {
    check_platform(Platform::Android);
}

#[test]
fn a_patch_from_another_base_is_refused() {
    let ios = launch_asset("sample-export", Platform::Ios);
    let android = launch_asset("sample-export", Platform::Android);
    let target = launch_asset("sample-export-v2", Platform::Ios);
    let patch = Patch::build(&ios, &target, &Limits::default()).unwrap();
    assert!(matches!(
        patch.apply(&android, &Limits::default()),
        Err(expo_patch::Error::BaseMismatch)
    ));
}

/// The other direction: a patch made by the C `bsdiff` applies here.
#[test]
fn c_bsdiff_patches_apply() {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join("bsdiff").is_file()));
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "bsdiff is required in CI (Debian package bsdiff)"
        );
        eprintln!("SKIPPED: bsdiff not found on PATH (install the Debian package bsdiff)");
        return;
    }
    let base = launch_asset("sample-export", Platform::Android);
    let target = launch_asset("sample-export-v2", Platform::Android);
    let dir = TempDir::new("c-bsdiff");
    let (old, new, diff) = (dir.0.join("old"), dir.0.join("new"), dir.0.join("patch"));
    std::fs::write(&old, &base).unwrap();
    std::fs::write(&new, &target).unwrap();
    let status = Command::new("bsdiff")
        .arg(&old)
        .arg(&new)
        .arg(&diff)
        .status()
        .unwrap();
    assert!(status.success(), "bsdiff failed: {status}");
    let patch = std::fs::read(&diff).unwrap();
    assert!(expo_patch::apply(&base, &patch, &Limits::default()).unwrap() == target);
}
