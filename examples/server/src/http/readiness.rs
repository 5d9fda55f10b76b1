//! `GET /health`: 200 `{"status":"ok"}` when the database answers, 503
//! `{"status":"error"}` otherwise. Why it failed goes to the log, and to callers with the
//! admin token (the database's error text names hosts, users and paths).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::admin::bearer_matches;
use super::state::AppState;

/// The readiness check.
pub async fn check(State(state): State<AppState>, headers: HeaderMap) -> (StatusCode, Json<Value>) {
    let admin = state
        .admin_token_digest
        .is_some_and(|digest| bearer_matches(&headers, &digest));
    match state.store.check_health().await {
        Ok(()) if admin => (
            StatusCode::OK,
            Json(json!({ "status": "ok", "database": "ok", "cached_scopes": state.cache.len() })),
        ),
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ok" }))),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            let body = if admin {
                json!({ "status": "error", "database": e.to_string() })
            } else {
                json!({ "status": "error" })
            };
            (StatusCode::SERVICE_UNAVAILABLE, Json(body))
        }
    }
}
