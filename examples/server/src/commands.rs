//! Running each command on the data directory.

use std::sync::Arc;

use serde_json::Value;

use crate::blobs::{AssetUrls, BlobStore, LocalBlobStore, S3BlobStore, S3Location};
use crate::check::check;
use crate::cli::{
    BranchCommand, ChannelCommand, CheckArgs, Cli, Command, GcArgs, ListArgs, PlatformArg,
    PromoteArgs, PublishArgs, RollbackArgs, ShowArgs, SourcemapsArgs,
};
use crate::config::Loaded;
use crate::data::Data;
use crate::error::{Error, Result};
use crate::output::{
    branches_table, channels_table, escape_controls, info_json, json_text, update_json,
    update_text, updates_table, with_channels, with_health,
};
use crate::promote::{self, ImportStatus, PromoteRequest};
use crate::publish::{PublishRequest, publish};
use crate::remote_publish::{self, RemoteOptions};
use crate::runtime::RuntimeFlags;
use crate::settings::Settings;
use crate::store::channels::{self, BranchChange, checked_branch_name};
use crate::store::{
    DEFAULT_APP, MetadataStore, Platform, UpdateFilter, UpdateInfo, checked_name, gc::Cutoffs,
    rollout,
};
use crate::{http, logging, ops};

fn platforms(arg: PlatformArg) -> Option<Vec<Platform>> {
    match arg {
        PlatformArg::Ios => Some(vec![Platform::Ios]),
        PlatformArg::Android => Some(vec![Platform::Android]),
        PlatformArg::All => None,
    }
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    let loaded = Loaded::read(cli.config.as_deref())?;
    let settings = loaded.settings_with_apps(&cli)?;
    logging::init(settings.log_format);
    checked_name("default channel", &settings.default_channel)?;
    let app = cli
        .app
        .as_deref()
        .map(crate::settings::checked_app_name)
        .transpose()?;
    match cli.command {
        Command::Serve(args) => {
            let serve = loaded.serve(&args)?;
            // Keys are checked before anything is opened or bound.
            let signers = http::signing::load(&serve.signing_keys)?;
            let mut app_signers = std::collections::BTreeMap::new();
            for (name, app) in &settings.apps {
                app_signers.insert(name.clone(), http::signing::load(&app.signing_keys)?);
            }
            if matches!(serve.asset_urls, AssetUrls::Presigned { .. })
                && settings.storage.as_deref().is_none_or(|s| s == "local")
            {
                return Err(Error::Config(
                    "--asset-urls presigned needs --storage s3://bucket/prefix".into(),
                ));
            }
            let data = Data::from_settings(&settings).await?;
            http::serve(&settings, serve, signers, app_signers, data).await
        }
        Command::Publish(args) => run_publish(&settings, the_app(app.as_deref()), args).await,
        Command::Check(args) => run_check(app.as_deref(), args).await,
        Command::List(args) => run_list(&settings, app, args).await,
        Command::Show(args) => run_show(&settings, app.as_deref(), args).await,
        Command::Rollback(args) => run_rollback(&settings, app.as_deref(), args).await,
        Command::Gc(args) => run_gc(&settings, app.as_deref(), &args).await,
        Command::Rollout(args) => {
            let data = Data::from_settings(&settings).await?;
            let store = data.store.as_ref();
            check_app(store, app.as_deref(), args.id).await?;
            if args.revert {
                let update = rollout::revert(store, args.id, args.message).await?;
                print_created(&[update], args.json, "reverted to");
            } else {
                let percent = args.percent.unwrap_or(100);
                let update = rollout::set_percent(store, args.id, percent).await?;
                if args.json {
                    println!("{}", json_text(&info_json(&update)));
                } else {
                    println!("{} now rolled out to {percent}% of installs", update.id);
                }
            }
            Ok(())
        }
        Command::Promote(args) => run_promote(&settings, app.as_deref(), args).await,
        Command::Sourcemaps(args) => run_sourcemaps(&settings, app.as_deref(), args).await,
        Command::Branch(command) => run_branch(&settings, the_app(app.as_deref()), command).await,
        Command::Channel(command) => run_channel(&settings, the_app(app.as_deref()), command).await,
        Command::Republish(args) => {
            let data = Data::from_settings(&settings).await?;
            let store = data.store.as_ref();
            check_app(store, app.as_deref(), args.id).await?;
            let branch = match (args.branch, args.channel) {
                (Some(branch), _) => Some(branch),
                (None, Some(channel)) => {
                    let source = store
                        .update(args.id)
                        .await?
                        .ok_or(Error::UpdateNotFound(args.id))?;
                    Some(branch_of(store, &source.info.scope.app, &channel).await?)
                }
                (None, None) => None,
            };
            let update = ops::republish(store, args.id, branch.as_deref(), args.message).await?;
            print_created(&[update], args.json, "republished");
            Ok(())
        }
    }
}

/// The branch channel `channel` of `app` points at (its main branch during a split).
async fn branch_of(store: &dyn MetadataStore, app: &str, channel: &str) -> Result<String> {
    let channel = checked_name("channel", channel)?;
    Ok(channels::channel(store, app, &channel).await?.branch)
}

async fn run_branch(settings: &Settings, app: &str, command: BranchCommand) -> Result<()> {
    let data = Data::from_settings(settings).await?;
    let store = data.store.as_ref();
    let change = match command {
        BranchCommand::List { json } => {
            let branches = channels::branches(store, app).await?;
            if json {
                println!(
                    "{}",
                    json_text(&serde_json::to_value(&branches).unwrap_or_default())
                );
            } else if branches.is_empty() {
                println!("no branches");
            } else {
                print!("{}", branches_table(&branches));
            }
            return Ok(());
        }
        BranchCommand::Create { name } => {
            BranchChange::Create(checked_branch_name("branch", &name)?)
        }
        BranchCommand::Rename { from, to } => BranchChange::Rename {
            from: checked_name("branch", &from)?,
            to: checked_branch_name("new branch name", &to)?,
        },
        BranchCommand::Delete { name, force } => BranchChange::Delete {
            name: checked_name("branch", &name)?,
            force,
        },
    };
    let done = match &change {
        BranchChange::Create(name) => format!("created branch {name}"),
        BranchChange::Rename { from, to } => format!("renamed branch {from} to {to}"),
        BranchChange::Delete { name, .. } => format!("deleted branch {name}"),
        BranchChange::SetChannel(_) => String::new(),
    };
    store.change_branches(app, change).await?;
    println!("{}", escape_controls(&done));
    Ok(())
}

async fn run_channel(settings: &Settings, app: &str, command: ChannelCommand) -> Result<()> {
    let data = Data::from_settings(settings).await?;
    let store = data.store.as_ref();
    let channel = match command {
        ChannelCommand::List { json } => {
            let channels = channels::channels(store, app).await?;
            if json {
                println!(
                    "{}",
                    json_text(&serde_json::to_value(&channels).unwrap_or_default())
                );
            } else if channels.is_empty() {
                println!("no channels");
            } else {
                print!("{}", channels_table(&channels));
            }
            return Ok(());
        }
        ChannelCommand::Set { name, branch } => channels::point(store, app, &name, &branch).await?,
        ChannelCommand::Split {
            name,
            split_branch,
            percent,
        } => channels::split(store, app, &name, &split_branch, percent).await?,
        ChannelCommand::EndSplit { name, keep } => {
            channels::end_split(store, app, &name, keep.parse()?).await?
        }
    };
    print!("{}", channels_table(std::slice::from_ref(&channel)));
    Ok(())
}

/// `--app`, or the default app.
fn the_app(app: Option<&str>) -> &str {
    app.unwrap_or(DEFAULT_APP)
}

/// With `--app`, update `id` must belong to that app: another app's updates are not found.
async fn check_app(store: &dyn MetadataStore, app: Option<&str>, id: uuid::Uuid) -> Result<()> {
    let Some(app) = app else {
        return Ok(());
    };
    match store.update(id).await? {
        Some(update) if update.info.scope.app == app => Ok(()),
        _ => Err(Error::UpdateNotFound(id)),
    }
}

async fn run_gc(settings: &Settings, app: Option<&str>, args: &GcArgs) -> Result<()> {
    let data = Data::from_settings(settings).await?;
    let now = crate::store::now_millis();
    let cutoff = |age: std::time::Duration| {
        now.saturating_sub(i64::try_from(age.as_millis()).unwrap_or(i64::MAX))
    };
    let flag = args.older_than.map(|d| d.0);
    let mut cutoffs = Cutoffs::default();
    if let Some(app) = app {
        let age = flag
            .or_else(|| settings.app(app).and_then(|view| view.gc_older_than))
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "app {app:?} has no gc-older-than setting: pass --older-than"
                ))
            })?;
        cutoffs.apps.insert(app.to_owned(), cutoff(age));
    } else if let Some(age) = flag {
        cutoffs = Cutoffs::every_app(cutoff(age));
    } else {
        if let Some(age) = settings.gc_older_than {
            cutoffs.apps.insert(DEFAULT_APP.to_owned(), cutoff(age));
        }
        for (name, app) in &settings.apps {
            if let Some(age) = app.gc_older_than {
                cutoffs.apps.insert(name.clone(), cutoff(age));
            }
        }
        if cutoffs.apps.is_empty() {
            return Err(Error::Invalid(
                "no app has a gc-older-than setting: pass --older-than".into(),
            ));
        }
    }
    let report = data
        .store
        .collect_garbage(&cutoffs, args.dry_run, data.blobs.as_ref())
        .await?;
    if args.json {
        println!(
            "{}",
            json_text(&serde_json::to_value(&report).unwrap_or_default())
        );
    } else {
        let verb = if report.dry_run {
            "would delete"
        } else {
            "deleted"
        };
        println!(
            "{verb} {} updates and {} blobs ({} bytes before compression)",
            report.updates.len(),
            report.blobs.len(),
            report.bytes()
        );
        if report.patches > 0 {
            println!("{verb} {} launch-asset patches", report.patches);
        }
    }
    Ok(())
}

async fn run_promote(settings: &Settings, app: Option<&str>, args: PromoteArgs) -> Result<()> {
    let data = Data::from_settings(settings).await?;
    check_app(data.store.as_ref(), app, args.id).await?;
    let request = PromoteRequest {
        id: args.id,
        target: args.to,
        token: args.token,
        channel: args.channel,
        rollout_percent: args.rollout,
        message: args.message,
    };
    let report = promote::promote(data.store.as_ref(), data.blobs.as_ref(), &request).await?;
    if args.json {
        let mut value = serde_json::to_value(&report).unwrap_or_default();
        value["update"] = info_json(&report.update);
        println!("{}", json_text(&value));
    } else {
        let verb = match report.status {
            ImportStatus::Created => "promoted",
            ImportStatus::AlreadyThere => "already there:",
        };
        println!(
            "{verb} {} as {} on {} ({}, channel {}, runtime {}); uploaded {} blobs, {} already stored",
            args.id,
            report.update.id,
            request.target,
            report.update.scope.platform,
            report.update.scope.channel,
            report.update.scope.runtime_version,
            report.uploaded.len(),
            report.already_stored,
        );
    }
    Ok(())
}

async fn run_publish(settings: &Settings, app: &str, args: PublishArgs) -> Result<()> {
    let platforms = platforms(args.platform);
    let dist = match (&args.project, &args.dist) {
        (Some(_), Some(dist)) if args.no_export => dist.clone(),
        (Some(project), dist) => {
            let wanted = platforms
                .clone()
                .unwrap_or_else(|| vec![Platform::Ios, Platform::Android]);
            let (project, dist, wanted) = (project.clone(), dist.clone(), wanted);
            tokio::task::spawn_blocking(move || {
                crate::project::export(&project, dist.as_deref(), &wanted)
            })
            .await
            .map_err(|e| Error::Task(e.to_string()))??
        }
        (None, Some(dist)) => dist.clone(),
        (None, None) => return Err(Error::Invalid("pass DIST or --project DIR".into())),
    };
    let mut per_platform = std::collections::BTreeMap::new();
    if let Some(version) = args.ios_runtime_version {
        per_platform.insert(Platform::Ios, version);
    }
    if let Some(version) = args.android_runtime_version {
        per_platform.insert(Platform::Android, version);
    }
    let request = PublishRequest {
        dist,
        app: app.to_owned(),
        // The stream published to is the branch: --branch, or the channel's name.
        channel: args
            .branch
            .clone()
            .or_else(|| args.channel.clone())
            .unwrap_or_else(|| settings.channel_of(app).to_owned()),
        runtime: RuntimeFlags {
            all: args.runtime_version,
            per_platform,
            project: args.project,
        },
        platforms,
        message: args.message,
        app_config: args.app_config,
        progress: !args.json,
        brotli_quality: args.brotli_quality,
        rollout_percent: args.rollout,
    };
    if let Some(server) = args.server {
        let options = RemoteOptions {
            server,
            token: args.token.unwrap_or_default(),
            channel: args.branch.or(args.channel),
            message: request.message.clone(),
            rollout_percent: request.rollout_percent,
            progress: request.progress,
        };
        let prepared = crate::publish::prepare(&request).await?;
        if args.dry_run {
            let report = remote_publish::dry_run(&prepared, &options).await?;
            print_dry_run(&report, args.json);
            return Ok(());
        }
        let report = remote_publish::publish(&prepared, &options).await?;
        if args.json {
            let mut value = serde_json::to_value(&report).unwrap_or_default();
            value["updates"] = Value::Array(report.updates.iter().map(info_json).collect());
            println!("{}", json_text(&value));
        } else {
            print_created(&report.updates, false, "published");
            println!(
                "uploaded {} files ({} bytes), {} already on the server",
                report.uploaded, report.uploaded_bytes, report.already_stored
            );
        }
        return Ok(());
    }
    if args.dry_run {
        // Reads the blob store only: no database is opened, no directory created.
        let blobs: Option<Arc<dyn BlobStore>> = match &settings.storage {
            Some(url) if url != "local" => {
                Some(Arc::new(S3BlobStore::from_env(url.parse::<S3Location>()?)?))
            }
            _ => LocalBlobStore::existing(settings.data_dir.join("blobs"))
                .map(|b| Arc::new(b) as Arc<dyn BlobStore>),
        };
        let report = crate::publish::dry_run(blobs.as_deref(), &request).await?;
        print_dry_run(&report, args.json);
        return Ok(());
    }
    let data = Data::from_settings(settings).await?;
    let updates = publish(data.store.as_ref(), data.blobs, request).await?;
    print_created(&updates, args.json, "published");
    Ok(())
}

async fn run_sourcemaps(
    settings: &Settings,
    app: Option<&str>,
    args: SourcemapsArgs,
) -> Result<()> {
    let maps = if let Some(server) = &args.server {
        let token = args.token.as_deref().unwrap_or_default();
        crate::source_maps::download_remote(server, token, args.id, &args.out).await?
    } else {
        let data = Data::from_settings(settings).await?;
        check_app(data.store.as_ref(), app, args.id).await?;
        crate::source_maps::download_local(
            data.store.as_ref(),
            data.blobs.as_ref(),
            args.id,
            &args.out,
        )
        .await?
    };
    if args.json {
        println!(
            "{}",
            json_text(&serde_json::to_value(&maps).unwrap_or_default())
        );
    } else if maps.is_empty() {
        println!("update {} has no source maps", args.id);
    } else {
        for map in &maps {
            println!(
                "{} ({} bytes)",
                args.out.join(&map.path).display(),
                map.size
            );
        }
    }
    Ok(())
}

fn print_dry_run(report: &crate::publish::DryRunReport, json: bool) {
    if json {
        println!(
            "{}",
            json_text(&serde_json::to_value(report).unwrap_or_default())
        );
    } else {
        print!("{}", report.to_text());
    }
}

async fn run_list(settings: &Settings, app: Option<String>, args: ListArgs) -> Result<()> {
    let data = Data::from_settings(settings).await?;
    let filter = UpdateFilter {
        app,
        channel: args.channel,
        runtime_version: args.runtime_version,
        platform: platforms(args.platform).and_then(|p| p.first().copied()),
        before: None,
        limit: args.limit,
    };
    let updates = data.store.list(&filter).await?;
    let store = data.store.as_ref();
    let apps = updates.iter().map(|u| u.scope.app.as_str());
    let serving = channels::serving(store, apps).await?;
    if args.json {
        let ids: Vec<_> = updates.iter().map(|u| u.id).collect();
        let health = data.store.health(&ids).await?;
        let rows = updates.iter().map(|u| {
            let row = with_health(info_json(u), health.get(&u.id).copied().unwrap_or_default());
            with_channels(row, u, &serving)
        });
        println!("{}", json_text(&Value::Array(rows.collect())));
    } else if updates.is_empty() {
        println!("no updates");
    } else {
        print!("{}", updates_table(&updates));
        // Which channel serves which branch, when any is configured.
        let mut configured = Vec::new();
        for app in updates
            .iter()
            .map(|u| u.scope.app.as_str())
            .collect::<std::collections::BTreeSet<_>>()
        {
            configured.extend(store.channels(Some(app)).await?);
        }
        if !configured.is_empty() {
            println!();
            print!("{}", channels_table(&configured));
        }
    }
    Ok(())
}

async fn run_show(settings: &Settings, app: Option<&str>, args: ShowArgs) -> Result<()> {
    let data = Data::from_settings(settings).await?;
    let update = data
        .store
        .update(args.id)
        .await?
        .filter(|update| app.is_none_or(|app| update.info.scope.app == app))
        .ok_or(Error::UpdateNotFound(args.id))?;
    let health = data
        .store
        .health(&[args.id])
        .await?
        .remove(&args.id)
        .unwrap_or_default();
    let scope = &update.info.scope;
    let served_by = channels::serving(data.store.as_ref(), [scope.app.as_str()])
        .await?
        .remove(&(scope.app.clone(), scope.channel.clone()))
        .unwrap_or_default();
    if args.json {
        let value = with_health(update_json(&update), health);
        let serving = std::collections::HashMap::from([(
            (scope.app.clone(), scope.channel.clone()),
            served_by,
        )]);
        println!(
            "{}",
            json_text(&with_channels(value, &update.info, &serving))
        );
    } else {
        print!("{}", update_text(&update, health, &served_by));
    }
    Ok(())
}

async fn run_rollback(settings: &Settings, app: Option<&str>, args: RollbackArgs) -> Result<()> {
    let data = Data::from_settings(settings).await?;
    let store = data.store.as_ref();
    let platforms = args.platform.and_then(platforms);
    let updates = if let Some(to) = args.to {
        check_app(store, app, to).await?;
        vec![ops::rollback_to(store, to, args.message).await?]
    } else {
        let app = the_app(app);
        let channel = if let Some(branch) = args.branch {
            branch
        } else {
            let channel = args
                .channel
                .unwrap_or_else(|| settings.channel_of(app).to_owned());
            branch_of(store, app, &channel).await?
        };
        let runtime = args.runtime_version.unwrap_or_default();
        let platforms = platforms.as_deref();
        if args.embedded {
            ops::rollback_to_embedded(store, app, &channel, &runtime, platforms, args.message)
                .await?
        } else {
            ops::rollback_previous(store, app, &channel, &runtime, platforms, args.message).await?
        }
    };
    print_created(&updates, args.json, "rolled back");
    Ok(())
}

fn print_created(updates: &[UpdateInfo], json: bool, verb: &str) {
    if json {
        println!(
            "{}",
            json_text(&Value::Array(updates.iter().map(info_json).collect()))
        );
        return;
    }
    for update in updates {
        println!(
            "{verb} {} ({}, channel {}, runtime {}, createdAt {})",
            update.id,
            update.scope.platform,
            update.scope.channel,
            update.scope.runtime_version,
            update.created_at_iso()
        );
    }
}

async fn run_check(app: Option<&str>, args: CheckArgs) -> Result<()> {
    use expo_updates::conformance::{Certificate, Group, Options, State};

    let prefix = app
        .filter(|app| *app != DEFAULT_APP)
        .map(|app| format!("/{app}"))
        .unwrap_or_default();
    let url = match args.url.trim_end_matches('/').split_once("://") {
        Some((_, rest)) if !rest.contains('/') => {
            format!("{}{prefix}/manifest", args.url.trim_end_matches('/'))
        }
        _ => args.url.clone(),
    };
    let groups = |names: &[String], flag: &str| -> Result<Vec<Group>> {
        names
            .iter()
            .map(|name| {
                Group::from_name(name.trim()).ok_or_else(|| {
                    let known: Vec<_> = Group::ALL.iter().map(|g| g.as_str()).collect();
                    Error::Invalid(format!(
                        "{flag}: unknown group {name:?} (one of {})",
                        known.join(", ")
                    ))
                })
            })
            .collect()
    };
    let mut options = Options::new(url, args.runtime_version.clone());
    if let Some(platforms) = platforms(args.platform) {
        options.platforms = platforms;
    }
    options.channel = args.channel;
    options.only = groups(&args.only, "--only")?;
    options.skip = groups(&args.skip, "--skip")?;
    options.max_requests = args.max_requests;
    options.allow_mutations = args.allow_mutations;
    if let Some(path) = &args.certificate {
        let pem = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        options.certificate = Some(
            Certificate::from_pem(&pem, args.keyid.clone())
                .map_err(|e| Error::Config(format!("--certificate {}: {e}", path.display())))?,
        );
    }
    if let Some(path) = &args.previous_state {
        let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        options.previous =
            Some(serde_json::from_slice::<State>(&text).map_err(|e| {
                Error::Invalid(format!("--previous-state {}: {e}", path.display()))
            })?);
    }
    let report = check(&options).await?;
    if let Some(path) = &args.save_state {
        std::fs::write(
            path,
            json_text(&serde_json::to_value(&report.state).unwrap_or_default()),
        )
        .map_err(|e| Error::io(path, e))?;
    }
    if args.json {
        println!("{}", json_text(&report.to_json()));
    } else {
        print!("{}", report.to_text());
    }
    match (report.errors(), report.warnings()) {
        (0, 0) => Ok(()),
        (0, warnings) => {
            use std::io::Write as _;
            eprintln!("{warnings} warning(s) found");
            let _ = std::io::stdout().flush();
            // Warnings only: a distinct exit code, so CI can tell them from errors.
            std::process::exit(3)
        }
        (errors, _) => Err(Error::Invalid(format!("{errors} error(s) found"))),
    }
}
