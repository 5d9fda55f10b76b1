use std::io::{self, Read, Write};

use bytes::Bytes;
use expo_manifest::AssetHash;
use qbsdiff::{Bsdiff, Bspatch, ParallelScheme};

use crate::{
    Error, Limits,
    header::{self, Header},
};

/// Bytes of one bsdiff instruction: add, copy and seek lengths.
const INSTRUCTION_LEN: u64 = 24;

/// A verified BSDIFF40 patch from one launch asset to another.
///
/// Built with [`Patch::build`], which applies the new patch and compares the
/// result with the target before returning it: a `Patch` is known to work.
/// The body is what a `226 IM Used` answer sends, byte for byte; `bspatch`
/// (bsdiff 4.x) and the Expo clients apply it.
#[derive(Clone, PartialEq, Eq)]
pub struct Patch {
    bytes: Bytes,
    base: AssetHash,
    target: AssetHash,
    base_len: u64,
    target_len: u64,
}

impl Patch {
    /// Diffs `base` against `target` and verifies the patch by applying it.
    ///
    /// Memory is about 6 to 8 times the base (a suffix array of 4 bytes per
    /// base byte, the inputs, the compressed streams); inputs over
    /// [`Limits::max_input_bytes`] are refused before anything is allocated.
    ///
    /// Time is bounded through the same limit only: the suffix array is
    /// built in linear time and the match search is `O(n log n)` in
    /// practice, but the diff is one call into qbsdiff that offers no hook to
    /// stop it, so there is no deadline to check inside it. Run it on a
    /// blocking thread in the background and stop waiting if need be.
    /// Measured on one core: two builds of a 1.6 MiB Hermes bundle 0.1 to
    /// 0.25 s and 14 MiB peak; 16 MiB of unrelated random bytes (the worst
    /// case: a patch nobody will serve) 21 s and 132 MiB.
    pub fn build(base: &[u8], target: &[u8], limits: &Limits) -> Result<Self, Error> {
        let base_len = len_u64(base);
        let target_len = len_u64(target);
        limits.check("base", base_len)?;
        limits.check("target", target_len)?;
        if base.len() > qbsdiff::bsdiff::MAX_LENGTH {
            // qbsdiff panics on a base it cannot index.
            return Err(Error::TooLarge {
                what: "base",
                len: base_len,
                limit: u64::try_from(qbsdiff::bsdiff::MAX_LENGTH).unwrap_or(u64::MAX),
            });
        }
        let mut bytes = Vec::new();
        Bsdiff::new(base, target)
            .parallel_scheme(match limits.jobs.get() {
                1 => ParallelScheme::Never,
                jobs => ParallelScheme::NumJobs(jobs),
            })
            .compare(io::Cursor::new(&mut bytes))
            .map_err(Error::Build)?;
        let patched = apply(base, &bytes, limits).map_err(|_| Error::VerificationFailed)?;
        if patched != target {
            return Err(Error::VerificationFailed);
        }
        Ok(Patch {
            bytes: Bytes::from(bytes),
            base: AssetHash::of(base),
            target: AssetHash::of(target),
            base_len,
            target_len,
        })
    }

    /// A patch read back from storage, with the hashes recorded when it was
    /// built. The header is checked; the streams are checked when applied.
    pub fn from_parts(
        bytes: Bytes,
        base: AssetHash,
        base_len: u64,
        target: AssetHash,
    ) -> Result<Self, Error> {
        let header = Header::parse(&bytes)?;
        Ok(Patch {
            bytes,
            base,
            target,
            base_len,
            target_len: header.target_len,
        })
    }

    /// Applies the patch to `base`, which must be the base it was built
    /// from, and checks that the result is the target it was built for.
    pub fn apply(&self, base: &[u8], limits: &Limits) -> Result<Vec<u8>, Error> {
        if len_u64(base) != self.base_len || AssetHash::of(base) != self.base {
            return Err(Error::BaseMismatch);
        }
        let target = apply(base, &self.bytes, limits)?;
        if AssetHash::of(&target) != self.target {
            return Err(Error::VerificationFailed);
        }
        Ok(target)
    }

    /// The BSDIFF40 bytes: the body of a `226 IM Used` answer.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The BSDIFF40 bytes, owned.
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }

    /// Size of the patch in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always `false`: a patch has at least its 32-byte header.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Hash of the launch asset the patch applies to.
    pub fn base_hash(&self) -> AssetHash {
        self.base
    }

    /// Hash of the launch asset the patch produces.
    pub fn target_hash(&self) -> AssetHash {
        self.target
    }

    /// Size of the base in bytes.
    pub fn base_len(&self) -> u64 {
        self.base_len
    }

    /// Size of the target in bytes.
    pub fn target_len(&self) -> u64 {
        self.target_len
    }
}

impl std::fmt::Debug for Patch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Patch")
            .field("len", &self.bytes.len())
            .field("base", &self.base)
            .field("base_len", &self.base_len)
            .field("target", &self.target)
            .field("target_len", &self.target_len)
            .finish()
    }
}

/// Applies an untrusted BSDIFF40 patch to `base`.
///
/// The header is checked first (magic, positive lengths that fit in the
/// patch), and an output size over [`Limits::max_input_bytes`] is refused
/// before anything is allocated. The instructions are then counted: a
/// patch needs about one per output byte at most, while bzip2 can pack
/// millions of empty instructions in a few bytes, so a patch with more than
/// `2 × output + 16` is refused before it runs. The output grows only as
/// instructions produce bytes, never past the size the header announced,
/// and must reach it exactly. Work is thereby linear in the announced
/// output size; decoding memory is bounded by bzip2 (under 4 MiB per
/// stream).
pub fn apply(base: &[u8], patch: &[u8], limits: &Limits) -> Result<Vec<u8>, Error> {
    limits.check("base", len_u64(base))?;
    let header = Header::parse(patch)?;
    limits.check("patched output", header.target_len)?;
    check_instruction_count(patch, &header)?;
    let mut out = Bounded {
        buf: Vec::new(),
        limit: header.target_len,
    };
    let patcher = Bspatch::new(patch).map_err(Error::Corrupt)?;
    let written = patcher.apply(base, &mut out).map_err(Error::Corrupt)?;
    if written != header.target_len || len_u64(&out.buf) != header.target_len {
        return Err(Error::Corrupt(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the patch produces fewer bytes than its header announces",
        )));
    }
    Ok(out.buf)
}

/// Decodes the control stream into nothing, stopping one byte past the most
/// instructions an honest patch of this output size can hold.
fn check_instruction_count(patch: &[u8], header: &Header) -> Result<(), Error> {
    let controls = patch
        .get(header::LEN..header::LEN + header.control_len)
        .ok_or(Error::Malformed(
            "the control stream runs past the end of the patch",
        ))?;
    let max = header
        .target_len
        .saturating_mul(2)
        .saturating_add(16)
        .saturating_mul(INSTRUCTION_LEN);
    let mut decoder = bzip2::read::BzDecoder::new(controls).take(max.saturating_add(1));
    let instruction_bytes = io::copy(&mut decoder, &mut io::sink()).map_err(Error::Corrupt)?;
    if instruction_bytes > max {
        return Err(Error::Malformed(
            "more instructions than the announced output can need",
        ));
    }
    Ok(())
}

/// A `Vec` that refuses to grow past the output size the header announced.
struct Bounded {
    buf: Vec<u8>,
    limit: u64,
}

impl Write for Bounded {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if len_u64(&self.buf).saturating_add(len_u64(data)) > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the patch produces more bytes than its header announces",
            ));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn len_u64<T>(slice: &[T]) -> u64 {
    u64::try_from(slice.len()).unwrap_or(u64::MAX)
}
