//! `GET|POST /manifest`: the Expo Updates protocol endpoint.
//!
//! `expo-updates` reads the request and renders the answer; this server picks the scope
//! (the `expo-channel-name` header or the default channel) and takes what it serves from the
//! [`ManifestCache`](super::cache::ManifestCache), where it is serialized and signed once.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use expo_updates::{ProtocolError, SourceError, UpdateRequest};

use std::sync::Arc;

use super::cache::ScopeEntry;
use super::served::request_base_url;
use super::state::AppState;
use crate::store::{Scope, rollout};

/// The manifest endpoint.
pub async fn manifest(State(state): State<AppState>, request: Request) -> Response {
    let (parts, _body) = request.into_parts();
    let responder = &state.responder;
    let answer = async {
        let request = UpdateRequest::from_parts(&parts)?;
        let channel = request.channel().unwrap_or(&state.default_channel);
        let scope = Scope::new(
            &state.app,
            channel,
            request.runtime_version().as_str(),
            request.platform(),
        )
        .map_err(|e| ProtocolError::Source(SourceError::new(e.to_string())))?;
        let mut entry = state
            .cache
            .get(state.store.as_ref(), &scope)
            .await
            .map_err(|e| source_error(&e))?;
        if entry.in_rollout() {
            // A partial rollout: which update this install gets depends on its
            // `eas-client-id` bucket, so resolve it for this request.
            let update = rollout::resolve(state.store.as_ref(), &scope, request.client_id())
                .await
                .map_err(|e| source_error(&e))?;
            entry = Arc::new(ScopeEntry::new(update.map(Arc::new)));
        }
        let base = request_base_url(&state.public_url, state.trust_proxy, &parts.headers);
        let resolved = entry.resolved(&base).map_err(|e| source_error(&e))?;
        responder.respond(&request, resolved)
    };
    let response = answer
        .await
        .unwrap_or_else(|error| responder.error_response(&error));
    response.map(Body::new)
}

fn source_error(error: &crate::error::Error) -> ProtocolError {
    tracing::error!(%error, "manifest request failed");
    ProtocolError::Source(SourceError::new(error.to_string()))
}
