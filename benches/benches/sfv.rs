//! Parsing the headers a manifest request carries.
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn parse(c: &mut Criterion) {
    let expect = r#"sig, keyid="main", alg="rsa-v1_5-sha256""#;
    c.bench_function("sfv/expect_signature", |b| {
        b.iter(|| expo_sfv::ExpectSignature::parse(black_box(expect)));
    });
    let failed =
        r#""0754dad0-d200-d634-113c-ef1f26106028", "9a1e0000-d200-d634-113c-ef1f26106028""#;
    c.bench_function("sfv/recent_failed_update_ids", |b| {
        b.iter(|| expo_sfv::parse_string_list(black_box(failed)));
    });
    let sig = expo_sfv::Signature {
        sig: "a".repeat(344),
        keyid: Some("main".into()),
        alg: Some("rsa-v1_5-sha256".into()),
    };
    c.bench_function("sfv/signature_to_header_value", |b| {
        b.iter(|| black_box(&sig).to_header_value());
    });
}

criterion_group!(benches, parse);
criterion_main!(benches);
