//! The Expo Updates v1 protocol over [`http`] types, for embedding in any
//! server (no web framework required).
//!
//! - [`UpdateRequest::from_parts`] validates a manifest request: protocol
//!   version, platform, runtime version, the negotiated response structure,
//!   the expected signature and the optional headers real clients send.
//! - An [`UpdateSource`] (your storage) resolves it to a [`PreparedUpdate`]
//!   or a [`PreparedDirective`], serialized once and signed once per key.
//! - A [`Responder`] (signing keys, certificate chain, SFV headers) turns the
//!   result into a conformant `http::Response`: JSON or `multipart/mixed`,
//!   `noUpdateAvailable` / `rollBackToEmbedded` directives, 204, 406, and JSON
//!   errors naming the header at fault.
//! - [`AssetDescription::plan`] answers asset requests: precompressed
//!   encodings, strong `ETag`s, `If-None-Match`, `Range`, `HEAD`.
//! - [`client`] checks a server from the outside: it builds requests, decodes
//!   answers, verifies signatures and asset hashes, and lists findings.
//! - With the `conformance` feature, `conformance` probes any server actively
//!   (negotiation, malformed headers, no-update answers, signatures, multipart
//!   framing, encodings, caching, ranges, asset-URL stability) over any HTTP
//!   client, with findings by spec section and `MUST` / `SHOULD` level.
//! - With the `tower` feature, `service::ManifestService` is the manifest
//!   endpoint as a `tower::Service`; with the `axum` feature,
//!   `service::router` serves manifests and assets.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use expo_manifest::{Manifest, Platform, RuntimeVersion};
//! use expo_updates::{InMemorySource, PreparedUpdate, Resolved, Responder, Target, UpdateRequest};
//!
//! let manifest = Manifest::from_json_slice(br#"{"id":"0754dad0-d200-d634-113c-ef1f26106028",
//!   "createdAt":"2024-01-31T12:34:56.789Z","runtimeVersion":"1","launchAsset":{
//!   "hash":"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU","key":"bundle",
//!   "contentType":"application/javascript","url":"https://u.example/a"},
//!   "assets":[],"metadata":{},"extra":{}}"#)?;
//! let mut source = InMemorySource::new();
//! source.set(
//!     Target { platform: Platform::Ios, runtime_version: RuntimeVersion::new("1")?, channel: None },
//!     Resolved::Update(Arc::new(PreparedUpdate::new(&manifest, None))),
//! );
//!
//! let (parts, ()) = http::Request::get("/manifest")
//!     .header("expo-protocol-version", "1")
//!     .header("expo-platform", "ios")
//!     .header("expo-runtime-version", "1")
//!     .header("accept", "application/expo+json")
//!     .body(())?
//!     .into_parts();
//! let request = UpdateRequest::from_parts(&parts)?;
//! let response = Responder::new().respond(&request, source.lookup(&request))?;
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.headers()["content-type"], "application/expo+json");
//! let body = response.into_body().into_bytes();
//! assert_eq!(Manifest::from_json_slice(&body)?, manifest);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, reason = "tests may unwrap"))]

mod asset;
mod body;
pub mod client;
#[cfg(feature = "conformance")]
pub mod conformance;
mod error;
pub mod headers;
mod prepared;
mod request;
mod response;
#[cfg(feature = "tower")]
pub mod service;
mod source;

pub use asset::{
    ASSET_CACHE_CONTROL, AssetDescription, AssetPlan, InMemoryAsset, asset_error_response,
};
pub use body::UpdateBody;
pub use error::{ProtocolError, SourceError};
pub use prepared::{PreparedDirective, PreparedUpdate};
pub use request::{
    MAX_CHANNEL_LEN, MAX_CLIENT_ID_LEN, MAX_FATAL_ERROR_LEN, ProtocolVersion, UpdateRequest,
};
pub use response::Responder;
pub use source::{AssetSource, InMemorySource, Resolved, Target, UpdateSource};

pub use expo_accept::{ContentCoding, ResponseFormat};
