//! `A-IM` (RFC 3229 10.5.3): the instance manipulations a client accepts,
//! such as `bsdiff` patches of an Expo launch asset.

use std::{fmt, str::FromStr};

use crate::{
    Error, MAX_ELEMENTS,
    syntax::{
        Elements, FULL, Params, Quality, after_token, check_len, qvalue, split_token, write_weight,
    },
};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    manipulation: String,
    quality: Quality,
}

/// A parsed `A-IM` header: `A-IM: bsdiff`, `A-IM: vcdiff, bsdiff;q=0.5`.
///
/// Rules: a comma-separated list of case-insensitive instance-manipulation
/// tokens, each with an optional `q` weight (RFC 9110 12.4.2 syntax, at
/// most three decimals); a weight of 0 refuses the manipulation, as in
/// every other `Accept-*` header; other parameters are ignored. The first
/// element naming a manipulation counts, so a later one never overrides a
/// refusal. Malformed elements are skipped, as [`Accept::parse`](crate::Accept::parse)
/// does: a server that cannot read an element sends the full instance.
///
/// # Examples
///
/// ```
/// use expo_accept::AcceptIm;
///
/// # fn main() -> Result<(), expo_accept::Error> {
/// assert!(AcceptIm::parse("bsdiff")?.accepts("bsdiff"));
/// assert!(AcceptIm::parse("vcdiff, BSDIFF;q=0.5")?.accepts("bsdiff"));
/// assert_eq!(AcceptIm::parse("vcdiff, bsdiff;q=0.5")?.quality_of("bsdiff"), 500);
/// // A weight of zero is a refusal (RFC 3229 borrows the q-values of RFC 9110).
/// assert!(!AcceptIm::parse("bsdiff;q=0")?.accepts("bsdiff"));
/// assert!(!AcceptIm::parse("bsdiff2")?.accepts("bsdiff"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AcceptIm {
    entries: Vec<Entry>,
}

impl AcceptIm {
    /// Parses a header value, skipping malformed elements. Fails only when
    /// the value is over the length or element limits.
    pub fn parse(header: &str) -> Result<Self, Error> {
        check_len(header)?;
        let mut entries = Vec::new();
        for element in Elements::new(header) {
            if let Ok((name, quality)) = parse_entry(element?) {
                entries.push(Entry {
                    manipulation: name.to_ascii_lowercase(),
                    quality,
                });
            }
        }
        Ok(AcceptIm { entries })
    }

    /// The weight (in thousandths) the client gives the instance
    /// manipulation `im`; 0 when it does not accept it.
    pub fn quality_of(&self, im: &str) -> u16 {
        self.entries
            .iter()
            .find(|e| e.manipulation.eq_ignore_ascii_case(im))
            .map_or(0, |e| e.quality)
    }

    /// Whether the client accepts `im` (a weight above 0).
    pub fn accepts(&self, im: &str) -> bool {
        self.quality_of(im) > 0
    }
}

impl FromStr for AcceptIm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        AcceptIm::parse(s)
    }
}

impl fmt::Display for AcceptIm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(&e.manipulation)?;
            write_weight(f, e.quality)?;
        }
        Ok(())
    }
}

/// Whether the `A-IM` header lines of a request (several lines are one
/// list, RFC 9110 5.3) accept the instance manipulation `im`, by the rules
/// of [`AcceptIm`], in one pass without allocating.
///
/// Lines a caller could not read as text are left out by the caller; a line
/// over [`MAX_HEADER_LEN`](crate::MAX_HEADER_LEN) bytes, or more than
/// [`MAX_ELEMENTS`] elements in all, makes the answer `false`: when in
/// doubt, a server sends the full instance.
///
/// # Examples
///
/// ```
/// use expo_accept::accepts_im;
///
/// assert!(accepts_im(["gzip", "bsdiff"], "bsdiff"));
/// assert!(!accepts_im(["bsdiff;q=0", "bsdiff"], "bsdiff"));
/// assert!(!accepts_im([], "bsdiff"));
/// ```
pub fn accepts_im<'a>(lines: impl IntoIterator<Item = &'a str>, im: &str) -> bool {
    let mut seen = 0;
    for line in lines {
        if check_len(line).is_err() {
            return false;
        }
        for element in Elements::new(line) {
            seen += 1;
            let Ok(element) = element else {
                return false;
            };
            if seen > MAX_ELEMENTS {
                return false;
            }
            if let Ok((name, quality)) = parse_entry(element)
                && name.eq_ignore_ascii_case(im)
            {
                return quality > 0;
            }
        }
    }
    false
}

/// An instance manipulation and its weight, borrowed from the header.
fn parse_entry(element: &str) -> Result<(&str, Quality), &'static str> {
    let (name, rest) = split_token(element);
    let rest = after_token(rest)
        .filter(|_| !name.is_empty())
        .ok_or("an instance manipulation must be a token")?;
    let mut quality = FULL;
    for param in Params::new(rest) {
        let (param, value) = param?;
        if param.eq_ignore_ascii_case("q") {
            quality = qvalue(value).ok_or("q must be 0 to 1 with at most three decimals")?;
        }
    }
    Ok((name, quality))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(line: &str) -> bool {
        let one_pass = accepts_im([line], "bsdiff");
        let parsed = AcceptIm::parse(line).is_ok_and(|a| a.accepts("bsdiff"));
        assert_eq!(one_pass, parsed, "{line}");
        one_pass
    }

    #[test]
    fn bsdiff_is_accepted_with_a_positive_weight() {
        for yes in [
            "bsdiff",
            "BsDiff",
            " bsdiff ",
            "vcdiff, bsdiff",
            "gzip,bsdiff;q=0.5",
            "bsdiff ; q=1",
            "bsdiff;q=0.001",
            "bsdiff;ext=1",
            "bsdiff;Q=1.000",
            ",,bsdiff,,",
        ] {
            assert!(accepts(yes), "{yes}");
        }
    }

    #[test]
    fn zero_weights_unknown_names_and_malformed_elements_refuse() {
        for no in [
            "",
            "bsdiff2",
            "vcdiff",
            "xbsdiff",
            "bsdiff;q=0",
            "bsdiff; Q=0.000",
            "bsdiff;q=0.",
            "bsdiff;q=0, bsdiff",
            "bsdiff;q=2",
            "bsdiff;q=0.5555",
            "bsdiff;q",
            "\"bsdiff\"",
            "bsdiff diff",
        ] {
            assert!(!accepts(no), "{no}");
        }
    }

    #[test]
    fn several_lines_are_one_list_and_floods_are_refused() {
        assert!(accepts_im(["vcdiff", "bsdiff"], "bsdiff"));
        assert!(!accepts_im(["bsdiff;q=0", "bsdiff"], "bsdiff"));
        let many = "x,".repeat(MAX_ELEMENTS) + "bsdiff";
        assert!(!accepts_im([many.as_str()], "bsdiff"));
        assert!(AcceptIm::parse(&many).is_err());
        let lines = vec!["x"; MAX_ELEMENTS];
        assert!(!accepts_im(
            lines.iter().copied().chain(["bsdiff"]),
            "bsdiff"
        ));
        let long = format!("{}bsdiff", " ".repeat(crate::MAX_HEADER_LEN));
        assert!(!accepts_im([long.as_str()], "bsdiff"));
    }

    #[test]
    fn display_round_trips() {
        let parsed = AcceptIm::parse("VCDIFF;q=0.25, bsdiff, junk;q=9").unwrap();
        assert_eq!(parsed.to_string(), "vcdiff;q=0.25, bsdiff");
        assert_eq!(AcceptIm::parse(&parsed.to_string()).unwrap(), parsed);
    }
}
