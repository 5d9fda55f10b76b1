//! The public app config of an export (`npx expo config --json --type public`), served as
//! `extra.expoClient` so `Constants.expoConfig` is not empty after an update.

use std::path::{Path, PathBuf};

use expo_manifest::ExportDir;
use serde_json::{Map, Value};

use crate::error::Result;

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

    /// The runtime version the config declares: a string, or the `appVersion` policy
    /// (which resolves to `version`). Other policies need the native project: `None`.
    pub fn runtime_version(&self) -> Option<String> {
        match self.config.get("runtimeVersion")? {
            Value::String(version) => Some(version.clone()),
            Value::Object(policy) => match policy.get("policy")?.as_str()? {
                "appVersion" => self.config.get("version")?.as_str().map(str::to_owned),
                _ => None,
            },
            _ => None,
        }
    }
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
