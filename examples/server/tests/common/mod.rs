//! Helpers for the black-box tests: they run the real `expo-update-server` binary.
#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test file uses a different part"
)]
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

pub mod proxy;

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// The binary under test, with no `EXPO_UPDATE_SERVER_*` variable leaking in.
pub fn bin(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_expo-update-server"));
    for (name, _) in std::env::vars() {
        if name.starts_with("EXPO_UPDATE_SERVER_") {
            command.env_remove(name);
        }
    }
    command
        .env("RUST_LOG", "info")
        .arg("--data-dir")
        .arg(data_dir);
    command
}

/// Runs a command and returns its output, panicking with its stderr on failure.
pub fn run_ok(command: &mut Command) -> Output {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs a command with `--json` output and parses it.
pub fn run_json(command: &mut Command) -> Value {
    let output = run_ok(command.arg("--json"));
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&output.stdout));
    })
}

/// The committed real `expo export` output (with `app-config.json` beside `dist`).
pub fn sample_export() -> PathBuf {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-fixtures/sample-export/dist");
    assert!(
        dist.join("metadata.json").is_file(),
        "missing fixture {}",
        dist.display()
    );
    dist
}

/// Writes a synthetic export into `dir`: `bundle_size` bytes of JavaScript-like text for each
/// platform (slow to brotli-compress) and a shared PNG and a font.
pub fn synthetic_export(dir: &Path, bundle_size: usize, runtime_version: &str) -> PathBuf {
    let dist = dir.join("dist");
    let write = |relative: &str, bytes: &[u8]| {
        let path = dist.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    };
    for platform in ["ios", "android"] {
        let mut bundle = String::with_capacity(bundle_size + 100);
        let mut i = 0_u64;
        while bundle.len() < bundle_size {
            // Varied enough that brotli has real work to do.
            let x = i.wrapping_mul(6_364_136_223_846_793_005) >> 40;
            let _ = writeln!(
                bundle,
                "function {platform}_f{i}(a,b){{return a*{x}+b-{};}}",
                x % 977
            );
            i += 1;
        }
        write(
            &format!("_expo/static/js/{platform}/entry-{platform}.hbc"),
            bundle.as_bytes(),
        );
    }
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n"
        .iter()
        .copied()
        .chain((0..2000).map(|i| u8::try_from(i * 7 % 251).unwrap()))
        .collect();
    write("assets/0123456789abcdef0123456789abcdef", &png);
    let font: Vec<u8> = (0..5000_u32).map(|i| (i % 13) as u8).collect();
    write("assets/fedcba9876543210fedcba9876543210", &font);
    write(
        "metadata.json",
        br#"{"version":0,"bundler":"metro","fileMetadata":{
  "ios":{"bundle":"_expo/static/js/ios/entry-ios.hbc","assets":[
    {"path":"assets/0123456789abcdef0123456789abcdef","ext":"png"},
    {"path":"assets/fedcba9876543210fedcba9876543210","ext":"ttf"}]},
  "android":{"bundle":"_expo/static/js/android/entry-android.hbc","assets":[
    {"path":"assets/0123456789abcdef0123456789abcdef","ext":"png"},
    {"path":"assets/fedcba9876543210fedcba9876543210","ext":"ttf"}]}}}"#,
    );
    std::fs::write(
        dir.join("app-config.json"),
        format!(
            r#"{{"name":"Synthetic","slug":"synthetic","runtimeVersion":"{runtime_version}"}}"#
        ),
    )
    .unwrap();
    dist
}

/// A running server, killed on drop.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    /// Starts `serve` on a free loopback port with extra arguments and waits until it listens.
    pub fn start(data_dir: &Path, args: &[&str]) -> Self {
        Self::try_start(data_dir, args).unwrap_or_else(|log| panic!("server did not start:\n{log}"))
    }

    /// Like [`Server::start`]; on failure returns the server's log.
    pub fn try_start(data_dir: &Path, args: &[&str]) -> Result<Self, String> {
        Self::try_start_env(data_dir, args, &[])
    }

    /// Like [`Server::try_start`], with environment variables.
    pub fn try_start_env(
        data_dir: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Self, String> {
        let mut child = bin(data_dir)
            .args(["--log-format", "json", "serve", "--bind", "127.0.0.1:0"])
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Once nobody listens, keep draining so the server never blocks on stderr.
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let mut log = String::new();
        loop {
            let Ok(line) = rx.recv_timeout(Duration::from_mins(2)) else {
                let _ = child.kill();
                let _ = child.wait();
                return Err(log);
            };
            log.push_str(&line);
            log.push('\n');
            let Ok(event) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if event["message"] == "listening" {
                let address = event["address"].as_str().unwrap().to_owned();
                return Ok(Self {
                    child,
                    base: format!("http://{address}"),
                });
            }
        }
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The text of `GET /metrics` (on the app port, without a token).
    pub async fn metrics_text(&self) -> String {
        reqwest::Client::new()
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// `GET path` with the bearer `token`, answered with JSON (the admin API's reads).
    pub async fn admin_json(&self, path: &str, token: &str) -> Value {
        reqwest::Client::new()
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Decodes a response body by its `content-encoding`.
pub fn decode(encoding: Option<&str>, body: &[u8]) -> Vec<u8> {
    use std::io::Read as _;
    let mut out = Vec::new();
    match encoding {
        None | Some("identity") => out.extend_from_slice(body),
        Some("br") => {
            brotli::Decompressor::new(body, 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        Some("gzip") => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .unwrap();
        }
        Some(other) => panic!("unexpected content-encoding {other}"),
    }
    out
}

/// The hex spelling of a manifest hash (unpadded base64url SHA-256).
pub fn hex_of_manifest_hash(hash: &str) -> String {
    use base64::Engine as _;
    let digest = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(hash)
        .unwrap();
    assert_eq!(digest.len(), 32, "{hash}");
    digest.iter().fold(String::with_capacity(64), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// SHA-256 hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

/// Where the binary under test keeps its metadata and blobs.
#[derive(Debug, Default)]
pub struct Backend {
    /// A database of its own on the test `PostgreSQL`; `SQLite` in the data directory when
    /// `None`.
    pub database: Option<TestDatabase>,
    /// A prefix of its own in the test S3 bucket; the data directory when `None`.
    pub bucket: Option<TestBucket>,
}

impl Backend {
    /// `SQLite` and blobs in the data directory (the defaults).
    pub fn sqlite() -> Self {
        Self::default()
    }

    /// A fresh `PostgreSQL` database from `EXPO_TEST_DATABASE_URL`; `None` (after a loud
    /// SKIPPED line) when it is unset, a panic instead when `CI=true`.
    pub fn postgres() -> Option<Self> {
        TestDatabase::create().map(Self::on_database)
    }

    /// Metadata in `database`, blobs on disk.
    pub fn on_database(database: TestDatabase) -> Self {
        Self {
            database: Some(database),
            bucket: None,
        }
    }

    /// Blobs under a fresh prefix of the S3 bucket `EXPO_TEST_S3_ENDPOINT` /
    /// `EXPO_TEST_S3_BUCKET` (metadata in `SQLite`); skipped like [`Backend::postgres`].
    pub fn s3() -> Option<Self> {
        TestBucket::create().map(|bucket| Self {
            database: None,
            bucket: Some(bucket),
        })
    }

    /// Another empty store of the same kind.
    pub fn fresh(&self) -> Self {
        Self {
            database: self.database.as_ref().map(TestDatabase::sibling),
            bucket: self.bucket.as_ref().map(TestBucket::sibling),
        }
    }

    /// The `--database-url` to pass, if any.
    pub fn database_url(&self) -> Option<&str> {
        self.database.as_ref().map(|db| db.url.as_str())
    }

    fn env(&self) -> Vec<(&str, &str)> {
        let mut env = Vec::new();
        if let Some(url) = self.database_url() {
            env.push(("EXPO_UPDATE_SERVER_DATABASE_URL", url));
        }
        if let Some(bucket) = &self.bucket {
            env.push(("EXPO_UPDATE_SERVER_STORAGE", bucket.url.as_str()));
            env.push(("AWS_ENDPOINT_URL", bucket.endpoint.as_str()));
        }
        env
    }

    /// [`bin`] on this backend.
    pub fn bin(&self, data_dir: &Path) -> Command {
        let mut command = bin(data_dir);
        command.envs(self.env());
        command
    }

    /// [`Server::start`] on this backend.
    pub fn server(&self, data_dir: &Path, args: &[&str]) -> Server {
        Server::try_start_env(data_dir, args, &self.env())
            .unwrap_or_else(|log| panic!("server did not start:\n{log}"))
    }

    /// Whether a command that was killed may already have created the metadata store.
    pub fn store_exists(&self, data_dir: &Path) -> bool {
        self.database.is_some() || data_dir.join("metadata.sqlite").exists()
    }

    /// The names of the stored blob files or objects (`{hex}`, `{hex}.br`, `{hex}.gz`),
    /// sorted, temporary files excluded.
    pub fn blob_names(&self, data_dir: &Path) -> Vec<String> {
        if let Some(bucket) = &self.bucket {
            return bucket.names();
        }
        let mut out = Vec::new();
        walk(&data_dir.join("blobs"), &mut out);
        out.sort();
        out
    }

    /// The bytes of a stored blob file or object named as in [`Backend::blob_names`].
    pub fn read_blob(&self, data_dir: &Path, name: &str) -> Option<Vec<u8>> {
        if let Some(bucket) = &self.bucket {
            return bucket.read(name);
        }
        let path = data_dir
            .join("blobs")
            .join(&name[0..2])
            .join(&name[2..4])
            .join(name);
        std::fs::read(path).ok()
    }
}

/// A fresh key prefix in the test S3 bucket (objects are left to the bucket's end of life:
/// the test server is discarded after the run).
#[derive(Debug)]
pub struct TestBucket {
    /// `s3://bucket/prefix`.
    pub url: String,
    /// The S3 endpoint.
    pub endpoint: String,
    bucket: String,
    prefix: String,
}

impl TestBucket {
    /// A fresh prefix; `None` (after a loud SKIPPED line) without `EXPO_TEST_S3_ENDPOINT`,
    /// a panic instead when `CI=true`.
    pub fn create() -> Option<Self> {
        let (Ok(endpoint), Ok(bucket)) = (
            std::env::var("EXPO_TEST_S3_ENDPOINT"),
            std::env::var("EXPO_TEST_S3_BUCKET"),
        ) else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "EXPO_TEST_S3_ENDPOINT is unset and CI=true: start the S3 server with \
                 scripts/services.sh"
            );
            eprintln!(
                "SKIPPED: EXPO_TEST_S3_ENDPOINT is unset, S3 tests not run \
                 (eval \"$(bash scripts/services.sh start)\" to run them)"
            );
            return None;
        };
        let prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
        Some(Self {
            url: format!("s3://{bucket}/{prefix}"),
            endpoint,
            bucket,
            prefix,
        })
    }

    /// Another fresh prefix in the same bucket.
    pub fn sibling(&self) -> Self {
        let prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
        Self {
            url: format!("s3://{}/{prefix}", self.bucket),
            endpoint: self.endpoint.clone(),
            bucket: self.bucket.clone(),
            prefix,
        }
    }

    fn client(&self) -> object_store::aws::AmazonS3 {
        object_store::aws::AmazonS3Builder::from_env()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_bucket_name(&self.bucket)
            .build()
            .unwrap()
    }

    /// The object names under the prefix, sorted.
    pub fn names(&self) -> Vec<String> {
        use futures_util::TryStreamExt as _;
        use object_store::ObjectStore as _;
        let client = self.client();
        let prefix = object_store::path::Path::from(self.prefix.as_str());
        let mut names: Vec<String> = block_on(async move {
            client
                .list(Some(&prefix))
                .map_ok(|meta| meta.location.filename().unwrap_or_default().to_owned())
                .try_collect()
                .await
                .unwrap()
        });
        names.sort();
        names
    }

    /// One object's bytes.
    pub fn read(&self, name: &str) -> Option<Vec<u8>> {
        use object_store::ObjectStoreExt as _;
        let client = self.client();
        let key = object_store::path::Path::from(format!("{}/{name}", self.prefix));
        block_on(async move {
            match client.get(&key).await {
                Ok(result) => Some(result.bytes().await.unwrap().to_vec()),
                Err(object_store::Error::NotFound { .. }) => None,
                Err(e) => panic!("{key}: {e}"),
            }
        })
    }
}

/// Runs a future to completion on a thread of its own (callers may be inside a runtime).
pub fn block_on<T: Send + 'static>(
    future: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future)
    })
    .join()
    .unwrap()
}

/// Runs a test scenario once per backend: `sqlite` (and local blobs) always, `postgres` and
/// `s3` when their test servers are available (see [`Backend::postgres`], [`Backend::s3`]).
#[macro_export]
macro_rules! on_every_backend {
    ($scenario:ident) => {
        mod $scenario {
            #[test]
            fn sqlite() {
                super::$scenario(&$crate::common::Backend::sqlite());
            }

            #[test]
            fn postgres() {
                if let Some(backend) = $crate::common::Backend::postgres() {
                    super::$scenario(&backend);
                }
            }

            #[test]
            fn s3() {
                if let Some(backend) = $crate::common::Backend::s3() {
                    super::$scenario(&backend);
                }
            }
        }
    };
    (async $scenario:ident) => {
        mod $scenario {
            #[tokio::test(flavor = "multi_thread")]
            async fn sqlite() {
                super::$scenario(&$crate::common::Backend::sqlite()).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn postgres() {
                if let Some(backend) = $crate::common::Backend::postgres() {
                    super::$scenario(&backend).await;
                }
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn s3() {
                if let Some(backend) = $crate::common::Backend::s3() {
                    super::$scenario(&backend).await;
                }
            }
        }
    };
}

/// A database of its own on the test `PostgreSQL` server, dropped on drop, so tests run in
/// parallel without seeing each other's updates.
#[derive(Debug)]
pub struct TestDatabase {
    /// The server's maintenance URL (from `EXPO_TEST_DATABASE_URL`).
    pub admin_url: String,
    /// The database name.
    pub name: String,
    /// The URL of this database.
    pub url: String,
}

impl TestDatabase {
    /// See [`Backend::postgres`].
    pub fn create() -> Option<Self> {
        let Ok(admin_url) = std::env::var("EXPO_TEST_DATABASE_URL") else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "EXPO_TEST_DATABASE_URL is unset and CI=true: start PostgreSQL with \
                 scripts/services.sh"
            );
            eprintln!(
                "SKIPPED: EXPO_TEST_DATABASE_URL is unset, PostgreSQL tests not run \
                 (eval \"$(bash scripts/services.sh start)\" to run them)"
            );
            return None;
        };
        Some(Self::on(admin_url))
    }

    fn on(admin_url: String) -> Self {
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        admin_sql(&admin_url, &format!("CREATE DATABASE {name}"));
        let url = with_database(&admin_url, &name);
        Self {
            admin_url,
            name,
            url,
        }
    }

    /// Another fresh database on the same server.
    pub fn sibling(&self) -> Self {
        Self::on(self.admin_url.clone())
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        admin_sql(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// `url` with its database (the path) replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// Runs one statement on the maintenance database, on a thread of its own (callers may be
/// inside an async runtime).
fn admin_sql(url: &str, sql: &str) {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        use sqlx::Connection as _;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut connection = sqlx::PgConnection::connect(&url)
                .await
                .unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL: {e}"));
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.as_str()))
                .execute(&mut connection)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        });
    })
    .join()
    .unwrap();
}

/// Every file name under `dir`, recursively, `tmp/` excluded.
fn walk(dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().unwrap() != "tmp" {
                walk(&path, out);
            }
        } else {
            out.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
}
