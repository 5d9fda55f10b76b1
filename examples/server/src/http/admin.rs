//! `/admin`: the CLI's operations over HTTP, behind a bearer token.
//!
//! Every app has its own: `/admin` is the default app's, `/{app}/admin` another app's, each
//! behind that app's token and acting on that app's updates only (another app's update ids
//! answer 404, naming another app 403).
//!
//! - `GET  /admin/updates?app=&channel=&runtime_version=&platform=&limit=` (with `health`)
//! - `GET  /admin/updates/{id}` (with `health`: devices that launched it and failed on it)
//! - `GET  /admin/updates/{id}/health?from=&to=`: those counts over time and the automatic
//!   rollback state, see [`super::update_health`]
//! - `POST /admin/updates/{id}/republish` `{"branch": "production", "message": "…"}` (or
//!   `"channel"`: the branch that channel points at)
//! - `POST /admin/rollback` `{"to": "<id>"}`, or `{"branch": "…", "runtime_version": "…",
//!   "platform": "ios", "embedded": true}` (or `"channel"`: the branch it points at)
//! - `POST /admin/updates/{id}/rollout` `{"percent": 50}`, or `{"revert": true}`
//! - `GET  /admin/scopes`: every (app, branch, runtime version, platform) with updates (the
//!   member is named `channel`: the branch of a channel without a row)
//! - branches and the channels serving them: see [`super::branches`]
//! - promotion from another server: see [`super::import`]
//! - `POST /admin/publish`: the last call of a remote publish, see [`super::publish`]
//! - `GET  /admin/updates/{id}/sourcemaps[/{hash}]`: see [`super::source_maps`]
//! - `GET  /admin/ui`: the admin page (no token: the page asks for it, see
//!   [`super::admin_ui`])
//!
//! The token is compared in constant time (as SHA-256 digests, so its length does not leak
//! either).

use axum::Json;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use axum::routing::{get, post, put};
use expo_updates::ErrorCode;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use uuid::Uuid;

use super::error::{ApiError, codes};
use super::state::AppState;
use super::{admin_ui, import, publish, source_maps, update_health};
use crate::ops;
use crate::output::{info_json, update_json, with_channels, with_health};
use crate::store::channels;
use crate::store::{Platform, UpdateFilter, checked_message, checked_name, rollout};

/// Most updates one listing returns.
const MAX_LIMIT: u32 = 1000;

/// The admin routes, with the token check in front.
pub fn router(state: AppState) -> axum::Router<AppState> {
    axum::Router::new()
        .route("/updates", get(list))
        .route("/updates/{id}", get(show))
        .route("/updates/{id}/health", get(update_health::show))
        .route("/updates/{id}/republish", post(republish))
        .route("/updates/{id}/rollout", post(set_rollout))
        .route("/rollback", post(rollback))
        .route("/scopes", get(scopes))
        .merge(super::branches::router())
        .route(
            "/blobs/missing",
            post(import::missing).layer(DefaultBodyLimit::max(import::MAX_LIST_BODY)),
        )
        .route(
            "/blobs/{hash}",
            put(import::upload).layer(DefaultBodyLimit::max(import::MAX_BLOB_UPLOAD)),
        )
        .route(
            "/import",
            post(import::import).layer(DefaultBodyLimit::max(import::MAX_LIST_BODY)),
        )
        .route("/updates/{id}/sourcemaps", get(source_maps::list))
        .route(
            "/updates/{id}/sourcemaps/{hash}",
            get(source_maps::download),
        )
        .route(
            "/publish",
            post(publish::publish).layer(DefaultBodyLimit::max(import::MAX_LIST_BODY)),
        )
        .layer(axum::middleware::from_fn_with_state(state, authorize))
        // The page holds no data: it asks for the token and calls the routes above.
        .merge(admin_ui::router())
}

/// Whether `headers` carry `Authorization: Bearer T` with `T`'s digest `expected`
/// (compared in constant time).
pub fn bearer_matches(headers: &axum::http::HeaderMap, expected: &[u8; 32]) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .is_some_and(|(_, token)| bool::from(token_digest(token.trim()).ct_eq(expected)))
}

/// The digest the token is compared as.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

async fn authorize(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(expected) = state.admin_token_digest else {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            codes::ADMIN_DISABLED,
            "the admin API is disabled: start the server with --admin-token",
        )
        .into_response();
    };
    if bearer_matches(request.headers(), &expected) {
        next.run(request).await
    } else {
        unauthorized()
    }
}

/// `401` asking for a bearer token.
pub fn unauthorized() -> Response {
    let mut response = ApiError::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::UNAUTHORIZED,
        "missing or wrong bearer token",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

fn platform_filter(platform: Option<&str>) -> Result<Option<Vec<Platform>>, crate::error::Error> {
    match platform {
        None | Some("all") => Ok(None),
        Some(name) => Ok(Some(vec![name.parse()?])),
    }
}

/// The `message` member of a body, refused as the store refuses it.
fn message(message: Option<&str>) -> Result<(), ApiError> {
    message
        .map_or(Ok(()), checked_message)
        .map_err(|e| ApiError::in_field(e, "message"))
}

/// A name sent as `what` (a query parameter or body member): refused with the store's rule.
fn name(what: &'static str, value: Option<String>) -> Result<Option<String>, crate::error::Error> {
    value.map(|v| checked_name(what, &v)).transpose()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    app: Option<String>,
    channel: Option<String>,
    runtime_version: Option<String>,
    platform: Option<String>,
    limit: Option<u32>,
}

async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = query.limit.unwrap_or(50);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(
            ApiError::bad_request(format!("limit must be 1 to {MAX_LIMIT}")).parameter("limit"),
        );
    }
    let filter = UpdateFilter {
        app: Some(this_app(&state, query.app).map_err(|e| e.parameter("app"))?),
        channel: name("channel", query.channel)
            .map_err(|e| ApiError::in_parameter(e, "channel"))?,
        runtime_version: name("runtime version", query.runtime_version)
            .map_err(|e| ApiError::in_parameter(e, "runtime_version"))?,
        platform: platform_filter(query.platform.as_deref())
            .map_err(|e| ApiError::in_parameter(e, "platform"))?
            .and_then(|p| p.first().copied()),
        before: None,
        limit,
    };
    let updates = state.store.list(&filter).await?;
    let ids: Vec<Uuid> = updates.iter().map(|u| u.id).collect();
    let health = state.store.health(&ids).await?;
    let serving = channels::serving(state.store.as_ref(), [&*state.app]).await?;
    let rows = updates.iter().map(|u| {
        let row = with_health(info_json(u), health.get(&u.id).copied().unwrap_or_default());
        with_channels(row, u, &serving)
    });
    Ok(Json(Value::Array(rows.collect())))
}

/// The app a request acts on: the one of the URL it came to. Naming another one is refused
/// (a token opens one app only).
fn this_app(state: &AppState, named: Option<String>) -> Result<String, ApiError> {
    match named {
        Some(app) if *app != *state.app => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            codes::WRONG_APP,
            format!(
                "this is the admin API of app {:?}: use /{app}/admin for app {app:?}",
                &*state.app
            ),
        )),
        _ => Ok(state.app.to_string()),
    }
}

/// The update `id` if it belongs to this app: another app's updates do not exist here.
pub(super) async fn own_update(
    state: &AppState,
    id: Uuid,
) -> Result<crate::store::Update, ApiError> {
    state
        .store
        .update(id)
        .await?
        .filter(|update| *update.info.scope.app == *state.app)
        .ok_or_else(|| ApiError::not_found(format!("no update with id {id}")))
}

pub(super) fn update_id(path: Result<Path<String>, PathRejection>) -> Result<Uuid, ApiError> {
    let Path(id) = path.map_err(|e| ApiError::bad_request(e.body_text()).parameter("id"))?;
    Uuid::parse_str(&id).map_err(|_| {
        let shown: String = id.chars().take(80).collect();
        ApiError::bad_request(format!("not an update id: {shown:?}")).parameter("id")
    })
}

async fn show(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = update_id(path)?;
    let update = own_update(&state, id).await?;
    let health = state
        .store
        .health(&[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    let serving = channels::serving(state.store.as_ref(), [&*state.app]).await?;
    let value = with_health(update_json(&update), health);
    Ok(Json(with_channels(value, &update.info, &serving)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RepublishBody {
    channel: Option<String>,
    branch: Option<String>,
    message: Option<String>,
}

async fn republish(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<RepublishBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = update_id(path)?;
    let body = optional_body(body)?;
    let channel = name("channel", body.channel).map_err(|e| ApiError::in_field(e, "channel"))?;
    let branch = name("branch", body.branch).map_err(|e| ApiError::in_field(e, "branch"))?;
    message(body.message.as_deref())?;
    own_update(&state, id).await?;
    let branch = match (branch, channel) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request("send branch or channel, not both").field("channel"));
        }
        (Some(branch), None) => Some(branch),
        (None, Some(channel)) => Some(branch_of(&state, &channel).await?),
        (None, None) => None,
    };
    let update = ops::republish(state.store.as_ref(), id, branch.as_deref(), body.message).await?;
    state.cache.invalidate();
    Ok((
        StatusCode::CREATED,
        Json(Value::Array(vec![info_json(&update)])),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RollbackBody {
    to: Option<Uuid>,
    #[serde(default)]
    embedded: bool,
    app: Option<String>,
    channel: Option<String>,
    branch: Option<String>,
    runtime_version: Option<String>,
    platform: Option<String>,
    message: Option<String>,
}

/// The branch channel `channel` of this app points at (its main branch during a split).
async fn branch_of(state: &AppState, channel: &str) -> Result<String, ApiError> {
    Ok(
        crate::store::channels::channel(state.store.as_ref(), &state.app, channel)
            .await?
            .branch,
    )
}

async fn rollback(
    State(state): State<AppState>,
    body: Result<Json<RollbackBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body = optional_body(body)?;
    message(body.message.as_deref())?;
    let store = state.store.as_ref();
    let updates = if let Some(to) = body.to {
        if body.embedded
            || body.channel.is_some()
            || body.branch.is_some()
            || body.runtime_version.is_some()
        {
            return Err(ApiError::bad_request(
                "\"to\" names the update: it goes without embedded, channel, branch or \
                 runtime_version",
            )
            .field("to"));
        }
        if body.app.is_some() {
            return Err(
                ApiError::bad_request("\"to\" names the update: it goes without app").field("to"),
            );
        }
        own_update(&state, to).await?;
        vec![ops::rollback_to(store, to, body.message).await?]
    } else {
        let runtime = name("runtime version", body.runtime_version)
            .map_err(|e| ApiError::in_field(e, "runtime_version"))?
            .ok_or_else(|| {
                ApiError::bad_request("runtime_version is required without \"to\"")
                    .field("runtime_version")
            })?;
        let app = this_app(&state, body.app).map_err(|e| e.field("app"))?;
        let branch = name("branch", body.branch).map_err(|e| ApiError::in_field(e, "branch"))?;
        let channel =
            name("channel", body.channel).map_err(|e| ApiError::in_field(e, "channel"))?;
        let channel = match (branch, channel) {
            (Some(_), Some(_)) => {
                return Err(
                    ApiError::bad_request("send branch or channel, not both").field("channel")
                );
            }
            (Some(branch), None) => branch,
            (None, channel) => {
                let channel = channel.unwrap_or_else(|| state.default_channel.clone());
                branch_of(&state, &channel).await?
            }
        };
        let platforms = platform_filter(body.platform.as_deref())
            .map_err(|e| ApiError::in_field(e, "platform"))?;
        if body.embedded {
            ops::rollback_to_embedded(
                store,
                &app,
                &channel,
                &runtime,
                platforms.as_deref(),
                body.message,
            )
            .await?
        } else {
            ops::rollback_previous(
                store,
                &app,
                &channel,
                &runtime,
                platforms.as_deref(),
                body.message,
            )
            .await?
        }
    };
    state.cache.invalidate();
    Ok((
        StatusCode::CREATED,
        Json(Value::Array(updates.iter().map(info_json).collect())),
    ))
}

async fn scopes(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut scopes = state.store.scopes().await?;
    scopes.retain(|scope| *scope.app == *state.app);
    Ok(Json(serde_json::to_value(scopes).unwrap_or_default()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RolloutBody {
    percent: Option<u8>,
    #[serde(default)]
    revert: bool,
    message: Option<String>,
}

async fn set_rollout(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<RolloutBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = update_id(path)?;
    let Json(body) = body.map_err(|e| ApiError::json_body(&e))?;
    message(body.message.as_deref())?;
    own_update(&state, id).await?;
    let store = state.store.as_ref();
    let answer = match (body.percent, body.revert) {
        (Some(percent), false) => {
            let update = rollout::set_percent(store, id, percent)
                .await
                .map_err(|e| ApiError::in_field(e, "percent"))?;
            (StatusCode::OK, Json(info_json(&update)))
        }
        (None, true) => {
            let update = rollout::revert(store, id, body.message).await?;
            (
                StatusCode::CREATED,
                Json(Value::Array(vec![info_json(&update)])),
            )
        }
        _ => {
            return Err(ApiError::bad_request(
                "send either {\"percent\": 0..100} or {\"revert\": true}",
            )
            .field("percent"));
        }
    };
    state.cache.invalidate();
    Ok(answer)
}

/// An absent body (no content type, empty) means all defaults; a present one must parse.
fn optional_body<T: Default>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    match body {
        Ok(Json(body)) => Ok(body),
        Err(JsonRejection::MissingJsonContentType(_)) => Ok(T::default()),
        Err(e) => Err(ApiError::json_body(&e)),
    }
}
