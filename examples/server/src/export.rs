//! Reading an `npx expo export` output folder.
//!
//! The folder holds `metadata.json`:
//! `{"version": 0, "bundler": "metro", "fileMetadata": {"ios": {"bundle": "_expo/…/entry-….hbc",
//! "assets": [{"path": "assets/<md5>", "ext": "png"}]}, "android": {…}}}`, the bundles and
//! the assets it names. Paths must stay inside the folder.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use md5::{Digest as _, Md5};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::config::read_limited;
use crate::error::{Error, Result};
use crate::store::Platform;

/// Largest file of an export read into memory.
pub const MAX_FILE_SIZE: u64 = 512 << 20;
/// Most assets one platform may list.
const MAX_ASSETS: usize = 100_000;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    version: u32,
    file_metadata: BTreeMap<String, PlatformMetadata>,
}

#[derive(Debug, Deserialize)]
struct PlatformMetadata {
    bundle: String,
    #[serde(default)]
    assets: Vec<AssetMetadata>,
}

#[derive(Debug, Deserialize)]
struct AssetMetadata {
    path: String,
    ext: String,
}

/// An opened export folder.
#[derive(Debug)]
pub struct ExportDir {
    root: PathBuf,
    metadata: Metadata,
}

/// A file the export lists for one platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFile {
    /// Its path on disk.
    pub path: PathBuf,
    /// Its path relative to the export folder, `/`-separated.
    pub relative_path: String,
    /// Media type.
    pub content_type: String,
    /// `.png` etc; `None` for the launch asset.
    pub file_extension: Option<String>,
}

/// The bundle and assets of one platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformExport {
    /// The platform.
    pub platform: Platform,
    /// The JavaScript (Hermes) bundle.
    pub launch_asset: ExportFile,
    /// Images, fonts, ...
    pub assets: Vec<ExportFile>,
}

impl ExportDir {
    /// Opens `root` and reads its `metadata.json`.
    pub fn open(root: &Path) -> Result<Self> {
        let path = root.join("metadata.json");
        if !path.is_file() {
            return Err(Error::Export(format!(
                "{} has no metadata.json: is it the output of `npx expo export`?",
                root.display()
            )));
        }
        let text = read_limited(&path)?;
        let metadata: Metadata = serde_json::from_str(&text)
            .map_err(|e| Error::Export(format!("{}: {e}", path.display())))?;
        if metadata.version != 0 {
            return Err(Error::Export(format!(
                "{}: unsupported metadata version {}",
                path.display(),
                metadata.version
            )));
        }
        Ok(Self {
            root: root.to_path_buf(),
            metadata,
        })
    }

    /// The platforms the export has bundles for (web is not served as an update).
    pub fn platforms(&self) -> Vec<Platform> {
        Platform::ALL
            .into_iter()
            .filter(|p| self.metadata.file_metadata.contains_key(p.as_str()))
            .collect()
    }

    /// The files of one platform.
    pub fn platform(&self, platform: Platform) -> Result<PlatformExport> {
        let meta = self
            .metadata
            .file_metadata
            .get(platform.as_str())
            .ok_or_else(|| {
                Error::Export(format!(
                    "the export has no {platform} bundle (it has: {})",
                    self.metadata
                        .file_metadata
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        if meta.assets.len() > MAX_ASSETS {
            return Err(Error::Export(format!("more than {MAX_ASSETS} assets")));
        }
        let launch_asset = ExportFile {
            path: self.inside(&meta.bundle)?,
            relative_path: meta.bundle.clone(),
            content_type: "application/javascript".to_owned(),
            file_extension: None,
        };
        let assets = meta
            .assets
            .iter()
            .map(|asset| {
                let ext = asset.ext.trim_start_matches('.');
                if ext.is_empty() || !ext.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(Error::Export(format!(
                        "asset {}: bad extension {:?}",
                        asset.path, asset.ext
                    )));
                }
                Ok(ExportFile {
                    path: self.inside(&asset.path)?,
                    relative_path: asset.path.clone(),
                    content_type: content_type_of(ext).to_owned(),
                    file_extension: Some(format!(".{}", ext.to_ascii_lowercase())),
                })
            })
            .collect::<Result<_>>()?;
        Ok(PlatformExport {
            platform,
            launch_asset,
            assets,
        })
    }

    /// `relative` joined to the root, refusing anything that could leave it.
    fn inside(&self, relative: &str) -> Result<PathBuf> {
        let path = Path::new(relative);
        let normal = path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if relative.is_empty() || !normal {
            return Err(Error::Export(format!(
                "path {relative:?} leaves the export folder"
            )));
        }
        Ok(self.root.join(path))
    }
}

/// The asset key of a file: MD5 hex of its bytes (what `expo export` names assets by).
pub fn asset_key(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    Md5::digest(bytes)
        .iter()
        .fold(String::with_capacity(32), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The media type of an asset by extension.
pub fn content_type_of(ext: &str) -> &'static str {
    match ext.to_ascii_lowercase().as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "heic" => "image/heic",
        "bmp" => "image/bmp",
        "ico" => "image/x-icon",
        "svg" => "image/svg+xml",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "json" => "application/json",
        "js" | "mjs" | "bundle" | "hbc" => "application/javascript",
        "css" => "text/css",
        "html" | "htm" => "text/html",
        "txt" => "text/plain",
        "xml" => "application/xml",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "m4a" => "audio/mp4",
        "aac" => "audio/aac",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// The public app config served as `extra.expoClient`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AppConfig {
    /// The config object (`name`, `slug`, `runtimeVersion`, ...).
    pub config: Map<String, Value>,
}

impl AppConfig {
    /// Reads `path` (`npx expo config --type public --json` output, or an `app.json` with
    /// an `expo` key).
    pub fn read(path: &Path) -> Result<Self> {
        let text = read_limited(path)?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| Error::Export(format!("{}: {e}", path.display())))?;
        let Value::Object(mut object) = value else {
            return Err(Error::Export(format!(
                "{}: not a JSON object",
                path.display()
            )));
        };
        if let Some(Value::Object(expo)) = object.remove("expo") {
            object = expo;
        }
        Ok(Self { config: object })
    }

    /// Finds the app config of an export: `app-config.json` beside the folder or in it.
    pub fn find(dist: &Path) -> Option<PathBuf> {
        let inside = dist.join("app-config.json");
        let beside = dist.parent().map(|p| p.join("app-config.json"));
        [Some(inside), beside]
            .into_iter()
            .flatten()
            .find(|p| p.is_file())
    }

    /// The runtime version the config declares, when it is a plain string (a policy object
    /// such as `{"policy": "appVersion"}` resolves to `version`).
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

    fn write(dir: &Path, relative: &str, bytes: &[u8]) {
        let path = dir.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn reads_platforms_and_refuses_escaping_paths() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "metadata.json",
            br#"{"version":0,"bundler":"metro","fileMetadata":{
                "ios":{"bundle":"_expo/static/js/ios/entry-1.hbc","assets":[{"path":"assets/abc","ext":"png"}]},
                "web":{"bundle":"x.js","assets":[]},
                "android":{"bundle":"../../etc/passwd","assets":[]}}}"#,
        );
        let export = ExportDir::open(dir.path()).unwrap();
        assert_eq!(export.platforms(), vec![Platform::Ios, Platform::Android]);
        let ios = export.platform(Platform::Ios).unwrap();
        assert_eq!(
            ios.launch_asset.relative_path,
            "_expo/static/js/ios/entry-1.hbc"
        );
        assert_eq!(ios.assets[0].content_type, "image/png");
        assert_eq!(ios.assets[0].file_extension.as_deref(), Some(".png"));
        let err = export.platform(Platform::Android).unwrap_err().to_string();
        assert!(err.contains("leaves the export folder"), "{err}");
    }

    #[test]
    fn missing_metadata_is_explained() {
        let dir = tempfile::tempdir().unwrap();
        let err = ExportDir::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("npx expo export"), "{err}");
    }

    #[test]
    fn app_config_runtime_version() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "a.json",
            br#"{"expo":{"runtimeVersion":"1.2.3","name":"x"}}"#,
        );
        write(
            dir.path(),
            "b.json",
            br#"{"version":"2.0.0","runtimeVersion":{"policy":"appVersion"}}"#,
        );
        write(
            dir.path(),
            "c.json",
            br#"{"runtimeVersion":{"policy":"fingerprint"}}"#,
        );
        let read = |n: &str| AppConfig::read(&dir.path().join(n)).unwrap();
        assert_eq!(read("a.json").runtime_version().as_deref(), Some("1.2.3"));
        assert_eq!(read("a.json").config["name"], "x");
        assert_eq!(read("b.json").runtime_version().as_deref(), Some("2.0.0"));
        assert_eq!(read("c.json").runtime_version(), None);
    }

    #[test]
    fn asset_key_is_md5_hex() {
        assert_eq!(asset_key(b""), "d41d8cd98f00b204e9800998ecf8427e");
    }
}
