//! BSDIFF40 patches between the two real sample exports (the same app
//! before and after a one-line change), iOS launch asset.
//!
//! Prints the sizes (bundle, bundle at brotli quality 11, patch, patch as a
//! share of the brotli bundle) and times `Patch::build` (diff + verifying
//! apply), `expo_patch::apply`, and the C `bsdiff`/`bspatch` commands on the
//! same files when installed (process start-up included).
use std::{hint::black_box, io::Write, path::Path, process::Command};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use expo_manifest::{ExportDir, Platform};
use expo_patch::{Limits, Patch};

fn launch_asset(export: &str) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../test-fixtures")
        .join(export)
        .join("dist");
    let dir = ExportDir::open(root).expect("fixture export");
    let ios = dir.platform(Platform::Ios).expect("ios export");
    std::fs::read(&ios.launch_asset.path).expect("launch asset")
}

fn brotli_11(bytes: &[u8]) -> usize {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 64 * 1024, 11, 22);
        writer.write_all(bytes).expect("compress in memory");
    }
    out.len()
}

#[allow(clippy::cast_precision_loss, reason = "a percentage to print")]
fn percent(part: usize, whole: usize) -> f64 {
    part as f64 * 100.0 / whole as f64
}

fn patch(c: &mut Criterion) {
    let base = launch_asset("sample-export");
    let target = launch_asset("sample-export-v2");
    let limits = Limits::default();
    let patch = Patch::build(&base, &target, &limits).expect("build");
    let compressed = brotli_11(&target);
    println!(
        "ios bundle {} B, brotli-11 {compressed} B, patch {} B = {:.3}% of brotli-11 ({:.4}% of the bundle)",
        target.len(),
        patch.len(),
        percent(patch.len(), compressed),
        percent(patch.len(), target.len()),
    );

    let dir = std::env::temp_dir().join(format!("expo-bench-patch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (old, new, out, c_patch) = (
        dir.join("old.hbc"),
        dir.join("new.hbc"),
        dir.join("out.hbc"),
        dir.join("c.patch"),
    );
    std::fs::write(&old, &base).expect("write base");
    std::fs::write(&new, &target).expect("write target");
    let has_bsdiff = Command::new("bsdiff")
        .args([&old, &new, &c_patch])
        .status()
        .is_ok_and(|s| s.success());
    if has_bsdiff {
        let c_len = std::fs::metadata(&c_patch).expect("C patch").len();
        println!("C bsdiff patch {c_len} B");
    }

    let mut group = c.benchmark_group("patch_ios");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(target.len() as u64));
    group.bench_function("Patch::build", |b| {
        b.iter(|| Patch::build(black_box(&base), black_box(&target), &limits).expect("build"));
    });
    group.bench_function("expo_patch::apply", |b| {
        b.iter(|| {
            expo_patch::apply(black_box(&base), black_box(patch.bytes()), &limits).expect("apply")
        });
    });
    if has_bsdiff {
        group.bench_function("bsdiff (C, command)", |b| {
            b.iter(|| {
                Command::new("bsdiff")
                    .args([&old, &new, &c_patch])
                    .status()
                    .expect("bsdiff")
            });
        });
        group.bench_function("bspatch (C, command)", |b| {
            b.iter(|| {
                Command::new("bspatch")
                    .args([&old, &out, &c_patch])
                    .status()
                    .expect("bspatch")
            });
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, patch);
criterion_main!(benches);
