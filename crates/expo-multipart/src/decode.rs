//! Reading multipart bodies: a push decoder that any I/O model can drive.
//!
//! RFC 2046 §5.1.1, with the leniencies real writers need (preamble,
//! epilogue, transport padding, parts without headers):
//!
//! ```text
//! multipart-body := [preamble CRLF] dash-boundary transport-padding CRLF
//!                   body-part *encapsulation close-delimiter
//!                   transport-padding [CRLF epilogue]
//! encapsulation  := delimiter transport-padding CRLF body-part
//! delimiter      := CRLF dash-boundary
//! body-part      := MIME-part-headers [CRLF *OCTET]
//! ```
//!
//! The decoder prefixes the input with a virtual CRLF, so the first
//! dash-boundary is found like every later delimiter.

use bytes::{Buf as _, Bytes, BytesMut};
use http::header::{HeaderName, HeaderValue};
use memchr::memmem;

use crate::boundary::{Boundary, parse_boundary};
use crate::error::{Error, Limit, Result};
use crate::header_block;
use crate::limits::Limits;
use crate::part::Part;

/// Decodes a complete multipart body.
///
/// `content_type` is the response's `content-type` value; its `boundary`
/// parameter delimits the parts (see [`parse_boundary`]). An empty body has
/// zero parts, as the Expo protocol says. Part bodies are copied out of
/// `body` once.
///
/// # Errors
///
/// Content-type and boundary errors from [`parse_boundary`]; then
/// [`Error::BoundaryNotFound`], [`Error::Truncated`],
/// [`Error::InvalidDelimiter`], [`Error::MalformedHeader`] and
/// [`Error::LimitExceeded`] for bodies that break the rules or the limits.
///
/// # Examples
///
/// ```
/// use expo_multipart::{decode, Limits};
///
/// let body = b"--b\r\ncontent-disposition: form-data; name=\"manifest\"\r\n\r\n{}\r\n--b--\r\n";
/// let parts = decode("multipart/mixed; boundary=b", body, &Limits::default())?;
/// assert_eq!(parts.len(), 1);
/// assert_eq!(parts[0].name(), Some("manifest"));
/// assert_eq!(parts[0].body().as_ref(), b"{}");
///
/// assert!(decode("multipart/mixed; boundary=b", b"", &Limits::default())?.is_empty());
/// # Ok::<(), expo_multipart::Error>(())
/// ```
pub fn decode(content_type: &str, body: &[u8], limits: &Limits) -> Result<Vec<Part>> {
    let boundary = parse_boundary(content_type)?;
    let mut decoder = Decoder::new(&boundary, *limits);
    decoder.push(body);
    decoder.finish();
    let mut parts = Vec::new();
    while let Some(part) = decoder.next_part()? {
        parts.push(part);
    }
    Ok(parts)
}

/// A push decoder: feed it chunks with [`push`](Self::push), say the input
/// ended with [`finish`](Self::finish), and take parts out with
/// [`next_part`](Self::next_part) as they complete.
///
/// It keeps at most one part (bounded by [`Limits`]) plus one delimiter of
/// input; preamble and epilogue are dropped as they arrive. After an error
/// or the closing delimiter it is [finished](Self::is_finished) and ignores
/// further input.
///
/// # Examples
///
/// ```
/// use expo_multipart::{Boundary, Decoder, Limits};
///
/// let mut decoder = Decoder::new(&Boundary::new("b")?, Limits::default());
/// decoder.push(b"--b\r\n\r\nfirst\r\n-");
/// assert_eq!(decoder.next_part()?, None); // "\r\n-" may start a delimiter
/// decoder.push(b"-b\r\n\r\nsecond\r\n--b--\r\n");
/// assert_eq!(decoder.next_part()?.unwrap().body().as_ref(), b"first");
/// assert_eq!(decoder.next_part()?.unwrap().body().as_ref(), b"second");
/// assert_eq!(decoder.next_part()?, None);
/// assert!(decoder.is_finished());
/// # Ok::<(), expo_multipart::Error>(())
/// ```
#[derive(Debug)]
pub struct Decoder {
    /// Finds `CRLF--boundary`.
    delimiter: memmem::Finder<'static>,
    limits: Limits,
    /// Unconsumed input, after the virtual leading CRLF.
    buf: BytesMut,
    /// Position of `buf[0]` in the virtual input (real input + 2).
    pos: usize,
    state: State,
    parts: usize,
    saw_input: bool,
    eof: bool,
}

#[derive(Debug)]
enum State {
    /// Before the first delimiter; `buf[..scanned]` holds none.
    Preamble { scanned: usize },
    /// Just after `CRLF--boundary`: `--`, or padding and CRLF.
    AfterDelimiter,
    /// At the start of a part; `buf[..scanned]` holds no blank line.
    Headers { scanned: usize },
    /// `buf` starts at the CRLF that ends the header block;
    /// `buf[..scanned]` holds no delimiter.
    Body {
        headers: Vec<(HeaderName, HeaderValue)>,
        scanned: usize,
    },
    /// After the close delimiter, or after an error.
    Finished,
}

/// What one step of the state machine did.
enum Step {
    Continue,
    NeedInput,
    Part(Part),
}

impl Decoder {
    /// A decoder for parts delimited by `boundary`.
    pub fn new(boundary: &Boundary, limits: Limits) -> Self {
        let mut delimiter = Vec::with_capacity(boundary.as_str().len() + 4);
        delimiter.extend_from_slice(b"\r\n");
        delimiter.extend_from_slice(&boundary.dash_boundary());
        let mut buf = BytesMut::new();
        buf.extend_from_slice(b"\r\n");
        Self {
            delimiter: memmem::Finder::new(&delimiter).into_owned(),
            limits,
            buf,
            pos: 0,
            state: State::Preamble { scanned: 0 },
            parts: 0,
            saw_input: false,
            eof: false,
        }
    }

    /// Appends input. Input after the close delimiter (the epilogue) or
    /// after an error is dropped.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.is_finished() || chunk.is_empty() {
            return;
        }
        self.saw_input = true;
        self.buf.extend_from_slice(chunk);
    }

    /// Marks the end of the input.
    pub fn finish(&mut self) {
        self.eof = true;
    }

    /// Whether the close delimiter was read or an error returned; no more
    /// parts will come.
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Finished)
    }

    /// The next complete part, or `None` when more input is needed (or the
    /// decoder [is finished](Self::is_finished)).
    ///
    /// # Errors
    ///
    /// See [`decode`]. After an error the decoder is finished.
    pub fn next_part(&mut self) -> Result<Option<Part>> {
        loop {
            let step = match self.step() {
                Ok(step) => step,
                Err(err) => {
                    self.abort();
                    return Err(err);
                }
            };
            match step {
                Step::Continue => {}
                Step::NeedInput => return Ok(None),
                Step::Part(part) => return Ok(Some(part)),
            }
        }
    }

    /// Stops decoding, as after an error.
    pub(crate) fn abort(&mut self) {
        self.state = State::Finished;
        self.buf = BytesMut::new();
    }

    /// Offset in the real input of `buf[index]`.
    fn offset(&self, index: usize) -> usize {
        (self.pos + index).saturating_sub(2)
    }

    fn consume(&mut self, n: usize) {
        self.buf.advance(n);
        self.pos += n;
    }

    fn truncated(&self) -> Error {
        Error::Truncated {
            offset: self.offset(self.buf.len()),
        }
    }

    fn exceeded(limit: Limit, max: usize) -> Error {
        Error::LimitExceeded { limit, max }
    }

    fn step(&mut self) -> Result<Step> {
        let delimiter_len = self.delimiter.needle().len();
        // Taken out so the arms can consume input; an error leaves `Finished`.
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Preamble { scanned } => {
                let rest = self.buf.get(scanned..).unwrap_or_default();
                if let Some(found) = self.delimiter.find(rest) {
                    self.consume(scanned + found + delimiter_len);
                    self.state = State::AfterDelimiter;
                    return Ok(Step::Continue);
                }
                if self.eof {
                    return if self.saw_input {
                        Err(Error::BoundaryNotFound)
                    } else {
                        Ok(Step::NeedInput)
                    };
                }
                // Keep only what could begin a delimiter.
                let drop = self.buf.len().saturating_sub(delimiter_len - 1);
                self.consume(drop);
                self.state = State::Preamble { scanned: 0 };
                Ok(Step::NeedInput)
            }
            State::AfterDelimiter => self.after_delimiter(),
            State::Headers { scanned } => self.headers(scanned),
            State::Body { headers, scanned } => self.body(headers, scanned, delimiter_len),
            State::Finished => Ok(Step::NeedInput),
        }
    }

    fn after_delimiter(&mut self) -> Result<Step> {
        if self.buf.starts_with(b"--") {
            // The close delimiter; the rest is epilogue.
            self.buf = BytesMut::new();
            return Ok(Step::NeedInput);
        }
        let padding = self
            .buf
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        let wait = match self.buf.get(padding..).unwrap_or_default() {
            [b'\r', b'\n', ..] => false,
            [] | [b'\r'] => true,
            [b'-'] if padding == 0 => true,
            _ => {
                return Err(Error::InvalidDelimiter {
                    offset: self.offset(padding),
                });
            }
        };
        if wait {
            if padding > self.limits.max_header_bytes {
                return Err(Self::exceeded(
                    Limit::HeaderBytes,
                    self.limits.max_header_bytes,
                ));
            }
            if self.eof {
                return Err(self.truncated());
            }
            self.state = State::AfterDelimiter;
            return Ok(Step::NeedInput);
        }
        if self.parts >= self.limits.max_parts {
            return Err(Self::exceeded(Limit::Parts, self.limits.max_parts));
        }
        self.consume(padding + 2);
        self.state = State::Headers { scanned: 0 };
        Ok(Step::Continue)
    }

    fn headers(&mut self, scanned: usize) -> Result<Step> {
        let max = self.limits.max_header_bytes;
        // `end` is the index of the CRLF that ends the header block.
        let end = if self.buf.starts_with(b"\r\n") {
            0
        } else if let Some(found) = find_blank_line(self.buf.get(scanned..).unwrap_or_default()) {
            scanned + found + 2
        } else {
            // A blank line found later would start at len - 3 or after.
            if self.buf.len().saturating_sub(1) > max {
                return Err(Self::exceeded(Limit::HeaderBytes, max));
            }
            if self.eof {
                if let Some(found) = self.delimiter.find(&self.buf) {
                    return Err(Error::MalformedHeader {
                        offset: self.offset(found + 2),
                        reason: "part headers not ended by a blank line",
                    });
                }
                return Err(self.truncated());
            }
            self.state = State::Headers {
                scanned: self.buf.len().saturating_sub(3),
            };
            return Ok(Step::NeedInput);
        };
        if end > max {
            return Err(Self::exceeded(Limit::HeaderBytes, max));
        }
        let block = self.buf.get(..end).unwrap_or_default();
        // A delimiter cannot straddle `end` (it holds CR only at its start),
        // so one inside the block lies wholly before it.
        if let Some(found) = self.delimiter.find(block) {
            return Err(Error::MalformedHeader {
                offset: self.offset(found + 2),
                reason: "part headers not ended by a blank line",
            });
        }
        let offset = self.offset(0);
        let block = self.buf.split_to(end).freeze();
        self.pos += end;
        let headers = header_block::parse(&block, offset)?;
        self.state = State::Body {
            headers,
            scanned: 0,
        };
        Ok(Step::Continue)
    }

    fn body(
        &mut self,
        headers: Vec<(HeaderName, HeaderValue)>,
        scanned: usize,
        delimiter_len: usize,
    ) -> Result<Step> {
        let max = self.limits.max_body_bytes;
        let rest = self.buf.get(scanned..).unwrap_or_default();
        let Some(found) = self.delimiter.find(rest) else {
            // The last `delimiter_len - 1` bytes may begin a delimiter.
            let at_least = self.buf.len().saturating_sub(2 + delimiter_len - 1);
            if at_least > max {
                return Err(Self::exceeded(Limit::BodyBytes, max));
            }
            if self.eof {
                return Err(self.truncated());
            }
            self.state = State::Body {
                headers,
                scanned: self.buf.len().saturating_sub(delimiter_len - 1),
            };
            return Ok(Step::NeedInput);
        };
        let at = scanned + found;
        // `buf` starts with the CRLF ending the headers: a delimiter right
        // there means no blank line and an empty body.
        let body = if at == 0 {
            Bytes::new()
        } else {
            if at - 2 > max {
                return Err(Self::exceeded(Limit::BodyBytes, max));
            }
            let mut body = self.buf.split_to(at);
            self.pos += at;
            body.advance(2);
            body.freeze()
        };
        self.consume(delimiter_len);
        self.parts += 1;
        self.state = State::AfterDelimiter;
        Ok(Step::Part(Part::from_decoded(headers, body)))
    }
}

/// Position of the first `\r\n\r\n` (header blocks are short, so this
/// beats building a `memmem::Finder` for every part).
fn find_blank_line(haystack: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'\n', haystack).find_map(|lf| {
        let start = lf.checked_sub(1)?;
        (haystack.get(start..start + 4) == Some(b"\r\n\r\n")).then_some(start)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(body: &[u8]) -> Result<Vec<Part>> {
        decode("multipart/mixed; boundary=b", body, &Limits::default())
    }

    fn bodies(body: &[u8]) -> Vec<Vec<u8>> {
        parts(body)
            .unwrap()
            .iter()
            .map(|p| p.body().to_vec())
            .collect()
    }

    #[test]
    fn finds_blank_lines() {
        assert_eq!(find_blank_line(b"\r\n\r\n"), Some(0));
        assert_eq!(find_blank_line(b"a\n\r\n\r\n"), Some(2));
        assert_eq!(find_blank_line(b"a\r\n\r"), None);
        assert_eq!(find_blank_line(b"\n\n\r\n\n"), None);
    }

    #[test]
    fn empty_body_has_zero_parts() {
        assert!(parts(b"").unwrap().is_empty());
        assert!(parts(b"--b--\r\n").unwrap().is_empty());
    }

    #[test]
    fn reads_the_expo_framing() {
        let body = b"--b\r\ncontent-disposition: form-data; name=\"manifest\"\r\ncontent-type: application/json\r\nexpo-signature: sig=\"x\"\r\n\r\n{\"a\":1}\r\n--b\r\ncontent-disposition: form-data; name=\"extensions\"\r\n\r\n{}\r\n--b--\r\n";
        let parts = parts(body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name(), Some("manifest"));
        assert_eq!(parts[0].headers().len(), 3);
        assert_eq!(parts[0].header("expo-signature").unwrap(), "sig=\"x\"");
        assert_eq!(parts[0].body().as_ref(), b"{\"a\":1}");
        assert_eq!(parts[1].name(), Some("extensions"));
        assert_eq!(parts[1].body().as_ref(), b"{}");
    }

    #[test]
    fn preamble_epilogue_and_padding() {
        assert_eq!(
            bodies(b"preamble\r\n--b \t\r\n\r\nx\r\n--b-- \r\nepilogue --b\r\n"),
            [b"x".to_vec()]
        );
    }

    #[test]
    fn empty_parts_and_parts_without_headers() {
        // No headers and no blank line; no headers and a blank line; headers
        // without a blank line; headers, blank line, empty body.
        let parts =
            parts(b"--b\r\n\r\n--b\r\n\r\n\r\n--b\r\na: 1\r\n\r\n--b\r\na: 2\r\n\r\n\r\n--b--")
                .unwrap();
        let summary: Vec<_> = parts
            .iter()
            .map(|p| (p.headers().len(), p.body().len()))
            .collect();
        assert_eq!(summary, [(0, 0), (0, 0), (1, 0), (1, 0)]);
    }

    #[test]
    fn body_keeps_crlf_and_dashes() {
        assert_eq!(
            bodies(b"--b\r\n\r\n\r\n--a\r\n-b\r\n--\r\n\r\n--b--"),
            [b"\r\n--a\r\n-b\r\n--\r\n".to_vec()]
        );
    }

    #[test]
    fn truncated_bodies() {
        for body in [
            &b"--b"[..],
            b"--b\r",
            b"--b\r\n",
            b"--b\r\na: 1\r\n",
            b"--b\r\na: 1\r\n\r\nbody",
            b"--b\r\n\r\nbody\r\n--b",
            b"--b\r\n\r\nbody\r\n--b-",
            b"--b\r\n\r\nbody\r\n--b  ",
        ] {
            assert!(
                matches!(parts(body), Err(Error::Truncated { .. })),
                "{:?}: {:?}",
                String::from_utf8_lossy(body),
                parts(body)
            );
        }
    }

    #[test]
    fn missing_and_wrong_boundary() {
        assert!(matches!(parts(b"hello"), Err(Error::BoundaryNotFound)));
        assert!(matches!(
            parts(b"--c\r\n\r\nx\r\n--c--"),
            Err(Error::BoundaryNotFound)
        ));
        assert!(matches!(
            parts(b"--bc\r\n\r\nx\r\n--bc--"),
            Err(Error::InvalidDelimiter { offset: 3 })
        ));
        assert!(matches!(
            decode("multipart/mixed", b"", &Limits::default()),
            Err(Error::MissingBoundary)
        ));
    }

    #[test]
    fn malformed_headers() {
        assert!(matches!(
            parts(b"--b\r\nno colon\r\n\r\nx\r\n--b--"),
            Err(Error::MalformedHeader { offset: 5, .. })
        ));
        assert!(matches!(
            parts(b"--b\r\na: 1\r\n--b\r\nc: 2\r\n\r\nx\r\n--b--"),
            Err(Error::MalformedHeader { offset: 11, .. })
        ));
        assert!(matches!(
            parts(b"--b\r\na: 1\r\n--b--"),
            Err(Error::MalformedHeader { .. })
        ));
    }

    #[test]
    fn limits_are_enforced() {
        let limits = Limits {
            max_parts: 2,
            max_header_bytes: 8,
            max_body_bytes: 4,
        };
        let ct = "multipart/mixed; boundary=b";
        let three = b"--b\r\n\r\n1\r\n--b\r\n\r\n2\r\n--b\r\n\r\n3\r\n--b--";
        assert!(matches!(
            decode(ct, three, &limits),
            Err(Error::LimitExceeded {
                limit: Limit::Parts,
                max: 2
            })
        ));
        assert!(decode(ct, &three[..29], &limits).is_err());
        assert_eq!(
            decode(ct, b"--b\r\na: 123\r\n\r\n1234\r\n--b--", &limits)
                .unwrap()
                .len(),
            1
        );
        assert!(matches!(
            decode(ct, b"--b\r\na: 1234\r\n\r\n\r\n--b--", &limits),
            Err(Error::LimitExceeded {
                limit: Limit::HeaderBytes,
                ..
            })
        ));
        assert!(matches!(
            decode(ct, b"--b\r\n\r\n12345\r\n--b--", &limits),
            Err(Error::LimitExceeded {
                limit: Limit::BodyBytes,
                ..
            })
        ));
    }

    #[test]
    fn limits_apply_before_input_ends() {
        let limits = Limits {
            max_parts: 2,
            max_header_bytes: 8,
            max_body_bytes: 4,
        };
        let boundary = Boundary::new("b").unwrap();
        let mut decoder = Decoder::new(&boundary, limits);
        decoder.push(b"--b\r\n\r\n");
        decoder.push(&[b'x'; 64]);
        assert!(matches!(
            decoder.next_part(),
            Err(Error::LimitExceeded {
                limit: Limit::BodyBytes,
                ..
            })
        ));
        assert!(decoder.is_finished());

        let mut decoder = Decoder::new(&boundary, limits);
        decoder.push(b"--b\r\n");
        decoder.push(&[b'x'; 64]);
        assert!(matches!(
            decoder.next_part(),
            Err(Error::LimitExceeded {
                limit: Limit::HeaderBytes,
                ..
            })
        ));
    }

    #[test]
    fn byte_at_a_time_matches_whole_input() {
        let body: &[u8] = b"pre\r\n--b\r\na: 1\r\n b\r\n\r\n\r\r\n--\r\n-b\r\n--b\r\n\r\n\r\n--b  \r\n\r\n\r\n--b--\r\npost";
        let whole = parts(body).unwrap();
        let boundary = Boundary::new("b").unwrap();
        let mut decoder = Decoder::new(&boundary, Limits::default());
        let mut incremental = Vec::new();
        for byte in body {
            decoder.push(std::slice::from_ref(byte));
            while let Some(part) = decoder.next_part().unwrap() {
                incremental.push(part);
            }
        }
        decoder.finish();
        while let Some(part) = decoder.next_part().unwrap() {
            incremental.push(part);
        }
        assert!(decoder.is_finished());
        assert_eq!(whole, incremental);
        assert_eq!(whole.len(), 3);
        assert_eq!(whole[0].header("a").unwrap(), "1 b");
        assert_eq!(whole[0].body().as_ref(), b"\r\r\n--\r\n-b");
    }

    #[test]
    fn preamble_is_not_kept() {
        let boundary = Boundary::new("b").unwrap();
        let mut decoder = Decoder::new(&boundary, Limits::default());
        for _ in 0..1000 {
            decoder.push(&[b'p'; 1000]);
            assert_eq!(decoder.next_part().unwrap(), None);
        }
        assert!(decoder.buf.len() < 8);
    }
}
