//! Prometheus metrics at `GET /metrics`, with the `metrics` facade.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `expo_http_requests_total` | counter | `route`, `method`, `status`, `platform`, `channel` |
//! | `expo_http_request_duration_seconds` | histogram | `route`, `method` |
//! | `expo_asset_bytes_total` | counter | `encoding` (bytes of asset bodies sent) |
//! | `expo_manifest_cache_total` | counter | `result` (`hit`, `miss`) |
//! | `expo_manifest_served_total` | counter | `update_id`, `platform`, `channel` |
//! | `expo_patch_requests_total` | counter | `result` (`patch`, `full`): launch-asset requests asking for a patch |
//! | `expo_patch_builds_total` | counter | `outcome` (`stored`, `not_worth_serving`, `failed`) |
//! | `expo_update_launched_devices` | gauge | `update_id` (distinct devices, every server) |
//! | `expo_update_failed_devices` | gauge | `update_id` (distinct devices, every server) |
//! | `expo_health_ignored_total` | counter | `reason` (malformed health headers) |
//! | `expo_health_dropped_total` | counter | (device reports dropped: queue full) |
//! | `expo_health_flush_errors_total` | counter | (batches the store refused, retried) |
//! | `expo_auto_rollbacks_total` | counter | |
//! | `expo_manifest_builds_total` | counter | (manifests serialized, and signed on first use: cache misses, new hosts, expiring URLs) |
//! | `expo_http_shed_total` | counter | `reason` (`connections`, `requests`: answered `503` past a cap) |
//!
//! Label values come from requests, so they are bounded: `route` is the matched route
//! pattern (`/assets/{hash}`, `/shop/assets/{hash}` for app `shop`, never the path),
//! `platform` is `ios`, `android` or `other`, and `channel` is a channel some update in the
//! store was published to (at most [`MAX_CHANNELS`] of them, refreshed when updates
//! change), else `other`: names clients make up never become labels. The device gauges
//! exist only for updates the store holds (see [`crate::device_reports`]); they are totals
//! of the shared store, so aggregate them across servers with `max`.
//!
//! `/metrics` is served on the app port unless `--metrics-bind` gives it its own address,
//! and requires `--metrics-token` as a bearer token when one is set.

mod handles;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tower::{Layer, Service};

/// The request headers labels are read from (parsed once, not per request).
static EXPO_PLATFORM: HeaderName = HeaderName::from_static("expo-platform");
static EXPO_CHANNEL_NAME: HeaderName = HeaderName::from_static("expo-channel-name");

/// Channel label values at most (the store's channels, in name order); others are `other`.
pub const MAX_CHANNELS: usize = 100;

/// Latency buckets, seconds: a cached manifest takes well under a millisecond, a large
/// asset over a slow link seconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder (once per process); later calls reuse it. Returns
/// `false` when another recorder was installed first (metrics then go there).
pub fn install() -> bool {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("expo_http_request_duration_seconds".into()),
                    &LATENCY_BUCKETS,
                )
                .ok()?;
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .is_some()
}

/// How often recorded histogram samples are folded into their buckets. Until then each
/// request's latency is kept (8 bytes and change): at 100,000 manifest requests a second,
/// every 5 s held about 4 MB of them, every second under 1 MB.
pub const UPKEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Folds the histogram samples recorded since the last time into their buckets, every
/// [`UPKEEP_INTERVAL`]; runs until aborted. The recorder keeps every sample until then (it
/// does the same when `/metrics` is rendered), so without it memory grows with requests
/// for as long as nobody scrapes: about 15 MB an hour at 200 requests/s.
pub async fn upkeep() {
    let Some(handle) = HANDLE.get().and_then(Option::as_ref) else {
        return;
    };
    let mut interval = tokio::time::interval(UPKEEP_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        handle.run_upkeep();
    }
}

/// Who may read `/metrics`: anyone, or callers with the bearer token.
#[derive(Debug, Clone, Copy)]
pub struct Access {
    token_digest: Option<[u8; 32]>,
}

impl Access {
    /// Open to anyone without a token; else to callers presenting it.
    pub fn new(token: Option<&str>) -> Self {
        Self {
            token_digest: token.map(super::admin::token_digest),
        }
    }
}

/// `/metrics` with its access rule.
pub fn router<S: Clone + Send + Sync + 'static>(access: Access) -> Router<S> {
    Router::new()
        .route("/metrics", axum::routing::get(guarded))
        .with_state(access)
}

/// Serves `/metrics` alone on `bind`, with the same connection limits as the app port;
/// runs until the task is aborted.
pub async fn serve_separately(
    bind: SocketAddr,
    access: Access,
    limits: &crate::settings::limits::Limits,
) -> crate::error::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(bind).await.map_err(|e| {
        crate::error::Error::Config(format!("cannot listen on {bind} (--metrics-bind): {e}"))
    })?;
    let address = listener
        .local_addr()
        .map_err(|e| crate::error::Error::Config(e.to_string()))?;
    tracing::info!(%address, token = access.token_digest.is_some(), "metrics listening");
    let router = router(access).fallback(|| async {
        super::error::ApiError::not_found("this address serves /metrics only")
    });
    let limits = limits.clone();
    Ok(tokio::spawn(async move {
        super::listener::serve(
            listener,
            super::routes::Routes::new(router),
            &limits,
            &super::connection_threads::ConnectionThreads::none(),
            std::future::pending(),
        )
        .await;
    }))
}

async fn guarded(State(access): State<Access>, headers: HeaderMap) -> Response {
    if let Some(digest) = access.token_digest
        && !super::admin::bearer_matches(&headers, &digest)
    {
        return super::admin::unauthorized();
    }
    render()
}

/// `GET /metrics`: the Prometheus text format.
pub fn render() -> Response {
    match HANDLE.get().and_then(Option::as_ref) {
        Some(handle) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => super::error::ApiError::not_found("metrics are not enabled").into_response(),
    }
}

/// Counts a download of `update_id`: a manifest sent to an install not running it yet.
/// `update_id` must name a stored update (never a value from the request), which bounds the
/// label's values.
pub fn record_manifest_served(update_id: uuid::Uuid, platform: &str, channel: &str) {
    let platform = platform_label(Some(platform));
    handles::with(|handles| {
        let channel = handles.channel(Some(channel));
        handles.served(update_id, platform, &channel).increment(1);
    });
}

/// Counts a manifest serialized (and signed on first use).
pub fn record_manifest_built() {
    metrics::counter!("expo_manifest_builds_total").increment(1);
}

/// Counts a connection or request answered `503` past its cap.
pub fn record_shed(reason: &'static str) {
    metrics::counter!("expo_http_shed_total", "reason" => reason).increment(1);
}

/// The channels that may be label values: those of the store's updates (at most
/// [`MAX_CHANNELS`], in name order).
pub fn set_known_channels(channels: impl IntoIterator<Item = String>) {
    let mut channels: Vec<String> = channels.into_iter().collect();
    channels.sort_unstable();
    channels.dedup();
    channels.truncate(MAX_CHANNELS);
    handles::set_channels(channels);
}

/// Counts a manifest-cache lookup.
pub fn record_manifest_cache(hit: bool) {
    handles::with(|handles| handles.fixed().cache(hit).increment(1));
}

/// Counts a request that asked for a launch-asset patch, answered with one or not.
pub fn record_patch_request(patched: bool) {
    metrics::counter!(
        "expo_patch_requests_total",
        "result" => if patched { "patch" } else { "full" },
    )
    .increment(1);
}

/// The layer recording every request's count, latency and asset bytes (a route layer:
/// it reads the matched route).
#[derive(Debug, Clone, Copy, Default)]
pub struct TrackLayer;

impl<S> Layer<S> for TrackLayer {
    type Service = Track<S>;

    fn layer(&self, inner: S) -> Track<S> {
        Track { inner }
    }
}

/// The service of [`TrackLayer`]: labels are read when the request comes in, the handles
/// to record with are looked up (registered on first use, then kept per thread), and the
/// response's status, latency and length are recorded when it is ready. No label string
/// is built and no registry is searched once a label set was seen.
#[derive(Debug, Clone)]
pub struct Track<S> {
    inner: S,
}

impl<S> Service<Request> for Track<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = TrackFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or("unmatched", MatchedPath::as_str);
        let tracking = Tracking::start(route, &request);
        tracking.wrap(self.inner.call(request))
    }
}

/// One request's recording, as [`Track`] does it: for requests answered without the
/// router (`super::routes`), so that they are counted the same.
pub struct Tracking {
    started: Instant,
    labels: Labels,
}

impl Tracking {
    /// Starts the clock of `request`, served by the route `pattern` (as axum's
    /// `MatchedPath` names it), and reads its labels.
    pub fn start(pattern: &str, request: &Request) -> Self {
        let started = Instant::now();
        let route = handles::route(pattern);
        let get = |name: &HeaderName| request.headers().get(name).and_then(|v| v.to_str().ok());
        let platform = platform_label(get(&EXPO_PLATFORM));
        let channel = handles::with(|handles| handles.channel(get(&EXPO_CHANNEL_NAME)));
        let asset_get = route.is_asset() && request.method() == axum::http::Method::GET;
        let labels = Labels {
            route,
            method: request.method().clone(),
            platform,
            channel,
            asset_get,
        };
        Self { started, labels }
    }

    /// `inner`, the handler's future, recorded when it is ready.
    pub fn wrap<F>(self, inner: F) -> TrackFuture<F> {
        TrackFuture {
            inner,
            started: self.started,
            labels: Some(self.labels),
        }
    }
}

/// What a request is counted under, read before it is handled.
struct Labels {
    route: handles::Route,
    method: axum::http::Method,
    platform: &'static str,
    channel: handles::Channel,
    /// A `GET` of `/assets/{hash}` (or `/{app}/assets/{hash}`): its body bytes are counted.
    asset_get: bool,
}

pin_project_lite::pin_project! {
    /// The future of [`Track`]: the handler's, recorded when ready.
    pub struct TrackFuture<F> {
        #[pin]
        inner: F,
        started: Instant,
        labels: Option<Labels>,
    }
}

impl<F, E> Future for TrackFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        if let (Ok(response), Some(labels)) = (&result, this.labels.take()) {
            record(labels, response, this.started.elapsed().as_secs_f64());
        }
        Poll::Ready(result)
    }
}

fn record(labels: Labels, response: &Response, seconds: f64) {
    let status = response.status().as_u16();
    let asset_bytes = if labels.asset_get {
        response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .map(|length| (length, encoding_label(response.headers())))
    } else {
        None
    };
    handles::with(|handles| {
        handles
            .duration(&labels.route, &labels.method)
            .record(seconds);
        if let Some((length, encoding)) = asset_bytes {
            handles.fixed().asset_bytes(encoding).increment(length);
        }
        handles
            .requests(
                labels.route,
                labels.method,
                status,
                labels.platform,
                labels.channel,
            )
            .increment(1);
    });
}

/// The `encoding` label of an asset response.
fn encoding_label(headers: &HeaderMap) -> &'static str {
    headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map_or("identity", |e| {
            if e == "br" {
                "br"
            } else if e == "gzip" {
                "gzip"
            } else {
                "other"
            }
        })
}

fn platform_label(platform: Option<&str>) -> &'static str {
    match platform {
        Some("ios") => "ios",
        Some("android") => "android",
        None => "none",
        Some(_) => "other",
    }
}

/// The channel as a label value, bounded (see the module docs).
#[cfg(test)]
fn channel_label(channel: Option<&str>) -> String {
    handles::with(|handles| handles.channel(channel).as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded() {
        assert_eq!(platform_label(Some("ios")), "ios");
        assert_eq!(platform_label(Some("windows")), "other");
        assert_eq!(platform_label(None), "none");
        set_known_channels((0..(MAX_CHANNELS * 2)).map(|i| format!("channel-{i:03}")));
        assert_eq!(channel_label(Some("channel-000")), "channel-000");
        assert_eq!(channel_label(Some("channel-099")), "channel-099");
        // Past the bound, and names the store does not hold, whoever sends them first.
        assert_eq!(channel_label(Some("channel-100")), "other");
        for i in 0..(MAX_CHANNELS * 2) {
            assert_eq!(channel_label(Some(&format!("made-up-{i}"))), "other");
        }
        assert_eq!(channel_label(None), "none");
        set_known_channels(["production".to_owned()]);
        assert_eq!(channel_label(Some("production")), "production");
        assert_eq!(channel_label(Some("channel-000")), "other");
    }
}
