//! Reading one manifest request's health headers into an [`Observation`].

// Read from the request's one scan of its headers, which validation reads too.
use expo_updates::{MAX_CLIENT_ID_LEN, RequestHeader, RequestHeaders};
use uuid::Uuid;

use crate::store::{DeviceHash, DeviceReport};

/// Most failed update ids read from one request; the rest are ignored (clients list the
/// updates that failed within the last day, a handful at most).
pub const MAX_FAILED_IDS: usize = 16;

/// Why (part of) a request's health headers were not counted: the label of
/// `expo_health_ignored_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// A report without a usable `eas-client-id`: devices could not be told apart.
    NoClientId,
    /// `expo-recent-failed-update-ids` is not an SFV list of strings (the header is then
    /// removed so the protocol layer does not refuse the request over it).
    MalformedFailedIds,
    /// A member of `expo-recent-failed-update-ids` is not an update id.
    InvalidFailedId,
    /// More than [`MAX_FAILED_IDS`] failed ids.
    TooManyFailedIds,
}

impl Ignored {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoClientId => "no_client_id",
            Self::MalformedFailedIds => "malformed_failed_ids",
            Self::InvalidFailedId => "invalid_failed_id",
            Self::TooManyFailedIds => "too_many_failed_ids",
        }
    }
}

/// What one request says about one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// The device.
    pub device: DeviceHash,
    /// The update it runs (`expo-current-update-id`), unless that is the embedded one.
    pub launched: Option<Uuid>,
    /// The updates it failed to launch.
    pub failed: Vec<Uuid>,
}

impl Observation {
    /// Reads the health headers of a manifest request; `ignored` hears of every part left
    /// uncounted. A malformed `expo-recent-failed-update-ids` is forgotten by `headers`:
    /// it only feeds these counts, so it must never cost the device its update check.
    ///
    /// Attribution (see the module docs of [`crate::device_reports`]): the current update
    /// counts as launched; each recent failed id as failed; `expo-fatal-error` counts as a
    /// failure of the current update only when no failed id is listed (otherwise the crash
    /// it describes is the failed update's, and the client now runs a fallback).
    pub fn read(
        headers: &mut RequestHeaders<'_>,
        mut ignored: impl FnMut(Ignored),
    ) -> Option<Self> {
        let current =
            single(headers, RequestHeader::CurrentUpdateId).and_then(|v| Uuid::parse_str(v).ok());
        let embedded =
            single(headers, RequestHeader::EmbeddedUpdateId).and_then(|v| Uuid::parse_str(v).ok());
        let launched = current.filter(|id| Some(*id) != embedded);
        let mut failed = failed_ids(headers, &mut ignored);
        if failed.is_empty()
            && let Some(id) = launched
            && headers
                .first(RequestHeader::FatalError)
                .is_some_and(|v| !v.as_bytes().trim_ascii().is_empty())
        {
            failed.push(id);
        }
        if launched.is_none() && failed.is_empty() {
            return None;
        }
        let client_id = single(headers, RequestHeader::ClientId)
            .filter(|id| !id.is_empty() && id.len() <= MAX_CLIENT_ID_LEN);
        let Some(client_id) = client_id else {
            ignored(Ignored::NoClientId);
            return None;
        };
        Some(Self {
            device: DeviceHash::of_client_id(client_id),
            launched,
            failed,
        })
    }

    /// The store rows this observation adds to.
    pub fn reports(&self) -> impl Iterator<Item = DeviceReport> + '_ {
        let launched = self.launched.map(|update_id| DeviceReport {
            update_id,
            device: self.device,
            served: false,
            launched: true,
            failed: self.failed.contains(&update_id),
        });
        let failed = self
            .failed
            .iter()
            .filter(move |id| Some(**id) != self.launched)
            .map(|update_id| DeviceReport {
                update_id: *update_id,
                device: self.device,
                served: false,
                launched: false,
                failed: true,
            });
        launched.into_iter().chain(failed)
    }
}

/// The trimmed text of a header sent once; `None` when absent, repeated or not ASCII.
fn single<'a>(headers: &RequestHeaders<'a>, header: RequestHeader) -> Option<&'a str> {
    headers.single(header).ok().flatten()
}

fn failed_ids(headers: &mut RequestHeaders<'_>, ignored: &mut impl FnMut(Ignored)) -> Vec<Uuid> {
    const FAILED: RequestHeader = RequestHeader::RecentFailedUpdateIds;
    if headers.first(FAILED).is_none() {
        return Vec::new();
    }
    let members = headers
        .single(FAILED)
        .ok()
        .flatten()
        .and_then(|text| expo_sfv::parse_string_list(text).ok());
    let Some(members) = members else {
        ignored(Ignored::MalformedFailedIds);
        headers.forget(FAILED);
        return Vec::new();
    };
    let mut ids = Vec::new();
    for member in members {
        match Uuid::parse_str(&member) {
            Ok(_) if ids.len() == MAX_FAILED_IDS => {
                ignored(Ignored::TooManyFailedIds);
                break;
            }
            Ok(id) => {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            Err(_) => ignored(Ignored::InvalidFailedId),
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};

    use super::*;

    const A: &str = "0754dad0-d200-4634-913c-ef1f26106028";
    const B: &str = "9a1e0000-d200-4634-913c-ef1f26106028";
    const EMBEDDED: &str = "5f0c6e6a-7c3e-4f8e-9a43-0f0bd54c39a1";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    /// The observation, what was ignored, and whether `expo-recent-failed-update-ids` is
    /// still there for the protocol layer to read.
    fn read(pairs: &[(&'static str, &str)]) -> (Option<Observation>, Vec<Ignored>, bool) {
        let map = headers(pairs);
        let mut scanned = RequestHeaders::scan(&map);
        let mut ignored = Vec::new();
        let observation = Observation::read(&mut scanned, |why| ignored.push(why));
        let left = scanned
            .first(RequestHeader::RecentFailedUpdateIds)
            .is_some();
        (observation, ignored, left)
    }

    fn id(text: &str) -> Uuid {
        Uuid::parse_str(text).unwrap()
    }

    #[test]
    fn current_and_failed_ids_are_read() {
        let (observation, ignored, _) = read(&[
            ("eas-client-id", "8C1F5A3E-2B7D-4E0A-9F6C-1D2E3F4A5B6C"),
            ("expo-current-update-id", A),
            ("expo-embedded-update-id", EMBEDDED),
            ("expo-recent-failed-update-ids", &format!("\"{B}\"")),
        ]);
        let observation = observation.unwrap();
        assert!(ignored.is_empty());
        assert_eq!(observation.launched, Some(id(A)));
        assert_eq!(observation.failed, [id(B)]);
        assert_eq!(
            observation.device,
            DeviceHash::of_client_id("8c1f5a3e-2b7d-4e0a-9f6c-1d2e3f4a5b6c")
        );
        let reports: Vec<_> = observation.reports().collect();
        assert_eq!(reports.len(), 2);
        assert!(reports[0].launched && !reports[0].failed);
        assert!(!reports[1].launched && reports[1].failed);
    }

    #[test]
    fn the_embedded_update_is_not_counted() {
        let (observation, ignored, _) = read(&[
            ("eas-client-id", "device"),
            ("expo-current-update-id", EMBEDDED),
            ("expo-embedded-update-id", EMBEDDED),
        ]);
        assert_eq!(observation, None);
        assert!(ignored.is_empty());
    }

    #[test]
    fn a_fatal_error_fails_the_current_update_unless_failed_ids_name_the_culprit() {
        let (observation, _, _) = read(&[
            ("eas-client-id", "device"),
            ("expo-current-update-id", A),
            ("expo-fatal-error", "TypeError: undefined is not a function"),
        ]);
        let reports: Vec<_> = observation.unwrap().reports().collect();
        assert_eq!(reports.len(), 1);
        assert!(reports[0].launched && reports[0].failed);

        let (observation, _, _) = read(&[
            ("eas-client-id", "device"),
            ("expo-current-update-id", A),
            ("expo-recent-failed-update-ids", &format!("\"{B}\"")),
            ("expo-fatal-error", "TypeError: undefined is not a function"),
        ]);
        let observation = observation.unwrap();
        assert_eq!(observation.failed, [id(B)]);
        assert!(observation.reports().all(|r| r.launched != r.failed));
    }

    #[test]
    fn malformed_failed_ids_are_removed_and_counted() {
        let (observation, ignored, left) = read(&[
            ("eas-client-id", "device"),
            ("expo-current-update-id", A),
            ("expo-recent-failed-update-ids", "(\"unterminated"),
        ]);
        assert_eq!(ignored, [Ignored::MalformedFailedIds]);
        assert!(!left, "the malformed list is not read by validation");
        assert_eq!(observation.unwrap().launched, Some(id(A)), "still counted");

        let (observation, ignored, left) = read(&[
            ("eas-client-id", "device"),
            (
                "expo-recent-failed-update-ids",
                &format!("\"nope\", \"{B}\""),
            ),
        ]);
        assert_eq!(ignored, [Ignored::InvalidFailedId]);
        assert!(left);
        assert_eq!(observation.unwrap().failed, [id(B)]);
    }

    #[test]
    fn failed_ids_are_bounded_and_deduplicated() {
        let list: Vec<String> = (0..40)
            .map(|i| format!("\"{}\"", Uuid::from_u128(i % 20 + 1)))
            .collect();
        let (observation, ignored, _) = read(&[
            ("eas-client-id", "device"),
            ("expo-recent-failed-update-ids", &list.join(", ")),
        ]);
        assert_eq!(observation.unwrap().failed.len(), MAX_FAILED_IDS);
        assert_eq!(ignored, [Ignored::TooManyFailedIds]);
    }

    proptest::proptest! {
        /// Whatever the health headers hold, reading them never panics, stays bounded, and
        /// leaves a request the protocol layer does not refuse over them.
        #[test]
        fn health_headers_never_fail_the_request(
            failed in proptest::option::of("[ -~]{0,200}"),
            repeat_failed in proptest::bool::ANY,
            fatal in proptest::option::of("[ -~]{0,50}"),
            current in proptest::option::of(proptest::prop_oneof![
                proptest::strategy::Just(A.to_owned()),
                "[ -~]{0,40}",
            ]),
            ids in proptest::collection::vec(0_u128..40, 0..30),
        ) {
            let mut map = headers(&[
                ("expo-platform", "ios"),
                ("expo-runtime-version", "1"),
                ("eas-client-id", "device"),
            ]);
            let listed: Vec<String> = ids.iter().map(|i| format!("\"{}\"", Uuid::from_u128(*i))).collect();
            for value in [failed, Some(listed.join(", "))].into_iter().flatten() {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    map.append("expo-recent-failed-update-ids", value.clone());
                    if repeat_failed {
                        map.append("expo-recent-failed-update-ids", value);
                    }
                    break;
                }
            }
            for (name, value) in [("expo-fatal-error", fatal), ("expo-current-update-id", current)] {
                if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                    map.insert(name, value);
                }
            }
            let current_is_valid = map
                .get("expo-current-update-id")
                .is_none_or(|v| v.to_str().is_ok_and(|v| v.trim().parse::<expo_manifest::UpdateId>().is_ok()));
            let mut scanned = RequestHeaders::scan(&map);
            if let Some(observation) = Observation::read(&mut scanned, |_| {}) {
                proptest::prop_assert!(observation.failed.len() <= MAX_FAILED_IDS);
                proptest::prop_assert!(observation.reports().count() <= MAX_FAILED_IDS + 1);
            }
            if current_is_valid {
                let answer = expo_updates::UpdateRequest::from_request_headers(&scanned);
                proptest::prop_assert!(answer.is_ok(), "{answer:?}");
            }
        }
    }

    #[test]
    fn reports_without_a_client_id_are_counted_as_ignored() {
        for client in [None, Some(""), Some(&*"x".repeat(MAX_CLIENT_ID_LEN + 1))] {
            let mut pairs = vec![("expo-current-update-id", A)];
            if let Some(client) = client {
                pairs.push(("eas-client-id", client));
            }
            let (observation, ignored, _) = read(&pairs);
            assert_eq!(observation, None);
            assert_eq!(ignored, [Ignored::NoClientId]);
        }
        let (observation, ignored, _) = read(&[("eas-client-id", "device")]);
        assert_eq!(observation, None, "nothing to report");
        assert!(ignored.is_empty());
    }
}
