//! `Accept` (RFC 9110 12.5.1): media ranges, quality values, negotiation.

use std::{borrow::Cow, fmt, str::FromStr};

use crate::{
    Error,
    syntax::{
        Elements, FULL, Params, Quality, after_token, check_len, elements, parameters, qvalue,
        shorten, split_token, unquote, write_value, write_weight,
    },
};

/// The manifest response structures of Expo Updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseFormat {
    /// `multipart/mixed`: manifest or directive parts, signatures as part headers.
    MultipartMixed,
    /// `application/expo+json`: the manifest as the body.
    ExpoJson,
    /// `application/json`: the manifest as the body.
    Json,
}

impl ResponseFormat {
    /// The three structures in the order a server prefers them: multipart
    /// first, since only it carries directives.
    pub const ALL: [ResponseFormat; 3] = [
        ResponseFormat::MultipartMixed,
        ResponseFormat::ExpoJson,
        ResponseFormat::Json,
    ];

    /// The media type.
    pub const fn as_str(self) -> &'static str {
        match self {
            ResponseFormat::MultipartMixed => "multipart/mixed",
            ResponseFormat::ExpoJson => "application/expo+json",
            ResponseFormat::Json => "application/json",
        }
    }

    /// Type and subtype.
    const fn essence(self) -> (&'static str, &'static str) {
        match self {
            ResponseFormat::MultipartMixed => ("multipart", "mixed"),
            ResponseFormat::ExpoJson => ("application", "expo+json"),
            ResponseFormat::Json => ("application", "json"),
        }
    }

    /// The media type; the same as [`as_str`](Self::as_str).
    pub const fn mime_str(self) -> &'static str {
        self.as_str()
    }

    /// The media type as a [`mime::Mime`], e.g. for a `Content-Type` header
    /// built with `mime` (a multipart response adds its `boundary`).
    pub fn mime(self) -> mime::Mime {
        match self {
            ResponseFormat::Json => mime::APPLICATION_JSON,
            // Both are valid media types, so parsing cannot fail.
            other => other
                .as_str()
                .parse()
                .unwrap_or(mime::APPLICATION_OCTET_STREAM),
        }
    }

    /// Whether this is one of the JSON structures, which cannot carry a directive.
    pub const fn is_json(self) -> bool {
        !matches!(self, ResponseFormat::MultipartMixed)
    }
}

impl fmt::Display for ResponseFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reads a media type naming one of the formats (case-insensitive, with
/// optional whitespace around it); parameters are refused.
impl FromStr for ResponseFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let essence = s.trim_matches([' ', '\t']);
        ResponseFormat::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(essence))
            .ok_or_else(|| Error::Malformed {
                element: shorten(s),
                reason: "not one of multipart/mixed, application/expo+json, application/json",
            })
    }
}

/// The format a `Content-Type` names, ignoring its parameters (such as the
/// `boundary` of a multipart body or a `charset`).
impl TryFrom<&mime::Mime> for ResponseFormat {
    type Error = Error;

    fn try_from(media_type: &mime::Mime) -> Result<Self, Error> {
        media_type.essence_str().parse()
    }
}

impl AsRef<str> for ResponseFormat {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// One media range of an `Accept` header, lower-cased, its parameter
/// values unquoted.
///
/// Parsed strictly by `FromStr`; printed in a canonical form by `Display`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRange {
    /// `type/subtype`, in one allocation.
    essence: String,
    slash: usize,
    params: Vec<(String, String)>,
    quality: Quality,
}

impl MediaRange {
    /// `text` in `text/html`; `*` for `*/*`.
    pub fn type_(&self) -> &str {
        &self.essence[..self.slash]
    }

    /// `html` in `text/html`; `*` for `text/*` and `*/*`.
    pub fn subtype(&self) -> &str {
        &self.essence[self.slash + 1..]
    }

    /// The weight in thousandths (`q=0.5` is 500; no `q` is 1000).
    pub fn quality(&self) -> u16 {
        self.quality
    }

    /// The parameters before the weight, as `(name, value)` pairs.
    pub fn params(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.params.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    fn parse(element: &str) -> Result<Self, &'static str> {
        let range = RangeRef::parse(element)?;
        let mut essence = String::with_capacity(range.type_.len() + 1 + range.subtype.len());
        essence.push_str(range.type_);
        essence.push('/');
        essence.push_str(range.subtype);
        essence.make_ascii_lowercase();
        let params = Params::new(range.params)
            .map(|p| {
                p.map(|(name, value)| {
                    (
                        name.to_ascii_lowercase(),
                        unquote(value).to_ascii_lowercase(),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(MediaRange {
            essence,
            slash: range.type_.len(),
            params,
            quality: range.quality,
        })
    }

    /// How specifically this range names `offer` (higher is more
    /// specific), or `None` when it does not match.
    fn specificity(&self, offer: &Offer<'_>) -> Option<u8> {
        let level = if self.type_() == "*" {
            0
        } else if !self.type_().eq_ignore_ascii_case(offer.type_) {
            return None;
        } else if self.subtype() == "*" {
            2
        } else if !self.subtype().eq_ignore_ascii_case(offer.subtype) {
            return None;
        } else {
            4
        };
        // A range with parameters only matches types carrying them all.
        let params_match = self.params.iter().all(|(name, value)| {
            offer
                .params
                .iter()
                .any(|(n, v)| n.eq_ignore_ascii_case(name) && v.eq_ignore_ascii_case(value))
        });
        match (params_match, self.params.is_empty()) {
            (false, _) => None,
            (true, true) => Some(level),
            (true, false) => Some(level + 1),
        }
    }
}

impl FromStr for MediaRange {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        MediaRange::parse(s.trim_matches([' ', '\t'])).map_err(|reason| Error::Malformed {
            element: shorten(s),
            reason,
        })
    }
}

impl fmt::Display for MediaRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.essence)?;
        for (name, value) in &self.params {
            write!(f, ";{name}=")?;
            write_value(f, value)?;
        }
        write_weight(f, self.quality)
    }
}

/// A media range borrowed from the header, parsed without allocating.
struct RangeRef<'a> {
    type_: &'a str,
    subtype: &'a str,
    /// The parameters before the weight, unparsed (already checked).
    params: &'a str,
    has_params: bool,
    quality: Quality,
}

impl<'a> RangeRef<'a> {
    fn parse(element: &'a str) -> Result<Self, &'static str> {
        // One pass over `type "/" subtype`, the bulk of most elements.
        let (type_, rest) = split_token(element);
        let (subtype, rest) = split_token(rest.strip_prefix('/').unwrap_or_default());
        let rest = after_token(rest).filter(|_| !type_.is_empty() && !subtype.is_empty());
        let rest = rest.ok_or("a media range is a type and a subtype token joined by '/'")?;
        if type_ == "*" && subtype != "*" {
            return Err("a wildcard type needs a wildcard subtype");
        }
        let mut params = rest;
        let mut quality = FULL;
        let mut consumed = 0;
        for param in Params::new(rest) {
            let (name, value) = param?;
            if name.eq_ignore_ascii_case("q") {
                quality = qvalue(value).ok_or("q must be 0 to 1 with at most three decimals")?;
                // What follows the weight are accept extensions, not parameters.
                params = &rest[..consumed];
                break;
            }
            consumed = offset_after(rest, value);
        }
        Ok(RangeRef {
            type_,
            subtype,
            params,
            has_params: consumed > 0,
            quality,
        })
    }

    /// Like [`MediaRange::specificity`] for a parameterless, lower-case offer.
    fn specificity(&self, type_: &str, subtype: &str) -> Option<u8> {
        // Parameters can only be matched by an offer that has them.
        if self.has_params {
            return None;
        }
        if self.type_ == "*" {
            Some(0)
        } else if !eq_lower(self.type_, type_) {
            None
        } else if self.subtype == "*" {
            Some(2)
        } else {
            eq_lower(self.subtype, subtype).then_some(4)
        }
    }
}

/// `s.eq_ignore_ascii_case(lower)` for an already lower-case `lower`, in
/// half the work.
fn eq_lower(s: &str, lower: &str) -> bool {
    s.len() == lower.len()
        && s.bytes()
            .zip(lower.bytes())
            .all(|(a, b)| a.to_ascii_lowercase() == b)
}

/// The byte offset in `outer` just past `inner`, a subslice of it.
fn offset_after(outer: &str, inner: &str) -> usize {
    (inner.as_ptr() as usize - outer.as_ptr() as usize) + inner.len()
}

struct Offer<'a> {
    type_: &'a str,
    subtype: &'a str,
    params: Vec<(&'a str, Cow<'a, str>)>,
}

impl<'a> Offer<'a> {
    fn parse(offer: &'a str) -> Option<Self> {
        let (essence, rest) = offer.split_once(';').unwrap_or((offer, ""));
        let (type_, subtype) = essence.trim().split_once('/')?;
        let params = parameters(rest)
            .ok()?
            .into_iter()
            .map(|(n, v)| (n, unquote(v)))
            .collect();
        Some(Offer {
            type_,
            subtype,
            params,
        })
    }
}

/// A parsed `Accept` header.
///
/// [`parse`](Self::parse) skips elements that are not valid media ranges, as
/// the `negotiator` package of Node servers does, so one odd element does not
/// turn a usable header into a 406; [`parse_strict`](Self::parse_strict)
/// refuses them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accept {
    ranges: Vec<MediaRange>,
}

impl Accept {
    /// What an absent header means: `*/*`.
    pub fn any() -> Self {
        Accept {
            ranges: vec![MediaRange {
                essence: "*/*".into(),
                slash: 1,
                params: Vec::new(),
                quality: FULL,
            }],
        }
    }

    /// Parses a header value, skipping malformed elements. Fails only when
    /// the value is over the length or element limits.
    pub fn parse(header: &str) -> Result<Self, Error> {
        check_len(header)?;
        let mut ranges = Vec::new();
        for element in Elements::new(header) {
            if let Ok(range) = MediaRange::parse(element?) {
                ranges.push(range);
            }
        }
        Ok(Accept { ranges })
    }

    /// Parses a header value, refusing any malformed element.
    pub fn parse_strict(header: &str) -> Result<Self, Error> {
        check_len(header)?;
        let ranges = elements(header)?
            .into_iter()
            .map(|e| {
                MediaRange::parse(e).map_err(|reason| Error::Malformed {
                    element: shorten(e),
                    reason,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Accept { ranges })
    }

    /// The media ranges in header order.
    pub fn ranges(&self) -> &[MediaRange] {
        &self.ranges
    }

    /// The quality (in thousandths) the client gives `media_type`, from the
    /// most specific range that matches it; 0 when none does.
    pub fn quality_of(&self, media_type: &str) -> u16 {
        Offer::parse(media_type)
            .and_then(|offer| self.best(&offer))
            .map_or(0, |(q, _)| q)
    }

    /// The quality the client gives a `mime::Mime`, for servers that keep
    /// their offers as `mime` values.
    pub fn quality_of_mime(&self, media_type: &mime::Mime) -> u16 {
        self.quality_of(media_type.as_ref())
    }

    fn best(&self, offer: &Offer<'_>) -> Option<(Quality, u8)> {
        self.ranges
            .iter()
            .filter_map(|r| r.specificity(offer).map(|s| (s, r.quality)))
            // The most specific range decides; among equals the first one.
            .fold(None, |best: Option<(u8, Quality)>, (s, q)| match best {
                Some((bs, _)) if bs >= s => best,
                _ => Some((s, q)),
            })
            .map(|(s, q)| (q, s))
    }

    /// The offer the client prefers: highest quality, then the most specific
    /// matching range, then the earliest offer (offers are in the server's
    /// order of preference). `None` when nothing is acceptable.
    pub fn negotiate<'a, T: AsRef<str>>(&self, offers: &'a [T]) -> Option<&'a T> {
        let mut best: Option<(Quality, u8, &'a T)> = None;
        for offer in offers {
            let Some((q, s)) = Offer::parse(offer.as_ref()).and_then(|o| self.best(&o)) else {
                continue;
            };
            if q == 0 {
                continue;
            }
            if best.is_none_or(|(bq, bs, _)| (q, s) > (bq, bs)) {
                best = Some((q, s, offer));
            }
        }
        best.map(|(_, _, offer)| offer)
    }

    /// [`negotiate`](Self::negotiate) over response formats.
    pub fn negotiate_format(&self, offers: &[ResponseFormat]) -> Option<ResponseFormat> {
        self.negotiate(offers).copied()
    }
}

impl FromStr for Accept {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Accept::parse(s)
    }
}

impl fmt::Display for Accept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, range) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{range}")?;
        }
        Ok(())
    }
}

/// Chooses the manifest structure for an `Accept` header value (`None` when
/// the request has none, which means `*/*`).
///
/// Over-limit values are [`Error::TooLong`] / [`Error::TooManyElements`]
/// (answer 400); nothing acceptable is [`Error::NotAcceptable`] (answer 406).
pub fn negotiate_format(
    accept: Option<&str>,
    offers: &[ResponseFormat],
) -> Result<ResponseFormat, Error> {
    let chosen = match accept {
        None => offers.first().copied(),
        Some(header) => negotiate_format_in(header, offers)?,
    };
    chosen.ok_or_else(|| Error::NotAcceptable {
        offered: offers
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// The hot path: one pass over the header, no allocation. Same rules as
/// [`Accept::parse`] followed by [`Accept::negotiate_format`].
fn negotiate_format_in(
    header: &str,
    offers: &[ResponseFormat],
) -> Result<Option<ResponseFormat>, Error> {
    check_len(header)?;
    // Per format: (specificity, quality) of the most specific range naming it.
    let mut matched: [Option<(u8, Quality)>; 3] = [None; 3];
    for element in Elements::new(header) {
        let Ok(range) = RangeRef::parse(element?) else {
            continue;
        };
        for format in ResponseFormat::ALL {
            let (type_, subtype) = format.essence();
            if let Some(s) = range.specificity(type_, subtype) {
                let slot = &mut matched[format as usize];
                if slot.is_none_or(|(best, _)| s > best) {
                    *slot = Some((s, range.quality));
                }
            }
        }
    }
    let mut best: Option<(Quality, u8, ResponseFormat)> = None;
    for &format in offers {
        if let Some((s, q)) = matched[format as usize]
            && q > 0
            && best.is_none_or(|(bq, bs, _)| (q, s) > (bq, bs))
        {
            best = Some((q, s, format));
        }
    }
    Ok(best.map(|(_, _, format)| format))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_mime_and_back() {
        for format in ResponseFormat::ALL {
            let mime = format.mime();
            assert_eq!(mime.essence_str(), format.mime_str());
            let (type_, subtype) = format.essence();
            assert_eq!(format!("{type_}/{subtype}"), format.as_str());
            assert_eq!(ResponseFormat::try_from(&mime), Ok(format));
            assert_eq!(format.to_string().parse::<ResponseFormat>(), Ok(format));
        }
        let multipart: mime::Mime = "multipart/mixed; boundary=abc".parse().unwrap();
        assert_eq!(
            ResponseFormat::try_from(&multipart),
            Ok(ResponseFormat::MultipartMixed)
        );
        assert_eq!(
            " Application/Expo+JSON ".parse::<ResponseFormat>(),
            Ok(ResponseFormat::ExpoJson)
        );
        assert!("text/html".parse::<ResponseFormat>().is_err());
        assert!(
            "application/json;charset=utf-8"
                .parse::<ResponseFormat>()
                .is_err()
        );
    }

    #[test]
    fn quoted_parameters_round_trip() {
        let range: MediaRange = r#"a/b; p="x\"y;z"; q=0.25"#.parse().unwrap();
        assert_eq!(range.params().collect::<Vec<_>>(), [("p", "x\"y;z")]);
        assert_eq!(range.to_string(), r#"a/b;p="x\"y;z";q=0.25"#);
        assert_eq!(range.to_string().parse::<MediaRange>().unwrap(), range);

        let accept = Accept::parse(r#"a/b;p="\"", c/d;q=0.5"#).unwrap();
        assert_eq!(accept.to_string(), r#"a/b;p="\"", c/d;q=0.5"#);
        assert_eq!(Accept::parse(&accept.to_string()).unwrap(), accept);
        // A quoted value matches the same value offered as a token.
        assert_eq!(
            Accept::parse(r#"a/b;level="1""#)
                .unwrap()
                .quality_of("a/b;level=1"),
            1000
        );
    }

    #[test]
    fn weights_print_with_the_fewest_digits() {
        for (wire, printed) in [
            ("a/b;q=1.000", "a/b"),
            ("a/b;q=0.000", "a/b;q=0"),
            ("a/b;q=0.5", "a/b;q=0.5"),
            ("a/b;q=0.50", "a/b;q=0.5"),
            ("a/b;q=0.05", "a/b;q=0.05"),
            ("a/b;q=0.123", "a/b;q=0.123"),
            ("a/b;q=0.001", "a/b;q=0.001"),
        ] {
            assert_eq!(wire.parse::<MediaRange>().unwrap().to_string(), printed);
        }
    }
}
