//! Percentage rollouts: which update of a scope a given install is served.
//!
//! Every install falls in a bucket from 0 to 99, a hash of its lower-cased `eas-client-id`
//! (the same id always lands in the same bucket, whatever the update, server or version).
//! An update rolled out to `p` percent is served to buckets `0..p`; a scope serves each
//! install the newest update whose rollout includes it. Raising `p` only adds installs, so
//! no install ever flips back and forth while a rollout grows. Installs that send no
//! client id get the newest update rolled out to everyone.

use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use super::{MetadataStore, NewUpdate, Scope, Update, UpdateFilter, UpdateInfo};
use crate::error::{Error, Result};

/// How many of a scope's newest updates are looked at to find one that includes a client
/// (partial rollouts stacked deeper than this are not expected).
pub const MAX_CANDIDATES: u32 = 100;

/// The bucket (0 to 99) of an install, from its `eas-client-id`.
pub fn bucket(client_id: &str) -> u8 {
    salted_bucket(b"", client_id)
}

/// The bucket (0 to 99) of an install for one purpose: SHA-256 of `salt` then the
/// lower-cased, trimmed client id. Distinct salts give independent buckets (the channel
/// split of [`super::channels`] does not follow the rollout bucket); the empty salt is
/// [`bucket`]. Lower-cases through a stack buffer: no allocation on the manifest path.
pub fn salted_bucket(salt: &[u8], client_id: &str) -> u8 {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    let mut chunk = [0_u8; 64];
    for piece in client_id.trim().as_bytes().chunks(chunk.len()) {
        let lowered = &mut chunk[..piece.len()];
        lowered.copy_from_slice(piece);
        lowered.make_ascii_lowercase();
        hasher.update(&*lowered);
    }
    let digest = hasher.finalize();
    let mut first = [0_u8; 8];
    first.copy_from_slice(&digest[..8]);
    // 2^64 is not a multiple of 100, but the bias (below 1e-17) is irrelevant.
    u8::try_from(u64::from_be_bytes(first) % 100).unwrap_or(0)
}

/// Whether an update rolled out to `percent` is served to the install `client_id`.
pub fn includes(percent: u8, client_id: Option<&str>) -> bool {
    percent >= 100 || client_id.is_some_and(|id| bucket(id) < percent)
}

/// The update (of `candidates`, newest first) that `client_id` is served.
pub fn select<'a>(candidates: &'a [UpdateInfo], client_id: Option<&str>) -> Option<&'a UpdateInfo> {
    candidates
        .iter()
        .find(|u| includes(u.rollout_percent, client_id))
}

/// The update `scope` serves to the install `client_id` (`eas-client-id`), with its assets.
pub async fn resolve(
    store: &dyn MetadataStore,
    scope: &Scope,
    client_id: Option<&str>,
) -> Result<Option<Update>> {
    let candidates = store
        .list(&UpdateFilter::scope(scope, MAX_CANDIDATES))
        .await?;
    match select(&candidates, client_id) {
        Some(info) => store.update(info.id).await,
        None => Ok(None),
    }
}

/// Sets the rollout of `id` to `percent` (widening or narrowing it).
pub async fn set_percent(store: &dyn MetadataStore, id: Uuid, percent: u8) -> Result<UpdateInfo> {
    if percent > 100 {
        return Err(Error::Invalid(format!("rollout {percent}% is above 100")));
    }
    store.set_rollout(id, percent).await
}

/// Ends the rollout of `id`: everyone is served the update served before it again, as a new
/// update (fresh `createdAt`, so installs that took `id` move back), and `id`'s rollout
/// drops to 0 % so the history shows it was reverted.
pub async fn revert(
    store: &dyn MetadataStore,
    id: Uuid,
    message: Option<String>,
) -> Result<UpdateInfo> {
    let target = store.update(id).await?.ok_or(Error::UpdateNotFound(id))?;
    let scope = target.info.scope.clone();
    let no_longer_newest = || {
        Error::Nothing(format!(
            "{id} is no longer the newest update of {scope}: roll back instead"
        ))
    };
    let newer = store.list(&UpdateFilter::scope(&scope, 1)).await?;
    if newer.first().is_some_and(|newest| newest.id != id) {
        return Err(no_longer_newest());
    }
    let earlier = store
        .list(&UpdateFilter {
            before: Some((target.info.created_at, target.info.seq)),
            ..UpdateFilter::scope(&scope, MAX_CANDIDATES)
        })
        .await?;
    let previous = select(&earlier, None).ok_or_else(|| {
        Error::Nothing(format!(
            "no update before {id} served to everyone in {scope} (use rollback --embedded)"
        ))
    })?;
    let previous = store
        .update(previous.id)
        .await?
        .ok_or(Error::UpdateNotFound(previous.id))?;
    let message = message.or_else(|| Some(format!("revert rollout of {id}")));
    let copy = NewUpdate::copy_of(&previous, scope.clone(), Uuid::new_v4(), message);
    // The check above is advice for a clear error; the store repeats it in the transaction
    // that sets the rollout to 0 % and inserts the copy, so a concurrent publish either
    // lands before (and the revert is refused, nothing changed) or after.
    store
        .revert_rollout(id, copy)
        .await?
        .ok_or_else(no_longer_newest)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use rand::Rng as _;

    use super::*;
    use crate::store::fixtures::{Around, Wrapped};
    use crate::store::{Platform, SqliteStore};

    #[test]
    fn buckets_are_stable_and_ignore_case() {
        let id = "8A6E3D0E-5C4B-4C59-9F36-2B1F0E6A7D11";
        assert_eq!(bucket(id), bucket(&id.to_lowercase()));
        assert_eq!(bucket(id), bucket(&format!(" {id} ")));
        // A fixed vector: the bucket of an install never changes across releases.
        assert_eq!(bucket("8a6e3d0e-5c4b-4c59-9f36-2b1f0e6a7d11"), bucket(id));
        assert!(bucket(id) < 100);
        assert!(includes(100, None));
        assert!(!includes(99, None));
        assert!(!includes(0, Some(id)));
    }

    #[test]
    fn ten_percent_of_ten_thousand_installs_is_about_a_thousand() {
        let mut rng = rand::rng();
        let included = (0..10_000)
            .filter(|_| {
                let id = Uuid::from_u128(rng.random()).to_string();
                includes(10, Some(&id))
            })
            .count();
        assert!((800..=1200).contains(&included), "{included} of 10000");
        // And every bucket is used, roughly evenly.
        let mut counts = [0_u32; 100];
        for _ in 0..10_000 {
            counts[usize::from(bucket(&Uuid::from_u128(rng.random()).to_string()))] += 1;
        }
        assert!(
            counts.iter().all(|&c| (40..=180).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn widening_a_rollout_only_adds_installs() {
        let mut rng = rand::rng();
        for _ in 0..1000 {
            let id = Uuid::from_u128(rng.random()).to_string();
            for p in 0..100 {
                if includes(p, Some(&id)) {
                    assert!(includes(p + 1, Some(&id)));
                }
            }
        }
    }

    async fn publish(
        store: &SqliteStore,
        scope: &Scope,
        content: &[u8],
        percent: u8,
    ) -> UpdateInfo {
        crate::store::fixtures::publish_js(store, scope, content, percent).await
    }

    /// A client id whose bucket is below (or not below) `percent`.
    fn client(inside: bool, percent: u8) -> String {
        (0..10_000)
            .map(|i| format!("client-{i}"))
            .find(|id| (bucket(id) < percent) == inside)
            .unwrap()
    }

    #[tokio::test]
    async fn partial_rollout_widen_and_revert() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).await.unwrap();
        let scope = Scope::new("default", "main", "1", Platform::Ios).unwrap();
        let base = publish(&store, &scope, b"a", 100).await;
        let canary = publish(&store, &scope, b"b", 10).await;
        let (inside, outside) = (client(true, 10), client(false, 50));
        let served = |client: Option<String>| {
            let (store, scope) = (&store, &scope);
            async move {
                resolve(store, scope, client.as_deref())
                    .await
                    .unwrap()
                    .unwrap()
                    .info
            }
        };
        assert_eq!(served(Some(inside.clone())).await.id, canary.id);
        assert_eq!(served(Some(inside.to_uppercase())).await.id, canary.id);
        assert_eq!(served(Some(outside.clone())).await.id, base.id);
        assert_eq!(
            served(None).await.id,
            base.id,
            "no client id: fully rolled out"
        );

        let counter = store.change_counter().await.unwrap();
        let widened = set_percent(&store, canary.id, 50).await.unwrap();
        assert_eq!(widened.rollout_percent, 50);
        assert!(store.change_counter().await.unwrap() > counter);
        let between = client(true, 50);
        assert_eq!(served(Some(between)).await.id, canary.id);
        assert_eq!(served(Some(inside.clone())).await.id, canary.id);
        assert!(set_percent(&store, canary.id, 101).await.is_err());

        let reverted = revert(&store, canary.id, None).await.unwrap();
        assert_eq!(reverted.republished_from, Some(base.id));
        assert_eq!(reverted.rollout_percent, 100);
        assert!(
            reverted.created_at > canary.created_at,
            "installs on the canary move back"
        );
        for who in [Some(inside), Some(outside), None] {
            assert_eq!(served(who).await.id, reverted.id);
        }
        let canary_now = store.update(canary.id).await.unwrap().unwrap();
        assert_eq!(canary_now.info.rollout_percent, 0);
        // Reverting again: the canary is no longer the newest.
        assert!(matches!(
            revert(&store, canary.id, None).await,
            Err(Error::Nothing(_))
        ));
        assert!(matches!(
            set_percent(&store, Uuid::new_v4(), 50).await,
            Err(Error::UpdateNotFound(_))
        ));
    }

    /// Registers a publish into the scope right after the first listing of earlier updates:
    /// what lands between `revert`'s check and its write.
    #[derive(Debug)]
    struct PublishDuringRevert {
        store: Arc<dyn MetadataStore>,
        interloper: std::sync::Mutex<Option<NewUpdate>>,
        fired: AtomicBool,
    }

    #[async_trait::async_trait]
    impl Around for PublishDuringRevert {
        async fn after_list(&self, filter: &UpdateFilter) -> Result<()> {
            if filter.before.is_some() && !self.fired.swap(true, Ordering::SeqCst) {
                let interloper = self.interloper.lock().unwrap().take().unwrap();
                let blob = crate::store::fixtures::js_blob(b"interloper");
                self.store.insert(&[blob], vec![interloper]).await?;
            }
            Ok(())
        }
    }

    /// A publish lands between `revert`'s check and its write: the revert is refused and
    /// changes nothing (the canary keeps its rollout, the new publish stays served), instead
    /// of covering the new publish with a copy of the old base.
    pub(crate) async fn revert_racing_a_publish_changes_nothing(inner: Arc<dyn MetadataStore>) {
        let scope = Scope::new("default", "main", "1", crate::store::Platform::Ios).unwrap();
        crate::store::fixtures::publish_js(inner.as_ref(), &scope, b"base", 100).await;
        let canary =
            crate::store::fixtures::publish_js(inner.as_ref(), &scope, b"canary", 10).await;
        let interloper = crate::store::fixtures::update_launching(
            &scope,
            &crate::store::fixtures::js_blob(b"interloper"),
        );
        let interloper_id = interloper.id;
        let store = Wrapped::wrap(
            Arc::clone(&inner),
            PublishDuringRevert {
                store: Arc::clone(&inner),
                interloper: std::sync::Mutex::new(Some(interloper)),
                fired: AtomicBool::new(false),
            },
        );
        let refused = revert(&store, canary.id, None).await;
        assert!(matches!(refused, Err(Error::Nothing(_))), "{refused:?}");
        assert!(
            store.around().fired.load(Ordering::SeqCst),
            "the publish landed mid-revert"
        );
        let newest = inner.list(&UpdateFilter::scope(&scope, 10)).await.unwrap();
        assert_eq!(newest.len(), 3, "no copy inserted: {newest:?}");
        assert_eq!(newest[0].id, interloper_id, "the new publish stays served");
        let canary = inner.update(canary.id).await.unwrap().unwrap();
        assert_eq!(
            canary.info.rollout_percent, 10,
            "the canary's rollout is untouched"
        );
    }
}
