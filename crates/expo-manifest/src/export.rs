//! Reading the output folder of `npx expo export`.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    fs::File,
    io::{self, Read},
    path::{Component, Path, PathBuf},
};

use md5::{Digest as _, Md5};
use serde::Deserialize;

use crate::{Asset, AssetHash, AssetHasher, Error, Platform, manifest::check_len};

/// The largest `metadata.json` read: 16 MiB.
pub const MAX_METADATA_BYTES: usize = 16 << 20;
/// The largest app config read: 4 MiB.
pub const MAX_APP_CONFIG_BYTES: usize = 4 << 20;
/// The most assets one platform of an export may list.
pub const MAX_ASSETS: usize = 20_000;

/// An `expo export` output folder (`dist/`), its `metadata.json` read and
/// checked.
///
/// ```
/// use expo_manifest::{ExportDir, Platform};
///
/// # fn main() -> Result<(), expo_manifest::Error> {
/// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/export");
/// let export = ExportDir::open(dir)?;
/// let ios = export.platform(Platform::Ios)?;
/// assert_eq!(ios.launch_asset.content_type, "application/javascript");
/// assert!(ios.assets.iter().all(|a| a.file_extension.as_deref() == Some(".png")));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ExportDir {
    root: PathBuf,
    metadata_path: PathBuf,
    platforms: BTreeMap<Platform, PlatformFiles>,
}

#[derive(Debug, Clone, Deserialize)]
struct Metadata {
    #[serde(rename = "fileMetadata")]
    file_metadata: BTreeMap<String, PlatformFiles>,
}

#[derive(Debug, Clone, Deserialize)]
struct PlatformFiles {
    bundle: String,
    #[serde(default)]
    assets: Vec<AssetEntry>,
}

#[derive(Debug, Clone, Deserialize)]
struct AssetEntry {
    path: String,
    ext: String,
}

/// The files of one platform of an export, hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformExport {
    /// The JavaScript (Hermes) bundle.
    pub launch_asset: ExportedFile,
    /// Images, fonts and other files the bundle refers to.
    pub assets: Vec<ExportedFile>,
}

impl PlatformExport {
    /// The launch asset followed by the other assets.
    pub fn files(&self) -> impl Iterator<Item = &ExportedFile> {
        std::iter::once(&self.launch_asset).chain(&self.assets)
    }
}

/// One file of an export with what a manifest says of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedFile {
    /// Where the file is: the export's absolute root joined with
    /// [`relative_path`](Self::relative_path).
    pub path: PathBuf,
    /// The path as written in `metadata.json`, relative to the export.
    pub relative_path: String,
    /// SHA-256 of the content.
    pub hash: AssetHash,
    /// MD5 of the content in hex, the key Expo's tooling gives assets.
    pub key: String,
    /// MIME type from the extension; `application/javascript` for the bundle.
    pub content_type: String,
    /// `.` + extension; `None` for the launch asset.
    pub file_extension: Option<String>,
    /// Size in bytes.
    pub size: u64,
}

impl ExportedFile {
    /// The manifest entry for this file, served at `url`.
    pub fn to_asset(&self, url: impl Into<String>) -> Asset {
        Asset {
            hash: self.hash,
            key: self.key.clone(),
            content_type: self.content_type.clone(),
            file_extension: self.file_extension.clone(),
            url: url.into(),
        }
    }
}

impl ExportDir {
    /// Reads and checks `metadata.json` in `root`; no other file is read yet.
    pub fn open(root: impl AsRef<Path>) -> Result<Self, Error> {
        let root = absolute(root.as_ref())?;
        let bytes = read_bounded(&root.join("metadata.json"), MAX_METADATA_BYTES)?;
        Self::from_metadata_json(root, &bytes)
    }

    /// Checks the content of a `metadata.json` whose files are under `root`
    /// (for tools that hold the metadata already, and for fuzzing).
    pub fn from_metadata_json(root: impl AsRef<Path>, bytes: &[u8]) -> Result<Self, Error> {
        let root = absolute(root.as_ref())?;
        let metadata_path = root.join("metadata.json");
        check_len("metadata.json", bytes.len(), MAX_METADATA_BYTES)?;
        let metadata: Metadata = serde_json::from_slice(bytes).map_err(|e| Error::Metadata {
            path: metadata_path.clone(),
            message: format!("not the metadata.json of `expo export`: {e}"),
        })?;
        let mut platforms = BTreeMap::new();
        for (name, files) in metadata.file_metadata {
            // Web exports list their files elsewhere; other keys are not ours.
            let Ok(platform) = name.parse::<Platform>() else {
                continue;
            };
            if files.assets.len() > MAX_ASSETS {
                return Err(Error::Metadata {
                    path: metadata_path,
                    message: format!(
                        "{platform} lists {} assets; at most {MAX_ASSETS} are accepted",
                        files.assets.len()
                    ),
                });
            }
            for entry in std::iter::once(&files.bundle).chain(files.assets.iter().map(|a| &a.path))
            {
                check_relative(&metadata_path, entry)?;
            }
            for asset in &files.assets {
                if asset.ext.is_empty()
                    || asset.ext.len() > 16
                    || !asset.ext.bytes().all(|b| b.is_ascii_alphanumeric())
                {
                    return Err(Error::Metadata {
                        path: metadata_path,
                        message: format!(
                            "asset {:?} has an invalid ext {:?}",
                            asset.path, asset.ext
                        ),
                    });
                }
            }
            platforms.insert(platform, files);
        }
        if platforms.is_empty() {
            return Err(Error::Metadata {
                path: metadata_path,
                message: "fileMetadata has neither an ios nor an android entry".into(),
            });
        }
        Ok(ExportDir {
            root,
            metadata_path,
            platforms,
        })
    }

    /// The export folder, as an absolute path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The platforms the export has bundles for.
    pub fn platforms(&self) -> impl Iterator<Item = Platform> + '_ {
        self.platforms.keys().copied()
    }

    /// Hashes the files of one platform, reading each once, in 64 KiB pieces.
    pub fn platform(&self, platform: Platform) -> Result<PlatformExport, Error> {
        let files = self
            .platforms
            .get(&platform)
            .ok_or_else(|| Error::PlatformNotExported {
                path: self.metadata_path.clone(),
                platform,
            })?;
        let launch_asset = self.hash_file(&files.bundle, None)?;
        let assets = files
            .assets
            .iter()
            .map(|asset| self.hash_file(&asset.path, Some(&asset.ext)))
            .collect::<Result<_, _>>()?;
        Ok(PlatformExport {
            launch_asset,
            assets,
        })
    }

    /// Reads the output of `npx expo config --json --type public`, the
    /// object a manifest carries as `extra.expoClient`.
    pub fn load_app_config(
        path: impl AsRef<Path>,
    ) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
        let path = path.as_ref();
        let bytes = read_bounded(path, MAX_APP_CONFIG_BYTES)?;
        serde_json::from_slice(&bytes).map_err(|source| Error::AppConfig {
            path: path.to_path_buf(),
            source,
        })
    }

    fn hash_file(&self, relative: &str, ext: Option<&str>) -> Result<ExportedFile, Error> {
        let path = self.root.join(relative);
        // A symbolic link inside the export could still point outside it.
        let (root, resolved) = (canonical(&self.root)?, canonical(&path)?);
        if !resolved.starts_with(&root) {
            return Err(Error::PathEscapes {
                path: self.metadata_path.clone(),
                entry: relative.to_owned(),
            });
        }
        let io_error = |source| Error::Io {
            path: path.clone(),
            source,
        };
        // Open what was checked, so a link swapped in meanwhile is not followed.
        let mut file = File::open(&resolved).map_err(io_error)?;
        let (mut sha, mut md5, mut size) = (AssetHasher::new(), Md5::new(), 0u64);
        let mut buf = vec![0; 64 * 1024];
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_error(e)),
            };
            sha.update(&buf[..n]);
            md5.update(&buf[..n]);
            size += n as u64;
        }
        let key = md5
            .finalize()
            .iter()
            .fold(String::with_capacity(32), |mut s, b| {
                // Writing to a String cannot fail.
                let _ = write!(s, "{b:02x}");
                s
            });
        Ok(ExportedFile {
            path,
            relative_path: relative.to_owned(),
            hash: sha.finalize(),
            key,
            content_type: ext
                .map_or("application/javascript", content_type_for)
                .to_owned(),
            file_extension: ext.map(|e| format!(".{e}")),
            size,
        })
    }
}

fn absolute(path: &Path) -> Result<PathBuf, Error> {
    std::path::absolute(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn canonical(path: &Path) -> Result<PathBuf, Error> {
    path.canonicalize().map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn check_relative(metadata_path: &Path, entry: &str) -> Result<(), Error> {
    let escapes = entry.is_empty()
        || entry.contains('\\')
        || Path::new(entry)
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
    if escapes {
        return Err(Error::PathEscapes {
            path: metadata_path.to_path_buf(),
            entry: crate::platform::truncated(entry),
        });
    }
    Ok(())
}

fn read_bounded(path: &Path, limit: usize) -> Result<Vec<u8>, Error> {
    let io_error = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_error)?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    check_len("file", bytes.len(), limit).map_err(|_| Error::Metadata {
        path: path.to_path_buf(),
        message: format!("larger than {limit} bytes"),
    })?;
    Ok(bytes)
}

/// MIME type of an asset from its extension (without the dot), as Expo's
/// tooling names them; `application/octet-stream` when unknown.
pub fn content_type_for(ext: &str) -> &'static str {
    match ext.to_ascii_lowercase().as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "heic" => "image/heic",
        "avif" => "image/avif",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "json" => "application/json",
        "js" | "bundle" | "hbc" => "application/javascript",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "txt" => "text/plain",
        "xml" => "application/xml",
        "pdf" => "application/pdf",
        "zip" | "lottie" => "application/zip",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "m4a" => "audio/mp4",
        "aac" => "audio/aac",
        "ogg" => "audio/ogg",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}
