//! Choosing the stored variant of an asset from `accept-encoding`.

use crate::blobs::Encoding;

/// Longest `accept-encoding` value considered; longer ones get the identity bytes.
const MAX_HEADER_LEN: usize = 1024;

/// The preferred encoding among `available` (identity is always available unless refused).
///
/// Highest q-value wins; on a tie brotli beats gzip beats identity (smallest first).
/// `None` when the client refuses every available encoding, identity included.
pub fn choose(accept_encoding: Option<&str>, available: &[Encoding]) -> Option<Encoding> {
    let Some(header) = accept_encoding.filter(|h| h.len() <= MAX_HEADER_LEN) else {
        return Some(Encoding::Identity);
    };
    let mut star: Option<u16> = None;
    let mut weights: [Option<u16>; 3] = [None; 3];
    for item in header.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        if coding.is_empty() {
            continue;
        }
        let mut q = 1000;
        for param in parts {
            if let Some((name, value)) = param.split_once('=')
                && name.trim().eq_ignore_ascii_case("q")
            {
                q = parse_q(value.trim()).unwrap_or(0);
            }
        }
        let slot = match coding.as_str() {
            "identity" => 0,
            "gzip" | "x-gzip" => 1,
            "br" => 2,
            "*" => {
                star = Some(q);
                continue;
            }
            _ => continue,
        };
        weights[slot] = Some(weights[slot].map_or(q, |w| w.max(q)));
    }
    let weight = |encoding: Encoding| -> u16 {
        let slot = match encoding {
            Encoding::Identity => 0,
            Encoding::Gzip => 1,
            Encoding::Brotli => 2,
        };
        match (weights[slot], star) {
            (Some(q), _) | (None, Some(q)) => q,
            // Identity is acceptable unless refused; others only when listed.
            (None, None) if encoding == Encoding::Identity => 1,
            (None, None) => 0,
        }
    };
    let mut best: Option<(u16, u8, Encoding)> = None;
    for &encoding in available.iter().chain(&[Encoding::Identity]) {
        let q = weight(encoding);
        if q == 0 {
            continue;
        }
        let rank = match encoding {
            Encoding::Brotli => 3,
            Encoding::Gzip => 2,
            Encoding::Identity => 1,
        };
        if best.is_none_or(|(bq, br, _)| (q, rank) > (bq, br)) {
            best = Some((q, rank, encoding));
        }
    }
    best.map(|(_, _, encoding)| encoding)
}

/// A q-value in thousandths: `0`, `0.5`, `1`, `1.000`.
fn parse_q(value: &str) -> Option<u16> {
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_value = format!("{frac:0<3}").parse::<u16>().ok()?;
    match int {
        "0" => Some(frac_value),
        "1" if frac_value == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Encoding::{Brotli, Gzip, Identity};

    const ALL: &[Encoding] = &[Brotli, Gzip];

    #[test]
    fn prefers_the_smallest_acceptable_variant() {
        assert_eq!(choose(Some("gzip, deflate, br"), ALL), Some(Brotli));
        assert_eq!(choose(Some("br,gzip"), &[Gzip]), Some(Gzip));
        assert_eq!(choose(Some("gzip"), ALL), Some(Gzip));
        assert_eq!(choose(None, ALL), Some(Identity));
        assert_eq!(choose(Some(""), ALL), Some(Identity));
        assert_eq!(choose(Some("br;q=0.5, gzip;q=0.8"), ALL), Some(Gzip));
        assert_eq!(choose(Some("*"), ALL), Some(Brotli));
        assert_eq!(choose(Some("br;q=0, *"), ALL), Some(Gzip));
        assert_eq!(choose(Some("deflate"), ALL), Some(Identity));
    }

    #[test]
    fn identity_can_be_refused() {
        assert_eq!(choose(Some("identity;q=0"), &[]), None);
        assert_eq!(choose(Some("*;q=0"), ALL), None);
        assert_eq!(choose(Some("*;q=0, gzip"), ALL), Some(Gzip));
    }

    #[test]
    fn malformed_q_values_count_as_zero() {
        assert_eq!(choose(Some("br;q=2, gzip"), ALL), Some(Gzip));
        assert_eq!(choose(Some("br;q=abc"), ALL), Some(Identity));
        assert_eq!(parse_q("0.125"), Some(125));
        assert_eq!(parse_q("1.0001"), None);
    }
}
