//! `GET /admin/updates/{id}/health?from=&to=`: an update's device counts over time, for the
//! admin page's charts.
//!
//! The answer is the update (as `GET /admin/updates/{id}` shows it, totals in `health`),
//! plus `series`: distinct installs per time bucket that were served the update
//! (`served`, the downloads of its manifest: the server does not count asset downloads per
//! update, an asset being shared by many), first reported running it (`launched`) and first
//! reported failing on it (`failed`); and `auto_rollback`: the policy, whether this update
//! is judged, whether its counts meet the policy now, and its automatic rollback if one
//! happened. The range is `from..to` (milliseconds since the Unix epoch), by default the
//! update's life so far; whatever its length it is split into at most
//! [`MAX_BUCKETS`](crate::store::device_reports::MAX_BUCKETS) buckets.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::Value;

use super::admin::{own_update, update_id};
use super::error::ApiError;
use super::state::AppState;
use crate::device_reports::rollback;
use crate::output::{info_json, with_health};
use crate::store::{Buckets, now_millis};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RangeQuery {
    from: Option<i64>,
    to: Option<i64>,
}

/// The handler.
pub(super) async fn show(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<RangeQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = update_id(path)?;
    let Query(range) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let update = own_update(&state, id).await?;
    let from = range.from.unwrap_or(update.info.created_at);
    let to = range
        .to
        .unwrap_or_else(|| now_millis().max(from.saturating_add(1)));
    let buckets = Buckets::covering(from, to)
        .map_err(|e| ApiError::in_parameter(e, if from < 0 { "from" } else { "to" }))?;
    let store = state.store.as_ref();
    let totals = store.health(&[id]).await?.remove(&id).unwrap_or_default();
    let series = store.health_series(id, buckets).await?;
    let auto_rollback =
        rollback::state(store, state.auto_rollback.as_ref(), &update.info, &totals).await?;
    let mut answer = with_health(info_json(&update.info), totals);
    if let Value::Object(map) = &mut answer {
        map.insert(
            "series".into(),
            serde_json::to_value(series).unwrap_or_default(),
        );
        map.insert(
            "auto_rollback".into(),
            serde_json::to_value(auto_rollback).unwrap_or_default(),
        );
    }
    Ok(Json(answer))
}
