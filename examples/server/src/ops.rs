//! Republish and rollback: shared by the CLI and the admin API.
//!
//! Both insert new rows (new id, fresh `createdAt`) copying an earlier update's assets,
//! instead of deleting or flagging rows: clients only take an update strictly newer than the
//! one they run, so re-serving an old row unchanged would be ignored by every device that
//! already moved past it (see DESIGN.md).

use uuid::Uuid;

use crate::error::{Error, Result};
use crate::store::{
    MetadataStore, NewUpdate, Platform, Scope, UpdateFilter, UpdateInfo, UpdateKind, checked_name,
};

/// Serves a copy of update `id` again, in `channel` (its own when `None`).
pub async fn republish(
    store: &dyn MetadataStore,
    id: Uuid,
    channel: Option<&str>,
    message: Option<String>,
) -> Result<UpdateInfo> {
    let source = store.update(id).await?.ok_or(Error::UpdateNotFound(id))?;
    let mut scope = source.info.scope.clone();
    if let Some(channel) = channel {
        scope.channel = checked_name("channel", channel)?;
    }
    let message = message.or_else(|| source.info.message.clone());
    let copy = NewUpdate::copy_of(&source, scope, Uuid::new_v4(), message);
    single(store.insert(&[], vec![copy]).await?)
}

/// Serves a copy of the earlier update `id` again in its own scope.
pub async fn rollback_to(
    store: &dyn MetadataStore,
    id: Uuid,
    message: Option<String>,
) -> Result<UpdateInfo> {
    let target = store.update(id).await?.ok_or(Error::UpdateNotFound(id))?;
    if let Some(current) = store.current(&target.info.scope).await?
        && current.info.id == id
    {
        return Err(Error::Nothing(format!(
            "{id} is already the update served to {}",
            target.info.scope
        )));
    }
    let message = message.or_else(|| Some(format!("rollback to {id}")));
    let copy = NewUpdate::copy_of(&target, target.info.scope.clone(), Uuid::new_v4(), message);
    single(store.insert(&[], vec![copy]).await?)
}

/// The scopes of `(app, channel, runtime_version)` to act on: the given platforms, or every
/// platform that has an update there.
async fn scopes(
    store: &dyn MetadataStore,
    app: &str,
    channel: &str,
    runtime_version: &str,
    platforms: Option<&[Platform]>,
) -> Result<Vec<Scope>> {
    let mut scopes = Vec::new();
    for platform in platforms.unwrap_or(&Platform::ALL) {
        let scope = Scope::new(app, channel, runtime_version, *platform)?;
        if platforms.is_some() || store.current(&scope).await?.is_some() {
            scopes.push(scope);
        }
    }
    if scopes.is_empty() {
        return Err(Error::Nothing(format!(
            "no update in app {app}, channel {channel}, runtime {runtime_version}"
        )));
    }
    Ok(scopes)
}

/// Serves again, on each platform, the update served before the current one.
///
/// When the current update is itself a copy (an earlier rollback), "before" is counted from
/// the original, so rolling back twice goes back two updates rather than toggling.
pub async fn rollback_previous(
    store: &dyn MetadataStore,
    app: &str,
    channel: &str,
    runtime_version: &str,
    platforms: Option<&[Platform]>,
    message: Option<String>,
) -> Result<Vec<UpdateInfo>> {
    let group_id = Uuid::new_v4();
    let mut copies = Vec::new();
    for scope in scopes(store, app, channel, runtime_version, platforms).await? {
        let current = store
            .current(&scope)
            .await?
            .ok_or_else(|| Error::Nothing(format!("no update served to {scope}")))?;
        copies.push(previous_copy(store, &current.info, group_id, message.clone()).await?);
    }
    store.insert(&[], copies).await
}

/// Rolls the scope of `id` back to the update served before it, only while `id` is still
/// what that scope serves (checked in the store's transaction): of several servers deciding
/// the same rollback at once, one acts. `None` when the scope serves something else.
pub async fn rollback_if_served(
    store: &dyn MetadataStore,
    id: Uuid,
    message: String,
) -> Result<Option<UpdateInfo>> {
    let update = store.update(id).await?.ok_or(Error::UpdateNotFound(id))?;
    let copy = previous_copy(store, &update.info, Uuid::new_v4(), Some(message)).await?;
    store.insert_if_served(id, copy).await
}

/// A copy, in the scope of `current`, of the update served before it.
async fn previous_copy(
    store: &dyn MetadataStore,
    current: &UpdateInfo,
    group_id: Uuid,
    message: Option<String>,
) -> Result<NewUpdate> {
    let scope = &current.scope;
    let mut position = current;
    let origin = match current.republished_from {
        Some(from) => store.update(from).await?,
        None => None,
    };
    if let Some(origin) = &origin
        && origin.info.scope == *scope
    {
        position = &origin.info;
    }
    let previous = store
        .list(&UpdateFilter {
            before: Some((position.created_at, position.seq)),
            ..UpdateFilter::scope(scope, 1)
        })
        .await?;
    let Some(previous) = previous.first() else {
        return Err(Error::Nothing(format!(
            "no update before {} to roll back to in {scope} (use rollback --embedded)",
            position.id
        )));
    };
    let target = store
        .update(previous.id)
        .await?
        .ok_or(Error::UpdateNotFound(previous.id))?;
    let message = message.or_else(|| Some(format!("rollback to {}", previous.id)));
    Ok(NewUpdate::copy_of(
        &target,
        scope.clone(),
        group_id,
        message,
    ))
}

/// Tells apps to go back to their embedded update: a `rollBackToEmbedded` row whose
/// `createdAt` is the directive's `commitTime`.
pub async fn rollback_to_embedded(
    store: &dyn MetadataStore,
    app: &str,
    channel: &str,
    runtime_version: &str,
    platforms: Option<&[Platform]>,
    message: Option<String>,
) -> Result<Vec<UpdateInfo>> {
    let group_id = Uuid::new_v4();
    let rows = scopes(store, app, channel, runtime_version, platforms)
        .await?
        .into_iter()
        .map(|scope| NewUpdate {
            id: Uuid::new_v4(),
            scope,
            kind: UpdateKind::RollbackToEmbedded,
            message: message
                .clone()
                .or_else(|| Some("rollback to embedded".into())),
            group_id,
            launch_asset: None,
            assets: Vec::new(),
            metadata: serde_json::Map::new(),
            extra: serde_json::Map::new(),
            rollout_percent: 100,
            republished_from: None,
        })
        .collect();
    store.insert(&[], rows).await
}

fn single(mut updates: Vec<UpdateInfo>) -> Result<UpdateInfo> {
    updates
        .pop()
        .ok_or_else(|| Error::Task("the store returned no update".into()))
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::store::{AssetHash, SqliteStore};

    async fn publish(store: &SqliteStore, scope: &Scope, content: &[u8]) -> UpdateInfo {
        crate::store::fixtures::publish_js(store, scope, content, 100).await
    }

    async fn served(store: &SqliteStore, scope: &Scope) -> AssetHash {
        store
            .current(scope)
            .await
            .unwrap()
            .unwrap()
            .launch_asset
            .unwrap()
            .hash
    }

    #[tokio::test]
    async fn only_one_conditional_rollback_acts() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).await.unwrap();
        let scope = Scope::new("default", "main", "1", Platform::Ios).unwrap();
        let a = publish(&store, &scope, b"a").await;
        let b = publish(&store, &scope, b"b").await;
        let (one, two) = tokio::join!(
            rollback_if_served(&store, b.id, "first".into()),
            rollback_if_served(&store, b.id, "second".into()),
        );
        let acted: Vec<UpdateInfo> = [one.unwrap(), two.unwrap()].into_iter().flatten().collect();
        assert_eq!(acted.len(), 1, "{acted:?}");
        assert_eq!(acted[0].republished_from, Some(a.id));
        assert_eq!(served(&store, &scope).await, AssetHash::of(b"a"));
        // b is no longer served: nothing more happens.
        assert!(
            rollback_if_served(&store, b.id, "again".into())
                .await
                .unwrap()
                .is_none()
        );
        // Nothing before a.
        let err = rollback_if_served(&store, a.id, "first".into()).await;
        assert!(matches!(err, Err(Error::Nothing(_))), "{err:?}");
    }

    #[tokio::test]
    async fn health_counts_distinct_devices_of_known_updates() {
        use crate::store::{DeviceHash, DeviceReport};

        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).await.unwrap();
        let scope = Scope::new("default", "main", "1", Platform::Ios).unwrap();
        let a = publish(&store, &scope, b"a").await;
        let report = |device: &str, launched, failed| DeviceReport {
            update_id: a.id,
            device: DeviceHash::of_client_id(device),
            served: true,
            launched,
            failed,
        };
        let unknown = DeviceReport {
            update_id: Uuid::new_v4(),
            ..report("x", true, false)
        };
        let changed = store
            .record_health(&[report("x", true, false), report("y", false, true), unknown])
            .await
            .unwrap();
        assert_eq!(changed, [a.id], "the unknown update is skipped");
        // Flags only turn on; the same device twice stays one device.
        let changed = store
            .record_health(&[report("X", false, true), report("y", false, false)])
            .await
            .unwrap();
        assert_eq!(changed, [a.id], "x failed too");
        let changed = store
            .record_health(&[report("x", true, true), report("y", false, true)])
            .await
            .unwrap();
        assert!(changed.is_empty(), "nothing new: nothing written");
        let health = store.health(&[a.id, unknown.update_id]).await.unwrap();
        assert_eq!(health.len(), 1);
        assert_eq!(
            health[&a.id],
            crate::store::UpdateHealth {
                served: 2,
                devices: 2,
                launched: 1,
                failed: 2
            }
        );
        assert!(store.health(&[]).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn rollback_walks_back_and_republish_promotes() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).await.unwrap();
        let scope = Scope::new("default", "main", "1", Platform::Ios).unwrap();
        let a = publish(&store, &scope, b"a").await;
        publish(&store, &scope, b"b").await;
        let c = publish(&store, &scope, b"c").await;

        let rolled = rollback_previous(&store, "default", "main", "1", None, None)
            .await
            .unwrap();
        assert_eq!(rolled.len(), 1);
        assert_eq!(served(&store, &scope).await, AssetHash::of(b"b"));
        // Twice: back to a, not toggling to c.
        rollback_previous(&store, "default", "main", "1", None, None)
            .await
            .unwrap();
        assert_eq!(served(&store, &scope).await, AssetHash::of(b"a"));
        // Nothing before a.
        let err = rollback_previous(&store, "default", "main", "1", None, None).await;
        assert!(matches!(err, Err(Error::Nothing(_))), "{err:?}");

        // --to: any earlier update, as a new row.
        let c_id = c.id;
        let copy = rollback_to(&store, c_id, None).await.unwrap();
        assert_ne!(copy.id, c_id);
        assert_eq!(copy.republished_from, Some(c_id));
        assert_eq!(served(&store, &scope).await, AssetHash::of(b"c"));
        assert!(
            rollback_to(&store, copy.id, None).await.is_err(),
            "already served"
        );

        // Promote to another channel.
        let promoted = republish(&store, a.id, Some("production"), None)
            .await
            .unwrap();
        assert_eq!(promoted.scope.channel, "production");
        let production = Scope {
            channel: "production".into(),
            ..scope.clone()
        };
        assert_eq!(served(&store, &production).await, AssetHash::of(b"a"));

        // Embedded.
        let embedded = rollback_to_embedded(&store, "default", "main", "1", None, None)
            .await
            .unwrap();
        assert_eq!(embedded[0].kind, UpdateKind::RollbackToEmbedded);
        let current = store.current(&scope).await.unwrap().unwrap();
        assert_eq!(current.info.id, embedded[0].id);
        assert!(current.launch_asset.is_none());
        assert!(matches!(
            republish(&store, Uuid::new_v4(), None, None).await,
            Err(Error::UpdateNotFound(_))
        ));
        assert!(
            rollback_to_embedded(&store, "default", "nope", "1", None, None)
                .await
                .is_err()
        );
    }
}
