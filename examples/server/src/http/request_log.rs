//! The request log around the whole router: a `request` span per request (method, URI,
//! version) with its events at DEBUG, and every 5xx answer at ERROR.
//!
//! These are the events `tower_http`'s `TraceLayer::new_for_http()` writes, under this
//! module's target. That layer reads the clock about seven times per request (at the start,
//! at the response, twice per body frame, at the end of the stream) and wraps every body;
//! here the clock is read once at the start and once at the response, and the body is
//! wrapped only while DEBUG is on for this target (to log the end of its stream inside the
//! span).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, HttpBody};
use axum::http::{Request, Response};
use hyper::body::{Frame, SizeHint};
use tower::Service;
use tracing::Span;

/// `inner` inside the request log.
#[derive(Debug, Clone)]
pub struct RequestLog<S> {
    inner: S,
}

impl<S> RequestLog<S> {
    /// Logs the requests `inner` answers.
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

impl<S, B> Service<Request<B>> for RequestLog<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = LogFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let inner = &mut self.inner;
        Self::log(request, |request| inner.call(request))
    }
}

impl<S> RequestLog<S> {
    /// `request` answered by `call` on the inner service, logged: for services answering
    /// through `&self`, which a connection can call without cloning them.
    pub fn respond_with<B, F>(
        &self,
        request: Request<B>,
        call: impl FnOnce(&S, Request<B>) -> F,
    ) -> LogFuture<F> {
        Self::log(request, |request| call(&self.inner, request))
    }

    fn log<B, F>(request: Request<B>, call: impl FnOnce(Request<B>) -> F) -> LogFuture<F> {
        let started = Instant::now();
        // Fields are only formatted when the span is enabled.
        let span = tracing::debug_span!(
            "request",
            method = %request.method(),
            uri = %request.uri(),
            version = ?request.version(),
        );
        let inner = {
            let _entered = span.enter();
            tracing::debug!("started processing request");
            call(request)
        };
        LogFuture {
            inner,
            started,
            span,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`RequestLog`].
    pub struct LogFuture<F> {
        #[pin]
        inner: F,
        started: Instant,
        span: Span,
    }
}

impl<F, E> Future for LogFuture<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = {
            let _entered = this.span.enter();
            ready!(this.inner.poll(cx))
        };
        let Ok(response) = result else {
            return Poll::Ready(result);
        };
        let latency = Millis(this.started.elapsed());
        let _entered = this.span.enter();
        let status = response.status();
        tracing::debug!(%latency, status = status.as_u16(), "finished processing request");
        if status.is_server_error() {
            tracing::error!(
                classification = %format_args!("Status code: {status}"),
                %latency,
                "response failed"
            );
        }
        if this.span.is_disabled() {
            return Poll::Ready(Ok(response));
        }
        let span = this.span.clone();
        Poll::Ready(Ok(response.map(|body| {
            Body::new(LoggedBody {
                inner: body,
                span,
                started: Instant::now(),
            })
        })))
    }
}

/// A duration as `tower_http` logs it: `"12 ms"`.
struct Millis(Duration);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ms", self.0.as_millis())
    }
}

pin_project_lite::pin_project! {
    /// A body polled inside its request's span, logging the end of its stream.
    struct LoggedBody {
        #[pin]
        inner: Body,
        span: Span,
        started: Instant,
    }
}

impl HttpBody for LoggedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.project();
        let _entered = this.span.enter();
        let frame = ready!(this.inner.poll_frame(cx));
        if frame.is_none() {
            let stream_duration = Millis(this.started.elapsed());
            tracing::debug!(%stream_duration, "end of stream");
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::get;
    use tower::ServiceExt as _;
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    /// Log lines written while `f` runs, with `filter`.
    async fn logged(filter: &str, request: &str) -> (StatusCode, Vec<u8>, String) {
        #[derive(Clone, Default)]
        struct Lines(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Lines {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new(filter))
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(move || writer.clone()),
            );
        let _default = tracing::subscriber::set_default(subscriber);
        let router = Router::new().route("/ok", get(|| async { "fine" })).route(
            "/broken",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "broken") }),
        );
        let response = RequestLog::new(router)
            .oneshot(Request::get(request).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        (status, body, text)
    }

    #[tokio::test]
    async fn debug_logs_the_span_the_response_and_the_end_of_the_stream() {
        let (status, body, log) = logged("debug", "/ok?x=1").await;
        assert_eq!((status, body.as_slice()), (StatusCode::OK, &b"fine"[..]));
        for expected in [
            "started processing request",
            "finished processing request",
            "status=200",
            "end of stream",
            "request{method=GET uri=/ok?x=1 version=HTTP/1.1}",
        ] {
            assert!(log.contains(expected), "{expected:?} missing from:\n{log}");
        }
        assert!(!log.contains("ERROR"), "{log}");
    }

    #[tokio::test]
    async fn server_errors_are_logged_at_error_without_debug() {
        let (status, body, log) = logged("info", "/broken").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body, b"broken", "the body is passed on unwrapped");
        assert!(log.contains("ERROR"), "{log}");
        assert!(
            log.contains("response failed")
                && log.contains("classification=Status code: 500 Internal Server Error"),
            "{log}"
        );
        assert!(!log.contains("finished processing request"), "{log}");
    }

    #[tokio::test]
    async fn answers_below_500_log_nothing_at_info() {
        let (status, _, log) = logged("info", "/missing").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(log.is_empty(), "{log}");
    }
}
