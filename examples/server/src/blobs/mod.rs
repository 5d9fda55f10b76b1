//! Content-addressed blob storage: the [`BlobStore`] trait and its local-disk backend.
//!
//! A blob is stored once per content (its SHA-256), with up to two precompressed variants
//! (brotli, gzip) kept only when smaller than the identity bytes. Blobs are immutable: a
//! stored blob is complete or absent, never partial.

pub mod local;
pub mod memory;
pub mod s3;
pub mod stream;
pub mod urls;

use std::fmt;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::io::AsyncRead;

pub use local::LocalBlobStore;
pub use memory::BlobMemory;
pub use s3::{S3BlobStore, S3Location};
pub use urls::{AssetUrls, PublicUrl};

pub use expo_accept::ContentCoding;

use expo_manifest::AssetHash;

use crate::error::Result;

/// `cache-control` of blobs wherever they are served (this server, S3, a CDN): their URL
/// changes with their content.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Largest file read into memory: a file of an export (to compress it), a source map, a
/// blob downloaded from another server.
pub const MAX_FILE_SIZE: u64 = 512 << 20;

/// A blob ready to store: identity bytes and the variants worth keeping.
#[derive(Debug, Clone)]
pub struct PreparedBlob {
    /// The address of `identity`.
    pub hash: AssetHash,
    /// The bytes as published.
    pub identity: Bytes,
    /// The media type (stored with the object where the backend keeps headers).
    pub content_type: String,
    /// The gzip variant, when smaller.
    pub gzip: Option<Bytes>,
    /// The brotli variant, when smaller.
    pub br: Option<Bytes>,
}

/// What a store holds for one hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredBlob {
    /// Size of the identity bytes.
    pub size: u64,
    /// Size of the gzip variant, if stored.
    pub gzip_size: Option<u64>,
    /// Size of the brotli variant, if stored.
    pub br_size: Option<u64>,
}

/// A byte range to read, both ends inclusive (as in `Range: bytes=first-last`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub first: u64,
    /// Last byte.
    pub last: u64,
}

/// An open blob (or part of one), to stream into a response.
pub struct BlobReader {
    /// How many bytes `reader` yields.
    pub len: u64,
    /// The bytes.
    pub reader: Pin<Box<dyn AsyncRead + Send>>,
}

impl fmt::Debug for BlobReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobReader")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// Where blob bytes live. Implementations: [`LocalBlobStore`] and [`S3BlobStore`].
#[async_trait]
pub trait BlobStore: Send + Sync + fmt::Debug + 'static {
    /// What is stored under `hash`, if the blob is complete.
    async fn stat(&self, hash: &AssetHash) -> Result<Option<StoredBlob>>;

    /// Stores a blob and its variants atomically: a reader sees all of it or nothing, and
    /// storing a blob that exists already is a no-op.
    async fn put(&self, blob: PreparedBlob) -> Result<StoredBlob>;

    /// Opens one encoding of a blob, optionally a range of it; `None` when absent.
    async fn open(
        &self,
        hash: &AssetHash,
        encoding: ContentCoding,
        range: Option<ByteRange>,
    ) -> Result<Option<BlobReader>>;

    /// The whole of one encoding of a blob, in memory; `None` when absent.
    async fn read(&self, hash: &AssetHash, encoding: ContentCoding) -> Result<Option<Bytes>> {
        use tokio::io::AsyncReadExt as _;
        let Some(blob) = self.open(hash, encoding, None).await? else {
            return Ok(None);
        };
        let mut bytes = Vec::with_capacity(usize::try_from(blob.len).unwrap_or(0));
        let mut reader = blob.reader;
        reader
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| crate::error::Error::io(format!("blob {hash} ({encoding})"), e))?;
        Ok(Some(bytes.into()))
    }

    /// Deletes a blob and its variants (the identity bytes first, so a half-deleted blob
    /// counts as absent); deleting an absent blob is a no-op.
    async fn delete(&self, hash: &AssetHash) -> Result<()>;

    /// A URL that serves the identity bytes directly for `expiry`, where the backend can
    /// sign one (S3); `None` otherwise.
    async fn presigned_url(&self, hash: &AssetHash, expiry: Duration) -> Result<Option<String>> {
        let _ = (hash, expiry);
        Ok(None)
    }

    /// How many blobs a publish should store at once: the cores for local disks (the work
    /// is compression), more for remote stores (the work is waiting on the network).
    fn upload_concurrency(&self) -> usize {
        std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
    }
}
