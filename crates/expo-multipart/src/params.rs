//! The parameter syntax shared by `content-type` and `content-disposition`
//! (RFC 9110 §5.6.6, RFC 2045 §5.1, RFC 6266 §4.1):
//!
//! ```text
//! value      = head *( OWS ";" OWS [ parameter ] )
//! parameter  = token "=" ( token / quoted-string )
//! ```
//!
//! Written here because `content-disposition` is not a media type, so the
//! `mime` crate cannot read it, and both headers should follow one set of rules.

use std::borrow::Cow;

/// `tchar` of RFC 9110 §5.6.2.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

fn trim_ows(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// Splits a media type `type/subtype; params` into its lower-cased type,
/// subtype and the raw parameter text that follows.
pub(crate) fn media_type(value: &str) -> Result<(&str, &str, &str), &'static str> {
    let value = trim_ows(value);
    let head_end = value.find(';').unwrap_or(value.len());
    let (head, params) = value.split_at(head_end);
    let (ty, subtype) = trim_ows(head)
        .split_once('/')
        .ok_or("expected type/subtype")?;
    if !is_token(ty) || !is_token(subtype) {
        return Err("type and subtype must be tokens");
    }
    Ok((ty, subtype, params))
}

/// Splits a `content-disposition` value into its type and parameter text.
pub(crate) fn disposition(value: &str) -> Result<(&str, &str), &'static str> {
    let value = trim_ows(value);
    let head_end = value.find(';').unwrap_or(value.len());
    let (head, params) = value.split_at(head_end);
    let head = trim_ows(head);
    if !is_token(head) {
        return Err("disposition type must be a token");
    }
    Ok((head, params))
}

/// Finds the single parameter `name` (ASCII case-insensitive) in `params`,
/// the text after the head, validating every parameter on the way.
///
/// A parameter given twice is an error: two boundaries or two names leave a
/// reader guessing which one the writer meant.
pub(crate) fn find<'a>(params: &'a str, name: &str) -> Result<Option<Cow<'a, str>>, &'static str> {
    let mut found = None;
    let mut rest = params;
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        if rest.is_empty() {
            return Ok(found);
        }
        rest = rest
            .strip_prefix(';')
            .ok_or("expected ';' between parameters")?;
        rest = rest.trim_start_matches([' ', '\t']);
        if rest.is_empty() || rest.starts_with(';') {
            continue;
        }
        let eq = rest.find('=').ok_or("parameter without '='")?;
        let (key, after) = rest.split_at(eq);
        if !is_token(key) {
            return Err("parameter name must be a token");
        }
        let after = &after[1..];
        let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
            quoted_string(quoted)?
        } else {
            let end = after
                .bytes()
                .position(|b| !is_tchar(b))
                .unwrap_or(after.len());
            let (token, tail) = after.split_at(end);
            if token.is_empty() {
                return Err("parameter value must be a token or a quoted string");
            }
            (Cow::Borrowed(token), tail)
        };
        if key.eq_ignore_ascii_case(name) {
            if found.is_some() {
                return Err("duplicate parameter");
            }
            found = Some(value);
        }
        rest = tail;
    }
}

/// Reads a quoted-string whose opening quote was already consumed; returns
/// the unescaped content and the text after the closing quote.
fn quoted_string(s: &str) -> Result<(Cow<'_, str>, &str), &'static str> {
    let mut unescaped: Option<String> = None;
    let mut chars = s.char_indices();
    let mut copied_to = 0;
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                let value = match unescaped {
                    Some(mut owned) => {
                        owned.push_str(&s[copied_to..i]);
                        Cow::Owned(owned)
                    }
                    None => Cow::Borrowed(&s[..i]),
                };
                return Ok((value, &s[i + 1..]));
            }
            '\\' => {
                let (j, escaped) = chars.next().ok_or("unterminated quoted string")?;
                if escaped.is_ascii_control() && escaped != '\t' {
                    return Err("control character in quoted string");
                }
                let owned = unescaped.get_or_insert_with(String::new);
                owned.push_str(&s[copied_to..i]);
                copied_to = j;
            }
            c if c.is_ascii_control() && c != '\t' => {
                return Err("control character in quoted string");
            }
            _ => {}
        }
    }
    Err("unterminated quoted string")
}

/// Writes `value` as a quoted-string, escaping `"` and `\`.
pub(crate) fn push_quoted(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_type_splits_head_and_params() {
        assert_eq!(
            media_type(" multipart/mixed ; boundary=abc"),
            Ok(("multipart", "mixed", "; boundary=abc"))
        );
        assert_eq!(
            media_type("multipart/mixed"),
            Ok(("multipart", "mixed", ""))
        );
        assert!(media_type("multipart").is_err());
        assert!(media_type("multi part/mixed").is_err());
        assert!(media_type("/mixed").is_err());
    }

    #[test]
    fn finds_token_and_quoted_values() {
        assert_eq!(find("; a=1; b=2", "b"), Ok(Some(Cow::Borrowed("2"))));
        assert_eq!(find(";B=\"x y\"", "b"), Ok(Some(Cow::Borrowed("x y"))));
        assert_eq!(find(";a=1", "b"), Ok(None));
        assert_eq!(find("", "b"), Ok(None));
        assert_eq!(find(" ; ; a=1 ;", "a"), Ok(Some(Cow::Borrowed("1"))));
    }

    #[test]
    fn unescapes_quoted_pairs() {
        assert_eq!(
            find(r#"; name="a\"b\\c""#, "name"),
            Ok(Some(Cow::Owned(r#"a"b\c"#.to_owned())))
        );
        assert_eq!(
            find("; name=\"ma\u{308}\"", "name"),
            Ok(Some(Cow::Borrowed("ma\u{308}")))
        );
    }

    #[test]
    fn rejects_malformed_parameters() {
        assert!(find("; a", "a").is_err());
        assert!(find("; a=", "a").is_err());
        assert!(find("; a=\"open", "a").is_err());
        assert!(find("; a=\"x\\", "a").is_err());
        assert!(find("; a=1 b=2", "a").is_err());
        assert!(find("; a=1; a=2", "a").is_err());
        assert!(find("; =1", "a").is_err());
        assert!(find("; a=\"x\u{1}\"", "a").is_err());
    }

    #[test]
    fn disposition_reads_type() {
        assert_eq!(
            disposition("form-data; name=\"manifest\""),
            Ok(("form-data", "; name=\"manifest\""))
        );
        assert!(disposition("; name=x").is_err());
    }

    #[test]
    fn push_quoted_round_trips() {
        let mut out = String::from(";x=");
        push_quoted(&mut out, r#"a"b\c"#);
        assert_eq!(find(&out, "x"), Ok(Some(Cow::Owned(r#"a"b\c"#.to_owned()))));
    }
}
