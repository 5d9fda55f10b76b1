//! The protocol's request headers of one request, found in one pass over its header map.
//!
//! A manifest request carries a dozen protocol headers, and a server reads several of
//! them more than once (to validate the request, to record device health, to label
//! metrics). Each `HeaderMap::get` hashes the name byte by byte; [`RequestHeaders::scan`]
//! walks the map's entries once instead and keeps where each protocol header is, so every
//! later read is an array index.

use http::header::{ACCEPT, GetAll};
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::error::HeaderValueError;
use crate::headers::names;

/// A request header the protocol reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestHeader {
    /// `expo-protocol-version`
    ProtocolVersion,
    /// `expo-platform`
    Platform,
    /// `expo-runtime-version`
    RuntimeVersion,
    /// `accept`
    Accept,
    /// `expo-expect-signature`
    ExpectSignature,
    /// `expo-channel-name`
    ChannelName,
    /// `expo-current-update-id`
    CurrentUpdateId,
    /// `expo-embedded-update-id`
    EmbeddedUpdateId,
    /// `expo-requested-update-id`
    RequestedUpdateId,
    /// `expo-recent-failed-update-ids`
    RecentFailedUpdateIds,
    /// `expo-fatal-error`
    FatalError,
    /// `expo-extra-params`
    ExtraParams,
    /// `eas-client-id`
    ClientId,
    /// `a-im`
    AIm,
}

const COUNT: usize = 14;

impl RequestHeader {
    /// Every request header, in declaration order.
    pub const ALL: [RequestHeader; COUNT] = [
        Self::ProtocolVersion,
        Self::Platform,
        Self::RuntimeVersion,
        Self::Accept,
        Self::ExpectSignature,
        Self::ChannelName,
        Self::CurrentUpdateId,
        Self::EmbeddedUpdateId,
        Self::RequestedUpdateId,
        Self::RecentFailedUpdateIds,
        Self::FatalError,
        Self::ExtraParams,
        Self::ClientId,
        Self::AIm,
    ];

    /// The header's name (lower case).
    pub const fn name(self) -> &'static str {
        match self {
            Self::ProtocolVersion => names::EXPO_PROTOCOL_VERSION,
            Self::Platform => names::EXPO_PLATFORM,
            Self::RuntimeVersion => names::EXPO_RUNTIME_VERSION,
            Self::Accept => "accept",
            Self::ExpectSignature => names::EXPO_EXPECT_SIGNATURE,
            Self::ChannelName => names::EXPO_CHANNEL_NAME,
            Self::CurrentUpdateId => names::EXPO_CURRENT_UPDATE_ID,
            Self::EmbeddedUpdateId => names::EXPO_EMBEDDED_UPDATE_ID,
            Self::RequestedUpdateId => names::EXPO_REQUESTED_UPDATE_ID,
            Self::RecentFailedUpdateIds => names::EXPO_RECENT_FAILED_UPDATE_IDS,
            Self::FatalError => names::EXPO_FATAL_ERROR,
            Self::ExtraParams => names::EXPO_EXTRA_PARAMS,
            Self::ClientId => names::EAS_CLIENT_ID,
            Self::AIm => names::A_IM,
        }
    }

    /// The request header named `name`, if the protocol reads it.
    pub fn of(name: &HeaderName) -> Option<Self> {
        // `accept` is one of `http`'s standard names: compared without its text.
        if *name == ACCEPT {
            return Some(Self::Accept);
        }
        let text = name.as_str();
        let bytes = text.as_bytes();
        // Every other one starts with `expo-`, `eas-` or is `a-im`: most of a request's
        // other headers (`host`, `user-agent`, `connection`...) stop at the first byte.
        if !matches!(bytes.first(), Some(b'e' | b'a')) {
            return None;
        }
        // The length (and where two share one, the sixth byte) leaves one candidate: one
        // comparison instead of fourteen.
        let candidate = match (bytes.len(), bytes.get(5)) {
            (4, _) => Self::AIm,
            (13, Some(b'p')) => Self::Platform,
            (13, _) => Self::ClientId,
            (16, _) => Self::FatalError,
            (17, Some(b'c')) => Self::ChannelName,
            (17, _) => Self::ExtraParams,
            (20, _) => Self::RuntimeVersion,
            (21, Some(b'p')) => Self::ProtocolVersion,
            (21, _) => Self::ExpectSignature,
            (22, _) => Self::CurrentUpdateId,
            (23, _) => Self::EmbeddedUpdateId,
            (24, _) => Self::RequestedUpdateId,
            (29, _) => Self::RecentFailedUpdateIds,
            _ => return None,
        };
        (candidate.name() == text).then_some(candidate)
    }
}

/// Where one header is: its first value and whether more follow.
#[derive(Debug, Clone, Copy, Default)]
struct Slot<'a> {
    first: Option<&'a HeaderValue>,
    repeated: bool,
}

/// The protocol's headers of one request, found by one walk over its [`HeaderMap`].
///
/// # Examples
///
/// ```
/// use expo_updates::{RequestHeader, RequestHeaders};
///
/// let mut map = http::HeaderMap::new();
/// map.insert("expo-platform", http::HeaderValue::from_static(" ios "));
/// map.insert("user-agent", http::HeaderValue::from_static("okhttp/4"));
/// let headers = RequestHeaders::scan(&map);
/// assert_eq!(headers.single(RequestHeader::Platform)?, Some("ios"));
/// assert_eq!(headers.single(RequestHeader::ChannelName)?, None);
/// # Ok::<(), expo_updates::HeaderValueError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RequestHeaders<'a> {
    map: &'a HeaderMap,
    slots: [Slot<'a>; COUNT],
}

impl<'a> RequestHeaders<'a> {
    /// Finds the protocol's headers in `map`.
    pub fn scan(map: &'a HeaderMap) -> Self {
        let mut slots = [Slot::default(); COUNT];
        let mut last: Option<(&HeaderName, Option<RequestHeader>)> = None;
        for (name, value) in map {
            // A repeated header's values follow one another with the same name.
            let header = match last {
                Some((previous, header)) if std::ptr::eq(previous, name) => header,
                _ => RequestHeader::of(name),
            };
            last = Some((name, header));
            if let Some(header) = header {
                let slot = &mut slots[header as usize];
                if slot.first.is_none() {
                    slot.first = Some(value);
                } else {
                    slot.repeated = true;
                }
            }
        }
        Self { map, slots }
    }

    /// The map this was scanned from.
    pub fn map(&self) -> &'a HeaderMap {
        self.map
    }

    /// The first value of `header`.
    pub fn first(&self, header: RequestHeader) -> Option<&'a HeaderValue> {
        self.slots[header as usize].first
    }

    /// Whether `header` was sent more than once.
    pub fn is_repeated(&self, header: RequestHeader) -> bool {
        self.slots[header as usize].repeated
    }

    /// Every value of `header`, in the order sent.
    pub fn all(&self, header: RequestHeader) -> Values<'a> {
        let slot = self.slots[header as usize];
        match (slot.first, slot.repeated) {
            (None, _) => Values::One(None),
            (Some(one), false) => Values::One(Some(one)),
            // Rare (several `accept` or `a-im` lines): the map's own lookup.
            (Some(_), true) => Values::Many(self.map.get_all(header.name()).into_iter()),
        }
    }

    /// The trimmed text of a header that may appear once: `None` when absent, an error
    /// when repeated or not visible ASCII.
    pub fn single(&self, header: RequestHeader) -> Result<Option<&'a str>, HeaderValueError> {
        let slot = self.slots[header as usize];
        let Some(value) = slot.first else {
            return Ok(None);
        };
        if slot.repeated {
            return Err(HeaderValueError::Repeated);
        }
        value
            .to_str()
            .map(|text| Some(text.trim()))
            .map_err(|_| HeaderValueError::NotVisibleAscii)
    }

    /// Reads on as if `header` had not been sent (a server that ignores a malformed
    /// header it alone reads, rather than refusing the request over it).
    pub fn forget(&mut self, header: RequestHeader) {
        self.slots[header as usize] = Slot::default();
    }
}

/// The values of one header: [`RequestHeaders::all`].
#[derive(Debug)]
pub enum Values<'a> {
    /// Sent at most once.
    One(Option<&'a HeaderValue>),
    /// Sent several times.
    Many(<GetAll<'a, HeaderValue> as IntoIterator>::IntoIter),
}

impl<'a> Iterator for Values<'a> {
    type Item = &'a HeaderValue;

    fn next(&mut self) -> Option<&'a HeaderValue> {
        match self {
            Self::One(value) => value.take(),
            Self::Many(values) => values.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_header_is_found_by_its_name() {
        for header in RequestHeader::ALL {
            let name = HeaderName::from_static(header.name());
            assert_eq!(RequestHeader::of(&name), Some(header), "{}", header.name());
            assert_eq!(RequestHeader::ALL[header as usize], header);
        }
        for other in [
            "host",
            "accept-encoding",
            "expo-signature",
            "eas-client",
            "a-im2",
        ] {
            assert_eq!(RequestHeader::of(&HeaderName::from_static(other)), None);
        }
    }

    #[test]
    fn one_walk_finds_first_values_and_repeats() {
        let mut map = HeaderMap::new();
        map.append("accept", HeaderValue::from_static("application/json"));
        map.append("expo-platform", HeaderValue::from_static("ios"));
        map.append("host", HeaderValue::from_static("example.com"));
        map.append("accept", HeaderValue::from_static("multipart/mixed"));
        map.append("a-im", HeaderValue::from_static("bsdiff"));
        let headers = RequestHeaders::scan(&map);
        assert!(headers.is_repeated(RequestHeader::Accept));
        assert!(!headers.is_repeated(RequestHeader::Platform));
        let accept: Vec<_> = headers
            .all(RequestHeader::Accept)
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(accept, ["application/json", "multipart/mixed"]);
        assert_eq!(headers.all(RequestHeader::AIm).count(), 1);
        assert_eq!(headers.all(RequestHeader::ClientId).count(), 0);
        assert!(matches!(
            headers.single(RequestHeader::Accept),
            Err(HeaderValueError::Repeated)
        ));
    }

    #[test]
    fn a_forgotten_header_reads_as_absent() {
        let mut map = HeaderMap::new();
        map.append(
            "expo-recent-failed-update-ids",
            HeaderValue::from_static("x"),
        );
        map.append(
            "expo-recent-failed-update-ids",
            HeaderValue::from_static("y"),
        );
        let mut headers = RequestHeaders::scan(&map);
        headers.forget(RequestHeader::RecentFailedUpdateIds);
        assert!(matches!(
            headers.single(RequestHeader::RecentFailedUpdateIds),
            Ok(None)
        ));
        assert_eq!(headers.all(RequestHeader::RecentFailedUpdateIds).count(), 0);
    }

    #[test]
    fn values_that_are_not_visible_ascii_are_refused() {
        let mut map = HeaderMap::new();
        map.append(
            "expo-channel-name",
            HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
        );
        let headers = RequestHeaders::scan(&map);
        assert!(matches!(
            headers.single(RequestHeader::ChannelName),
            Err(HeaderValueError::NotVisibleAscii)
        ));
    }
}
