//! Negotiating the manifest structure and an asset's encoding, for the
//! headers real clients send.
use criterion::{Criterion, criterion_group, criterion_main};
use expo_accept::{
    Accept, AcceptEncoding, ContentCoding, ResponseFormat, negotiate_encoding, negotiate_format,
};
use std::hint::black_box;

/// What expo-updates sends on Android and iOS.
const CLIENT: &str = "multipart/mixed,application/expo+json,application/json";
/// The example request of the protocol specification.
const SPEC: &str = "application/expo+json;q=0.9, application/json;q=0.8, multipart/mixed";
/// A browser opening the manifest URL.
const BROWSER: &str =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

fn accept(c: &mut Criterion) {
    for (name, header) in [
        ("client", CLIENT),
        ("spec_example", SPEC),
        ("browser", BROWSER),
    ] {
        c.bench_function(&format!("accept/negotiate_format/{name}"), |b| {
            b.iter(|| negotiate_format(Some(black_box(header)), &ResponseFormat::ALL));
        });
        c.bench_function(&format!("accept/parse_then_negotiate/{name}"), |b| {
            b.iter(|| {
                Accept::parse(black_box(header))
                    .ok()
                    .and_then(|a| a.negotiate_format(&ResponseFormat::ALL))
            });
        });
    }
    c.bench_function("accept/negotiate_format/absent", |b| {
        b.iter(|| negotiate_format(black_box(None), &ResponseFormat::ALL));
    });
}

fn accept_encoding(c: &mut Criterion) {
    for (name, header) in [
        ("okhttp", "br,gzip"),
        ("urlsession", "gzip, deflate, br"),
        ("weighted", "br;q=1.0, gzip;q=0.9, deflate;q=0.8"),
    ] {
        c.bench_function(&format!("accept_encoding/negotiate/{name}"), |b| {
            b.iter(|| negotiate_encoding(Some(black_box(header)), &ContentCoding::ALL));
        });
    }
    c.bench_function("accept_encoding/parse/urlsession", |b| {
        b.iter(|| AcceptEncoding::parse(black_box("gzip, deflate, br")));
    });
}

criterion_group!(benches, accept, accept_encoding);
criterion_main!(benches);
