//! PEM armor: size limits and truncation detection around the `pem` crate.

use crate::Error;

/// Largest PEM input accepted: a 4096-bit key is about 3.3 KB and a certificate about 2 KB,
/// so 256 KiB leaves room for long chains with comments while bounding allocation.
pub(crate) const MAX_PEM_LEN: usize = 256 * 1024;

/// Parses every PEM block of `input`.
///
/// The `pem` crate silently drops a block whose END line is missing; a file cut short must
/// be an error, so BEGIN lines are counted against the blocks found.
pub(crate) fn parse_blocks(input: &str) -> Result<Vec<pem::Pem>, Error> {
    if input.len() > MAX_PEM_LEN {
        return Err(Error::TooLarge {
            len: input.len(),
            limit: MAX_PEM_LEN,
        });
    }
    let blocks = pem::parse_many(input).map_err(|e| Error::MalformedPem(e.to_string()))?;
    let begins = input.matches("-----BEGIN ").count();
    let ends = input.matches("-----END ").count();
    if begins != blocks.len() || ends != blocks.len() {
        return Err(Error::TruncatedPem);
    }
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_end_line_is_truncation() {
        let input = "-----BEGIN CERTIFICATE-----\nMIIB\n";
        assert_eq!(parse_blocks(input), Err(Error::TruncatedPem));
    }

    #[test]
    fn second_block_cut_short_is_truncation() {
        let input = "-----BEGIN A-----\nAAAA\n-----END A-----\n-----BEGIN B-----\nAAAA\n";
        assert_eq!(parse_blocks(input), Err(Error::TruncatedPem));
    }

    #[test]
    fn text_around_blocks_is_ignored() {
        let input = "Bag Attributes\n-----BEGIN A-----\nAAAA\n-----END A-----\ntrailer\n";
        let blocks = parse_blocks(input).unwrap();
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].tag(), "A");
        assert_eq!(blocks[0].contents(), [0, 0, 0]);
    }

    #[test]
    fn bad_base64_is_malformed() {
        let input = "-----BEGIN A-----\n!!!!\n-----END A-----\n";
        assert!(matches!(parse_blocks(input), Err(Error::MalformedPem(_))));
    }

    #[test]
    fn oversized_input_is_refused_before_parsing() {
        let input = "A".repeat(MAX_PEM_LEN + 1);
        assert!(matches!(parse_blocks(&input), Err(Error::TooLarge { .. })));
    }

    #[test]
    fn no_block_gives_empty_list() {
        assert_eq!(parse_blocks("hello").unwrap(), Vec::new());
    }
}
