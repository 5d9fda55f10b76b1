//! `/admin/branches` and `/admin/channels`: branches behind channels (see
//! [`crate::store::channels`]), for the app of the URL.
//!
//! - `GET    /admin/branches`: each branch, its update count and the channels serving it
//! - `POST   /admin/branches` `{"name": "canary"}`: an empty branch
//! - `PATCH  /admin/branches/{name}` `{"name": "new"}`: rename
//! - `DELETE /admin/branches/{name}[?force=true]`: 409 while a channel points at it, or while
//!   it has updates without `force`
//! - `GET    /admin/channels`: `[{"name", "branch", "split": {"branch", "percent"} | null}]`
//! - `PUT    /admin/channels/{name}` `{"branch": "b"}`: serve one branch (ends a split)
//! - `PUT    /admin/channels/{name}/split` `{"branch": "b", "percent": 10}`: start or resize
//! - `DELETE /admin/channels/{name}/split?keep=main|split`: end the split
//!
//! Names follow the rule of names, without `/`; a bad one is a 400 naming the member or
//! path segment. Every change bumps the change counter and clears this server's cache.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::state::AppState;
use crate::store::channels::{self, BranchChange, Channel, Keep, checked_branch_name};
use crate::store::checked_name;

/// The routes, mounted behind the admin token.
pub fn router() -> axum::Router<AppState> {
    use axum::routing::{get, patch, put};
    axum::Router::new()
        .route("/branches", get(list_branches).post(create_branch))
        .route(
            "/branches/{name}",
            patch(rename_branch).delete(delete_branch),
        )
        .route("/channels", get(list_channels))
        .route("/channels/{name}", put(point_channel))
        .route(
            "/channels/{name}/split",
            put(split_channel).delete(end_split),
        )
}

/// The `{name}` path segment, checked with the rule of names (`/` cannot reach it).
fn path_name(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(name) = path.map_err(|e| ApiError::bad_request(e.body_text()).parameter("name"))?;
    checked_name("name", &name).map_err(|e| ApiError::in_parameter(e, "name"))
}

fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(b)| b).map_err(|e| ApiError::json_body(&e))
}

fn channel_json(channel: &Channel) -> Value {
    serde_json::to_value(channel).unwrap_or(Value::Null)
}

async fn list_branches(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let branches = channels::branches(state.store.as_ref(), &state.app).await?;
    Ok(Json(serde_json::to_value(branches).unwrap_or_default()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NameBody {
    name: String,
}

async fn create_branch(
    State(state): State<AppState>,
    name: Result<Json<NameBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let name = checked_branch_name("branch", &body(name)?.name)
        .map_err(|e| ApiError::in_field(e, "name"))?;
    state
        .store
        .change_branches(&state.app, BranchChange::Create(name.clone()))
        .await?;
    state.cache.invalidate();
    Ok((StatusCode::CREATED, Json(json!({"name": name}))))
}

async fn rename_branch(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    renamed: Result<Json<NameBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let from = path_name(path)?;
    let to = checked_branch_name("new branch name", &body(renamed)?.name)
        .map_err(|e| ApiError::in_field(e, "name"))?;
    state
        .store
        .change_branches(
            &state.app,
            BranchChange::Rename {
                from,
                to: to.clone(),
            },
        )
        .await?;
    state.cache.invalidate();
    Ok(Json(json!({"name": to})))
}

/// The query parameters of a request that knows only `allowed`, at most once each: an
/// unknown or repeated one is a 400 naming it.
fn query_params(
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    allowed: &'static [&'static str],
) -> Result<HashMap<&'static str, String>, ApiError> {
    let Query(pairs) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let mut params = HashMap::new();
    for (name, value) in pairs {
        let Some(known) = allowed.iter().copied().find(|a| *a == name) else {
            let shown: String = name.chars().take(80).collect();
            return Err(ApiError::bad_request(format!(
                "unknown query parameter {shown:?} (expected {allowed:?})"
            ))
            .parameter(shown));
        };
        if params.insert(known, value).is_some() {
            return Err(
                ApiError::bad_request(format!("{known} given more than once")).parameter(known),
            );
        }
    }
    Ok(params)
}

async fn delete_branch(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<StatusCode, ApiError> {
    let name = path_name(path)?;
    let force = match query_params(query, &["force"])?.remove("force").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::bad_request("force is true or false").parameter("force"));
        }
    };
    state
        .store
        .change_branches(&state.app, BranchChange::Delete { name, force })
        .await?;
    state.cache.invalidate();
    Ok(StatusCode::NO_CONTENT)
}

async fn list_channels(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let channels = channels::channels(state.store.as_ref(), &state.app).await?;
    Ok(Json(Value::Array(
        channels.iter().map(channel_json).collect(),
    )))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PointBody {
    branch: String,
}

async fn point_channel(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    point: Result<Json<PointBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let name = path_name(path)?;
    let branch = checked_branch_name("branch", &body(point)?.branch)
        .map_err(|e| ApiError::in_field(e, "branch"))?;
    let channel = channels::point(state.store.as_ref(), &state.app, &name, &branch)
        .await
        .map_err(|e| ApiError::in_parameter(e, "name"))?;
    state.cache.invalidate();
    Ok(Json(channel_json(&channel)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SplitBody {
    branch: String,
    percent: u8,
}

async fn split_channel(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    split: Result<Json<SplitBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let name = path_name(path)?;
    let split = body(split)?;
    let branch = checked_branch_name("split branch", &split.branch)
        .map_err(|e| ApiError::in_field(e, "branch"))?;
    if split.percent > 100 {
        return Err(
            ApiError::bad_request(format!("percent {} is above 100", split.percent))
                .field("percent"),
        );
    }
    let channel = channels::split(
        state.store.as_ref(),
        &state.app,
        &name,
        &branch,
        split.percent,
    )
    .await
    .map_err(|e| ApiError::in_field(e, "branch"))?;
    state.cache.invalidate();
    Ok(Json(channel_json(&channel)))
}

async fn end_split(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let name = path_name(path)?;
    let keep: Keep = query_params(query, &["keep"])?
        .remove("keep")
        .as_deref()
        .ok_or_else(|| {
            ApiError::bad_request("keep=main or keep=split is required").parameter("keep")
        })?
        .parse()
        .map_err(|e| ApiError::in_parameter(e, "keep"))?;
    let channel = channels::end_split(state.store.as_ref(), &state.app, &name, keep).await?;
    state.cache.invalidate();
    Ok(Json(channel_json(&channel)))
}
