//! Benchmarks for `expo-multipart`.
//!
//! - `encode/*`: a 3-part manifest response (2 KiB manifest with its
//!   `expo-signature`, extensions, a certificate chain) beside `copy`, a
//!   plain copy of the same number of bytes, the floor any contiguous
//!   encoder pays. `encode` writes a prepared `Multipart`; `new` is the
//!   boundary check; `new+encode` and `new+stream` are the whole job from
//!   built parts to one buffer or a drained stream of shared chunks;
//!   `with_boundary+encode` checks a caller's boundary from scratch.
//! - `decode/*`: one 10 MB part (random bytes, and JSON-like text full of
//!   CRLF and dashes) decoded whole and in 64 KiB chunks, beside `copy` of
//!   the same bytes, and the 3-part response.
#![allow(clippy::unwrap_used, reason = "benchmark fixtures are known good")]

use std::fmt::Write as _;
use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use expo_multipart::{Boundary, Decoder, Limits, Multipart, Part, decode};
use http_body::Body as _;

/// A manifest of exactly `len` bytes.
fn manifest(len: usize) -> Bytes {
    let mut body = String::from(
        r#"{"id":"0754dad0-d200-d634-113c-ef1f26106028","createdAt":"2026-11-23T08:00:00.000Z","runtimeVersion":"1","launchAsset":{"hash":"DW5MBgKq155wnX8rCP1lnsW6BsTbfKLXxGXRQx1RcOA","key":"bundle","contentType":"application/javascript","url":"https://updates.example.com/assets/DW5MBgKq155wnX8rCP1lnsW6BsTbfKLXxGXRQx1RcOA"},"assets":["#,
    );
    let mut i = 0;
    while body.len() < len - 200 {
        if i > 0 {
            body.push(',');
        }
        write!(
            body,
            r#"{{"hash":"a{i:042}","key":"asset{i}","contentType":"image/png","fileExtension":".png","url":"https://updates.example.com/assets/a{i:042}"}}"#
        )
        .unwrap();
        i += 1;
    }
    body.push_str(r#"],"metadata":{},"extra":{"expoClient":{"name":"app","slug":"app"}}}"#);
    while body.len() < len {
        body.insert(body.len() - 1, ' ');
    }
    Bytes::from(body)
}

fn response_parts() -> Vec<Part> {
    vec![
        Part::form_data("manifest", "application/json", manifest(2048))
            .with_header(
                "expo-signature",
                format!(
                    r#"sig="{}", keyid="main", alg="rsa-v1_5-sha256""#,
                    "A".repeat(344)
                ),
            )
            .unwrap(),
        Part::form_data(
            "extensions",
            "application/json",
            r#"{"assetRequestHeaders":{"bundle":{"x-channel":"production"}}}"#,
        ),
        Part::form_data(
            "certificate_chain",
            "application/x-pem-file",
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        ),
    ]
}

/// Drains a streaming body, keeping its chunks (dropped outside the timing).
fn drain(mut body: expo_multipart::MultipartBody) -> Vec<Bytes> {
    let mut cx = Context::from_waker(Waker::noop());
    let mut chunks = Vec::with_capacity(8);
    while let Poll::Ready(Some(frame)) = Pin::new(&mut body).poll_frame(&mut cx) {
        chunks.push(frame.unwrap().into_data().unwrap());
    }
    chunks
}

fn encode(c: &mut Criterion) {
    let parts = response_parts();
    let boundary = Boundary::random();
    let multipart = Multipart::with_boundary(parts.clone(), boundary.clone()).unwrap();
    let encoded = multipart.encode().body;
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Bytes(encoded.len() as u64));
    group.bench_function("copy", |b| {
        b.iter(|| Bytes::copy_from_slice(black_box(&encoded[..])));
    });
    group.bench_function("encode", |b| b.iter(|| black_box(&multipart).encode()));
    // The parts are built outside the timing: the server has them already.
    group.bench_function("new", |b| {
        b.iter_batched(|| parts.clone(), Multipart::new, BatchSize::SmallInput);
    });
    // Returning the `Multipart` keeps the parts' destruction out of the timing.
    group.bench_function("new+encode", |b| {
        b.iter_batched(
            || parts.clone(),
            |parts| {
                let multipart = Multipart::new(parts);
                let encoded = multipart.encode();
                (multipart, encoded)
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("new+stream", |b| {
        b.iter_batched(
            || parts.clone(),
            |parts| drain(Multipart::new(parts).into_body()),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("with_boundary+encode", |b| {
        b.iter_batched(
            || parts.clone(),
            |parts| {
                Multipart::with_boundary(parts, boundary.clone())
                    .unwrap()
                    .encode()
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

/// `len` pseudo-random bytes (xorshift), like a compressed asset.
fn random_bytes(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// JSON-like text with a CRLF and dashes every 64 bytes: many near misses
/// for the delimiter search.
fn crlf_text(len: usize) -> Vec<u8> {
    let line = b"{\"key\":\"value\",\"n\":12345678,\"s\":\"--------\"}  -- comment\r\n";
    line.iter().copied().cycle().take(len).collect()
}

fn decode_large(c: &mut Criterion) {
    const LEN: usize = 10_000_000;
    let limits = Limits {
        max_body_bytes: 16 << 20,
        ..Limits::default()
    };
    let mut group = c.benchmark_group("decode");
    group.sample_size(20);
    for (label, payload) in [("random", random_bytes(LEN)), ("crlf-text", crlf_text(LEN))] {
        let multipart = Multipart::new(vec![Part::form_data(
            "bundle",
            "application/octet-stream",
            payload,
        )]);
        let encoded = multipart.encode();
        let content_type = encoded.content_type.to_str().unwrap().to_owned();
        let body = encoded.body;
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(format!("10MB-{label}/copy"), |b| {
            b.iter(|| black_box(&body[..]).to_vec());
        });
        group.bench_function(format!("10MB-{label}/whole"), |b| {
            b.iter(|| decode(&content_type, black_box(&body), &limits).unwrap());
        });
        let boundary = multipart.boundary().clone();
        group.bench_function(format!("10MB-{label}/chunks-64KiB"), |b| {
            b.iter(|| {
                let mut decoder = Decoder::new(&boundary, limits);
                let mut parts = 0;
                for chunk in black_box(&body).chunks(64 << 10) {
                    decoder.push(chunk);
                    while decoder.next_part().unwrap().is_some() {
                        parts += 1;
                    }
                }
                decoder.finish();
                while decoder.next_part().unwrap().is_some() {
                    parts += 1;
                }
                parts
            });
        });
    }
    group.finish();
}

fn decode_response(c: &mut Criterion) {
    let encoded = Multipart::new(response_parts()).encode();
    let content_type = encoded.content_type.to_str().unwrap().to_owned();
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Bytes(encoded.body.len() as u64));
    group.bench_function("response-3-parts", |b| {
        b.iter(|| decode(&content_type, black_box(&encoded.body), &Limits::default()).unwrap());
    });
    group.finish();
}

criterion_group!(benches, encode, decode_large, decode_response);
criterion_main!(benches);
