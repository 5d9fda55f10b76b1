//! Test fixtures: minimal updates for the unit tests of the store and its users.

use serde_json::Map;
use uuid::Uuid;

use super::{
    AssetHash, BlobRecord, MetadataStore, NewUpdate, Scope, UpdateAsset, UpdateInfo, UpdateKind,
};

/// The record of a JavaScript blob holding `content` (no compressed variants).
pub(crate) fn js_blob(content: &[u8]) -> BlobRecord {
    BlobRecord {
        hash: AssetHash::of(content),
        size: content.len() as u64,
        content_type: "application/javascript".into(),
        gzip_size: None,
        br_size: None,
    }
}

/// An update of `scope` launching `bundle` and nothing else, rolled out to everyone.
pub(crate) fn update_launching(scope: &Scope, bundle: &BlobRecord) -> NewUpdate {
    NewUpdate {
        id: Uuid::new_v4(),
        scope: scope.clone(),
        kind: UpdateKind::Update,
        message: None,
        group_id: Uuid::new_v4(),
        launch_asset: Some(UpdateAsset {
            hash: bundle.hash,
            key: "bundle".into(),
            content_type: bundle.content_type.clone(),
            file_extension: None,
        }),
        assets: vec![],
        metadata: Map::new(),
        extra: Map::new(),
        rollout_percent: 100,
        republished_from: None,
    }
}

/// Registers an update of `scope` launching a blob of `content`, rolled out to `percent`
/// (the blob's bytes are not stored: metadata only).
pub(crate) async fn publish_js(
    store: &dyn MetadataStore,
    scope: &Scope,
    content: &[u8],
    percent: u8,
) -> UpdateInfo {
    let blob = js_blob(content);
    let update = NewUpdate {
        rollout_percent: percent,
        ..update_launching(scope, &blob)
    };
    let mut inserted = store
        .insert(&[blob], vec![update])
        .await
        .expect("the test store accepts the update");
    inserted.pop().expect("one update inserted")
}
