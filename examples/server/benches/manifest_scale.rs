//! Manifest request latency against `PostgreSQL` holding 10 and 100,000 updates, through the
//! real router in process (no TCP): `cold` clears the manifest cache before each request
//! (store lookup, manifest built and serialized), `warm` answers from the cache, and
//! `rollout_cold` is `cold` on a scope whose newest update is rolled out to half the installs (the
//! scope's candidates are listed and the install's one loaded).
//!
//! Needs `EXPO_TEST_DATABASE_URL` (see `scripts/services.sh`); each case fills a database of
//! its own with one `INSERT ... SELECT generate_series` per table, in the store's schema.
//!
//! ```text
//! eval "$(bash scripts/services.sh start)"
//! cargo bench -p expo-update-server --bench manifest_scale
//! bash scripts/services.sh stop
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark stops at the first failure"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use criterion::{Criterion, criterion_group, criterion_main};
use expo_update_server::blobs::stream::StreamBudget;
use expo_update_server::blobs::{AssetUrls, LocalBlobStore};
use expo_update_server::device_reports::HealthRecorder;
use expo_update_server::http::cache::ManifestCache;
use expo_update_server::http::router;
use expo_update_server::http::state::{AppShared, AppState};
use expo_update_server::store::DEFAULT_APP;
use expo_update_server::store::{DatabaseUrl, PostgresStore};
use expo_updates::Responder;
use sqlx::Connection as _;
use tower::ServiceExt as _;

/// Updates stored in each case.
const SIZES: [u32; 2] = [10, 100_000];

/// Scopes the updates are spread over (`channel-0..49` × ios/android × `1.0..1.9`): with
/// 100,000 updates each scope has a history of 100.
const SCOPES: u32 = 1000;

/// Fills the schema: three blobs, `{n}` updates over [`SCOPES`] scopes (one update a second),
/// each with a launch asset and two images.
const FILL: &str = "
INSERT INTO blobs (hash, size, content_type, created_at) VALUES
    (repeat('a', 64), 1000000, 'application/javascript', 0),
    (repeat('b', 64), 20000, 'image/png', 0),
    (repeat('c', 64), 30000, 'image/png', 0);
INSERT INTO updates (id, channel, runtime_version, platform, kind, created_at, message,
                     group_id, metadata, extra)
SELECT gen_random_uuid()::text,
       'channel-' || (i % {scopes} % 50),
       '1.' || (i % {scopes} / 100),
       CASE WHEN i % {scopes} / 50 % 2 = 0 THEN 'ios' ELSE 'android' END,
       'update',
       1700000000000 + i * 1000,
       'update ' || i,
       gen_random_uuid()::text,
       '{}',
       '{\"expoClient\":{\"name\":\"bench\",\"slug\":\"bench\",\"version\":\"1.0.0\"}}'
FROM generate_series(0, {n} - 1) AS i;
INSERT INTO update_assets (update_id, position, is_launch_asset, hash, asset_key,
                           content_type, file_extension)
SELECT u.id, p, CASE WHEN p = 0 THEN 1 ELSE 0 END, repeat(chr(97 + p), 64), 'key' || p,
       CASE WHEN p = 0 THEN 'application/javascript' ELSE 'image/png' END,
       CASE WHEN p = 0 THEN NULL ELSE '.png' END
FROM updates u CROSS JOIN generate_series(0, 2) AS p;
ANALYZE;
";

/// A database of its own, dropped at the end of its case.
struct Database {
    admin_url: String,
    name: String,
    url: String,
}

impl Database {
    async fn create(admin_url: &str, updates: u32) -> (Self, PostgresStore) {
        let name = format!("bench_{updates}_{}", uuid::Uuid::new_v4().simple());
        execute(admin_url, &format!("CREATE DATABASE {name}")).await;
        let (base, query) = admin_url.split_once('?').unwrap_or((admin_url, ""));
        let (server, _) = base.rsplit_once('/').expect("a URL ending in /database");
        let mut url = format!("{server}/{name}");
        if !query.is_empty() {
            url = format!("{url}?{query}");
        }
        let store = PostgresStore::open(&url.parse::<DatabaseUrl>().unwrap())
            .await
            .unwrap();
        let fill = FILL
            .replace("{n}", &updates.to_string())
            .replace("{scopes}", &SCOPES.to_string());
        execute(&url, &fill).await;
        let plan = explain(&url).await;
        eprintln!("{updates} updates; the current-update lookup runs:\n{plan}");
        let db = Self {
            admin_url: admin_url.to_owned(),
            name,
            url,
        };
        (db, store)
    }

    async fn drop_now(self) {
        execute(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        )
        .await;
    }
}

async fn execute(url: &str, sql: &str) {
    let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut connection)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The plan of the store's current-update query for the benchmarked scope.
async fn explain(url: &str) -> String {
    use sqlx::Row as _;
    let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
    let rows = sqlx::query(
        "EXPLAIN SELECT u.id, (SELECT COUNT(*) FROM update_assets a WHERE a.update_id = u.id) \
         FROM updates u WHERE u.app = 'default' AND u.channel = 'channel-0' \
         AND u.runtime_version = '1.0' AND u.platform = 'ios' \
         ORDER BY u.created_at DESC, u.seq DESC LIMIT 1",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap();
    rows.iter()
        .map(|row| row.get::<String, _>(0))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A request for `channel` (with `1.0` on iOS): `channel-0` serves an update rolled out to
/// everyone, `channel-1` one rolled out to half the installs.
fn request(channel: &str) -> Request<Body> {
    Request::get("/manifest")
        // Bucket 32: inside a 50 % rollout.
        .header("eas-client-id", "9f1b2c3d-0000-4000-8000-000000000001")
        .header("expo-protocol-version", "1")
        .header("expo-platform", "ios")
        .header("expo-runtime-version", "1.0")
        .header("expo-channel-name", channel)
        .header("accept", "multipart/mixed")
        .body(Body::empty())
        .unwrap()
}

async fn ask(app: &Router, channel: &str) -> StatusCode {
    let response = app.clone().oneshot(request(channel)).await.unwrap();
    let status = response.status();
    axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    status
}

fn manifest_latency(c: &mut Criterion) {
    let Ok(admin_url) = std::env::var("EXPO_TEST_DATABASE_URL") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "EXPO_TEST_DATABASE_URL is unset and CI=true"
        );
        eprintln!("SKIPPED: EXPO_TEST_DATABASE_URL is unset (start scripts/services.sh)");
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let blobs_dir = tempfile::tempdir().unwrap();
    // Both databases first, then each measurement on both back to back, so a change in the
    // shared machine's load skews both sizes alike.
    let cases: Vec<(u32, Database, Arc<ManifestCache>, Router)> = SIZES
        .iter()
        .map(|&updates| {
            let (db, store) = runtime.block_on(Database::create(&admin_url, updates));
            runtime.block_on(execute(
                &db.url,
                "UPDATE updates SET rollout_percent = 50 WHERE seq = (SELECT seq FROM updates \
                 WHERE channel = 'channel-1' AND runtime_version = '1.0' AND platform = 'ios' \
                 ORDER BY created_at DESC, seq DESC LIMIT 1)",
            ));
            let cache = Arc::new(ManifestCache::default());
            let state = AppState::new(AppShared {
                app: Arc::from(DEFAULT_APP),
                store: Arc::new(store),
                blobs: Arc::new(LocalBlobStore::open(blobs_dir.path()).unwrap()),
                cache: Arc::clone(&cache),
                signers: None,
                responder: Arc::new(Responder::new()),
                channel_responders: Arc::default(),
                asset_headers: Arc::default(),
                public_url: "https://updates.example.com".parse().unwrap(),
                asset_urls: AssetUrls::Server,
                trust_proxy: false,
                forwarded_hosts: Arc::default(),
                default_channel: "default".into(),
                admin_token_digest: None,
                blob_memory: Arc::default(),
                streams: Arc::new(StreamBudget::new(64 << 20)),
                patches: None,
                // Requests carry no health headers: nothing is ever queued.
                health: HealthRecorder::new(1).0,
                auto_rollback: None,
            });
            let app = router(state, Vec::new(), None);
            for channel in ["channel-0", "channel-1"] {
                assert_eq!(runtime.block_on(ask(&app, channel)), StatusCode::OK);
            }
            (updates, db, cache, app)
        })
        .collect();

    paired(&runtime, &cases);
    for (name, channel, clear) in [
        ("cold", "channel-0", true),
        ("warm", "channel-0", false),
        ("rollout_cold", "channel-1", true),
    ] {
        let mut group = c.benchmark_group(format!("manifest_postgres/{name}"));
        for (updates, _, cache, app) in &cases {
            group.bench_function(format!("{updates}_updates"), |b| {
                b.iter(|| {
                    if clear {
                        cache.invalidate();
                    }
                    runtime.block_on(ask(app, channel))
                });
            });
        }
        group.finish();
    }
    for (_, db, _, _) in cases {
        runtime.block_on(db.drop_now());
    }
}

/// Rounds of [`paired`].
const ROUNDS: usize = 2000;

/// Cold requests alternating between the sizes, one of each per round, so load changes hit
/// both alike; prints each size's median and their ratio.
fn paired(
    runtime: &tokio::runtime::Runtime,
    cases: &[(u32, Database, Arc<ManifestCache>, Router)],
) {
    let mut times = vec![Vec::with_capacity(ROUNDS); cases.len()];
    for _ in 0..ROUNDS {
        for ((_, _, cache, app), times) in cases.iter().zip(&mut times) {
            cache.invalidate();
            let started = Instant::now();
            runtime.block_on(ask(app, "channel-0"));
            times.push(started.elapsed());
        }
    }
    let medians: Vec<Duration> = times
        .iter_mut()
        .map(|times| {
            times.sort();
            times[times.len() / 2]
        })
        .collect();
    for ((updates, ..), median) in cases.iter().zip(&medians) {
        eprintln!("paired cold, {updates} updates: median {median:?} over {ROUNDS} requests");
    }
    if let [small, large] = medians[..] {
        eprintln!(
            "paired cold: {} / {} updates = {:.3}",
            SIZES[1],
            SIZES[0],
            large.as_secs_f64() / small.as_secs_f64()
        );
    }
}

criterion_group!(benches, manifest_latency);
criterion_main!(benches);
