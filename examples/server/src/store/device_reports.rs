//! What devices report about the updates they run: the rows behind launch and failure
//! counts (see [`crate::device_reports`]).

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

/// An install, as stored: the first 16 bytes of the SHA-256 of its lower-cased
/// `eas-client-id`, in hex. Distinct installs stay distinct; the id itself is not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceHash([u8; 16]);

impl DeviceHash {
    /// The hash of a client id (lower-cased first: iOS sends upper case, Android lower).
    pub fn of_client_id(client_id: &str) -> Self {
        // Lower-cased a chunk at a time into the hasher: no copy of the id per request.
        let mut hasher = Sha256::new();
        let mut chunk = [0u8; 64];
        for part in client_id.as_bytes().chunks(chunk.len()) {
            let lower = &mut chunk[..part.len()];
            lower.copy_from_slice(part);
            lower.make_ascii_lowercase();
            hasher.update(&*lower);
        }
        let digest = hasher.finalize();
        let mut bytes = [0; 16];
        bytes.copy_from_slice(&digest[..16]);
        Self(bytes)
    }

    /// The stored spelling: 32 lower-case hex digits.
    pub fn to_hex(self) -> String {
        use std::fmt::Write as _;
        self.0.iter().fold(String::with_capacity(32), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
    }
}

/// One device's report on one update, as the store upserts it: flags only ever turn on.
///
/// A row exists only for the installs the server answered with the update (`served`):
/// a report on any other pair changes nothing, so a forger cannot report on an update it
/// was never given, and the rows of an update are bounded by the installs it was served to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceReport {
    /// The update reported on.
    pub update_id: Uuid,
    /// The reporting install.
    pub device: DeviceHash,
    /// The server answered this install with this update: the row may be created. Without
    /// it, only an existing row's flags can turn on.
    pub served: bool,
    /// It runs the update.
    pub launched: bool,
    /// It failed to launch the update.
    pub failed: bool,
}

/// Distinct devices that reported on an update.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateHealth {
    /// Installs the server answered with it (the rows kept for it, bounded).
    #[serde(default)]
    pub served: u64,
    /// Devices that reported running it or failing on it.
    pub devices: u64,
    /// Devices that reported running it.
    pub launched: u64,
    /// Devices that reported failing to launch it.
    pub failed: u64,
}

impl UpdateHealth {
    /// One row of the per-update count query both stores run (`update_id, served,
    /// devices, launched, failed`).
    pub(super) fn from_columns(
        update_id: &str,
        served: i64,
        devices: i64,
        launched: i64,
        failed: i64,
    ) -> crate::error::Result<(Uuid, Self)> {
        use super::rows::to_u64;
        let id = Uuid::parse_str(update_id)
            .map_err(|e| crate::error::Error::Corrupt(format!("update_health.update_id: {e}")))?;
        Ok((
            id,
            Self {
                served: to_u64(served)?,
                devices: to_u64(devices)?,
                launched: to_u64(launched)?,
                failed: to_u64(failed)?,
            },
        ))
    }

    /// `failed / devices`; 0 when no device reported.
    pub fn failure_rate(&self) -> f64 {
        if self.devices == 0 {
            return 0.0;
        }
        // Counts of devices stay far below 2^52: the conversion is exact.
        #[allow(
            clippy::cast_precision_loss,
            reason = "device counts are far below 2^52"
        )]
        let rate = self.failed as f64 / self.devices as f64;
        rate
    }
}

/// Most points a health series has, whatever the time range asked for.
pub const MAX_BUCKETS: u32 = 96;

/// Bucket widths a series picks from (milliseconds): the smallest one that covers the range
/// in at most [`MAX_BUCKETS`] points, so the axis reads in round units.
const ROUND_WIDTHS: [i64; 12] = [
    60_000,          // 1 minute
    5 * 60_000,      // 5 minutes
    15 * 60_000,     // 15 minutes
    3_600_000,       // 1 hour
    3 * 3_600_000,   // 3 hours
    6 * 3_600_000,   // 6 hours
    12 * 3_600_000,  // 12 hours
    86_400_000,      // 1 day
    2 * 86_400_000,  // 2 days
    7 * 86_400_000,  // 1 week
    14 * 86_400_000, // 2 weeks
    30 * 86_400_000, // 30 days
];

/// The time buckets of a series: `count` buckets of `width` milliseconds from `start`; an
/// event at `t` falls in bucket `(t - start) / width`, events outside are not counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Buckets {
    /// Start of the first bucket (inclusive), milliseconds since the Unix epoch.
    pub start: i64,
    /// Width of every bucket, milliseconds (at least 1).
    pub width: i64,
    /// Number of buckets, 1 to [`MAX_BUCKETS`].
    pub count: u32,
}

impl Buckets {
    /// At most [`MAX_BUCKETS`] buckets covering `from..to` (milliseconds, `from < to`), the
    /// first starting at `from`: a round width when one fits, else the range split evenly.
    /// Any range, however large, gives a bounded number of buckets.
    pub fn covering(from: i64, to: i64) -> crate::error::Result<Self> {
        if from < 0 || from >= to {
            return Err(crate::error::Error::Invalid(format!(
                "a time range starts at 0 or later and ends after it starts, not {from} .. {to}"
            )));
        }
        // i128: `to - from` of any two i64 values fits.
        let range = i128::from(to) - i128::from(from);
        let max = i128::from(MAX_BUCKETS);
        let width = ROUND_WIDTHS
            .iter()
            .map(|&w| i128::from(w))
            .find(|&w| (range + w - 1) / w <= max)
            .unwrap_or((range + max - 1) / max);
        let count = (range + width - 1) / width;
        Ok(Self {
            start: from,
            width: i64::try_from(width).unwrap_or(i64::MAX),
            count: u32::try_from(count).unwrap_or(MAX_BUCKETS),
        })
    }

    /// End of the last bucket (exclusive), saturated at the largest timestamp.
    pub fn end(&self) -> i64 {
        self.start
            .saturating_add(self.width.saturating_mul(i64::from(self.count)))
    }
}

/// Distinct installs per time bucket for one update: served it, first reported running it,
/// first reported failing on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthSeries {
    /// The buckets the counts are of.
    #[serde(flatten)]
    pub buckets: Buckets,
    /// Installs the server answered with the update, per bucket.
    pub served: Vec<u64>,
    /// Installs that first reported running it, per bucket.
    pub launched: Vec<u64>,
    /// Installs that first reported failing on it, per bucket.
    pub failed: Vec<u64>,
}

impl HealthSeries {
    /// All-zero counts over `buckets`.
    pub fn empty(buckets: Buckets) -> Self {
        let zeros = vec![0; usize::try_from(buckets.count).unwrap_or(0)];
        Self {
            buckets,
            served: zeros.clone(),
            launched: zeros.clone(),
            failed: zeros,
        }
    }

    /// Adds `count` events of `kind` (`served`, `launched` or `failed`) to bucket `bucket`;
    /// a bucket outside the series is ignored.
    pub(super) fn add(&mut self, kind: &str, bucket: i64, count: i64) -> crate::error::Result<()> {
        let counts = match kind {
            "served" => &mut self.served,
            "launched" => &mut self.launched,
            "failed" => &mut self.failed,
            other => {
                return Err(crate::error::Error::Corrupt(format!(
                    "health series kind {other:?}"
                )));
            }
        };
        if let Some(slot) = usize::try_from(bucket).ok().and_then(|b| counts.get_mut(b)) {
            *slot += super::rows::to_u64(count)?;
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::{MetadataStore, Platform, Scope};

    /// Reports on an install the update was never served to change nothing; once served,
    /// the install's flags turn on and stay on; rows of unknown updates are skipped.
    pub(crate) async fn reports_count_only_for_served_installs(store: &dyn MetadataStore) {
        let scope = Scope::new("default", "main", "1", Platform::Ios).unwrap();
        let a = crate::store::fixtures::publish_js(store, &scope, b"a", 100).await;
        let report = |device: &str, served, launched, failed| DeviceReport {
            update_id: a.id,
            device: DeviceHash::of_client_id(device),
            served,
            launched,
            failed,
        };
        // A forger's failures from ids the update was never served to.
        let forged: Vec<DeviceReport> = (0..50)
            .map(|n| report(&format!("forged {n}"), false, false, true))
            .collect();
        assert!(store.record_health(&forged).await.unwrap().is_empty());
        assert!(store.health(&[a.id]).await.unwrap().is_empty(), "no row");

        let unknown = DeviceReport {
            update_id: uuid::Uuid::new_v4(),
            ..report("x", true, false, false)
        };
        let served = [
            report("x", true, false, false),
            report("y", true, false, false),
            unknown,
        ];
        assert_eq!(store.record_health(&served).await.unwrap(), [a.id]);
        let health = store.health(&[a.id, unknown.update_id]).await.unwrap();
        assert_eq!(health.len(), 1, "the unknown update is skipped");
        assert_eq!(
            health[&a.id],
            UpdateHealth {
                served: 2,
                devices: 0,
                launched: 0,
                failed: 0
            }
        );
        // The served installs report; the forger's still change nothing.
        let mut reports = vec![
            report("X", false, true, false),
            report("y", false, false, true),
        ];
        reports.extend(forged);
        assert_eq!(store.record_health(&reports).await.unwrap(), [a.id]);
        assert!(
            store.record_health(&reports).await.unwrap().is_empty(),
            "nothing new: nothing written"
        );
        assert_eq!(
            store.health(&[a.id]).await.unwrap()[&a.id],
            UpdateHealth {
                served: 2,
                devices: 2,
                launched: 1,
                failed: 1
            }
        );
    }

    /// Each install counts once per event, in the bucket of the first time it happened:
    /// an event at a bucket's start is in it, one a millisecond before the next bucket
    /// too, one at the next bucket's start is not; events outside the range are not
    /// counted; a flag reported again keeps its first time.
    pub(crate) async fn series_count_first_events_per_bucket(store: &dyn MetadataStore) {
        let scope = Scope::new("default", "main", "1", Platform::Android).unwrap();
        let a = crate::store::fixtures::publish_js(store, &scope, b"a", 100).await;
        let hour = 3_600_000;
        let start = 1_700_000_000_000;
        let buckets = Buckets {
            start,
            width: hour,
            count: 3,
        };
        let row = |device: &str, served, launched, failed| DeviceReport {
            update_id: a.id,
            device: DeviceHash::of_client_id(device),
            served,
            launched,
            failed,
        };
        let at = |t: i64, rows: Vec<DeviceReport>| async move {
            store.record_health_at(&rows, t).await.unwrap();
        };
        at(start - 1, vec![row("early", true, false, false)]).await;
        at(start, vec![row("a", true, false, false)]).await;
        at(start + hour - 1, vec![row("b", true, false, false)]).await;
        at(start + hour, vec![row("c", true, false, false)]).await;
        at(start + 3 * hour, vec![row("late", true, false, false)]).await;
        // Reports: a launches in bucket 1, b fails in bucket 2 and then launches; a's
        // launch reported again later keeps its first time.
        at(start + hour + 5, vec![row("a", false, true, false)]).await;
        at(
            start + 2 * hour,
            vec![
                row("b", false, false, true),
                row("early", false, true, true),
            ],
        )
        .await;
        at(
            start + 2 * hour + 1,
            vec![row("b", false, true, true), row("a", false, true, false)],
        )
        .await;
        let series = store.health_series(a.id, buckets).await.unwrap();
        assert_eq!(series.buckets, buckets);
        assert_eq!(series.served, [2, 1, 0], "a and b, then c");
        assert_eq!(series.launched, [0, 1, 2], "a, then b and early");
        assert_eq!(series.failed, [0, 0, 2], "b and early");
        // The totals count every row, in range or not.
        assert_eq!(
            store.health(&[a.id]).await.unwrap()[&a.id],
            UpdateHealth {
                served: 5,
                devices: 3,
                launched: 3,
                failed: 2
            }
        );
        let unknown = store
            .health_series(uuid::Uuid::new_v4(), buckets)
            .await
            .unwrap();
        assert_eq!(unknown, HealthSeries::empty(buckets));
    }

    #[test]
    fn buckets_are_round_and_bounded_for_any_range() {
        let hour = 3_600_000;
        let day = Buckets::covering(0, 24 * hour).unwrap();
        assert_eq!((day.width, day.count), (15 * 60_000, 96));
        let short = Buckets::covering(1000, 1001).unwrap();
        assert_eq!((short.start, short.width, short.count), (1000, 60_000, 1));
        let month = Buckets::covering(5, 5 + 30 * 24 * hour + 1).unwrap();
        assert_eq!((month.width, month.count), (12 * hour, 61));
        assert!(month.end() > 5 + 30 * 24 * hour);
        // Far past the round widths: split evenly, still at most MAX_BUCKETS, and the end
        // saturates instead of overflowing.
        let huge = Buckets::covering(0, i64::MAX).unwrap();
        assert!(huge.count <= MAX_BUCKETS && huge.count > 0, "{huge:?}");
        assert_eq!(huge.end(), i64::MAX);
        for (from, to) in [(10, 10), (10, 9), (-1, 5), (i64::MIN, 0)] {
            assert!(Buckets::covering(from, to).is_err(), "{from}..{to}");
        }
    }

    #[test]
    fn device_hash_ignores_case_and_hides_the_id() {
        let upper = DeviceHash::of_client_id("8C1F5A3E-2B7D-4E0A-9F6C-1D2E3F4A5B6C");
        let lower = DeviceHash::of_client_id("8c1f5a3e-2b7d-4e0a-9f6c-1d2e3f4a5b6c");
        assert_eq!(upper, lower);
        assert_ne!(upper, DeviceHash::of_client_id("another install"));
        let hex = upper.to_hex();
        assert_eq!(hex.len(), 32);
        assert!(!hex.contains("8c1f5a3e"));
        // Ids longer than one chunk of the lower-casing: the digest of the whole id.
        for len in [63, 64, 65, 200] {
            let id: String = "Ab9".chars().cycle().take(len).collect();
            let digest = Sha256::digest(id.to_ascii_lowercase().as_bytes());
            assert_eq!(DeviceHash::of_client_id(&id).0, digest[..16], "{len}");
        }
    }

    #[test]
    fn failure_rate_is_failed_over_devices() {
        assert!(UpdateHealth::default().failure_rate().abs() < f64::EPSILON);
        let health = UpdateHealth {
            served: 50,
            devices: 40,
            launched: 35,
            failed: 12,
        };
        assert!((health.failure_rate() - 0.3).abs() < 1e-12);
    }
}
