//! The data model of the [Expo Updates v1 protocol](https://docs.expo.dev/technical-specs/expo-updates-1/):
//! manifests, assets, directives and extensions, the typed values inside them,
//! and reading the output of `npx expo export`.
//!
//! - [`Manifest`], [`Asset`], [`Directive`], [`Extensions`]: serde models whose
//!   serialization is deterministic (the same value gives the same bytes, which
//!   is what gets signed) and whose reading ignores unknown fields.
//! - [`UpdateId`], [`AssetHash`], [`Platform`], [`RuntimeVersion`],
//!   [`Timestamp`]: validated once, at construction.
//! - [`ExportDir`]: an `expo export` folder, hashed per platform.
//!
//! # Example
//!
//! ```
//! use expo_manifest::{ExportDir, Manifest, Platform, RuntimeVersion, Timestamp, UpdateId};
//!
//! # fn main() -> Result<(), expo_manifest::Error> {
//! let dist = concat!(env!("CARGO_MANIFEST_DIR"), "/../../test-fixtures/sample-export/dist");
//! let ios = ExportDir::open(dist)?.platform(Platform::Ios)?;
//! let url = |hash: &expo_manifest::AssetHash| format!("https://updates.example.com/assets/{hash}");
//!
//! let manifest = Manifest {
//!     id: UpdateId::new_v4(),
//!     created_at: Timestamp::now(),
//!     runtime_version: RuntimeVersion::new("1.0.0")?,
//!     launch_asset: ios.launch_asset.to_asset(url(&ios.launch_asset.hash)),
//!     assets: ios.assets.iter().map(|f| f.to_asset(url(&f.hash))).collect(),
//!     metadata: Default::default(),
//!     extra: Default::default(),
//! };
//! let bytes = manifest.to_json_bytes();
//! assert_eq!(Manifest::from_json_slice(&bytes)?, manifest);
//! assert_eq!(manifest.to_json_bytes(), bytes); // deterministic: safe to sign
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, reason = "tests may unwrap"))]

mod directive;
mod error;
pub mod export;
mod extensions;
mod hash;
mod manifest;
mod platform;
mod runtime_version;
mod timestamp;
mod update_id;

pub use directive::{Directive, MAX_DIRECTIVE_BYTES};
pub use error::Error;
pub use export::{ExportDir, ExportedFile, PlatformExport, content_type_for};
pub use extensions::Extensions;
pub use hash::{AssetHash, AssetHasher};
pub use manifest::{Asset, MAX_MANIFEST_BYTES, Manifest};
pub use platform::Platform;
pub use runtime_version::RuntimeVersion;
pub use timestamp::Timestamp;
pub use update_id::UpdateId;
