//! Memory for streamed blob bodies: every chunk read for a response holds a share of one
//! budget until the connection has sent it, so however many clients download large
//! assets at once, and however slowly they read, the bytes held for them stay within the
//! budget (`--stream-memory-mb`). Downloads past it wait for room.

use std::io;
use std::sync::Arc;

use std::future::Future as _;

use bytes::Bytes;
use futures_util::Stream;
use tokio::io::AsyncReadExt as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::BlobReader;

/// Bytes read per chunk: large reads keep the file system's blocking-pool round trips few.
pub const CHUNK: usize = 256 * 1024;
/// The smallest budget (one chunk at a time).
const MIN_BUDGET: u64 = CHUNK as u64;

/// The shared budget, counted in KiB.
#[derive(Debug)]
pub struct StreamBudget {
    permits: Arc<Semaphore>,
    total_kib: u32,
}

/// A chunk's bytes and its share of the budget, given back when the last reference to the
/// bytes is dropped (once the connection wrote them).
struct Chunk {
    bytes: Vec<u8>,
    _permit: OwnedSemaphorePermit,
}

impl AsRef<[u8]> for Chunk {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl StreamBudget {
    /// A budget of `bytes` (at least one chunk).
    pub fn new(bytes: u64) -> Self {
        let total_kib = u32::try_from(bytes.max(MIN_BUDGET) / 1024).unwrap_or(u32::MAX);
        Self {
            permits: Arc::new(Semaphore::new(total_kib as usize)),
            total_kib,
        }
    }

    /// Bytes of the budget in use now.
    pub fn used(&self) -> u64 {
        u64::from(self.total_kib).saturating_sub(self.permits.available_permits() as u64) * 1024
    }

    /// The bytes of `reader` as a body stream, each chunk within the budget; an error if
    /// the blob is shorter than its length says.
    pub fn body(&self, reader: BlobReader) -> impl Stream<Item = io::Result<Bytes>> + Send + use<> {
        let permits = Arc::clone(&self.permits);
        let total_kib = self.total_kib;
        futures_util::stream::try_unfold(
            (reader.reader, reader.len),
            move |(mut reader, remaining)| {
                let permits = Arc::clone(&permits);
                async move {
                    if remaining == 0 {
                        return Ok(None);
                    }
                    let size = usize::try_from(remaining).map_or(CHUNK, |r| r.min(CHUNK));
                    let kib = u32::try_from(size.div_ceil(1024))
                        .unwrap_or(u32::MAX)
                        .min(total_kib);
                    let permit = permits
                        .acquire_many_owned(kib)
                        .await
                        .map_err(io::Error::other)?;
                    let mut bytes = vec![0; size];
                    let mut filled = 0;
                    while filled < size {
                        let read = reader.read(&mut bytes[filled..]).await?;
                        if read == 0 {
                            return Err(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "the blob is shorter than its record",
                            ));
                        }
                        filled += read;
                    }
                    let chunk = Bytes::from_owner(Chunk {
                        bytes,
                        _permit: permit,
                    });
                    Ok(Some((chunk, (reader, remaining - size as u64))))
                }
            },
        )
    }
}

/// A file read on the blocking pool that keeps no buffer between reads (tokio's `File`
/// keeps one as large as its largest read for as long as it is open, which is per
/// connection, outside any budget).
#[derive(Debug)]
pub struct UnbufferedFile {
    file: Arc<std::fs::File>,
    read: Option<tokio::task::JoinHandle<(io::Result<usize>, Vec<u8>)>>,
    /// Bytes read but not yet taken (when the caller's buffer shrank meanwhile).
    left: Option<(Vec<u8>, usize)>,
}

impl UnbufferedFile {
    /// Reads `file` from its current position.
    pub fn new(file: std::fs::File) -> Self {
        Self {
            file: Arc::new(file),
            read: None,
            left: None,
        }
    }
}

impl tokio::io::AsyncRead for UnbufferedFile {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        dst: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        use std::io::Read as _;
        use std::task::Poll;
        let this = &mut *self;
        if dst.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            if let Some((bytes, at)) = this.left.take() {
                let n = dst.remaining().min(bytes.len() - at);
                dst.put_slice(&bytes[at..at + n]);
                if at + n < bytes.len() {
                    this.left = Some((bytes, at + n));
                }
                return Poll::Ready(Ok(()));
            }
            if let Some(read) = &mut this.read {
                let (result, bytes) = std::task::ready!(std::pin::Pin::new(read).poll(cx))
                    .map_err(io::Error::other)?;
                this.read = None;
                let n = result?;
                if n == 0 {
                    return Poll::Ready(Ok(()));
                }
                let mut bytes = bytes;
                bytes.truncate(n);
                this.left = Some((bytes, 0));
                continue;
            }
            let want = dst.remaining().min(CHUNK);
            let file = Arc::clone(&this.file);
            this.read = Some(tokio::task::spawn_blocking(move || {
                let mut bytes = vec![0; want];
                let result = (&*file).read(&mut bytes);
                (result, bytes)
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt as _;

    use super::*;

    fn reader(bytes: Vec<u8>) -> BlobReader {
        BlobReader {
            len: bytes.len() as u64,
            reader: Box::pin(std::io::Cursor::new(bytes)),
        }
    }

    #[tokio::test]
    async fn chunks_hold_the_budget_until_dropped() {
        let budget = StreamBudget::new(2 * CHUNK as u64);
        let data: Vec<u8> = (0..(CHUNK * 3 + 10))
            .map(|i| u8::try_from(i % 251).unwrap())
            .collect();
        let mut stream = std::pin::pin!(budget.body(reader(data.clone())));
        let first = stream.next().await.unwrap().unwrap();
        let second = stream.next().await.unwrap().unwrap();
        assert_eq!(budget.used(), 2 * CHUNK as u64);
        // The budget is spent: the third chunk waits until one is sent (dropped).
        let third = tokio::time::timeout(std::time::Duration::from_millis(100), stream.next());
        assert!(third.await.is_err(), "read past the budget");
        let mut all = first.to_vec();
        drop(first);
        all.extend_from_slice(&second);
        drop(second);
        while let Some(chunk) = stream.next().await {
            all.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(all, data);
        assert_eq!(budget.used(), 0);

        let short = BlobReader {
            len: 100,
            reader: Box::pin(std::io::Cursor::new(vec![1_u8; 10])),
        };
        let mut stream = std::pin::pin!(budget.body(short));
        assert!(stream.next().await.unwrap().is_err());
    }

    #[tokio::test]
    async fn unbuffered_files_read_whole_from_their_position() {
        use std::io::{Seek as _, SeekFrom, Write as _};
        use tokio::io::AsyncReadExt as _;
        let mut file = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..(CHUNK * 2 + 7))
            .map(|i| u8::try_from(i % 253).unwrap())
            .collect();
        file.write_all(&data).unwrap();
        file.seek(SeekFrom::Start(5)).unwrap();
        let mut read = Vec::new();
        UnbufferedFile::new(file)
            .read_to_end(&mut read)
            .await
            .unwrap();
        assert_eq!(read, data[5..]);
    }
}
