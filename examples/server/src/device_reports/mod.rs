//! Device reports: how many distinct devices launched each update and how many failed on
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
//! What a forger can do with these headers is bounded (see DESIGN.md, "Device reports"):
//!
//! - Reports are read only from requests that passed protocol validation, and count only
//!   for installs this server (or another sharing the database) answered with that update
//!   before: the manifest endpoint records each `(update, install)` it serves
//!   ([`HealthRecorder::served`]), and a report on any other pair changes nothing.
//! - Rows per update are bounded ([`DEFAULT_MAX_DEVICES_PER_UPDATE`]): once an update was
//!   served to that many installs, further installs are not recorded (nor counted).
//! - Reports are rate limited: globally on the hot path ([`DEFAULT_REPORTS_PER_SECOND`] per
//!   server) and per install in the flusher ([`REPORTS_PER_DEVICE`] per minute).
//! - The automatic rollback ([`rollback`]) acts at most once per scope until an operator
//!   acts, never judges a copy (a rollback or republish), and goes back one update at most.
//!
//! The hot path only reads headers and hands [`Event`]s to a bounded queue, never waiting:
//! when the queue is full the event is dropped and counted. A background task
//! ([`Flusher`]) merges them into batches of `(update, device)` rows and writes them to the
//! metadata store every interval, in transactions of at most [`FLUSH_CHUNK`] rows with a
//! pause between them, so other writers (a `publish`, an operator's `rollback`) wait for
//! one small transaction at most. The store keeps one row per pair, so repeated requests,
//! restarts and several servers sharing a database all add up to distinct devices.

mod report;
pub mod rollback;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use expo_updates::RequestHeaders;
use metrics::Counter;
use tokio::sync::mpsc;
use uuid::Uuid;

pub use self::report::{Ignored, MAX_FAILED_IDS, Observation};
pub use self::rollback::AutoRollback;
use crate::store::{ChangeListener, DeviceHash, DeviceReport, MetadataStore};

/// Events the queue holds before new ones are dropped.
pub const QUEUE_CAPACITY: usize = 16_384;

/// Distinct `(update, device)` pairs kept while the store cannot be written; past it new
/// pairs are dropped (and counted) until a write succeeds.
pub const MAX_PENDING: usize = 200_000;

/// How often the queue is emptied into the batch: at most [`QUEUE_CAPACITY`] events arrive
/// in between (over 300,000 a second) before new ones are dropped.
const DRAIN_INTERVAL: Duration = Duration::from_millis(50);

/// Default time between two writes of the batch.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// Reports one server accepts per second (all installs together) before it drops them.
pub const DEFAULT_REPORTS_PER_SECOND: u64 = 2_000;

/// Reports one install may send per minute before the rest of the minute's are dropped
/// (a real app sends one per launch).
pub const REPORTS_PER_DEVICE: u8 = 6;

/// Installs the per-install limit tracks in one minute; reports of further installs are
/// dropped until the minute ends.
pub const MAX_TRACKED_DEVICES: usize = 100_000;

/// Default bound on the rows kept per update: the installs it was served to that can
/// report on it.
pub const DEFAULT_MAX_DEVICES_PER_UPDATE: u64 = 100_000;

/// Rows written per transaction.
pub const FLUSH_CHUNK: usize = 256;

/// The least pause between two transactions of one flush: the database lock is free at
/// least this long (and at least as long as the transaction before took).
const CHUNK_PAUSE: Duration = Duration::from_millis(10);

/// What the hot path hands to the [`Flusher`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A validated request's health headers.
    Report(Observation),
    /// The server answered `device` with `update_id` (a manifest it does not run yet).
    Served {
        /// The update served.
        update_id: Uuid,
        /// The install it was served to.
        device: DeviceHash,
    },
}

/// The hot path's end of the queue: cheap to clone, never blocks.
#[derive(Debug, Clone)]
pub struct HealthRecorder {
    sender: mpsc::Sender<Event>,
    limit: Arc<GlobalLimit>,
    counters: Arc<HotCounters>,
}

/// The counters the request path increments, each registered on first use (by then the
/// server's recorder is installed) and kept: a flood of refused or dropped reports costs
/// an atomic add each, not a search of the recorder's registry.
#[derive(Debug, Default)]
struct HotCounters {
    /// `expo_health_ignored_total{reason}`, by [`Ignored`] variant.
    ignored: [OnceLock<Counter>; 4],
    /// `expo_health_rate_limited_total{limit="global"}`.
    rate_limited: OnceLock<Counter>,
    /// `expo_health_dropped_total`.
    dropped: OnceLock<Counter>,
}

impl HotCounters {
    fn ignored(&self, why: Ignored) -> &Counter {
        let slot = match why {
            Ignored::NoClientId => 0,
            Ignored::MalformedFailedIds => 1,
            Ignored::InvalidFailedId => 2,
            Ignored::TooManyFailedIds => 3,
        };
        self.ignored[slot].get_or_init(
            || metrics::counter!("expo_health_ignored_total", "reason" => why.as_str()),
        )
    }
}

impl HealthRecorder {
    /// A recorder accepting [`DEFAULT_REPORTS_PER_SECOND`], and the receiving end its
    /// [`Flusher`] drains.
    pub fn new(capacity: usize) -> (Self, mpsc::Receiver<Event>) {
        Self::with_limit(capacity, DEFAULT_REPORTS_PER_SECOND)
    }

    /// A recorder accepting at most `per_second` reports per second.
    pub fn with_limit(capacity: usize, per_second: u64) -> (Self, mpsc::Receiver<Event>) {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let limit = Arc::new(GlobalLimit {
            start: Instant::now(),
            per_second,
            window: AtomicU64::new(0),
            used: AtomicU64::new(0),
        });
        let counters = Arc::default();
        (
            Self {
                sender,
                limit,
                counters,
            },
            receiver,
        )
    }

    /// Reads the health headers of a manifest request, before it is validated.
    ///
    /// Malformed values are ignored and counted, and a malformed
    /// `expo-recent-failed-update-ids` is forgotten by `headers` (see
    /// [`Observation::read`]) so it never costs the device its update check. Nothing is
    /// queued: [`HealthRecorder::report`] does that once the request passed validation.
    pub fn read(&self, headers: &mut RequestHeaders<'_>) -> Option<Observation> {
        Observation::read(headers, |why| self.counters.ignored(why).increment(1))
    }

    /// Queues what a validated request reports, within the global rate limit.
    pub fn report(&self, observation: Observation) {
        if !self.limit.admit() {
            self.counters
                .rate_limited
                .get_or_init(
                    || metrics::counter!("expo_health_rate_limited_total", "limit" => "global"),
                )
                .increment(1);
            return;
        }
        self.send(Event::Report(observation));
    }

    /// Records that the server answered the install `client_id` with `update_id`, which it
    /// did not run yet: only such installs' reports on the update count.
    pub fn served(&self, update_id: Uuid, client_id: &str) {
        let client_id = client_id.trim();
        if client_id.is_empty() {
            return;
        }
        self.send(Event::Served {
            update_id,
            device: DeviceHash::of_client_id(client_id),
        });
    }

    fn send(&self, event: Event) {
        if self.sender.try_send(event).is_err() {
            // Full (the store is slower than the traffic) or closed (shutting down).
            self.counters
                .dropped
                .get_or_init(|| metrics::counter!("expo_health_dropped_total"))
                .increment(1);
        }
    }
}

/// A fixed one-second window shared by every request: approximate at window edges, one
/// atomic add per report.
#[derive(Debug)]
struct GlobalLimit {
    start: Instant,
    per_second: u64,
    window: AtomicU64,
    used: AtomicU64,
}

impl GlobalLimit {
    fn admit(&self) -> bool {
        let now = self.start.elapsed().as_secs();
        let window = self.window.load(Ordering::Relaxed);
        if now != window
            && self
                .window
                .compare_exchange(window, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.used.store(0, Ordering::Relaxed);
        }
        self.used.fetch_add(1, Ordering::Relaxed) < self.per_second
    }
}

/// At most [`REPORTS_PER_DEVICE`] reports per install per minute, over at most
/// [`MAX_TRACKED_DEVICES`] installs; owned by the flusher (no lock).
#[derive(Debug)]
struct DeviceLimit {
    window_start: Instant,
    counts: HashMap<DeviceHash, u8>,
}

impl Default for DeviceLimit {
    fn default() -> Self {
        Self {
            window_start: Instant::now(),
            counts: HashMap::new(),
        }
    }
}

impl DeviceLimit {
    const WINDOW: Duration = Duration::from_mins(1);

    fn admit(&mut self, device: DeviceHash) -> bool {
        if self.window_start.elapsed() >= Self::WINDOW {
            self.counts.clear();
            self.window_start = Instant::now();
        }
        let tracked = self.counts.len();
        match self.counts.get_mut(&device) {
            Some(count) if *count >= REPORTS_PER_DEVICE => false,
            Some(count) => {
                *count += 1;
                true
            }
            None if tracked >= MAX_TRACKED_DEVICES => false,
            None => {
                self.counts.insert(device, 1);
                true
            }
        }
    }
}

/// The background task writing events to the store in batches, then refreshing the
/// gauges of, and judging for automatic rollback, the updates whose counts changed.
#[derive(Debug)]
pub struct Flusher {
    /// Where counts are kept.
    pub store: Arc<dyn MetadataStore>,
    /// Told after an automatic rollback (the manifest cache), so this server serves it at once.
    pub changes: Arc<dyn ChangeListener>,
    /// The queue's receiving end.
    pub receiver: mpsc::Receiver<Event>,
    /// Time between two writes.
    pub interval: Duration,
    /// The automatic rollback policy; `None` when off.
    pub auto_rollback: Option<AutoRollback>,
    /// Rows kept per update (installs it was served to).
    pub max_devices: u64,
}

/// What is waiting for the next write, each map sorted (a stable lock order).
#[derive(Debug, Default)]
struct Pending {
    /// `(launched, failed)` flags per `(update, device)` reported.
    reports: BTreeMap<(Uuid, DeviceHash), (bool, bool)>,
    /// `(update, device)` pairs served.
    served: BTreeSet<(Uuid, DeviceHash)>,
    /// The per-install report limit.
    limit: DeviceLimit,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.reports.is_empty() && self.served.is_empty()
    }

    fn len(&self) -> usize {
        self.reports.len() + self.served.len()
    }
}

impl Flusher {
    /// Runs until every [`HealthRecorder`] is dropped, then writes what is left.
    pub async fn run(mut self) {
        let mut pending = Pending::default();
        let mut judge = rollback::Judge::default();
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The queue is emptied on a short tick rather than awaited: a task waiting on it
        // would be woken (another thread unparked) by every manifest request that reports.
        let mut drain = tokio::time::interval(DRAIN_INTERVAL);
        drain.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = drain.tick() => {
                    if !self.drain(&mut pending) {
                        break;
                    }
                }
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

    /// Merges every queued event into `pending`; `false` once every sender is gone (and
    /// so every event they sent has been merged).
    fn drain(&mut self, pending: &mut Pending) -> bool {
        loop {
            match self.receiver.try_recv() {
                Ok(event) => merge(pending, event),
                Err(mpsc::error::TryRecvError::Empty) => return true,
                Err(mpsc::error::TryRecvError::Disconnected) => return false,
            }
        }
    }

    /// Writes the batch (reports first, so a report sent with the request that first
    /// served the update does not count); on failure keeps the rest for the next attempt.
    async fn flush(&self, pending: &mut Pending, judge: &mut rollback::Judge) {
        if pending.is_empty() {
            return;
        }
        let reports: Vec<DeviceReport> = pending
            .reports
            .iter()
            .map(|(&(update_id, device), &(launched, failed))| DeviceReport {
                update_id,
                device,
                served: false,
                launched,
                failed,
            })
            .collect();
        let Some(changed) = self
            .write(&reports, |row| {
                pending.reports.remove(&(row.update_id, row.device));
            })
            .await
        else {
            return;
        };
        let served = self.admitted_served(pending).await;
        let stored = self
            .write(&served, |row| {
                pending.served.remove(&(row.update_id, row.device));
            })
            .await;
        if stored.is_none() {
            return;
        }
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
                .judge(self.store.as_ref(), self.changes.as_ref(), policy, &health)
                .await;
        }
    }

    /// Writes `rows` in small transactions, calling `written` for each row stored; `None`
    /// when the store refuses (the rest stays pending). Returns the updates changed.
    async fn write(
        &self,
        rows: &[DeviceReport],
        mut written: impl FnMut(&DeviceReport),
    ) -> Option<Vec<Uuid>> {
        let mut changed = BTreeSet::new();
        for (n, chunk) in rows.chunks(FLUSH_CHUNK).enumerate() {
            if n > 0 {
                tokio::task::yield_now().await;
            }
            let started = Instant::now();
            match self.store.record_health(chunk).await {
                Ok(updates) => changed.extend(updates),
                Err(error) => {
                    metrics::counter!("expo_health_flush_errors_total").increment(1);
                    tracing::warn!(%error, pending = rows.len(), "cannot store device reports yet; retrying");
                    return None;
                }
            }
            chunk.iter().for_each(&mut written);
            if chunk.len() == FLUSH_CHUNK {
                // Leave the database lock free for other writers before the next one.
                tokio::time::sleep(started.elapsed().max(CHUNK_PAUSE)).await;
            }
        }
        Some(changed.into_iter().collect())
    }

    /// The served pairs that fit under each update's row bound; the others are dropped and
    /// counted. Empty when the counts cannot be read (the pairs stay pending).
    async fn admitted_served(&self, pending: &mut Pending) -> Vec<DeviceReport> {
        if pending.served.is_empty() {
            return Vec::new();
        }
        let updates: Vec<Uuid> = pending
            .served
            .iter()
            .map(|(id, _)| *id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let counts = match self.store.health(&updates).await {
            Ok(counts) => counts,
            Err(error) => {
                tracing::warn!(%error, "cannot read update health");
                return Vec::new();
            }
        };
        let mut room: HashMap<Uuid, u64> = updates
            .iter()
            .map(|id| {
                let rows = counts.get(id).map_or(0, |c| c.served);
                (*id, self.max_devices.saturating_sub(rows))
            })
            .collect();
        let mut admitted = Vec::new();
        let mut over = 0_u64;
        for &(update_id, device) in &pending.served {
            let left = room.entry(update_id).or_default();
            if *left == 0 {
                over += 1;
                continue;
            }
            *left -= 1;
            admitted.push(DeviceReport {
                update_id,
                device,
                served: true,
                launched: false,
                failed: false,
            });
        }
        if over > 0 {
            metrics::counter!("expo_health_over_bound_total").increment(over);
            pending
                .served
                .retain(|(id, _)| room.get(id).is_none_or(|left| *left > 0));
        }
        admitted
    }
}

/// Adds an event to the batch, flags only ever turning on.
fn merge(pending: &mut Pending, event: Event) {
    let observation = match event {
        Event::Served { update_id, device } => {
            if pending.len() < MAX_PENDING {
                pending.served.insert((update_id, device));
            } else {
                metrics::counter!("expo_health_dropped_total").increment(1);
            }
            return;
        }
        Event::Report(observation) => observation,
    };
    if !pending.limit.admit(observation.device) {
        metrics::counter!("expo_health_rate_limited_total", "limit" => "device").increment(1);
        return;
    }
    for report in observation.reports() {
        let key = (report.update_id, report.device);
        if let Some(flags) = pending.reports.get_mut(&key) {
            flags.0 |= report.launched;
            flags.1 |= report.failed;
        } else if pending.len() < MAX_PENDING {
            pending
                .reports
                .insert(key, (report.launched, report.failed));
        } else {
            metrics::counter!("expo_health_dropped_total").increment(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(device: DeviceHash, launched: Option<Uuid>, failed: Vec<Uuid>) -> Event {
        Event::Report(Observation {
            device,
            launched,
            failed,
        })
    }

    #[test]
    fn merging_keeps_one_pair_per_device_and_update() {
        let update = Uuid::from_u128(7);
        let device = DeviceHash::of_client_id("device");
        let mut pending = Pending::default();
        merge(&mut pending, report(device, Some(update), vec![]));
        merge(&mut pending, report(device, None, vec![update]));
        merge(
            &mut pending,
            Event::Served {
                update_id: update,
                device,
            },
        );
        assert_eq!(pending.reports.len(), 1);
        assert_eq!(pending.reports[&(update, device)], (true, true));
        assert_eq!(pending.served.len(), 1, "served pairs are kept apart");
    }

    #[test]
    fn one_install_reports_a_few_times_a_minute() {
        let device = DeviceHash::of_client_id("noisy");
        let mut pending = Pending::default();
        for n in 0..100_u128 {
            merge(&mut pending, report(device, None, vec![Uuid::from_u128(n)]));
        }
        assert_eq!(pending.reports.len(), usize::from(REPORTS_PER_DEVICE));
        let other = DeviceHash::of_client_id("quiet");
        merge(&mut pending, report(other, None, vec![Uuid::from_u128(1)]));
        assert_eq!(pending.reports.len(), usize::from(REPORTS_PER_DEVICE) + 1);
    }

    #[tokio::test]
    async fn a_full_queue_drops_instead_of_waiting() {
        let (recorder, mut receiver) = HealthRecorder::new(1);
        for device in ["a", "b", "c"] {
            let mut headers = axum::http::HeaderMap::new();
            headers.insert("eas-client-id", device.parse().unwrap());
            headers.insert(
                "expo-current-update-id",
                Uuid::from_u128(1).to_string().parse().unwrap(),
            );
            let observation = recorder
                .read(&mut expo_updates::RequestHeaders::scan(&headers))
                .unwrap();
            recorder.report(observation);
        }
        assert!(receiver.try_recv().is_ok());
        assert!(receiver.try_recv().is_err(), "the others were dropped");
    }

    #[tokio::test]
    async fn the_global_limit_drops_reports_past_it_within_a_second() {
        let (recorder, mut receiver) = HealthRecorder::with_limit(1000, 10);
        let started = Instant::now();
        for n in 0..100_u128 {
            recorder.report(Observation {
                device: DeviceHash::of_client_id(&n.to_string()),
                launched: Some(Uuid::from_u128(n)),
                failed: vec![],
            });
        }
        let mut queued = 0;
        while receiver.try_recv().is_ok() {
            queued += 1;
        }
        // Two windows at most were crossed while sending.
        let windows = if started.elapsed() < Duration::from_millis(900) {
            2
        } else {
            3
        };
        assert!((10..=10 * windows).contains(&queued), "{queued}");
        // Served records are the server's own facts: never rate limited.
        recorder.served(Uuid::from_u128(1), "device");
        assert!(matches!(receiver.try_recv(), Ok(Event::Served { .. })));
    }
}
