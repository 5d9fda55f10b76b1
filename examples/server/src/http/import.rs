//! The receiving side of `promote` (see [`crate::promote`]), behind the admin token:
//!
//! - `POST /admin/blobs/missing` `{"hashes": ["<hex>", …]}` → `{"missing": ["<hex>", …]}`
//! - `PUT  /admin/blobs/{hash}` with the identity bytes as body and their `content-type`:
//!   the SHA-256 of the body must be `hash`; the server precompresses and stores it. The
//!   body streams to a temporary file while it is hashed (a wrong or oversized body costs
//!   no memory), and the memory the compression needs (three times the body: the bytes and
//!   up to two variants) is reserved from [`UPLOAD_MEMORY_MIB`] before the body is read:
//!   an upload that does not fit now is answered 503 with `retry-after`. Each upload is
//!   recorded: `gc` removes uploads that no import registered within a day of the last one.
//! - `POST /admin/import` an [`ImportRequest`]: 201 with the new update, 200 when an earlier
//!   promotion registered it already, 409 when blobs are missing

use std::sync::LazyLock;

use axum::Json;
use axum::body::Body;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use futures_util::{StreamExt as _, TryStreamExt as _};
use serde_json::{Value, json};

use super::error::{ApiError, codes};
use super::state::AppState;
use crate::compress;
use crate::error::Error;
use crate::output::info_json;
use crate::promote::{
    ImportRequest, ImportStatus, MAX_HASHES, MissingRequest, MissingResponse, promoted_id,
};
use crate::store::{
    AssetHash, BlobRecord, MAX_NAME_LEN, NewUpdate, Scope, UpdateKind, checked_message,
    checked_name, parse_asset_hash,
};

/// Largest blob upload: the largest file `publish` accepts.
pub const MAX_BLOB_UPLOAD: usize = 512 << 20;

/// Memory (MiB) the uploads being compressed may hold together: one upload of the largest
/// size (its bytes and two variants), or several smaller ones.
pub const UPLOAD_MEMORY_MIB: u32 = 3 * 512;

/// Seconds a client is told to wait when the upload memory is taken.
const UPLOAD_RETRY_AFTER: &str = "10";

/// The reservation of upload memory, shared by every app's routes.
static UPLOAD_MEMORY: LazyLock<tokio::sync::Semaphore> =
    LazyLock::new(|| tokio::sync::Semaphore::new(UPLOAD_MEMORY_MIB as usize));

/// Largest `missing` or `import` body (thousands of hashes or assets).
pub const MAX_LIST_BODY: usize = 4 << 20;

/// Blob lookups in flight per request (S3 answers each with a round trip).
const LOOKUPS: usize = 16;

/// Compressions at once, across requests: one per core, as `publish`.
static COMPRESSING: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    tokio::sync::Semaphore::new(
        std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
    )
});

/// The hashes of `hashes` the blob store lacks.
async fn absent(state: &AppState, hashes: Vec<AssetHash>) -> Result<Vec<AssetHash>, ApiError> {
    let found: Vec<(AssetHash, bool)> = futures_util::stream::iter(hashes)
        .map(|hash| async move {
            let stored = state.blobs.stat(&hash).await?;
            Ok::<_, Error>((hash, stored.is_some()))
        })
        .buffered(LOOKUPS)
        .try_collect()
        .await?;
    Ok(found
        .into_iter()
        .filter_map(|(hash, stored)| (!stored).then_some(hash))
        .collect())
}

/// `POST /admin/blobs/missing`.
pub async fn missing(
    State(state): State<AppState>,
    body: Result<Json<MissingRequest>, JsonRejection>,
) -> Result<Json<MissingResponse>, ApiError> {
    let Json(body) = body.map_err(|e| ApiError::json_body(&e))?;
    if body.hashes.len() > MAX_HASHES {
        return Err(
            ApiError::bad_request(format!("at most {MAX_HASHES} hashes per request"))
                .field("hashes"),
        );
    }
    let hashes = body
        .hashes
        .iter()
        .enumerate()
        .map(|(i, h)| {
            parse_asset_hash(h).map_err(|e| ApiError::in_field(e, format!("hashes[{i}]")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let missing = absent(&state, hashes).await?;
    Ok(Json(MissingResponse {
        missing: missing.iter().map(AssetHash::to_hex).collect(),
    }))
}

/// `PUT /admin/blobs/{hash}`.
pub async fn upload(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match receive(&state, path, &headers, body).await {
        Ok(answer) => answer.into_response(),
        Err(Refusal::Busy(error)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, UPLOAD_RETRY_AFTER)],
            error,
        )
            .into_response(),
        Err(Refusal::Api(error)) => error.into_response(),
    }
}

/// Why an upload was not stored.
enum Refusal {
    /// The upload memory is taken: retry later.
    Busy(ApiError),
    /// Anything else.
    Api(ApiError),
}

impl<E: Into<ApiError>> From<E> for Refusal {
    fn from(error: E) -> Self {
        Self::Api(error.into())
    }
}

async fn receive(
    state: &AppState,
    path: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), Refusal> {
    let Path(hash) = path.map_err(|e| ApiError::bad_request(e.body_text()).parameter("hash"))?;
    let hash = parse_asset_hash(&hash).map_err(|e| ApiError::in_parameter(e, "hash"))?;
    let content_type = content_type(headers)?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BLOB_UPLOAD as u64) {
        return Err(too_large().into());
    }
    // Reserved before reading: a body this server could not compress now costs nothing.
    let size_mib = declared
        .unwrap_or(MAX_BLOB_UPLOAD as u64)
        .div_ceil(1 << 20)
        .max(1);
    let need = u32::try_from(size_mib * 3)
        .unwrap_or(UPLOAD_MEMORY_MIB)
        .min(UPLOAD_MEMORY_MIB);
    let Ok(reserved) = UPLOAD_MEMORY.try_acquire_many(need) else {
        return Err(Refusal::Busy(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            codes::BUSY,
            format!("other uploads are being compressed; retry in {UPLOAD_RETRY_AFTER} s"),
        )));
    };
    let spooled = Spooled::receive(body).await?;
    if spooled.hash != hash {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            codes::HASH_MISMATCH,
            format!(
                "the body's SHA-256 is {}, not {}",
                spooled.hash.to_hex(),
                hash.to_hex()
            ),
        )
        .into());
    }
    let answer = |status, size: u64| (status, Json(json!({ "hash": hash.to_hex(), "size": size })));
    // Recorded before the bytes are stored (and again when they already are: the client is
    // about to import them): `gc` removes uploads no import registered within a grace period.
    state.store.record_upload(&hash, spooled.size).await?;
    if let Some(stored) = state.blobs.stat(&hash).await? {
        return Ok(answer(StatusCode::OK, stored.size));
    }
    let body = spooled.read().await?;
    let permit = COMPRESSING
        .acquire()
        .await
        .map_err(|e| Error::Task(e.to_string()))?;
    let prepared = tokio::task::spawn_blocking(move || {
        compress::prepare(hash, body, &content_type, compress::BROTLI_QUALITY)
    })
    .await
    .map_err(|e| Error::Task(e.to_string()))?;
    drop(permit);
    let stored = state.blobs.put(prepared).await?;
    drop(reserved);
    Ok(answer(StatusCode::CREATED, stored.size))
}

fn too_large() -> ApiError {
    ApiError::rejected_body(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("blobs up to {MAX_BLOB_UPLOAD} bytes"),
    )
}

/// An upload body written to a temporary file (removed on drop) as it arrives, hashed on
/// the way.
struct Spooled {
    file: tempfile::TempPath,
    hash: AssetHash,
    size: u64,
}

impl Spooled {
    async fn receive(body: Body) -> Result<Self, ApiError> {
        use tokio::io::AsyncWriteExt as _;
        let path = tempfile::NamedTempFile::new()
            .map_err(|e| Error::io(std::env::temp_dir(), e))?
            .into_temp_path();
        let mut file = tokio::fs::File::create(&path)
            .await
            .map_err(|e| Error::io(path.to_path_buf(), e))?;
        let mut hasher = expo_manifest::AssetHasher::new();
        let mut size = 0_usize;
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?;
            size += chunk.len();
            if size > MAX_BLOB_UPLOAD {
                return Err(too_large());
            }
            hasher.update(&chunk);
            file.write_all(&chunk)
                .await
                .map_err(|e| Error::io(path.to_path_buf(), e))?;
        }
        file.flush()
            .await
            .map_err(|e| Error::io(path.to_path_buf(), e))?;
        let hash = hasher.finalize();
        Ok(Self {
            file: path,
            hash,
            size: size as u64,
        })
    }

    async fn read(&self) -> Result<Bytes, Error> {
        tokio::fs::read(&self.file)
            .await
            .map(Bytes::from)
            .map_err(|e| Error::io(self.file.to_path_buf(), e))
    }
}

/// The media type of an upload: its `content-type`, `application/octet-stream` without one.
fn content_type(headers: &HeaderMap) -> Result<String, ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok("application/octet-stream".into());
    };
    value
        .to_str()
        .ok()
        .filter(|v| !v.is_empty() && v.len() <= MAX_NAME_LEN)
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "content-type must be 1 to {MAX_NAME_LEN} visible ASCII characters"
            ))
            .header("content-type")
        })
}

/// `POST /admin/import`.
pub async fn import(
    State(state): State<AppState>,
    body: Result<Json<ImportRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(body) = body.map_err(|e| ApiError::json_body(&e))?;
    let (mut scope, rollout_percent) = checked(&body)?;
    // The URL names the app (and its token opened it): an update promoted from another
    // server's app lands in this one whatever it was called there.
    scope.app = state.app.to_string();
    let id = promoted_id(body.source_id, &scope.app, &scope.channel);
    if let Some(existing) = state.store.update(id).await? {
        return Ok(answer(ImportStatus::AlreadyThere, &existing.info));
    }
    // Read before looking at the blobs: a gc deleting one of them after this point makes
    // the insert fail instead of registering a reference to deleted bytes.
    let since = state.store.change_counter().await?;
    let hashes: Vec<AssetHash> = body.hashes().into_iter().collect();
    let mut records = Vec::with_capacity(hashes.len());
    let mut missing = Vec::new();
    for hash in hashes {
        match state.blobs.stat(&hash).await? {
            Some(stored) => records.push(BlobRecord {
                hash,
                size: stored.size,
                content_type: content_type_of(&body, hash),
                gzip_size: stored.gzip_size,
                br_size: stored.br_size,
            }),
            None => missing.push(hash.to_hex()),
        }
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
    let update = NewUpdate {
        id,
        scope,
        kind: body.kind,
        message: body.message,
        group_id: uuid::Uuid::new_v4(),
        launch_asset: body.launch_asset,
        assets: body.assets,
        metadata: body.metadata,
        extra: body.extra,
        rollout_percent,
        republished_from: None,
    };
    match state
        .store
        .insert_since(&records, vec![update], Some(since))
        .await
    {
        Ok(mut inserted) => {
            state.cache.invalidate();
            let info = inserted
                .pop()
                .ok_or_else(|| Error::Task("the store returned no update".into()))?;
            Ok(answer(ImportStatus::Created, &info))
        }
        Err(Error::BlobRemoved(hash)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            codes::BLOB_REMOVED,
            format!(
                "blob {} was removed by a concurrent gc: upload it again",
                hash.to_hex()
            ),
        )),
        Err(error) => {
            // A concurrent promotion of the same update may have committed first.
            if let Some(existing) = state.store.update(id).await? {
                return Ok(answer(ImportStatus::AlreadyThere, &existing.info));
            }
            Err(error.into())
        }
    }
}

/// The scope and rollout of a valid import request.
fn checked(body: &ImportRequest) -> Result<(Scope, u8), ApiError> {
    for (what, field, value) in [
        ("app", "app", &body.app),
        ("channel", "channel", &body.channel),
        ("runtime version", "runtime_version", &body.runtime_version),
    ] {
        checked_name(what, value).map_err(|e| ApiError::in_field(e, field))?;
    }
    let scope = Scope::new(
        &body.app,
        &body.channel,
        &body.runtime_version,
        body.platform,
    )?;
    let rollout_percent = body.rollout_percent.unwrap_or(100);
    if !(1..=100).contains(&rollout_percent) {
        return Err(ApiError::bad_request(format!(
            "rollout_percent {rollout_percent} must be 1 to 100"
        ))
        .field("rollout_percent"));
    }
    match (body.kind, &body.launch_asset) {
        (UpdateKind::Update, None) => {
            return Err(
                ApiError::bad_request("an update needs a launch_asset").field("launch_asset")
            );
        }
        (UpdateKind::RollbackToEmbedded, Some(_)) => {
            return Err(ApiError::bad_request(
                "a rollback to embedded has no launch_asset nor assets",
            )
            .field("launch_asset"));
        }
        _ if body.kind == UpdateKind::RollbackToEmbedded && !body.assets.is_empty() => {
            return Err(ApiError::bad_request(
                "a rollback to embedded has no launch_asset nor assets",
            )
            .field("assets"));
        }
        _ => {}
    }
    for (j, asset) in body.launch_asset.iter().chain(&body.assets).enumerate() {
        asset.checked().map_err(|failed| {
            let (member, e) = *failed;
            let field = match (j, body.launch_asset.is_some()) {
                (0, true) => format!("launch_asset.{member}"),
                (j, true) => format!("assets[{}].{member}", j - 1),
                (j, false) => format!("assets[{j}].{member}"),
            };
            ApiError::in_field(e, field)
        })?;
    }
    if let Some(message) = &body.message {
        checked_message(message).map_err(|e| ApiError::in_field(e, "message"))?;
    }
    Ok((scope, rollout_percent))
}

fn content_type_of(body: &ImportRequest, hash: AssetHash) -> String {
    body.launch_asset
        .iter()
        .chain(&body.assets)
        .find(|asset| asset.hash == hash)
        .map_or_else(
            || "application/octet-stream".to_owned(),
            |asset| asset.content_type.clone(),
        )
}

fn answer(status: ImportStatus, info: &crate::store::UpdateInfo) -> (StatusCode, Json<Value>) {
    let code = match status {
        ImportStatus::Created => StatusCode::CREATED,
        ImportStatus::AlreadyThere => StatusCode::OK,
    };
    (
        code,
        Json(json!({ "status": status, "update": info_json(info) })),
    )
}
