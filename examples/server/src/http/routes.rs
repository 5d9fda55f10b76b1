//! The service a connection calls: manifest requests go straight to their app's handler,
//! every other request through the axum [`Router`].
//!
//! A cached manifest answer costs about what axum's routing around it costs (the path
//! match, the `MatchedPath` extension, the boxed route service cloned for the request, the
//! state cloned into its extractor, the response mapped twice). `GET /manifest` is what
//! every app launch sends, so those requests skip it: an exact match of the path finds the
//! app, [`Tracking`] records the request as the route layer would (the same route label),
//! and [`manifest::manifest`] answers, the same function the router calls. Everything
//! else, `HEAD` and `POST` of those paths included, takes the router, which serves the
//! manifest paths too; an answer is the same either way.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::Method;
use axum::response::Response;
use axum::routing::future::RouteFuture;
use foldhash::HashMap;
use futures_util::FutureExt as _;
use futures_util::future::{Either, Map};

use super::manifest::{self, ManifestFuture};
use super::metrics::{TrackFuture, Tracking};
use super::state::AppState;

/// The future of a manifest request answered without the router.
type DirectFuture = TrackFuture<Map<ManifestFuture, fn(Response) -> Result<Response, Infallible>>>;

/// The future of [`Routes::respond`].
pub type RoutesFuture = Either<DirectFuture, RouteFuture<Infallible>>;

/// The router, with the manifest paths of its apps answered directly (see the module docs).
#[derive(Debug, Clone)]
pub struct Routes {
    router: Router,
    /// `/manifest` (the default app) and `/{app}/manifest`, each with its app's state.
    manifests: Arc<HashMap<Box<str>, AppState>>,
}

impl Routes {
    /// `router` alone: every request takes it.
    pub fn new(router: Router) -> Self {
        Self {
            router,
            manifests: Arc::default(),
        }
    }

    /// `router`, with `GET {prefix}/manifest` answered directly by each app's state.
    /// The router must serve the same paths with the same states.
    pub fn with_manifests(
        router: Router,
        apps: impl IntoIterator<Item = (String, AppState)>,
    ) -> Self {
        let manifests = apps
            .into_iter()
            .map(|(prefix, state)| (manifest_path(&prefix).into_boxed_str(), state))
            .collect();
        Self {
            router,
            manifests: Arc::new(manifests),
        }
    }

    /// The answer to `request`.
    pub fn respond(&self, request: Request) -> RoutesFuture {
        if request.method() == Method::GET
            && let Some((pattern, state)) = self.manifests.get_key_value(request.uri().path())
        {
            let tracking = Tracking::start(pattern, &request);
            let answer: fn(Response) -> Result<Response, Infallible> = Ok;
            return Either::Left(tracking.wrap(manifest::manifest(state, request).map(answer)));
        }
        Either::Right(tower::Service::call(&mut self.router.clone(), request))
    }
}

/// The manifest path of the app whose routes are under `prefix`: the router's route and
/// the direct path's key.
pub fn manifest_path(prefix: &str) -> String {
    format!("{prefix}/manifest")
}

impl tower::Service<Request> for Routes {
    type Response = Response;
    type Error = Infallible;
    type Future = RoutesFuture;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> RoutesFuture {
        self.respond(request)
    }
}
