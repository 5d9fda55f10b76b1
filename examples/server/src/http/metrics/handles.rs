//! The handles per-request metrics are recorded with, registered once per label set and
//! kept per thread: recording a request costs a few map lookups and atomic adds, never a
//! label string built, nor a search of the recorder's registry (which hashes every label).
//!
//! A handle is registered the first time its label set is seen, exactly when the
//! `metrics::counter!` it replaces would have registered it: `/metrics` shows the same
//! series. Handles are kept only once the process's recorder is fixed ([`super::install`]
//! ran): a handle taken before would stay a no-op.

use std::cell::RefCell;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use axum::http::Method;
// Looked up several times per request: foldhash, not SipHash.
use foldhash::{HashMap, HashSet};
use metrics::{Counter, Histogram};
use uuid::Uuid;

/// The channels that are label values, and how many times they were set.
static CHANNELS: RwLock<Option<Arc<HashSet<Arc<str>>>>> = RwLock::new(None);
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Replaces the channels that are label values (already sorted, deduplicated, bounded).
pub(super) fn set_channels(channels: Vec<String>) {
    let known: HashSet<Arc<str>> = channels.into_iter().map(Arc::from).collect();
    let mut slot = CHANNELS.write().unwrap_or_else(PoisonError::into_inner);
    *slot = Some(Arc::new(known));
    GENERATION.fetch_add(1, Ordering::AcqRel);
}

/// A `channel` label value: `none` (no header), `other` (a channel no update was published
/// to), or a known channel's name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Channel {
    None,
    Other,
    Known(Arc<str>),
}

impl Channel {
    pub(super) fn as_str(&self) -> &str {
        match self {
            Self::None => "none",
            Self::Other => "other",
            Self::Known(name) => name,
        }
    }
}

/// A route label value, shared rather than copied per request.
///
/// Interned by [`route`] (one `Arc` per pattern and thread, kept for good): two routes are
/// equal when they share the `Arc`, and the pointer is hashed, not the text. A route
/// interned by another thread (a request that moved) is a key of its own, for the same
/// handle: at most threads times routes keys.
#[derive(Debug, Clone)]
pub(super) struct Route(Arc<str>);

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Route {}

impl Hash for Route {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::ptr::hash(Arc::as_ptr(&self.0).cast::<u8>(), state);
    }
}

impl Route {
    fn as_str(&self) -> &str {
        &self.0
    }

    /// `/assets/{hash}`, or `/{app}/assets/{hash}` of another app.
    pub(super) fn is_asset(&self) -> bool {
        self.0.ends_with("/assets/{hash}")
    }
}

/// The route label value of a matched route pattern.
pub(super) fn route(pattern: &str) -> Route {
    with(|handles| {
        if let Some(route) = handles.routes.get(pattern) {
            return Route(Arc::clone(route));
        }
        let route: Arc<str> = Arc::from(pattern);
        // Route patterns are the router's, a bounded set: kept for good.
        handles.routes.insert(Arc::clone(&route));
        Route(route)
    })
}

/// The handles of one thread.
#[derive(Default)]
pub(super) struct Handles {
    /// The channels as of [`Handles::generation`].
    channels: Option<Arc<HashSet<Arc<str>>>>,
    generation: u64,
    routes: HashSet<Arc<str>>,
    durations: HashMap<(Route, Method), Histogram>,
    requests: HashMap<RequestKey, Counter>,
    served: HashMap<(Uuid, &'static str, Channel), Counter>,
    fixed: Fixed,
}

/// The labels of `expo_http_requests_total`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct RequestKey {
    route: Route,
    method: Method,
    status: u16,
    platform: &'static str,
    channel: Channel,
}

/// Handles whose labels come from a fixed set, registered on first use.
#[derive(Default)]
pub(super) struct Fixed {
    cache: [Option<Counter>; 2],
    /// `br`, `gzip`, `identity`, `other`.
    asset_bytes: [Option<Counter>; 4],
}

impl Fixed {
    /// `expo_manifest_cache_total{result}`.
    pub(super) fn cache(&mut self, hit: bool) -> Counter {
        let result = if hit { "hit" } else { "miss" };
        kept(
            &mut self.cache[usize::from(hit)],
            || metrics::counter!("expo_manifest_cache_total", "result" => result),
        )
    }

    /// `expo_asset_bytes_total{encoding}`.
    pub(super) fn asset_bytes(&mut self, encoding: &'static str) -> Counter {
        let slot = match encoding {
            "br" => 0,
            "gzip" => 1,
            "identity" => 2,
            _ => 3,
        };
        kept(
            &mut self.asset_bytes[slot],
            || metrics::counter!("expo_asset_bytes_total", "encoding" => encoding),
        )
    }
}

/// Runs `f` with this thread's handles.
pub(super) fn with<T>(f: impl FnOnce(&mut Handles) -> T) -> T {
    thread_local! {
        static HANDLES: RefCell<Handles> = RefCell::new(Handles::default());
    }
    HANDLES.with(|handles| match handles.try_borrow_mut() {
        Ok(mut handles) => f(&mut handles),
        // Re-entered (a recorder recording metrics of its own): a fresh set, not kept.
        Err(_) => f(&mut Handles::default()),
    })
}

/// Whether handles may be kept: the process's recorder is set for good.
fn recorder_fixed() -> bool {
    super::HANDLE.get().is_some()
}

/// The handle in `slot`, registered with `make` the first time.
fn kept<H: Clone>(slot: &mut Option<H>, make: impl FnOnce() -> H) -> H {
    if let Some(handle) = slot {
        return handle.clone();
    }
    let handle = make();
    if recorder_fixed() {
        *slot = Some(handle.clone());
    }
    handle
}

/// The handle of `key` in `map`, registered with `make` the first time.
fn kept_in<K: Eq + Hash, H: Clone>(map: &mut HashMap<K, H>, key: K, make: impl FnOnce() -> H) -> H {
    if let Some(handle) = map.get(&key) {
        return handle.clone();
    }
    let handle = make();
    if recorder_fixed() {
        map.insert(key, handle.clone());
    }
    handle
}

impl Handles {
    /// The label value of a request's `expo-channel-name`.
    pub(super) fn channel(&mut self, channel: Option<&str>) -> Channel {
        let Some(channel) = channel else {
            return Channel::None;
        };
        let generation = GENERATION.load(Ordering::Acquire);
        if self.generation != generation || self.channels.is_none() {
            self.channels
                .clone_from(&CHANNELS.read().unwrap_or_else(PoisonError::into_inner));
            self.generation = generation;
        }
        match self.channels.as_ref().and_then(|known| known.get(channel)) {
            Some(name) => Channel::Known(Arc::clone(name)),
            None => Channel::Other,
        }
    }

    pub(super) fn fixed(&mut self) -> &mut Fixed {
        &mut self.fixed
    }

    /// `expo_http_request_duration_seconds{route, method}`.
    pub(super) fn duration(&mut self, route: &Route, method: &Method) -> Histogram {
        kept_in(&mut self.durations, (route.clone(), method.clone()), || {
            metrics::histogram!(
                "expo_http_request_duration_seconds",
                "route" => route.as_str().to_owned(),
                "method" => method.as_str().to_owned(),
            )
        })
    }

    /// `expo_http_requests_total{route, method, status, platform, channel}`.
    pub(super) fn requests(
        &mut self,
        route: Route,
        method: Method,
        status: u16,
        platform: &'static str,
        channel: Channel,
    ) -> Counter {
        let key = RequestKey {
            route,
            method,
            status,
            platform,
            channel,
        };
        if let Some(counter) = self.requests.get(&key) {
            return counter.clone();
        }
        let counter = metrics::counter!(
            "expo_http_requests_total",
            "route" => key.route.as_str().to_owned(),
            "method" => key.method.as_str().to_owned(),
            "status" => key.status.to_string(),
            "platform" => key.platform,
            "channel" => key.channel.as_str().to_owned(),
        );
        if recorder_fixed() {
            self.requests.insert(key, counter.clone());
        }
        counter
    }

    /// `expo_manifest_served_total{update_id, platform, channel}`.
    pub(super) fn served(
        &mut self,
        update_id: Uuid,
        platform: &'static str,
        channel: &Channel,
    ) -> Counter {
        kept_in(
            &mut self.served,
            (update_id, platform, channel.clone()),
            || {
                metrics::counter!(
                    "expo_manifest_served_total",
                    "update_id" => update_id.to_string(),
                    "platform" => platform,
                    "channel" => channel.as_str().to_owned(),
                )
            },
        )
    }
}
