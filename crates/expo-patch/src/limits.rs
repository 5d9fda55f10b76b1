use std::num::NonZeroUsize;

/// Resource bounds for building and applying patches.
///
/// bsdiff indexes the whole base with a suffix array (4 bytes per base byte
/// plus the inputs and the compressed streams: about 6 to 8 times the base
/// in all), so sizes are refused *before* anything is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest base, target or patched output accepted, in bytes.
    /// Default 64 MiB: Hermes bundles of large apps are 5 to 20 MiB.
    pub max_input_bytes: u64,
    /// Threads the match search may use. Default 1: patches are built in
    /// the background of a server whose cores belong to its requests.
    pub jobs: NonZeroUsize,
}

impl Limits {
    /// The default largest input: 64 MiB.
    pub const DEFAULT_MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

    /// Sets [`max_input_bytes`](Self::max_input_bytes).
    #[must_use]
    pub const fn with_max_input_bytes(mut self, max: u64) -> Self {
        self.max_input_bytes = max;
        self
    }

    /// Sets [`jobs`](Self::jobs).
    #[must_use]
    pub const fn with_jobs(mut self, jobs: NonZeroUsize) -> Self {
        self.jobs = jobs;
        self
    }

    pub(crate) fn check(&self, what: &'static str, len: u64) -> Result<(), crate::Error> {
        if len > self.max_input_bytes {
            return Err(crate::Error::TooLarge {
                what,
                len,
                limit: self.max_input_bytes,
            });
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: Self::DEFAULT_MAX_INPUT_BYTES,
            jobs: NonZeroUsize::MIN,
        }
    }
}
