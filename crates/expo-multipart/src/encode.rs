//! Writing `multipart/mixed` bodies.
//!
//! Framing, as the expo-updates iOS and Android readers need it:
//!
//! ```text
//! --B\r\n  headers \r\n  body
//! \r\n--B\r\n  headers \r\n  body
//! \r\n--B--\r\n
//! ```
//!
//! Zero parts is an empty body.

use std::cell::RefCell;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderValue;
use http_body::{Frame, SizeHint};
use memchr::memmem;

use crate::boundary::Boundary;
use crate::error::{Error, Result};
use crate::part::Part;

/// A multipart body ready to be written: parts and a boundary that occurs
/// in none of them.
///
/// # Examples
///
/// ```
/// use expo_multipart::{Multipart, Part};
///
/// let multipart = Multipart::new(vec![Part::form_data("manifest", "application/json", "{}")]);
/// let encoded = multipart.encode();
/// let boundary = multipart.boundary().as_str();
/// assert_eq!(
///     encoded.content_type.to_str()?,
///     format!("multipart/mixed; boundary={boundary}")
/// );
/// assert_eq!(
///     encoded.body,
///     format!(
///         "--{boundary}\r\ncontent-disposition: form-data; name=\"manifest\"\r\n\
///          content-type: application/json\r\n\r\n{{}}\r\n--{boundary}--\r\n"
///     )
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Multipart {
    parts: Vec<Part>,
    boundary: Boundary,
    content_type: HeaderValue,
    /// `\r\n--boundary\r\n`; its tail opens the body, its head closes it.
    delimiter: Arc<[u8]>,
}

/// A fully encoded multipart body and its `content-type`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedMultipart {
    /// `multipart/mixed; boundary=...`.
    pub content_type: HeaderValue,
    /// The body, one contiguous buffer.
    pub body: Bytes,
}

impl Multipart {
    /// Prepares `parts` for writing under a random boundary that occurs in
    /// none of them.
    ///
    /// The boundary is a [`Boundary::random`] kept per thread: it is checked
    /// against every part of every body and replaced by a fresh one whenever
    /// it occurs in a part (which, at 192 random bits, an attacker who has
    /// seen it can provoke but nobody hits by chance). Keeping it saves
    /// drawing it and preparing its searcher for each response, which would
    /// cost more than encoding a manifest response. A boundary is not a
    /// secret: every response states it in its `content-type`.
    pub fn new(parts: Vec<Part>) -> Self {
        CURRENT.with_borrow_mut(|current| {
            loop {
                let prepared = current.get_or_insert_with(Prepared::random);
                if collision(&parts, &prepared.finder).is_none() {
                    return Self {
                        parts,
                        boundary: prepared.boundary.clone(),
                        content_type: prepared.content_type.clone(),
                        delimiter: prepared.delimiter.clone(),
                    };
                }
                *current = Some(Prepared::random());
            }
        })
    }

    /// Prepares `parts` for writing under a boundary of the caller's choice,
    /// for reproducible output.
    ///
    /// # Errors
    ///
    /// [`Error::BoundaryInPart`] if `--boundary` occurs in a part, in its
    /// headers or its body.
    ///
    /// # Examples
    ///
    /// ```
    /// use expo_multipart::{Boundary, Multipart, Part};
    ///
    /// let boundary = Boundary::new("b")?;
    /// assert!(Multipart::with_boundary(vec![Part::new("x\r\n--b")], boundary).is_err());
    /// # Ok::<(), expo_multipart::Error>(())
    /// ```
    pub fn with_boundary(parts: Vec<Part>, boundary: Boundary) -> Result<Self> {
        let finder = memmem::Finder::new(boundary.dash_boundary().as_slice()).into_owned();
        match collision(&parts, &finder) {
            Some(index) => Err(Error::BoundaryInPart { index }),
            None => Ok(Self {
                content_type: content_type(&boundary),
                delimiter: delimiter(&boundary),
                parts,
                boundary,
            }),
        }
    }

    /// The boundary the body is written with.
    pub fn boundary(&self) -> &Boundary {
        &self.boundary
    }

    /// The parts, in writing order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// `multipart/mixed; boundary=...`, the boundary quoted when it needs to be.
    pub fn content_type(&self) -> HeaderValue {
        self.content_type.clone()
    }

    /// Length of the encoded body in bytes.
    pub fn encoded_len(&self) -> usize {
        if self.parts.is_empty() {
            return 0;
        }
        // Each part: its delimiter line, head, blank line, body; the first
        // delimiter lacks the leading CRLF, and the close adds `--`.
        let delimiters = self.parts.len() * self.delimiter.len() - 2 + self.delimiter.len() + 2;
        delimiters
            + self
                .parts
                .iter()
                .map(|p| p.head().len() + 2 + p.body().len())
                .sum::<usize>()
    }

    /// `\r\n--boundary`, the delimiter line without its CRLF.
    fn close_prefix(&self) -> &[u8] {
        self.delimiter
            .get(..self.delimiter.len() - 2)
            .unwrap_or_default()
    }

    /// The delimiter line before part `index`.
    fn opening(&self, index: usize) -> &[u8] {
        let skip = if index == 0 { 2 } else { 0 };
        self.delimiter.get(skip..).unwrap_or_default()
    }

    /// Writes the whole body into one buffer.
    pub fn encode(&self) -> EncodedMultipart {
        let mut out = Vec::with_capacity(self.encoded_len());
        for (index, part) in self.parts.iter().enumerate() {
            out.extend_from_slice(self.opening(index));
            out.extend_from_slice(part.head());
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(part.body());
        }
        if !self.parts.is_empty() {
            out.extend_from_slice(self.close_prefix());
            out.extend_from_slice(b"--\r\n");
        }
        debug_assert_eq!(out.len(), self.encoded_len());
        EncodedMultipart {
            content_type: self.content_type.clone(),
            body: Bytes::from(out),
        }
    }

    /// The body as a stream of chunks: per part one chunk of delimiter and
    /// headers, then the part body itself, shared rather than copied.
    ///
    /// # Examples
    ///
    /// ```
    /// use expo_multipart::{Multipart, Part};
    /// use http_body::Body as _;
    ///
    /// let multipart = Multipart::new(vec![Part::new("abc")]);
    /// let expected = multipart.encode().body;
    /// let body = multipart.into_body();
    /// assert_eq!(body.size_hint().exact(), Some(expected.len() as u64));
    /// ```
    pub fn into_body(self) -> MultipartBody {
        let len = self.encoded_len();
        let mut chunks = Vec::with_capacity(self.parts.len() * 2 + 1);
        for (index, part) in self.parts.iter().enumerate() {
            let opening = self.opening(index);
            let mut head = Vec::with_capacity(opening.len() + part.head().len() + 2);
            head.extend_from_slice(opening);
            head.extend_from_slice(part.head());
            head.extend_from_slice(b"\r\n");
            chunks.push(Bytes::from(head));
            if !part.body().is_empty() {
                chunks.push(part.body().clone());
            }
        }
        if !chunks.is_empty() {
            chunks.push(Bytes::from([self.close_prefix(), b"--\r\n"].concat()));
        }
        MultipartBody {
            chunks: chunks.into_iter(),
            remaining: len as u64,
        }
    }
}

thread_local! {
    /// The boundary [`Multipart::new`] uses on this thread, with its searcher.
    static CURRENT: RefCell<Option<Prepared>> = const { RefCell::new(None) };
}

/// A boundary ready for use: its `--boundary` searcher and content type.
struct Prepared {
    boundary: Boundary,
    finder: memmem::Finder<'static>,
    content_type: HeaderValue,
    delimiter: Arc<[u8]>,
}

impl Prepared {
    fn random() -> Self {
        let boundary = Boundary::random();
        Self {
            finder: memmem::Finder::new(boundary.dash_boundary().as_slice()).into_owned(),
            content_type: content_type(&boundary),
            delimiter: delimiter(&boundary),
            boundary,
        }
    }
}

fn delimiter(boundary: &Boundary) -> Arc<[u8]> {
    [b"\r\n".as_slice(), &boundary.dash_boundary(), b"\r\n"]
        .concat()
        .into()
}

fn content_type(boundary: &Boundary) -> HeaderValue {
    let quote = boundary.needs_quotes();
    let boundary = boundary.as_str();
    let mut value = String::with_capacity(boundary.len() + 28);
    value.push_str("multipart/mixed; boundary=");
    if quote {
        value.push('"');
        value.push_str(boundary);
        value.push('"');
    } else {
        value.push_str(boundary);
    }
    // A boundary holds only printable ASCII and never `"` or `\`.
    HeaderValue::try_from(value).unwrap_or_else(|_| HeaderValue::from_static("multipart/mixed"))
}

/// The index of the first part in which `--boundary` occurs.
///
/// RFC 2046 asks that the boundary appear nowhere inside a part, so both
/// the header lines and the body are searched. (Strictly, only a CRLF
/// followed by `--boundary` delimits, and since the boundary holds no CR or
/// LF an unintended delimiter could only start at a line start in the
/// headers or anywhere in the body; searching for `--boundary` without the
/// CRLF also covers readers that accept bare LF line ends.)
fn collision(parts: &[Part], finder: &memmem::Finder<'_>) -> Option<usize> {
    parts
        .iter()
        .position(|part| finder.find(part.head()).is_some() || finder.find(part.body()).is_some())
}

/// The streaming form of a [`Multipart`], an [`http_body::Body`] with an
/// exact size hint.
#[derive(Debug)]
pub struct MultipartBody {
    chunks: std::vec::IntoIter<Bytes>,
    remaining: u64,
}

impl http_body::Body for MultipartBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.chunks.next().map(|chunk| {
            self.remaining -= chunk.len() as u64;
            Ok(Frame::data(chunk))
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.len() == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boundary(s: &str) -> Boundary {
        Boundary::new(s).unwrap()
    }

    #[test]
    fn zero_parts_is_an_empty_body() {
        let m = Multipart::new(Vec::new());
        assert_eq!(m.encoded_len(), 0);
        assert!(m.encode().body.is_empty());
        assert!(
            m.content_type()
                .to_str()
                .unwrap()
                .starts_with("multipart/mixed; boundary=")
        );
    }

    #[test]
    fn golden_three_parts() {
        let parts = vec![
            Part::form_data("manifest", "application/json", "{\"id\":1}")
                .with_header("expo-signature", "sig=\"AA==\"")
                .unwrap(),
            Part::form_data("extensions", "application/json", "{}"),
            Part::new(""),
        ];
        let m = Multipart::with_boundary(parts, boundary("xyz")).unwrap();
        let expected: &[u8] = b"--xyz\r\n\
            content-disposition: form-data; name=\"manifest\"\r\n\
            content-type: application/json\r\n\
            expo-signature: sig=\"AA==\"\r\n\
            \r\n\
            {\"id\":1}\r\n\
            --xyz\r\n\
            content-disposition: form-data; name=\"extensions\"\r\n\
            content-type: application/json\r\n\
            \r\n\
            {}\r\n\
            --xyz\r\n\
            \r\n\
            \r\n\
            --xyz--\r\n";
        assert_eq!(m.encode().body, expected);
        assert_eq!(m.encoded_len(), expected.len());
    }

    #[test]
    fn new_replaces_a_boundary_that_occurs_in_a_part() {
        let kept = Multipart::new(Vec::new()).boundary().clone();
        assert_eq!(Multipart::new(vec![Part::new("x")]).boundary(), &kept);

        let in_body = Part::new(format!("x\r\n--{kept}\r\ny"));
        let m = Multipart::new(vec![Part::new("a"), in_body.clone()]);
        assert_ne!(m.boundary(), &kept);
        let encoded = m.encode();
        let parts = crate::decode(
            encoded.content_type.to_str().unwrap(),
            &encoded.body,
            &crate::Limits::default(),
        )
        .unwrap();
        assert_eq!(parts, [Part::new("a"), in_body]);
    }

    #[test]
    fn quotes_boundaries_with_tspecials() {
        let m = Multipart::with_boundary(vec![], boundary("a:b c")).unwrap();
        assert_eq!(m.content_type(), "multipart/mixed; boundary=\"a:b c\"");
    }

    #[test]
    fn detects_boundary_in_body_and_header_lines() {
        let b = || boundary("a: b");
        assert!(matches!(
            Multipart::with_boundary(vec![Part::new("ok"), Part::new("--a: b")], b()),
            Err(Error::BoundaryInPart { index: 1 })
        ));
        // A header line `--a: b...` reads as a delimiter line.
        let tricky = Part::new("").with_header("--a", "bcd").unwrap();
        assert!(matches!(
            Multipart::with_boundary(vec![tricky], b()),
            Err(Error::BoundaryInPart { index: 0 })
        ));
        // Anywhere in a part, as RFC 2046 asks.
        let in_value = Part::new("").with_header("x", "--a: b").unwrap();
        assert!(Multipart::with_boundary(vec![in_value], b()).is_err());
        let near_miss = Part::new("-a: b --a:b").with_header("x", "-a: b").unwrap();
        assert!(Multipart::with_boundary(vec![near_miss], b()).is_ok());
    }

    #[test]
    fn streaming_body_matches_contiguous_body() {
        use http_body::Body as _;

        let parts = vec![
            Part::form_data("manifest", "application/json", "{}"),
            Part::new(""),
            Part::new(Bytes::from_static(b"shared")),
        ];
        let m = Multipart::new(parts);
        let expected = m.encode().body;
        let mut body = m.into_body();
        let mut out = Vec::new();
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        while let Poll::Ready(Some(frame)) = Pin::new(&mut body).poll_frame(&mut cx) {
            let data = frame.unwrap().into_data().unwrap();
            out.extend_from_slice(&data);
            assert_eq!(
                body.size_hint().exact(),
                Some((expected.len() - out.len()) as u64)
            );
        }
        assert!(body.is_end_stream());
        assert_eq!(out, expected);
    }

    #[test]
    fn streaming_body_shares_part_bytes() {
        use http_body::Body as _;

        let payload = Bytes::from(vec![7_u8; 4096]);
        let m = Multipart::new(vec![Part::new(payload.clone())]);
        let mut body = m.into_body();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut shared = false;
        while let Poll::Ready(Some(frame)) = Pin::new(&mut body).poll_frame(&mut cx) {
            let data = frame.unwrap().into_data().unwrap();
            shared |= data.as_ptr() == payload.as_ptr() && data.len() == payload.len();
        }
        assert!(shared, "the part body must be passed through, not copied");
    }
}
