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
        let digest = Sha256::digest(client_id.to_ascii_lowercase().as_bytes());
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

    #[test]
    fn device_hash_ignores_case_and_hides_the_id() {
        let upper = DeviceHash::of_client_id("8C1F5A3E-2B7D-4E0A-9F6C-1D2E3F4A5B6C");
        let lower = DeviceHash::of_client_id("8c1f5a3e-2b7d-4e0a-9f6c-1d2e3f4a5b6c");
        assert_eq!(upper, lower);
        assert_ne!(upper, DeviceHash::of_client_id("another install"));
        let hex = upper.to_hex();
        assert_eq!(hex.len(), 32);
        assert!(!hex.contains("8c1f5a3e"));
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
