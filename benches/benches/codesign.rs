//! Benchmarks for `expo-codesign`: RSA signing and verification of manifest bodies, and
//! loading keys and certificates.
//!
//! Groups are named after the crypto backend expo-codesign was built with
//! ([`expo_codesign::BACKEND`]): `sign/ring/...` by default, `sign/aws-lc-rs/...` with
//! `--no-default-features --features aws-lc-rs`; `benches/codesign-backends.sh` runs both
//! beside `openssl speed` in one run.
//!
//! `sign/*/32B` and `verify/*/32B` are the figures to set beside `openssl speed rsa2048`
//! (which signs a fixed digest, single-threaded). Criterion measures wall-clock time, like
//! `openssl speed -elapsed`; plain `openssl speed` divides by user CPU time, so the `cpu/*`
//! group measures the same operations in thread CPU time, which stays comparable when the
//! machine is busy with other work.
#![allow(clippy::unwrap_used, reason = "benchmark fixtures are known good")]

use std::fmt::Write as _;
use std::hint::black_box;

use std::time::Duration;

use cpu_time::ThreadTime;
use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use expo_codesign::{BACKEND, Certificate, PrivateKey, Signer, Verifier};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../crates/expo-codesign/tests/fixtures/", $name))
    };
}

const KEYS: [(&str, &str, &str); 2] = [
    (
        "rsa2048",
        fixture!("rsa2048-pkcs8.pem"),
        fixture!("rsa2048-certificate.pem"),
    ),
    (
        "rsa4096",
        fixture!("rsa4096-pkcs8.pem"),
        fixture!("rsa4096-certificate.pem"),
    ),
];

/// A realistic manifest body (about 1 KiB).
fn manifest() -> Vec<u8> {
    let mut body = String::from(
        r#"{"id":"0754dad0-d200-d634-113c-ef1f26106028","createdAt":"2026-11-23T08:00:00.000Z","runtimeVersion":"1","launchAsset":{"hash":"DW5MBgKq155wnX8rCP1lnsW6BsTbfKLXxGXRQx1RcOA","key":"bundle","contentType":"application/javascript","url":"https://updates.example.com/assets/DW5MBgKq155wnX8rCP1lnsW6BsTbfKLXxGXRQx1RcOA"},"assets":["#,
    );
    for i in 0..4 {
        if i > 0 {
            body.push(',');
        }
        let _ = write!(
            body,
            r#"{{"hash":"b{i}5MBgKq155wnX8rCP1lnsW6BsTbfKLXxGXRQx1RcOA","key":"asset{i}","contentType":"image/png","fileExtension":".png","url":"https://updates.example.com/assets/b{i}5MBgKq155wnX8rCP1lnsW6BsTbfKLXxGXRQx1RcOA"}}"#
        );
    }
    body.push_str(r#"],"metadata":{},"extra":{"expoClient":{"name":"app","slug":"app"}}}"#);
    body.into_bytes()
}

fn bodies() -> [(&'static str, Vec<u8>); 2] {
    [("32B", vec![0x5a; 32]), ("manifest", manifest())]
}

fn sign<M: Measurement>(c: &mut Criterion<M>, prefix: &str) {
    let mut group = c.benchmark_group(format!("{prefix}sign/{BACKEND}"));
    for (name, key_pem, _) in KEYS {
        let signer = Signer::new("root", PrivateKey::from_pem(key_pem).unwrap());
        for (body_name, body) in bodies() {
            group.throughput(Throughput::Elements(1));
            group.bench_with_input(BenchmarkId::new(name, body_name), &body, |b, body| {
                b.iter(|| signer.sign(black_box(body)).unwrap());
            });
        }
        let body = manifest();
        group.bench_with_input(BenchmarkId::new(name, "header"), &body, |b, body| {
            b.iter(|| signer.signature_header(black_box(body)).unwrap());
        });
    }
    group.finish();
}

fn verify<M: Measurement>(c: &mut Criterion<M>, prefix: &str) {
    let mut group = c.benchmark_group(format!("{prefix}verify/{BACKEND}"));
    for (name, key_pem, cert_pem) in KEYS {
        let signer = Signer::new("root", PrivateKey::from_pem(key_pem).unwrap());
        let verifier = Verifier::from_certificate_pem(cert_pem).unwrap();
        for (body_name, body) in bodies() {
            let sig = signer.sign(&body).unwrap();
            group.throughput(Throughput::Elements(1));
            group.bench_with_input(BenchmarkId::new(name, body_name), &body, |b, body| {
                b.iter(|| {
                    verifier
                        .verify_sig(black_box(&sig), black_box(body))
                        .unwrap();
                });
            });
        }
        let body = manifest();
        let header = signer.signature_header(&body).unwrap();
        group.bench_with_input(BenchmarkId::new(name, "header"), &body, |b, body| {
            b.iter(|| {
                verifier
                    .verify(black_box(&header), black_box(body))
                    .unwrap();
            });
        });
    }
    group.finish();
}

fn load<M: Measurement>(c: &mut Criterion<M>, prefix: &str) {
    let mut group = c.benchmark_group(format!("{prefix}load/{BACKEND}"));
    let (_, key_pem, cert_pem) = KEYS[0];
    group.bench_function("private_key_pem/rsa2048", |b| {
        b.iter(|| PrivateKey::from_pem(black_box(key_pem)).unwrap());
    });
    group.bench_function("certificate_pem/rsa2048", |b| {
        b.iter(|| Certificate::from_pem(black_box(cert_pem)).unwrap());
    });
    group.bench_function("signer_with_checks/rsa2048", |b| {
        b.iter(|| Signer::from_pem("root", black_box(key_pem), Some(black_box(cert_pem))).unwrap());
    });
    group.finish();
}

/// Thread CPU time as a criterion measurement, in nanoseconds.
struct ThreadCpuTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = ThreadTime;
    type Value = Duration;

    fn start(&self) -> ThreadTime {
        ThreadTime::now()
    }
    fn end(&self, start: ThreadTime) -> Duration {
        start.elapsed()
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_secs_f64() * 1e9
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

/// Formats CPU nanoseconds as "µs (cpu)" and throughput as elements per second.
struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, _typical: f64, values: &mut [f64]) -> &'static str {
        for value in values {
            *value /= 1e3;
        }
        "µs (cpu)"
    }
    fn scale_throughputs(
        &self,
        _typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let per_iteration = match throughput {
            #[allow(clippy::cast_precision_loss, reason = "element counts are tiny")]
            Throughput::Elements(n) => *n as f64,
            _ => 1.0,
        };
        for value in values {
            *value = per_iteration * 1e9 / *value;
        }
        "elem/s (cpu)"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

/// Every benchmark in wall-clock time.
fn wall(c: &mut Criterion) {
    sign(c, "");
    verify(c, "");
    load(c, "");
}

/// Every benchmark again in thread CPU time, under `cpu/`.
fn cpu(c: &mut Criterion<ThreadCpuTime>) {
    sign(c, "cpu/");
    verify(c, "cpu/");
    load(c, "cpu/");
}

criterion_group!(benches, wall);
criterion_group! {
    name = cpu_benches;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = cpu
}
criterion_main!(benches, cpu_benches);
