//! `Accept-Encoding` (RFC 9110 12.5.3): content codings and negotiation.

use std::{fmt, str::FromStr};

use crate::{
    Error,
    syntax::{
        Elements, FULL, Params, Quality, after_token, check_len, elements, qvalue, shorten,
        split_token, write_weight,
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

impl ContentCoding {
    /// Case-insensitive, without allocating.
    fn from_name(name: &str) -> Result<Self, ()> {
        if name.eq_ignore_ascii_case("br") {
            Ok(ContentCoding::Brotli)
        } else if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            Ok(ContentCoding::Gzip)
        } else if name.eq_ignore_ascii_case("identity") {
            Ok(ContentCoding::Identity)
        } else {
            Err(())
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
        ContentCoding::from_name(s).map_err(|()| Error::Malformed {
            element: shorten(s),
            reason: "not one of br, gzip, identity",
        })
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
        let mut entries = Vec::new();
        for element in Elements::new(header) {
            if let Ok(entry) = parse_entry(element?) {
                entries.push(entry);
            }
        }
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
    /// not acceptable. An `identity` that the header neither names nor
    /// excludes gets 1, the lowest weight, so that it ranks below every
    /// coding the client named.
    pub fn quality_of(&self, coding: ContentCoding) -> u16 {
        self.weights().quality_of(coding)
    }

    /// The coding to send among those the server holds (`available`, in
    /// the server's order of preference): highest weight, ties to the
    /// server's order. `None` when none is acceptable (answer 406).
    pub fn negotiate(&self, available: &[ContentCoding]) -> Option<ContentCoding> {
        self.weights().negotiate(available)
    }

    fn weights(&self) -> Weights {
        let mut weights = Weights::default();
        for entry in &self.entries {
            weights.record(&entry.coding, entry.quality);
        }
        weights
    }
}

/// What a header says about the codings a server can send: the weight of
/// the first entry naming each, and of the first `*`.
#[derive(Default)]
struct Weights {
    named: [Option<Quality>; 3],
    star: Option<Quality>,
}

impl Weights {
    fn record(&mut self, coding: &str, quality: Quality) {
        let slot = if coding == "*" {
            &mut self.star
        } else if let Ok(known) = ContentCoding::from_name(coding) {
            &mut self.named[known as usize]
        } else {
            return;
        };
        // The first entry counts, so a later one never overrides a refusal.
        slot.get_or_insert(quality);
    }

    fn quality_of(&self, coding: ContentCoding) -> Quality {
        self.named[coding as usize]
            .or(self.star)
            // Identity stays acceptable, behind every coding the client named.
            .unwrap_or(Quality::from(coding == ContentCoding::Identity))
    }

    fn negotiate(&self, available: &[ContentCoding]) -> Option<ContentCoding> {
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
    let (coding, quality) = parse_entry_ref(element)?;
    Ok(Entry {
        coding: coding.to_ascii_lowercase(),
        quality,
    })
}

/// A coding and its weight, borrowed from the header.
fn parse_entry_ref(element: &str) -> Result<(&str, Quality), &'static str> {
    let (coding, rest) = split_token(element);
    let rest = after_token(rest)
        .filter(|_| !coding.is_empty())
        .ok_or("a content coding must be a token")?;
    let mut quality = FULL;
    for param in Params::new(rest) {
        let (name, value) = param?;
        if !name.eq_ignore_ascii_case("q") {
            return Err("only a q weight may follow a content coding");
        }
        quality = qvalue(value).ok_or("q must be 0 to 1 with at most three decimals")?;
    }
    Ok((coding, quality))
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
    let mut weights = Weights::default();
    if let Some(header) = accept_encoding {
        // One pass, no allocation: the same rules as `AcceptEncoding::parse`
        // followed by `negotiate`.
        check_len(header)?;
        for element in Elements::new(header) {
            if let Ok((coding, quality)) = parse_entry_ref(element?) {
                weights.record(coding, quality);
            }
        }
    }
    weights
        .negotiate(available)
        .ok_or_else(|| Error::NotAcceptable {
            offered: available
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
}
