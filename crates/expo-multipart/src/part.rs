//! One body part: ordered headers and a body.

use std::fmt::Write as _;

use bytes::Bytes;
use http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, HeaderName, HeaderValue};

use crate::error::{Error, Result};
use crate::params;

/// One part of a multipart body: headers in the order they are written or
/// were read, and the body bytes.
///
/// Header names are [`HeaderName`]s, so they are lower case on the wire
/// (the iOS client looks `expo-signature` up case-sensitively).
///
/// # Examples
///
/// ```
/// use expo_multipart::Part;
///
/// let part = Part::form_data("manifest", "application/json", r#"{"id":"…"}"#)
///     .with_header("expo-signature", r#"sig="AAAA", keyid="main""#)?;
/// assert_eq!(part.name(), Some("manifest"));
/// assert_eq!(part.header("Expo-Signature").map(|v| v.as_bytes()), Some(&br#"sig="AAAA", keyid="main""#[..]));
/// assert_eq!(part.headers()[0].0, "content-disposition");
/// # Ok::<(), expo_multipart::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Part {
    headers: Vec<(HeaderName, HeaderValue)>,
    /// `headers` as written, `name: value\r\n` each, kept in step with
    /// them so encoding copies one slice per part instead of four per header.
    head: Vec<u8>,
    body: Bytes,
    /// The `name` parameter of the first `content-disposition` header,
    /// kept in step with `headers` (which never change behind our back).
    name: Option<Box<str>>,
}

impl Part {
    /// A part with no headers.
    pub fn new(body: impl Into<Bytes>) -> Self {
        Self {
            headers: Vec::new(),
            head: Vec::new(),
            body: body.into(),
            name: None,
        }
    }

    /// A part with `content-disposition: form-data; name="<name>"` and
    /// `content-type: <content_type>`, the shape of every Expo part.
    ///
    /// Never fails: `"`, `\` in `name` are escaped in the quoted string, and
    /// control characters (which no header may hold) are percent-encoded in
    /// both values, as the HTML standard does for form-data names. Use
    /// [`Part::with_header`] for full control.
    ///
    /// # Examples
    ///
    /// ```
    /// use expo_multipart::Part;
    ///
    /// let part = Part::form_data("directive", "application/json", "{}");
    /// assert_eq!(part.header("content-disposition").unwrap(), "form-data; name=\"directive\"");
    /// assert_eq!(part.header("content-type").unwrap(), "application/json");
    /// assert_eq!(part.name(), Some("directive"));
    /// ```
    pub fn form_data(name: &str, content_type: &str, body: impl Into<Bytes>) -> Self {
        let mut disposition = String::with_capacity(name.len() + 18);
        disposition.push_str("form-data; name=");
        params::push_quoted(&mut disposition, &percent_encode_controls(name));
        let mut part = Self::new(body);
        part.push_header(CONTENT_DISPOSITION, header_value(&disposition));
        part.push_header(
            CONTENT_TYPE,
            header_value(&percent_encode_controls(content_type)),
        );
        part
    }

    /// Appends a header, validating name and value.
    ///
    /// Accepts anything [`HeaderName`] and [`HeaderValue`] convert from
    /// (`&str`, `String`, `&[u8]`, or the types themselves). Names are
    /// lower-cased; duplicates are kept in order.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHeader`] when the name is not an HTTP token or the
    /// value holds control characters such as CR or LF.
    ///
    /// # Examples
    ///
    /// ```
    /// use expo_multipart::Part;
    ///
    /// let part = Part::new("{}").with_header("Content-Type", "application/json")?;
    /// assert_eq!(part.headers()[0].0.as_str(), "content-type");
    /// assert!(Part::new("").with_header("x", "a\r\nb").is_err());
    /// # Ok::<(), expo_multipart::Error>(())
    /// ```
    pub fn with_header<K, V>(mut self, name: K, value: V) -> Result<Self>
    where
        HeaderName: TryFrom<K>,
        <HeaderName as TryFrom<K>>::Error: Into<http::Error>,
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: Into<http::Error>,
    {
        let name = HeaderName::try_from(name).map_err(|e| Error::InvalidHeader(e.into()))?;
        let value = HeaderValue::try_from(value).map_err(|e| Error::InvalidHeader(e.into()))?;
        self.push_header(name, value);
        Ok(self)
    }

    /// Appends an already validated header.
    ///
    /// Leading and trailing spaces and tabs are removed from the value: they
    /// are not part of a field value (RFC 9110 §5.5), and readers drop them,
    /// so keeping them would make a decoded part differ from the one written.
    pub fn push_header(&mut self, name: HeaderName, value: HeaderValue) {
        let value = trim_value(value);
        if self.name.is_none() && name == CONTENT_DISPOSITION && !self.has_disposition() {
            self.name = disposition_name(&value);
        }
        render(&mut self.head, &name, &value);
        self.headers.push((name, value));
    }

    fn has_disposition(&self) -> bool {
        self.headers.iter().any(|(n, _)| n == CONTENT_DISPOSITION)
    }

    /// The headers, in order.
    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }

    /// The first header called `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&HeaderValue> {
        self.headers
            .iter()
            .find(|(n, _)| n.as_str().eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The first `content-type` header.
    pub fn content_type(&self) -> Option<&HeaderValue> {
        self.header(CONTENT_TYPE.as_str())
    }

    /// The body bytes.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The `name` parameter of the first `content-disposition` header
    /// (`manifest`, `directive`, `extensions`, `certificate_chain`), or
    /// `None` when there is no such header or it does not parse.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The header lines as written, without the blank line after them.
    pub(crate) fn head(&self) -> &[u8] {
        &self.head
    }

    /// The body, dropping the headers.
    pub fn into_body(self) -> Bytes {
        self.body
    }

    /// Headers and body.
    pub fn into_parts(self) -> (Vec<(HeaderName, HeaderValue)>, Bytes) {
        (self.headers, self.body)
    }

    /// Builds a part from decoded headers.
    pub(crate) fn from_decoded(headers: Vec<(HeaderName, HeaderValue)>, body: Bytes) -> Self {
        let name = headers
            .iter()
            .find(|(n, _)| n == CONTENT_DISPOSITION)
            .and_then(|(_, v)| disposition_name(v));
        let mut head = Vec::with_capacity(
            headers
                .iter()
                .map(|(n, v)| n.as_str().len() + v.len() + 4)
                .sum(),
        );
        for (n, v) in &headers {
            render(&mut head, n, v);
        }
        Self {
            headers,
            head,
            body,
            name,
        }
    }
}

impl std::fmt::Debug for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `head` and `name` repeat `headers`.
        f.debug_struct("Part")
            .field("headers", &self.headers)
            .field("body", &self.body)
            .finish_non_exhaustive()
    }
}

/// Appends the header line `name: value\r\n`.
fn render(out: &mut Vec<u8>, name: &HeaderName, value: &HeaderValue) {
    out.extend_from_slice(name.as_str().as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn trim_value(value: HeaderValue) -> HeaderValue {
    let bytes = value.as_bytes();
    let start = bytes
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count();
    let end = bytes.len()
        - bytes
            .iter()
            .rev()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
    if start == 0 && end == bytes.len() {
        return value;
    }
    // A slice of a valid value is valid.
    HeaderValue::from_bytes(bytes.get(start..end.max(start)).unwrap_or_default()).unwrap_or(value)
}

/// Reads the `name` parameter of a `content-disposition` value.
fn disposition_name(value: &HeaderValue) -> Option<Box<str>> {
    let value = std::str::from_utf8(value.as_bytes()).ok()?;
    let (_, rest) = params::disposition(value).ok()?;
    params::find(rest, "name").ok()?.map(Into::into)
}

/// Percent-encodes the characters no header value may hold: controls other
/// than HTAB. Like the HTML standard's form-data rule, `%` itself is left
/// alone, so names without controls are written exactly as given.
fn percent_encode_controls(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_ascii_control() && c != '\t' {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{:02X}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// `s` holds no control characters other than HTAB (see
/// [`percent_encode_controls`]), so every byte is allowed in a header value.
fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_bytes(s.as_bytes()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_data_escapes_quotes_and_controls() {
        let part = Part::form_data("a\"b\r\n%", "text/plain\n", "x");
        assert_eq!(
            part.header("content-disposition")
                .map(HeaderValue::as_bytes),
            Some(&br#"form-data; name="a\"b%0D%0A%""#[..])
        );
        assert_eq!(
            part.header("content-type").map(HeaderValue::as_bytes),
            Some(&b"text/plain%0A"[..])
        );
        assert_eq!(part.name(), Some("a\"b%0D%0A%"));
    }

    #[test]
    fn form_data_keeps_unicode_names() {
        let part = Part::form_data("m\u{e4}nifest", "application/json", "");
        assert_eq!(part.name(), Some("m\u{e4}nifest"));
    }

    #[test]
    fn name_comes_from_first_disposition() {
        let part = Part::new("")
            .with_header("content-type", "application/json")
            .and_then(|p| p.with_header("content-disposition", "form-data; name=first"))
            .and_then(|p| p.with_header("content-disposition", "form-data; name=second"));
        assert_eq!(part.ok().as_ref().and_then(Part::name), Some("first"));
    }

    #[test]
    fn unparsable_disposition_has_no_name() {
        let part = Part::new("").with_header("content-disposition", "form-data; name");
        assert_eq!(part.ok().as_ref().and_then(Part::name), None);
    }

    #[test]
    fn headers_keep_order_and_duplicates() {
        let part = Part::new("b")
            .with_header("x-b", "1")
            .and_then(|p| p.with_header("X-A", "2"))
            .and_then(|p| p.with_header("x-b", "3"))
            .unwrap();
        let names: Vec<_> = part.headers().iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["x-b", "x-a", "x-b"]);
        assert_eq!(
            part.header("X-B").map(HeaderValue::as_bytes),
            Some(&b"1"[..])
        );
    }

    #[test]
    fn header_values_are_trimmed() {
        let part = Part::new("")
            .with_header("a", " \tx y\t ")
            .and_then(|p| p.with_header("b", "  "))
            .unwrap();
        assert_eq!(part.header("a").unwrap(), "x y");
        assert_eq!(part.header("b").unwrap(), "");
    }

    #[test]
    fn head_is_the_written_header_lines() {
        let part = Part::form_data("manifest", "application/json", "{}");
        assert_eq!(
            part.head(),
            b"content-disposition: form-data; name=\"manifest\"\r\ncontent-type: application/json\r\n"
        );
        let decoded = Part::from_decoded(part.headers().to_vec(), part.body().clone());
        assert_eq!(decoded, part);
    }
}
