//! The stores a data directory or the settings name: metadata (`SQLite` or `PostgreSQL`)
//! and blobs (local disk or S3), opened together.

use std::path::Path;
use std::sync::Arc;

use crate::blobs::{BlobStore, LocalBlobStore, S3BlobStore, S3Location};
use crate::error::{Error, Result};
use crate::settings::Settings;
use crate::store::{DatabaseUrl, MetadataStore, PostgresStore, SqliteStore};

/// The metadata store and blob store of a data directory.
#[derive(Debug, Clone)]
pub struct Data {
    /// Update metadata.
    pub store: Arc<dyn MetadataStore>,
    /// Blob bytes.
    pub blobs: Arc<dyn BlobStore>,
}

impl Data {
    /// Opens (creating if needed) `dir/metadata.sqlite` and `dir/blobs/`.
    pub async fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let store = SqliteStore::open(&dir.join("metadata.sqlite")).await?;
        let blobs = LocalBlobStore::open(dir.join("blobs"))?;
        Ok(Self {
            store: Arc::new(store),
            blobs: Arc::new(blobs),
        })
    }

    /// Opens the stores `settings` name: `PostgreSQL` when a database URL is set, else
    /// `SQLite` in the data directory; blobs in the data directory.
    pub async fn from_settings(settings: &Settings) -> Result<Self> {
        let dir = &settings.data_dir;
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let store: Arc<dyn MetadataStore> = match &settings.database_url {
            Some(url) => Arc::new(PostgresStore::open(&url.parse::<DatabaseUrl>()?).await?),
            None => Arc::new(SqliteStore::open(&dir.join("metadata.sqlite")).await?),
        };
        let blobs: Arc<dyn BlobStore> = match &settings.storage {
            Some(url) if url != "local" => {
                Arc::new(S3BlobStore::from_env(url.parse::<S3Location>()?)?)
            }
            _ => Arc::new(LocalBlobStore::open(dir.join("blobs"))?),
        };
        Ok(Self { store, blobs })
    }
}
