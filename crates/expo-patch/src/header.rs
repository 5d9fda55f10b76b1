//! The 32-byte BSDIFF40 header, checked before qbsdiff sees a patch: qbsdiff
//! trusts the lengths (a negative one overflows its bounds check) and never
//! compares the output with the announced size.

use crate::Error;

/// `BSDIFF40`: the magic of bsdiff 4.x patches.
pub(crate) const MAGIC: &[u8; 8] = b"BSDIFF40";
pub(crate) const LEN: usize = 32;

/// The lengths a BSDIFF40 header announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// Compressed length of the control (instruction) stream.
    pub(crate) control_len: usize,
    pub(crate) target_len: u64,
}

impl Header {
    pub(crate) fn parse(patch: &[u8]) -> Result<Self, Error> {
        let Some((header, rest)) = patch.split_first_chunk::<LEN>() else {
            return Err(Error::Malformed("shorter than the 32-byte header"));
        };
        if &header[..8] != MAGIC {
            return Err(Error::Malformed("the magic is not BSDIFF40"));
        }
        let control_len = offset(&header[8..16])?;
        let diff_len = offset(&header[16..24])?;
        let target_len = offset(&header[24..32])?;
        let streams = u64::try_from(rest.len()).unwrap_or(u64::MAX);
        if control_len
            .checked_add(diff_len)
            .is_none_or(|n| n > streams)
        {
            return Err(Error::Malformed(
                "the stream lengths run past the end of the patch",
            ));
        }
        let control_len = usize::try_from(control_len)
            .map_err(|_| Error::Malformed("the control stream is longer than memory"))?;
        Ok(Header {
            control_len,
            target_len,
        })
    }
}

/// bsdiff's `offtin`: little-endian sign and magnitude. Every header length
/// must be positive (bspatch refuses negative ones too).
fn offset(bytes: &[u8]) -> Result<u64, Error> {
    let raw = bytes
        .try_into()
        .map(u64::from_le_bytes)
        .map_err(|_| Error::Malformed("shorter than the 32-byte header"))?;
    // The sign bit set is negative, also `1 << 63` ("negative zero", which
    // qbsdiff reads as i64::MIN).
    if raw >> 63 == 1 {
        return Err(Error::Malformed("a length in the header is negative"));
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(control: u64, diff: u64, target: u64) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        for n in [control, diff, target] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        out
    }

    #[test]
    fn reads_target_len() {
        let mut patch = header(3, 4, 1000);
        patch.extend_from_slice(&[0; 7]);
        assert_eq!(Header::parse(&patch).unwrap().target_len, 1000);
    }

    #[test]
    fn refuses_bad_headers() {
        let mut wrong_magic = header(0, 0, 0);
        wrong_magic[7] = b'1';
        let cases = [
            Vec::new(),
            header(0, 0, 0)[..31].to_vec(),
            wrong_magic,
            header(1, 0, 0),
            header(0, 1, 0),
            header(u64::MAX >> 1, u64::MAX >> 1, 0),
            header(1 << 63, 0, 0),
            header(0, (1 << 63) | 5, 0),
            header(0, 0, (1 << 63) | 5),
        ];
        for patch in cases {
            assert!(
                matches!(Header::parse(&patch), Err(Error::Malformed(_))),
                "{patch:?}"
            );
        }
    }
}
