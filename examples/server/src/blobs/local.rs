//! [`BlobStore`] on the local file system.
//!
//! Layout under the root: `ab/cd/abcd…` (the identity bytes, named by their SHA-256 hex),
//! `abcd….br` and `abcd….gz` beside it, and `tmp/` for files being written. Every file is
//! written to `tmp/`, fsynced and renamed into place; the identity file is renamed last, so
//! its presence means the blob and its variants are complete.

use std::io::{self, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use expo_manifest::AssetHash;
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};

use super::stream::UnbufferedFile;
use super::{BlobReader, BlobStore, ByteRange, ContentCoding, PreparedBlob, StoredBlob};
use crate::error::{Error, Result};

/// Temporary files older than this are left over from a killed process.
const STALE_TEMP_AGE: Duration = Duration::from_hours(1);

/// Blobs in a directory tree.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    root: PathBuf,
}

impl LocalBlobStore {
    /// Uses (creating if needed) `root`, and removes temporary files a killed process left.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        let tmp = root.join("tmp");
        std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let store = Self { root };
        store.remove_stale_temp_files();
        Ok(store)
    }

    /// Reads blobs under `root` without creating or cleaning anything (a dry run looks up
    /// what is stored this way); `None` when `root` does not exist.
    pub fn existing(root: impl Into<PathBuf>) -> Option<Self> {
        let root = root.into();
        root.is_dir().then_some(Self { root })
    }

    fn remove_stale_temp_files(&self) {
        let Ok(entries) = std::fs::read_dir(self.root.join("tmp")) else {
            return;
        };
        let now = SystemTime::now();
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|modified| now.duration_since(modified).ok())
                .is_some_and(|age| age > STALE_TEMP_AGE);
            if old {
                // Best effort: another process may have removed it already.
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// The path of one encoding of a blob.
    pub fn path(&self, hash: &AssetHash, encoding: ContentCoding) -> PathBuf {
        let hex = hash.to_hex();
        let dir = self.root.join(&hex[0..2]).join(&hex[2..4]);
        match encoding {
            ContentCoding::Identity => dir.join(hex),
            ContentCoding::Gzip => dir.join(format!("{hex}.gz")),
            ContentCoding::Brotli => dir.join(format!("{hex}.br")),
        }
    }

    fn stat_blocking(&self, hash: &AssetHash) -> Result<Option<StoredBlob>> {
        let size_of = |encoding| -> Result<Option<u64>> {
            let path = self.path(hash, encoding);
            match std::fs::metadata(&path) {
                Ok(meta) => Ok(Some(meta.len())),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Error::io(path, e)),
            }
        };
        let Some(size) = size_of(ContentCoding::Identity)? else {
            return Ok(None);
        };
        Ok(Some(StoredBlob {
            size,
            gzip_size: size_if(size_of(ContentCoding::Gzip)?),
            br_size: size_if(size_of(ContentCoding::Brotli)?),
        }))
    }

    fn put_blocking(&self, blob: &PreparedBlob) -> Result<StoredBlob> {
        if AssetHash::of(&blob.identity) != blob.hash {
            return Err(Error::Invalid(format!(
                "blob bytes do not hash to {}",
                blob.hash
            )));
        }
        if let Some(stored) = self.stat_blocking(&blob.hash)? {
            return Ok(stored);
        }
        let dir = self
            .path(&blob.hash, ContentCoding::Identity)
            .parent()
            .map_or_else(|| self.root.clone(), Path::to_path_buf);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        if let Some(br) = &blob.br {
            self.write_atomically(&self.path(&blob.hash, ContentCoding::Brotli), br)?;
        }
        if let Some(gzip) = &blob.gzip {
            self.write_atomically(&self.path(&blob.hash, ContentCoding::Gzip), gzip)?;
        }
        // Last: its presence marks the blob complete.
        self.write_atomically(
            &self.path(&blob.hash, ContentCoding::Identity),
            &blob.identity,
        )?;
        sync_dir(&dir)?;
        Ok(StoredBlob {
            size: blob.identity.len() as u64,
            gzip_size: blob.gzip.as_ref().map(|b| b.len() as u64),
            br_size: blob.br.as_ref().map(|b| b.len() as u64),
        })
    }

    fn write_atomically(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let tmp_dir = self.root.join("tmp");
        let mut file =
            tempfile::NamedTempFile::new_in(&tmp_dir).map_err(|e| Error::io(&tmp_dir, e))?;
        file.write_all(bytes)
            .and_then(|()| file.as_file().sync_all())
            .map_err(|e| Error::io(file.path(), e))?;
        file.persist(path).map_err(|e| Error::io(path, e.error))?;
        Ok(())
    }
}

/// A variant file of size 0 cannot be a valid compressed stream: treat it as absent.
fn size_if(size: Option<u64>) -> Option<u64> {
    size.filter(|&s| s > 0)
}

fn sync_dir(dir: &Path) -> Result<()> {
    // Makes the renames durable; directories cannot be opened this way on every platform.
    if cfg!(unix) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(dir, e))?;
    }
    Ok(())
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    async fn stat(&self, hash: &AssetHash) -> Result<Option<StoredBlob>> {
        let this = self.clone();
        let hash = *hash;
        tokio::task::spawn_blocking(move || this.stat_blocking(&hash))
            .await
            .map_err(|e| Error::Task(e.to_string()))?
    }

    async fn put(&self, blob: PreparedBlob) -> Result<StoredBlob> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.put_blocking(&blob))
            .await
            .map_err(|e| Error::Task(e.to_string()))?
    }

    async fn delete(&self, hash: &AssetHash) -> Result<()> {
        // Identity first: without it the blob counts as absent.
        for encoding in [
            ContentCoding::Identity,
            ContentCoding::Brotli,
            ContentCoding::Gzip,
        ] {
            let path = self.path(hash, encoding);
            match tokio::fs::remove_file(&path).await {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(path, e)),
            }
        }
        Ok(())
    }

    async fn read(&self, hash: &AssetHash, encoding: ContentCoding) -> Result<Option<Bytes>> {
        // One blocking-pool trip for the whole file, not one per buffer.
        let path = self.path(hash, encoding);
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(bytes.into())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    async fn open(
        &self,
        hash: &AssetHash,
        encoding: ContentCoding,
        range: Option<ByteRange>,
    ) -> Result<Option<BlobReader>> {
        let path = self.path(hash, encoding);
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(path, e)),
        };
        let size = file
            .metadata()
            .await
            .map_err(|e| Error::io(&path, e))?
            .len();
        match range {
            None => Ok(Some(BlobReader {
                len: size,
                reader: Box::pin(UnbufferedFile::new(file.into_std().await)),
            })),
            Some(ByteRange { first, last }) => {
                if first > last || last >= size {
                    return Err(Error::Invalid(format!(
                        "range {first}-{last} outside 0-{}",
                        size.saturating_sub(1)
                    )));
                }
                file.seek(SeekFrom::Start(first))
                    .await
                    .map_err(|e| Error::io(&path, e))?;
                let len = last - first + 1;
                Ok(Some(BlobReader {
                    len,
                    reader: Box::pin(UnbufferedFile::new(file.into_std().await).take(len)),
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt as _;

    use super::*;

    async fn read_all(reader: BlobReader) -> Vec<u8> {
        let mut out = Vec::new();
        let mut r = reader.reader;
        r.read_to_end(&mut out).await.unwrap();
        assert_eq!(out.len() as u64, reader.len);
        out
    }

    #[tokio::test]
    async fn put_stat_open_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).unwrap();
        let identity = Bytes::from_static(b"hello hello hello hello");
        let blob = PreparedBlob {
            hash: AssetHash::of(&identity),
            identity: identity.clone(),
            content_type: "text/plain".into(),
            gzip: Some(Bytes::from_static(b"gz")),
            br: None,
        };
        assert!(store.stat(&blob.hash).await.unwrap().is_none());
        let stored = store.put(blob.clone()).await.unwrap();
        assert_eq!(
            stored,
            StoredBlob {
                size: 23,
                gzip_size: Some(2),
                br_size: None
            }
        );
        assert_eq!(store.stat(&blob.hash).await.unwrap(), Some(stored));
        // Storing again is a no-op.
        assert_eq!(store.put(blob.clone()).await.unwrap(), stored);

        let whole = store
            .open(&blob.hash, ContentCoding::Identity, None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read_all(whole).await, identity);
        let gz = store
            .open(&blob.hash, ContentCoding::Gzip, None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read_all(gz).await, b"gz");
        assert!(
            store
                .open(&blob.hash, ContentCoding::Brotli, None)
                .await
                .unwrap()
                .is_none()
        );
        let part = store
            .open(
                &blob.hash,
                ContentCoding::Identity,
                Some(ByteRange { first: 6, last: 10 }),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read_all(part).await, b"hello");
        assert!(
            store
                .open(
                    &blob.hash,
                    ContentCoding::Identity,
                    Some(ByteRange { first: 6, last: 23 })
                )
                .await
                .is_err()
        );
        store.delete(&blob.hash).await.unwrap();
        assert!(store.stat(&blob.hash).await.unwrap().is_none());
        assert!(!store.path(&blob.hash, ContentCoding::Gzip).exists());
        store.delete(&blob.hash).await.unwrap();
        // Nothing is left in tmp/.
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
    }

    #[tokio::test]
    async fn put_refuses_bytes_that_do_not_match_the_hash() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).unwrap();
        let blob = PreparedBlob {
            hash: AssetHash::of(b"one"),
            identity: Bytes::from_static(b"two"),
            content_type: "text/plain".into(),
            gzip: None,
            br: None,
        };
        assert!(store.put(blob).await.is_err());
    }
}
