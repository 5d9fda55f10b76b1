//! [`BlobStore`] on S3 or an S3-compatible server (`MinIO`, R2, moto), with `object_store`.
//!
//! Keys are content addresses under the prefix: `{prefix}/{hex}` for the identity bytes,
//! `{prefix}/{hex}.br` and `{prefix}/{hex}.gz` for the variants, the same names as on local
//! disk. Variants are written before the identity object, so its presence means the blob
//! is complete; a put of an existing blob is skipped. Every object carries its
//! `content-type` (and variants their `content-encoding`), so presigned URLs and a CDN in
//! front of the bucket serve them with the right headers.
//!
//! Configuration comes from the usual variables: `AWS_ENDPOINT_URL` (an `http://` endpoint
//! is allowed, for local servers), `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, or instance/container credentials.
//! Requests are retried (5 times, backoff, at most 60 s) on errors S3 calls transient.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use expo_manifest::AssetHash;
use futures_util::TryStreamExt as _;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as KeyPath;
use object_store::signer::Signer as _;
use object_store::{
    Attribute, Attributes, GetOptions, GetRange, ObjectStore, ObjectStoreExt as _, PutOptions,
    RetryConfig,
};

use super::{BlobReader, BlobStore, ByteRange, ContentCoding, PreparedBlob, StoredBlob};
use crate::error::{Error, Result};

/// Uploads (and HEADs) in flight at once during a publish.
pub const UPLOAD_CONCURRENCY: usize = 16;

/// `s3://bucket[/prefix]`: where blobs go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    bucket: String,
    prefix: String,
}

impl S3Location {
    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key prefix, without leading or trailing slash (may be empty).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

impl FromStr for S3Location {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let rest = s.strip_prefix("s3://").ok_or_else(|| {
            Error::Config(format!("storage {s:?}: expected s3://bucket[/prefix]"))
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid_bucket {
            return Err(Error::Config(format!(
                "storage {s:?}: {bucket:?} is not an S3 bucket name"
            )));
        }
        let prefix = prefix.trim_matches('/');
        KeyPath::parse(prefix).map_err(|e| Error::Config(format!("storage {s:?}: prefix: {e}")))?;
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}", self.bucket)?;
        if !self.prefix.is_empty() {
            write!(f, "/{}", self.prefix)?;
        }
        Ok(())
    }
}

/// Blobs in an S3 bucket.
#[derive(Debug, Clone)]
pub struct S3BlobStore {
    s3: Arc<AmazonS3>,
    location: S3Location,
}

impl S3BlobStore {
    /// Connects to `location` with the `AWS_*` environment (see the module docs).
    pub fn from_env(location: S3Location) -> Result<Self> {
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(location.bucket());
        let endpoint = std::env::var("AWS_ENDPOINT_URL_S3")
            .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
            .ok();
        if let Some(endpoint) = endpoint {
            // Local S3-compatible servers speak plain HTTP and want path-style requests
            // (the builder's default).
            builder = builder
                .with_endpoint(&endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        Self::with_builder(builder, location)
    }

    /// Connects with an explicit builder (bucket taken from `location`).
    pub fn with_builder(builder: AmazonS3Builder, location: S3Location) -> Result<Self> {
        let retry = RetryConfig {
            max_retries: 5,
            retry_timeout: Duration::from_mins(1),
            ..RetryConfig::default()
        };
        let s3 = builder
            .with_bucket_name(location.bucket())
            .with_retry(retry)
            .build()
            .map_err(|e| storage(&location.to_string(), &e))?;
        Ok(Self {
            s3: Arc::new(s3),
            location,
        })
    }

    /// Where the blobs are.
    pub fn location(&self) -> &S3Location {
        &self.location
    }

    /// The object key of one encoding of a blob.
    pub fn key(&self, hash: &AssetHash, encoding: ContentCoding) -> KeyPath {
        let name = match encoding {
            ContentCoding::Brotli => format!("{}.br", hash.to_hex()),
            ContentCoding::Gzip => format!("{}.gz", hash.to_hex()),
            ContentCoding::Identity => hash.to_hex(),
        };
        if self.location.prefix.is_empty() {
            KeyPath::from(name)
        } else {
            KeyPath::from(format!("{}/{name}", self.location.prefix))
        }
    }

    async fn size(&self, key: &KeyPath) -> Result<Option<u64>> {
        match self.s3.head(key).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(&e)),
        }
    }

    fn error(&self, error: &object_store::Error) -> Error {
        storage(&self.location.to_string(), error)
    }

    async fn put_object(
        &self,
        key: &KeyPath,
        bytes: Bytes,
        content_type: &str,
        encoding: Option<&'static str>,
    ) -> Result<()> {
        let mut attributes = Attributes::new();
        attributes.insert(Attribute::ContentType, content_type.to_owned().into());
        attributes.insert(Attribute::CacheControl, super::IMMUTABLE.into());
        if let Some(encoding) = encoding {
            attributes.insert(Attribute::ContentEncoding, encoding.into());
        }
        self.s3
            .put_opts(key, bytes.into(), PutOptions::from(attributes))
            .await
            .map_err(|e| self.error(&e))?;
        Ok(())
    }
}

fn storage(location: &str, error: &object_store::Error) -> Error {
    Error::Storage {
        location: location.to_owned(),
        reason: error.to_string(),
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn stat(&self, hash: &AssetHash) -> Result<Option<StoredBlob>> {
        let Some(size) = self.size(&self.key(hash, ContentCoding::Identity)).await? else {
            return Ok(None);
        };
        let (br, gzip) = (
            self.key(hash, ContentCoding::Brotli),
            self.key(hash, ContentCoding::Gzip),
        );
        let (br_size, gzip_size) = futures_util::try_join!(self.size(&br), self.size(&gzip))?;
        Ok(Some(StoredBlob {
            size,
            gzip_size,
            br_size,
        }))
    }

    async fn put(&self, blob: PreparedBlob) -> Result<StoredBlob> {
        if AssetHash::of(&blob.identity) != blob.hash {
            return Err(Error::Invalid(format!(
                "blob bytes do not match their hash {}",
                blob.hash
            )));
        }
        if let Some(stored) = self.stat(&blob.hash).await? {
            return Ok(stored);
        }
        let stored = StoredBlob {
            size: blob.identity.len() as u64,
            gzip_size: blob.gzip.as_ref().map(|b| b.len() as u64),
            br_size: blob.br.as_ref().map(|b| b.len() as u64),
        };
        let br = async {
            match &blob.br {
                Some(bytes) => {
                    let key = self.key(&blob.hash, ContentCoding::Brotli);
                    self.put_object(&key, bytes.clone(), &blob.content_type, Some("br"))
                        .await
                }
                None => Ok(()),
            }
        };
        let gzip = async {
            match &blob.gzip {
                Some(bytes) => {
                    let key = self.key(&blob.hash, ContentCoding::Gzip);
                    self.put_object(&key, bytes.clone(), &blob.content_type, Some("gzip"))
                        .await
                }
                None => Ok(()),
            }
        };
        futures_util::try_join!(br, gzip)?;
        // Last: its presence marks the blob complete.
        let key = self.key(&blob.hash, ContentCoding::Identity);
        self.put_object(&key, blob.identity, &blob.content_type, None)
            .await?;
        Ok(stored)
    }

    async fn open(
        &self,
        hash: &AssetHash,
        encoding: ContentCoding,
        range: Option<ByteRange>,
    ) -> Result<Option<BlobReader>> {
        let options = GetOptions {
            range: range.map(|r| GetRange::Bounded(r.first..r.last.saturating_add(1))),
            ..GetOptions::default()
        };
        let result = match self.s3.get_opts(&self.key(hash, encoding), options).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.error(&e)),
        };
        let len = result.range.end - result.range.start;
        let stream = result.into_stream().map_err(std::io::Error::other);
        Ok(Some(BlobReader {
            len,
            reader: Box::pin(tokio_util::io::StreamReader::new(stream)),
        }))
    }

    async fn delete(&self, hash: &AssetHash) -> Result<()> {
        // Identity first: without it the blob counts as absent, whatever else remains.
        for encoding in [
            ContentCoding::Identity,
            ContentCoding::Brotli,
            ContentCoding::Gzip,
        ] {
            match self.s3.delete(&self.key(hash, encoding)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.error(&e)),
            }
        }
        Ok(())
    }

    async fn presigned_url(&self, hash: &AssetHash, expiry: Duration) -> Result<Option<String>> {
        let url = self
            .s3
            .signed_url(
                http::Method::GET,
                &self.key(hash, ContentCoding::Identity),
                expiry,
            )
            .await
            .map_err(|e| self.error(&e))?;
        Ok(Some(url.to_string()))
    }

    fn upload_concurrency(&self) -> usize {
        UPLOAD_CONCURRENCY
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt as _;

    use super::*;
    use crate::blobs::AssetUrls;

    /// A store on a fresh prefix of the test bucket; `None` (after a loud SKIPPED) without one.
    fn test_store() -> Option<S3BlobStore> {
        let (Ok(endpoint), Ok(bucket)) = (
            std::env::var("EXPO_TEST_S3_ENDPOINT"),
            std::env::var("EXPO_TEST_S3_BUCKET"),
        ) else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "EXPO_TEST_S3_ENDPOINT is unset and CI=true"
            );
            eprintln!("SKIPPED: EXPO_TEST_S3_ENDPOINT is unset, S3 blob store not tested");
            return None;
        };
        let location = format!("s3://{bucket}/unit-{}", uuid::Uuid::new_v4().simple())
            .parse()
            .unwrap();
        let builder = AmazonS3Builder::from_env()
            .with_endpoint(endpoint)
            .with_allow_http(true);
        Some(S3BlobStore::with_builder(builder, location).unwrap())
    }

    async fn read(reader: BlobReader) -> Vec<u8> {
        let mut out = Vec::new();
        let mut r = reader.reader;
        r.read_to_end(&mut out).await.unwrap();
        assert_eq!(out.len() as u64, reader.len);
        out
    }

    #[tokio::test]
    async fn put_stat_open_presign_delete() {
        let Some(store) = test_store() else { return };
        let identity = Bytes::from_static(b"console.log('hello hello hello');");
        let blob = PreparedBlob {
            hash: AssetHash::of(&identity),
            identity: identity.clone(),
            content_type: "application/javascript".into(),
            gzip: Some(Bytes::from_static(b"gz bytes")),
            br: None,
        };
        assert_eq!(store.stat(&blob.hash).await.unwrap(), None);
        let stored = store.put(blob.clone()).await.unwrap();
        assert_eq!(stored.size, identity.len() as u64);
        assert_eq!((stored.gzip_size, stored.br_size), (Some(8), None));
        assert_eq!(store.stat(&blob.hash).await.unwrap(), Some(stored));
        // Idempotent.
        assert_eq!(store.put(blob.clone()).await.unwrap(), stored);

        let whole = store.open(&blob.hash, ContentCoding::Identity, None).await;
        assert_eq!(read(whole.unwrap().unwrap()).await, identity);
        let gz = store.open(&blob.hash, ContentCoding::Gzip, None).await;
        assert_eq!(read(gz.unwrap().unwrap()).await, b"gz bytes");
        assert!(
            store
                .open(&blob.hash, ContentCoding::Brotli, None)
                .await
                .unwrap()
                .is_none()
        );
        let part = store
            .open(
                &blob.hash,
                ContentCoding::Identity,
                Some(ByteRange {
                    first: 13,
                    last: 17,
                }),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read(part).await, b"hello");

        // A presigned URL serves the identity bytes with their media type.
        let urls = AssetUrls::Presigned {
            expiry: Duration::from_mins(10),
        };
        let url = urls.url(&store, "http://unused", &blob.hash).await.unwrap();
        assert!(url.contains("X-Amz-Signature"), "{url}");
        let response = reqwest::get(&url).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/javascript");
        assert_eq!(response.bytes().await.unwrap(), identity);

        store.delete(&blob.hash).await.unwrap();
        assert_eq!(store.stat(&blob.hash).await.unwrap(), None);
        store.delete(&blob.hash).await.unwrap();
    }

    #[tokio::test]
    async fn put_refuses_bytes_that_do_not_match_the_hash() {
        let Some(store) = test_store() else { return };
        let blob = PreparedBlob {
            hash: AssetHash::of(b"one"),
            identity: Bytes::from_static(b"two"),
            content_type: "text/plain".into(),
            gzip: None,
            br: None,
        };
        assert!(store.put(blob).await.is_err());
    }

    #[test]
    fn locations_parse_and_print() {
        let location: S3Location = "s3://expo-updates/prod/blobs/".parse().unwrap();
        assert_eq!(location.bucket(), "expo-updates");
        assert_eq!(location.prefix(), "prod/blobs");
        assert_eq!(location.to_string(), "s3://expo-updates/prod/blobs");
        let bare: S3Location = "s3://bucket".parse().unwrap();
        assert_eq!(
            (bare.prefix(), bare.to_string().as_str()),
            ("", "s3://bucket")
        );
        for bad in [
            "bucket",
            "s3://",
            "s3://A_B",
            "https://x/y",
            "s3://ok-bucket/a//b",
        ] {
            assert!(bad.parse::<S3Location>().is_err(), "{bad}");
        }
    }
}
