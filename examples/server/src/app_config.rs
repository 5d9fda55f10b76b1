//! The public app config of an export (`npx expo config --json --type public`), served as
//! `extra.expoClient` so `Constants.expoConfig` is not empty after an update.

use std::path::{Path, PathBuf};

use expo_manifest::ExportDir;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::store::Platform;

/// An app config object (`name`, `slug`, `runtimeVersion`, ...).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AppConfig {
    /// The object.
    pub config: Map<String, Value>,
}

impl AppConfig {
    /// Reads `path`: the output of `npx expo config --json --type public`, or an `app.json`
    /// (its `expo` object is taken).
    pub fn read(path: &Path) -> Result<Self> {
        let mut config = ExportDir::load_app_config(path)?;
        if let Some(Value::Object(expo)) = config.remove("expo") {
            config = expo;
        }
        Ok(Self { config })
    }

    /// The app config of an export folder: `app-config.json` inside it or beside it.
    pub fn find(dist: &Path) -> Option<PathBuf> {
        let inside = dist.join("app-config.json");
        let beside = dist.parent().map(|p| p.join("app-config.json"));
        [Some(inside), beside]
            .into_iter()
            .flatten()
            .find(|p| p.is_file())
    }

    /// The runtime version the config declares for every platform alike: a string, or the
    /// `appVersion` policy. `None` when it depends on the platform or on the native
    /// project (see [`AppConfig::runtime_version_for`]).
    pub fn runtime_version(&self) -> Option<String> {
        let ios = self.runtime_version_for(Platform::Ios).ok()?;
        let android = self.runtime_version_for(Platform::Android).ok()?;
        match (ios, android) {
            (DeclaredRuntime::Version(ios), DeclaredRuntime::Version(android))
                if ios == android =>
            {
                Some(ios)
            }
            _ => None,
        }
    }

    /// The runtime version of `platform`, computed as the Expo tooling does
    /// (`getRuntimeVersionAsync` of `@expo/config-plugins`): `PLATFORM.runtimeVersion` over
    /// `runtimeVersion`; a string as it is; the `appVersion` policy is `version`; the
    /// `nativeVersion` policy is `VERSION(BUILD)` with `ios.buildNumber` or
    /// `android.versionCode`; the `sdkVersion` policy is `exposdk:SDK`; the `fingerprint`
    /// policy needs the project (see [`crate::runtime`]).
    pub fn runtime_version_for(&self, platform: Platform) -> Result<DeclaredRuntime> {
        let section = self
            .config
            .get(platform.as_str())
            .and_then(Value::as_object);
        let declared = section
            .and_then(|s| s.get("runtimeVersion"))
            .filter(|v| !v.is_null())
            .or_else(|| self.config.get("runtimeVersion"))
            .filter(|v| !v.is_null());
        let Some(declared) = declared else {
            return Ok(DeclaredRuntime::Undeclared);
        };
        let policy = match declared {
            Value::String(version) if version == FINGERPRINT_SENTINEL => {
                return Err(Error::Export(format!(
                    "runtimeVersion {FINGERPRINT_SENTINEL:?} is reserved: use \
                     {{\"policy\": \"fingerprint\"}}"
                )));
            }
            Value::String(version) if version.is_empty() => return Ok(DeclaredRuntime::Undeclared),
            Value::String(version) => return Ok(DeclaredRuntime::Version(version.clone())),
            Value::Object(object) => object.get("policy").and_then(Value::as_str),
            _ => None,
        };
        let string = |value: Option<&Value>| match value {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        match policy {
            Some("appVersion") => Ok(DeclaredRuntime::Version(
                string(self.config.get("version")).unwrap_or_else(|| "1.0.0".into()),
            )),
            Some("nativeVersion") => {
                // iOS builds take `ios.version` over `version`; Android builds `version`.
                let own = match platform {
                    Platform::Ios => string(section.and_then(|s| s.get("version"))),
                    Platform::Android => None,
                };
                let version = own
                    .or_else(|| string(self.config.get("version")))
                    .unwrap_or_else(|| "1.0.0".into());
                let build = match platform {
                    Platform::Ios => string(section.and_then(|s| s.get("buildNumber"))),
                    Platform::Android => string(section.and_then(|s| s.get("versionCode"))),
                }
                .unwrap_or_else(|| "1".into());
                Ok(DeclaredRuntime::Version(format!("{version}({build})")))
            }
            Some("sdkVersion") => match string(self.config.get("sdkVersion")) {
                Some(sdk) => Ok(DeclaredRuntime::Version(format!("exposdk:{sdk}"))),
                None => Err(Error::Export(
                    "the sdkVersion runtime version policy needs an sdkVersion in the app config"
                        .into(),
                )),
            },
            Some("fingerprint") => Ok(DeclaredRuntime::Fingerprint),
            _ => Err(Error::Export(format!(
                "{declared} is not a valid runtimeVersion{}: use a string or a policy \
                 (appVersion, nativeVersion, fingerprint)",
                if section.and_then(|s| s.get("runtimeVersion")).is_some() {
                    format!(" (in {})", platform.as_str())
                } else {
                    String::new()
                }
            ))),
        }
    }
}

/// The runtime version string the Expo tooling uses for the fingerprint policy in an app
/// config; reserved.
pub const FINGERPRINT_SENTINEL: &str = "file:fingerprint";

/// What an app config says about a platform's runtime version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeclaredRuntime {
    /// Nothing.
    Undeclared,
    /// This version.
    Version(String),
    /// The `fingerprint` policy: a hash of the native project, computed by the Expo CLI.
    Fingerprint,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_version_from_string_or_app_version_policy() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write(
            "a.json",
            r#"{"expo":{"runtimeVersion":"1.2.3","name":"x"}}"#,
        );
        write(
            "b.json",
            r#"{"version":"2.0.0","runtimeVersion":{"policy":"appVersion"}}"#,
        );
        write("c.json", r#"{"runtimeVersion":{"policy":"fingerprint"}}"#);
        write("d.json", "[1]");
        let read = |n: &str| AppConfig::read(&dir.path().join(n)).unwrap();
        assert_eq!(read("a.json").runtime_version().as_deref(), Some("1.2.3"));
        assert_eq!(read("a.json").config["name"], "x");
        assert_eq!(read("b.json").runtime_version().as_deref(), Some("2.0.0"));
        assert_eq!(read("c.json").runtime_version(), None);
        assert!(AppConfig::read(&dir.path().join("d.json")).is_err());
    }

    #[test]
    fn the_fixture_declares_its_runtime_version() {
        let dist =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-fixtures/sample-export/dist");
        let path = AppConfig::find(&dist).unwrap();
        assert_eq!(
            AppConfig::read(&path).unwrap().runtime_version().as_deref(),
            Some("1.0.0")
        );
    }
}
