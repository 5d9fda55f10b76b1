//! `POST /admin/publish`: the last call of a remote publish (see
//! [`crate::remote_publish`]), behind the app's admin token.
//!
//! The body is a [`PublishBody`]: one update per platform with its runtime version and
//! assets, whose blobs were uploaded before (`PUT /admin/blobs/{hash}`). Every update is
//! registered in one transaction, in the app of the URL, with fresh ids and a `createdAt`
//! stamped here: 201 with the updates; 409 `missing_blobs` naming the blobs to upload first.
//! With `"dry_run": true` everything is checked and nothing is written: 200 with the updates
//! that would be created and the blobs that are missing. The source maps of each update
//! (blobs uploaded the same way) are kept with it, see [`crate::source_maps`].

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use futures_util::{StreamExt as _, TryStreamExt as _};
use serde_json::{Value, json};
use uuid::Uuid;

use super::error::{ApiError, codes};
use super::state::AppState;
use crate::error::Error;
use crate::output::info_json;
use crate::remote_publish::PublishBody;
use crate::source_maps::{MAX_SOURCE_MAPS, checked_path};
use crate::store::{
    AssetHash, BlobRecord, NewUpdate, Platform, Scope, SourceMap, UpdateAsset, UpdateKind,
    checked_message, checked_name,
};

/// Blob lookups in flight per request (S3 answers each with a round trip).
const LOOKUPS: usize = 16;

/// `POST /admin/publish`.
pub async fn publish(
    State(state): State<AppState>,
    body: Result<Json<PublishBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(body) = body.map_err(|e| ApiError::json_body(&e))?;
    let (scopes, rollout_percent) = checked(&state, &body)?;
    // Read before looking at the blobs: a gc deleting one of them after this point makes
    // the insert fail instead of registering a reference to deleted bytes.
    let since = state.store.change_counter().await?;
    let (records, missing) = lookup(&state, &body).await?;
    if body.dry_run {
        let planned: Vec<Value> = scopes
            .iter()
            .map(|scope| {
                json!({
                    "app": scope.app,
                    "channel": scope.channel,
                    "runtime_version": scope.runtime_version,
                    "platform": scope.platform,
                })
            })
            .collect();
        return Ok((
            StatusCode::OK,
            Json(json!({ "dry_run": true, "updates": planned, "missing": missing })),
        ));
    }
    if !missing.is_empty() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            codes::MISSING_BLOBS,
            format!(
                "upload these blobs first (PUT /admin/blobs/{{hash}}): {}",
                missing.join(", ")
            ),
        ));
    }
    let group_id = Uuid::new_v4();
    let mut source_maps = Vec::new();
    let updates: Vec<NewUpdate> = body
        .updates
        .into_iter()
        .zip(scopes)
        .map(|(update, scope)| NewUpdate {
            id: {
                let id = Uuid::new_v4();
                source_maps.extend(update.source_maps.iter().map(|m| SourceMap {
                    update_id: id,
                    path: m.path.clone(),
                    hash: m.hash,
                }));
                id
            },
            scope,
            kind: UpdateKind::Update,
            message: body.message.clone(),
            group_id,
            launch_asset: Some(update.launch_asset),
            assets: update.assets,
            metadata: serde_json::Map::new(),
            extra: body.extra.clone(),
            rollout_percent,
            republished_from: None,
        })
        .collect();
    match state
        .store
        .insert_with_source_maps(&records, updates, Some(since), &source_maps)
        .await
    {
        Ok(inserted) => {
            state.cache.invalidate();
            let updates: Vec<Value> = inserted.iter().map(info_json).collect();
            Ok((StatusCode::CREATED, Json(json!({ "updates": updates }))))
        }
        Err(Error::BlobRemoved(hash)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            codes::BLOB_REMOVED,
            format!(
                "blob {} was removed by a concurrent gc: upload it again",
                hash.to_hex()
            ),
        )),
        Err(error) => Err(error.into()),
    }
}

/// The blob rows of the blobs of `body` that are stored, and the others (hex).
async fn lookup(
    state: &AppState,
    body: &PublishBody,
) -> Result<(Vec<BlobRecord>, Vec<String>), ApiError> {
    let assets: Vec<&UpdateAsset> = body
        .updates
        .iter()
        .flat_map(|u| std::iter::once(&u.launch_asset).chain(&u.assets))
        .collect();
    let hashes: Vec<AssetHash> = body.hashes().into_iter().collect();
    let found: Vec<(AssetHash, Option<crate::blobs::StoredBlob>)> =
        futures_util::stream::iter(hashes)
            .map(|hash| async move { Ok::<_, Error>((hash, state.blobs.stat(&hash).await?)) })
            .buffered(LOOKUPS)
            .try_collect()
            .await?;
    let mut records = Vec::with_capacity(found.len());
    let mut missing = Vec::new();
    for (hash, stored) in found {
        match stored {
            Some(stored) => records.push(BlobRecord {
                hash,
                size: stored.size,
                // Source maps are the blobs no asset names.
                content_type: assets
                    .iter()
                    .find(|a| a.hash == hash)
                    .map_or_else(|| "application/json".into(), |a| a.content_type.clone()),
                gzip_size: stored.gzip_size,
                br_size: stored.br_size,
            }),
            None => missing.push(hash.to_hex()),
        }
    }
    Ok((records, missing))
}

/// The scope of each update (in this app) and the rollout of a valid request.
fn checked(state: &AppState, body: &PublishBody) -> Result<(Vec<Scope>, u8), ApiError> {
    if body.updates.is_empty() {
        return Err(ApiError::bad_request("updates: at least one platform").field("updates"));
    }
    let platforms: BTreeSet<Platform> = body.updates.iter().map(|u| u.platform).collect();
    if platforms.len() != body.updates.len() {
        return Err(
            ApiError::bad_request("updates: at most one update per platform").field("updates"),
        );
    }
    let rollout_percent = body.rollout_percent.unwrap_or(100);
    if !(1..=100).contains(&rollout_percent) {
        return Err(ApiError::bad_request(format!(
            "rollout_percent {rollout_percent} must be 1 to 100"
        ))
        .field("rollout_percent"));
    }
    if let Some(message) = &body.message {
        checked_message(message).map_err(|e| ApiError::in_field(e, "message"))?;
    }
    let channel = match &body.channel {
        Some(channel) => {
            checked_name("channel", channel).map_err(|e| ApiError::in_field(e, "channel"))?
        }
        None => state.default_channel.clone(),
    };
    let mut scopes = Vec::with_capacity(body.updates.len());
    for (i, update) in body.updates.iter().enumerate() {
        checked_name("runtime version", &update.runtime_version)
            .map_err(|e| ApiError::in_field(e, format!("updates[{i}].runtime_version")))?;
        scopes.push(Scope::new(
            &state.app,
            &channel,
            &update.runtime_version,
            update.platform,
        )?);
        if update.source_maps.len() > MAX_SOURCE_MAPS {
            return Err(ApiError::bad_request(format!(
                "at most {MAX_SOURCE_MAPS} source maps per update"
            ))
            .field(format!("updates[{i}].source_maps")));
        }
        let mut paths = BTreeSet::new();
        for (j, map) in update.source_maps.iter().enumerate() {
            let field = || format!("updates[{i}].source_maps[{j}].path");
            checked_path(&map.path).map_err(|e| ApiError::in_field(e, field()))?;
            if !paths.insert(map.path.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "source map {:?} is listed twice",
                    map.path
                ))
                .field(field()));
            }
        }
        for (j, asset) in std::iter::once(&update.launch_asset)
            .chain(&update.assets)
            .enumerate()
        {
            asset.checked().map_err(|failed| {
                let (member, e) = *failed;
                let field = match j {
                    0 => format!("updates[{i}].launch_asset.{member}"),
                    j => format!("updates[{i}].assets[{}].{member}", j - 1),
                };
                ApiError::in_field(e, field)
            })?;
        }
    }
    Ok((scopes, rollout_percent))
}
