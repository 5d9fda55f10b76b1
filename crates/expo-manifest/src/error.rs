use std::path::PathBuf;

/// Everything that can go wrong reading or validating the manifest model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The platform is neither `ios` nor `android`.
    #[error("unknown platform {0:?}: expected \"ios\" or \"android\"")]
    UnknownPlatform(String),
    /// A runtime version is empty.
    #[error("runtime version is empty")]
    EmptyRuntimeVersion,
    /// A runtime version is longer than [`RuntimeVersion::MAX_LEN`](crate::RuntimeVersion::MAX_LEN).
    #[error("runtime version is {0} bytes long; at most 255 are allowed")]
    RuntimeVersionTooLong(usize),
    /// A runtime version holds a character outside printable ASCII.
    #[error("runtime version contains {0:?}: only printable ASCII is allowed")]
    RuntimeVersionCharacter(char),
    /// An update id is not a hyphenated UUID.
    #[error(
        "invalid update id {0:?}: expected a hyphenated UUID such as 0754dad0-d200-d634-113c-ef1f26106028"
    )]
    InvalidUpdateId(String),
    /// An asset hash has padding (`=`); the protocol uses unpadded base64url.
    #[error("asset hash {0:?} is padded: base64url without '=' padding is expected")]
    PaddedHash(String),
    /// An asset hash is not 43 base64url characters.
    #[error("asset hash {0:?} has {1} characters: a SHA-256 in unpadded base64url has 43")]
    HashLength(String, usize),
    /// An asset hash is not canonical base64url.
    #[error("asset hash {0:?} is not canonical base64url")]
    HashEncoding(String),
    /// A timestamp is not RFC 3339 / ISO 8601 with an offset.
    #[error("invalid timestamp {0:?}: expected ISO 8601 such as 2024-01-31T12:34:56.789Z")]
    InvalidTimestamp(String),
    /// A timestamp lies outside the years 1970 to 9999.
    #[error("timestamp {0} ms is outside the years 1970 to 9999")]
    TimestampOutOfRange(i64),
    /// JSON input is larger than the limit for its kind.
    #[error("{what} is {len} bytes; at most {limit} are accepted")]
    TooLarge {
        /// What was being read.
        what: &'static str,
        /// Its size.
        len: u64,
        /// The limit.
        limit: u64,
    },
    /// JSON input does not match the model.
    #[error("invalid {what}: {source}")]
    Json {
        /// What was being read.
        what: &'static str,
        /// The parser's complaint, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A file of an export could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `metadata.json` is not what `expo export` writes.
    #[error("{}: {message}", path.display())]
    Metadata {
        /// The metadata file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// An app config file (`npx expo config --json`) is not a JSON object.
    #[error("{}: not an app config object (npx expo config --json): {source}", path.display())]
    AppConfig {
        /// The app config file.
        path: PathBuf,
        /// The parser's complaint, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A path in `metadata.json` leaves the export directory.
    #[error("{}: path {entry:?} escapes the export directory", path.display())]
    PathEscapes {
        /// The metadata file.
        path: PathBuf,
        /// The offending entry.
        entry: String,
    },
    /// The export has no bundle for the requested platform.
    #[error("{}: the export has no {platform} bundle (export with --platform {platform})", path.display())]
    PlatformNotExported {
        /// The metadata file.
        path: PathBuf,
        /// The requested platform.
        platform: crate::Platform,
    },
}
