//! Serves a directory of `expo export` outputs from disk: every subdirectory
//! holding a `metadata.json` is one export, published for each of its
//! platforms under the runtime version its directory is named after.
//!
//! ```text
//! releases/
//!   1.0.0/             npx expo export --output-dir releases/1.0.0
//!     metadata.json  _expo/  assets/  app-config.json (optional: extra.expoClient)
//!   1.1.0/ ...
//! ```
//!
//! Files are read in chunks as clients download them (never a whole file in
//! memory). Precompressed siblings are served when present: run
//! `brotli -k` / `gzip -k` over the export to write `<file>.br` and
//! `<file>.gz`, and clients that accept them get them (ranges included).
//!
//! ```sh
//! cargo run -p serve-dir -- releases 127.0.0.1:3000
//! curl -i http://127.0.0.1:3000/manifest \
//!   -H 'expo-platform: ios' -H 'expo-runtime-version: 1.0.0' -H 'accept: application/expo+json'
//! ```

use std::error::Error;
use std::path::Path;
use std::sync::Arc;

use expo_manifest::{ExportDir, RuntimeVersion, Timestamp};
use expo_updates::{
    FileSource, InMemorySource, PreparedUpdate, Resolved, Responder, Target, export_manifest,
    service,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: serve-dir DIR [ADDRESS]")?;
    let address = args.next().unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    let base_url = format!("http://{}", listener.local_addr()?);

    let (manifests, assets) = load(Path::new(&dir), &base_url)?;
    let app = service::router(Arc::new(manifests), Arc::new(assets), Responder::new());
    println!("listening on {base_url}");
    axum::serve(listener, app).await?;
    Ok(())
}

/// The manifests (in memory: they are small) and the files of every export in `dir`.
fn load(dir: &Path, base_url: &str) -> Result<(InMemorySource, FileSource), Box<dyn Error>> {
    let mut manifests = InMemorySource::new();
    let mut assets = FileSource::new();
    let mut exports: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.join("metadata.json").is_file())
        .collect();
    exports.sort();
    for path in exports {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let runtime_version = RuntimeVersion::new(name)
            .map_err(|e| format!("{}: not a runtime version: {e}", path.display()))?;
        // The public app config (`npx expo config --json --type public`) as
        // `extra.expoClient`: without it `Constants.expoConfig` is empty after an update.
        let mut extra = serde_json::Map::new();
        let app_config = path.join("app-config.json");
        if app_config.is_file() {
            let config = ExportDir::load_app_config(&app_config)?;
            extra.insert("expoClient".to_owned(), config.into());
        }
        let export = ExportDir::open(&path)?;
        let platforms: Vec<_> = export.platforms().collect();
        for platform in platforms {
            // Hashed in 64 KiB pieces; served from the files where they are.
            let files = export.platform(platform)?;
            assets.add_export(&files)?;
            let manifest = export_manifest(
                &files,
                runtime_version.clone(),
                base_url,
                Timestamp::now(),
                extra.clone(),
            );
            println!("{name} {platform}: update {}", manifest.id);
            let target = Target {
                platform,
                runtime_version: runtime_version.clone(),
                channel: None,
            };
            let update = PreparedUpdate::new(&manifest, None);
            manifests.set(target, Resolved::Update(Arc::new(update)));
        }
    }
    if assets.is_empty() {
        return Err(format!(
            "no export (a directory with metadata.json) in {}",
            dir.display()
        )
        .into());
    }
    Ok((manifests, assets))
}
