//! Negotiating the manifest structure and an asset's encoding.
use criterion::{Criterion, criterion_group, criterion_main};
use expo_accept::{AcceptEncoding, ContentCoding, ResponseFormat, negotiate_format};
use std::hint::black_box;

fn negotiate(c: &mut Criterion) {
    let android = "multipart/mixed,application/expo+json,application/json";
    c.bench_function("accept/client_header", |b| {
        b.iter(|| negotiate_format(Some(black_box(android)), &ResponseFormat::ALL));
    });
    let spec = "application/expo+json;q=0.9, application/json;q=0.8, multipart/mixed";
    c.bench_function("accept/spec_example_with_q", |b| {
        b.iter(|| negotiate_format(Some(black_box(spec)), &ResponseFormat::ALL));
    });
    let encoding = "gzip, deflate, br";
    c.bench_function("accept_encoding/typical", |b| {
        b.iter(|| {
            AcceptEncoding::parse(black_box(encoding))
                .ok()
                .and_then(|a| a.negotiate(&ContentCoding::ALL))
        });
    });
}

criterion_group!(benches, negotiate);
criterion_main!(benches);
