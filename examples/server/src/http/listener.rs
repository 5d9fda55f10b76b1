//! The accept loop: HTTP/1.1 connections with the [`Limits`] applied.
//!
//! Each connection's socket is wrapped in a `TimedIo` that knows, from the requests the
//! connection's service has started and finished, whether the connection is waiting for a
//! request head (closed past `--header-read-timeout` from the head's first byte, or from
//! the opening for the first request), idle between requests (closed past
//! `--idle-timeout`), or busy; and every write that makes no progress for
//! `--send-timeout` closes it. A semaphore caps the connections; past it, and past the
//! requests in flight, clients get a `503` with `retry-after` instead of a slower server
//! for everyone. Accepted connections are served on the [`ConnectionThreads`], one
//! runtime per core. Shutdown stops accepting, lets requests in flight finish for at most
//! `--shutdown-timeout`, then closes what is left.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::response::IntoResponse as _;
use expo_updates::{ErrorBody, ErrorCode};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::CancellationToken;

use super::connection_threads::ConnectionThreads;
use super::error::ApiError;
use super::request_log::RequestLog;
use super::routes::Routes;
use crate::settings::limits::Limits;

/// How long accepting pauses after an error such as running out of file descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// Connections over the cap being answered `503` at once; more are closed unanswered.
const MAX_SHEDDING: usize = 256;
/// How long an over-the-cap connection is kept to deliver its `503`.
const SHED_LINGER: Duration = Duration::from_secs(1);
/// The `retry-after` of `503` answers, seconds.
pub const RETRY_AFTER_SECS: u32 = 1;

/// The answer to a connection over `--max-connections`, written before its request is read.
fn over_capacity_answer() -> Vec<u8> {
    let body = ErrorBody::new(
        ErrorCode::OVERLOADED,
        "too many connections: retry in a second",
    )
    .to_json_bytes();
    let mut answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         cache-control: no-store\r\nretry-after: {RETRY_AFTER_SECS}\r\nconnection: close\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(&body);
    answer
}

/// `routes` with the request log ([`RequestLog`]: a span per request and events at DEBUG,
/// failed responses at ERROR) around them: the service a connection calls.
///
/// Around the whole router rather than a layer of it: `Router::layer` wraps every route in
/// one more boxed service, cloned (allocated) for every request.
pub type Traced = RequestLog<Routes>;

/// [`Traced`] `routes`.
pub fn traced(routes: Routes) -> Traced {
    RequestLog::new(routes)
}

/// Serves `routes` on `listener` until `shutdown` resolves, then drains for at most
/// `limits.shutdown_timeout`. Connections are served on `threads` in turn (on the
/// caller's runtime when there are none).
pub async fn serve(
    listener: TcpListener,
    routes: Routes,
    limits: &Limits,
    threads: &ConnectionThreads,
    shutdown: impl Future<Output = ()>,
) {
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let shedding = Arc::new(Semaphore::new(MAX_SHEDDING));
    let in_flight = Arc::new(Semaphore::new(limits.max_in_flight));
    let closing = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, or a connection reset before it was accepted:
                // keep serving the connections there are.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            super::metrics::record_shed("connections");
            if let Ok(slot) = Arc::clone(&shedding).try_acquire_owned() {
                tasks.spawn(async move {
                    over_capacity(stream).await;
                    drop(slot);
                });
            }
            continue;
        };
        let connection = Connection {
            service: traced(routes.clone()),
            in_flight: Arc::clone(&in_flight),
            limits: limits.clone(),
            closing: closing.clone(),
        };
        let Some(runtime) = threads.next() else {
            tasks.spawn(async move {
                connection.run(stream).await;
                drop(permit);
            });
            continue;
        };
        // Registered anew with the connection thread's reactor, so that its wake-ups stay
        // on that thread.
        let stream = match stream.into_std() {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "cannot hand a connection to its thread");
                continue;
            }
        };
        tasks.spawn_on(
            async move {
                match TcpStream::from_std(stream) {
                    Ok(stream) => connection.run(stream).await,
                    Err(e) => tracing::warn!(error = %e, "cannot serve a connection"),
                }
                drop(permit);
            },
            runtime,
        );
    }
    drop(listener);
    closing.cancel();
    let open = tasks.len();
    let drained = tokio::time::timeout(limits.shutdown_timeout, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = tasks.len(),
            "shutdown: connections still busy after --shutdown-timeout are closed"
        );
        tasks.shutdown().await;
    } else if open > 0 {
        tracing::info!(open, "shutdown: every connection finished");
    }
}

/// Writes the canned `503` to a connection over the cap, then closes it.
async fn over_capacity(mut stream: TcpStream) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let _ = tokio::time::timeout(SHED_LINGER, async {
        stream.write_all(&over_capacity_answer()).await?;
        stream.shutdown().await?;
        // Read until the client closes, so the answer is not lost to a reset.
        let mut sink = [0_u8; 1024];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, io::Error>(())
    })
    .await;
}

/// One connection's share of the server.
struct Connection {
    service: Traced,
    in_flight: Arc<Semaphore>,
    limits: Limits,
    closing: CancellationToken,
}

impl Connection {
    async fn run(self, stream: TcpStream) {
        let state = Arc::new(ConnState::new());
        let io = TokioIo::new(TimedIo::new(stream, Arc::clone(&state), &self.limits));
        let body_timeout = self.limits.body_timeout;
        let routes = self.service;
        let in_flight = self.in_flight;
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let active = Active::start(Arc::clone(&state));
            // Routed here, not in the future below: the routes answer through `&self`, so
            // no per-request clone of them is needed.
            let answer = Arc::clone(&in_flight)
                .try_acquire_owned()
                .ok()
                .map(|permit| {
                    let request = request.map(|body| {
                        // Most requests (every GET) have no body: nothing to pace, nothing to box.
                        if body.is_end_stream() {
                            Body::empty()
                        } else {
                            Body::new(Paced::new(body, body_timeout))
                        }
                    });
                    (routes.respond_with(request, Routes::respond), permit)
                });
            async move {
                let Some((answer, permit)) = answer else {
                    super::metrics::record_shed("requests");
                    return Ok::<_, Infallible>(
                        overloaded().map(|body| Tracked::new(body, active)),
                    );
                };
                let response = match answer.await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                drop(permit);
                Ok(response.map(|body| Tracked::new(Body::new(body), active)))
            }
        });
        let mut connection = std::pin::pin!(
            hyper::server::conn::http1::Builder::new().serve_connection(io, service)
        );
        let result = tokio::select! {
            // The connection first: no random draw for every wake-up.
            biased;
            result = connection.as_mut() => result,
            () = self.closing.cancelled() => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(e) = result {
            tracing::debug!(error = %e, "connection closed");
        }
    }
}

/// The answer to a request over `--max-in-flight`.
fn overloaded() -> Response<Body> {
    let mut response = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::OVERLOADED,
        "too many requests at once: retry in a second",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    response
}

/// What a connection's timer needs to know of its requests.
#[derive(Debug)]
struct ConnState {
    opened: Instant,
    /// Requests started whose response body is not finished.
    active: AtomicUsize,
    /// Requests finished.
    finished: AtomicU64,
    /// When the last response finished, in milliseconds since `opened`; `u64::MAX` before
    /// the first.
    idle_since_ms: AtomicU64,
}

impl ConnState {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            active: AtomicUsize::new(0),
            finished: AtomicU64::new(0),
            idle_since_ms: AtomicU64::new(u64::MAX),
        }
    }
}

/// A request in progress on its connection, from its head to the end of its response.
struct Active(Arc<ConnState>);

impl Active {
    fn start(state: Arc<ConnState>) -> Self {
        state.active.fetch_add(1, Ordering::AcqRel);
        Self(state)
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        let since = u64::try_from(self.0.opened.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.0.idle_since_ms.store(since, Ordering::Release);
        self.0.finished.fetch_add(1, Ordering::AcqRel);
        self.0.active.fetch_sub(1, Ordering::AcqRel);
        // No wake-up for the idle deadline that starts now: a read that waited during the
        // request armed its timer no later than this deadline (see `TimedIo::poll_read`),
        // and re-reads the deadline when it fires. A wake-up here would poll the
        // connection once more for every request.
    }
}

/// A response body that marks its request finished when it is done (or dropped).
struct Tracked {
    body: Body,
    _active: Active,
}

impl Tracked {
    fn new(body: Body, active: Active) -> Self {
        Self {
            body,
            _active: active,
        }
    }
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A request body that fails when it pauses for longer than `--body-timeout`.
struct Paced {
    body: Incoming,
    timeout: Duration,
    timer: Option<Pin<Box<Sleep>>>,
}

impl Paced {
    fn new(body: Incoming, timeout: Duration) -> Self {
        Self {
            body,
            timeout,
            timer: None,
        }
    }
}

impl HttpBody for Paced {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            this.timer = None;
            return Poll::Ready(frame.map(|f| f.map_err(io::Error::other)));
        }
        let timeout = this.timeout;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        ready!(timer.as_mut().poll(cx));
        Poll::Ready(Some(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "the request body paused for more than {}s (--body-timeout)",
                timeout.as_secs()
            ),
        ))))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A socket with the connection's read and write deadlines (see the module docs).
struct TimedIo {
    stream: TcpStream,
    state: Arc<ConnState>,
    header_read_timeout: Duration,
    idle_timeout: Duration,
    send_timeout: Duration,
    /// When the head of the request being received started (its first byte), and how many
    /// requests had finished then (a later finish means that head was served).
    head_started: Option<(Instant, u64)>,
    read_timer: Option<Pin<Box<Sleep>>>,
    /// Armed while a write waits for the client.
    write_timer: Option<Pin<Box<Sleep>>>,
    write_armed: bool,
}

impl TimedIo {
    fn new(stream: TcpStream, state: Arc<ConnState>, limits: &Limits) -> Self {
        Self {
            stream,
            state,
            header_read_timeout: limits.header_read_timeout,
            idle_timeout: limits.idle_timeout,
            send_timeout: limits.send_timeout,
            head_started: None,
            read_timer: None,
            write_timer: None,
            write_armed: false,
        }
    }

    /// Until when a read may wait; `None` while a request is being handled or a write is
    /// waiting (the send timeout governs then, or the request's own time).
    fn read_deadline(&mut self) -> Option<Instant> {
        if self.state.active.load(Ordering::Acquire) > 0 {
            self.head_started = None;
            return None;
        }
        if self.write_armed {
            return None;
        }
        if let Some(started) = self.current_head() {
            return Some(started + self.header_read_timeout);
        }
        match self.state.idle_since_ms.load(Ordering::Acquire) {
            // The first request: its head is due from the opening.
            u64::MAX => Some(self.state.opened + self.header_read_timeout),
            since => Some(self.state.opened + Duration::from_millis(since) + self.idle_timeout),
        }
    }

    /// The start of the request head being received, if one is.
    fn current_head(&mut self) -> Option<Instant> {
        let finished = self.state.finished.load(Ordering::Acquire);
        match self.head_started {
            Some((started, of)) if of == finished => Some(started),
            _ => {
                self.head_started = None;
                None
            }
        }
    }

    fn timed_out(what: &str) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, what.to_owned())
    }

    /// Polls the write deadline after a write returned `Pending`.
    fn poll_write_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let deadline = Instant::now() + self.send_timeout;
        if !self.write_armed {
            self.write_armed = true;
            match &mut self.write_timer {
                Some(timer) => timer.as_mut().reset(deadline),
                None => self.write_timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
        }
        let fired = self
            .write_timer
            .as_mut()
            .is_some_and(|timer| timer.as_mut().poll(cx).is_ready());
        if fired {
            Poll::Ready(Self::timed_out(
                "the client stopped reading (--send-timeout)",
            ))
        } else {
            Poll::Pending
        }
    }

    fn wrote<T>(
        &mut self,
        result: Poll<io::Result<T>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<T>> {
        match result {
            Poll::Ready(result) => {
                if self.write_armed {
                    self.write_armed = false;
                    // Reads had no deadline while the write waited: poll them again (the
                    // same task reads and writes), so that it is armed.
                    cx.waker().wake_by_ref();
                }
                Poll::Ready(result)
            }
            Poll::Pending => match self.poll_write_deadline(cx) {
                Poll::Ready(error) => Poll::Ready(Err(error)),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl AsyncRead for TimedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        if let Poll::Ready(result) = Pin::new(&mut this.stream).poll_read(cx, buf) {
            if buf.filled().len() > before
                && this.current_head().is_none()
                && this.state.active.load(Ordering::Acquire) == 0
            {
                let finished = this.state.finished.load(Ordering::Acquire);
                // The first request's head is due from the opening, later ones from their
                // first byte.
                let started = if finished == 0 {
                    this.state.opened
                } else {
                    Instant::now()
                };
                this.head_started = Some((started, finished));
            }
            return Poll::Ready(result);
        }
        loop {
            let deadline = match this.read_deadline() {
                Some(deadline) => deadline,
                None if this.write_armed => return Poll::Pending,
                // A request is being handled: no deadline now, but the idle one that starts
                // when it finishes is at least `--idle-timeout` away. A timer armed no later
                // than that fires early, and finds the deadline then.
                None => {
                    let latest = Instant::now() + this.idle_timeout;
                    match &this.read_timer {
                        Some(timer) if !timer.is_elapsed() => timer.deadline().min(latest),
                        _ => latest,
                    }
                }
            };
            let timer = match &mut this.read_timer {
                Some(timer) => {
                    if timer.deadline() != deadline {
                        timer.as_mut().reset(deadline);
                    }
                    timer
                }
                None => this
                    .read_timer
                    .insert(Box::pin(tokio::time::sleep_until(deadline))),
            };
            if timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            if this.read_deadline().is_none_or(|due| due > Instant::now()) {
                // Fired early: armed while a request was handled, or the deadline moved.
                continue;
            }
            let what = if this.head_started.is_some()
                || this.state.idle_since_ms.load(Ordering::Acquire) == u64::MAX
            {
                "no complete request head in time (--header-read-timeout)"
            } else {
                "idle keep-alive connection (--idle-timeout)"
            };
            return Poll::Ready(Err(Self::timed_out(what)));
        }
    }
}

impl AsyncWrite for TimedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.wrote(result, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.wrote(result, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.stream).poll_flush(cx);
        self.wrote(result, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.stream).poll_shutdown(cx);
        self.wrote(result, cx)
    }
}
