//! [`UpdateBody`]: the body of every response this crate builds.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::{Bytes, BytesMut};
use expo_multipart::MultipartBody;
use http_body::{Body, Frame, SizeHint};

/// A response body: empty, one buffer, or multipart chunks that share the
/// prepared manifest bytes instead of copying them.
#[derive(Debug, Default)]
pub struct UpdateBody(Inner);

#[derive(Debug, Default)]
enum Inner {
    #[default]
    Empty,
    Full(Option<Bytes>),
    Multipart(MultipartBody),
}

impl UpdateBody {
    /// No body.
    pub fn empty() -> Self {
        UpdateBody(Inner::Empty)
    }

    /// One buffer.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        UpdateBody(Inner::Full(Some(bytes.into())))
    }

    pub(crate) fn multipart(body: MultipartBody) -> Self {
        UpdateBody(Inner::Multipart(body))
    }

    /// The whole body in one buffer (without waiting: every variant is in
    /// memory). A single buffer is returned as is; multipart chunks are
    /// joined.
    pub fn into_bytes(self) -> Bytes {
        match self.0 {
            Inner::Empty | Inner::Full(None) => Bytes::new(),
            Inner::Full(Some(bytes)) => bytes,
            Inner::Multipart(mut body) => {
                let len = body.size_hint().exact().unwrap_or(0);
                let mut out = BytesMut::with_capacity(usize::try_from(len).unwrap_or(0));
                let mut cx = Context::from_waker(Waker::noop());
                // A multipart body is always ready: it yields its chunks in turn.
                while let Poll::Ready(Some(Ok(frame))) = Pin::new(&mut body).poll_frame(&mut cx) {
                    if let Ok(data) = frame.into_data() {
                        out.extend_from_slice(&data);
                    }
                }
                out.freeze()
            }
        }
    }
}

impl From<Bytes> for UpdateBody {
    fn from(bytes: Bytes) -> Self {
        UpdateBody::full(bytes)
    }
}

impl Body for UpdateBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match &mut self.get_mut().0 {
            Inner::Empty => Poll::Ready(None),
            Inner::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Inner::Multipart(body) => Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            Inner::Empty | Inner::Full(None) => true,
            Inner::Full(Some(_)) => false,
            Inner::Multipart(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Inner::Empty | Inner::Full(None) => SizeHint::with_exact(0),
            Inner::Full(Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            Inner::Multipart(body) => body.size_hint(),
        }
    }
}
