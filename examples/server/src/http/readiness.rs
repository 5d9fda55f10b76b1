//! `GET /health`: 200 `{"status":"ok"}` when the database answers, 503
//! `{"status":"error"}` otherwise, with the `error` member of every error answer
//! ([`expo_updates::ErrorBody`], code `database_unavailable`). Why it failed goes to the
//! log, and to callers with the admin token (the database's error text names hosts, users
//! and paths).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use expo_updates::ErrorBody;
use serde_json::{Value, json};

use super::admin::bearer_matches;
use super::error::codes;
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
            let message = if admin {
                format!("the database does not answer: {e}")
            } else {
                "the database does not answer".to_owned()
            };
            let error = ErrorBody::new(codes::DATABASE_UNAVAILABLE, message);
            let mut body = json!(error);
            body["status"] = json!("error");
            if admin {
                body["database"] = json!(e.to_string());
            }
            (StatusCode::SERVICE_UNAVAILABLE, Json(body))
        }
    }
}
