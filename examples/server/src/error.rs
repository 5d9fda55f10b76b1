//! The one error type of the server and its commands.

use std::path::PathBuf;

/// Everything that can go wrong in a command or a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The metadata database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The database server cannot be reached (refused, gone, or not answering).
    #[error("database {target} is unreachable: {reason}")]
    DatabaseUnreachable {
        /// `host:port/database` (never the password).
        target: String,
        /// What happened.
        reason: String,
    },
    /// The database schema could not be brought up to date.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The blob storage (S3) failed or refused a request.
    #[error("blob storage {location}: {reason}")]
    Storage {
        /// `s3://bucket/prefix`.
        location: String,
        /// What happened.
        reason: String,
    },
    /// The configuration is invalid (file, flags or environment).
    #[error("configuration: {0}")]
    Config(String),
    /// A code-signing key or certificate is unusable.
    #[error("signing key {keyid:?}: {source}")]
    Signing {
        /// The keyid of the key.
        keyid: String,
        /// The cause.
        source: expo_codesign::Error,
    },
    /// An `expo export` folder could not be read or does not fit the request.
    #[error("export: {0}")]
    Export(String),
    /// An export, app config or protocol value is invalid.
    #[error("{0}")]
    Manifest(#[from] expo_manifest::Error),
    /// A request or command argument is invalid.
    #[error("{0}")]
    Invalid(String),
    /// An app, channel or runtime version name breaks the one rule of names
    /// ([`expo_updates::check_name`], which the protocol layer applies to
    /// `expo-channel-name` too).
    #[error("{what} {shown:?}: {source}")]
    InvalidName {
        /// Which name: `app`, `channel`, `runtime version`, `default channel`.
        what: &'static str,
        /// The value, shortened.
        shown: String,
        /// What is wrong with it.
        source: expo_updates::HeaderValueError,
    },
    /// A blob this publish found stored was deleted (or is being deleted) by a garbage
    /// collection before the publish committed; the publish uploads it again.
    #[error(
        "blob {0} was removed by a garbage collection (or one that did not finish: run `gc` \
         again); publish again"
    )]
    BlobRemoved(expo_manifest::AssetHash),
    /// No update has this id.
    #[error("no update with id {0}")]
    UpdateNotFound(uuid::Uuid),
    /// There is nothing to act on (no current update, nothing to roll back to).
    #[error("{0}")]
    Nothing(String),
    /// What the request names does not exist (a branch, say).
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with what is stored (a name taken, a branch still in use).
    #[error("{0}")]
    Conflict(String),
    /// Stored data is inconsistent (a bug or a hand-edited database).
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// Another server refused or failed a request (`promote`).
    #[error("{url}: {message}")]
    Remote {
        /// The URL asked.
        url: String,
        /// Its answer (status and error message) or why there was none.
        message: String,
    },
    /// A background task failed.
    #[error("task failed: {0}")]
    Task(String),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// The server's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
