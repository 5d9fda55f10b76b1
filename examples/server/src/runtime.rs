//! The runtime version each platform of a publish is served under.
//!
//! Flags win (`--runtime-version` for every platform, `--ios-runtime-version` /
//! `--android-runtime-version` for one), but must agree with what the app config computes
//! (apps built from it would never load the update otherwise). Without flags the app config
//! decides, per platform ([`AppConfig::runtime_version_for`]); the `fingerprint` policy is
//! resolved by the Expo CLI in the project directory
//! (`npx expo-updates runtimeversion:resolve --platform P`), as an app build does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::app_config::{AppConfig, DeclaredRuntime};
use crate::error::{Error, Result};
use crate::store::Platform;

/// The program run for `npx` (tests point it elsewhere); `npx` when unset.
pub const NPX_ENV: &str = "EXPO_UPDATE_SERVER_NPX";

/// What the command line says about runtime versions.
#[derive(Debug, Clone, Default)]
pub struct RuntimeFlags {
    /// `--runtime-version`: every platform.
    pub all: Option<String>,
    /// `--ios-runtime-version` / `--android-runtime-version`.
    pub per_platform: BTreeMap<Platform, String>,
    /// `--project`: the app's directory, where the Expo CLI computes fingerprints.
    pub project: Option<PathBuf>,
}

/// The runtime version of each of `platforms`.
pub fn resolve(
    flags: &RuntimeFlags,
    platforms: &[Platform],
    config: Option<&AppConfig>,
    config_path: Option<&Path>,
) -> Result<BTreeMap<Platform, String>> {
    let mut resolved = BTreeMap::new();
    for &platform in platforms {
        let version = resolve_one(flags, platform, config, config_path)?;
        resolved.insert(platform, version);
    }
    Ok(resolved)
}

fn resolve_one(
    flags: &RuntimeFlags,
    platform: Platform,
    config: Option<&AppConfig>,
    config_path: Option<&Path>,
) -> Result<String> {
    let (given, flag) = match flags.per_platform.get(&platform) {
        Some(version) => (
            Some(version.clone()),
            format!("--{platform}-runtime-version"),
        ),
        None => (flags.all.clone(), "--runtime-version".to_owned()),
    };
    let declared = config
        .map(|config| config.runtime_version_for(platform))
        .transpose()?
        .unwrap_or(DeclaredRuntime::Undeclared);
    let config_name =
        || config_path.map_or_else(|| "the app config".into(), |p| p.display().to_string());
    let declared = match declared {
        DeclaredRuntime::Undeclared => None,
        DeclaredRuntime::Version(version) => Some(version),
        // A fingerprint given on the command line is taken as it is: computing it again
        // needs the project, which CI may not have at this step.
        DeclaredRuntime::Fingerprint if given.is_some() => None,
        DeclaredRuntime::Fingerprint => match &flags.project {
            Some(project) => Some(fingerprint(project, platform)?),
            None => {
                return Err(Error::Export(format!(
                    "{} uses the fingerprint runtime version policy: pass --project DIR (the \
                     app's directory, where `npx expo-updates runtimeversion:resolve \
                     --platform {platform}` computes it) or {flag}",
                    config_name()
                )));
            }
        },
    };
    match (given, declared) {
        (Some(given), Some(declared)) if given != declared => Err(Error::Export(format!(
            "{flag} {given:?} does not match the runtimeVersion {declared:?} that {} gives \
             {platform}: apps built from this config would never load the update",
            config_name()
        ))),
        (Some(version), _) | (None, Some(version)) => Ok(version),
        (None, None) => Err(Error::Export(format!(
            "no runtime version for {platform}: pass {flag} (the app config declares none)"
        ))),
    }
}

/// The fingerprint runtime version of `platform`, computed by the Expo CLI in `project`.
pub fn fingerprint(project: &Path, platform: Platform) -> Result<String> {
    let npx = std::env::var_os(NPX_ENV).unwrap_or_else(|| "npx".into());
    let mut command = Command::new(&npx);
    command
        .args(["expo-updates", "runtimeversion:resolve", "--platform"])
        .arg(platform.as_str())
        .current_dir(project);
    let shown = format!(
        "`npx expo-updates runtimeversion:resolve --platform {platform}` in {}",
        project.display()
    );
    let output = command
        .output()
        .map_err(|e| Error::Export(format!("cannot run {shown}: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        return Err(Error::Export(format!(
            "{shown} failed ({}): {}",
            output.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
        )));
    }
    parse_resolved(&String::from_utf8_lossy(&output.stdout))
        .ok_or_else(|| Error::Export(format!("{shown} printed no runtimeVersion")))
}

/// The `runtimeVersion` of the JSON line `runtimeversion:resolve` prints last.
fn parse_resolved(stdout: &str) -> Option<String> {
    stdout.lines().rev().find_map(|line| {
        let value: Value = serde_json::from_str(line.trim()).ok()?;
        value
            .get("runtimeVersion")?
            .as_str()
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> AppConfig {
        AppConfig {
            config: serde_json::from_str(json).unwrap(),
        }
    }

    fn both(flags: &RuntimeFlags, json: &str) -> Result<(String, String)> {
        let config = config(json);
        let resolved = resolve(
            flags,
            &[Platform::Ios, Platform::Android],
            Some(&config),
            None,
        )?;
        Ok((
            resolved[&Platform::Ios].clone(),
            resolved[&Platform::Android].clone(),
        ))
    }

    fn pair(ios: &str, android: &str) -> (String, String) {
        (ios.to_owned(), android.to_owned())
    }

    #[test]
    fn every_policy_per_platform() {
        let none = RuntimeFlags::default();
        assert_eq!(
            both(&none, r#"{"runtimeVersion":"1.2.3"}"#).unwrap(),
            pair("1.2.3", "1.2.3")
        );
        assert_eq!(
            both(
                &none,
                r#"{"runtimeVersion":"1.2.3","android":{"runtimeVersion":"7"}}"#
            )
            .unwrap(),
            pair("1.2.3", "7")
        );
        assert_eq!(
            both(
                &none,
                r#"{"version":"2.1.0","runtimeVersion":{"policy":"appVersion"}}"#
            )
            .unwrap(),
            pair("2.1.0", "2.1.0")
        );
        assert_eq!(
            both(&none, r#"{"runtimeVersion":{"policy":"appVersion"}}"#).unwrap(),
            pair("1.0.0", "1.0.0")
        );
        assert_eq!(
            both(
                &none,
                r#"{"version":"2.1.0","runtimeVersion":{"policy":"nativeVersion"},
                    "ios":{"buildNumber":"14"},"android":{"versionCode":42}}"#
            )
            .unwrap(),
            pair("2.1.0(14)", "2.1.0(42)")
        );
        // Defaults of the Expo tooling: build number "1", version code 1; ios.version
        // counts for iOS only.
        assert_eq!(
            both(
                &none,
                r#"{"version":"3.0.0","runtimeVersion":{"policy":"nativeVersion"},
                    "ios":{"version":"3.0.1"}}"#
            )
            .unwrap(),
            pair("3.0.1(1)", "3.0.0(1)")
        );
        // A per-platform policy overrides the top-level string.
        assert_eq!(
            both(
                &none,
                r#"{"version":"4.0.0","runtimeVersion":"x",
                    "ios":{"runtimeVersion":{"policy":"appVersion"}}}"#
            )
            .unwrap(),
            pair("4.0.0", "x")
        );
        assert_eq!(
            both(
                &none,
                r#"{"sdkVersion":"55.0.0","runtimeVersion":{"policy":"sdkVersion"}}"#
            )
            .unwrap(),
            pair("exposdk:55.0.0", "exposdk:55.0.0")
        );
    }

    #[test]
    fn refusals_name_the_flag_to_pass() {
        let none = RuntimeFlags::default();
        let err = both(&none, r#"{"runtimeVersion":{"policy":"fingerprint"}}"#).unwrap_err();
        assert!(err.to_string().contains("--project DIR"), "{err}");
        let err = both(&none, r#"{"runtimeVersion":{"policy":"bogus"}}"#).unwrap_err();
        assert!(
            err.to_string().contains("not a valid runtimeVersion"),
            "{err}"
        );
        let err = both(&none, r#"{"runtimeVersion":42}"#).unwrap_err();
        assert!(
            err.to_string().contains("not a valid runtimeVersion"),
            "{err}"
        );
        let err = both(&none, r#"{"runtimeVersion":"file:fingerprint"}"#).unwrap_err();
        assert!(err.to_string().contains("reserved"), "{err}");
        let err = both(&none, r#"{"name":"x"}"#).unwrap_err();
        assert!(err.to_string().contains("--runtime-version"), "{err}");
        // A flag must agree with the config, per platform.
        let flags = RuntimeFlags {
            all: Some("2.1.0(14)".into()),
            ..RuntimeFlags::default()
        };
        let native = r#"{"version":"2.1.0","runtimeVersion":{"policy":"nativeVersion"},
                    "ios":{"buildNumber":"14"},"android":{"versionCode":42}}"#;
        let err = both(&flags, native).unwrap_err();
        assert!(
            err.to_string()
                .contains("runtimeVersion \"2.1.0(42)\" that the app config gives android"),
            "{err}"
        );
        let flags = RuntimeFlags {
            per_platform: [(Platform::Android, "2.1.0(42)".to_owned())].into(),
            ..flags
        };
        assert_eq!(
            both(&flags, native).unwrap(),
            pair("2.1.0(14)", "2.1.0(42)")
        );
    }

    #[test]
    fn fingerprints_come_from_flags_or_the_cli() {
        let json = r#"{"runtimeVersion":{"policy":"fingerprint"}}"#;
        let flags = RuntimeFlags {
            per_platform: [
                (Platform::Ios, "aaa".to_owned()),
                (Platform::Android, "bbb".to_owned()),
            ]
            .into(),
            ..RuntimeFlags::default()
        };
        assert_eq!(both(&flags, json).unwrap(), pair("aaa", "bbb"));
        assert_eq!(
            parse_resolved("warning\n{\"runtimeVersion\":\"f00\",\"workflow\":\"managed\"}\n")
                .as_deref(),
            Some("f00")
        );
        assert_eq!(parse_resolved("{\"runtimeVersion\":null}"), None);
        assert_eq!(parse_resolved("not json"), None);
    }
}
