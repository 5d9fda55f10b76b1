//! `GET|POST /manifest`: the Expo Updates protocol endpoint.
//!
//! `expo-updates` reads the request and renders the answer; this server picks the scope
//! (the `expo-channel-name` header or the default channel) and takes what it serves from the
//! [`ManifestCache`](super::cache::ManifestCache), where it is serialized and signed once,
//! and each kind of answer rendered once ([`super::answers`]).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use expo_updates::{ProtocolError, RequestHeaders, Resolved, SourceError, UpdateRequest};

use super::metrics;
use super::served::{AssetLinks, request_base_url};
use super::state::AppState;

/// The manifest endpoint.
pub async fn manifest(State(state): State<AppState>, request: Request) -> Response {
    let (parts, _body) = request.into_parts();
    // One walk over the headers finds every protocol header, for both readers below.
    let mut headers = RequestHeaders::scan(&parts.headers);
    // Read (and rid of a malformed failed-ids list) before validation, queued after it:
    // a request the protocol refuses reports nothing.
    let observation = state.health.read(&mut headers);
    let responder = &state.responder;
    let answer = async {
        let request = UpdateRequest::from_method_and_headers(&parts.method, &headers)?;
        if let Some(observation) = observation {
            state.health.report(observation);
        }
        let channel = request.channel().unwrap_or(&state.default_channel);
        // The channel's branch (during a split, the install's `eas-client-id` split bucket
        // picks it), then during a partial rollout its rollout bucket picks the update.
        let entry = state
            .cache
            .for_channel(
                state.store.as_ref(),
                &state.app,
                channel,
                request.runtime_version().as_str(),
                request.platform(),
                request.client_id(),
            )
            .await
            .map_err(|e| source_error(&e))?;
        let base = request_base_url(
            &state.public_url,
            state.trust_proxy,
            &state.forwarded_hosts,
            &parts.headers,
        );
        let links = AssetLinks {
            urls: &state.asset_urls,
            blobs: state.blobs.as_ref(),
            base: base.as_ref(),
            headers: &state.asset_headers,
        };
        let answers = entry.answers(&links).await.map_err(|e| source_error(&e))?;
        let downloaded = match (answers.resolved(), &entry.update) {
            // A manifest the client does not run yet: it downloads that update.
            (Some(Resolved::Update(prepared)), Some(update))
                if request.current_update_id() != Some(prepared.id()) =>
            {
                Some(update.info.id)
            }
            _ => None,
        };
        // The channel's server-defined headers (the app's when it has none of its own).
        let response = answers.answer(state.responder_for(channel), &request)?;
        if let Some(id) = downloaded
            && response.status().is_success()
        {
            metrics::record_manifest_served(id, request.platform().as_str(), channel);
            if let Some(client_id) = request.client_id() {
                state.health.served(id, client_id);
            }
        }
        Ok(response)
    };
    answer
        .await
        .unwrap_or_else(|error| responder.error_response(&error).map(Body::new))
}

fn source_error(error: &crate::error::Error) -> ProtocolError {
    tracing::error!(%error, "manifest request failed");
    ProtocolError::Source(SourceError::new(error.to_string()))
}
