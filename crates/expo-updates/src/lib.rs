#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, reason = "tests may unwrap"))]

mod asset;
#[cfg(feature = "test-suite")]
pub mod asset_suite;
mod body;
pub mod client;
#[cfg(feature = "conformance")]
pub mod conformance;
mod error;
mod error_body;
pub mod headers;
mod prepared;
mod request;
pub mod request_headers;
mod response;
#[cfg(feature = "tower")]
pub mod service;
mod source;

#[cfg(feature = "patch")]
pub use asset::AssetPatch;
pub use asset::{
    ASSET_CACHE_CONTROL, ASSET_CACHE_CONTROL_VALUE, AssetBody, AssetDescription, AssetPlan,
    InMemoryAsset, StoredAsset, asset_error_response, asset_response, respond_with, serve_asset,
};
#[cfg(feature = "tokio")]
pub use asset::{FileAsset, FileAssetError, FileSource};
pub use body::UpdateBody;
pub use error::{HeaderValueError, ProtocolError, SourceError};
pub use error_body::{ErrorBody, ErrorCode, ErrorTarget};
pub use prepared::{FilterMismatch, PreparedDirective, PreparedUpdate};
pub use request::{
    MAX_CHANNEL_LEN, MAX_CLIENT_ID_LEN, MAX_FATAL_ERROR_LEN, MAX_NAME_LEN, ProtocolVersion,
    UpdateRequest, check_name,
};
pub use request_headers::{RequestHeader, RequestHeaders};
pub use response::Responder;
pub use source::{AssetSource, InMemorySource, Resolved, Target, UpdateSource, export_manifest};

pub use expo_accept::{ContentCoding, ResponseFormat};
