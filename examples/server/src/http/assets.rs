//! `GET /assets/{hash}`: blobs by content address, from memory or the blob store.
//!
//! Blobs small enough for the [`BlobMemory`](crate::blobs::BlobMemory) (the launch bundles
//! and images every install downloads) are answered from one shared in-memory copy; larger
//! ones stream from the blob store in large reads, within the memory budget of
//! [`StreamBudget`](crate::blobs::stream::StreamBudget).
//!
//! The URL names the content (SHA-256 hex, or the manifest's base64url), so responses are
//! immutable and cacheable for a year. The stored brotli or gzip variant is chosen from
//! `accept-encoding`; `If-None-Match`, single `Range`s (on the identity bytes) and HEAD
//! are honoured. A client that asks for a launch-asset patch may get `226 IM Used`
//! instead ([`super::patched`]).

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use bytes::Bytes;
use expo_accept::negotiate_encoding;
use expo_updates::ErrorCode;

use super::error::ApiError;
use super::state::AppState;
use crate::blobs::{ByteRange, ContentCoding};
use crate::error::Error;
use crate::store::{AssetHash, BlobRecord, parse_asset_hash};

pub use crate::blobs::IMMUTABLE;
/// `content-security-policy` of assets: nothing loads, nothing runs.
pub const ASSET_CSP: &str = "default-src 'none'; sandbox";
/// Longest `range` or `if-none-match` value read.
const MAX_CONDITIONAL_LEN: usize = 4096;

/// Serves one asset.
pub async fn asset(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path(hash) = path.map_err(|e| ApiError::bad_request(e.body_text()).parameter("hash"))?;
    let hash = parse_asset_hash(&hash).map_err(|e| ApiError::from(e).parameter("hash"))?;
    if let Some(patch) = super::patched::patch_answer(&state, hash, &headers).await {
        return Ok(patch);
    }
    let record = state
        .cache
        .blob(state.store.as_ref(), &hash)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no asset {hash}")))?;

    let range_header = header_str(&headers, header::RANGE);
    let range = match range_header {
        Some(value) => match parse_range(value, record.size) {
            RangeRequest::Satisfiable(range) => Some(range),
            RangeRequest::Unsatisfiable => {
                let mut response = ApiError::new(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    ErrorCode::RANGE_NOT_SATISFIABLE,
                    format!(
                        "range {value:?} is outside the asset ({} bytes)",
                        record.size
                    ),
                )
                .header("range")
                .into_response();
                if let Ok(value) = HeaderValue::from_str(&format!("bytes */{}", record.size)) {
                    response.headers_mut().insert(header::CONTENT_RANGE, value);
                }
                return Ok(response);
            }
            RangeRequest::Ignored => None,
        },
        None => None,
    };

    let encoding = if range.is_some() {
        ContentCoding::Identity
    } else {
        negotiate_encoding(
            headers
                .get(header::ACCEPT_ENCODING)
                .map(|v| v.to_str().unwrap_or_default()),
            &available(&record),
        )
        .map_err(|e| match e {
            expo_accept::Error::NotAcceptable { .. } => ApiError::new(
                StatusCode::NOT_ACCEPTABLE,
                ErrorCode::ENCODING_NOT_ACCEPTABLE,
                "accept-encoding refuses every stored encoding of this asset",
            )
            .header("accept-encoding"),
            other => {
                ApiError::bad_request(format!("accept-encoding: {other}")).header("accept-encoding")
            }
        })?
    };
    let etag = etag(&hash, encoding);
    if let Some(if_none_match) = header_str(&headers, header::IF_NONE_MATCH)
        && etag_matches(if_none_match, &etag)
    {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        common_headers(response.headers_mut(), &etag);
        return Ok(response);
    }

    let (body, len) = body(&state, &record, encoding, range).await?;
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    common_headers(headers, &etag);
    if let Ok(value) = HeaderValue::from_str(&record.content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if encoding != ContentCoding::Identity {
        headers.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(encoding.as_str()),
        );
    }
    if let Some(ByteRange { first, last }) = range {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        if let Ok(value) = HeaderValue::from_str(&format!("bytes {first}-{last}/{}", record.size)) {
            response.headers_mut().insert(header::CONTENT_RANGE, value);
        }
    }
    Ok(response)
}

/// The body: from memory when the blob is small enough, else streamed from the store.
async fn body(
    state: &AppState,
    record: &BlobRecord,
    encoding: ContentCoding,
    range: Option<ByteRange>,
) -> Result<(Body, u64), ApiError> {
    let hash = record.hash;
    let stored_len = match encoding {
        ContentCoding::Identity => Some(record.size),
        ContentCoding::Gzip => record.gzip_size,
        ContentCoding::Brotli => record.br_size,
    };
    if !stored_len.is_some_and(|len| state.blob_memory.admits(len)) {
        let reader = state
            .blobs
            .open(&hash, encoding, range)
            .await?
            .ok_or_else(|| missing(&hash, encoding))?;
        let len = reader.len;
        return Ok((Body::from_stream(state.streams.body(reader)), len));
    }
    let mut bytes = in_memory(state, &hash, encoding).await?;
    if let Some(range) = range {
        bytes = slice(&bytes, range).ok_or_else(|| {
            Error::Corrupt(format!(
                "blob {hash} holds {} bytes, not {}",
                bytes.len(),
                record.size
            ))
        })?;
    }
    let len = bytes.len() as u64;
    Ok((Body::from(bytes), len))
}

/// One coding of a blob from memory, read from the blob store (and kept) on a miss: once,
/// however many requests miss it together.
async fn in_memory(
    state: &AppState,
    hash: &AssetHash,
    encoding: ContentCoding,
) -> Result<Bytes, ApiError> {
    let bytes = state
        .blob_memory
        .get_or_load(hash, encoding, || async {
            state
                .blobs
                .read(hash, encoding)
                .await?
                .ok_or_else(|| missing(hash, encoding))
        })
        .await?;
    Ok(bytes)
}

fn missing(hash: &AssetHash, encoding: ContentCoding) -> Error {
    Error::Corrupt(format!(
        "blob {hash} ({encoding}) is registered but missing"
    ))
}

/// The bytes of `range`, `None` when the blob is shorter than its record says.
fn slice(bytes: &Bytes, range: ByteRange) -> Option<Bytes> {
    let first = usize::try_from(range.first).ok()?;
    let end = usize::try_from(range.last).ok()?.checked_add(1)?;
    (first < end && end <= bytes.len()).then(|| bytes.slice(first..end))
}

/// The stored codings, smallest first: the order of preference on equal quality.
fn available(record: &BlobRecord) -> Vec<ContentCoding> {
    let mut available = Vec::with_capacity(3);
    if record.br_size.is_some() {
        available.push(ContentCoding::Brotli);
    }
    if record.gzip_size.is_some() {
        available.push(ContentCoding::Gzip);
    }
    available.push(ContentCoding::Identity);
    available
}

fn common_headers(headers: &mut HeaderMap, etag: &str) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    untrusted_content(headers);
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
}

/// Assets are whatever an app exported (HTML and SVG included), served from this server's
/// origin: browsers must neither guess their type nor run them.
pub fn untrusted_content(headers: &mut HeaderMap) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(ASSET_CSP),
    );
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= MAX_CONDITIONAL_LEN)
}

/// A strong `ETag` per representation: the hash, suffixed with the coding.
fn etag(hash: &AssetHash, encoding: ContentCoding) -> String {
    match encoding {
        ContentCoding::Identity => format!("\"{}\"", hash.to_hex()),
        other => format!("\"{}-{other}\"", hash.to_hex()),
    }
}

/// `If-None-Match` uses weak comparison: `W/` prefixes are ignored.
fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match.trim() == "*"
        || if_none_match
            .split(',')
            .map(|tag| tag.trim().trim_start_matches("W/"))
            .any(|tag| tag == etag)
}

#[derive(Debug, PartialEq, Eq)]
enum RangeRequest {
    Satisfiable(ByteRange),
    Unsatisfiable,
    /// Not a single byte range we understand: serve the whole asset (RFC 9110 §14.2).
    Ignored,
}

fn parse_range(value: &str, size: u64) -> RangeRequest {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return RangeRequest::Ignored;
    };
    if spec.contains(',') {
        return RangeRequest::Ignored;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Ignored;
    };
    let number = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let range = match (first.trim(), last.trim()) {
        ("", suffix) => match number(suffix) {
            Some(0) => return RangeRequest::Unsatisfiable,
            Some(n) if size > 0 => ByteRange {
                first: size.saturating_sub(n),
                last: size - 1,
            },
            Some(_) => return RangeRequest::Unsatisfiable,
            None => return RangeRequest::Ignored,
        },
        (first, "") => match number(first) {
            Some(first) if first < size => ByteRange {
                first,
                last: size - 1,
            },
            Some(_) => return RangeRequest::Unsatisfiable,
            None => return RangeRequest::Ignored,
        },
        (first, last) => match (number(first), number(last)) {
            (Some(first), Some(last)) if first > last => return RangeRequest::Ignored,
            (Some(first), Some(_)) if first >= size => return RangeRequest::Unsatisfiable,
            (Some(first), Some(last)) => ByteRange {
                first,
                last: last.min(size.saturating_sub(1)),
            },
            _ => return RangeRequest::Ignored,
        },
    };
    RangeRequest::Satisfiable(range)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(first: u64, last: u64) -> RangeRequest {
        RangeRequest::Satisfiable(ByteRange { first, last })
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), range(0, 9));
        assert_eq!(parse_range("bytes=90-", 100), range(90, 99));
        assert_eq!(parse_range("bytes=-10", 100), range(90, 99));
        assert_eq!(parse_range("bytes=-1000", 100), range(0, 99));
        assert_eq!(parse_range("bytes=50-1000", 100), range(50, 99));
        assert_eq!(parse_range("bytes=100-", 100), RangeRequest::Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 100), RangeRequest::Unsatisfiable);
        for ignored in [
            "items=0-1",
            "bytes=0-1,3-4",
            "bytes=9-1",
            "bytes=a-b",
            "bytes=",
            "bytes=99999999999999999999-",
        ] {
            assert_eq!(
                parse_range(ignored, 100),
                RangeRequest::Ignored,
                "{ignored}"
            );
        }
    }

    #[test]
    fn etags() {
        let hash = AssetHash::of(b"x");
        let tag = etag(&hash, ContentCoding::Brotli);
        assert!(tag.ends_with("-br\""));
        assert!(etag_matches(&format!("\"a\", W/{tag}"), &tag));
        assert!(etag_matches("*", &tag));
        assert!(!etag_matches(&etag(&hash, ContentCoding::Identity), &tag));
    }
}
