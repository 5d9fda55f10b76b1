//! Branches behind channels (the EAS Update model).
//!
//! Updates are published to a *branch*: the stream column of `updates` (`channel` in SQL
//! and [`Scope::channel`](super::Scope) in the model) names it. A *channel* (what an app
//! asks for with `expo-channel-name`) points at one branch, or splits its installs between
//! two by percentage. A channel without a row serves the branch of its own name, so
//! publishing to channel `production` without naming a branch publishes to branch
//! `production`, as before branches existed.
//!
//! The split is stable per install: an install falls in a bucket from 0 to 99, a hash of
//! its `eas-client-id` salted apart from the rollout bucket ([`split_bucket`]), and buckets
//! below the split percent get the split branch. Installs without a client id get the
//! main branch. When the chosen branch has no update for the request's runtime version and
//! platform, the other branch of the split serves it.
//!
//! ```
//! use expo_update_server::store::channels::{Channel, ChannelMap, Split, split_bucket};
//!
//! let mut production = Channel::implicit("default", "production");
//! production.split = Some(Split { branch: "canary".into(), percent: 10 });
//! let map = ChannelMap::new(vec![production]);
//! // Without a row, a channel serves the branch of its name.
//! assert_eq!(map.route("default", "staging", Some("any")), ("staging", None));
//! // Split: the install's bucket picks the branch; the other one is the fallback.
//! let install = "8a6e3d0e-5c4b-4c59-9f36-2b1f0e6a7d11";
//! let expected = if split_bucket(install) < 10 {
//!     ("canary", Some("production"))
//! } else {
//!     ("production", Some("canary"))
//! };
//! assert_eq!(map.route("default", "production", Some(install)), expected);
//! // No client id: the main branch.
//! assert_eq!(map.route("default", "production", None), ("production", Some("canary")));
//! ```
//!
//! A branch exists when it has updates or was created explicitly (`branches` table).
//! Deleting a branch that has updates moves them to a *retired* stream no client can ask
//! for ([`RETIRED_PREFIX`]); garbage collection then removes them like superseded updates.

use std::collections::HashMap;

use serde::Serialize;

use super::{MetadataStore, checked_name, rollout};
use crate::error::{Error, Result};

/// Salt of the split bucket: independent of the rollout bucket, so an install in an early
/// rollout bucket is not also always on the split branch.
const SPLIT_SALT: &[u8] = b"channel-split\0";

/// Start of the stream name of a deleted branch's updates (a control character: no valid
/// name, so no request or command can reach it).
pub const RETIRED_PREFIX: &str = "\u{1}retired ";

/// Whether a stream name is that of a deleted branch's updates.
pub fn is_retired(stream: &str) -> bool {
    stream.starts_with(RETIRED_PREFIX)
}

/// The split bucket (0 to 99) of an install.
pub fn split_bucket(client_id: &str) -> u8 {
    rollout::salted_bucket(SPLIT_SALT, client_id)
}

/// Checks a branch or channel name given to a branch or channel operation: the rule of
/// names ([`checked_name`]), and no `/`, so each is one path segment of the admin API.
pub fn checked_branch_name(what: &'static str, value: &str) -> Result<String> {
    let name = checked_name(what, value)?;
    if name.contains('/') {
        return Err(Error::Invalid(format!(
            "{what} {:?}: no '/' allowed",
            value.chars().take(80).collect::<String>()
        )));
    }
    Ok(name)
}

/// The second branch of a split channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Split {
    /// The branch served to the installs of the split.
    pub branch: String,
    /// Their share, 0 to 100.
    pub percent: u8,
}

/// A channel and what it serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Channel {
    /// Its app.
    #[serde(skip)]
    pub app: String,
    /// Its name (`expo-channel-name`).
    pub name: String,
    /// The branch served to everyone outside the split.
    pub branch: String,
    /// The split, if any.
    pub split: Option<Split>,
}

impl Channel {
    /// The channel as it is without a row: serving the branch of its own name.
    pub fn implicit(app: &str, name: &str) -> Self {
        Self {
            app: app.to_owned(),
            name: name.to_owned(),
            branch: name.to_owned(),
            split: None,
        }
    }

    /// The branch the install `client_id` is served first, and the other branch of the
    /// split (served when the first has nothing for the request).
    pub fn route<'a>(&'a self, client_id: Option<&str>) -> (&'a str, Option<&'a str>) {
        match (&self.split, client_id) {
            (Some(split), Some(client)) if split_bucket(client) < split.percent => {
                (&split.branch, Some(&self.branch))
            }
            (Some(split), _) => (&self.branch, Some(&split.branch)),
            (None, _) => (&self.branch, None),
        }
    }
}

/// A branch as listed: stored counts of a `branches` row or of its updates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Branch {
    /// Its name.
    pub name: String,
    /// How many updates it holds.
    pub updates: u64,
    /// The channels serving it (the same-named channel when it has no row of its own),
    /// filled by [`branches`].
    pub channels: Vec<String>,
}

/// A change to the branches and channels of an app, made in one transaction that bumps
/// the change counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BranchChange {
    /// Create an empty branch (409 when it exists).
    Create(String),
    /// Rename a branch: its updates, the `branches` row and the channels pointing at it.
    /// A channel named like the old branch without a row of its own gets one pointing at
    /// the new name, so it keeps serving the renamed branch.
    Rename {
        /// The branch.
        from: String,
        /// Its new name (must not exist).
        to: String,
    },
    /// Delete a branch: refused while a channel row points at it, and while it has
    /// updates unless `force` (they are retired, see [`RETIRED_PREFIX`]).
    Delete {
        /// The branch.
        name: String,
        /// Retire its updates.
        force: bool,
    },
    /// Store what a channel serves (its branches must exist).
    SetChannel(Channel),
}

/// Every channel of the apps, as the manifest route looks them up (no allocation per
/// lookup: keyed by app, then channel name).
#[derive(Debug, Default)]
pub struct ChannelMap {
    // Looked up on every manifest request: foldhash, not SipHash.
    apps: foldhash::HashMap<String, foldhash::HashMap<String, Channel>>,
}

impl ChannelMap {
    /// A map of these channel rows.
    pub fn new(channels: Vec<Channel>) -> Self {
        let mut apps: foldhash::HashMap<String, foldhash::HashMap<String, Channel>> =
            foldhash::HashMap::default();
        for channel in channels {
            apps.entry(channel.app.clone())
                .or_default()
                .insert(channel.name.clone(), channel);
        }
        Self { apps }
    }

    /// The stored channel `name` of `app`; `None` when it has no row (it serves the
    /// branch of its own name).
    pub fn get(&self, app: &str, name: &str) -> Option<&Channel> {
        self.apps.get(app)?.get(name)
    }

    /// The branch the install `client_id` is served on `channel`, and the fallback.
    pub fn route<'a>(
        &'a self,
        app: &str,
        channel: &'a str,
        client_id: Option<&str>,
    ) -> (&'a str, Option<&'a str>) {
        self.get(app, channel)
            .map_or((channel, None), |stored| stored.route(client_id))
    }
}

/// The channel `name` of `app` as stored, or as it is without a row.
pub async fn channel(store: &dyn MetadataStore, app: &str, name: &str) -> Result<Channel> {
    Ok(store
        .channels(Some(app))
        .await?
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| Channel::implicit(app, name)))
}

/// Every channel of `app` that serves something: the stored ones, and for each branch
/// without a same-named channel row, the implicit channel serving it. Sorted by name.
pub async fn channels(store: &dyn MetadataStore, app: &str) -> Result<Vec<Channel>> {
    let mut channels = store.channels(Some(app)).await?;
    for branch in store.branches(app).await? {
        if !channels.iter().any(|c| c.name == branch.name) {
            channels.push(Channel::implicit(app, &branch.name));
        }
    }
    channels.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(channels)
}

/// Every branch of `app` with its update count and the channels serving it.
pub async fn branches(store: &dyn MetadataStore, app: &str) -> Result<Vec<Branch>> {
    let stored = store.channels(Some(app)).await?;
    let mut branches = store.branches(app).await?;
    for branch in &mut branches {
        branch.channels = stored
            .iter()
            .filter(|c| {
                c.branch == branch.name || c.split.as_ref().is_some_and(|s| s.branch == branch.name)
            })
            .map(|c| c.name.clone())
            .collect();
        if !stored.iter().any(|c| c.name == branch.name) {
            branch.channels.push(branch.name.clone());
            branch.channels.sort();
        }
    }
    Ok(branches)
}

/// The channels serving each branch of the apps `apps` (see [`branches`]), keyed by (app,
/// branch): what listings show beside each update.
pub async fn serving<'a>(
    store: &dyn MetadataStore,
    apps: impl IntoIterator<Item = &'a str>,
) -> Result<HashMap<(String, String), Vec<String>>> {
    let mut apps: Vec<&str> = apps.into_iter().collect();
    apps.sort_unstable();
    apps.dedup();
    let mut serving = HashMap::new();
    for app in apps {
        for branch in branches(store, app).await? {
            serving.insert((app.to_owned(), branch.name), branch.channels);
        }
    }
    Ok(serving)
}

/// Points channel `name` at `branch` alone (ending any split).
pub async fn point(
    store: &dyn MetadataStore,
    app: &str,
    name: &str,
    branch: &str,
) -> Result<Channel> {
    let channel = Channel {
        app: app.to_owned(),
        name: checked_branch_name("channel", name)?,
        branch: checked_branch_name("branch", branch)?,
        split: None,
    };
    store
        .change_branches(app, BranchChange::SetChannel(channel.clone()))
        .await?;
    Ok(channel)
}

/// Starts or resizes the split of channel `name`: `percent` of its installs get `branch`.
pub async fn split(
    store: &dyn MetadataStore,
    app: &str,
    name: &str,
    branch: &str,
    percent: u8,
) -> Result<Channel> {
    let name = checked_branch_name("channel", name)?;
    let branch = checked_branch_name("split branch", branch)?;
    if percent > 100 {
        return Err(Error::Invalid(format!("split {percent}% is above 100")));
    }
    let mut channel = channel(store, app, &name).await?;
    if channel.branch == branch {
        return Err(Error::Invalid(format!(
            "channel {name:?} already serves branch {branch:?}: split onto another branch"
        )));
    }
    channel.split = Some(Split { branch, percent });
    store
        .change_branches(app, BranchChange::SetChannel(channel.clone()))
        .await?;
    Ok(channel)
}

/// Which branch a channel keeps when its split ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The main branch.
    Main,
    /// The split branch (it becomes the main one).
    Split,
}

impl std::str::FromStr for Keep {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "main" => Ok(Self::Main),
            "split" => Ok(Self::Split),
            other => Err(Error::Invalid(format!(
                "keep {:?}: expected main or split",
                other.chars().take(80).collect::<String>()
            ))),
        }
    }
}

/// Ends the split of channel `name`, keeping one of its branches.
pub async fn end_split(
    store: &dyn MetadataStore,
    app: &str,
    name: &str,
    keep: Keep,
) -> Result<Channel> {
    let name = checked_branch_name("channel", name)?;
    let mut channel = channel(store, app, &name).await?;
    let Some(split) = channel.split.take() else {
        return Err(Error::Nothing(format!("channel {name:?} has no split")));
    };
    if keep == Keep::Split {
        channel.branch = split.branch;
    }
    store
        .change_branches(app, BranchChange::SetChannel(channel.clone()))
        .await?;
    Ok(channel)
}

/// Whether a branch exists: `$1` app, `$2` name; one row, `present` 0 or 1.
pub(super) const BRANCH_EXISTS: &str = "SELECT CAST(CASE WHEN \
     EXISTS (SELECT 1 FROM branches WHERE app = $1 AND name = $2) \
     OR EXISTS (SELECT 1 FROM updates WHERE app = $1 AND channel = $2) \
     THEN 1 ELSE 0 END AS BIGINT) AS present";

/// The branches of an app (`$1`) with their update counts (`$2`: the retired prefix's
/// first character, excluded).
pub(super) const SELECT_BRANCHES: &str = "SELECT name, CAST(SUM(n) AS BIGINT) AS updates FROM (\
     SELECT channel AS name, COUNT(*) AS n FROM updates \
     WHERE app = $1 AND substr(channel, 1, 1) <> $2 GROUP BY channel \
     UNION ALL SELECT name, 0 AS n FROM branches WHERE app = $1) AS b \
     GROUP BY name ORDER BY name";

/// The channel rows (`$1`: only this app, or NULL for every app).
pub(super) const SELECT_CHANNELS: &str = "SELECT app, name, branch, split_branch, split_percent \
     FROM channels WHERE ($1 IS NULL OR app = $1) ORDER BY app, name";

/// Applies a [`BranchChange`] of app `$app` in the open transaction `$tx` (the change
/// counter already bumped), at time `$now`. Errors return from the caller (as in
/// `rows::insert_update!`): the caller's transaction is dropped, so nothing of a failed
/// change is kept.
macro_rules! apply_change {
    ($tx:expr, $app:expr, $change:expr, $now:expr) => {{
        use sqlx::Row as _;
        use $crate::error::Error;
        use $crate::store::channels::{BRANCH_EXISTS, BranchChange, RETIRED_PREFIX};
        let (tx, app, now): (_, &str, i64) = ($tx, $app, $now);
        macro_rules! exists {
            ($name:expr) => {{
                let present: i64 = sqlx::query(BRANCH_EXISTS)
                    .bind(app)
                    .bind($name)
                    .fetch_one(&mut **tx)
                    .await?
                    .try_get("present")?;
                present == 1
            }};
        }
        macro_rules! pointing {
            ($name:expr) => {{
                let rows = sqlx::query(
                    "SELECT name FROM channels WHERE app = $1 \
                     AND (branch = $2 OR split_branch = $2) ORDER BY name",
                )
                .bind(app)
                .bind($name)
                .fetch_all(&mut **tx)
                .await?;
                rows.iter()
                    .map(|row| row.try_get::<String, _>("name"))
                    .collect::<Result<Vec<String>, sqlx::Error>>()?
            }};
        }
        match $change {
            BranchChange::Create(name) => {
                if exists!(&name) {
                    return Err(Error::Conflict(format!("branch {name:?} exists")).into());
                }
                sqlx::query("INSERT INTO branches (app, name, created_at) VALUES ($1, $2, $3)")
                    .bind(app)
                    .bind(&name)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
            }
            BranchChange::Rename { from, to } => {
                if !exists!(&from) {
                    return Err(Error::NotFound(format!("no branch {from:?}")).into());
                }
                if exists!(&to) {
                    return Err(Error::Conflict(format!(
                        "branch {to:?} exists: rename onto a new name"
                    ))
                    .into());
                }
                for statement in [
                    "UPDATE updates SET channel = $3 WHERE app = $1 AND channel = $2",
                    "UPDATE branches SET name = $3 WHERE app = $1 AND name = $2",
                ] {
                    sqlx::query(statement)
                        .bind(app)
                        .bind(&from)
                        .bind(&to)
                        .execute(&mut **tx)
                        .await?;
                }
                let has_row: Option<String> =
                    sqlx::query("SELECT name FROM channels WHERE app = $1 AND name = $2")
                        .bind(app)
                        .bind(&from)
                        .fetch_optional(&mut **tx)
                        .await?
                        .map(|row| row.try_get("name"))
                        .transpose()?;
                for statement in [
                    "UPDATE channels SET branch = $3 WHERE app = $1 AND branch = $2",
                    "UPDATE channels SET split_branch = $3 WHERE app = $1 AND split_branch = $2",
                ] {
                    sqlx::query(statement)
                        .bind(app)
                        .bind(&from)
                        .bind(&to)
                        .execute(&mut **tx)
                        .await?;
                }
                if has_row.is_none() {
                    sqlx::query(
                        "INSERT INTO channels (app, name, branch, updated_at) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(app)
                    .bind(&from)
                    .bind(&to)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                }
            }
            BranchChange::Delete { name, force } => {
                if !exists!(&name) {
                    return Err(Error::NotFound(format!("no branch {name:?}")).into());
                }
                let channels = pointing!(&name);
                if !channels.is_empty() {
                    return Err(Error::Conflict(format!(
                        "branch {name:?} is served by channels {channels:?}: point them \
                         elsewhere first"
                    ))
                    .into());
                }
                let updates: i64 = sqlx::query(
                    "SELECT COUNT(*) AS n FROM updates WHERE app = $1 AND channel = $2",
                )
                .bind(app)
                .bind(&name)
                .fetch_one(&mut **tx)
                .await?
                .try_get("n")?;
                if updates > 0 && !force {
                    return Err(Error::Conflict(format!(
                        "branch {name:?} has {updates} updates: delete with force to let \
                         gc remove them"
                    ))
                    .into());
                }
                let retired = format!("{RETIRED_PREFIX}{now} {name}");
                sqlx::query("UPDATE updates SET channel = $3 WHERE app = $1 AND channel = $2")
                    .bind(app)
                    .bind(&name)
                    .bind(&retired)
                    .execute(&mut **tx)
                    .await?;
                sqlx::query("DELETE FROM branches WHERE app = $1 AND name = $2")
                    .bind(app)
                    .bind(&name)
                    .execute(&mut **tx)
                    .await?;
            }
            BranchChange::SetChannel(channel) => {
                let split = channel.split.as_ref();
                for branch in std::iter::once(&channel.branch).chain(split.map(|s| &s.branch)) {
                    if !exists!(branch) {
                        return Err(Error::NotFound(format!(
                            "no branch {branch:?} (create it first)"
                        ))
                        .into());
                    }
                }
                sqlx::query(
                    "INSERT INTO channels \
                     (app, name, branch, split_branch, split_percent, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (app, name) DO UPDATE SET \
                     branch = excluded.branch, split_branch = excluded.split_branch, \
                     split_percent = excluded.split_percent, updated_at = excluded.updated_at",
                )
                .bind(app)
                .bind(&channel.name)
                .bind(&channel.branch)
                .bind(split.map(|s| s.branch.as_str()))
                .bind(split.map(|s| i64::from(s.percent)))
                .bind(now)
                .execute(&mut **tx)
                .await?;
            }
        }
    }};
}
pub(super) use apply_change;

/// A [`Channel`] from a row of [`SELECT_CHANNELS`].
pub(super) fn channel_row(row: &impl super::rows::Columns) -> Result<Channel> {
    let split = match (
        row.text_or_null("split_branch")?,
        row.int_or_null("split_percent")?,
    ) {
        (Some(branch), Some(percent)) => Some(Split {
            branch,
            percent: u8::try_from(percent)
                .ok()
                .filter(|p| *p <= 100)
                .ok_or_else(|| Error::Corrupt(format!("split_percent {percent}")))?,
        }),
        (None, None) => None,
        _ => {
            return Err(Error::Corrupt(
                "a split without its branch or percent".into(),
            ));
        }
    };
    Ok(Channel {
        app: row.text("app")?,
        name: row.text("name")?,
        branch: row.text("branch")?,
        split,
    })
}

/// A [`Branch`] from a row of [`SELECT_BRANCHES`] (channels not filled).
pub(super) fn branch_row(row: &impl super::rows::Columns) -> Result<Branch> {
    let updates = row.int("updates")?;
    Ok(Branch {
        name: row.text("name")?,
        updates: u64::try_from(updates)
            .map_err(|_| Error::Corrupt(format!("{updates} updates")))?,
        channels: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_bucket_is_independent_of_the_rollout_bucket() {
        let ids: Vec<String> = (0..10_000).map(|i| format!("install-{i}")).collect();
        let same = ids
            .iter()
            .filter(|id| split_bucket(id) == rollout::bucket(id))
            .count();
        // Independent buckets agree about 1% of the time; equal ones always would.
        assert!(same < 300, "{same} of 10000 agree");
        let under_half = ids.iter().filter(|id| split_bucket(id) < 50).count();
        assert!((4_500..=5_500).contains(&under_half), "{under_half}");
        assert_eq!(split_bucket(" ABC "), split_bucket("abc"));
    }

    #[test]
    fn a_channel_routes_installs_by_their_split_bucket() {
        let mut channel = Channel::implicit("default", "production");
        assert_eq!(channel.route(Some("x")), ("production", None));
        channel.split = Some(Split {
            branch: "canary".into(),
            percent: 30,
        });
        assert_eq!(channel.route(None), ("production", Some("canary")));
        for i in 0..200 {
            let id = format!("install-{i}");
            let expected = if split_bucket(&id) < 30 {
                ("canary", Some("production"))
            } else {
                ("production", Some("canary"))
            };
            assert_eq!(channel.route(Some(&id)), expected);
        }
        let map = ChannelMap::new(vec![channel]);
        assert_eq!(map.route("default", "staging", None), ("staging", None));
        assert_eq!(map.route("other", "production", None), ("production", None));
        assert_eq!(
            map.route("default", "production", None),
            ("production", Some("canary"))
        );
    }

    #[test]
    fn branch_names_are_single_path_segments() {
        assert!(checked_branch_name("branch", "feature-1").is_ok());
        for bad in ["a/b", "", " x\t", &"x".repeat(300)] {
            assert!(checked_branch_name("branch", bad).is_err(), "{bad:?}");
        }
    }
}
