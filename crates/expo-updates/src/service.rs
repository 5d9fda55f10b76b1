//! Ready-made services: a [`tower::Service`] for the manifest endpoint
//! (feature `tower`) and an axum [`Router`](axum::Router) serving manifests and
//! assets (feature `axum`).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};

use crate::body::UpdateBody;
use crate::response::Responder;
use crate::source::UpdateSource;

/// The manifest endpoint as a [`tower::Service`]: any request body is
/// ignored, every request gets an answer (errors are JSON responses).
#[derive(Debug)]
pub struct ManifestService<S> {
    source: Arc<S>,
    responder: Arc<Responder>,
}

impl<S> Clone for ManifestService<S> {
    fn clone(&self) -> Self {
        ManifestService {
            source: self.source.clone(),
            responder: self.responder.clone(),
        }
    }
}

impl<S: UpdateSource + 'static> ManifestService<S> {
    /// A service answering from `source` with `responder`.
    pub fn new(source: Arc<S>, responder: Arc<Responder>) -> Self {
        ManifestService { source, responder }
    }
}

impl<S: UpdateSource + 'static, B> tower::Service<Request<B>> for ManifestService<S> {
    type Response = Response<UpdateBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<UpdateBody>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let (parts, _body) = request.into_parts();
        let this = self.clone();
        Box::pin(async move { Ok(this.responder.handle(&*this.source, &parts).await) })
    }
}

#[cfg(feature = "axum")]
pub use self::axum_router::router;

#[cfg(feature = "axum")]
mod axum_router {
    use std::sync::Arc;

    use axum::Router;
    use axum::body::Body;
    use axum::extract::{Path, Request, State};
    use axum::routing::any;
    use expo_manifest::AssetHash;

    use super::ManifestService;
    use crate::asset::{AssetBody, asset_error_response, serve_asset};
    use crate::error::ProtocolError;
    use crate::response::Responder;
    use crate::source::{AssetSource, UpdateSource};

    /// A router with the manifest endpoint at `/manifest` (GET and POST) and
    /// assets at `/assets/{hash}` (GET and HEAD, answered by
    /// [`serve_asset`](crate::serve_asset)), the URLs
    /// [`InMemorySource::publish_export`](crate::InMemorySource::publish_export)
    /// writes into manifests. Nest it under a prefix or merge it into an
    /// existing application.
    pub fn router<S, A>(source: Arc<S>, assets: Arc<A>, responder: Responder) -> Router
    where
        S: UpdateSource + 'static,
        A: AssetSource + 'static,
    {
        let manifest = ManifestService::new(source, Arc::new(responder));
        Router::new()
            .route_service(
                "/manifest",
                tower::ServiceExt::<Request>::map_response(manifest, |r: http::Response<_>| {
                    r.map(Body::new)
                }),
            )
            .route("/assets/{hash}", any(asset::<A>))
            .with_state(assets)
    }

    async fn asset<A: AssetSource>(
        State(assets): State<Arc<A>>,
        Path(hash): Path<String>,
        request: Request,
    ) -> http::Response<Body> {
        let (parts, _) = request.into_parts();
        let response = match hash.parse::<AssetHash>() {
            Ok(hash) => serve_asset(&*assets, &hash, &parts).await,
            Err(_) => asset_error_response(&ProtocolError::AssetNotFound).map(AssetBody::full),
        };
        response.map(Body::new)
    }
}
