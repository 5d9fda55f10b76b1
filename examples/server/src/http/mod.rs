//! The HTTP server: routes, shared state, graceful shutdown.

pub mod admin;
pub mod admin_ui;
pub mod answers;
pub mod assets;
pub mod branches;
pub mod cache;
pub mod connection_threads;
pub mod error;
mod fd_limit;
pub mod import;
pub mod listener;
pub mod manifest;
pub mod metrics;
pub mod patched;
pub mod publish;
pub mod readiness;
pub mod recent;
pub mod request_log;
pub mod routes;
pub mod served;
pub mod signing;
pub mod source_maps;
pub mod state;
pub mod update_health;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{any, get};
use expo_codesign::SignerSet;
use expo_sfv::ServerDefinedHeaders;
use expo_updates::Responder;

use self::cache::ManifestCache;
use self::connection_threads::ConnectionThreads;
use self::error::ApiError;
use self::routes::Routes;
use self::state::{AppShared, AppState, ChannelResponders};
use crate::blobs::stream::StreamBudget;
use crate::blobs::{BlobMemory, memory};
use crate::data::Data;
use crate::device_reports::{self, Flusher, HealthRecorder};
use crate::error::{Error, Result};
use crate::sample;
use crate::settings::headers::HeaderSettings;
use crate::settings::{ServeSettings, Settings};
use crate::store::DEFAULT_APP;

/// How long shutdown waits for the last device reports to be stored.
const FINAL_FLUSH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Largest request body accepted (admin JSON bodies; manifest requests have none).
const MAX_BODY: usize = 64 * 1024;

/// [`router`], with the manifest requests of every app answered without it (see the
/// [`routes` module](mod@self::routes)): what the server serves.
pub fn routes(state: AppState, apps: Vec<AppState>, metrics: Option<metrics::Access>) -> Routes {
    let direct: Vec<(String, AppState)> = std::iter::once((String::new(), state.clone()))
        .chain(apps.iter().map(|app| (app_prefix(app), app.clone())))
        .collect();
    Routes::with_manifests(router(state, apps, metrics), direct)
}

/// The routes: the default app's at the root (`/manifest`, `/assets/…`, `/admin/…`), every
/// other app's under its name (`/{app}/manifest`, ...). Each app's routes carry its own
/// state, so finding an app is part of the router's one path lookup.
pub fn router(state: AppState, apps: Vec<AppState>, metrics: Option<metrics::Access>) -> Router {
    let names: Arc<HashSet<Arc<str>>> = Arc::new(apps.iter().map(|app| app.app.clone()).collect());
    let mut router = Router::new()
        .route("/health", get(readiness::check))
        .merge(app_routes("", state.clone()));
    if let Some(access) = metrics {
        // Without --metrics-bind, /metrics is on the app port (behind --metrics-token if set).
        router = router.merge(metrics::router(access));
    }
    for app in apps {
        let prefix = app_prefix(&app);
        router = router.merge(app_routes(&prefix, app));
    }
    router
        .fallback(move |uri: axum::http::Uri| std::future::ready(not_found(&uri, &names)))
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(metrics::TrackLayer)
        // The request log (`RequestLog`) wraps the whole router: `listener::traced`.
        .with_state(state)
}

/// The path prefix of a configured app's routes (the default app's is empty).
fn app_prefix(app: &AppState) -> String {
    format!("/{}", app.app)
}

/// The routes of one app under `prefix` (empty for the default app), with its state. The
/// manifest and asset routes are registered with the full path rather than nested, so
/// serving them does not rewrite the request's URI.
fn app_routes<S: Clone + Send + Sync + 'static>(prefix: &str, state: AppState) -> Router<S> {
    Router::new()
        .route(
            &routes::manifest_path(prefix),
            get(manifest::handler)
                .post(manifest::handler)
                .with_state(state.clone()),
        )
        .route(
            &format!("{prefix}/assets/{{hash}}"),
            any(assets::asset).with_state(state.clone()),
        )
        // Only the admin API reads request bodies: the limit is set where it applies,
        // not on every manifest and asset request.
        .nest(
            &format!("{prefix}/admin"),
            admin::router(state.clone())
                .layer(DefaultBodyLimit::max(MAX_BODY))
                .with_state(state),
        )
}

fn not_found(uri: &axum::http::Uri, apps: &HashSet<Arc<str>>) -> ApiError {
    let mut segments = uri.path().trim_start_matches('/').splitn(2, '/');
    if let (Some(app), Some(rest)) = (segments.next(), segments.next())
        && !apps.contains(app)
        && app != "admin"
        && ["manifest", "assets/", "admin"]
            .iter()
            .any(|route| rest.starts_with(route))
    {
        return ApiError::not_found(format!(
            "no app named {app:?} on this server (apps are configured as [apps.NAME])"
        ));
    }
    ApiError::not_found(
        "no such endpoint (try /manifest, /assets/{hash}, /health, /metrics, /admin, or /{app}/manifest)",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        expo_updates::ErrorCode::METHOD_NOT_ALLOWED,
        "method not allowed on this endpoint",
    )
}

/// Runs the server until SIGINT or SIGTERM, then finishes the requests in flight.
pub async fn serve(
    settings: &Settings,
    serve: ServeSettings,
    signers: Option<SignerSet>,
    app_signers: BTreeMap<String, Option<SignerSet>>,
    data: Data,
) -> Result<()> {
    if serve.sample {
        seed_sample(settings, &serve, &data).await?;
    }
    let mut serve = serve;
    let (listener, address) = listen(&mut serve).await?;
    let cache = Arc::new(ManifestCache::default());
    let patch_index = serve
        .patches
        .enabled()
        .then(Arc::<patched::PatchIndex>::default);
    let (health, reports) = HealthRecorder::new(device_reports::QUEUE_CAPACITY);
    let flusher = tokio::spawn(
        Flusher {
            store: Arc::clone(&data.store),
            changes: Arc::<ManifestCache>::clone(&cache),
            receiver: reports,
            interval: serve.health_flush_interval,
            auto_rollback: serve.auto_rollback,
            max_devices: serve.health_max_devices,
        }
        .run(),
    );
    log_auto_rollback(&serve);
    let (default_responder, channel_responders) = responders(signers.as_ref(), &serve.headers)?;
    let state = AppState::new(AppShared {
        app: Arc::from(DEFAULT_APP),
        responder: default_responder,
        channel_responders,
        asset_headers: Arc::new(serve.headers.asset_headers()?),
        store: Arc::clone(&data.store),
        blobs: Arc::clone(&data.blobs),
        blob_memory: Arc::new(BlobMemory::new(
            serve.asset_memory,
            (serve.asset_memory / 8).min(memory::DEFAULT_MAX_ITEM),
        )),
        streams: Arc::new(StreamBudget::new(serve.limits.stream_memory)),
        cache: Arc::clone(&cache),
        patches: patch_index.clone(),
        signers: signers.map(Arc::new),
        public_url: serve.public_url.clone(),
        asset_urls: serve.asset_urls.clone(),
        trust_proxy: serve.trust_proxy,
        forwarded_hosts: Arc::new(serve.limits.forwarded_hosts.clone()),
        default_channel: settings.default_channel.clone(),
        admin_token_digest: serve.admin_token.as_deref().map(admin::token_digest),
        health,
        auto_rollback: serve.auto_rollback,
    });
    let apps = app_states(settings, &serve, &state, &app_signers)?;
    cache::refresh_channel_labels(data.store.as_ref()).await;
    let watcher = tokio::spawn(cache::watch_changes(
        Arc::clone(&data.store),
        Arc::clone(&cache),
    ));
    // Patches are built in this process, whoever published: see DESIGN.md.
    let patcher = patch_index.map(|index| {
        let patcher = patched::patcher(
            Arc::clone(&data.store),
            Arc::clone(&data.blobs),
            serve.patches,
            &index,
        );
        tokio::spawn(patched::follow_changes(patcher, cache, index))
    });
    let (metrics_tasks, app_metrics) = metrics_endpoint(&serve).await?;
    // Started before "listening" is logged: a server that says it listens can serve.
    let threads = ConnectionThreads::start(serve.limits.connection_threads)
        .map_err(|e| Error::Task(format!("cannot start the connection threads: {e}")))?;
    tracing::info!(
        %address,
        public_url = %serve.public_url,
        data_dir = %settings.data_dir.display(),
        signing = state.signers.is_some(),
        admin = state.admin_token_digest.is_some(),
        patches = serve.patches.bases,
        "listening"
    );
    listener::serve(
        listener,
        routes(state, apps, app_metrics),
        &serve.limits,
        &threads,
        shutdown_signal(),
    )
    .await;
    metrics_tasks
        .iter()
        .for_each(tokio::task::JoinHandle::abort);
    watcher.abort();
    if let Some(patcher) = patcher {
        patcher.abort();
    }
    // The server (and with it every recorder) is gone: the flusher writes what is left.
    if tokio::time::timeout(FINAL_FLUSH_TIMEOUT, flusher)
        .await
        .is_err()
    {
        tracing::error!("device reports were not all stored before shutdown");
    }
    tracing::info!("stopped");
    Ok(())
}

fn log_auto_rollback(serve: &ServeSettings) {
    if let Some(policy) = serve.auto_rollback {
        tracing::info!(
            threshold = policy.threshold(),
            min_devices = policy.min_devices(),
            "automatic rollback is on"
        );
    }
}

/// Where `/metrics` is served: its own listener with `--metrics-bind`, else on the app port
/// (the access rule returned for the router); the tasks returned (the recorder's upkeep,
/// the own listener) are aborted at shutdown.
async fn metrics_endpoint(
    serve: &ServeSettings,
) -> Result<(Vec<tokio::task::JoinHandle<()>>, Option<metrics::Access>)> {
    if !metrics::install() {
        tracing::warn!("another metrics recorder is installed: /metrics answers 404");
    }
    // The recorder's upkeep, and /metrics's own server with --metrics-bind.
    let mut tasks = vec![tokio::spawn(metrics::upkeep())];
    let access = metrics::Access::new(serve.limits.metrics_token.as_deref());
    Ok(match serve.limits.metrics_bind {
        Some(bind) => {
            tasks.push(metrics::serve_separately(bind, access, &serve.limits).await?);
            (tasks, None)
        }
        None => (tasks, Some(access)),
    })
}

/// Binds the listening socket; names the bound port in the default public URL.
async fn listen(
    serve: &mut ServeSettings,
) -> Result<(tokio::net::TcpListener, std::net::SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(serve.bind)
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {}: {e}", serve.bind)))?;
    let address = listener
        .local_addr()
        .map_err(|e| Error::Config(e.to_string()))?;
    serve.limits.max_connections = fd_limit::connections_within(serve.limits.max_connections);
    if serve.bind.port() == 0 && serve.public_url.as_str() == format!("http://{}", serve.bind) {
        // The default public URL names the bind address: name the port actually bound.
        serve.public_url = format!("http://{address}").parse()?;
    }
    Ok((listener, address))
}

/// Publishes the bundled sample into an empty database.
async fn seed_sample(settings: &Settings, serve: &ServeSettings, data: &Data) -> Result<()> {
    let seeded = sample::seed_if_empty(
        data.store.as_ref(),
        Arc::clone(&data.blobs),
        &settings.default_channel,
    )
    .await?;
    if !seeded.is_empty() {
        tracing::info!(
            runtime_version = sample::SAMPLE_RUNTIME_VERSION,
            channel = %settings.default_channel,
            "the database was empty: published the bundled sample update (disable with --sample=false); try: curl -H 'expo-platform: ios' -H 'expo-runtime-version: {}' {}/manifest",
            sample::SAMPLE_RUNTIME_VERSION,
            serve.public_url,
        );
    }
    Ok(())
}

/// The state of every configured app but the default: the default's, with the app's own
/// name, keys, token, channel and URL prefix.
fn app_states(
    settings: &Settings,
    serve: &ServeSettings,
    state: &AppState,
    app_signers: &BTreeMap<String, Option<SignerSet>>,
) -> Result<Vec<AppState>> {
    let mut apps = Vec::with_capacity(settings.apps.len());
    for (name, app) in &settings.apps {
        let signers = app_signers.get(name).cloned().flatten();
        if app.headers.asset_token.is_some() && serve.asset_urls.lifetime().is_some() {
            return Err(Error::Config(format!(
                "[apps.{name}.asset-token] needs asset URLs of this server or a CDN: presigned URLs never reach /assets"
            )));
        }
        let (responder, channel_responders) = responders(signers.as_ref(), &app.headers)?;
        apps.push(AppState::new(AppShared {
            app: Arc::from(name.as_str()),
            responder,
            channel_responders,
            asset_headers: Arc::new(app.headers.asset_headers()?),
            signers: signers.map(Arc::new),
            public_url: serve.public_url.with_segment(name),
            default_channel: settings.channel_of(name).to_owned(),
            admin_token_digest: app.admin_token.as_deref().map(admin::token_digest),
            ..AppShared::clone(state)
        }));
        tracing::info!(
            app = %name,
            signing = apps.last().is_some_and(|a| a.signers.is_some()),
            admin = app.admin_token.is_some(),
            "app configured: /{name}/manifest"
        );
    }
    let tokens = |state: &AppState| state.asset_headers.tokens().is_some();
    if (tokens(state) || apps.iter().any(tokens)) && !(tokens(state) && apps.iter().all(tokens)) {
        // Blobs are shared: any app's asset path serves any stored blob.
        tracing::warn!(
            "some apps need asset tokens and others do not: the bytes of a protected app's assets are also served, without a token, under the other apps' /assets paths"
        );
    }
    Ok(apps)
}

/// The responder of an app (its keys, its app-wide server-defined headers), and one per
/// channel with server-defined headers of its own.
fn responders(
    signers: Option<&SignerSet>,
    headers: &HeaderSettings,
) -> Result<(Arc<Responder>, ChannelResponders)> {
    let base = match signers {
        Some(signers) => Responder::new().with_signers(signers.clone()),
        None => Responder::new(),
    };
    let with_headers = |value: &str| -> Result<Arc<Responder>> {
        if value.is_empty() {
            return Ok(Arc::new(base.clone()));
        }
        // Checked when the settings were read; parsed again from their canonical form.
        let defined = ServerDefinedHeaders::parse(value)
            .and_then(|parsed| ServerDefinedHeaders::new(parsed.into_dictionary()))
            .map_err(|e| Error::Config(format!("server-defined-headers: {e}")))?;
        base.clone()
            .with_server_defined_headers(&defined)
            .map(Arc::new)
            .map_err(|e| Error::Config(format!("server-defined-headers: {e}")))
    };
    let channels = headers
        .channels
        .iter()
        .map(|(channel, value)| Ok((channel.clone(), with_headers(value)?)))
        .collect::<Result<BTreeMap<_, _>>>()?;
    Ok((with_headers(&headers.server_defined)?, Arc::new(channels)))
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT: shutting down"),
        () = terminate => tracing::info!("SIGTERM: shutting down"),
    }
}
