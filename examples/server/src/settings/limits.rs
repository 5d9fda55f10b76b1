//! What one client may hold of the server: connection and request limits, and where
//! `/metrics` and forwarded hosts are accepted from.
//!
//! Every limit has a default that keeps a public server up under slow, stuck or flooding
//! clients without getting in the way of apps (which make a manifest request and a burst
//! of asset downloads, then go quiet):
//!
//! | flag | default | protects against |
//! |---|---|---|
//! | `--header-read-timeout` | 10s | slowloris: a request head trickled in byte by byte |
//! | `--idle-timeout` | 75s | idle keep-alive connections piling up (longer than the 60 s of common proxies, so they close first) |
//! | `--body-timeout` | 30s | a request body that stops arriving |
//! | `--send-timeout` | 30s | a client that stops reading its response |
//! | `--max-connections` | 10,000 | file-descriptor exhaustion (answered `503` past it) |
//! | `--max-in-flight` | 1,024 | requests piling up on the database (answered `503` past it) |
//! | `--stream-memory-mb` | 64 | memory held by streamed asset bodies |
//! | `--shutdown-timeout` | 30s | a stuck connection delaying shutdown forever |
//!
//! And one that is not a limit but belongs to the listener: `--connection-threads` (default:
//! one per core; see `http::connection_threads`).
//!
//! ```
//! use expo_update_server::settings::limits::{LimitArgs, Limits};
//!
//! let limits = Limits::resolve(&LimitArgs::default())?;
//! assert_eq!(limits.header_read_timeout.as_secs(), 10);
//! assert_eq!(limits.max_connections, 10_000);
//! # Ok::<(), expo_update_server::error::Error>(())
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

use crate::blobs::urls::HumanDuration;
use crate::error::{Error, Result};

/// Default `--header-read-timeout`.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `--idle-timeout`.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(75);
/// Default `--body-timeout`.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Default `--send-timeout`.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// Default `--shutdown-timeout`.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);
/// Default `--max-connections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Default `--max-in-flight`.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1024;
/// Default `--stream-memory-mb`.
pub const DEFAULT_STREAM_MEMORY_MB: u64 = 64;
/// The default `--connection-threads`: one per core the process may use.
#[must_use]
pub fn default_connection_threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Most `--connection-threads`.
const MAX_CONNECTION_THREADS: usize = 1024;
/// Largest `--stream-memory-mb` (the budget is counted in KiB permits).
const MAX_STREAM_MEMORY_MB: u64 = 1024 * 1024;
/// Longest of any timeout.
const MAX_TIMEOUT: Duration = Duration::from_hours(1);
/// Most names `--forwarded-host` takes.
const MAX_FORWARDED_HOSTS: usize = 256;

/// The flags (each also read from `EXPO_UPDATE_SERVER_*` and the `[serve]` table).
#[derive(Debug, Clone, Default, Args)]
pub struct LimitArgs {
    /// Longest a client may take to send a request head, counted from the connection's
    /// opening or its request's first byte; slower connections are closed [default: 10s].
    #[arg(
        long,
        env = "EXPO_UPDATE_SERVER_HEADER_READ_TIMEOUT",
        value_name = "DURATION"
    )]
    pub header_read_timeout: Option<HumanDuration>,

    /// Longest a keep-alive connection may wait for its next request [default: 75s].
    #[arg(long, env = "EXPO_UPDATE_SERVER_IDLE_TIMEOUT", value_name = "DURATION")]
    pub idle_timeout: Option<HumanDuration>,

    /// Longest a request body may pause between two reads [default: 30s].
    #[arg(long, env = "EXPO_UPDATE_SERVER_BODY_TIMEOUT", value_name = "DURATION")]
    pub body_timeout: Option<HumanDuration>,

    /// Longest a response may wait for the client to read any of it; clients that stop
    /// reading are disconnected [default: 30s].
    #[arg(long, env = "EXPO_UPDATE_SERVER_SEND_TIMEOUT", value_name = "DURATION")]
    pub send_timeout: Option<HumanDuration>,

    /// Connections open at once; past it new ones get a `503` and are closed (also capped by
    /// the open-file limit) [default: 10000].
    #[arg(long, env = "EXPO_UPDATE_SERVER_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,

    /// Requests handled at once; past it requests get a `503` with `retry-after`
    /// [default: 1024].
    #[arg(long, env = "EXPO_UPDATE_SERVER_MAX_IN_FLIGHT", value_name = "N")]
    pub max_in_flight: Option<usize>,

    /// Memory for the bodies of assets streamed from the blob store (those not kept in
    /// asset memory), in MiB; downloads past it wait for room [default: 64].
    #[arg(long, env = "EXPO_UPDATE_SERVER_STREAM_MEMORY_MB", value_name = "MIB")]
    pub stream_memory_mb: Option<u64>,

    /// Longest shutdown waits for requests in flight before closing their connections
    /// [default: 30s].
    #[arg(
        long,
        env = "EXPO_UPDATE_SERVER_SHUTDOWN_TIMEOUT",
        value_name = "DURATION"
    )]
    pub shutdown_timeout: Option<HumanDuration>,

    /// Threads serving connections, each with its own runtime; 0 serves them on the
    /// process's shared runtime [default: one per core].
    #[arg(long, env = "EXPO_UPDATE_SERVER_CONNECTION_THREADS", value_name = "N")]
    pub connection_threads: Option<usize>,

    /// Serve `/metrics` on this address instead of the app port.
    #[arg(long, env = "EXPO_UPDATE_SERVER_METRICS_BIND", value_name = "ADDR")]
    pub metrics_bind: Option<SocketAddr>,

    /// Bearer token `/metrics` requires (on whichever address it is served).
    #[arg(
        long,
        env = "EXPO_UPDATE_SERVER_METRICS_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub metrics_token: Option<String>,

    /// With --trust-proxy: the only hosts `x-forwarded-host` may name (repeat or
    /// comma-separate); others get the public URL's [default: any].
    #[arg(
        long = "forwarded-host",
        env = "EXPO_UPDATE_SERVER_FORWARDED_HOSTS",
        value_name = "HOST",
        value_delimiter = ','
    )]
    pub forwarded_hosts: Vec<String>,
}

impl LimitArgs {
    /// These values, each missing one taken from `fallback` (flags over the file).
    #[must_use]
    pub fn or(&self, fallback: &Self) -> Self {
        Self {
            header_read_timeout: self.header_read_timeout.or(fallback.header_read_timeout),
            idle_timeout: self.idle_timeout.or(fallback.idle_timeout),
            body_timeout: self.body_timeout.or(fallback.body_timeout),
            send_timeout: self.send_timeout.or(fallback.send_timeout),
            max_connections: self.max_connections.or(fallback.max_connections),
            max_in_flight: self.max_in_flight.or(fallback.max_in_flight),
            stream_memory_mb: self.stream_memory_mb.or(fallback.stream_memory_mb),
            shutdown_timeout: self.shutdown_timeout.or(fallback.shutdown_timeout),
            connection_threads: self.connection_threads.or(fallback.connection_threads),
            metrics_bind: self.metrics_bind.or(fallback.metrics_bind),
            metrics_token: self
                .metrics_token
                .clone()
                .or_else(|| fallback.metrics_token.clone()),
            forwarded_hosts: if self.forwarded_hosts.is_empty() {
                fallback.forwarded_hosts.clone()
            } else {
                self.forwarded_hosts.clone()
            },
        }
    }
}

/// The resolved limits of `serve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// See [`LimitArgs::header_read_timeout`].
    pub header_read_timeout: Duration,
    /// See [`LimitArgs::idle_timeout`].
    pub idle_timeout: Duration,
    /// See [`LimitArgs::body_timeout`].
    pub body_timeout: Duration,
    /// See [`LimitArgs::send_timeout`].
    pub send_timeout: Duration,
    /// See [`LimitArgs::max_connections`].
    pub max_connections: usize,
    /// See [`LimitArgs::max_in_flight`].
    pub max_in_flight: usize,
    /// Bytes of [`LimitArgs::stream_memory_mb`].
    pub stream_memory: u64,
    /// See [`LimitArgs::shutdown_timeout`].
    pub shutdown_timeout: Duration,
    /// See [`LimitArgs::connection_threads`].
    pub connection_threads: usize,
    /// See [`LimitArgs::metrics_bind`].
    pub metrics_bind: Option<SocketAddr>,
    /// See [`LimitArgs::metrics_token`].
    pub metrics_token: Option<String>,
    /// See [`LimitArgs::forwarded_hosts`], lower-cased; empty: any.
    pub forwarded_hosts: Vec<String>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            send_timeout: DEFAULT_SEND_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            stream_memory: DEFAULT_STREAM_MEMORY_MB * 1024 * 1024,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            connection_threads: default_connection_threads(),
            metrics_bind: None,
            metrics_token: None,
            forwarded_hosts: Vec::new(),
        }
    }
}

impl Limits {
    /// Checks the values and fills in the defaults.
    pub fn resolve(args: &LimitArgs) -> Result<Self> {
        let timeout = |name: &str, value: Option<HumanDuration>, default: Duration| {
            let value = value.map_or(default, |d| d.0);
            if value.is_zero() || value > MAX_TIMEOUT {
                return Err(Error::Config(format!(
                    "--{name} must be between 1s and 1h (got {})",
                    HumanDuration(value)
                )));
            }
            Ok(value)
        };
        let count = |name: &str, value: Option<usize>, default: usize| match value {
            Some(0) => Err(Error::Config(format!("--{name} must be at least 1"))),
            Some(n) if n > u32::MAX as usize => {
                Err(Error::Config(format!("--{name} {n} is too large")))
            }
            value => Ok(value.unwrap_or(default)),
        };
        let stream_memory_mb = args.stream_memory_mb.unwrap_or(DEFAULT_STREAM_MEMORY_MB);
        if stream_memory_mb == 0 || stream_memory_mb > MAX_STREAM_MEMORY_MB {
            return Err(Error::Config(format!(
                "--stream-memory-mb must be between 1 and {MAX_STREAM_MEMORY_MB}"
            )));
        }
        let connection_threads = args
            .connection_threads
            .unwrap_or_else(default_connection_threads);
        if connection_threads > MAX_CONNECTION_THREADS {
            return Err(Error::Config(format!(
                "--connection-threads must be at most {MAX_CONNECTION_THREADS}"
            )));
        }
        if args
            .metrics_token
            .as_deref()
            .is_some_and(|t| t.trim().len() < 16)
        {
            return Err(Error::Config(
                "--metrics-token must be at least 16 characters".into(),
            ));
        }
        if args.forwarded_hosts.len() > MAX_FORWARDED_HOSTS {
            return Err(Error::Config(format!(
                "--forwarded-host takes at most {MAX_FORWARDED_HOSTS} hosts"
            )));
        }
        Ok(Self {
            header_read_timeout: timeout(
                "header-read-timeout",
                args.header_read_timeout,
                DEFAULT_HEADER_READ_TIMEOUT,
            )?,
            idle_timeout: timeout("idle-timeout", args.idle_timeout, DEFAULT_IDLE_TIMEOUT)?,
            body_timeout: timeout("body-timeout", args.body_timeout, DEFAULT_BODY_TIMEOUT)?,
            send_timeout: timeout("send-timeout", args.send_timeout, DEFAULT_SEND_TIMEOUT)?,
            shutdown_timeout: timeout(
                "shutdown-timeout",
                args.shutdown_timeout,
                DEFAULT_SHUTDOWN_TIMEOUT,
            )?,
            max_connections: count(
                "max-connections",
                args.max_connections,
                DEFAULT_MAX_CONNECTIONS,
            )?,
            max_in_flight: count("max-in-flight", args.max_in_flight, DEFAULT_MAX_IN_FLIGHT)?,
            stream_memory: stream_memory_mb * 1024 * 1024,
            connection_threads,
            metrics_bind: args.metrics_bind,
            metrics_token: args.metrics_token.as_deref().map(|t| t.trim().to_owned()),
            forwarded_hosts: args
                .forwarded_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_bad_values_are_refused() {
        let flags = LimitArgs {
            idle_timeout: Some(HumanDuration(Duration::from_secs(5))),
            ..LimitArgs::default()
        };
        let file = LimitArgs {
            idle_timeout: Some(HumanDuration(Duration::from_secs(9))),
            max_in_flight: Some(7),
            connection_threads: Some(0),
            forwarded_hosts: vec!["Updates.Example.com".into()],
            ..LimitArgs::default()
        };
        let limits = Limits::resolve(&flags.or(&file)).unwrap();
        assert_eq!(limits.idle_timeout, Duration::from_secs(5));
        assert_eq!(limits.max_in_flight, 7);
        assert_eq!(limits.forwarded_hosts, ["updates.example.com"]);
        assert_eq!(limits.header_read_timeout, DEFAULT_HEADER_READ_TIMEOUT);
        assert_eq!(limits.connection_threads, 0);
        assert!(
            Limits::resolve(&LimitArgs::default())
                .unwrap()
                .connection_threads
                >= 1
        );

        for bad in [
            LimitArgs {
                max_connections: Some(0),
                ..LimitArgs::default()
            },
            LimitArgs {
                send_timeout: Some(HumanDuration(Duration::ZERO)),
                ..LimitArgs::default()
            },
            LimitArgs {
                stream_memory_mb: Some(0),
                ..LimitArgs::default()
            },
            LimitArgs {
                connection_threads: Some(MAX_CONNECTION_THREADS + 1),
                ..LimitArgs::default()
            },
            LimitArgs {
                metrics_token: Some("short".into()),
                ..LimitArgs::default()
            },
        ] {
            assert!(Limits::resolve(&bad).is_err(), "{bad:?}");
        }
    }
}
