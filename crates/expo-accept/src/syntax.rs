//! RFC 9110 list, token, quoted-string and weight syntax shared by both headers.

use std::{
    borrow::Cow,
    fmt::{self, Write as _},
};

use crate::{Error, MAX_ELEMENTS, MAX_HEADER_LEN};

/// A quality value in thousandths: `q=0.5` is 500, no `q` is 1000.
pub(crate) type Quality = u16;

pub(crate) const FULL: Quality = 1000;

pub(crate) fn check_len(header: &str) -> Result<(), Error> {
    if header.len() > MAX_HEADER_LEN {
        return Err(Error::TooLong {
            len: header.len(),
            max: MAX_HEADER_LEN,
        });
    }
    Ok(())
}

/// Splits a `#rule` list on commas outside quoted strings, dropping empty
/// elements as RFC 9110 5.6.1 asks recipients to.
pub(crate) fn elements(header: &str) -> Result<Vec<&str>, Error> {
    let mut out = Vec::new();
    for element in Elements::new(header) {
        out.push(element?);
    }
    Ok(out)
}

/// The elements of a `#rule` list, without allocating; yields an error
/// once more than [`MAX_ELEMENTS`] have been seen.
pub(crate) struct Elements<'a> {
    rest: Option<&'a str>,
    seen: usize,
}

impl<'a> Elements<'a> {
    pub(crate) fn new(header: &'a str) -> Self {
        Elements {
            rest: Some(header),
            seen: 0,
        }
    }
}

impl<'a> Iterator for Elements<'a> {
    type Item = Result<&'a str, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let rest = self.rest?;
            let (element, tail) = match split_unquoted(rest, b',') {
                Some(at) => (&rest[..at], Some(&rest[at + 1..])),
                None => (rest, None),
            };
            self.rest = tail;
            let element = trim_ows(element);
            if element.is_empty() {
                continue;
            }
            self.seen += 1;
            if self.seen > MAX_ELEMENTS {
                self.rest = None;
                return Some(Err(Error::TooManyElements {
                    count: self.seen,
                    max: MAX_ELEMENTS,
                }));
            }
            return Some(Ok(element));
        }
    }
}

/// The position of the first `sep` outside a quoted string.
fn split_unquoted(s: &str, sep: u8) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == sep {
            return Some(i);
        }
        i += 1;
        if b == b'"' {
            // Skip the quoted string: up to an unescaped `"`, or the end.
            while let Some(&q) = bytes.get(i) {
                i += if q == b'\\' { 2 } else { 1 };
                if q == b'"' {
                    break;
                }
            }
        }
    }
    None
}

/// `s.split_once(sep)` for an ASCII `sep`; quicker on the short strings of
/// a header than the general search.
fn split_byte(s: &str, sep: u8) -> Option<(&str, &str)> {
    let at = s.bytes().position(|b| b == sep)?;
    Some((&s[..at], &s[at + 1..]))
}

pub(crate) fn trim_ows(s: &str) -> &str {
    trim_ows_end(trim_ows_start(s))
}

pub(crate) fn trim_ows_start(s: &str) -> &str {
    let skip = s.bytes().take_while(|&b| b == b' ' || b == b'\t').count();
    &s[skip..]
}

pub(crate) fn trim_ows_end(s: &str) -> &str {
    let skip = s
        .bytes()
        .rev()
        .take_while(|&b| b == b' ' || b == b'\t')
        .count();
    &s[..s.len() - skip]
}

/// Splits the leading token off `s`; the token may be empty.
pub(crate) fn split_token(s: &str) -> (&str, &str) {
    let len = s.bytes().take_while(|&b| TCHAR[usize::from(b)]).count();
    s.split_at(len)
}

/// What follows the token of a list element: nothing, or parameters after
/// a `;` (returned without it).
pub(crate) fn after_token(rest: &str) -> Option<&str> {
    let rest = trim_ows_start(rest);
    if rest.is_empty() {
        Some(rest)
    } else {
        rest.strip_prefix(';')
    }
}

/// `tchar` of RFC 9110 5.6.2, as a table: this runs for every byte of a header.
const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut c: u8 = 0;
    loop {
        table[c as usize] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'..=b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
            );
        if c == u8::MAX {
            break table;
        }
        c += 1;
    }
};

pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| TCHAR[usize::from(b)])
}

fn is_quoted_string(s: &str) -> bool {
    let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return false;
    };
    let mut escaped = false;
    for b in inner.bytes() {
        match b {
            // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
            b'\t' | b' '..=b'~' | 0x80..=0xff if escaped => escaped = false,
            _ if escaped => return false,
            b'\\' => escaped = true,
            b'"' => return false,
            b'\t' | b' '..=b'~' | 0x80..=0xff => {}
            _ => return false,
        }
    }
    !escaped
}

/// The value of a parameter: a token as it is, a quoted string without its
/// quotes and escapes.
pub(crate) fn unquote(value: &str) -> Cow<'_, str> {
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return Cow::Borrowed(value);
    };
    if !inner.contains('\\') {
        return Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut escaped = false;
    for c in inner.chars() {
        if c == '\\' && !escaped {
            escaped = true;
        } else {
            out.push(c);
            escaped = false;
        }
    }
    Cow::Owned(out)
}

/// Writes a parameter value: a token as it is, anything else as a quoted
/// string, escaping `"` and `\`.
pub(crate) fn write_value(f: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    if is_token(value) {
        return f.write_str(value);
    }
    f.write_char('"')?;
    for c in value.chars() {
        if c == '"' || c == '\\' {
            f.write_char('\\')?;
        }
        f.write_char(c)?;
    }
    f.write_char('"')
}

/// Writes `;q=…` unless the weight is the default 1, with the fewest digits.
pub(crate) fn write_weight(f: &mut fmt::Formatter<'_>, quality: Quality) -> fmt::Result {
    match quality {
        FULL => Ok(()),
        0 => f.write_str(";q=0"),
        q if q % 100 == 0 => write!(f, ";q=0.{}", q / 100),
        q if q % 10 == 0 => write!(f, ";q=0.{:02}", q / 10),
        q => write!(f, ";q=0.{q:03}"),
    }
}

/// Splits `name=value` parameters after the first `;`, checking their syntax.
pub(crate) fn parameters(rest: &str) -> Result<Vec<(&str, &str)>, &'static str> {
    Params::new(rest).collect()
}

/// The `;`-separated parameters of an element, without allocating.
pub(crate) struct Params<'a> {
    rest: Option<&'a str>,
}

impl<'a> Params<'a> {
    pub(crate) fn new(rest: &'a str) -> Self {
        Params { rest: Some(rest) }
    }
}

impl<'a> Iterator for Params<'a> {
    type Item = Result<(&'a str, &'a str), &'static str>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let rest = self.rest?;
            // `;` inside a quoted value is not a separator.
            let (piece, tail) = match split_unquoted(rest, b';') {
                Some(at) => (&rest[..at], Some(&rest[at + 1..])),
                None => (rest, None),
            };
            self.rest = tail;
            let piece = trim_ows(piece);
            if piece.is_empty() {
                continue;
            }
            let Some((name, value)) = split_byte(piece, b'=') else {
                return Some(Err("parameter without '='"));
            };
            if !is_token(name) {
                return Some(Err("invalid parameter name"));
            }
            if !(is_token(value) || is_quoted_string(value)) {
                return Some(Err("invalid parameter value"));
            }
            return Some(Ok((name, value)));
        }
    }
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`
pub(crate) fn qvalue(s: &str) -> Option<Quality> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: Quality = 0;
    for (i, b) in frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .enumerate()
    {
        thousandths += Quality::from(b - b'0') * [100, 10, 1][i];
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(FULL),
        _ => None,
    }
}

pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 64;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        let tchar = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        for b in 0..=255u8 {
            assert_eq!(TCHAR[usize::from(b)], tchar.as_bytes().contains(&b), "{b}");
        }
        assert!(is_token("application"));
        assert!(!is_token(""));
        assert!(!is_token("a b"));
        assert!(!is_token("é"));
    }

    #[test]
    fn qvalues() {
        assert_eq!(qvalue("1"), Some(1000));
        assert_eq!(qvalue("1.000"), Some(1000));
        assert_eq!(qvalue("0.5"), Some(500));
        assert_eq!(qvalue("0.05"), Some(50));
        assert_eq!(qvalue("0.005"), Some(5));
        assert_eq!(qvalue("0"), Some(0));
        assert_eq!(qvalue("0."), Some(0));
        for bad in ["1.001", "0.5555", "2", "-1", ".5", "", "0.a", "1.5", "01"] {
            assert_eq!(qvalue(bad), None, "{bad}");
        }
    }

    #[test]
    fn quoted_values_are_unescaped_and_escaped_back() {
        struct Value<'a>(&'a str);
        impl fmt::Display for Value<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_value(f, self.0)
            }
        }
        for (wire, value) in [
            ("utf-8", "utf-8"),
            (r#""utf-8""#, "utf-8"),
            (r#""a,b""#, "a,b"),
            (r#""\"""#, "\""),
            (r#""a\\b""#, "a\\b"),
            (r#""\x""#, "x"),
            (r#""""#, ""),
            ("\"\\\té\"", "\té"),
        ] {
            assert_eq!(unquote(wire), value, "{wire}");
            let printed = Value(value).to_string();
            assert!(
                is_token(&printed) || is_quoted_string(&printed),
                "{printed}"
            );
            assert_eq!(unquote(&printed), value);
        }
    }

    #[test]
    fn quoted_pairs_escape_only_visible_characters() {
        assert!(is_quoted_string("\"\\\t\""));
        assert!(!is_quoted_string("\"\\\u{1}\""));
        assert!(!is_quoted_string("\"\u{1}\""));
        assert!(!is_quoted_string("\"\\\""));
    }

    #[test]
    fn separators_inside_quoted_strings_are_skipped() {
        for (s, at) in [
            ("a,b", Some(1)),
            (r#""a,b",c"#, Some(5)),
            (r#""a\",b",c"#, Some(7)),
            (r#""a\\",b"#, Some(5)),
            (r#""a,b"#, None),
            (r#""a\"#, None),
            ("", None),
            (",", Some(0)),
        ] {
            assert_eq!(split_unquoted(s, b','), at, "{s}");
        }
        assert_eq!(split_byte("a/b/c", b'/'), Some(("a", "b/c")));
        assert_eq!(split_byte("ab", b'/'), None);
    }

    #[test]
    fn list_splitting_respects_quotes() {
        assert_eq!(
            elements(r#"a/b;p="x,y", c/d"#).unwrap(),
            [r#"a/b;p="x,y""#, "c/d"]
        );
        assert_eq!(elements(" , a ,, b ,").unwrap(), ["a", "b"]);
        assert!(elements("").unwrap().is_empty());
    }
}
