//! Assets served from files where they are (feature `tokio`): [`FileAsset`]
//! and [`FileSource`]. Bytes are read in chunks as the connection takes
//! them, never a whole file at once.

use std::collections::HashMap;
use std::io::{self, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use expo_accept::ContentCoding;
use expo_manifest::{AssetHash, PlatformExport};
use futures_core::Stream;
use tokio::io::{AsyncRead, AsyncSeekExt as _, ReadBuf};

use super::body::AssetBody;
use super::plan::AssetDescription;
use super::serve::StoredAsset;
use crate::error::{ProtocolError, SourceError};
use crate::source::AssetSource;

/// Bytes read per chunk.
const CHUNK: usize = 64 * 1024;

/// An asset in a file, with precompressed siblings when they exist:
/// `<file>.br` (brotli) and `<file>.gz` (gzip), as `brotli -k` and
/// `gzip -k` write them. A sibling is trusted to hold the same content:
/// write it from the file, never the other way round.
#[derive(Debug, Clone)]
pub struct FileAsset {
    description: AssetDescription,
    /// The file of each stored encoding.
    files: Vec<(ContentCoding, PathBuf)>,
}

impl FileAsset {
    /// The asset at `path`, whose SHA-256 is `hash` (the caller hashed it, as
    /// [`expo_manifest::ExportDir`] does), served as `content_type`. Looks
    /// for the precompressed siblings once, now.
    pub fn open(
        path: impl Into<PathBuf>,
        hash: AssetHash,
        content_type: &str,
    ) -> Result<Self, FileAssetError> {
        let path = path.into();
        let size = |path: &Path| std::fs::metadata(path).map(|m| m.is_file().then_some(m.len()));
        let identity = size(&path)
            .ok()
            .flatten()
            .ok_or_else(|| FileAssetError::NotAFile(path.clone()))?;
        let mut description = AssetDescription::new(hash, content_type)
            .map_err(FileAssetError::ContentType)?
            .with_encoding(ContentCoding::Identity, identity);
        let mut files = vec![(ContentCoding::Identity, path.clone())];
        for (coding, suffix) in [(ContentCoding::Brotli, "br"), (ContentCoding::Gzip, "gz")] {
            let mut sibling = path.clone().into_os_string();
            sibling.push(".");
            sibling.push(suffix);
            let sibling = PathBuf::from(sibling);
            if let Ok(Some(len)) = size(&sibling) {
                description = description.with_encoding(coding, len);
                files.push((coding, sibling));
            }
        }
        Ok(FileAsset { description, files })
    }
}

/// Why a [`FileAsset`] cannot be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileAssetError {
    /// The path is not a readable regular file.
    #[error("{} is not a readable file", .0.display())]
    NotAFile(PathBuf),
    /// The content type is not a header value.
    #[error(transparent)]
    ContentType(ProtocolError),
}

impl StoredAsset for FileAsset {
    fn description(&self) -> &AssetDescription {
        &self.description
    }

    async fn read(
        &self,
        coding: ContentCoding,
        range: Range<u64>,
    ) -> Result<AssetBody, SourceError> {
        let path = self
            .files
            .iter()
            .find(|(c, _)| *c == coding)
            .map(|(_, path)| path)
            .ok_or_else(|| SourceError::new(format!("no {coding} file for this asset")))?;
        let context = |e: io::Error| SourceError::new(format!("{}: {e}", path.display()));
        let mut file = tokio::fs::File::open(path).await.map_err(context)?;
        file.seek(SeekFrom::Start(range.start))
            .await
            .map_err(context)?;
        let len = range.end - range.start;
        Ok(AssetBody::from_stream(
            len,
            FileChunks {
                file,
                remaining: len,
                buf: Vec::new(),
            },
        ))
    }
}

/// The next `remaining` bytes of a file, a chunk at a time.
struct FileChunks {
    file: tokio::fs::File,
    remaining: u64,
    /// The chunk being filled (kept while a read is pending).
    buf: Vec<u8>,
}

impl Stream for FileChunks {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        if this.buf.is_empty() {
            let size = usize::try_from(this.remaining).map_or(CHUNK, |r| r.min(CHUNK));
            this.buf = vec![0; size];
        }
        let mut read = ReadBuf::new(&mut this.buf);
        std::task::ready!(Pin::new(&mut this.file).poll_read(cx, &mut read))?;
        let n = read.filled().len();
        if n == 0 {
            // Shorter than described: `AssetBody` reports it.
            this.remaining = 0;
            return Poll::Ready(None);
        }
        let mut chunk = std::mem::take(&mut this.buf);
        chunk.truncate(n);
        this.remaining -= n as u64;
        Poll::Ready(Some(Ok(Bytes::from(chunk))))
    }
}

/// Assets served from files, found by hash: for example every file of the
/// `expo export` outputs a server publishes (see
/// [`add_export`](Self::add_export)).
#[derive(Debug, Default, Clone)]
pub struct FileSource {
    assets: HashMap<AssetHash, Arc<FileAsset>>,
}

impl FileSource {
    /// An empty source.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an asset, found by its hash. The same content in several files
    /// (an image shared by two exports) is served from the one with the
    /// most precompressed siblings.
    pub fn add(&mut self, asset: FileAsset) {
        let hash = asset.description().hash();
        let encodings = |a: &FileAsset| a.description().encodings().len();
        if self
            .assets
            .get(&hash)
            .is_none_or(|held| encodings(held) < encodings(&asset))
        {
            self.assets.insert(hash, Arc::new(asset));
        }
    }

    /// Adds every file of one platform of an export (hashed by
    /// [`expo_manifest::ExportDir::platform`]), with their precompressed
    /// siblings.
    pub fn add_export(&mut self, files: &PlatformExport) -> Result<(), FileAssetError> {
        for file in files.files() {
            self.add(FileAsset::open(&file.path, file.hash, &file.content_type)?);
        }
        Ok(())
    }

    /// How many assets it serves.
    pub fn len(&self) -> usize {
        self.assets.len()
    }

    /// Whether it serves none.
    pub fn is_empty(&self) -> bool {
        self.assets.is_empty()
    }
}

impl AssetSource for FileSource {
    type Asset = Arc<FileAsset>;

    fn asset(
        &self,
        hash: &AssetHash,
    ) -> impl Future<Output = Result<Option<Arc<FileAsset>>, SourceError>> + Send {
        std::future::ready(Ok(self.assets.get(hash).cloned()))
    }
}

#[cfg(test)]
mod tests {
    use http_body::Body as _;

    use super::*;

    async fn collect(mut body: AssetBody) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            out.extend_from_slice(&frame?.into_data().unwrap_or_default());
        }
        Ok(out)
    }

    #[tokio::test]
    async fn reads_ranges_of_each_file_in_chunks() {
        let dir = std::env::temp_dir().join(format!("expo-updates-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let data: Vec<u8> = (0..(CHUNK * 2 + 17))
            .map(|i| u8::try_from(i % 251).unwrap())
            .collect();
        let path = dir.join("bundle.js");
        std::fs::write(&path, &data).unwrap();
        std::fs::write(dir.join("bundle.js.br"), b"brotli bytes").unwrap();
        let asset = FileAsset::open(&path, AssetHash::of(&data), "application/javascript").unwrap();
        assert_eq!(asset.description().len_of(ContentCoding::Brotli), Some(12));
        assert_eq!(asset.description().len_of(ContentCoding::Gzip), None);

        let all = collect(
            asset
                .read(ContentCoding::Identity, 0..data.len() as u64)
                .await
                .unwrap(),
        );
        assert_eq!(all.await.unwrap(), data);
        let part = asset
            .read(ContentCoding::Identity, 5..CHUNK as u64 + 9)
            .await
            .unwrap();
        assert_eq!(collect(part).await.unwrap(), &data[5..CHUNK + 9]);
        let br = asset.read(ContentCoding::Brotli, 2..6).await.unwrap();
        assert_eq!(collect(br).await.unwrap(), b"otli");
        assert!(asset.read(ContentCoding::Gzip, 0..1).await.is_err());

        // The file shrank after it was described: an error, not a short body.
        std::fs::write(&path, b"short").unwrap();
        let short = asset
            .read(ContentCoding::Identity, 0..data.len() as u64)
            .await
            .unwrap();
        assert_eq!(
            collect(short).await.unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        assert!(matches!(
            FileAsset::open(dir.join("missing"), AssetHash::of(b""), "text/plain"),
            Err(FileAssetError::NotAFile(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
