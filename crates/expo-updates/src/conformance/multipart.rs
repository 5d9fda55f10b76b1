//! A minimal, lenient `multipart/mixed` reader of its own, so the suite judges framing
//! without trusting the decoder a server may share with it. It keeps what a strict reader
//! would reject (a preamble, a missing final CRLF, repeated or mixed-case headers) so each
//! can be reported on its own.

/// One part, headers as sent (names in their original spelling).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawPart {
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl RawPart {
    /// Every value of a header, whatever the spelling of its name.
    pub(crate) fn values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The first value of a header, whatever the spelling of its name.
    pub(crate) fn value(&self, name: &str) -> Option<&str> {
        self.values(name).into_iter().next()
    }

    /// The `name` parameter of `content-disposition`.
    pub(crate) fn name(&self) -> Option<String> {
        let disposition = self.value("content-disposition")?;
        disposition.split(';').skip(1).find_map(|param| {
            let (key, value) = param.split_once('=')?;
            key.trim()
                .eq_ignore_ascii_case("name")
                .then(|| value.trim().trim_matches('"').to_owned())
        })
    }
}

/// What was read, framing observations included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawMultipart {
    pub(crate) boundary: String,
    /// The body starts with `--boundary\r\n` (no preamble).
    pub(crate) clean_opening: bool,
    /// The body ends with `\r\n--boundary--\r\n`.
    pub(crate) clean_closing: bool,
    pub(crate) parts: Vec<RawPart>,
}

/// The `boundary` parameter of a `multipart/*` content type.
pub(crate) fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        let value = value.trim().trim_matches('"');
        (key.trim().eq_ignore_ascii_case("boundary") && !value.is_empty()).then(|| value.to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// Reads `body` framed by the boundary of `content_type`.
pub(crate) fn parse(content_type: &str, body: &[u8]) -> Result<RawMultipart, String> {
    let boundary =
        boundary(content_type).ok_or_else(|| format!("no boundary in {content_type:?}"))?;
    let dash = format!("--{boundary}").into_bytes();
    let clean_opening = body.starts_with(&[dash.as_slice(), b"\r\n"].concat());
    let clean_closing = body.ends_with(&[b"\r\n", dash.as_slice(), b"--\r\n"].concat());
    // The first delimiter: at the very start, or after a line break of the preamble.
    let first = if body.starts_with(&dash) {
        0
    } else {
        find(body, &[b"\n", dash.as_slice()].concat(), 0)
            .map(|i| i + 1)
            .ok_or("no opening delimiter")?
    };
    let delimiter = [b"\r\n", dash.as_slice()].concat();
    let mut parts = Vec::new();
    let mut cursor = first + dash.len();
    loop {
        if body[cursor..].starts_with(b"--") {
            break;
        }
        // Rest of the delimiter line (transport padding allowed), then the part.
        let line_end = find(body, b"\r\n", cursor).ok_or("a delimiter line does not end")?;
        let start = line_end + 2;
        let end = find(body, &delimiter, start).ok_or("a part is not closed by a delimiter")?;
        parts.push(read_part(&body[start..end])?);
        cursor = end + delimiter.len();
        if cursor >= body.len() {
            return Err("the body ends without a close delimiter".to_owned());
        }
    }
    Ok(RawMultipart {
        boundary,
        clean_opening,
        clean_closing,
        parts,
    })
}

fn read_part(raw: &[u8]) -> Result<RawPart, String> {
    let (head, body) = if raw.starts_with(b"\r\n") {
        (&raw[..0], &raw[2..])
    } else {
        let split =
            find(raw, b"\r\n\r\n", 0).ok_or("a part has no blank line after its headers")?;
        (&raw[..split], &raw[split + 4..])
    };
    let head = std::str::from_utf8(head).map_err(|_| "part headers are not UTF-8")?;
    let mut headers = Vec::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("part header line {line:?} has no colon"))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    Ok(RawPart {
        headers,
        body: body.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/mixed; boundary=\"b1\"";

    #[test]
    fn reads_a_clean_body() {
        let body = b"--b1\r\ncontent-type: application/json\r\ncontent-disposition: form-data; name=\"manifest\"\r\n\r\n{}\r\n--b1\r\nContent-Disposition: form-data; name=extensions\r\n\r\n{\"a\":1}\r\n--b1--\r\n";
        let read = parse(CT, body).unwrap();
        assert!(read.clean_opening && read.clean_closing);
        assert_eq!(read.parts.len(), 2);
        assert_eq!(read.parts[0].name().as_deref(), Some("manifest"));
        assert_eq!(read.parts[0].body, b"{}");
        assert_eq!(read.parts[1].name().as_deref(), Some("extensions"));
        assert_eq!(read.parts[1].body, b"{\"a\":1}");
    }

    #[test]
    fn notices_a_preamble_and_a_missing_final_crlf() {
        let body = b"\r\n--b1\r\ncontent-type: a\r\n\r\nx\r\n--b1--";
        let read = parse(CT, body).unwrap();
        assert!(!read.clean_opening);
        assert!(!read.clean_closing);
        assert_eq!(read.parts[0].body, b"x");
    }

    #[test]
    fn keeps_repeated_headers_and_their_spelling() {
        let body = b"--b1\r\nContent-Type: a\r\ncontent-type: a\r\nExpo-Signature: s\r\n\r\nx\r\n--b1--\r\n";
        let read = parse(CT, body).unwrap();
        assert_eq!(read.parts[0].values("content-type").len(), 2);
        assert_eq!(read.parts[0].headers[2].0, "Expo-Signature");
    }

    #[test]
    fn a_body_containing_the_boundary_text_without_crlf_is_one_part() {
        let body = b"--b1\r\n\r\nabc--b1def\r\n--b1--\r\n";
        let read = parse(CT, body).unwrap();
        assert_eq!(read.parts[0].body, b"abc--b1def");
    }

    #[test]
    fn refuses_broken_bodies() {
        assert!(parse("multipart/mixed", b"--b1--\r\n").is_err());
        assert!(parse(CT, b"no delimiter").is_err());
        assert!(parse(CT, b"--b1\r\ncontent-type: a\r\n\r\nbody never closed").is_err());
        assert!(parse(CT, b"--b1\r\nno blank line\r\n--b1--\r\n").is_err());
        assert!(parse(CT, b"--b1\r\n\r\nx\r\n--b1").is_err());
    }
}
