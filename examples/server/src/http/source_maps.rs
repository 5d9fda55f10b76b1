//! The source maps of an update, behind the admin token (see [`crate::source_maps`]):
//!
//! - `GET /admin/updates/{id}/sourcemaps` → a [`SourceMapIndex`] (path, hash, size of each)
//! - `GET /admin/updates/{id}/sourcemaps/{hash}` → the bytes of one, `application/json`
//!
//! Another app's update answers 404, as the other admin routes.

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse as _, Response};

use super::admin::{own_update, update_id};
use super::error::ApiError;
use super::state::AppState;
use crate::blobs::ContentCoding;
use crate::source_maps::SourceMapIndex;
use crate::store::parse_asset_hash;

/// `GET /admin/updates/{id}/sourcemaps`.
pub async fn list(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<SourceMapIndex>, ApiError> {
    let id = update_id(path)?;
    own_update(&state, id).await?;
    let source_maps = state.store.source_maps(id).await?;
    Ok(Json(SourceMapIndex {
        update_id: id,
        source_maps,
    }))
}

/// `GET /admin/updates/{id}/sourcemaps/{hash}`.
pub async fn download(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((id, hash)) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let id = update_id(Ok(Path(id)))?;
    let hash = parse_asset_hash(&hash).map_err(|e| ApiError::in_parameter(e, "hash"))?;
    own_update(&state, id).await?;
    // Only a blob this update lists as a source map: the route is no general blob reader.
    let listed = state
        .store
        .source_maps(id)
        .await?
        .into_iter()
        .any(|map| map.hash == hash);
    if !listed {
        return Err(ApiError::not_found(format!(
            "update {id} has no source map {}",
            hash.to_hex()
        )));
    }
    let reader = state
        .blobs
        .open(&hash, ContentCoding::Identity, None)
        .await?
        .ok_or_else(|| {
            ApiError::from(crate::error::Error::Corrupt(format!(
                "source map blob {} is missing from the blob store",
                hash.to_hex()
            )))
        })?;
    let mut response =
        Body::from_stream(tokio_util::io::ReaderStream::new(reader.reader)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(reader.len));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}
