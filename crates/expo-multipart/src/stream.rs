//! Decoding from asynchronous sources: a [`Stream`] of chunks or an
//! [`http_body::Body`].

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use futures_util::Stream;

use crate::boundary::parse_boundary;
use crate::decode::Decoder;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::part::Part;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Decodes a multipart body arriving as a stream of chunks, yielding each
/// part once it is complete.
///
/// # Errors
///
/// Content-type and boundary errors at once; decoding errors (see
/// [`decode`](crate::decode)) and [`Error::Body`] for a failing source
/// from the stream, which ends after its first error.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use expo_multipart::{decode_stream, Limits};
/// use futures_util::{StreamExt as _, TryStreamExt as _, stream};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let chunks = ["--b\r\n\r\nhel", "lo\r\n--b--\r\n"]
///     .map(|c| Ok::<_, std::io::Error>(Bytes::from_static(c.as_bytes())));
/// let parts: Vec<_> = decode_stream("multipart/mixed; boundary=b", stream::iter(chunks), Limits::default())?
///     .try_collect()
///     .await?;
/// assert_eq!(parts[0].body().as_ref(), b"hello");
/// # Ok::<(), expo_multipart::Error>(())
/// # }).unwrap();
/// ```
pub fn decode_stream<S, B, E>(
    content_type: &str,
    stream: S,
    limits: Limits,
) -> Result<PartStream<S>>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: Buf,
    E: Into<BoxError>,
{
    let boundary = parse_boundary(content_type)?;
    Ok(PartStream {
        decoder: Decoder::new(&boundary, limits),
        source: Some(stream),
    })
}

/// Decodes a multipart [`http_body::Body`], such as an HTTP client's
/// response body, yielding each part once it is complete. Trailers are
/// ignored.
///
/// # Errors
///
/// As [`decode_stream`].
///
/// # Examples
///
/// ```
/// use expo_multipart::{decode_body, Limits, Multipart, Part};
/// use futures_util::TryStreamExt as _;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let multipart = Multipart::new(vec![Part::form_data("manifest", "application/json", "{}")]);
/// let content_type = multipart.content_type();
/// let parts: Vec<_> = decode_body(content_type.to_str().unwrap(), multipart.into_body(), Default::default())?
///     .try_collect()
///     .await?;
/// assert_eq!(parts[0].name(), Some("manifest"));
/// # Ok::<(), expo_multipart::Error>(())
/// # }).unwrap();
/// ```
pub fn decode_body<B>(
    content_type: &str,
    body: B,
    limits: Limits,
) -> Result<PartStream<BodyChunks<B>>>
where
    B: http_body::Body + Unpin,
    B::Error: Into<BoxError>,
{
    decode_stream(content_type, BodyChunks(body), limits)
}

/// The [`Stream`] of parts [`decode_stream`] and [`decode_body`] return.
#[derive(Debug)]
pub struct PartStream<S> {
    decoder: Decoder,
    /// `None` once the source ended or failed.
    source: Option<S>,
}

impl<S, B, E> Stream for PartStream<S>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: Buf,
    E: Into<BoxError>,
{
    type Item = Result<Part>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Part>>> {
        let this = &mut *self;
        loop {
            match this.decoder.next_part() {
                Err(err) => {
                    this.source = None;
                    return Poll::Ready(Some(Err(err)));
                }
                Ok(Some(part)) => return Poll::Ready(Some(Ok(part))),
                Ok(None) if this.decoder.is_finished() => {
                    this.source = None;
                    return Poll::Ready(None);
                }
                Ok(None) => {}
            }
            let Some(source) = this.source.as_mut() else {
                return Poll::Ready(None);
            };
            match ready!(Pin::new(source).poll_next(cx)) {
                Some(Ok(mut chunk)) => {
                    while chunk.has_remaining() {
                        let bytes = chunk.chunk();
                        let len = bytes.len();
                        this.decoder.push(bytes);
                        chunk.advance(len);
                    }
                }
                Some(Err(err)) => {
                    this.source = None;
                    this.decoder.abort();
                    return Poll::Ready(Some(Err(Error::Body(err.into()))));
                }
                None => {
                    this.source = None;
                    this.decoder.finish();
                }
            }
        }
    }
}

/// The data frames of an [`http_body::Body`] as a [`Stream`].
#[derive(Debug)]
pub struct BodyChunks<B>(B);

impl<B> Stream for BodyChunks<B>
where
    B: http_body::Body + Unpin,
{
    type Item = Result<Bytes, B::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match ready!(Pin::new(&mut self.0).poll_frame(cx)) {
                None => return Poll::Ready(None),
                Some(Err(err)) => return Poll::Ready(Some(Err(err))),
                Some(Ok(frame)) => {
                    if let Ok(mut data) = frame.into_data() {
                        let len = data.remaining();
                        return Poll::Ready(Some(Ok(data.copy_to_bytes(len))));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::{StreamExt as _, TryStreamExt as _, stream};

    use super::*;
    use crate::encode::Multipart;

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn streams_encoder_output_in_small_chunks() {
        let parts = vec![
            Part::form_data("manifest", "application/json", vec![b'm'; 5000]),
            Part::form_data("extensions", "application/json", "{}"),
        ];
        let multipart = Multipart::new(parts.clone());
        let encoded = multipart.encode();
        let chunks: Vec<Result<Bytes, std::io::Error>> = encoded
            .body
            .chunks(7)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let decoded: Vec<Part> = block_on(
            decode_stream(
                encoded.content_type.to_str().unwrap(),
                stream::iter(chunks),
                Limits::default(),
            )
            .unwrap()
            .try_collect(),
        )
        .unwrap();
        assert_eq!(decoded, parts);
    }

    #[test]
    fn source_errors_end_the_stream() {
        let chunks = vec![
            Ok(Bytes::from_static(b"--b\r\n\r\n")),
            Err(std::io::Error::other("connection reset")),
            Ok(Bytes::from_static(b"x\r\n--b--")),
        ];
        let mut parts = decode_stream(
            "multipart/mixed; boundary=b",
            stream::iter(chunks),
            Limits::default(),
        )
        .unwrap();
        block_on(async {
            assert!(matches!(parts.next().await, Some(Err(Error::Body(_)))));
            assert!(parts.next().await.is_none());
        });
    }

    #[test]
    fn truncated_stream_is_an_error() {
        let chunks = vec![Ok::<_, std::io::Error>(Bytes::from_static(b"--b\r\n\r\nx"))];
        let result: Result<Vec<Part>> = block_on(
            decode_stream(
                "multipart/mixed; boundary=b",
                stream::iter(chunks),
                Limits::default(),
            )
            .unwrap()
            .try_collect(),
        );
        assert!(matches!(result, Err(Error::Truncated { offset: 8 })));
    }

    #[test]
    fn bad_content_type_fails_at_once() {
        let chunks = stream::iter(Vec::<Result<Bytes, std::io::Error>>::new());
        assert!(matches!(
            decode_stream("text/plain", chunks, Limits::default()),
            Err(Error::InvalidContentType { .. })
        ));
    }
}
