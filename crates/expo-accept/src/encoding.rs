//! `Accept-Encoding` (RFC 9110 12.5.3): content codings and negotiation.

use std::{fmt, str::FromStr};

use crate::{
    Error,
    syntax::{
        FULL, Quality, check_len, elements, is_token, parameters, qvalue, shorten, write_weight,
    },
};

/// The content codings an asset is stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContentCoding {
    /// `br`
    Brotli,
    /// `gzip` (also read from its alias `x-gzip`)
    Gzip,
    /// `identity`: the bytes as they are.
    Identity,
}

impl ContentCoding {
    /// All three, smallest output first: the order a server prefers.
    pub const ALL: [ContentCoding; 3] = [
        ContentCoding::Brotli,
        ContentCoding::Gzip,
        ContentCoding::Identity,
    ];

    /// The coding's name in headers.
    pub const fn as_str(self) -> &'static str {
        match self {
            ContentCoding::Brotli => "br",
            ContentCoding::Gzip => "gzip",
            ContentCoding::Identity => "identity",
        }
    }
}

impl fmt::Display for ContentCoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ContentCoding {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "br" => Ok(ContentCoding::Brotli),
            "gzip" | "x-gzip" => Ok(ContentCoding::Gzip),
            "identity" => Ok(ContentCoding::Identity),
            _ => Err(Error::Malformed {
                element: shorten(s),
                reason: "not one of br, gzip, identity",
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    coding: String,
    quality: Quality,
}

/// A parsed `Accept-Encoding` header.
///
/// Rules (RFC 9110 12.5.3): a coding listed by name gets its weight; an
/// unlisted one gets the weight of `*` if present; `identity` is acceptable
/// unless `identity;q=0`, or `*;q=0` without an `identity` entry, excludes
/// it. An empty value asks for no coding: identity only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptEncoding {
    entries: Vec<Entry>,
}

impl AcceptEncoding {
    /// What this crate reads an absent header as: identity only. RFC 9110
    /// would allow any coding, but a client that says nothing may not
    /// decode one, and every Expo client sends the header.
    pub fn identity_only() -> Self {
        AcceptEncoding {
            entries: Vec::new(),
        }
    }

    /// Parses a header value, skipping malformed elements. Fails only when
    /// the value is over the length or element limits.
    pub fn parse(header: &str) -> Result<Self, Error> {
        check_len(header)?;
        let entries = elements(header)?
            .into_iter()
            .filter_map(|e| parse_entry(e).ok())
            .collect();
        Ok(AcceptEncoding { entries })
    }

    /// Parses a header value, refusing any malformed element.
    pub fn parse_strict(header: &str) -> Result<Self, Error> {
        check_len(header)?;
        let entries = elements(header)?
            .into_iter()
            .map(|e| {
                parse_entry(e).map_err(|reason| Error::Malformed {
                    element: shorten(e),
                    reason,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(AcceptEncoding { entries })
    }

    /// The weight (in thousandths) the client gives `coding`; 0 when it is
    /// not acceptable.
    pub fn quality_of(&self, coding: ContentCoding) -> u16 {
        let named = |name: &str| {
            self.entries
                .iter()
                .find(|e| e.coding == name || (name == "gzip" && e.coding == "x-gzip"))
        };
        if let Some(entry) = named(coding.as_str()) {
            return entry.quality;
        }
        if let Some(star) = named("*") {
            return star.quality;
        }
        // Identity stays acceptable, behind every coding the client named.
        u16::from(coding == ContentCoding::Identity)
    }

    /// The coding to send among those the server holds (`available`, in
    /// the server's order of preference): highest weight, ties to the
    /// server's order. `None` when none is acceptable (answer 406).
    pub fn negotiate(&self, available: &[ContentCoding]) -> Option<ContentCoding> {
        let mut best: Option<(Quality, ContentCoding)> = None;
        for &coding in available {
            let q = self.quality_of(coding);
            if q > 0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, coding));
            }
        }
        best.map(|(_, coding)| coding)
    }
}

fn parse_entry(element: &str) -> Result<Entry, &'static str> {
    let (coding, rest) = element.split_once(';').unwrap_or((element, ""));
    let coding = coding.trim_end_matches([' ', '\t']);
    if !is_token(coding) {
        return Err("a content coding must be a token");
    }
    let mut quality = FULL;
    for (name, value) in parameters(rest)? {
        if !name.eq_ignore_ascii_case("q") {
            return Err("only a q weight may follow a content coding");
        }
        quality = qvalue(value).ok_or("q must be 0 to 1 with at most three decimals")?;
    }
    Ok(Entry {
        coding: coding.to_ascii_lowercase(),
        quality,
    })
}

impl FromStr for AcceptEncoding {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        AcceptEncoding::parse(s)
    }
}

impl fmt::Display for AcceptEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(&e.coding)?;
            write_weight(f, e.quality)?;
        }
        Ok(())
    }
}

/// Chooses the coding for an `Accept-Encoding` value (`None` when absent:
/// identity only) among the stored ones, in the server's order.
pub fn negotiate_encoding(
    accept_encoding: Option<&str>,
    available: &[ContentCoding],
) -> Result<ContentCoding, Error> {
    let header = match accept_encoding {
        None => AcceptEncoding::identity_only(),
        Some(value) => AcceptEncoding::parse(value)?,
    };
    header
        .negotiate(available)
        .ok_or_else(|| Error::NotAcceptable {
            offered: available
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
}
