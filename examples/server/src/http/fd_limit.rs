//! The open-file limit: raised to its hard maximum at startup, and the connection cap kept
//! under it so that running out of descriptors answers `503` instead of failing `accept`.

/// Descriptors kept for everything but client connections (database, blob files, logs).
const RESERVED: u64 = 256;

/// `wanted`, lowered to fit the open-file limit (raised first where the system allows).
pub(super) fn connections_within(wanted: usize) -> usize {
    let Some(limit) = raise() else {
        return wanted;
    };
    let fits = usize::try_from(limit.saturating_sub(RESERVED).max(1)).unwrap_or(usize::MAX);
    if fits < wanted {
        tracing::warn!(
            max_connections = fits,
            wanted,
            open_file_limit = limit,
            "--max-connections lowered to fit the open-file limit (raise it with ulimit -n)"
        );
    }
    wanted.min(fits)
}

/// Raises the soft limit to the hard one; the soft limit in force, `None` where unknown.
#[cfg(unix)]
fn raise() -> Option<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        return Some(hard);
    }
    Some(soft)
}

#[cfg(not(unix))]
fn raise() -> Option<u64> {
    None
}
