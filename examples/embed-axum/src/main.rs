//! Embeds Expo Updates in an axum application: the sample export in
//! `test-fixtures/sample-export/dist` is published in memory for iOS and
//! Android, and served at `/updates/manifest` and `/updates/assets/{hash}`
//! beside the application's own routes.
//!
//! ```sh
//! cargo run -p embed-axum            # or: cargo run -p embed-axum -- path/to/dist 0.0.0.0:8080
//! curl -i http://127.0.0.1:3000/updates/manifest \
//!   -H 'expo-platform: ios' -H 'expo-runtime-version: 1.0.0' -H 'accept: application/expo+json'
//! ```
//!
//! Point an app at it with `"updates": {"url": "http://<host>:3000/updates/manifest"}`
//! and the runtime version of the export (`1.0.0` for the sample).

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use expo_manifest::{ExportDir, Platform, RuntimeVersion, Timestamp};
use expo_updates::{InMemorySource, Responder, Target, service};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dist = args.next().map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../test-fixtures/sample-export/dist"),
        PathBuf::from,
    );
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let base_url = format!("http://{addr}/updates");

    // The public app config (`npx expo config --json --type public`), as `extra.expoClient`:
    // without it `Constants.expoConfig` is empty after an update.
    let mut extra = serde_json::Map::new();
    let app_config = dist.join("../app-config.json");
    if app_config.exists() {
        extra.insert(
            "expoClient".to_owned(),
            ExportDir::load_app_config(&app_config)?.into(),
        );
    }

    // Publish every platform of the export, stamped now (clients launch only newer updates).
    let export = ExportDir::open(&dist)?;
    let mut source = InMemorySource::new();
    for platform in [Platform::Ios, Platform::Android] {
        let target = Target {
            platform,
            runtime_version: RuntimeVersion::new("1.0.0")?,
            channel: None,
        };
        let update =
            source.publish_export(&export, target, &base_url, Timestamp::now(), extra.clone())?;
        println!("{platform}: update {}", update.id());
    }

    let source = Arc::new(source);
    let app = Router::new()
        .route(
            "/",
            get(|| async { "the application's own routes live here" }),
        )
        .nest(
            "/updates",
            service::router(source.clone(), source, Responder::new()),
        );

    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("serving {base_url}/manifest");
    axum::serve(listener, app).await?;
    Ok(())
}
