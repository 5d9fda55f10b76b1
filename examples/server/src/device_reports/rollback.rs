//! Automatic rollback: when the update a scope serves fails on too many devices, serve the
//! one before it again.
//!
//! Judged after every batch written, on every server, from the store's totals (so replicas
//! decide on the same numbers). The rollback itself is the `rollback` command's (a new row
//! copying the update before the failing one), inserted only while the failing update is
//! still served, checked in the same transaction
//! ([`crate::store::MetadataStore::insert_if_served`]): one server acts, once.
//!
//! Only an operator's own publish is ever judged: a copy (a rollback, automatic or not, or
//! a republish) never is, and neither is a rollback to the embedded update. After an
//! automatic rollback the scope serves a copy, so nothing more happens there until an
//! operator publishes (or changes a rollout so that an original is served again); the
//! failing update is never served again, and the copy is never rolled back further. A
//! forger reporting failures can therefore move a scope back by one update, once per
//! publish, never undo a republish, and never reach older code.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use crate::error::{Error, Result};
use crate::ops;
use crate::store::{ChangeListener, MetadataStore, UpdateHealth, UpdateKind};

/// Updates remembered as settled before the memory is cleared (and rebuilt from the store).
const MAX_SETTLED: usize = 100_000;

/// When to roll back: at least `min_devices` devices reported on the served update and at
/// least `threshold` of them failed on it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AutoRollback {
    threshold: f64,
    min_devices: u64,
}

// The threshold is checked finite at construction.
impl Eq for AutoRollback {}

impl AutoRollback {
    /// A policy; the threshold is a share of devices, above 0 and at most 1.
    pub fn new(threshold: f64, min_devices: u64) -> Result<Self> {
        if !(threshold > 0.0 && threshold <= 1.0) {
            return Err(Error::Config(format!(
                "the automatic rollback threshold must be above 0 and at most 1 (a share of \
                 devices, like 0.2), not {threshold}"
            )));
        }
        if min_devices == 0 {
            return Err(Error::Config(
                "the automatic rollback needs at least 1 device".into(),
            ));
        }
        Ok(Self {
            threshold,
            min_devices,
        })
    }

    /// The share of devices that must fail.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// The devices that must have reported.
    pub fn min_devices(&self) -> u64 {
        self.min_devices
    }

    /// Whether these counts call for a rollback.
    pub fn fires(&self, health: &UpdateHealth) -> bool {
        health.devices >= self.min_devices && health.failure_rate() >= self.threshold
    }
}

/// Applies a policy, remembering the updates that no longer need judging.
#[derive(Debug, Default)]
pub(super) struct Judge {
    /// Updates found not served, rolled back, or with nothing to roll back to: rows are
    /// never edited and new rows are newer, so none of them can be served again.
    settled: HashSet<Uuid>,
}

impl Judge {
    /// Rolls back every served update of `health` the policy fires on.
    pub(super) async fn judge(
        &mut self,
        store: &dyn MetadataStore,
        changes: &dyn ChangeListener,
        policy: &AutoRollback,
        health: &HashMap<Uuid, UpdateHealth>,
    ) {
        if self.settled.len() > MAX_SETTLED {
            self.settled.clear();
        }
        for (&id, counts) in health {
            if !policy.fires(counts) || self.settled.contains(&id) {
                continue;
            }
            match self.roll_back(store, changes, policy, id, counts).await {
                Ok(()) => {}
                Err(error) => tracing::error!(%error, update_id = %id, "automatic rollback failed"),
            }
        }
    }

    async fn roll_back(
        &mut self,
        store: &dyn MetadataStore,
        changes: &dyn ChangeListener,
        policy: &AutoRollback,
        id: Uuid,
        counts: &UpdateHealth,
    ) -> Result<()> {
        let Some(update) = store.update(id).await? else {
            self.settled.insert(id);
            return Ok(());
        };
        // Copies are an operator's (or this policy's) decision about what to serve: judging
        // them would let reports undo a republish or walk a scope further back.
        if update.info.republished_from.is_some() || update.info.kind != UpdateKind::Update {
            self.settled.insert(id);
            return Ok(());
        }
        let scope = &update.info.scope;
        // The store, not the cache: a stale cache must not settle an update still served.
        let served = store.current(scope).await?;
        if served.is_none_or(|s| s.info.id != id) {
            self.settled.insert(id);
            return Ok(());
        }
        let message = format!(
            "automatic rollback: {}/{} devices failed on {id}",
            counts.failed, counts.devices
        );
        match ops::rollback_if_served(store, id, message).await {
            Ok(Some(rollback)) => {
                self.settled.insert(id);
                changes.on_change();
                metrics::counter!("expo_auto_rollbacks_total").increment(1);
                tracing::warn!(
                    update_id = %id,
                    rollback_id = %rollback.id,
                    now_serving = ?rollback.republished_from,
                    failed = counts.failed,
                    devices = counts.devices,
                    launched = counts.launched,
                    threshold = policy.threshold,
                    min_devices = policy.min_devices,
                    channel = %scope.channel,
                    runtime_version = %scope.runtime_version,
                    platform = %scope.platform,
                    "automatic rollback: {}/{} devices failed on the served update",
                    counts.failed,
                    counts.devices,
                );
            }
            // Another server rolled back (or something was published) in the meantime.
            Ok(None) => {
                self.settled.insert(id);
                changes.on_change();
            }
            Err(Error::Nothing(reason)) => {
                self.settled.insert(id);
                tracing::warn!(
                    update_id = %id,
                    failed = counts.failed,
                    devices = counts.devices,
                    %scope,
                    "cannot roll back automatically: {reason}"
                );
            }
            Err(other) => return Err(other),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(devices: u64, failed: u64) -> UpdateHealth {
        UpdateHealth {
            served: devices,
            devices,
            launched: devices,
            failed,
        }
    }

    #[test]
    fn fires_at_the_threshold_over_enough_devices() {
        let policy = AutoRollback::new(0.2, 50).unwrap();
        assert!(policy.fires(&health(50, 10)), "exactly at the threshold");
        assert!(!policy.fires(&health(50, 9)), "below it");
        assert!(!policy.fires(&health(49, 49)), "too few devices");
        assert!(policy.fires(&health(1000, 1000)));
    }

    #[test]
    fn nonsense_policies_are_refused() {
        for threshold in [0.0, -0.1, 1.5, f64::NAN, f64::INFINITY] {
            assert!(AutoRollback::new(threshold, 10).is_err(), "{threshold}");
        }
        assert!(AutoRollback::new(0.5, 0).is_err());
        assert!(AutoRollback::new(1.0, 1).is_ok());
    }
}
