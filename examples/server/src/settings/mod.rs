//! The settings commands and the server run with, once resolved (flags over environment
//! over the configuration file over defaults: see [`crate::config`]), and the value types
//! flags and the file share.

pub mod headers;
pub mod limits;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

use self::headers::HeaderSettings;
use self::limits::Limits;
use crate::blobs::{AssetUrls, PublicUrl};
use crate::device_reports::AutoRollback;
use crate::error::{Error, Result};
use crate::patches::PatchSettings;
use crate::store::DEFAULT_APP;

/// Default keyid of a signing key given without one (what `expo-updates codesigning:configure`
/// writes into app configs).
pub const DEFAULT_KEYID: &str = "main";

/// Largest configuration file read.
const MAX_CONFIG_SIZE: u64 = 1 << 20;

/// How logs are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `[KEYID=]PATH`: a key or certificate file and the keyid it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPath {
    /// The keyid.
    pub keyid: String,
    /// The PEM file.
    pub path: PathBuf,
}

impl FromStr for KeyPath {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (keyid, path) = match s.split_once('=') {
            Some((keyid, path)) => (keyid.trim(), path),
            None => (DEFAULT_KEYID, s),
        };
        if keyid.is_empty() {
            return Err(format!("empty keyid in {s:?} (expected [KEYID=]PATH)"));
        }
        if path.is_empty() {
            return Err(format!("empty path in {s:?} (expected [KEYID=]PATH)"));
        }
        Ok(Self {
            keyid: keyid.to_owned(),
            path: PathBuf::from(path),
        })
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.keyid, self.path.display())
    }
}

/// Settings every command uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Database and blobs.
    pub data_dir: PathBuf,
    /// `PostgreSQL` URL of the metadata; `SQLite` in the data directory when `None`.
    pub database_url: Option<String>,
    /// `s3://bucket/prefix` of the blobs; the data directory when `None`.
    pub storage: Option<String>,
    /// Channel when none is named.
    pub default_channel: String,
    /// Log format.
    pub log_format: LogFormat,
    /// How old the default app's updates get before `gc` deletes them (`gc-older-than`).
    pub gc_older_than: Option<std::time::Duration>,
    /// The other apps (`[apps.NAME]`), by name.
    pub apps: BTreeMap<String, AppSettings>,
}

impl Settings {
    /// The settings of `app`: `None` when it is neither the default app nor configured.
    pub fn app(&self, app: &str) -> Option<AppView<'_>> {
        if app == DEFAULT_APP {
            return Some(AppView {
                default_channel: &self.default_channel,
                gc_older_than: self.gc_older_than,
            });
        }
        self.apps.get(app).map(|settings| AppView {
            default_channel: settings
                .default_channel
                .as_deref()
                .unwrap_or(&self.default_channel),
            gc_older_than: settings.gc_older_than,
        })
    }

    /// The default channel of `app` (the global one for apps that set none, or that are not
    /// configured: commands may work on the store for any app).
    pub fn channel_of(&self, app: &str) -> &str {
        self.app(app)
            .map_or(self.default_channel.as_str(), |view| view.default_channel)
    }
}

/// What commands read of one app's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppView<'a> {
    /// Channel when none is named.
    pub default_channel: &'a str,
    /// Retention of `gc`.
    pub gc_older_than: Option<std::time::Duration>,
}

/// One `[apps.NAME]` table: an app served under `/NAME/...` with its own keys and token.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppSettings {
    /// Its admin bearer token (at least 16 characters); `None` disables its admin API.
    pub admin_token: Option<String>,
    /// Channel of its requests without `expo-channel-name` [default: the global one].
    pub default_channel: Option<String>,
    /// How old its updates get before `gc` deletes them.
    pub gc_older_than: Option<std::time::Duration>,
    /// Its signing keys, the default first; none: unsigned.
    pub signing_keys: Vec<SigningKeyConfig>,
    /// Its server-defined and asset request headers.
    pub headers: HeaderSettings,
}

/// Names an app cannot have: the first path segment of the server's own routes.
pub const RESERVED_APP_NAMES: [&str; 5] = ["admin", "assets", "health", "manifest", "metrics"];

/// `name` if it can be an app name: a valid name (as channels) that is one URL path segment
/// as it is (no `/`, `?`, `#`, `%` or space), and not a route of the server.
pub fn checked_app_name(name: &str) -> Result<String> {
    let name = crate::store::checked_name("app", name)?;
    if name
        .bytes()
        .any(|b| matches!(b, b'/' | b'?' | b'#' | b'%' | b' ' | b'\\'))
        || name == "."
        || name == ".."
    {
        return Err(Error::Invalid(format!(
            "app {name:?} must be usable as a URL path segment (no / ? # % \\ or space)"
        )));
    }
    if RESERVED_APP_NAMES.contains(&name.as_str()) {
        return Err(Error::Invalid(format!(
            "app {name:?} is a route of the server: pick another name"
        )));
    }
    Ok(name)
}

/// A signing key to load at startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyConfig {
    /// Its keyid.
    pub keyid: String,
    /// PEM private key.
    pub key: PathBuf,
    /// PEM certificate (chain), checked against the key.
    pub certificate: Option<PathBuf>,
}

/// Settings of `serve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeSettings {
    /// Listening address.
    pub bind: SocketAddr,
    /// Base of asset URLs, without a trailing slash.
    pub public_url: PublicUrl,
    /// Honour `x-forwarded-proto` / `x-forwarded-host`.
    pub trust_proxy: bool,
    /// The /admin bearer token.
    pub admin_token: Option<String>,
    /// Signing keys, the default first.
    pub signing_keys: Vec<SigningKeyConfig>,
    /// Publish the sample update into an empty database.
    pub sample: bool,
    /// Where asset URLs in manifests point.
    pub asset_urls: AssetUrls,
    /// Bytes of asset memory (see [`crate::blobs::BlobMemory`]).
    pub asset_memory: u64,
    /// Launch-asset patches.
    pub patches: PatchSettings,
    /// When to roll back a failing update; `None` when off.
    pub auto_rollback: Option<AutoRollback>,
    /// How often device reports are written to the store.
    pub health_flush_interval: std::time::Duration,
    /// Rows kept per update for its device counts.
    pub health_max_devices: u64,
    /// Timeouts, caps, `/metrics` and forwarded hosts.
    pub limits: Limits,
    /// The default app's server-defined and asset request headers.
    pub headers: HeaderSettings,
}

/// Reads a small text file (configuration, PEM, JSON) with a size limit.
pub fn read_limited(path: &Path) -> Result<String> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.len() > MAX_CONFIG_SIZE {
        return Err(Error::Config(format!(
            "{}: larger than {MAX_CONFIG_SIZE} bytes",
            path.display()
        )));
    }
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}
