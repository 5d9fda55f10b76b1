//! Hashing assets and serializing manifests.
//!
//! `hash_10mb` runs `sha256sum` on the same 10 MB file (page-cached) beside
//! `AssetHash::of`, and `sha256sum` on an empty file to show what process
//! start-up alone costs; subtract it to compare hashing speed.
use std::{hint::black_box, process::Command};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use expo_manifest::{Asset, AssetHash, Manifest, RuntimeVersion, Timestamp, UpdateId};

fn hashing(c: &mut Criterion) {
    let data: Vec<u8> = (0..10 << 20)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let dir = std::env::temp_dir().join(format!("expo-bench-hash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (file, empty) = (dir.join("10mb.bin"), dir.join("empty.bin"));
    std::fs::write(&file, &data).expect("write 10 MB");
    std::fs::write(&empty, b"").expect("write empty");
    let has_sha256sum = Command::new("sha256sum").arg(&empty).output().is_ok();

    let mut group = c.benchmark_group("hash_10mb");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.bench_function("AssetHash::of", |b| {
        b.iter(|| AssetHash::of(black_box(&data)));
    });
    if has_sha256sum {
        group.bench_function("sha256sum", |b| {
            b.iter(|| {
                Command::new("sha256sum")
                    .arg(&file)
                    .output()
                    .expect("sha256sum")
            });
        });
        group.bench_function("sha256sum_empty_file", |b| {
            b.iter(|| {
                Command::new("sha256sum")
                    .arg(&empty)
                    .output()
                    .expect("sha256sum")
            });
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn serialization(c: &mut Criterion) {
    let asset = |i: u32| Asset {
        hash: AssetHash::of(&i.to_le_bytes()),
        key: format!("{i:032x}"),
        content_type: "image/png".into(),
        file_extension: Some(".png".into()),
        url: format!(
            "https://updates.example.com/assets/{}",
            AssetHash::of(&i.to_le_bytes())
        ),
    };
    let mut launch_asset = asset(0);
    launch_asset.content_type = "application/javascript".into();
    launch_asset.file_extension = None;
    let manifest = Manifest {
        id: UpdateId::new_v4(),
        created_at: Timestamp::now(),
        runtime_version: RuntimeVersion::new("1.0.0").expect("valid"),
        launch_asset,
        assets: (1..=200).map(asset).collect(),
        metadata: std::collections::BTreeMap::default(),
        extra: serde_json::from_str(
            r#"{"expoClient":{"name":"sample-app","slug":"sample-app","version":"1.0.0","runtimeVersion":"1.0.0"}}"#,
        )
        .expect("json"),
    };
    let bytes = manifest.to_json_bytes();
    let mut group = c.benchmark_group("manifest_200_assets");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("to_json_bytes", |b| {
        b.iter(|| black_box(&manifest).to_json_bytes());
    });
    group.bench_function("from_json_slice", |b| {
        b.iter(|| Manifest::from_json_slice(black_box(&bytes)));
    });
    group.finish();
}

criterion_group!(benches, hashing, serialization);
criterion_main!(benches);
