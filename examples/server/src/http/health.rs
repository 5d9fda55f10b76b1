//! `GET /health`: 200 when the database answers, 503 otherwise.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::state::AppState;

/// The health check.
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.store.check_health().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "status": "ok", "database": "ok", "cached_scopes": state.cache.len() })),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "error", "database": e.to_string() })),
            )
        }
    }
}
