//! The sample update bundled into the binary, so a first `serve` has something to answer.
//!
//! It is a real `expo export` (a blank SDK 55 app, iOS and Android), published when the
//! database holds no update at all, under runtime version [`SAMPLE_RUNTIME_VERSION`]: no real
//! app asks for that runtime, so the sample can never reach a device by accident.

use std::path::Path;
use std::sync::Arc;

use include_dir::{Dir, include_dir};
use serde_json::Value;

use crate::blobs::BlobStore;
use crate::error::{Error, Result};
use crate::publish::{PublishRequest, publish};
use crate::store::{DEFAULT_APP, MetadataStore, UpdateFilter, UpdateInfo};

/// The runtime version the sample is published under.
pub const SAMPLE_RUNTIME_VERSION: &str = "0.0.0-sample";

/// Brotli quality of the sample: fast (the first start should not wait for quality 11),
/// still far smaller than gzip.
const SAMPLE_BROTLI_QUALITY: u32 = 5;

static SAMPLE: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../test-fixtures/sample-export");

/// Publishes the sample into `channel` if the store has no update; returns what it published.
pub async fn seed_if_empty(
    store: &dyn MetadataStore,
    blobs: Arc<dyn BlobStore>,
    channel: &str,
) -> Result<Vec<UpdateInfo>> {
    let any = store
        .list(&UpdateFilter {
            limit: 1,
            ..UpdateFilter::default()
        })
        .await?;
    if !any.is_empty() {
        return Ok(Vec::new());
    }
    let dir = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    extract(dir.path())?;
    publish(
        store,
        blobs,
        PublishRequest {
            dist: dir.path().join("dist"),
            app: DEFAULT_APP.to_owned(),
            channel: channel.to_owned(),
            runtime: crate::runtime::RuntimeFlags {
                all: Some(SAMPLE_RUNTIME_VERSION.to_owned()),
                ..crate::runtime::RuntimeFlags::default()
            },
            platforms: None,
            message: Some("bundled sample update".to_owned()),
            app_config: None,
            progress: false,
            brotli_quality: SAMPLE_BROTLI_QUALITY,
            rollout_percent: 100,
        },
    )
    .await
}

/// Writes `dist/` and `app-config.json` (runtime version set to the sample's) under `root`.
fn extract(root: &Path) -> Result<()> {
    let dist = SAMPLE
        .get_dir("dist")
        .ok_or_else(|| Error::Export("the bundled sample has no dist/".into()))?;
    write_dir(dist, root)?;
    let config = SAMPLE
        .get_file("app-config.json")
        .ok_or_else(|| Error::Export("the bundled sample has no app-config.json".into()))?;
    let mut config: Value = serde_json::from_slice(config.contents())
        .map_err(|e| Error::Export(format!("bundled app-config.json: {e}")))?;
    if let Value::Object(map) = &mut config {
        map.insert(
            "runtimeVersion".into(),
            Value::String(SAMPLE_RUNTIME_VERSION.into()),
        );
    }
    let path = root.join("app-config.json");
    std::fs::write(&path, config.to_string()).map_err(|e| Error::io(&path, e))
}

fn write_dir(dir: &Dir<'_>, root: &Path) -> Result<()> {
    for file in dir.files() {
        let path = root.join(file.path());
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        std::fs::write(&path, file.contents()).map_err(|e| Error::io(&path, e))?;
    }
    for sub in dir.dirs() {
        write_dir(sub, root)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blobs::LocalBlobStore;
    use crate::store::SqliteStore;

    #[tokio::test]
    async fn seeds_an_empty_store_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).await.unwrap();
        let blobs: Arc<dyn BlobStore> =
            Arc::new(LocalBlobStore::open(dir.path().join("blobs")).unwrap());
        let seeded = seed_if_empty(&store, Arc::clone(&blobs), "default")
            .await
            .unwrap();
        assert_eq!(seeded.len(), 2);
        assert!(
            seeded
                .iter()
                .all(|u| u.scope.runtime_version == SAMPLE_RUNTIME_VERSION)
        );
        let update = store.update(seeded[0].id).await.unwrap().unwrap();
        assert_eq!(
            update.extra["expoClient"]["runtimeVersion"],
            SAMPLE_RUNTIME_VERSION
        );
        assert_eq!(update.assets.len(), 2);
        assert!(
            seed_if_empty(&store, blobs, "default")
                .await
                .unwrap()
                .is_empty()
        );
    }
}
