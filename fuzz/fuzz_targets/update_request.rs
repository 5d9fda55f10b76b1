#![no_main]
//! Manifest and asset requests with fuzzer-chosen methods and headers.
//!
//! The input is a real header block (the seeds are requests the iOS and
//! Android clients send, plus edge cases) followed by headers chosen with
//! `arbitrary`, biased towards the protocol's own names. Every request must
//! end in a well-formed answer, never a panic:
//!
//! - `UpdateRequest::from_parts` either accepts (and then its normalised
//!   values hold their documented bounds) or refuses with 400/405/406 and a
//!   JSON body naming the problem;
//! - an accepted request resolved against an in-memory source (an update on
//!   iOS, a `rollBackToEmbedded` on Android) and answered by a signing
//!   responder gives 200/204/400/406 with the common headers, and a 200
//!   body that decodes (multipart) or is the manifest (JSON);
//! - the same request against an asset gives a plan whose headers match the
//!   body sent (`content-length`, `content-range`);
//! - `RequestHeaders::scan` finds each protocol header's values as the
//!   map's own lookups do.
//!
//! Seed layout: one `0x00` byte (no extra headers), then the block: the
//! method on the first line, one `name: value` per line after it.
use std::sync::{Arc, OnceLock};

use arbitrary::Arbitrary;
use bytes::Bytes;
use expo_codesign::{Signer, SignerSet};
use expo_manifest::{Manifest, Platform, RuntimeVersion, Timestamp};
use expo_updates::{
    ContentCoding, InMemoryAsset, InMemorySource, MAX_CLIENT_ID_LEN, MAX_FATAL_ERROR_LEN,
    PreparedDirective, PreparedUpdate, RequestHeader, RequestHeaders, Resolved, Responder, Target,
    UpdateRequest,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, request::Parts};
use libfuzzer_sys::fuzz_target;

/// The asset request headers (the manifest request's are `RequestHeader::ALL`).
#[derive(Debug, Clone, Copy, Arbitrary)]
enum AssetHeader {
    AcceptEncoding,
    IfNoneMatch,
    Range,
    IfRange,
}

impl AssetHeader {
    fn name(self) -> &'static str {
        match self {
            AssetHeader::AcceptEncoding => "accept-encoding",
            AssetHeader::IfNoneMatch => "if-none-match",
            AssetHeader::Range => "range",
            AssetHeader::IfRange => "if-range",
        }
    }
}

/// A header name, biased towards the ones the protocol reads, so mutations hit real code
/// paths.
#[derive(Debug, Arbitrary)]
enum Name<'a> {
    /// A request header of the protocol: `RequestHeader::ALL[index % its length]`.
    Protocol(u8),
    Asset(AssetHeader),
    Other(&'a str),
}

impl Name<'_> {
    /// The name; `None` for a made-up one `http` refuses.
    fn header_name(&self) -> Option<HeaderName> {
        match self {
            Name::Protocol(index) => {
                let all = RequestHeader::ALL;
                let header = all[usize::from(*index) % all.len()];
                Some(HeaderName::from_static(header.name()))
            }
            Name::Asset(header) => Some(HeaderName::from_static(header.name())),
            Name::Other(other) => HeaderName::from_bytes(other.as_bytes()).ok(),
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Extra<'a> {
    name: Name<'a>,
    value: &'a [u8],
}

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    extra: Vec<Extra<'a>>,
    /// The header block; last, so it takes the rest of the data.
    block: &'a [u8],
}

/// Bounds what one input may build (the `http` map has its own cap too).
const MAX_HEADERS: usize = 64;

struct World {
    source: InMemorySource,
    responder: Responder,
    asset: InMemoryAsset,
    manifest: Bytes,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let manifest = Manifest::from_json_slice(
            br#"{"id":"0754dad0-d200-d634-113c-ef1f26106028","createdAt":"2026-11-20T10:00:00.000Z",
            "runtimeVersion":"1","launchAsset":{"hash":"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU",
            "key":"bundle","contentType":"application/javascript","url":"https://u.example/a"},
            "assets":[],"metadata":{"branch":"main"},"extra":{}}"#,
        )
        .expect("fixture manifest");
        let update = Arc::new(PreparedUpdate::new(&manifest, None));
        let mut source = InMemorySource::new();
        let runtime = RuntimeVersion::new("1").expect("fixture runtime");
        for channel in [None, Some("production".to_owned())] {
            source.set(
                Target {
                    platform: Platform::Ios,
                    runtime_version: runtime.clone(),
                    channel: channel.clone(),
                },
                Resolved::Update(update.clone()),
            );
            let commit_time: Timestamp = "2026-11-21T08:00:00.000Z".parse().expect("fixture time");
            source.set(
                Target {
                    platform: Platform::Android,
                    runtime_version: runtime.clone(),
                    channel,
                },
                Resolved::Directive(Arc::new(PreparedDirective::roll_back_to_embedded(
                    commit_time,
                ))),
            );
        }
        let (signer, _) = Signer::from_pem(
            "main",
            include_str!("../../crates/expo-codesign/tests/fixtures/expo-private-key.pem"),
            Some(include_str!(
                "../../crates/expo-codesign/tests/fixtures/expo-certificate.pem"
            )),
        )
        .expect("fixture key");
        let asset = InMemoryAsset::new("image/png", &b"0123456789abcdef"[..])
            .expect("fixture asset")
            .with_variant(ContentCoding::Gzip, &b"gzip-bytes"[..])
            .with_variant(ContentCoding::Brotli, &b"br"[..]);
        World {
            source,
            responder: Responder::new().with_signers(SignerSet::new(signer)),
            asset,
            manifest: update.manifest_json().clone(),
        }
    })
}

/// Reads the seed's text block: the method, then `name: value` lines.
fn parse_block(block: &[u8], headers: &mut HeaderMap) -> Method {
    let mut lines = block.split(|b| *b == b'\n');
    let method = lines
        .next()
        .map(<[u8]>::trim_ascii)
        .and_then(|m| Method::from_bytes(m).ok())
        .unwrap_or(Method::GET);
    for line in lines.take(MAX_HEADERS) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    }
    method
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).expect("error bodies are JSON")
}

fn check_request(world: &World, parts: &Parts) {
    let response = block_on(world.responder.handle(&world.source, parts));
    let status = response.status();
    let headers = response.headers().clone();
    assert_eq!(headers["expo-protocol-version"], "1");
    assert_eq!(headers["expo-sfv-version"], "0");
    assert_eq!(headers["cache-control"], "private, max-age=0");
    let body = response.into_body().into_bytes();
    match UpdateRequest::from_parts(parts) {
        Err(err) => {
            assert!(matches!(err.status().as_u16(), 400 | 405 | 406), "{err}");
            assert_eq!(status, err.status());
            let value = json(&body);
            assert_eq!(value["error"]["code"], err.code().as_str());
            if err.status() == StatusCode::METHOD_NOT_ALLOWED {
                assert_eq!(headers["allow"], "GET, POST");
            }
        }
        Ok(request) => {
            assert!(parts.method == Method::GET || parts.method == Method::POST);
            if let Some(id) = request.client_id() {
                assert!(id.len() <= MAX_CLIENT_ID_LEN);
                assert!(!id.bytes().any(|b| b.is_ascii_uppercase()));
            }
            if let Some(fatal) = request.fatal_error() {
                // Cut to the limit in bytes; a lossy decode may widen bytes it cannot read.
                assert!(fatal.len() <= 3 * MAX_FATAL_ERROR_LEN);
            }
            assert!(
                request
                    .recent_failed_update_ids()
                    .iter()
                    .all(|id| !id.bytes().any(|b| b.is_ascii_uppercase()))
            );
            match status.as_u16() {
                200 => {
                    let content_type = headers["content-type"].to_str().expect("ASCII");
                    if content_type.starts_with("multipart/mixed") {
                        let parts = expo_multipart::decode(
                            content_type,
                            &body,
                            &expo_multipart::Limits::default(),
                        )
                        .expect("our multipart decodes");
                        assert!(!parts.is_empty());
                        for part in &parts {
                            let name = part.name().expect("named parts");
                            assert!(
                                ["manifest", "directive", "extensions", "certificate_chain"]
                                    .contains(&name)
                            );
                            if request.expect_signature().is_some()
                                && (name == "manifest" || name == "directive")
                            {
                                assert!(part.header("expo-signature").is_some());
                            }
                        }
                    } else {
                        assert_eq!(body, world.manifest);
                        assert_eq!(
                            headers.contains_key("expo-signature"),
                            request.expect_signature().is_some()
                        );
                    }
                }
                204 => {
                    assert!(body.is_empty());
                    assert!(!headers.contains_key("content-type"));
                }
                400 | 406 => {
                    let value = json(&body);
                    assert!(value["error"]["code"].is_string());
                }
                other => panic!("unexpected status {other}"),
            }
        }
    }
}

fn check_asset(world: &World, parts: &Parts) {
    let response = world.asset.respond(parts);
    let status = response.status().as_u16();
    let headers = response.headers();
    let body = response.body();
    match status {
        200 | 206 => {
            let len: usize = headers["content-length"]
                .to_str()
                .expect("ASCII")
                .parse()
                .expect("a number");
            if parts.method == Method::HEAD {
                assert!(body.is_empty());
            } else {
                assert_eq!(len, body.len());
            }
            assert_eq!(status == 206, headers.contains_key("content-range"));
            assert!(headers.contains_key("etag"));
        }
        304 => assert!(body.is_empty()),
        // Unsatisfiable: a JSON error naming `range`, and the length it is outside of.
        416 => {
            json(body);
            assert!(headers.contains_key("content-range"));
        }
        400 | 405 | 406 => {
            json(body);
        }
        other => panic!("unexpected asset status {other}"),
    }
}

fuzz_target!(|input: Input<'_>| {
    let world = world();
    let mut headers = HeaderMap::new();
    let method = parse_block(input.block, &mut headers);
    for extra in input.extra.iter().take(MAX_HEADERS) {
        let Some(name) = extra.name.header_name() else {
            continue;
        };
        if let Ok(value) = HeaderValue::from_bytes(extra.value) {
            headers.append(name, value);
        }
    }
    let Ok(request) = http::Request::builder()
        .method(method)
        .uri("/manifest")
        .body(())
    else {
        return;
    };
    // The one-walk scan the server reads agrees with the map's own lookups.
    let scanned = RequestHeaders::scan(&headers);
    for header in RequestHeader::ALL {
        assert_eq!(scanned.first(header), headers.get(header.name()));
        assert!(scanned.all(header).eq(headers.get_all(header.name())));
    }
    let (mut parts, ()) = request.into_parts();
    parts.headers = headers;
    check_request(world, &parts);
    check_asset(world, &parts);
});
