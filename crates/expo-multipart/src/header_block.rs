//! Reading a part's header block (RFC 2046 §5.1.1 `MIME-part-headers`,
//! fields as in RFC 5322 §2.2 with RFC 9110 value rules).

use std::ops::Range;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};

use crate::error::{Error, Result};

/// Parses `block`, header lines each ending in CRLF (the blank line that
/// ends the block excluded). `offset` is the block's position in the body,
/// for error messages.
///
/// Folded lines (obsolete in HTTP, still legal in MIME) are joined with a
/// single space, as RFC 9110 §5.5 tells recipients to do.
pub(crate) fn parse(block: &Bytes, offset: usize) -> Result<Vec<(HeaderName, HeaderValue)>> {
    let mut fields: Vec<Field> = Vec::new();
    let mut start = 0;
    for end in line_ends(block) {
        let line = block.get(start..end).unwrap_or_default();
        let line_start = start;
        start = end + 2;
        let malformed = |reason| Error::MalformedHeader {
            offset: offset + line_start,
            reason,
        };
        if let [b' ' | b'\t', continuation @ ..] = line {
            let field = fields
                .last_mut()
                .ok_or(malformed("continuation line before any header"))?;
            let continuation = trim_ows(continuation);
            if !continuation.is_empty() {
                let joined = field.joined.get_or_insert_with(|| {
                    block.get(field.value.clone()).unwrap_or_default().to_vec()
                });
                if !joined.is_empty() {
                    joined.push(b' ');
                }
                joined.extend_from_slice(continuation);
            }
            continue;
        }
        let colon = memchr::memchr(b':', line).ok_or(malformed("header line without ':'"))?;
        let name = line.get(..colon).unwrap_or_default();
        let name = HeaderName::from_bytes(name).map_err(|_| malformed("invalid header name"))?;
        let rest = line.get(colon + 1..).unwrap_or_default();
        let value = trim_ows(rest);
        let lead = rest
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        let value_start = line_start + colon + 1 + lead;
        fields.push(Field {
            name,
            value: value_start..value_start + value.len(),
            joined: None,
            offset: offset + line_start,
        });
    }
    if start != block.len() {
        return Err(Error::MalformedHeader {
            offset: offset + start,
            reason: "header line not ended by CRLF",
        });
    }
    fields
        .into_iter()
        .map(|field| {
            // Unfolded values share the block's buffer instead of copying.
            let bytes = match field.joined {
                Some(joined) => Bytes::from(joined),
                None => block.slice(field.value),
            };
            let value =
                HeaderValue::from_maybe_shared(bytes).map_err(|_| Error::MalformedHeader {
                    offset: field.offset,
                    reason: "control character in header value",
                })?;
            Ok((field.name, value))
        })
        .collect()
}

/// A header read so far.
struct Field {
    name: HeaderName,
    /// Where the value sits in the block.
    value: Range<usize>,
    /// The value with its continuation lines, once there are any.
    joined: Option<Vec<u8>>,
    /// Where the header line starts in the body.
    offset: usize,
}

/// Positions of the CRLFs in `block` (a bare LF stays part of its line).
fn line_ends(block: &[u8]) -> impl Iterator<Item = usize> + '_ {
    memchr::memchr_iter(b'\n', block)
        .filter(move |&lf| lf > 0 && block.get(lf - 1) == Some(&b'\r'))
        .map(|lf| lf - 1)
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_values(block: &[u8]) -> Vec<(String, Vec<u8>)> {
        parse(&Bytes::copy_from_slice(block), 0)
            .unwrap()
            .into_iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn reads_ordered_headers() {
        assert_eq!(
            names_values(
                b"Content-Type: application/json\r\nexpo-signature:sig=\"a\" \r\nX: 1\r\nx:2\r\n"
            ),
            [
                ("content-type".to_owned(), b"application/json".to_vec()),
                ("expo-signature".to_owned(), b"sig=\"a\"".to_vec()),
                ("x".to_owned(), b"1".to_vec()),
                ("x".to_owned(), b"2".to_vec()),
            ]
        );
    }

    #[test]
    fn empty_block_and_empty_values() {
        assert!(parse(&Bytes::new(), 0).unwrap().is_empty());
        assert_eq!(names_values(b"a:\r\n"), [("a".to_owned(), Vec::new())]);
    }

    #[test]
    fn unfolds_continuation_lines() {
        assert_eq!(
            names_values(b"a: one\r\n  two\r\n\tthree\r\nb: x\r\n"),
            [
                ("a".to_owned(), b"one two three".to_vec()),
                ("b".to_owned(), b"x".to_vec()),
            ]
        );
    }

    #[test]
    fn rejects_malformed_lines_with_offsets() {
        let cases: [(&[u8], usize); 6] = [
            (b"no colon\r\n", 0),
            (b"a: 1\r\n continued\r\nbad name: x\r\n", 18),
            (b" leading: fold\r\n", 0),
            (b"a: 1\r\nb: bare\nlf\r\n", 6),
            (b": empty name\r\n", 0),
            (b"a: 1\r\nb: 2", 6),
        ];
        for (block, offset) in cases {
            match parse(&Bytes::copy_from_slice(block), 100) {
                Err(Error::MalformedHeader { offset: at, .. }) => {
                    assert_eq!(at, 100 + offset, "{:?}", String::from_utf8_lossy(block));
                }
                other => panic!("{:?}: {other:?}", String::from_utf8_lossy(block)),
            }
        }
    }

    #[test]
    fn keeps_non_ascii_values() {
        assert_eq!(
            names_values("content-disposition: form-data; name=\"m\u{e4}\"\r\n".as_bytes()),
            [(
                "content-disposition".to_owned(),
                "form-data; name=\"m\u{e4}\"".as_bytes().to_vec()
            )]
        );
    }
}
