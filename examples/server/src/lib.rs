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
//! Layered bottom-up: a module uses only modules of its own layer or below, never one
//! above (DESIGN.md has the full map).
//!
//! 1. Shared types: [`error`] (hashes and platforms come from `expo_manifest`).
//! 2. Storage: [`blobs`], content-addressed bytes behind the [`blobs::BlobStore`] trait
//!    (local disk, S3) and where asset URLs point; [`store`], update metadata behind the
//!    [`store::MetadataStore`] trait (`SQLite`, `PostgreSQL`).
//! 3. Operations: [`publish`] (with [`compress`], [`app_config`], [`runtime`],
//!    [`source_maps`], [`project`]), [`ops`] (republish, rollbacks), [`promote`],
//!    [`remote_publish`], [`patches`], [`device_reports`] (launch and failure counts, the
//!    automatic rollback), [`sample`], [`check`], [`output`], [`asset_headers`] (the
//!    headers clients send for assets, signed asset tokens).
//! 4. Settings: [`settings`] (what commands and the server run with), [`data`] (the stores
//!    they name).
//! 5. Front ends, side by side: [`http`] (the server) and [`cli`] (the flags), with
//!    [`config`] (the file under the flags).
//! 6. [`commands`] and [`logging`]: one runner per command.
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
pub mod asset_headers;
pub mod blobs;
pub mod check;
pub mod cli;
pub mod commands;
pub mod compress;
pub mod config;
pub mod data;
pub mod device_reports;
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
pub mod settings;
pub mod source_maps;
pub mod store;
