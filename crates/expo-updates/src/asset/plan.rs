//! Planning an asset answer: encoding negotiation, `ETag`, conditional and
//! range requests, decided from the description alone (no bytes read).

use std::ops::Range;

use bytes::Bytes;
use expo_accept::{AcceptEncoding, ContentCoding};
use expo_manifest::AssetHash;
use http::header::{
    ACCEPT_ENCODING, ACCEPT_RANGES, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE,
    CONTENT_TYPE, ETAG, IF_NONE_MATCH, IF_RANGE, RANGE, VARY,
};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, request::Parts};

use crate::error::{HeaderValueError, ProtocolError, shorten};

/// What an asset answer carries: assets never change at their URL.
pub const ASSET_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";
/// The same, for APIs that take a [`HeaderValue`] (object metadata, CDN rules).
pub const ASSET_CACHE_CONTROL_VALUE: HeaderValue = HeaderValue::from_static(ASSET_CACHE_CONTROL);

/// What the server stores of an asset: hash, media type, and the encodings
/// it holds with their lengths in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetDescription {
    hash: AssetHash,
    content_type: HeaderValue,
    /// In the server's order of preference (smallest first).
    encodings: Vec<(ContentCoding, u64)>,
    /// The `ETag` of each stored encoding (by [`slot`]), built once: a description kept by
    /// a server answers every request without formatting one.
    etags: [Option<HeaderValue>; 3],
}

/// The index of `coding` in [`AssetDescription::etags`].
fn slot(coding: ContentCoding) -> usize {
    match coding {
        ContentCoding::Brotli => 0,
        ContentCoding::Gzip => 1,
        ContentCoding::Identity => 2,
    }
}

impl AssetDescription {
    /// An asset with no stored encoding yet; add them with
    /// [`with_encoding`](Self::with_encoding).
    pub fn new(hash: AssetHash, content_type: &str) -> Result<Self, ProtocolError> {
        let content_type =
            HeaderValue::try_from(content_type).map_err(|_| ProtocolError::InvalidHeader {
                header: "content-type",
                source: HeaderValueError::NotAHeaderValue(shorten(content_type)),
            })?;
        Ok(Self::with_content_type(hash, content_type))
    }

    /// Like [`new`](Self::new), with a media type already checked.
    pub fn with_content_type(hash: AssetHash, content_type: HeaderValue) -> Self {
        AssetDescription {
            hash,
            content_type,
            encodings: Vec::with_capacity(3),
            etags: [None, None, None],
        }
    }

    /// Records a stored encoding of `len` bytes (replacing one recorded before).
    #[must_use]
    pub fn with_encoding(mut self, coding: ContentCoding, len: u64) -> Self {
        self.encodings.retain(|(c, _)| *c != coding);
        self.encodings.push((coding, len));
        self.encodings.sort_by_key(|(c, _)| *c);
        self.etags[slot(coding)] = Some(self.format_etag(coding));
        self
    }

    /// The content hash.
    pub fn hash(&self) -> AssetHash {
        self.hash
    }

    /// The media type.
    pub fn content_type(&self) -> &HeaderValue {
        &self.content_type
    }

    /// The stored encodings with their lengths, preferred first.
    pub fn encodings(&self) -> &[(ContentCoding, u64)] {
        &self.encodings
    }

    /// The length of one stored encoding, `None` when it is not stored.
    pub fn len_of(&self, coding: ContentCoding) -> Option<u64> {
        self.encodings
            .iter()
            .find(|(c, _)| *c == coding)
            .map(|(_, len)| *len)
    }

    /// The strong `ETag` of one encoding: `"<hash>"` for identity,
    /// `"<hash>-br"` / `"<hash>-gzip"` for the others (each encoding is a
    /// different representation).
    pub fn etag(&self, coding: ContentCoding) -> HeaderValue {
        match &self.etags[slot(coding)] {
            Some(etag) => etag.clone(),
            None => self.format_etag(coding),
        }
    }

    fn format_etag(&self, coding: ContentCoding) -> HeaderValue {
        let tag = match coding {
            ContentCoding::Identity => format!("\"{}\"", self.hash),
            other => format!("\"{}-{}\"", self.hash, other.as_str()),
        };
        // base64url and coding names are visible ASCII.
        HeaderValue::try_from(tag).unwrap_or_else(|_| HeaderValue::from_static("\"\""))
    }

    /// Decides the answer to an asset request; see [`AssetPlan`].
    ///
    /// GET and HEAD only (405 otherwise). The encoding is the client's
    /// favourite among those stored (`accept-encoding` absent: identity);
    /// none acceptable is 406, an `accept-encoding` that is not visible
    /// ASCII or over [`expo_accept::MAX_HEADER_LEN`] is 400. `If-None-Match`
    /// matching the chosen encoding's `ETag` gives 304. A single satisfiable
    /// `Range` on a GET gives 206 with those bytes *of the chosen encoding*
    /// (ranges apply to the representation sent, RFC 9110 14.1.2), an
    /// unsatisfiable one 416; several ranges, a malformed one, or an
    /// `If-Range` that is not the chosen encoding's `ETag` (strong
    /// comparison; dates never match) give the whole body.
    pub fn plan(&self, parts: &Parts) -> Result<AssetPlan, ProtocolError> {
        let head = match parts.method {
            Method::GET => false,
            Method::HEAD => true,
            ref other => {
                return Err(ProtocolError::MethodNotAllowed {
                    method: shorten(other.as_str()),
                    allow: "GET, HEAD",
                });
            }
        };
        let (coding, len) = self.negotiate(&parts.headers)?;
        let etag = self.etag(coding);
        // Room for the nine set here and a few of the server's own: no growing.
        let mut headers = HeaderMap::with_capacity(14);
        headers.insert(ETAG, etag.clone());
        headers.insert(CACHE_CONTROL, ASSET_CACHE_CONTROL_VALUE);
        headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
        if none_match(&parts.headers, &etag) {
            return Ok(AssetPlan {
                status: StatusCode::NOT_MODIFIED,
                headers,
                coding,
                body: None,
                error: None,
            });
        }
        headers.insert(CONTENT_TYPE, self.content_type.clone());
        if coding != ContentCoding::Identity {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static(coding.as_str()));
        }
        headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        let range = if head || !if_range_matches(&parts.headers, &etag) {
            RangeOutcome::Whole
        } else {
            requested_range(&parts.headers, len)
        };
        let (status, body) = match range {
            RangeOutcome::Whole => (StatusCode::OK, 0..len),
            RangeOutcome::Part(range) => {
                headers.insert(CONTENT_RANGE, content_range(&range, len));
                (StatusCode::PARTIAL_CONTENT, range)
            }
            RangeOutcome::Unsatisfiable => {
                // A client error like the others: JSON naming the header, never cached.
                let error = serde_json::json!({"error": {
                    "code": "range_not_satisfiable",
                    "header": "range",
                    "message": format!("the range starts past the end ({len} bytes)"),
                }});
                let error = Bytes::from(error.to_string());
                headers.insert(CONTENT_RANGE, header_value(&format!("bytes */{len}")));
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                headers.remove(CONTENT_ENCODING);
                headers.insert(CONTENT_LENGTH, HeaderValue::from(error.len()));
                return Ok(AssetPlan {
                    status: StatusCode::RANGE_NOT_SATISFIABLE,
                    headers,
                    coding,
                    body: None,
                    error: (!head).then_some(error),
                });
            }
        };
        headers.insert(CONTENT_LENGTH, HeaderValue::from(body.end - body.start));
        Ok(AssetPlan {
            status,
            headers,
            coding,
            body: (!head).then_some(body),
            error: None,
        })
    }

    fn negotiate(&self, headers: &HeaderMap) -> Result<(ContentCoding, u64), ProtocolError> {
        let invalid = |source: HeaderValueError| ProtocolError::InvalidHeader {
            header: "accept-encoding",
            source,
        };
        let mut stored = [ContentCoding::Identity; 3];
        let count = self.encodings.len().min(stored.len());
        for (slot, (coding, _)) in stored.iter_mut().zip(&self.encodings) {
            *slot = *coding;
        }
        let stored = &stored[..count];
        let mut values = headers.get_all(ACCEPT_ENCODING).iter();
        let coding = match (values.next(), values.next()) {
            // The usual case, one line: negotiated without allocating.
            (first, None) => {
                let value = first
                    .map(HeaderValue::to_str)
                    .transpose()
                    .map_err(|_| invalid(HeaderValueError::NotVisibleAscii))?;
                match expo_accept::negotiate_encoding(value, stored) {
                    Ok(coding) => coding,
                    Err(expo_accept::Error::NotAcceptable { .. }) => {
                        return Err(ProtocolError::EncodingNotAcceptable);
                    }
                    Err(other) => return Err(invalid(other.into())),
                }
            }
            _ => Self::joined(headers)?
                .negotiate(stored)
                .ok_or(ProtocolError::EncodingNotAcceptable)?,
        };
        Ok((coding, self.len_of(coding).unwrap_or(0)))
    }

    /// Several `accept-encoding` lines, read as one list.
    fn joined(headers: &HeaderMap) -> Result<AcceptEncoding, ProtocolError> {
        let invalid = |source: HeaderValueError| ProtocolError::InvalidHeader {
            header: "accept-encoding",
            source,
        };
        let mut joined = String::new();
        for value in headers.get_all(ACCEPT_ENCODING) {
            let value = value
                .to_str()
                .map_err(|_| invalid(HeaderValueError::NotVisibleAscii))?;
            let len = joined.len() + value.len();
            if len > expo_accept::MAX_HEADER_LEN {
                return Err(invalid(HeaderValueError::TooLong {
                    len,
                    max: expo_accept::MAX_HEADER_LEN,
                }));
            }
            if !joined.is_empty() {
                joined.push_str(", ");
            }
            joined.push_str(value);
        }
        AcceptEncoding::parse(&joined).map_err(|e| invalid(e.into()))
    }
}

/// The decided answer to an asset request: status, headers, the encoding
/// to read and which bytes of it to send. The server supplies the body (it
/// may stream it from disk) with [`into_response`](Self::into_response).
#[derive(Debug, Clone)]
pub struct AssetPlan {
    status: StatusCode,
    headers: HeaderMap,
    coding: ContentCoding,
    body: Option<Range<u64>>,
    /// The JSON body of a 416.
    error: Option<Bytes>,
}

impl AssetPlan {
    /// 200, 206, 304 or 416.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response headers (content type and encoding, length, `ETag`,
    /// cache control, vary, range headers).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The stored encoding to send.
    pub fn coding(&self) -> ContentCoding {
        self.coding
    }

    /// The bytes of that encoding to send, `None` for no asset bytes (HEAD,
    /// 304, 416).
    pub fn body_range(&self) -> Option<Range<u64>> {
        self.body.clone()
    }

    /// The JSON body of a 416 (`None` otherwise, and for HEAD): send it
    /// instead of asset bytes.
    pub fn error_body(&self) -> Option<&Bytes> {
        self.error.as_ref()
    }

    /// The response with `body` (which must hold exactly
    /// [`body_range`](Self::body_range) of the chosen encoding, or nothing).
    pub fn into_response<B>(self, body: B) -> Response<B> {
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
    }
}

/// A JSON error answer ([`ErrorBody`](crate::ErrorBody)) to an asset request
/// (404 for an unknown hash), not to be stored.
pub fn asset_error_response(error: &ProtocolError) -> Response<Bytes> {
    let mut response = error.body().into_response(error.status());
    if let Some((name, value)) = error.extra_header() {
        response.headers_mut().insert(name, value);
    }
    response
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::try_from(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn content_range(range: &Range<u64>, len: u64) -> HeaderValue {
    header_value(&format!("bytes {}-{}/{len}", range.start, range.end - 1))
}

/// Whether `If-None-Match` names `etag` (weak comparison, RFC 9110 13.1.2).
fn none_match(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let ours = etag.as_bytes();
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .map(<[u8]>::trim_ascii)
        .any(|tag| tag == b"*" || tag.strip_prefix(b"W/").unwrap_or(tag) == ours)
}

/// Whether a `Range` may apply: no `If-Range`, or one equal to `etag`
/// (strong comparison; a date never matches an ETag-only resource).
fn if_range_matches(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    headers
        .get(IF_RANGE)
        .is_none_or(|v| v.as_bytes() == etag.as_bytes())
}

enum RangeOutcome {
    Whole,
    Part(Range<u64>),
    Unsatisfiable,
}

/// Reads a `Range` header against a representation of `len` bytes.
/// Malformed values and multiple ranges are ignored (the whole body is sent).
fn requested_range(headers: &HeaderMap, len: u64) -> RangeOutcome {
    let mut values = headers.get_all(RANGE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return RangeOutcome::Whole;
    };
    let Some(spec) = value.to_str().ok().and_then(|v| {
        let (unit, spec) = v.trim().split_once('=')?;
        unit.trim()
            .eq_ignore_ascii_case("bytes")
            .then_some(spec.trim())
    }) else {
        return RangeOutcome::Whole;
    };
    if spec.contains(',') {
        return RangeOutcome::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return RangeOutcome::Whole;
    };
    let number = |s: &str| {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<u64>().ok())
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // `-n`: the last n bytes (a suffix too large to read is all of them).
        return match number(last) {
            None => RangeOutcome::Whole,
            Some(Some(0)) => RangeOutcome::Unsatisfiable,
            _ if len == 0 => RangeOutcome::Unsatisfiable,
            Some(Some(suffix)) => RangeOutcome::Part(len.saturating_sub(suffix)..len),
            Some(None) => RangeOutcome::Part(0..len),
        };
    }
    let start = match number(first) {
        None => return RangeOutcome::Whole,
        // Too large to read: past any end.
        Some(None) => return RangeOutcome::Unsatisfiable,
        Some(Some(start)) => start,
    };
    let end = if last.is_empty() {
        len
    } else {
        match number(last) {
            Some(None) => len,
            Some(Some(last)) if last >= start => last.saturating_add(1).min(len),
            // Not a number, or `b < a`: invalid, ignored.
            None | Some(Some(_)) => return RangeOutcome::Whole,
        }
    };
    if start >= len {
        RangeOutcome::Unsatisfiable
    } else {
        RangeOutcome::Part(start..end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InMemoryAsset;

    fn parts(method: &str, headers: &[(&str, &str)]) -> Parts {
        let mut builder = http::Request::builder().method(method).uri("/assets/x");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    fn asset() -> InMemoryAsset {
        InMemoryAsset::new("application/javascript", &b"0123456789"[..])
            .unwrap()
            .with_variant(ContentCoding::Gzip, &b"gz"[..])
            .with_variant(ContentCoding::Brotli, &b"b"[..])
    }

    fn range(header: &str) -> Response<Bytes> {
        asset().respond(&parts("GET", &[("range", header)]))
    }

    #[test]
    fn negotiates_the_smallest_acceptable_encoding() {
        let a = asset();
        let r = a.respond(&parts("GET", &[("accept-encoding", "gzip, br")]));
        assert_eq!(r.headers()["content-encoding"], "br");
        assert_eq!(r.body().as_ref(), b"b");
        let r = a.respond(&parts("GET", &[("accept-encoding", "gzip")]));
        assert_eq!(r.headers()["content-encoding"], "gzip");
        let r = a.respond(&parts("GET", &[]));
        assert!(r.headers().get("content-encoding").is_none());
        assert_eq!(r.body().as_ref(), b"0123456789");
        assert_eq!(r.headers()["vary"], "accept-encoding");
        let r = a.respond(&parts("GET", &[("accept-encoding", "identity;q=0")]));
        assert_eq!(r.status(), StatusCode::NOT_ACCEPTABLE);
    }

    #[test]
    fn etags_differ_per_encoding_and_match_weakly() {
        let a = asset();
        let br = a.description().etag(ContentCoding::Brotli);
        let id = a.description().etag(ContentCoding::Identity);
        assert_ne!(br, id);
        let weak = format!("W/{}", id.to_str().unwrap());
        let r = a.respond(&parts(
            "GET",
            &[("if-none-match", &format!("\"x\", {weak}"))],
        ));
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        assert!(r.body().is_empty());
        let r = a.respond(&parts(
            "GET",
            &[
                ("if-none-match", id.to_str().unwrap()),
                ("accept-encoding", "br"),
            ],
        ));
        assert_eq!(r.status(), StatusCode::OK);
    }

    #[test]
    fn ranges() {
        let r = range("bytes=2-4");
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(r.body().as_ref(), b"234");
        assert_eq!(r.headers()["content-range"], "bytes 2-4/10");
        assert_eq!(r.headers()["content-length"], "3");
        assert_eq!(range("bytes=-3").body().as_ref(), b"789");
        assert_eq!(range("bytes=7-").body().as_ref(), b"789");
        assert_eq!(range("bytes=8-100").body().as_ref(), b"89");
        assert_eq!(range("bytes=-100").body().as_ref(), b"0123456789");
        let r = range("bytes=10-");
        assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(r.headers()["content-range"], "bytes */10");
        assert_eq!(
            range("bytes=-0").status(),
            StatusCode::RANGE_NOT_SATISFIABLE
        );
        for whole in [
            "bytes=0-1,3-4",
            "bytes=5-2",
            "items=0-1",
            "bytes=a-b",
            "bytes=-",
            "garbage",
        ] {
            let r = range(whole);
            assert_eq!(r.status(), StatusCode::OK, "{whole}");
            assert_eq!(r.body().len(), 10, "{whole}");
        }
        assert_eq!(
            range("bytes=99999999999999999999999-").status(),
            StatusCode::RANGE_NOT_SATISFIABLE
        );
    }

    #[test]
    fn if_range_mismatch_sends_everything() {
        let r = asset().respond(&parts(
            "GET",
            &[("range", "bytes=0-1"), ("if-range", "\"old\"")],
        ));
        assert_eq!(r.status(), StatusCode::OK);
    }

    #[test]
    fn head_has_headers_only() {
        let r = asset().respond(&parts("HEAD", &[]));
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-length"], "10");
        assert!(r.body().is_empty());
        assert_eq!(r.headers()["cache-control"], ASSET_CACHE_CONTROL);
    }

    #[test]
    fn other_methods_are_refused() {
        let r = asset().respond(&parts("POST", &[]));
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers()["allow"], "GET, HEAD");
    }
}
