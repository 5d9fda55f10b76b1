//! Parsing and writing the Expo SFV headers of a manifest request/response.
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

const EXPECT: &str = r#"sig, keyid="main", alg="rsa-v1_5-sha256""#;
const FAILED_IDS: &str =
    r#""0754dad0-d200-d634-113c-ef1f26106028", "9a1e0000-d200-d634-113c-ef1f26106028""#;
const FILTERS: &str = r#"branch-name="production", runtime-version="1.0.0", build=42"#;

fn signature() -> expo_sfv::Signature {
    expo_sfv::Signature {
        // A 2048-bit RSA signature is 344 base64 characters.
        sig: "a".repeat(344),
        keyid: Some("main".into()),
        alg: Some("rsa-v1_5-sha256".into()),
    }
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("sfv/parse");
    group.bench_function("expect_signature", |b| {
        b.iter(|| expo_sfv::ExpectSignature::parse(black_box(EXPECT)));
    });
    group.bench_function("dictionary/expect_signature", |b| {
        b.iter(|| expo_sfv::Dictionary::parse(black_box(EXPECT)));
    });
    group.bench_function("manifest_filters", |b| {
        b.iter(|| expo_sfv::ManifestFilters::parse(black_box(FILTERS)));
    });
    let sig = signature().to_header_value();
    group.bench_function("signature", |b| {
        b.iter(|| expo_sfv::Signature::parse(black_box(&sig)));
    });
    group.bench_function("recent_failed_update_ids", |b| {
        b.iter(|| expo_sfv::parse_string_list(black_box(FAILED_IDS)));
    });
    group.finish();
}

fn serialize(c: &mut Criterion) {
    let mut group = c.benchmark_group("sfv/serialize");
    let sig = signature();
    group.bench_function("signature", |b| {
        b.iter(|| black_box(&sig).to_header_value());
    });
    let filters = expo_sfv::ManifestFilters::parse(FILTERS).unwrap_or_default();
    group.bench_function("manifest_filters", |b| {
        b.iter(|| black_box(&filters).to_header_value());
    });
    group.finish();
}

criterion_group!(benches, parse, serialize);
criterion_main!(benches);
