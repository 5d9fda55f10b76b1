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
//!
//! Label values come from requests, so they are bounded: `route` is the matched route
//! pattern (`/assets/{hash}`, `/shop/assets/{hash}` for app `shop`, never the path),
//! `platform` is `ios`, `android` or `other`, and `channel` keeps the first [`MAX_CHANNELS`]
//! distinct names seen, then `other`. The device gauges exist only for updates the store
//! holds (see [`crate::update_health`]); they are totals of the shared store, so aggregate
//! them across servers with `max`.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Distinct channel label values before new ones are counted as `other`.
pub const MAX_CHANNELS: usize = 100;

/// Latency buckets, seconds: a cached manifest takes well under a millisecond, a large
/// asset over a slow link seconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
static CHANNELS: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();

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

/// `GET /metrics`: the Prometheus text format.
pub async fn render() -> Response {
    match HANDLE.get().and_then(Option::as_ref) {
        Some(handle) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "metrics are not enabled\n").into_response(),
    }
}

/// Counts a download of `update_id`: a manifest sent to an install not running it yet.
/// `update_id` must name a stored update (never a value from the request), which bounds the
/// label's values.
pub fn record_manifest_served(update_id: uuid::Uuid, platform: &str, channel: &str) {
    metrics::counter!(
        "expo_manifest_served_total",
        "update_id" => update_id.to_string(),
        "platform" => platform_label(Some(platform)),
        "channel" => channel_label(Some(channel)),
    )
    .increment(1);
}

/// Counts a manifest-cache lookup.
pub fn record_manifest_cache(hit: bool) {
    metrics::counter!(
        "expo_manifest_cache_total",
        "result" => if hit { "hit" } else { "miss" },
    )
    .increment(1);
}

/// Counts a request that asked for a launch-asset patch, answered with one or not.
pub fn record_patch_request(patched: bool) {
    metrics::counter!(
        "expo_patch_requests_total",
        "result" => if patched { "patch" } else { "full" },
    )
    .increment(1);
}

/// Counts a recorded patch build by its outcome.
pub fn record_patch_built(outcome: &'static str) {
    metrics::counter!("expo_patch_builds_total", "outcome" => outcome).increment(1);
}

/// Middleware recording every request's count, latency and asset bytes.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let (platform, channel) = labels(request.headers());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(
        "expo_http_request_duration_seconds",
        "route" => route.clone(),
        "method" => method.clone(),
    )
    .record(started.elapsed().as_secs_f64());
    // `/assets/{hash}`, or `/{app}/assets/{hash}` of another app.
    if route.ends_with("/assets/{hash}")
        && let Some(length) = response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
        && method == "GET"
    {
        let encoding = response
            .headers()
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
            });
        metrics::counter!("expo_asset_bytes_total", "encoding" => encoding).increment(length);
    }
    metrics::counter!(
        "expo_http_requests_total",
        "route" => route,
        "method" => method,
        "status" => status,
        "platform" => platform,
        "channel" => channel,
    )
    .increment(1);
    response
}

fn labels(headers: &HeaderMap) -> (&'static str, String) {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    (
        platform_label(get("expo-platform")),
        channel_label(get("expo-channel-name")),
    )
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
fn channel_label(channel: Option<&str>) -> String {
    let Some(channel) = channel else {
        return "none".to_owned();
    };
    if crate::store::checked_name("channel", channel).is_err() {
        return "other".to_owned();
    }
    let mut seen = CHANNELS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if seen.contains(channel) || seen.len() < MAX_CHANNELS && seen.insert(channel.to_owned()) {
        channel.to_owned()
    } else {
        "other".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded() {
        assert_eq!(platform_label(Some("ios")), "ios");
        assert_eq!(platform_label(Some("windows")), "other");
        assert_eq!(platform_label(None), "none");
        assert_eq!(channel_label(Some("production")), "production");
        assert_eq!(channel_label(Some("bad\tname")), "other");
        for i in 0..(MAX_CHANNELS * 2) {
            let _ = channel_label(Some(&format!("channel-{i}")));
        }
        let seen = CHANNELS.get().unwrap().lock().unwrap().len();
        assert_eq!(seen, MAX_CHANNELS);
        assert_eq!(channel_label(Some("never-seen-before")), "other");
        assert_eq!(
            channel_label(Some("production")),
            "production",
            "seen first"
        );
    }
}
