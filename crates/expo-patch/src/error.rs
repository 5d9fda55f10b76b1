use std::io;

/// Everything that can go wrong building, reading or applying a patch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file is larger than [`Limits::max_input_bytes`](crate::Limits):
    /// refused before any index is built.
    #[error("{what} is {len} bytes; at most {limit} are accepted")]
    TooLarge {
        /// Which input: `"base"`, `"target"` or `"patched output"`.
        what: &'static str,
        /// Its size (claimed, for a patch's output).
        len: u64,
        /// The limit in force.
        limit: u64,
    },
    /// The bytes are not a BSDIFF40 patch, or its header is inconsistent.
    #[error("not a BSDIFF40 patch: {0}")]
    Malformed(&'static str),
    /// The patch's compressed streams are corrupt, or its instructions
    /// point outside the base or past the announced output size.
    #[error("corrupt patch")]
    Corrupt(#[source] io::Error),
    /// The patch produced something else than the expected target.
    #[error("applying the patch does not reproduce the target")]
    VerificationFailed,
    /// The base given to [`Patch::apply`](crate::Patch::apply) is not the
    /// one the patch was built from.
    #[error("the base does not match the patch: its hash differs")]
    BaseMismatch,
    /// The diff itself failed (an I/O error writing into memory).
    #[error("building the patch failed")]
    Build(#[source] io::Error),
}
