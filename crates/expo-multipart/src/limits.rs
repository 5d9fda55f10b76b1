//! Bounds on what the decoder accepts.

/// Bounds the decoder enforces on untrusted input; exceeding one is
/// [`Error::LimitExceeded`](crate::Error::LimitExceeded).
///
/// The decoder never holds more than one part's header block (at most
/// `max_header_bytes`) and body (at most `max_body_bytes`) plus one delimiter
/// in memory beyond the parts it already returned. Preamble and epilogue are
/// skipped without being kept.
///
/// # Examples
///
/// ```
/// use expo_multipart::Limits;
///
/// let limits = Limits { max_parts: 4, ..Limits::default() };
/// assert_eq!(limits.max_body_bytes, Limits::DEFAULT_MAX_BODY_BYTES);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Most parts a body may have.
    pub max_parts: usize,
    /// Longest header block of one part, its blank line excluded.
    pub max_header_bytes: usize,
    /// Longest body of one part.
    pub max_body_bytes: usize,
}

impl Limits {
    /// Default [`max_parts`](Self::max_parts): an Expo response has at most
    /// four (manifest or directive, extensions, certificate chain).
    pub const DEFAULT_MAX_PARTS: usize = 64;
    /// Default [`max_header_bytes`](Self::max_header_bytes).
    pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 << 10;
    /// Default [`max_body_bytes`](Self::max_body_bytes): manifests are
    /// kilobytes, but the decoder also reads test fixtures with large parts.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 16 << 20;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_parts: Self::DEFAULT_MAX_PARTS,
            max_header_bytes: Self::DEFAULT_MAX_HEADER_BYTES,
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
        }
    }
}
