//! Update health: how many distinct devices launched each update and how many failed on
//! it, from the headers apps send on every manifest request, and the automatic rollback
//! of a served update that fails too often.
//!
//! What counts (the expo-updates clients' error recovery decides what they send):
//!
//! - `expo-current-update-id`: the device runs that update: **launched** (unless it is the
//!   update embedded in the binary, `expo-embedded-update-id`, which this server never
//!   served).
//! - `expo-recent-failed-update-ids`: updates that failed to launch on the device within the
//!   last day (the client then fell back to an older update): **failed**.
//! - `expo-fatal-error`: the previous launch crashed. When failed ids are listed, the crash
//!   is theirs and the current update is the fallback, so nothing more is counted; when
//!   none are, the client kept running its current update through the crash (an error
//!   after a successful launch), which then counts as **failed**.
//! - `eas-client-id` tells devices apart; it is stored hashed ([`DeviceHash`]). A report
//!   without it is ignored (and counted).
//!
//! The hot path only reads headers and hands an [`Observation`] to a bounded queue
//! ([`HealthRecorder::record`]), never waiting: when the queue is full the observation is
//! dropped and counted. A background task ([`Flusher`]) merges observations into one
//! batch of `(update, device)` rows and writes it to the metadata store every interval; the
//! store keeps one row per pair, so repeated requests, restarts and several servers sharing
//! a database all add up to distinct devices. Reports on updates the store does not hold
//! are skipped there, which bounds the rows (and the metrics) to real updates.

mod report;
pub mod rollback;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use tokio::sync::mpsc;
use uuid::Uuid;

pub use self::report::{Ignored, MAX_FAILED_IDS, Observation};
pub use self::rollback::AutoRollback;
use crate::http::cache::ManifestCache;
use crate::store::{DeviceHash, DeviceReport, MetadataStore};

/// Observations the queue holds before new ones are dropped.
pub const QUEUE_CAPACITY: usize = 16_384;

/// Distinct `(update, device)` pairs kept while the store cannot be written; past it new
/// pairs are dropped (and counted) until a write succeeds.
pub const MAX_PENDING: usize = 200_000;

/// Default time between two writes of the batch.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// The hot path's end of the queue: cheap to clone, never blocks.
#[derive(Debug, Clone)]
pub struct HealthRecorder {
    sender: mpsc::Sender<Observation>,
}

impl HealthRecorder {
    /// A recorder and the receiving end its [`Flusher`] drains.
    pub fn new(capacity: usize) -> (Self, mpsc::Receiver<Observation>) {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        (Self { sender }, receiver)
    }

    /// Reads the health headers of a manifest request and queues what they report.
    ///
    /// Never fails the request: malformed values are ignored and counted, and a malformed
    /// `expo-recent-failed-update-ids` is removed from `headers` (see [`Observation::read`]).
    pub fn record(&self, headers: &mut HeaderMap) {
        let observation = Observation::read(headers, |why| {
            metrics::counter!("expo_health_ignored_total", "reason" => why.as_str()).increment(1);
        });
        if let Some(observation) = observation
            && self.sender.try_send(observation).is_err()
        {
            // Full (the store is slower than the traffic) or closed (shutting down).
            metrics::counter!("expo_health_dropped_total").increment(1);
        }
    }
}

/// The background task writing observations to the store in batches, then refreshing the
/// gauges of, and judging for automatic rollback, the updates whose counts changed.
#[derive(Debug)]
pub struct Flusher {
    /// Where counts are kept.
    pub store: Arc<dyn MetadataStore>,
    /// Invalidated after an automatic rollback, so this server serves it at once.
    pub cache: Arc<ManifestCache>,
    /// The queue's receiving end.
    pub receiver: mpsc::Receiver<Observation>,
    /// Time between two writes.
    pub interval: Duration,
    /// The automatic rollback policy; `None` when off.
    pub auto_rollback: Option<AutoRollback>,
}

/// `(launched, failed)` flags per `(update, device)`, sorted (a stable lock order).
type Pending = BTreeMap<(Uuid, DeviceHash), (bool, bool)>;

impl Flusher {
    /// Runs until every [`HealthRecorder`] is dropped, then writes what is left.
    pub async fn run(mut self) {
        let mut pending = Pending::new();
        let mut judge = rollback::Judge::default();
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                received = self.receiver.recv() => match received {
                    Some(observation) => merge(&mut pending, &observation),
                    None => break,
                },
                _ = ticker.tick() => self.flush(&mut pending, &mut judge).await,
            }
        }
        self.flush(&mut pending, &mut judge).await;
        if !pending.is_empty() {
            tracing::error!(
                lost = pending.len(),
                "device reports could not be stored before shutdown"
            );
        }
    }

    /// Writes the batch; on failure keeps it for the next attempt.
    async fn flush(&self, pending: &mut Pending, judge: &mut rollback::Judge) {
        if pending.is_empty() {
            return;
        }
        let reports: Vec<DeviceReport> = pending
            .iter()
            .map(|(&(update_id, device), &(launched, failed))| DeviceReport {
                update_id,
                device,
                launched,
                failed,
            })
            .collect();
        let changed = match self.store.record_health(&reports).await {
            Ok(changed) => changed,
            Err(error) => {
                metrics::counter!("expo_health_flush_errors_total").increment(1);
                tracing::warn!(%error, pending = pending.len(), "cannot store device reports yet; retrying");
                return;
            }
        };
        pending.clear();
        // Devices asking again change nothing: counts are read (and judged) only for the
        // updates whose counts moved.
        if changed.is_empty() {
            return;
        }
        let health = match self.store.health(&changed).await {
            Ok(health) => health,
            Err(error) => {
                tracing::warn!(%error, "cannot read update health");
                return;
            }
        };
        for (id, counts) in &health {
            let label = id.to_string();
            #[allow(
                clippy::cast_precision_loss,
                reason = "device counts are far below 2^52"
            )]
            {
                metrics::gauge!("expo_update_launched_devices", "update_id" => label.clone())
                    .set(counts.launched as f64);
                metrics::gauge!("expo_update_failed_devices", "update_id" => label)
                    .set(counts.failed as f64);
            }
        }
        if let Some(policy) = &self.auto_rollback {
            judge
                .judge(self.store.as_ref(), &self.cache, policy, &health)
                .await;
        }
    }
}

/// Adds an observation to the batch, flags only ever turning on.
fn merge(pending: &mut Pending, observation: &Observation) {
    for report in observation.reports() {
        let key = (report.update_id, report.device);
        if let Some(flags) = pending.get_mut(&key) {
            flags.0 |= report.launched;
            flags.1 |= report.failed;
        } else if pending.len() < MAX_PENDING {
            pending.insert(key, (report.launched, report.failed));
        } else {
            metrics::counter!("expo_health_dropped_total").increment(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_keeps_one_pair_per_device_and_update() {
        let update = Uuid::from_u128(7);
        let device = DeviceHash::of_client_id("device");
        let mut pending = Pending::new();
        merge(
            &mut pending,
            &Observation {
                device,
                launched: Some(update),
                failed: vec![],
            },
        );
        merge(
            &mut pending,
            &Observation {
                device,
                launched: None,
                failed: vec![update],
            },
        );
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[&(update, device)], (true, true));
    }

    #[tokio::test]
    async fn a_full_queue_drops_instead_of_waiting() {
        let (recorder, mut receiver) = HealthRecorder::new(1);
        for device in ["a", "b", "c"] {
            let mut headers = HeaderMap::new();
            headers.insert("eas-client-id", device.parse().unwrap());
            headers.insert(
                "expo-current-update-id",
                Uuid::from_u128(1).to_string().parse().unwrap(),
            );
            recorder.record(&mut headers);
        }
        assert!(receiver.try_recv().is_ok());
        assert!(receiver.try_recv().is_err(), "the others were dropped");
    }
}
