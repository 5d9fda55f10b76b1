//! [`InMemoryAsset`]: an asset whose encodings are all held in memory.

use std::ops::Range;

use bytes::Bytes;
use expo_accept::ContentCoding;
use expo_manifest::AssetHash;
use http::{Response, request::Parts};

use super::body::AssetBody;
use super::plan::{AssetDescription, asset_error_response};
use super::serve::StoredAsset;
use crate::error::{ProtocolError, SourceError};

/// An asset held in memory with its stored encodings.
#[derive(Debug, Clone)]
pub struct InMemoryAsset {
    description: AssetDescription,
    variants: Vec<(ContentCoding, Bytes)>,
}

impl InMemoryAsset {
    /// An asset from its bytes (hashed here) and media type.
    pub fn new(content_type: &str, bytes: impl Into<Bytes>) -> Result<Self, ProtocolError> {
        let bytes = bytes.into();
        let description = AssetDescription::new(AssetHash::of(&bytes), content_type)?
            .with_encoding(ContentCoding::Identity, bytes.len() as u64);
        Ok(InMemoryAsset {
            description,
            variants: vec![(ContentCoding::Identity, bytes)],
        })
    }

    /// Adds a precompressed variant (`br` or `gzip` bytes of the same asset).
    #[must_use]
    pub fn with_variant(mut self, coding: ContentCoding, bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        self.description = self.description.with_encoding(coding, bytes.len() as u64);
        self.variants.retain(|(c, _)| *c != coding);
        self.variants.push((coding, bytes));
        self
    }

    /// The content hash.
    pub fn hash(&self) -> AssetHash {
        self.description.hash()
    }

    /// The description the plan is made from.
    pub fn description(&self) -> &AssetDescription {
        &self.description
    }

    /// The whole answer to an asset request, errors included (JSON bodies),
    /// without the `async`: the plan of [`AssetDescription::plan`] with the
    /// bytes sliced from memory.
    pub fn respond(&self, parts: &Parts) -> Response<Bytes> {
        match self.description.plan(parts) {
            Ok(plan) => {
                let body = plan
                    .body_range()
                    .and_then(|range| self.slice(plan.coding(), range))
                    .or_else(|| plan.error_body().cloned())
                    .unwrap_or_default();
                plan.into_response(body)
            }
            Err(err) => asset_error_response(&err),
        }
    }
}

impl InMemoryAsset {
    /// `range` of the stored `coding`, `None` when not stored or out of bounds.
    fn slice(&self, coding: ContentCoding, range: Range<u64>) -> Option<Bytes> {
        let (_, bytes) = self.variants.iter().find(|(c, _)| *c == coding)?;
        let start = usize::try_from(range.start).ok()?;
        let end = usize::try_from(range.end).ok()?;
        bytes.get(start..end).map(|_| bytes.slice(start..end))
    }
}

impl StoredAsset for InMemoryAsset {
    fn description(&self) -> &AssetDescription {
        &self.description
    }

    fn read(
        &self,
        coding: ContentCoding,
        range: Range<u64>,
    ) -> impl Future<Output = Result<AssetBody, SourceError>> + Send {
        let read = self
            .slice(coding, range)
            .map(AssetBody::full)
            .ok_or_else(|| {
                SourceError::new(format!(
                    "asset {} holds no such bytes of its {coding} encoding",
                    self.description.hash()
                ))
            });
        std::future::ready(read)
    }
}
