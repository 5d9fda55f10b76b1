//! Source maps: the `.map` files `npx expo export --source-maps` writes beside each bundle.
//!
//! A publish keeps them with the update (blobs like the assets, listed in their own table,
//! never in a manifest); `GET /admin/updates/{id}/sourcemaps` lists them and
//! `GET /admin/updates/{id}/sourcemaps/{hash}` returns one, behind the admin token, and the
//! `sourcemaps` command writes them back into a directory at their export paths, so a CI
//! step can hand them to a crash reporter.

use std::path::{Component, Path, PathBuf};

use expo_manifest::ExportedFile;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt as _;
use uuid::Uuid;

use crate::blobs::{BlobStore, ContentCoding, MAX_FILE_SIZE};
use crate::error::{Error, Result};
use crate::promote::Client;
use crate::store::{AssetHash, MAX_NAME_LEN, MetadataStore, StoredSourceMap};

/// Most source maps one update keeps (a bundle has one; some tools write a few).
pub const MAX_SOURCE_MAPS: usize = 16;

/// The `.map` files in the folder of `bundle` (a platform's launch asset), by name.
pub fn beside(bundle: &ExportedFile) -> Result<Vec<ExportedFile>> {
    let Some(dir) = bundle.path.parent() else {
        return Ok(Vec::new());
    };
    let relative_dir = bundle
        .relative_path
        .rsplit_once('/')
        .map_or("", |(dir, _)| dir);
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_map(&name) && entry.file_type().is_ok_and(|t| t.is_file()) {
            names.push(name);
        }
    }
    names.sort();
    if names.len() > MAX_SOURCE_MAPS {
        return Err(Error::Export(format!(
            "{}: more than {MAX_SOURCE_MAPS} source maps beside the bundle",
            dir.display()
        )));
    }
    names
        .into_iter()
        .map(|name| {
            let relative = if relative_dir.is_empty() {
                name.clone()
            } else {
                format!("{relative_dir}/{name}")
            };
            let path = dir.join(&name);
            if relative.len() > MAX_NAME_LEN {
                return Err(Error::Export(format!(
                    "{relative}: source map paths are at most {MAX_NAME_LEN} bytes"
                )));
            }
            let size = std::fs::metadata(&path)
                .map_err(|e| Error::io(&path, e))?
                .len();
            if size > MAX_FILE_SIZE {
                return Err(Error::Export(format!(
                    "{relative}: larger than {MAX_FILE_SIZE} bytes"
                )));
            }
            let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
            let hash = AssetHash::of(&bytes);
            Ok(ExportedFile {
                path,
                relative_path: relative,
                key: hash.to_hex(),
                hash,
                content_type: "application/json".into(),
                file_extension: Some(".map".into()),
                size: bytes.len() as u64,
            })
        })
        .collect()
}

/// Whether `name` ends in `.map` (any case).
fn is_map(name: &str) -> bool {
    Path::new(name)
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("map"))
}

/// A source map path as sent by a client: relative, `/`-separated, no `..`, ending in
/// `.map`, at most [`MAX_NAME_LEN`] bytes.
pub fn checked_path(path: &str) -> Result<&str> {
    let ok = !path.is_empty()
        && path.len() <= MAX_NAME_LEN
        && is_map(path)
        && !path.contains('\\')
        && path.chars().all(|c| c.is_ascii_graphic())
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
    if ok {
        Ok(path)
    } else {
        let shown: String = path.chars().take(80).collect();
        Err(Error::Invalid(format!(
            "source map path {shown:?}: a relative path of visible ASCII ending in .map, \
             without `..`, at most {MAX_NAME_LEN} bytes"
        )))
    }
}

/// `GET /admin/updates/{id}/sourcemaps` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceMapIndex {
    /// The update.
    pub update_id: Uuid,
    /// Its source maps, by path.
    pub source_maps: Vec<StoredSourceMap>,
}

/// Writes the source maps of update `id` of the local stores into `out`; returns them.
pub async fn download_local(
    store: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    id: Uuid,
    out: &Path,
) -> Result<Vec<StoredSourceMap>> {
    if store.update(id).await?.is_none() {
        return Err(Error::UpdateNotFound(id));
    }
    let maps = store.source_maps(id).await?;
    for map in &maps {
        let hex = map.hash.to_hex();
        let reader = blobs
            .open(&map.hash, ContentCoding::Identity, None)
            .await?
            .ok_or_else(|| Error::Corrupt(format!("source map blob {hex} is missing")))?;
        let mut bytes = Vec::new();
        reader
            .reader
            .take(MAX_FILE_SIZE + 1)
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| Error::io(format!("blob {hex}"), e))?;
        write_checked(out, map, &bytes)?;
    }
    Ok(maps)
}

/// Writes the source maps of update `id` on the server at `server` into `out`.
pub async fn download_remote(
    server: &str,
    token: &str,
    id: Uuid,
    out: &Path,
) -> Result<Vec<StoredSourceMap>> {
    let client = Client::new(
        server,
        token,
        "--server",
        "check --token / EXPO_UPDATE_SERVER_PUBLISH_TOKEN: the admin token of this app",
    )?;
    let url = client.url(&format!("/admin/updates/{id}/sourcemaps"));
    let response = client
        .send(&url, client.http.get(&url))
        .await
        .map_err(|(_, e)| e)?;
    let index: SourceMapIndex = Client::json(&url, response).await?;
    for map in &index.source_maps {
        let url = client.url(&format!(
            "/admin/updates/{id}/sourcemaps/{}",
            map.hash.to_hex()
        ));
        let response = client
            .send(&url, client.http.get(&url))
            .await
            .map_err(|(_, e)| e)?;
        let bytes = response.bytes().await.map_err(|e| Error::Remote {
            url: url.clone(),
            message: format!("reading the body: {e}"),
        })?;
        write_checked(out, map, &bytes)?;
    }
    Ok(index.source_maps)
}

/// Writes `bytes` to `out/map.path` after checking the path and the hash.
fn write_checked(out: &Path, map: &StoredSourceMap, bytes: &[u8]) -> Result<PathBuf> {
    let relative = checked_path(&map.path)?;
    if AssetHash::of(bytes) != map.hash {
        return Err(Error::Corrupt(format!(
            "source map {relative}: its bytes do not match its hash {}",
            map.hash.to_hex()
        )));
    }
    let path = out.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_output() {
        assert!(checked_path("_expo/static/js/ios/index-abc.hbc.map").is_ok());
        assert!(checked_path("a.map").is_ok());
        for bad in [
            "",
            "../x.map",
            "/etc/x.map",
            "a/../../x.map",
            "a\\b.map",
            "x.js",
            "a b.map",
        ] {
            assert!(checked_path(bad).is_err(), "{bad:?}");
        }
        assert!(checked_path(&format!("{}.map", "a".repeat(300))).is_err());
    }
}
