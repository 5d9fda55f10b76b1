//! [`AssetBody`]: the body of an asset answer, in memory or streamed.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http_body::{Body, Frame, SizeHint};

/// A stream of chunks, as storage yields them.
type Chunks = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// The body of an asset answer: nothing, one buffer, or a stream of known
/// length (a file, an object store download).
///
/// A stream yields exactly its declared length or ends in an error: a
/// shorter stream fails with [`io::ErrorKind::UnexpectedEof`], a longer one
/// with [`io::ErrorKind::InvalidData`], so a `content-length` sent before
/// the bytes is never contradicted silently.
///
/// ```
/// use bytes::Bytes;
/// use expo_updates::AssetBody;
/// use http_body::Body as _;
///
/// let body = AssetBody::full(Bytes::from_static(b"abc"));
/// assert_eq!(body.size_hint().exact(), Some(3));
/// ```
#[derive(Default)]
pub struct AssetBody(Inner);

#[derive(Default)]
enum Inner {
    #[default]
    Empty,
    Full(Option<Bytes>),
    Stream {
        remaining: u64,
        chunks: Chunks,
    },
}

impl AssetBody {
    /// No body.
    pub fn empty() -> Self {
        AssetBody(Inner::Empty)
    }

    /// One buffer.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        AssetBody(Inner::Full(Some(bytes.into())))
    }

    /// `len` bytes from `chunks`.
    pub fn from_stream(
        len: u64,
        chunks: impl Stream<Item = io::Result<Bytes>> + Send + 'static,
    ) -> Self {
        AssetBody(Inner::Stream {
            remaining: len,
            chunks: Box::pin(chunks),
        })
    }
}

impl fmt::Debug for AssetBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Inner::Empty | Inner::Full(None) => f.write_str("AssetBody::Empty"),
            Inner::Full(Some(bytes)) => write!(f, "AssetBody::Full({} bytes)", bytes.len()),
            Inner::Stream { remaining, .. } => {
                write!(f, "AssetBody::Stream({remaining} bytes to come)")
            }
        }
    }
}

impl From<Bytes> for AssetBody {
    fn from(bytes: Bytes) -> Self {
        AssetBody::full(bytes)
    }
}

impl Body for AssetBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match &mut self.get_mut().0 {
            Inner::Empty => Poll::Ready(None),
            Inner::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Inner::Stream { remaining, chunks } => {
                if *remaining == 0 {
                    return Poll::Ready(None);
                }
                match std::task::ready!(chunks.as_mut().poll_next(cx)) {
                    Some(Ok(chunk)) => {
                        let len = chunk.len() as u64;
                        if len > *remaining {
                            *remaining = 0;
                            return Poll::Ready(Some(Err(io::Error::new(
                                io::ErrorKind::InvalidData,
                                "the asset is longer than its description",
                            ))));
                        }
                        *remaining -= len;
                        Poll::Ready(Some(Ok(Frame::data(chunk))))
                    }
                    Some(Err(e)) => {
                        *remaining = 0;
                        Poll::Ready(Some(Err(e)))
                    }
                    None => {
                        *remaining = 0;
                        Poll::Ready(Some(Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the asset is shorter than its description",
                        ))))
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            Inner::Empty | Inner::Full(None) => true,
            Inner::Full(Some(_)) => false,
            Inner::Stream { remaining, .. } => *remaining == 0,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Inner::Empty | Inner::Full(None) => SizeHint::with_exact(0),
            Inner::Full(Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            Inner::Stream { remaining, .. } => SizeHint::with_exact(*remaining),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::*;

    fn chunks(parts: &[&'static [u8]]) -> impl Stream<Item = io::Result<Bytes>> + Send + use<> {
        struct Iter(std::vec::IntoIter<Bytes>);
        impl Stream for Iter {
            type Item = io::Result<Bytes>;
            fn poll_next(
                mut self: Pin<&mut Self>,
                _: &mut Context<'_>,
            ) -> Poll<Option<Self::Item>> {
                Poll::Ready(self.0.next().map(Ok))
            }
        }
        Iter(
            parts
                .iter()
                .map(|p| Bytes::from_static(p))
                .collect::<Vec<_>>()
                .into_iter(),
        )
    }

    /// Every frame until the end or the first error.
    fn drain(mut body: AssetBody) -> Result<Vec<u8>, io::Error> {
        let mut cx = Context::from_waker(Waker::noop());
        let mut out = Vec::new();
        while let Poll::Ready(Some(frame)) = Pin::new(&mut body).poll_frame(&mut cx) {
            out.extend_from_slice(&frame?.into_data().unwrap_or_default());
        }
        assert!(body.is_end_stream());
        Ok(out)
    }

    #[test]
    fn streams_yield_exactly_their_length() {
        let body = AssetBody::from_stream(5, chunks(&[b"ab", b"cde"]));
        assert_eq!(body.size_hint().exact(), Some(5));
        assert_eq!(drain(body).unwrap(), b"abcde");

        let short = AssetBody::from_stream(6, chunks(&[b"ab", b"cde"]));
        assert_eq!(
            drain(short).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        let long = AssetBody::from_stream(4, chunks(&[b"ab", b"cde"]));
        assert_eq!(drain(long).unwrap_err().kind(), io::ErrorKind::InvalidData);
        assert_eq!(drain(AssetBody::empty()).unwrap(), b"");
        assert_eq!(drain(AssetBody::full(&b"xy"[..])).unwrap(), b"xy");
    }
}
