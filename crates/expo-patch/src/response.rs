//! Deciding from a request whether a patch is wanted, and the `226 IM Used`
//! answer that carries one (RFC 3229 delta encoding, as Expo clients from
//! SDK 55 speak it).
//!
//! A launch-asset request that wants a patch looks like:
//!
//! ```text
//! a-im: bsdiff
//! expo-current-update-id: 0754dad0-d200-d634-113c-ef1f26106028   (the base)
//! expo-requested-update-id: 9a1c3bd9-6f56-4e0b-8a0e-0b3e44a3c1f2 (optional)
//! ```
//!
//! and the answer, when the server holds a patch from that base worth
//! serving (see [`worth_serving`](crate::worth_serving)), is:
//!
//! ```text
//! HTTP/1.1 226 IM Used
//! im: bsdiff
//! expo-base-update-id: 0754dad0-d200-d634-113c-ef1f26106028
//! cache-control: private, no-store
//! content-type: application/octet-stream
//! content-length: 5120
//!
//! BSDIFF40...
//! ```
//!
//! Anything else gets the normal `200` with the full bundle. The 226 answer
//! depends on the device's current update, so it must never be stored by a
//! shared cache; the 200 answer stays as cacheable as any content-pinned
//! asset.

use bytes::Bytes;
use expo_manifest::UpdateId;
use http::{
    HeaderMap, HeaderName, HeaderValue, Response, StatusCode,
    header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE},
};

use crate::Patch;

/// `a-im`: the instance manipulations a client accepts (RFC 3229).
pub const A_IM: HeaderName = HeaderName::from_static("a-im");
/// `im`: the instance manipulation applied to an answer (RFC 3229).
pub const IM: HeaderName = HeaderName::from_static("im");
/// `expo-current-update-id`: the update the device runs, the patch base.
pub const EXPO_CURRENT_UPDATE_ID: HeaderName = HeaderName::from_static("expo-current-update-id");
/// `expo-requested-update-id`: the update whose launch asset is requested.
pub const EXPO_REQUESTED_UPDATE_ID: HeaderName =
    HeaderName::from_static("expo-requested-update-id");
/// `expo-base-update-id`: the update a served patch applies to.
pub const EXPO_BASE_UPDATE_ID: HeaderName = HeaderName::from_static("expo-base-update-id");
/// The instance manipulation of BSDIFF40 patches.
pub const BSDIFF: &str = "bsdiff";

/// A request for a launch asset that may be answered with a patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatchRequest {
    current: UpdateId,
    requested: Option<UpdateId>,
}

impl PatchRequest {
    /// Reads a patch request from request headers: `None` unless `a-im`
    /// accepts `bsdiff` and `expo-current-update-id` holds exactly one
    /// update id. An `expo-requested-update-id` that is repeated or not an
    /// update id also gives `None`: when in doubt, send the full bundle.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        if !accepts_bsdiff(headers) {
            return None;
        }
        let current = single_update_id(headers, &EXPO_CURRENT_UPDATE_ID).ok()??;
        let requested = single_update_id(headers, &EXPO_REQUESTED_UPDATE_ID).ok()?;
        Some(PatchRequest { current, requested })
    }

    /// A request from the device running `current`.
    pub const fn new(current: UpdateId, requested: Option<UpdateId>) -> Self {
        PatchRequest { current, requested }
    }

    /// The update the device runs: the base a patch must apply to.
    pub const fn current(&self) -> UpdateId {
        self.current
    }

    /// The update whose launch asset the client asked for, if it said.
    pub const fn requested(&self) -> Option<UpdateId> {
        self.requested
    }

    /// The base update of the patch to serve for the launch asset of
    /// `served`: `None` when the client asked for another update or already
    /// runs this one.
    pub fn base_for(&self, served: UpdateId) -> Option<UpdateId> {
        let asked_for_served = self.requested.is_none_or(|id| id == served);
        (asked_for_served && self.current != served).then_some(self.current)
    }
}

/// Whether the request's `a-im` accepts `bsdiff`: the rules of
/// [`expo_accept::AcceptIm`] (case-insensitive tokens over one or more
/// header lines, `bsdiff;q=0` is a refusal), lines that are not visible
/// ASCII left out.
pub fn accepts_bsdiff(headers: &HeaderMap) -> bool {
    expo_accept::accepts_im(
        headers
            .get_all(&A_IM)
            .iter()
            .filter_map(|value| value.to_str().ok()),
        BSDIFF,
    )
}

/// A header repeated or not holding an update id.
struct NotOneUpdateId;

/// `Ok(None)` when absent, `Ok(Some(id))` for one valid id.
fn single_update_id(
    headers: &HeaderMap,
    name: &HeaderName,
) -> Result<Option<UpdateId>, NotOneUpdateId> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(NotOneUpdateId);
    }
    let text = first.to_str().map_err(|_| NotOneUpdateId)?;
    text.trim().parse().map(Some).map_err(|_| NotOneUpdateId)
}

/// The headers of a `226 IM Used` answer carrying a patch of
/// `content_length` bytes that applies to the launch asset of `base`.
pub fn patch_headers(base: UpdateId, content_length: usize) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(5);
    headers.insert(IM, HeaderValue::from_static(BSDIFF));
    headers.insert(EXPO_BASE_UPDATE_ID, update_id_value(base));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(CONTENT_LENGTH, HeaderValue::from(content_length));
    headers
}

/// The whole `226 IM Used` answer for `patch`, built from the launch asset
/// of `base`.
pub fn patch_response(base: UpdateId, patch: &Patch) -> Response<Bytes> {
    let mut response = Response::new(patch.bytes().clone());
    *response.status_mut() = StatusCode::IM_USED;
    *response.headers_mut() = patch_headers(base, patch.len());
    response
}

fn update_id_value(id: UpdateId) -> HeaderValue {
    // 36 bytes: a hyphenated UUID.
    let mut buf = [0; 36];
    let text = id.as_uuid().hyphenated().encode_lower(&mut buf);
    HeaderValue::from_str(text).unwrap_or_else(|_| unreachable!("a hyphenated UUID is ASCII"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "0754dad0-d200-d634-113c-ef1f26106028";
    const NEW: &str = "9a1c3bd9-6f56-4e0b-8a0e-0b3e44a3c1f2";

    fn id(s: &str) -> UpdateId {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn a_im_lists() {
        for yes in [
            "bsdiff",
            "BSDIFF",
            " bsdiff ",
            "vcdiff, bsdiff",
            "gzip,bsdiff;q=0.5",
            "bsdiff ; q=1",
            "bsdiff;q=0.001",
            "feed, BsDiff;foo=bar",
        ] {
            assert!(accepts_bsdiff(&headers(&[("a-im", yes)])), "{yes}");
        }
        for no in [
            "",
            "vcdiff",
            "bsdiff2",
            "bs diff",
            "xbsdiff",
            "bsdiff;q=0",
            "bsdiff; Q=0.000",
            "bsdiff;q=0.",
            "\"bsdiff\"",
        ] {
            assert!(!accepts_bsdiff(&headers(&[("a-im", no)])), "{no}");
        }
        assert!(!accepts_bsdiff(&HeaderMap::new()));
        assert!(accepts_bsdiff(&headers(&[
            ("a-im", "vcdiff"),
            ("a-im", "bsdiff")
        ])));
        let mut opaque = HeaderMap::new();
        opaque.insert(A_IM, HeaderValue::from_bytes(b"bsdiff\xff").unwrap());
        assert!(!accepts_bsdiff(&opaque));
    }

    #[test]
    fn patch_request_needs_a_im_and_one_current_id() {
        let request = PatchRequest::from_headers(&headers(&[
            ("a-im", "bsdiff"),
            ("expo-current-update-id", &OLD.to_uppercase()),
        ]))
        .unwrap();
        assert_eq!(request, PatchRequest::new(id(OLD), None));

        for pairs in [
            &[("expo-current-update-id", OLD)][..],
            &[("a-im", "bsdiff")],
            &[("a-im", "vcdiff"), ("expo-current-update-id", OLD)],
            &[("a-im", "bsdiff"), ("expo-current-update-id", "embedded")],
            &[
                ("a-im", "bsdiff"),
                ("expo-current-update-id", OLD),
                ("expo-current-update-id", OLD),
            ],
            &[
                ("a-im", "bsdiff"),
                ("expo-current-update-id", OLD),
                ("expo-requested-update-id", "latest"),
            ],
        ] {
            assert_eq!(
                PatchRequest::from_headers(&headers(pairs)),
                None,
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn base_for_checks_the_requested_update() {
        let served = id(NEW);
        assert_eq!(
            PatchRequest::new(id(OLD), None).base_for(served),
            Some(id(OLD))
        );
        assert_eq!(
            PatchRequest::new(id(OLD), Some(served)).base_for(served),
            Some(id(OLD))
        );
        let other = UpdateId::new_v4();
        assert_eq!(
            PatchRequest::new(id(OLD), Some(other)).base_for(served),
            None
        );
        assert_eq!(PatchRequest::new(served, None).base_for(served), None);
    }

    #[test]
    fn patch_headers_are_complete() {
        let headers = patch_headers(id(OLD), 5120);
        assert_eq!(headers.len(), 5);
        assert_eq!(headers[&IM], "bsdiff");
        assert_eq!(headers[&EXPO_BASE_UPDATE_ID], OLD);
        assert_eq!(headers[CACHE_CONTROL], "private, no-store");
        assert_eq!(headers[CONTENT_TYPE], "application/octet-stream");
        assert_eq!(headers[CONTENT_LENGTH], "5120");
    }
}
