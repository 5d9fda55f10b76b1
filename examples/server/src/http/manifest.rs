//! `GET|POST /manifest`: the Expo Updates protocol endpoint.
//!
//! `expo-updates` reads the request and renders the answer; this server picks the scope
//! (the `expo-channel-name` header or the default channel) and takes what it serves from the
//! [`ManifestCache`](super::cache::ManifestCache), where it is serialized and signed once,
//! and each kind of answer rendered once ([`super::answers`]).

use std::future::{Ready, ready};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::response::Response;
use expo_updates::{ProtocolError, RequestHeaders, Resolved, SourceError, UpdateRequest};
use futures_util::future::{BoxFuture, Either};

use super::answers::Answers;
use super::cache::ScopeEntry;
use super::metrics;
use super::served::{AssetLinks, request_base_url};
use super::state::AppState;

/// The manifest endpoint's future: ready at once when the answer is cached (the hot path
/// of every app launch runs within the call, with no future state to move around), boxed
/// when something must be loaded from the store first.
pub type ManifestFuture = Either<Ready<Response>, BoxFuture<'static, Response>>;

/// The manifest endpoint, as an axum handler.
pub fn handler(State(state): State<AppState>, request: Request) -> ManifestFuture {
    manifest(&state, request)
}

/// The answer of `state`'s app to a manifest `request`. The state is cloned only when
/// something must be loaded first: a cached answer touches no reference count shared with
/// the other connection threads.
pub fn manifest(state: &AppState, request: Request) -> ManifestFuture {
    let (parts, _body) = request.into_parts();
    // One walk over the headers finds every protocol header, for both readers below.
    let mut headers = RequestHeaders::scan(&parts.headers);
    // Read (and rid of a malformed failed-ids list) before validation, queued after it:
    // a request the protocol refuses reports nothing.
    let observation = state.health.read(&mut headers);
    let request = match UpdateRequest::from_method_and_headers(&parts.method, &headers) {
        Ok(request) => request,
        Err(error) => return Either::Left(ready(error_response(state, &error))),
    };
    if let Some(observation) = observation {
        state.health.report(observation);
    }
    let channel = request.channel().unwrap_or(&state.default_channel);
    // The channel's branch (during a split, the install's `eas-client-id` split bucket
    // picks it), then during a partial rollout its rollout bucket picks the update.
    let entry = state.cache.kept_for_channel(
        &state.app,
        channel,
        request.runtime_version().as_str(),
        request.platform(),
        request.client_id(),
    );
    if let Some(entry) = &entry {
        let base = request_base_url(
            &state.public_url,
            state.trust_proxy,
            &state.forwarded_hosts,
            &parts.headers,
        );
        if let Some(answers) = entry.kept_answers(&links(state, &base)) {
            let response = respond(state, &request, entry, &answers)
                .unwrap_or_else(|error| error_response(state, &error));
            return Either::Left(ready(response));
        }
    }
    Either::Right(Box::pin(load_and_answer(
        state.clone(),
        parts,
        request,
        entry,
    )))
}

/// The rest of [`manifest`] when the scope's entry (unless `kept`) or its answers must be
/// loaded or built first.
async fn load_and_answer(
    state: AppState,
    parts: Parts,
    request: UpdateRequest,
    kept: Option<Arc<ScopeEntry>>,
) -> Response {
    let answer = async {
        let entry = match kept {
            Some(entry) => entry,
            None => state
                .cache
                .for_channel(
                    state.store.as_ref(),
                    &state.app,
                    request.channel().unwrap_or(&state.default_channel),
                    request.runtime_version().as_str(),
                    request.platform(),
                    request.client_id(),
                )
                .await
                .map_err(|e| source_error(&e))?,
        };
        let base = request_base_url(
            &state.public_url,
            state.trust_proxy,
            &state.forwarded_hosts,
            &parts.headers,
        );
        let answers = entry
            .answers(&links(&state, &base))
            .await
            .map_err(|e| source_error(&e))?;
        respond(&state, &request, &entry, &answers)
    };
    answer
        .await
        .unwrap_or_else(|error| error_response(&state, &error))
}

fn links<'a>(state: &'a AppState, base: &'a str) -> AssetLinks<'a> {
    AssetLinks {
        urls: &state.asset_urls,
        blobs: state.blobs.as_ref(),
        base,
        headers: &state.asset_headers,
    }
}

/// The answer to `request` from the scope's `entry` and its rendered `answers`, counted.
fn respond(
    state: &AppState,
    request: &UpdateRequest,
    entry: &ScopeEntry,
    answers: &Answers,
) -> Result<Response, ProtocolError> {
    let downloaded = match (answers.resolved(), &entry.update) {
        // A manifest the client does not run yet: it downloads that update.
        (Some(Resolved::Update(prepared)), Some(update))
            if request.current_update_id() != Some(prepared.id()) =>
        {
            Some(update.info.id)
        }
        _ => None,
    };
    let channel = request.channel().unwrap_or(&state.default_channel);
    // The channel's server-defined headers (the app's when it has none of its own).
    let response = answers.answer(state.responder_for(channel), request)?;
    if let Some(id) = downloaded
        && response.status().is_success()
    {
        metrics::record_manifest_served(id, request.platform().as_str(), channel);
        if let Some(client_id) = request.client_id() {
            state.health.served(id, client_id);
        }
    }
    Ok(response)
}

fn error_response(state: &AppState, error: &ProtocolError) -> Response {
    state.responder.error_response(error).map(Body::new)
}

fn source_error(error: &crate::error::Error) -> ProtocolError {
    tracing::error!(%error, "manifest request failed");
    ProtocolError::Source(SourceError::new(error.to_string()))
}
