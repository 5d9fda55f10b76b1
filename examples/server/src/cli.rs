//! Command-line interface: every flag also reads an `EXPO_UPDATE_SERVER_*` environment
//! variable, and the settings of `serve` can come from a TOML file (`--config`).
//!
//! Precedence: flags, then environment variables, then the file, then defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use uuid::Uuid;

use crate::blobs::urls::HumanDuration;
use crate::settings::{KeyPath, LogFormat};

/// A self-hosted Expo Updates server: publish `expo export` output, serve it to apps,
/// roll back, republish.
///
/// Every command works on the data directory (database and blobs) directly; `serve` notices
/// changes made by the other commands within a second.
#[derive(Debug, Parser)]
#[command(name = "expo-update-server", version, propagate_version = true)]
pub struct Cli {
    /// TOML configuration file (keys as the long flags: `data-dir`, `[serve] bind`, ...).
    #[arg(
        long,
        global = true,
        env = "EXPO_UPDATE_SERVER_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,

    /// Directory of the database and blobs [default: ./expo-updates-data].
    #[arg(
        long,
        global = true,
        env = "EXPO_UPDATE_SERVER_DATA_DIR",
        value_name = "DIR"
    )]
    pub data_dir: Option<PathBuf>,

    /// Keep metadata in `PostgreSQL` (`postgres://user:password@host:port/database`) instead
    /// of `SQLite` in the data directory; servers sharing it see each other's changes within
    /// a second.
    #[arg(
        long,
        global = true,
        env = "EXPO_UPDATE_SERVER_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,

    /// Keep blobs in S3 or an S3-compatible server (`s3://bucket/prefix`) instead of the
    /// data directory; endpoint, region and credentials come from `AWS_ENDPOINT_URL`,
    /// `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`.
    #[arg(
        long,
        global = true,
        env = "EXPO_UPDATE_SERVER_STORAGE",
        value_name = "URL"
    )]
    pub storage: Option<String>,

    /// Channel of requests without `expo-channel-name`, and of commands without --channel
    /// [default: default].
    #[arg(
        long,
        global = true,
        env = "EXPO_UPDATE_SERVER_DEFAULT_CHANNEL",
        value_name = "NAME"
    )]
    pub default_channel: Option<String>,

    /// The app commands act on [default: `default`; `list` and `gc`: every app]. Commands
    /// naming an update refuse one of another app. `serve` serves every configured app.
    #[arg(
        long,
        global = true,
        env = "EXPO_UPDATE_SERVER_APP",
        value_name = "NAME"
    )]
    pub app: Option<String>,

    /// Log format [default: text].
    #[arg(
        long,
        global = true,
        env = "EXPO_UPDATE_SERVER_LOG_FORMAT",
        value_name = "FORMAT"
    )]
    pub log_format: Option<LogFormat>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
#[allow(
    clippy::large_enum_variant,
    reason = "parsed once per process: the size of `serve`'s flags costs nothing"
)]
pub enum Command {
    /// Serve updates over HTTP (manifests, assets, /health, /admin).
    Serve(ServeArgs),
    /// Publish the output of `npx expo export` as a new update.
    Publish(PublishArgs),
    /// List updates, newest first.
    List(ListArgs),
    /// Show one update and its assets.
    Show(ShowArgs),
    /// Serve an earlier update again, or tell apps to go back to their embedded update.
    Rollback(RollbackArgs),
    /// Serve a copy of an update again (in the same or another channel: promotion).
    Republish(RepublishArgs),
    /// Widen, narrow or revert the percentage rollout of an update.
    Rollout(RolloutArgs),
    /// Copy an update to another running server (staging to production) over its admin API.
    Promote(PromoteArgs),
    /// Delete old updates nobody is served, then the blobs nothing references.
    Gc(GcArgs),
    /// Run the conformance suite against a running server (this one or any other): what
    /// an app sends and beyond (negotiation, malformed headers, no-update answers,
    /// signatures, multipart framing, encodings, caching, ranges, header case, asset-URL
    /// stability across a publish). Exits 0 when clean, 1 on errors (MUST or client-needs
    /// failures), 3 on warnings only (SHOULD failures).
    Check(CheckArgs),
    /// Write the source maps kept with an update into a directory (for a crash reporter).
    Sourcemaps(SourcemapsArgs),
    /// Create, list, rename or delete branches (what updates are published to).
    #[command(subcommand)]
    Branch(BranchCommand),
    /// List channels, point one at a branch, or split its installs between two branches.
    #[command(subcommand)]
    Channel(ChannelCommand),
}

/// `branch`.
#[derive(Debug, Subcommand)]
pub enum BranchCommand {
    /// Create an empty branch (publishing to a new branch creates it too).
    Create {
        /// Its name.
        name: String,
    },
    /// List the branches with their update counts and the channels serving them.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Rename a branch: its updates and the channels pointing at it follow (a channel
    /// named like it keeps serving it under the new name).
    Rename {
        /// The branch.
        from: String,
        /// Its new name (must not exist).
        to: String,
    },
    /// Delete a branch no channel points at.
    Delete {
        /// The branch.
        name: String,
        /// Also when it has updates: they stop being served and `gc` removes them once
        /// older than its cutoff.
        #[arg(long)]
        force: bool,
    },
}

/// `channel`.
#[derive(Debug, Subcommand)]
pub enum ChannelCommand {
    /// List the channels and the branches they serve.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Point a channel at one branch (ending any split).
    Set {
        /// The channel.
        name: String,
        /// The branch it serves.
        #[arg(long, value_name = "NAME")]
        branch: String,
    },
    /// Start a split, or widen or narrow it: PERCENT of the installs (by a hash of their
    /// `eas-client-id`) get the split branch, the others the channel's branch.
    Split {
        /// The channel.
        name: String,
        /// The second branch.
        #[arg(long, value_name = "NAME")]
        split_branch: String,
        /// The share of installs it gets.
        #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(0..=100))]
        percent: u8,
    },
    /// End a split, keeping one of its branches.
    EndSplit {
        /// The channel.
        name: String,
        /// The branch kept: `main` (the channel's) or `split`.
        #[arg(long, value_name = "WHICH")]
        keep: String,
    },
}

/// `sourcemaps`.
#[derive(Debug, Args)]
pub struct SourcemapsArgs {
    /// The update.
    #[arg(value_name = "UPDATE_ID")]
    pub id: Uuid,

    /// Directory to write them into, at their paths in the export.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Read them from this running server (the app's base URL) instead of the data
    /// directory.
    #[arg(long, value_name = "URL", env = "EXPO_UPDATE_SERVER_PUBLISH_URL")]
    pub server: Option<String>,

    /// That app's admin token (with --server).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "EXPO_UPDATE_SERVER_PUBLISH_TOKEN",
        hide_env_values = true,
        requires = "server"
    )]
    pub token: Option<String>,

    /// Print the list as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:3000].
    #[arg(long, env = "EXPO_UPDATE_SERVER_BIND", value_name = "ADDR")]
    pub bind: Option<SocketAddr>,

    /// Base URL apps reach this server at; asset URLs in manifests start with it
    /// [default: `http://127.0.0.1:3000`]. Android release builds need https.
    #[arg(long, env = "EXPO_UPDATE_SERVER_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// Trust `x-forwarded-proto` and `x-forwarded-host` to build asset URLs (only behind a
    /// reverse proxy that sets them) [default: false].
    #[arg(
        long,
        env = "EXPO_UPDATE_SERVER_TRUST_PROXY",
        value_name = "BOOL",
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub trust_proxy: Option<bool>,

    /// Bearer token of the /admin API; without one the admin API is disabled.
    #[arg(
        long,
        env = "EXPO_UPDATE_SERVER_ADMIN_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub admin_token: Option<String>,

    /// Code-signing private key (PEM), as `[KEYID=]PATH` (keyid `main` when omitted).
    /// Repeat (or comma-separate) for key rotation; the first key signs when a request
    /// names no keyid.
    #[arg(
        long = "signing-key",
        env = "EXPO_UPDATE_SERVER_SIGNING_KEY",
        value_name = "[KEYID=]PATH",
        value_delimiter = ','
    )]
    pub signing_keys: Vec<KeyPath>,

    /// Certificate (PEM, leaf first) of a signing key, as `[KEYID=]PATH`; it is checked
    /// against the key at startup.
    #[arg(
        long = "signing-cert",
        env = "EXPO_UPDATE_SERVER_SIGNING_CERT",
        value_name = "[KEYID=]PATH",
        value_delimiter = ','
    )]
    pub signing_certs: Vec<KeyPath>,

    /// Where manifests send apps for asset bytes: this server (streaming from the blob
    /// store), presigned S3 URLs, or a CDN (--cdn-base-url) [default: server].
    #[arg(
        long,
        value_enum,
        env = "EXPO_UPDATE_SERVER_ASSET_URLS",
        value_name = "MODE"
    )]
    pub asset_urls: Option<AssetUrlMode>,

    /// How long presigned asset URLs stay valid (`30m`, `1h`, `7d` at most) [default: 1h].
    #[arg(
        long,
        env = "EXPO_UPDATE_SERVER_PRESIGN_EXPIRY",
        value_name = "DURATION"
    )]
    pub presign_expiry: Option<HumanDuration>,

    /// Base URL of a CDN in front of the blob bucket prefix: assets become `{URL}/{sha256
    /// hex}` (implies --asset-urls cdn; see the README for the encoding mapping).
    #[arg(long, env = "EXPO_UPDATE_SERVER_CDN_BASE_URL", value_name = "URL")]
    pub cdn_base_url: Option<String>,

    /// Publish the bundled sample update when the database is empty [default: true].
    #[arg(
        long,
        env = "EXPO_UPDATE_SERVER_SAMPLE",
        value_name = "BOOL",
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub sample: Option<bool>,

    /// Roll a channel back to its previous update when this share of the devices reporting
    /// on the served update failed to launch it (0.2: 20%); off when not set.
    #[arg(
        long,
        env = "EXPO_UPDATE_SERVER_AUTO_ROLLBACK_THRESHOLD",
        value_name = "SHARE"
    )]
    pub auto_rollback_threshold: Option<f64>,

    /// Devices that must have reported on the served update before the automatic rollback
    /// judges it [default: 50].
    #[arg(
        long,
        env = "EXPO_UPDATE_SERVER_AUTO_ROLLBACK_MIN_DEVICES",
        value_name = "COUNT"
    )]
    pub auto_rollback_min_devices: Option<u64>,

    /// How often device reports (launches, failures) are written to the database
    /// [default: 1s].
    #[arg(
        long,
        env = "EXPO_UPDATE_SERVER_HEALTH_FLUSH_INTERVAL",
        value_name = "DURATION"
    )]
    pub health_flush_interval: Option<HumanDuration>,

    /// Installs kept per update for its device counts: the first this many installs served
    /// an update can report on it [default: 100000].
    #[arg(
        long,
        env = "EXPO_UPDATE_SERVER_HEALTH_MAX_DEVICES",
        value_name = "COUNT",
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub health_max_devices: Option<u64>,

    /// Build bsdiff patches to each new launch asset from those of this many earlier
    /// updates of its scope, and serve them to clients that ask (`a-im: bsdiff`); 0 turns
    /// patches off [default: 3].
    #[arg(
        long,
        env = "EXPO_UPDATE_SERVER_PATCHES",
        value_name = "N",
        value_parser = clap::value_parser!(u8).range(0..=i64::from(crate::patches::MAX_BASES))
    )]
    pub patches: Option<u8>,

    /// Neither build nor serve launch-asset patches (`--patches 0`).
    #[arg(
        long,
        env = "EXPO_UPDATE_SERVER_NO_PATCHES",
        conflicts_with = "patches"
    )]
    pub no_patches: bool,

    /// Longest one patch may take to build before its pair is given up (`30s`, `5m`)
    /// [default: 2m].
    #[arg(
        long,
        env = "EXPO_UPDATE_SERVER_PATCH_TIMEOUT",
        value_name = "DURATION"
    )]
    pub patch_timeout: Option<HumanDuration>,

    /// Memory kept for the bytes of the most requested assets, in MiB; assets over an
    /// eighth of it (8 MiB at most) stream from the blob store; 0 turns it off [default: 32].
    #[arg(long, env = "EXPO_UPDATE_SERVER_ASSET_MEMORY_MB", value_name = "MIB")]
    pub asset_memory_mb: Option<u64>,

    /// Timeouts, caps, `/metrics` and forwarded hosts: what one client may hold.
    #[command(flatten)]
    pub limits: crate::settings::limits::LimitArgs,
}

/// `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The manifest URL, as in the app's `updates.url` (`http://host:3000` means
    /// `http://host:3000/manifest`).
    #[arg(value_name = "URL")]
    pub url: String,

    /// Runtime version to ask for.
    #[arg(long, value_name = "VERSION")]
    pub runtime_version: String,

    /// Platforms to ask for.
    #[arg(long, value_enum, default_value = "all")]
    pub platform: PlatformArg,

    /// Channel to ask for (`expo-channel-name`) [default: none sent].
    #[arg(long, value_name = "NAME")]
    pub channel: Option<String>,

    /// The code-signing certificate (PEM) the app embeds: asks for signed manifests and
    /// verifies them.
    #[arg(long, value_name = "FILE")]
    pub certificate: Option<PathBuf>,

    /// Keyid of the certificate, as in the app's `codeSigningMetadata`.
    #[arg(long, default_value = "main", value_name = "KEYID")]
    pub keyid: String,

    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,

    /// Run only these groups (comma-separated): manifest, negotiation, request-headers,
    /// no-update, signature, multipart, assets, caching, ranges, header-case, stability.
    #[arg(long, value_delimiter = ',', value_name = "GROUPS")]
    pub only: Vec<String>,

    /// Do not run these groups (comma-separated, names as for --only).
    #[arg(long, value_delimiter = ',', value_name = "GROUPS")]
    pub skip: Vec<String>,

    /// Send at most this many requests; checks beyond are reported as skipped.
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub max_requests: usize,

    /// Also run the probes that send `expo-current-update-id` (no-update for a client on
    /// the latest update, its upper-case spelling), which servers may record as launches.
    #[arg(long)]
    pub allow_mutations: bool,

    /// Save what was served (update ids, asset URLs and hashes) to FILE: the first phase
    /// of the asset-URL stability check. Publish a new update, then run again with
    /// --previous-state FILE.
    #[arg(long, value_name = "FILE")]
    pub save_state: Option<PathBuf>,

    /// The state saved by an earlier run (before a publish): checks its asset URLs still
    /// answer the same bytes.
    #[arg(long, value_name = "FILE")]
    pub previous_state: Option<PathBuf>,
}

/// Where asset URLs point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssetUrlMode {
    /// `{public URL}/assets/{hash}`, served by this server.
    Server,
    /// Presigned URLs of the S3 objects.
    Presigned,
    /// `{cdn base URL}/{hash}`.
    Cdn,
}

/// Platforms a command applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlatformArg {
    /// iOS only.
    Ios,
    /// Android only.
    Android,
    /// Every platform (that the export or the channel has).
    All,
}

/// `publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The `dist` folder written by `npx expo export` (with --project: where the export is
    /// written [default: PROJECT/dist]).
    #[arg(value_name = "DIST", required_unless_present = "project")]
    pub dist: Option<PathBuf>,

    /// Runtime version the update is for [default: the app config's `runtimeVersion`].
    #[arg(
        long,
        env = "EXPO_UPDATE_SERVER_RUNTIME_VERSION",
        value_name = "VERSION"
    )]
    pub runtime_version: Option<String>,

    /// Platforms to publish.
    #[arg(
        long,
        value_enum,
        default_value = "all",
        env = "EXPO_UPDATE_SERVER_PLATFORM"
    )]
    pub platform: PlatformArg,

    /// Channel to publish to: its name is the branch [default: the default channel].
    #[arg(long, env = "EXPO_UPDATE_SERVER_CHANNEL", value_name = "NAME")]
    pub channel: Option<String>,

    /// Branch to publish to [default: the name of --channel].
    #[arg(long, value_name = "NAME", conflicts_with = "channel")]
    pub branch: Option<String>,

    /// A message shown by `list`.
    #[arg(long, short)]
    pub message: Option<String>,

    /// The public app config (`npx expo config --type public --json`), served as
    /// `extra.expoClient` [default: app-config.json beside DIST, or DIST/app-config.json].
    #[arg(long, env = "EXPO_UPDATE_SERVER_APP_CONFIG", value_name = "FILE")]
    pub app_config: Option<PathBuf>,

    /// Brotli quality of the precompressed variants, 0 to 11: 11 is smallest (about 12%
    /// below 9) and slowest (seconds per bundle, once per distinct file).
    #[arg(
        long,
        env = "EXPO_UPDATE_SERVER_BROTLI_QUALITY",
        default_value_t = 11,
        value_parser = clap::value_parser!(u32).range(0..=11)
    )]
    pub brotli_quality: u32,

    /// Serve the update to this percentage of installs only (by a hash of their
    /// `eas-client-id`); widen it later with `rollout UPDATE_ID --percent P`.
    #[arg(
        long,
        value_name = "PERCENT",
        default_value_t = 100,
        value_parser = clap::value_parser!(u8).range(1..=100)
    )]
    pub rollout: u8,

    /// Print the new updates as JSON.
    #[arg(long)]
    pub json: bool,

    /// Runtime version of the iOS update (over --runtime-version and the app config).
    #[arg(long, value_name = "VERSION")]
    pub ios_runtime_version: Option<String>,

    /// Runtime version of the Android update (over --runtime-version and the app config).
    #[arg(long, value_name = "VERSION")]
    pub android_runtime_version: Option<String>,

    /// The app's directory: runs `npx expo export` (the platforms asked for) and `npx expo
    /// config --json --type public` there first, and resolves the fingerprint runtime
    /// version policy with `npx expo-updates runtimeversion:resolve`.
    #[arg(long, value_name = "DIR", env = "EXPO_UPDATE_SERVER_PROJECT")]
    pub project: Option<PathBuf>,

    /// With --project: publish DIST as it is (exported before), and use the project only to
    /// resolve the fingerprint runtime version.
    #[arg(long, requires_all = ["project", "dist"])]
    pub no_export: bool,

    /// Publish to this running server over its admin API instead of into the data
    /// directory: the app's base URL (`https://updates.example.com`, or
    /// `https://updates.example.com/shop` for app `shop`).
    #[arg(long, value_name = "URL", env = "EXPO_UPDATE_SERVER_PUBLISH_URL")]
    pub server: Option<String>,

    /// That app's admin token (with --server).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "EXPO_UPDATE_SERVER_PUBLISH_TOKEN",
        hide_env_values = true,
        requires = "server"
    )]
    pub token: Option<String>,

    /// Run every check of a publish and report what would be published and what is already
    /// stored, changing nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `rollout`.
#[derive(Debug, Args)]
pub struct RolloutArgs {
    /// The update being rolled out.
    #[arg(value_name = "UPDATE_ID")]
    pub id: Uuid,

    /// Serve it to this percentage of installs (100: everyone).
    #[arg(
        long,
        value_name = "PERCENT",
        required_unless_present = "revert",
        conflicts_with = "revert",
        value_parser = clap::value_parser!(u8).range(0..=100)
    )]
    pub percent: Option<u8>,

    /// Stop the rollout: serve the update served before it to everyone again (as a new
    /// update, so installs that took this one move back).
    #[arg(long)]
    pub revert: bool,

    /// A message shown by `list` (with --revert).
    #[arg(long, short)]
    pub message: Option<String>,

    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `promote`.
#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The update to copy (from this command's data directory / database and blob store).
    #[arg(value_name = "UPDATE_ID")]
    pub id: Uuid,

    /// Base URL of the target server (`https://updates.example.com`).
    #[arg(long, value_name = "URL", env = "EXPO_UPDATE_SERVER_PROMOTE_TO")]
    pub to: String,

    /// The target's admin token (its --admin-token).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "EXPO_UPDATE_SERVER_PROMOTE_TOKEN",
        hide_env_values = true
    )]
    pub token: String,

    /// Channel to serve it on, on the target [default: the update's own channel].
    #[arg(long, value_name = "NAME")]
    pub channel: Option<String>,

    /// Serve it to this percentage of installs on the target [default: 100].
    #[arg(
        long,
        value_name = "PERCENT",
        value_parser = clap::value_parser!(u8).range(1..=100)
    )]
    pub rollout: Option<u8>,

    /// A message shown by `list` on the target [default: the update's].
    #[arg(long, short)]
    pub message: Option<String>,

    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `gc`.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// Delete updates created longer ago than this (`30d`, `12h`), unless served or the
    /// rollback target of their channel [default: each app's `gc-older-than` setting; apps
    /// without one are left alone].
    #[arg(long, value_name = "DURATION")]
    pub older_than: Option<HumanDuration>,

    /// Only report what would be deleted.
    #[arg(long)]
    pub dry_run: bool,

    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,

    /// Run only these groups (comma-separated): manifest, negotiation, request-headers,
    /// no-update, signature, multipart, assets, caching, ranges, header-case, stability.
    #[arg(long, value_delimiter = ',', value_name = "GROUPS")]
    pub only: Vec<String>,

    /// Do not run these groups (comma-separated, names as for --only).
    #[arg(long, value_delimiter = ',', value_name = "GROUPS")]
    pub skip: Vec<String>,

    /// Send at most this many requests; checks beyond are reported as skipped.
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub max_requests: usize,

    /// Also run the probes that send `expo-current-update-id` (no-update for a client on
    /// the latest update, its upper-case spelling), which servers may record as launches.
    #[arg(long)]
    pub allow_mutations: bool,

    /// Save what was served (update ids, asset URLs and hashes) to FILE: the first phase
    /// of the asset-URL stability check. Publish a new update, then run again with
    /// --previous-state FILE.
    #[arg(long, value_name = "FILE")]
    pub save_state: Option<PathBuf>,

    /// The state saved by an earlier run (before a publish): checks its asset URLs still
    /// answer the same bytes.
    #[arg(long, value_name = "FILE")]
    pub previous_state: Option<PathBuf>,
}

/// `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this channel.
    #[arg(long)]
    pub channel: Option<String>,
    /// Only this runtime version.
    #[arg(long, value_name = "VERSION")]
    pub runtime_version: Option<String>,
    /// Only these platforms.
    #[arg(long, value_enum, default_value = "all")]
    pub platform: PlatformArg,
    /// At most this many updates.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The update id.
    #[arg(value_name = "UPDATE_ID")]
    pub id: Uuid,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Serve a copy of this earlier update (new id, fresh createdAt).
    #[arg(long, value_name = "UPDATE_ID", conflicts_with_all = ["embedded", "channel", "branch", "runtime_version", "platform"])]
    pub to: Option<Uuid>,

    /// Tell apps to go back to the update embedded in their binary (`rollBackToEmbedded`).
    #[arg(long)]
    pub embedded: bool,

    /// Channel to roll back: the branch it points at [default: the default channel].
    #[arg(long, value_name = "NAME")]
    pub channel: Option<String>,

    /// Branch to roll back.
    #[arg(long, value_name = "NAME", conflicts_with = "channel")]
    pub branch: Option<String>,

    /// Runtime version to roll back (required unless --to).
    #[arg(long, value_name = "VERSION", required_unless_present = "to")]
    pub runtime_version: Option<String>,

    /// Platforms to roll back [default: all].
    #[arg(long, value_enum)]
    pub platform: Option<PlatformArg>,

    /// A message shown by `list`.
    #[arg(long, short)]
    pub message: Option<String>,

    /// Print the new updates as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `republish`.
#[derive(Debug, Args)]
pub struct RepublishArgs {
    /// The update to serve again.
    #[arg(value_name = "UPDATE_ID")]
    pub id: Uuid,

    /// Channel to republish into: the branch it points at [default: the update's own
    /// branch].
    #[arg(long, value_name = "NAME")]
    pub channel: Option<String>,

    /// Branch to republish into.
    #[arg(long, value_name = "NAME", conflicts_with = "channel")]
    pub branch: Option<String>,

    /// A message shown by `list` [default: the original's].
    #[arg(long, short)]
    pub message: Option<String>,

    /// Print the new update as JSON.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_flag_has_help_and_server_settings_have_env() {
        fn check(cmd: &clap::Command, need_env: bool) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                assert!(
                    arg.get_help().is_some(),
                    "{} {id} has no help",
                    cmd.get_name()
                );
                if need_env && arg.get_long().is_some() {
                    let env = arg.get_env().and_then(|e| e.to_str()).unwrap_or_default();
                    assert!(
                        env.starts_with("EXPO_UPDATE_SERVER_"),
                        "{} --{id} has no env",
                        cmd.get_name()
                    );
                }
            }
        }
        let cli = Cli::command();
        check(&cli, true);
        for sub in cli.get_subcommands() {
            check(sub, sub.get_name() == "serve");
        }
    }
}
