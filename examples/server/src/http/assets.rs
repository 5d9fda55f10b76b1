//! `GET /assets/{hash}`: blobs by content address, answered by the protocol crate
//! ([`expo_updates::asset_response`]: encoding negotiation, strong `ETag`s,
//! `If-None-Match`, `Range` and `If-Range` on every stored encoding, HEAD, and `226 IM
//! Used` patches from [`super::patched`]). This module only says where the bytes are.
//!
//! Blobs small enough for the [`BlobMemory`](crate::blobs::BlobMemory) (the launch bundles
//! and images every install downloads) are answered from one shared in-memory copy; larger
//! ones stream from the blob store in large reads, within the memory budget of
//! [`StreamBudget`](crate::blobs::stream::StreamBudget).
//!
//! The URL names the content (SHA-256 hex, or the manifest's base64url), so responses are
//! immutable and cacheable for a year.
//!
//! When the app signs asset tokens ([`crate::asset_headers`]), a request needs the valid
//! token for that very hash first: 401 without one, 403 otherwise, naming the header.

use std::ops::Range;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{RawPathParams, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use bytes::Bytes;
use expo_updates::{
    AssetBody, AssetDescription, AssetPatch, AssetSource, ErrorCode, ProtocolError, SourceError,
    StoredAsset,
};

use super::error::{ApiError, codes};
use super::state::AppState;
use crate::blobs::{ByteRange, ContentCoding};
use crate::error::Error;
use crate::store::{AssetHash, parse_asset_hash};

/// `content-security-policy` of assets: nothing loads, nothing runs.
pub const ASSET_CSP: &str = "default-src 'none'; sandbox";

/// Serves one asset (any method: the protocol layer answers 405 to those it does not
/// serve). Every answer, errors included, carries [`untrusted_content`].
pub async fn asset(
    State(state): State<AppState>,
    // The captured text as the router decoded it, not copied into a `String`.
    params: Result<RawPathParams, RawPathParamsRejection>,
    request: Request,
) -> Response {
    let hash = params
        .as_ref()
        .map(|params| params.iter().next().map(|(_, value)| value));
    let mut response = match hash {
        Err(e) => ApiError::bad_request(e.body_text())
            .parameter("hash")
            .into_response(),
        Ok(None) => ApiError::bad_request("no asset hash in the path")
            .parameter("hash")
            .into_response(),
        Ok(Some(hash)) => match parse_asset_hash(hash) {
            Err(e) => ApiError::from(e).parameter("hash").into_response(),
            Ok(hash) if let Err(refused) = token_check(&state, &hash, request.headers()) => {
                refused.into_response()
            }
            Ok(hash) => {
                let (parts, _) = request.into_parts();
                match expo_updates::asset_response(&Blobs(&state), &hash, &parts).await {
                    Ok(response) if response.status() == StatusCode::RANGE_NOT_SATISFIABLE => {
                        unsatisfiable(&response, &parts.headers)
                    }
                    Ok(response) => response.map(Body::new),
                    Err(e) => error_response(e, &hash),
                }
            }
        },
    };
    untrusted_content(response.headers_mut());
    response
}

/// With an asset token configured, the request's token for `hash`: 401 without one, 403
/// for one that is not valid (malformed, forged, another asset's, expired), each naming
/// the header.
fn token_check(
    state: &AppState,
    hash: &AssetHash,
    headers: &HeaderMap,
) -> std::result::Result<(), ApiError> {
    let Some(tokens) = state.asset_headers.tokens() else {
        return Ok(());
    };
    let name = tokens.header();
    let mut values = headers.get_all(name).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        let sent = headers.get_all(name).iter().count();
        return Err(if sent == 0 {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                codes::ASSET_TOKEN_REQUIRED,
                format!("this asset needs the {name} header the manifest gives for it"),
            )
        } else {
            ApiError::new(
                StatusCode::FORBIDDEN,
                codes::ASSET_TOKEN_INVALID,
                format!("{name} is sent {sent} times; send it once"),
            )
        }
        .header(name.as_str().to_owned()));
    };
    tokens
        .check(hash, value, std::time::SystemTime::now())
        .map_err(|why| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                codes::ASSET_TOKEN_INVALID,
                format!("the {name} header {why}"),
            )
            .header(name.as_str().to_owned())
        })
}

/// A 416 in the server's error shape, with the protocol layer's `content-range`.
fn unsatisfiable(response: &axum::http::Response<AssetBody>, request: &HeaderMap) -> Response {
    let range = request
        .get(header::RANGE)
        .map(|v| String::from_utf8_lossy(&v.as_bytes()[..v.len().min(100)]).into_owned());
    let size = response
        .headers()
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes */"))
        .unwrap_or("?");
    let mut answer = ApiError::new(
        StatusCode::RANGE_NOT_SATISFIABLE,
        ErrorCode::RANGE_NOT_SATISFIABLE,
        format!("range {range:?} is outside the asset ({size} bytes)"),
    )
    .header("range")
    .into_response();
    if let Some(content_range) = response.headers().get(header::CONTENT_RANGE) {
        answer
            .headers_mut()
            .insert(header::CONTENT_RANGE, content_range.clone());
    }
    answer
}

/// The server's answer to what the protocol layer refused.
fn error_response(error: ProtocolError, hash: &AssetHash) -> Response {
    let allow = match &error {
        ProtocolError::MethodNotAllowed { allow, .. } => Some(*allow),
        _ => None,
    };
    let mut response = api_error(error, hash).into_response();
    if let Some(allow) = allow {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    response
}

fn api_error(error: ProtocolError, hash: &AssetHash) -> ApiError {
    match error {
        ProtocolError::AssetNotFound => ApiError::not_found(format!("no asset {hash}")),
        ProtocolError::Source(source) => {
            tracing::error!(asset = %hash, error = %source, "asset request failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::INTERNAL_ERROR,
                "internal error (see the server log)",
            )
        }
        other => {
            let answer = ApiError::new(other.status(), other.code(), other.to_string());
            match other.header() {
                Some(name) => answer.header(name),
                None => answer,
            }
        }
    }
}

/// The blobs of an app, as the protocol layer reads them.
struct Blobs<'a>(&'a AppState);

impl<'a> AssetSource for Blobs<'a> {
    type Asset = Blob<'a>;

    async fn asset(&self, hash: &AssetHash) -> Result<Option<Blob<'a>>, SourceError> {
        let state = self.0;
        let Some(description) = state
            .cache
            .blob(state.store.as_ref(), hash)
            .await
            .map_err(SourceError::new)?
        else {
            return Ok(None);
        };
        Ok(Some(Blob { description, state }))
    }

    async fn patch(
        &self,
        hash: &AssetHash,
        request: &expo_patch::PatchRequest,
    ) -> Option<AssetPatch> {
        super::patched::patch_answer(self.0, *hash, *request).await
    }
}

/// One stored blob: from memory when small enough, else streamed from the blob store.
struct Blob<'a> {
    description: Arc<AssetDescription>,
    state: &'a AppState,
}

impl StoredAsset for Blob<'_> {
    fn description(&self) -> &AssetDescription {
        &self.description
    }

    async fn read(
        &self,
        coding: ContentCoding,
        range: Range<u64>,
    ) -> Result<AssetBody, SourceError> {
        let state = self.state;
        let hash = self.description.hash();
        let stored_len = self.description.len_of(coding).unwrap_or(0);
        if !state.blob_memory.admits(stored_len) {
            let whole = range.start == 0 && range.end == stored_len;
            let byte_range = (!whole).then(|| ByteRange {
                first: range.start,
                last: range.end - 1,
            });
            let reader = state
                .blobs
                .open(&hash, coding, byte_range)
                .await
                .map_err(SourceError::new)?
                .ok_or_else(|| SourceError::new(missing(&hash, coding)))?;
            let len = reader.len;
            if len != range.end - range.start {
                return Err(SourceError::new(Error::Corrupt(format!(
                    "blob {hash} ({coding}) gave {len} bytes for {range:?}"
                ))));
            }
            return Ok(AssetBody::from_stream(len, state.streams.body(reader)));
        }
        let bytes = in_memory(state, &hash, coding)
            .await
            .map_err(SourceError::new)?;
        slice(&bytes, &range).map(AssetBody::full).ok_or_else(|| {
            SourceError::new(Error::Corrupt(format!(
                "blob {hash} ({coding}) holds {} bytes, not {stored_len}",
                bytes.len()
            )))
        })
    }
}

/// One coding of a blob from memory, read from the blob store (and kept) on a miss: once,
/// however many requests miss it together.
async fn in_memory(
    state: &AppState,
    hash: &AssetHash,
    encoding: ContentCoding,
) -> Result<Bytes, Error> {
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
fn slice(bytes: &Bytes, range: &Range<u64>) -> Option<Bytes> {
    let start = usize::try_from(range.start).ok()?;
    let end = usize::try_from(range.end).ok()?;
    (start <= end && end <= bytes.len()).then(|| bytes.slice(start..end))
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
