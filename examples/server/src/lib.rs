//! `expo-update-server`: a self-hosted [Expo Updates v1] server.
//!
//! ```text
//! npx expo export                                   # in the app
//! expo-update-server publish dist --channel production --message "Fix login"
//! expo-update-server serve --public-url https://updates.example.com
//! expo-update-server rollback --channel production --runtime-version 1.0.0
//! ```
//!
//! Metadata lives in `SQLite` (WAL) and blobs on disk, content-addressed and precompressed,
//! both under the data directory; at scale, metadata in `PostgreSQL` (`--database-url`) and
//! blobs in S3 (`--storage s3://…`), shared by several servers. Every command works on the
//! stores directly; a running server notices their changes within a second. See `--help`
//! and DESIGN.md.
//!
//! [Expo Updates v1]: https://docs.expo.dev/technical-specs/expo-updates-1/
//!
//! # Modules
//!
//! - [`store`]: update metadata behind the [`store::MetadataStore`] trait (`SQLite`,
//!   `PostgreSQL`).
//! - [`blobs`]: content-addressed bytes behind the [`blobs::BlobStore`] trait (local disk,
//!   S3), and where asset URLs point ([`blobs::AssetUrls`]).
//! - [`publish`], [`ops`]: publishing an export; republish and rollback.
//! - [`promote`]: copying an update to another server over its admin API.
//! - [`remote_publish`], [`runtime`]: publishing to a running server with its admin token;
//!   the runtime version of each platform.
//! - [`patches`]: building bsdiff patches of launch assets in the background.
//! - [`http`]: the server (assets, admin API, health, manifest cache).
//! - [`update_health`]: launch and failure counts per update from the devices' headers,
//!   and the automatic rollback.
//! - [`cli`], [`config`], [`commands`]: the command line and its settings.
//!
//! # Example
//!
//! ```
//! use expo_update_server::store::{AssetHash, Platform, Scope};
//!
//! let scope = Scope::new("default", "production", "1.0.0", Platform::Ios)?;
//! assert_eq!(scope.to_string(), "app default, channel production, runtime 1.0.0, ios");
//!
//! // Blobs are addressed by SHA-256: hex on disk, base64url in manifests.
//! let hash = AssetHash::of(b"hello");
//! assert_eq!(hash.to_string(), "LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ");
//! # Ok::<(), expo_update_server::error::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, reason = "tests may unwrap"))]

pub mod app_config;
pub mod blobs;
pub mod check;
pub mod cli;
pub mod commands;
pub mod compress;
pub mod config;
pub mod error;
pub mod http;
pub mod logging;
pub mod ops;
pub mod output;
pub mod patches;
pub mod project;
pub mod promote;
pub mod publish;
pub mod remote_publish;
pub mod runtime;
pub mod sample;
pub mod source_maps;
pub mod store;
pub mod update_health;
