#![doc = include_str!("../README.md")]
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
