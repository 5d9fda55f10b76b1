//! `publish --project DIR`: exporting the app with the Expo CLI before publishing it, so one
//! command goes from source to update.
//!
//! Runs, in the app's directory, `npx expo export --platform P… --output-dir DIST` and then
//! `npx expo config --json --type public` (written to `DIST/app-config.json`, where
//! publish finds the app config).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::runtime::NPX_ENV;
use crate::store::Platform;

/// Exports the app in `project` into `dist` (default `PROJECT/dist`) for `platforms`;
/// returns the export folder.
pub fn export(project: &Path, dist: Option<&Path>, platforms: &[Platform]) -> Result<PathBuf> {
    if !project.join("package.json").is_file() {
        return Err(Error::Invalid(format!(
            "--project {}: no package.json there (pass the app's directory)",
            project.display()
        )));
    }
    let dist = match dist {
        Some(dist) if dist.is_absolute() => dist.to_path_buf(),
        Some(dist) => std::env::current_dir()
            .map_err(|e| Error::io(".", e))?
            .join(dist),
        None => project.join("dist"),
    };
    let mut args: Vec<String> = vec!["expo".into(), "export".into()];
    for platform in platforms {
        args.push("--platform".into());
        args.push(platform.as_str().into());
    }
    args.push("--output-dir".into());
    args.push(dist.display().to_string());
    // The export's progress goes to our stderr: stdout stays for `--json`.
    run(project, &args, Stdio::from(std::io::stderr()))?;
    let config = run_captured(project, &["expo", "config", "--json", "--type", "public"])?;
    serde_json::from_slice::<serde_json::Value>(&config).map_err(|e| {
        Error::Export(format!(
            "`npx expo config --json --type public` in {} printed no JSON: {e}",
            project.display()
        ))
    })?;
    let path = dist.join("app-config.json");
    std::fs::write(&path, &config).map_err(|e| Error::io(&path, e))?;
    Ok(dist)
}

fn npx(project: &Path, args: &[impl AsRef<std::ffi::OsStr>]) -> Command {
    let mut command = Command::new(std::env::var_os(NPX_ENV).unwrap_or_else(|| "npx".into()));
    command.args(args).current_dir(project);
    command
}

fn shown(project: &Path, args: &[impl AsRef<str>]) -> String {
    let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    format!("`npx {}` in {}", args.join(" "), project.display())
}

fn run(project: &Path, args: &[String], stdout: Stdio) -> Result<()> {
    let status = npx(project, args)
        .stdout(stdout)
        .status()
        .map_err(|e| Error::Export(format!("cannot run {}: {e}", shown(project, args))))?;
    if !status.success() {
        return Err(Error::Export(format!(
            "{} failed ({status})",
            shown(project, args)
        )));
    }
    Ok(())
}

fn run_captured(project: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let output = npx(project, args)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Error::Export(format!("cannot run {}: {e}", shown(project, args))))?;
    if !output.status.success() {
        return Err(Error::Export(format!(
            "{} failed ({})",
            shown(project, args),
            output.status
        )));
    }
    Ok(output.stdout)
}
