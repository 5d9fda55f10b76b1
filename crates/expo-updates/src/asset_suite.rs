//! The behaviour suite of asset serving (feature `test-suite`): one set of
//! checks run against every implementation, whatever holds the bytes.
//!
//! A harness stores [`assets()`] in the service under test (however that
//! service stores assets: in memory, files, a blob store, S3) so that each is
//! served at `/assets/<base64url hash>`, with brotli and gzip variants of the
//! compressible ones ([`SuiteAsset::compressible`]), and gives [`run`] a
//! [`Transport`] that sends requests to it. The suite checks encoding
//! negotiation, strong `ETag`s, `If-None-Match`, `Range` and `If-Range` on
//! every served encoding, 304, 206, 416, HEAD, 404 and 405, immutable
//! caching, and hostile headers (huge and malformed `Range`, hundreds of
//! ranges, forged `If-Range`, bogus `accept-encoding`).
//!
//! ```no_run
//! # async fn demo(transport: impl expo_updates::asset_suite::Transport) {
//! use expo_updates::asset_suite;
//! // ... store asset_suite::assets() in the service behind `transport` ...
//! let report = asset_suite::run(&transport, &asset_suite::assets(), &[]).await;
//! assert!(report.failures.is_empty(), "{report}");
//! # }
//! ```

use std::fmt::{self, Write as _};
use std::future::Future;
use std::io::{Read as _, Write as _};

use bytes::Bytes;
use expo_manifest::AssetHash;
use http::{Method, Request, Response, StatusCode};

use crate::asset::ASSET_CACHE_CONTROL;

/// An asset the service under test serves.
#[derive(Debug, Clone)]
pub struct SuiteAsset {
    /// A name for messages.
    pub name: &'static str,
    /// The file extension it is exported with (without the dot).
    pub extension: &'static str,
    /// The media type it must be served with.
    pub content_type: &'static str,
    /// Its bytes.
    pub bytes: Bytes,
    /// Whether the service must hold brotli and gzip variants of it.
    pub compressible: bool,
}

impl SuiteAsset {
    /// Its hash (the URL is `/assets/<hash>`).
    pub fn hash(&self) -> AssetHash {
        AssetHash::of(&self.bytes)
    }

    /// Brotli bytes of it (quality 11), for harnesses that store variants.
    pub fn brotli(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let params = brotli::enc::BrotliEncoderParams::default();
        // Writing into a Vec cannot fail.
        let _ = brotli::BrotliCompress(&mut &self.bytes[..], &mut out, &params);
        out
    }

    /// Gzip bytes of it, for harnesses that store variants.
    pub fn gzip(&self) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing into a Vec cannot fail.
        let _ = encoder.write_all(&self.bytes);
        encoder.finish().unwrap_or_default()
    }
}

/// The assets of the suite: a JavaScript bundle (the launch asset of an
/// update built from them), an incompressible image and a font.
pub fn assets() -> Vec<SuiteAsset> {
    let mut bundle = String::with_capacity(50_000);
    let mut i = 0_u64;
    while bundle.len() < 48_000 {
        let x = i.wrapping_mul(6_364_136_223_846_793_005) >> 40;
        let _ = writeln!(bundle, "function f{i}(a,b){{return a*{x}+b-{};}}", x % 977);
        i += 1;
    }
    let mut state = 0x2545_f491_u32;
    let image: Vec<u8> = b"\x89PNG\r\n\x1a\n"
        .iter()
        .copied()
        .chain((0..3000).map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        }))
        .collect();
    let font: Vec<u8> = (0..6000_u32)
        .map(|i| b"abcdefghij"[(i % 10) as usize])
        .collect();
    vec![
        SuiteAsset {
            name: "bundle",
            extension: "hbc",
            content_type: "application/javascript",
            bytes: Bytes::from(bundle),
            compressible: true,
        },
        SuiteAsset {
            name: "image",
            extension: "png",
            content_type: "image/png",
            bytes: Bytes::from(image),
            compressible: false,
        },
        SuiteAsset {
            name: "font",
            extension: "ttf",
            content_type: "font/ttf",
            bytes: Bytes::from(font),
            compressible: true,
        },
    ]
}

/// Sends a request to the service under test and collects the answer.
pub trait Transport: Sync {
    /// The answer to `request` (its URI is a path, `/assets/<hash>`), with
    /// the body as received (not decoded); `Err` when none came.
    fn send(
        &self,
        request: Request<()>,
    ) -> impl Future<Output = Result<Response<Bytes>, String>> + Send;
}

/// What a run found.
#[derive(Debug, Default)]
pub struct Report {
    /// How many checks ran.
    pub checks: usize,
    /// The failed ones, each naming the request.
    pub failures: Vec<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} checks, {} failed", self.checks, self.failures.len())?;
        for failure in &self.failures {
            writeln!(f, "- {failure}")?;
        }
        Ok(())
    }
}

impl Report {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        self.checks += 1;
        if !ok {
            self.failures.push(what());
        }
    }
}

/// A hostile request: what it is, its headers, the status it must get.
type Case<'a> = (&'a str, Vec<(&'a str, &'a [u8])>, StatusCode);

/// One served representation: the answer to a full GET.
struct Served {
    accept: Option<&'static str>,
    encoding: Option<String>,
    etag: String,
    body: Bytes,
}

/// Runs every check against `transport`, which serves `assets`; every
/// answer (errors included) must also carry `every_answer` headers (for
/// example a server's `content-security-policy`).
pub async fn run<T: Transport>(
    transport: &T,
    assets: &[SuiteAsset],
    every_answer: &[(&str, &str)],
) -> Report {
    let mut suite = Suite {
        transport,
        every_answer,
        report: Report::default(),
    };
    for asset in assets {
        suite.asset(asset).await;
    }
    if let Some(asset) = assets.iter().find(|a| a.compressible) {
        suite.hostile(asset).await;
    }
    suite.unknown_and_methods(assets.first()).await;
    suite.report
}

struct Suite<'a, T> {
    transport: &'a T,
    every_answer: &'a [(&'a str, &'a str)],
    report: Report,
}

fn path(hash: &AssetHash) -> String {
    format!("/assets/{hash}")
}

fn header<'r>(response: &'r Response<Bytes>, name: &str) -> Option<&'r str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

fn decode(encoding: Option<&str>, body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match encoding {
        None => out.extend_from_slice(body),
        Some("br") => {
            brotli::Decompressor::new(body, 4096)
                .read_to_end(&mut out)
                .ok()?;
        }
        Some("gzip") => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .ok()?;
        }
        Some(_) => return None,
    }
    Some(out)
}

const ACCEPTS: [Option<&str>; 8] = [
    None,
    Some("identity"),
    Some("br"),
    Some("gzip"),
    Some("br, gzip"),
    Some("gzip;q=1.0, br;q=0.5"),
    Some("*"),
    Some("deflate"),
];

impl<T: Transport> Suite<'_, T> {
    /// Sends a request; a transport failure is a failed check and `None`.
    async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &[u8])],
    ) -> Option<Response<Bytes>> {
        let mut builder = Request::builder().method(method.clone()).uri(path);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let described = || {
            let shown: Vec<String> = headers
                .iter()
                .map(|(n, v)| format!("{n}: {}", String::from_utf8_lossy(&v[..v.len().min(60)])))
                .collect();
            format!("{method} {path} [{}]", shown.join("; "))
        };
        let request = match builder.body(()) {
            Ok(request) => request,
            Err(e) => {
                self.report.check(false, || format!("{}: {e}", described()));
                return None;
            }
        };
        match self.transport.send(request).await {
            Ok(response) => {
                for (name, value) in self.every_answer {
                    let got = header(&response, name).map(str::to_owned);
                    self.report.check(got.as_deref() == Some(*value), || {
                        format!("{}: {name} is {got:?}, not {value:?}", described())
                    });
                }
                Some(response)
            }
            Err(e) => {
                self.report
                    .check(false, || format!("{}: no answer: {e}", described()));
                None
            }
        }
    }

    async fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> Option<Response<Bytes>> {
        let headers: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
        self.send(Method::GET, path, &headers).await
    }

    /// A client error answered as JSON.
    fn json_error(&mut self, response: &Response<Bytes>, what: &str) {
        let json = header(response, "content-type");
        self.report.check(json == Some("application/json"), || {
            format!("{what}: content-type {json:?}, not application/json")
        });
        self.report.check(
            serde_json::from_slice::<serde_json::Value>(response.body()).is_ok(),
            || format!("{what}: the body is not JSON"),
        );
    }

    fn expect_status(
        &mut self,
        response: &Response<Bytes>,
        status: StatusCode,
        what: &str,
    ) -> bool {
        let got = response.status();
        self.report.check(got == status, || {
            format!("{what}: status {got}, not {status}")
        });
        got == status
    }

    async fn asset(&mut self, asset: &SuiteAsset) {
        let path = path(&asset.hash());
        let mut served: Vec<Served> = Vec::new();
        for accept in ACCEPTS {
            let what = format!("{} accept-encoding {accept:?}", asset.name);
            let headers: Vec<(&str, &str)> =
                accept.map(|a| ("accept-encoding", a)).into_iter().collect();
            let Some(response) = self.get(&path, &headers).await else {
                continue;
            };
            if !self.expect_status(&response, StatusCode::OK, &what) {
                continue;
            }
            let encoding = header(&response, "content-encoding").map(str::to_owned);
            let allowed: &[Option<&str>] = match accept {
                None | Some("identity" | "deflate") => &[None],
                Some("br") if asset.compressible => &[Some("br")],
                Some("gzip") if asset.compressible => &[Some("gzip")],
                Some("br, gzip" | "gzip;q=1.0, br;q=0.5" | "*") if asset.compressible => {
                    &[Some("br"), Some("gzip")]
                }
                Some("br") => &[None, Some("br")],
                Some("gzip") => &[None, Some("gzip")],
                Some(_) => &[None, Some("br"), Some("gzip")],
            };
            self.report
                .check(allowed.contains(&encoding.as_deref()), || {
                    format!("{what}: content-encoding {encoding:?}, expected one of {allowed:?}")
                });
            if accept == Some("gzip;q=1.0, br;q=0.5") && asset.compressible {
                self.report.check(encoding.as_deref() == Some("gzip"), || {
                    format!("{what}: the client's preference (gzip) is not honoured")
                });
            }
            for (name, expected) in [
                ("content-type", asset.content_type),
                ("cache-control", ASSET_CACHE_CONTROL),
                ("accept-ranges", "bytes"),
            ] {
                let got = header(&response, name).map(str::to_owned);
                self.report.check(got.as_deref() == Some(expected), || {
                    format!("{what}: {name} {got:?}, not {expected:?}")
                });
            }
            let vary = header(&response, "vary")
                .unwrap_or_default()
                .to_ascii_lowercase();
            self.report.check(vary.contains("accept-encoding"), || {
                format!("{what}: vary {vary:?} does not name accept-encoding")
            });
            let etag = header(&response, "etag").unwrap_or_default().to_owned();
            self.report
                .check(etag.starts_with('"') && etag.len() > 2, || {
                    format!("{what}: etag {etag:?} is not a strong entity tag")
                });
            let body = response.body().clone();
            let length = header(&response, "content-length").map(str::to_owned);
            self.report
                .check(length == Some(body.len().to_string()), || {
                    format!("{what}: content-length {length:?} for {} bytes", body.len())
                });
            let decoded = decode(encoding.as_deref(), &body);
            self.report.check(
                decoded.is_some_and(|d| AssetHash::of(&d) == asset.hash()),
                || format!("{what}: the decoded body does not hash to the asset"),
            );
            served.push(Served {
                accept,
                encoding,
                etag,
                body,
            });
        }
        // One representation per encoding, each with its own ETag.
        served.sort_by(|a, b| a.encoding.cmp(&b.encoding));
        served.dedup_by(|a, b| a.encoding == b.encoding);
        for (i, a) in served.iter().enumerate() {
            for b in &served[i + 1..] {
                self.report.check(a.etag != b.etag, || {
                    format!(
                        "{}: {:?} and {:?} share the ETag {}",
                        asset.name, a.encoding, b.encoding, a.etag
                    )
                });
            }
        }
        for representation in &served {
            let other = served
                .iter()
                .find(|o| o.encoding != representation.encoding)
                .map(|o| o.etag.clone());
            self.head(asset, &path, representation).await;
            self.conditional(asset, &path, representation, other.as_deref())
                .await;
            self.ranges(asset, &path, representation, other.as_deref())
                .await;
        }
    }

    async fn head(&mut self, asset: &SuiteAsset, path: &str, served: &Served) {
        let what = format!("{} HEAD accept-encoding {:?}", asset.name, served.accept);
        let headers: Vec<(&str, &[u8])> = served
            .accept
            .map(|a| ("accept-encoding", a.as_bytes()))
            .into_iter()
            .collect();
        let Some(response) = self.send(Method::HEAD, path, &headers).await else {
            return;
        };
        if !self.expect_status(&response, StatusCode::OK, &what) {
            return;
        }
        self.report
            .check(response.body().is_empty(), || format!("{what}: a body"));
        let length = header(&response, "content-length").map(str::to_owned);
        self.report
            .check(length == Some(served.body.len().to_string()), || {
                format!(
                    "{what}: content-length {length:?}, GET sent {}",
                    served.body.len()
                )
            });
        let etag = header(&response, "etag");
        self.report.check(etag == Some(&served.etag), || {
            format!("{what}: etag {etag:?}, GET sent {}", served.etag)
        });
    }

    async fn conditional(
        &mut self,
        asset: &SuiteAsset,
        path: &str,
        served: &Served,
        other_etag: Option<&str>,
    ) {
        let accept = served.accept.map(|a| ("accept-encoding", a));
        let weak = format!("W/{}", served.etag);
        let listed = format!("\"nope\", {}", served.etag);
        for (tag, matches) in [
            (served.etag.as_str(), true),
            (weak.as_str(), true),
            (listed.as_str(), true),
            ("*", true),
            ("\"nope\"", false),
            ("garbage, ,,", false),
        ]
        .into_iter()
        .chain(other_etag.map(|t| (t, false)))
        {
            let what = format!(
                "{} accept-encoding {:?} if-none-match {tag}",
                asset.name, served.accept
            );
            let headers: Vec<(&str, &str)> =
                accept.into_iter().chain([("if-none-match", tag)]).collect();
            let Some(response) = self.get(path, &headers).await else {
                continue;
            };
            if matches {
                if self.expect_status(&response, StatusCode::NOT_MODIFIED, &what) {
                    self.report
                        .check(response.body().is_empty(), || format!("{what}: a body"));
                    let etag = header(&response, "etag");
                    self.report.check(etag == Some(&served.etag), || {
                        format!("{what}: 304 with etag {etag:?}")
                    });
                }
            } else if self.expect_status(&response, StatusCode::OK, &what) {
                self.report.check(*response.body() == served.body, || {
                    format!("{what}: not the same bytes as without the condition")
                });
            }
        }
    }

    #[allow(clippy::too_many_lines, reason = "the cases read best as one list")]
    async fn ranges(
        &mut self,
        asset: &SuiteAsset,
        path: &str,
        served: &Served,
        other_etag: Option<&str>,
    ) {
        let full = &served.body;
        let len = full.len();
        if len < 20 {
            return;
        }
        let accept = served.accept.map(|a| ("accept-encoding", a));
        let partial = [
            ("bytes=10-19".to_owned(), 10..20),
            ("bytes=-7".to_owned(), len - 7..len),
            (format!("bytes={}-", len - 3), len - 3..len),
            (format!("bytes=0-{}", len + 100), 0..len),
        ];
        for (range, expected) in partial {
            for if_range in [None, Some(served.etag.as_str())] {
                let what = format!(
                    "{} {:?} range {range:?} if-range {if_range:?}",
                    asset.name, served.encoding
                );
                let headers: Vec<(&str, &str)> = accept
                    .into_iter()
                    .chain([("range", range.as_str())])
                    .chain(if_range.map(|t| ("if-range", t)))
                    .collect();
                let Some(response) = self.get(path, &headers).await else {
                    continue;
                };
                if !self.expect_status(&response, StatusCode::PARTIAL_CONTENT, &what) {
                    continue;
                }
                let content_range = header(&response, "content-range").map(str::to_owned);
                let wanted = format!("bytes {}-{}/{len}", expected.start, expected.end - 1);
                self.report
                    .check(content_range.as_deref() == Some(&wanted), || {
                        format!("{what}: content-range {content_range:?}, not {wanted}")
                    });
                let encoding = header(&response, "content-encoding").map(str::to_owned);
                self.report.check(encoding == served.encoding, || {
                    format!(
                        "{what}: content-encoding {encoding:?}, the full answer had {:?}",
                        served.encoding
                    )
                });
                self.report
                    .check(response.body()[..] == full[expected.clone()], || {
                        format!("{what}: not bytes {expected:?} of the full answer")
                    });
                let length = header(&response, "content-length").map(str::to_owned);
                self.report
                    .check(length == Some(expected.len().to_string()), || {
                        format!("{what}: content-length {length:?}")
                    });
            }
        }
        // A condition that does not hold, or a range that cannot apply: all of it.
        let weak = format!("W/{}", served.etag);
        let whole = [
            ("bytes=10-19", Some("\"forged\"")),
            ("bytes=10-19", Some(weak.as_str())),
            ("bytes=10-19", Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            ("bytes=10-19", other_etag),
            ("bytes=0-1,3-4", None),
            ("bytes=5-2", None),
            ("bytes=a-b", None),
            ("items=0-5", None),
            ("bytes=-", None),
            ("bytes=", None),
            ("bytes=1-2-3", None),
            ("bytes=+1-5", None),
        ];
        for (range, if_range) in whole {
            if range == "bytes=10-19" && if_range.is_none() {
                continue;
            }
            let what = format!(
                "{} {:?} range {range:?} if-range {if_range:?}",
                asset.name, served.encoding
            );
            let headers: Vec<(&str, &str)> = accept
                .into_iter()
                .chain([("range", range)])
                .chain(if_range.map(|t| ("if-range", t)))
                .collect();
            let Some(response) = self.get(path, &headers).await else {
                continue;
            };
            if self.expect_status(&response, StatusCode::OK, &what) {
                self.report.check(*response.body() == *full, || {
                    format!("{what}: not the whole representation")
                });
            }
        }
        for range in [
            format!("bytes={len}-"),
            format!("bytes={}-{}", len + 5, len + 9),
            "bytes=-0".to_owned(),
            "bytes=99999999999999999999999-".to_owned(),
        ] {
            let what = format!("{} {:?} range {range:?}", asset.name, served.encoding);
            let headers: Vec<(&str, &str)> = accept
                .into_iter()
                .chain([("range", range.as_str())])
                .collect();
            let Some(response) = self.get(path, &headers).await else {
                continue;
            };
            if self.expect_status(&response, StatusCode::RANGE_NOT_SATISFIABLE, &what) {
                let content_range = header(&response, "content-range");
                let wanted = format!("bytes */{len}");
                self.report.check(content_range == Some(&wanted), || {
                    format!("{what}: content-range {content_range:?}, not {wanted}")
                });
                self.json_error(&response, &what);
            }
        }
    }

    /// Headers no client sends, on the first compressible asset.
    #[allow(clippy::too_many_lines, reason = "the cases read best as one list")]
    async fn hostile(&mut self, asset: &SuiteAsset) {
        let path = path(&asset.hash());
        let many: Vec<String> = (0..500).map(|i| format!("{i}-{i}")).collect();
        let many = format!("bytes={}", many.join(","));
        let huge_number = format!("bytes={}-", "9".repeat(6000));
        let huge_garbage = format!("bytes={}", "x-".repeat(3000));
        let tags: Vec<String> = (0..300).map(|i| format!("\"tag{i}\"")).collect();
        let tags = tags.join(", ");
        let long_accept = vec!["gzip;q=0.5"; 900].join(", ");
        let cases: [Case<'_>; 12] = [
            (
                "500 ranges",
                vec![("range", many.as_bytes())],
                StatusCode::OK,
            ),
            (
                "a 6000-digit range",
                vec![("range", huge_number.as_bytes())],
                StatusCode::RANGE_NOT_SATISFIABLE,
            ),
            (
                "6 KB of range garbage",
                vec![("range", huge_garbage.as_bytes())],
                StatusCode::OK,
            ),
            (
                "two range lines",
                vec![("range", b"bytes=0-1"), ("range", b"bytes=2-3")],
                StatusCode::OK,
            ),
            (
                "non-ASCII range",
                vec![("range", b"bytes=\xff-1")],
                StatusCode::OK,
            ),
            (
                "300 entity tags",
                vec![("if-none-match", tags.as_bytes())],
                StatusCode::OK,
            ),
            (
                "non-ASCII if-range",
                vec![("range", b"bytes=0-1"), ("if-range", b"\"\xfe\"")],
                StatusCode::OK,
            ),
            (
                "malformed accept-encoding elements",
                vec![("accept-encoding", b"br;q=2, ;;;, gzip;q=x, =")],
                StatusCode::OK,
            ),
            (
                "non-ASCII accept-encoding",
                vec![("accept-encoding", b"br\xff")],
                StatusCode::BAD_REQUEST,
            ),
            (
                "an accept-encoding over 8 KiB",
                vec![("accept-encoding", long_accept.as_bytes())],
                StatusCode::BAD_REQUEST,
            ),
            (
                "an accept-encoding refusing everything",
                vec![("accept-encoding", b"identity;q=0, *;q=0")],
                StatusCode::NOT_ACCEPTABLE,
            ),
            (
                "HEAD with a range",
                vec![("range", b"bytes=0-1")],
                StatusCode::OK,
            ),
        ];
        for (what, headers, status) in cases {
            let method = if what.starts_with("HEAD") {
                Method::HEAD
            } else {
                Method::GET
            };
            let what = format!("{} with {what}", asset.name);
            let Some(response) = self.send(method.clone(), &path, &headers).await else {
                continue;
            };
            if !self.expect_status(&response, status, &what) {
                continue;
            }
            let body = response.body();
            if status == StatusCode::OK && method == Method::GET {
                let encoding = header(&response, "content-encoding");
                self.report.check(
                    decode(encoding, body).is_some_and(|d| AssetHash::of(&d) == asset.hash()),
                    || format!("{what}: the body is not the whole asset"),
                );
            } else if method == Method::HEAD {
                self.report
                    .check(body.is_empty(), || format!("{what}: a body"));
            } else if status.is_client_error() {
                self.json_error(&response, &what);
                if status == StatusCode::BAD_REQUEST {
                    self.report.check(
                        String::from_utf8_lossy(body).contains("accept-encoding"),
                        || format!("{what}: the error does not name accept-encoding"),
                    );
                }
            }
        }
    }

    async fn unknown_and_methods(&mut self, known: Option<&SuiteAsset>) {
        let unknown = AssetHash::of(b"no service stores this");
        let unknown_path = path(&unknown);
        if let Some(response) = self.get(&unknown_path, &[]).await {
            let what = "an unknown asset";
            if self.expect_status(&response, StatusCode::NOT_FOUND, what) {
                self.json_error(&response, what);
            }
        }
        let Some(known) = known.map(|a| path(&a.hash())) else {
            return;
        };
        for method in [Method::POST, Method::DELETE, Method::PUT] {
            if let Some(response) = self.send(method.clone(), &known, &[]).await {
                self.expect_status(
                    &response,
                    StatusCode::METHOD_NOT_ALLOWED,
                    &format!("{method} {known}"),
                );
            }
        }
    }
}
