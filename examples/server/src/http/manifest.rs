//! `GET|POST /manifest`: the Expo Updates protocol endpoint.
//!
//! Requests are parsed and responses rendered by the protocol layer (`expo-updates`); this
//! server resolves the update from the [`ManifestCache`](super::cache::ManifestCache).
//! Until that layer is wired in, the endpoint answers 503 with a JSON error.

use axum::http::StatusCode;

use super::error::ApiError;

/// The manifest endpoint.
pub async fn manifest() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "not_implemented",
        "manifest responses are not available in this build yet",
    )
}
