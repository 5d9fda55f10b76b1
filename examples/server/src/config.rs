//! The configuration file, merged under flags and environment variables into the
//! [`crate::settings`] commands run with.
//!
//! ```toml
//! data-dir = "/var/lib/expo-updates"      # relative paths are relative to this file
//! # database-url = "postgres://expo@db.internal/expo_updates"   # default: SQLite in data-dir
//! default-channel = "production"
//! log-format = "json"
//!
//! [serve]
//! bind = "0.0.0.0:3000"
//! public-url = "https://updates.example.com"
//! trust-proxy = true
//! admin-token = "…"
//! sample = false
//! auto-rollback-threshold = 0.2           # roll back when 20% of devices fail (default: off)
//! auto-rollback-min-devices = 50
//!
//! [[serve.signing-keys]]
//! keyid = "main"
//! key = "keys/private-key.pem"
//! certificate = "keys/certificate.pem"
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::blobs::AssetUrls;
use crate::blobs::urls::HumanDuration;
use crate::cli::{AssetUrlMode, Cli, ServeArgs};
use crate::device_reports::{AutoRollback, DEFAULT_FLUSH_INTERVAL};
use crate::error::{Error, Result};
use crate::patches::{MAX_BASES, PatchSettings};
use crate::settings::headers::{FileAssetToken, FileChannel, FileHeaders, HeaderSettings};
use crate::settings::limits::{LimitArgs, Limits};
use crate::settings::{
    AppSettings, DEFAULT_KEYID, KeyPath, LogFormat, ServeSettings, Settings, SigningKeyConfig,
    checked_app_name, read_limited,
};
use crate::store::DEFAULT_APP;

/// Default listening address.
pub const DEFAULT_BIND: &str = "127.0.0.1:3000";
/// Default data directory, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "expo-updates-data";
/// Default channel name.
pub const DEFAULT_CHANNEL: &str = "default";
/// Default lifetime of presigned asset URLs.
pub const DEFAULT_PRESIGN_EXPIRY: std::time::Duration = std::time::Duration::from_hours(1);
/// Longest lifetime S3 allows a presigned URL.
pub const MAX_PRESIGN_EXPIRY: std::time::Duration = std::time::Duration::from_hours(7 * 24);
/// Default number of devices the automatic rollback waits for.
pub const DEFAULT_AUTO_ROLLBACK_MIN_DEVICES: u64 = 50;
/// Longest time device reports wait in memory.
pub const MAX_HEALTH_FLUSH_INTERVAL: std::time::Duration = std::time::Duration::from_hours(1);

/// The configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    storage: Option<String>,
    default_channel: Option<String>,
    log_format: Option<LogFormat>,
    gc_older_than: Option<HumanDuration>,
    #[serde(default)]
    serve: FileServe,
    #[serde(default)]
    apps: BTreeMap<String, FileApp>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileApp {
    admin_token: Option<String>,
    default_channel: Option<String>,
    gc_older_than: Option<HumanDuration>,
    #[serde(default)]
    signing_keys: Vec<FileSigningKey>,
    #[serde(default)]
    server_defined_headers: BTreeMap<String, toml::Value>,
    #[serde(default)]
    channels: BTreeMap<String, FileChannel>,
    #[serde(default)]
    asset_request_headers: BTreeMap<String, String>,
    asset_token: Option<FileAssetToken>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileServe {
    bind: Option<SocketAddr>,
    public_url: Option<String>,
    trust_proxy: Option<bool>,
    admin_token: Option<String>,
    sample: Option<bool>,
    asset_urls: Option<AssetUrlMode>,
    presign_expiry: Option<HumanDuration>,
    cdn_base_url: Option<String>,
    asset_memory_mb: Option<u64>,
    patches: Option<u8>,
    patch_timeout: Option<HumanDuration>,
    #[serde(default)]
    signing_keys: Vec<FileSigningKey>,
    auto_rollback_threshold: Option<f64>,
    auto_rollback_min_devices: Option<u64>,
    health_flush_interval: Option<HumanDuration>,
    health_max_devices: Option<u64>,
    // Limits (see `settings::limits`).
    header_read_timeout: Option<HumanDuration>,
    idle_timeout: Option<HumanDuration>,
    body_timeout: Option<HumanDuration>,
    send_timeout: Option<HumanDuration>,
    max_connections: Option<usize>,
    max_in_flight: Option<usize>,
    stream_memory_mb: Option<u64>,
    shutdown_timeout: Option<HumanDuration>,
    connection_threads: Option<usize>,
    metrics_bind: Option<SocketAddr>,
    metrics_token: Option<String>,
    #[serde(default)]
    forwarded_hosts: Vec<String>,
    #[serde(default)]
    server_defined_headers: BTreeMap<String, toml::Value>,
    #[serde(default)]
    channels: BTreeMap<String, FileChannel>,
    #[serde(default)]
    asset_request_headers: BTreeMap<String, String>,
    asset_token: Option<FileAssetToken>,
}

/// The header tables of `[serve]` and `[apps.NAME]`: the same four members in both.
macro_rules! file_headers {
    ($table:expr) => {
        FileHeaders {
            server_defined_headers: $table.server_defined_headers.clone(),
            channels: $table.channels.clone(),
            asset_request_headers: $table.asset_request_headers.clone(),
            asset_token: $table.asset_token.clone(),
        }
    };
}

impl FileServe {
    /// The limits the file sets, as flags.
    fn limits(&self) -> LimitArgs {
        LimitArgs {
            header_read_timeout: self.header_read_timeout,
            idle_timeout: self.idle_timeout,
            body_timeout: self.body_timeout,
            send_timeout: self.send_timeout,
            max_connections: self.max_connections,
            max_in_flight: self.max_in_flight,
            stream_memory_mb: self.stream_memory_mb,
            shutdown_timeout: self.shutdown_timeout,
            connection_threads: self.connection_threads,
            metrics_bind: self.metrics_bind,
            metrics_token: self.metrics_token.clone(),
            forwarded_hosts: self.forwarded_hosts.clone(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileSigningKey {
    keyid: Option<String>,
    key: PathBuf,
    certificate: Option<PathBuf>,
}

/// The configuration file (if any) with the paths in it made relative to its folder.
#[derive(Debug, Default)]
pub struct Loaded {
    file: FileConfig,
    base: PathBuf,
}

impl Loaded {
    /// Reads `--config`, if given.
    pub fn read(path: Option<&Path>) -> Result<Self> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = read_limited(path)?;
        let file: FileConfig =
            toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(Self { file, base })
    }

    fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base.join(path)
        }
    }

    /// Settings of every command: flags and environment over the file over defaults.
    pub fn settings(&self, cli: &Cli) -> Settings {
        Settings {
            data_dir: cli
                .data_dir
                .clone()
                .or_else(|| self.file.data_dir.as_deref().map(|p| self.resolve(p)))
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            database_url: cli
                .database_url
                .clone()
                .or_else(|| self.file.database_url.clone()),
            storage: cli.storage.clone().or_else(|| self.file.storage.clone()),
            default_channel: cli
                .default_channel
                .clone()
                .or_else(|| self.file.default_channel.clone())
                .unwrap_or_else(|| DEFAULT_CHANNEL.to_owned()),
            log_format: cli.log_format.or(self.file.log_format).unwrap_or_default(),
            gc_older_than: self.file.gc_older_than.map(|d| d.0),
            apps: BTreeMap::new(),
        }
    }

    /// [`Self::settings`] with the `[apps.NAME]` tables checked and loaded.
    pub fn settings_with_apps(&self, cli: &Cli) -> Result<Settings> {
        let mut settings = self.settings(cli);
        for (name, app) in &self.file.apps {
            let checked = checked_app_name(name)?;
            if checked == DEFAULT_APP {
                return Err(Error::Config(format!(
                    "[apps.{DEFAULT_APP}]: the default app is configured at the top level and in [serve]"
                )));
            }
            if let Some(channel) = &app.default_channel {
                crate::store::checked_name("default channel", channel)?;
            }
            check_admin_token(app.admin_token.as_deref())?;
            let signing_keys = self.signing_keys(&app.signing_keys);
            check_unique_keyids(&signing_keys)?;
            let headers = HeaderSettings::resolve(&format!("apps.{checked}"), &file_headers!(app))?;
            settings.apps.insert(
                checked,
                AppSettings {
                    admin_token: app.admin_token.clone(),
                    default_channel: app.default_channel.clone(),
                    gc_older_than: app.gc_older_than.map(|d| d.0),
                    signing_keys,
                    headers,
                },
            );
        }
        Ok(settings)
    }

    fn signing_keys(&self, keys: &[FileSigningKey]) -> Vec<SigningKeyConfig> {
        keys.iter()
            .map(|k| SigningKeyConfig {
                keyid: k.keyid.clone().unwrap_or_else(|| DEFAULT_KEYID.to_owned()),
                key: self.resolve(&k.key),
                certificate: k.certificate.as_deref().map(|c| self.resolve(c)),
            })
            .collect()
    }

    /// Settings of `serve`.
    pub fn serve(&self, args: &ServeArgs) -> Result<ServeSettings> {
        let file = &self.file.serve;
        let bind = match args.bind.or(file.bind) {
            Some(bind) => bind,
            None => DEFAULT_BIND
                .parse()
                .map_err(|_| Error::Config("default bind address".into()))?,
        };
        let public_url = args
            .public_url
            .clone()
            .or_else(|| file.public_url.clone())
            .unwrap_or_else(|| format!("http://{bind}"))
            .parse()?;
        let signing_keys = if args.signing_keys.is_empty() {
            self.signing_keys(&file.signing_keys)
        } else {
            pair_keys_and_certs(&args.signing_keys, &args.signing_certs)?
        };
        if args.signing_keys.is_empty() && !args.signing_certs.is_empty() {
            return Err(Error::Config(
                "--signing-cert needs a --signing-key with the same keyid".into(),
            ));
        }
        check_unique_keyids(&signing_keys)?;
        let admin_token = args
            .admin_token
            .clone()
            .or_else(|| file.admin_token.clone());
        check_admin_token(admin_token.as_deref())?;
        let cdn_base_url = args
            .cdn_base_url
            .clone()
            .or_else(|| file.cdn_base_url.clone());
        let asset_urls = match (args.asset_urls.or(file.asset_urls), cdn_base_url) {
            (None | Some(AssetUrlMode::Cdn), Some(base)) => AssetUrls::Cdn {
                base: base.parse()?,
            },
            (Some(AssetUrlMode::Cdn), None) => {
                return Err(Error::Config(
                    "--asset-urls cdn needs --cdn-base-url".into(),
                ));
            }
            (Some(mode), Some(_)) => {
                return Err(Error::Config(format!(
                    "--cdn-base-url conflicts with --asset-urls {}",
                    if mode == AssetUrlMode::Server {
                        "server"
                    } else {
                        "presigned"
                    }
                )));
            }
            (Some(AssetUrlMode::Presigned), None) => {
                let expiry = args
                    .presign_expiry
                    .or(file.presign_expiry)
                    .map_or(DEFAULT_PRESIGN_EXPIRY, |d| d.0);
                if expiry > MAX_PRESIGN_EXPIRY || expiry.is_zero() {
                    return Err(Error::Config(
                        "--presign-expiry must be between 1s and 7d (the S3 limit)".into(),
                    ));
                }
                AssetUrls::Presigned { expiry }
            }
            (None | Some(AssetUrlMode::Server), None) => AssetUrls::Server,
        };
        let patches = patch_settings(args, file)?;
        let headers = HeaderSettings::resolve("serve", &file_headers!(file))?;
        if headers.asset_token.is_some() && matches!(asset_urls, AssetUrls::Presigned { .. }) {
            return Err(Error::Config(
                "[serve.asset-token] needs asset URLs of this server or a CDN: presigned URLs never reach /assets (they carry their own signature)".into(),
            ));
        }
        let (auto_rollback, health_flush_interval) = health_settings(args, file)?;
        Ok(ServeSettings {
            auto_rollback,
            health_flush_interval,
            health_max_devices: args
                .health_max_devices
                .or(file.health_max_devices)
                .unwrap_or(crate::device_reports::DEFAULT_MAX_DEVICES_PER_UPDATE)
                .max(1),
            asset_urls,
            patches,
            bind,
            public_url,
            trust_proxy: args.trust_proxy.or(file.trust_proxy).unwrap_or(false),
            admin_token,
            signing_keys,
            sample: args.sample.or(file.sample).unwrap_or(true),
            asset_memory: asset_memory_bytes(args.asset_memory_mb.or(file.asset_memory_mb))?,
            limits: Limits::resolve(&args.limits.or(&file.limits()))?,
            headers,
        })
    }
}

fn check_unique_keyids(keys: &[SigningKeyConfig]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for key in keys {
        if !seen.insert(&key.keyid) {
            return Err(Error::Config(format!(
                "signing keyid {:?} given twice",
                key.keyid
            )));
        }
    }
    Ok(())
}

fn check_admin_token(token: Option<&str>) -> Result<()> {
    if token.is_some_and(|t| t.len() < 16) {
        return Err(Error::Config(
            "the admin token must be at least 16 characters long".into(),
        ));
    }
    Ok(())
}

/// Largest asset memory accepted: far beyond any app's assets, and safe to multiply.
const MAX_ASSET_MEMORY_MB: u64 = 1024 * 1024;

fn asset_memory_bytes(mib: Option<u64>) -> Result<u64> {
    match mib {
        None => Ok(crate::blobs::memory::DEFAULT_BUDGET),
        Some(mib) if mib <= MAX_ASSET_MEMORY_MB => Ok(mib * 1024 * 1024),
        Some(mib) => Err(Error::Config(format!(
            "--asset-memory-mb {mib} is more than {MAX_ASSET_MEMORY_MB} MiB"
        ))),
    }
}

/// `--patches`, `--no-patches` and `--patch-timeout` over the file over defaults.
fn patch_settings(args: &ServeArgs, file: &FileServe) -> Result<PatchSettings> {
    let bases = if args.no_patches {
        0
    } else {
        args.patches
            .or(file.patches)
            .unwrap_or(crate::patches::DEFAULT_BASES)
    };
    if bases > MAX_BASES {
        return Err(Error::Config(format!(
            "patches = {bases}: at most {MAX_BASES} earlier updates"
        )));
    }
    let timeout = args
        .patch_timeout
        .or(file.patch_timeout)
        .map_or(crate::patches::DEFAULT_TIMEOUT, |d| d.0);
    if timeout.is_zero() {
        return Err(Error::Config("--patch-timeout must be above 0".into()));
    }
    Ok(PatchSettings {
        bases,
        timeout,
        ..PatchSettings::default()
    })
}

/// The automatic rollback policy and the health flush interval.
fn health_settings(
    args: &ServeArgs,
    file: &FileServe,
) -> Result<(Option<AutoRollback>, std::time::Duration)> {
    let min_devices = args
        .auto_rollback_min_devices
        .or(file.auto_rollback_min_devices);
    let auto_rollback = match args
        .auto_rollback_threshold
        .or(file.auto_rollback_threshold)
    {
        Some(threshold) => Some(AutoRollback::new(
            threshold,
            min_devices.unwrap_or(DEFAULT_AUTO_ROLLBACK_MIN_DEVICES),
        )?),
        None if min_devices.is_some() => {
            return Err(Error::Config(
                "--auto-rollback-min-devices needs --auto-rollback-threshold".into(),
            ));
        }
        None => None,
    };
    let health_flush_interval = args
        .health_flush_interval
        .or(file.health_flush_interval)
        .map_or(DEFAULT_FLUSH_INTERVAL, |d| d.0);
    if health_flush_interval.is_zero() || health_flush_interval > MAX_HEALTH_FLUSH_INTERVAL {
        return Err(Error::Config(
            "--health-flush-interval must be between 1s and 1h".into(),
        ));
    }
    Ok((auto_rollback, health_flush_interval))
}

fn pair_keys_and_certs(keys: &[KeyPath], certs: &[KeyPath]) -> Result<Vec<SigningKeyConfig>> {
    for cert in certs {
        if !keys.iter().any(|k| k.keyid == cert.keyid) {
            return Err(Error::Config(format!(
                "certificate {cert} has no --signing-key with keyid {:?}",
                cert.keyid
            )));
        }
    }
    Ok(keys
        .iter()
        .map(|key| SigningKeyConfig {
            keyid: key.keyid.clone(),
            key: key.path.clone(),
            certificate: certs
                .iter()
                .find(|c| c.keyid == key.keyid)
                .map(|c| c.path.clone()),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::blobs::PublicUrl;
    use crate::cli::Command;

    fn serve_args(cli: &Cli) -> &ServeArgs {
        match &cli.command {
            Command::Serve(args) => args,
            other => panic!("not serve: {other:?}"),
        }
    }

    #[test]
    fn defaults_without_anything() {
        let cli = Cli::try_parse_from(["x", "serve"]).unwrap();
        let loaded = Loaded::default();
        let settings = loaded.settings(&cli);
        assert_eq!(settings.data_dir, PathBuf::from("expo-updates-data"));
        assert_eq!(settings.default_channel, "default");
        let serve = loaded.serve(serve_args(&cli)).unwrap();
        assert_eq!(serve.bind.to_string(), "127.0.0.1:3000");
        assert_eq!(serve.public_url.as_str(), "http://127.0.0.1:3000");
        assert!(!serve.trust_proxy && serve.sample && serve.signing_keys.is_empty());
    }

    #[test]
    fn flags_override_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.toml");
        std::fs::write(
            &path,
            r#"
data-dir = "data"
default-channel = "production"
[serve]
bind = "0.0.0.0:8080"
public-url = "https://updates.example.com/"
trust-proxy = true
[[serve.signing-keys]]
key = "keys/key.pem"
certificate = "/etc/cert.pem"
"#,
        )
        .unwrap();
        let loaded = Loaded::read(Some(&path)).unwrap();

        let cli = Cli::try_parse_from(["x", "serve"]).unwrap();
        let settings = loaded.settings(&cli);
        assert_eq!(settings.data_dir, dir.path().join("data"));
        assert_eq!(settings.default_channel, "production");
        let serve = loaded.serve(serve_args(&cli)).unwrap();
        assert_eq!(serve.bind.to_string(), "0.0.0.0:8080");
        assert_eq!(serve.public_url.as_str(), "https://updates.example.com");
        assert_eq!(serve.public_url.path(), "");
        assert!(serve.trust_proxy);
        let prefixed: PublicUrl = "https://example.com:8443/expo/".parse().unwrap();
        assert_eq!(prefixed.as_str(), "https://example.com:8443/expo");
        assert_eq!(
            (prefixed.scheme(), prefixed.authority(), prefixed.path()),
            ("https", "example.com:8443", "/expo")
        );
        assert_eq!(
            serve.signing_keys,
            vec![SigningKeyConfig {
                keyid: "main".into(),
                key: dir.path().join("keys/key.pem"),
                certificate: Some(PathBuf::from("/etc/cert.pem")),
            }]
        );

        let cli = Cli::try_parse_from([
            "x",
            "--data-dir",
            "/d",
            "serve",
            "--bind",
            "127.0.0.1:9",
            "--trust-proxy=false",
            "--signing-key",
            "new=/k2.pem,old=/k1.pem",
            "--signing-cert",
            "old=/c1.pem",
        ])
        .unwrap();
        assert_eq!(loaded.settings(&cli).data_dir, PathBuf::from("/d"));
        let serve = loaded.serve(serve_args(&cli)).unwrap();
        assert_eq!(serve.bind.to_string(), "127.0.0.1:9");
        assert!(!serve.trust_proxy);
        let ids: Vec<_> = serve
            .signing_keys
            .iter()
            .map(|k| k.keyid.as_str())
            .collect();
        assert_eq!(ids, ["new", "old"]);
        assert_eq!(
            serve.signing_keys[1].certificate,
            Some(PathBuf::from("/c1.pem"))
        );
    }

    #[test]
    fn patch_settings() {
        let serve = |args: &[&str], file: &str| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("server.toml");
            std::fs::write(&path, format!("[serve]\n{file}")).unwrap();
            let cli = Cli::try_parse_from(args).unwrap();
            Loaded::read(Some(&path))
                .unwrap()
                .serve(serve_args(&cli))
                .map(|s| s.patches)
        };
        let defaults = serve(&["x", "serve"], "").unwrap();
        assert_eq!(defaults, PatchSettings::default());
        assert_eq!(defaults.bases, 3);
        assert!(defaults.enabled());
        let from_file = serve(&["x", "serve"], "patches = 5\npatch-timeout = \"30s\"").unwrap();
        assert_eq!(
            (from_file.bases, from_file.timeout),
            (5, std::time::Duration::from_secs(30))
        );
        assert_eq!(
            serve(&["x", "serve", "--patches", "1"], "patches = 5")
                .unwrap()
                .bases,
            1
        );
        assert!(
            !serve(&["x", "serve", "--no-patches"], "patches = 5")
                .unwrap()
                .enabled()
        );
        assert!(serve(&["x", "serve"], "patches = 21").is_err());
        assert!(serve(&["x", "serve", "--patch-timeout", "0s"], "").is_err());
        assert!(Cli::try_parse_from(["x", "serve", "--patches", "21"]).is_err());
        assert!(Cli::try_parse_from(["x", "serve", "--patches", "1", "--no-patches"]).is_err());
    }

    #[test]
    fn header_tables_are_read_for_the_default_app_and_checked_against_presigned_urls() {
        let serve = |args: &[&str], file: &str| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("server.toml");
            std::fs::write(&path, file).unwrap();
            let cli = Cli::try_parse_from(args).unwrap();
            Loaded::read(Some(&path))
                .and_then(|loaded| loaded.serve(serve_args(&cli)))
                .map(|s| s.headers)
        };
        let token = "[serve.asset-token]\nsecret = \"0123456789abcdef0123456789abcdef\"\n";
        let headers = serve(
            &["x", "serve"],
            &format!("[serve.server-defined-headers]\nx-a = \"1\"\n{token}"),
        )
        .unwrap();
        assert_eq!(headers.server_defined, r#"x-a="1""#);
        assert!(headers.asset_token.is_some());
        let err = serve(&["x", "serve", "--asset-urls", "presigned"], token).unwrap_err();
        assert!(err.to_string().contains("asset-token"), "{err}");
        // A misspelt table is refused, not ignored.
        assert!(
            serve(
                &["x", "serve"],
                "[serve.server-defined-header]\nx = \"1\"\n"
            )
            .is_err()
        );
    }

    #[test]
    fn the_example_file_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("expo-update-server.example.toml");
        let loaded = Loaded::read(Some(&path)).unwrap();
        let cli = Cli::try_parse_from(["x", "serve"]).unwrap();
        assert_eq!(loaded.settings(&cli).log_format, LogFormat::Json);
        let serve = loaded.serve(serve_args(&cli)).unwrap();
        assert_eq!(serve.public_url.as_str(), "https://updates.example.com");
        assert_eq!(serve.signing_keys.len(), 1);
        assert!(!serve.sample);
        assert_eq!(serve.limits.forwarded_hosts, ["updates.example.com"]);
        assert_eq!(serve.limits.max_in_flight, 1024);
        // Flags win over the file's limits.
        let cli = Cli::try_parse_from(["x", "serve", "--max-in-flight", "7"]).unwrap();
        assert_eq!(
            loaded.serve(serve_args(&cli)).unwrap().limits.max_in_flight,
            7
        );
    }

    #[test]
    fn auto_rollback_settings() {
        let cli = Cli::try_parse_from(["x", "serve"]).unwrap();
        let serve = Loaded::default().serve(serve_args(&cli)).unwrap();
        assert_eq!(serve.auto_rollback, None, "off by default");
        assert_eq!(serve.health_flush_interval, DEFAULT_FLUSH_INTERVAL);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.toml");
        std::fs::write(
            &path,
            "[serve]\nauto-rollback-threshold = 0.3\nhealth-flush-interval = \"5s\"\n",
        )
        .unwrap();
        let loaded = Loaded::read(Some(&path)).unwrap();
        let serve = loaded.serve(serve_args(&cli)).unwrap();
        assert_eq!(
            serve.auto_rollback,
            Some(AutoRollback::new(0.3, DEFAULT_AUTO_ROLLBACK_MIN_DEVICES).unwrap())
        );
        assert_eq!(serve.health_flush_interval.as_secs(), 5);
        let cli = Cli::try_parse_from([
            "x",
            "serve",
            "--auto-rollback-threshold",
            "0.2",
            "--auto-rollback-min-devices",
            "10",
        ])
        .unwrap();
        let serve = loaded.serve(serve_args(&cli)).unwrap();
        assert_eq!(
            serve.auto_rollback,
            Some(AutoRollback::new(0.2, 10).unwrap())
        );

        for args in [
            &["x", "serve", "--auto-rollback-threshold", "1.5"][..],
            &["x", "serve", "--auto-rollback-threshold", "0"],
            &["x", "serve", "--auto-rollback-min-devices", "10"],
            &["x", "serve", "--health-flush-interval", "0s"],
        ] {
            let cli = Cli::try_parse_from(args).unwrap();
            let err = Loaded::default().serve(serve_args(&cli));
            assert!(matches!(err, Err(Error::Config(_))), "{args:?}: {err:?}");
        }
    }

    #[test]
    fn bad_settings_are_refused_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.toml");
        std::fs::write(&path, "bind = 3").unwrap();
        let err = Loaded::read(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("unknown field"), "{err}");

        for args in [
            &["x", "serve", "--public-url", "ftp://x"][..],
            &["x", "serve", "--public-url", "/relative"],
            &["x", "serve", "--public-url", "https://user:pw@example.com"],
            &["x", "serve", "--public-url", "https://example.com/?a=b"],
            &["x", "serve", "--signing-cert", "main=/c.pem"],
            &[
                "x",
                "serve",
                "--signing-key",
                "a=/k.pem",
                "--signing-cert",
                "b=/c.pem",
            ],
            &["x", "serve", "--signing-key", "a=/k.pem,a=/k2.pem"],
            &["x", "serve", "--admin-token", "short"],
        ] {
            let cli = Cli::try_parse_from(args).unwrap();
            assert!(
                Loaded::default().serve(serve_args(&cli)).is_err(),
                "{args:?}"
            );
        }
        assert!("=/k.pem".parse::<KeyPath>().is_err());
        assert!("main=".parse::<KeyPath>().is_err());
        assert_eq!(
            "/k.pem".parse::<KeyPath>().unwrap(),
            KeyPath {
                keyid: "main".into(),
                path: "/k.pem".into()
            }
        );
    }

    #[test]
    fn app_names_are_path_segments_and_apps_prefix_the_public_url() {
        for good in ["shop", "my-app_2", "a.b", "Shop"] {
            assert_eq!(checked_app_name(good).unwrap(), good);
        }
        for bad in [
            "",
            "a/b",
            "a b",
            "a?b",
            "a#b",
            "a%20",
            "a\\b",
            ".",
            "..",
            "admin",
            "metrics",
            "health",
            "assets",
            "manifest",
            "caf\u{e9}",
        ] {
            assert!(checked_app_name(bad).is_err(), "{bad:?}");
        }
        let public: PublicUrl = "https://u.example.com/expo/".parse().unwrap();
        let shop = public.with_segment("shop");
        assert_eq!(shop.as_str(), "https://u.example.com/expo/shop");
        assert_eq!(shop.path(), "/expo/shop");
        assert_eq!(shop.authority(), "u.example.com");
    }

    #[test]
    fn apps_take_their_settings_or_the_global_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.toml");
        std::fs::write(
            &path,
            r#"
default-channel = "main"
gc-older-than = "90d"
[apps.shop]
default-channel = "production"
gc-older-than = "30d"
admin-token = "0123456789abcdef"
[[apps.shop.signing-keys]]
key = "k.pem"
[apps.blog]
"#,
        )
        .unwrap();
        let cli = Cli::try_parse_from(["x", "list"]).unwrap();
        let settings = Loaded::read(Some(&path))
            .unwrap()
            .settings_with_apps(&cli)
            .unwrap();
        let day = std::time::Duration::from_hours(24);
        assert_eq!(settings.channel_of("shop"), "production");
        assert_eq!(settings.channel_of("blog"), "main");
        assert_eq!(settings.channel_of("unconfigured"), "main");
        assert_eq!(
            settings.app("default").unwrap().gc_older_than,
            Some(day * 90)
        );
        assert_eq!(settings.app("shop").unwrap().gc_older_than, Some(day * 30));
        assert_eq!(settings.app("blog").unwrap().gc_older_than, None);
        assert!(settings.app("unconfigured").is_none());
        let shop = &settings.apps["shop"];
        assert_eq!(shop.signing_keys[0].key, dir.path().join("k.pem"));
        assert_eq!(shop.signing_keys[0].keyid, "main");
        assert_eq!(shop.admin_token.as_deref(), Some("0123456789abcdef"));
    }
}
