//! Asset answers, from any storage.
//!
//! Three steps, each usable alone:
//!
//! 1. [`AssetDescription::plan`] decides the answer from what is known of
//!    the asset (hash, media type, stored encodings and their lengths) and
//!    the request: encoding, status (200, 206, 304, 416), headers, and which
//!    bytes of which encoding to send. No byte is read.
//! 2. A [`StoredAsset`] reads exactly those bytes as an [`AssetBody`]: one
//!    buffer ([`InMemoryAsset`]), a file at an offset (`FileAsset`, feature
//!    `tokio`), or any stream of known length (an object store download).
//! 3. [`asset_response`] / [`serve_asset`] do both for an [`AssetSource`]
//!    (your storage, found by hash), and with the `patch` feature answer
//!    `226 IM Used` with a stored launch-asset patch when the client asks
//!    for one.

mod body;
#[cfg(feature = "tokio")]
mod file;
mod memory;
mod plan;
mod serve;

pub use body::AssetBody;
#[cfg(feature = "tokio")]
pub use file::{FileAsset, FileAssetError, FileSource};
pub use memory::InMemoryAsset;
pub use plan::{
    ASSET_CACHE_CONTROL, ASSET_CACHE_CONTROL_VALUE, AssetDescription, AssetPlan,
    asset_error_response,
};
#[cfg(feature = "patch")]
pub use serve::AssetPatch;
pub use serve::{StoredAsset, asset_response, respond_with, serve_asset};
