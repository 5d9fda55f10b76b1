//! Updates and directives serialized once and signed once per key.

use std::collections::BTreeMap;
use std::sync::RwLock;

use bytes::Bytes;
use expo_codesign::Signer;
use expo_manifest::{Directive, Extensions, Manifest, Timestamp, UpdateId};
use expo_multipart::Part;
use expo_sfv::ManifestFilters;
use http::HeaderValue;

use crate::error::ProtocolError;

const JSON: &str = "application/json";

/// A manifest that does not pass the `expo-manifest-filters` meant to be sent with it:
/// clients refuse such a manifest ("provides filters that do not match its content").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the manifest metadata does not pass the manifest filter {key:?}")]
pub struct FilterMismatch {
    /// The filter key the metadata fails.
    pub key: String,
}

/// `expo-signature` values of one body, by keyid.
///
/// A body is signed at most once per key: the first request that needs a
/// signature by a key computes it, every later one clones the header value.
/// Entries are keyed by keyid, so a key replaced under the same keyid needs
/// freshly prepared updates (servers rebuild them on every change anyway).
#[derive(Debug, Default)]
struct SignatureCache {
    // Few keys (one, two during a rotation): a vector beats a map.
    entries: RwLock<Vec<Signed>>,
}

/// One key's signature of a body, and the part carrying it.
#[derive(Debug, Clone)]
struct Signed {
    keyid: Box<str>,
    header: HeaderValue,
    part: Part,
}

impl SignatureCache {
    fn get_or_sign<T>(
        &self,
        signer: &Signer,
        body: &[u8],
        unsigned: &Part,
        pick: impl Fn(&Signed) -> T,
    ) -> Result<T, ProtocolError> {
        let keyid = signer.keyid();
        if let Ok(entries) = self.entries.read()
            && let Some(signed) = entries.iter().find(|s| &*s.keyid == keyid)
        {
            return Ok(pick(signed));
        }
        let header = HeaderValue::try_from(signer.signature_header(body)?).map_err(|_| {
            ProtocolError::Signing(expo_codesign::Error::InvalidKeyId(keyid.to_owned()))
        })?;
        let mut part = unsigned.clone();
        part.push_header(crate::headers::EXPO_SIGNATURE, header.clone());
        let entry = Signed {
            keyid: keyid.into(),
            header,
            part,
        };
        let picked = pick(&entry);
        if let Ok(mut entries) = self.entries.write()
            && !entries.iter().any(|s| &*s.keyid == keyid)
        {
            entries.push(entry);
        }
        Ok(picked)
    }
}

/// An update ready to send: its manifest and extensions serialized once,
/// with a cache of signatures of those exact bytes.
///
/// Build it when an update is published or loaded, keep it in an `Arc`, and
/// hand out clones from an [`UpdateSource`](crate::UpdateSource).
///
/// # Examples
///
/// ```
/// use expo_updates::PreparedUpdate;
///
/// let json = r#"{"id":"0754dad0-d200-d634-113c-ef1f26106028","createdAt":"2024-01-31T12:34:56.789Z",
///   "runtimeVersion":"1","launchAsset":{"hash":"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU",
///   "key":"bundle","contentType":"application/javascript","url":"https://u.example/a"},
///   "assets":[],"metadata":{},"extra":{}}"#;
/// let manifest = expo_manifest::Manifest::from_json_slice(json.as_bytes())?;
/// let update = PreparedUpdate::new(&manifest, None);
/// assert_eq!(update.id(), manifest.id);
/// assert!(update.manifest_json().starts_with(b"{"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct PreparedUpdate {
    id: UpdateId,
    created_at: Timestamp,
    manifest: Bytes,
    extensions: Option<Bytes>,
    /// The parts as sent unsigned, built once: cloning them is cheaper than
    /// writing their headers per request.
    manifest_part: Part,
    extensions_part: Option<Part>,
    signatures: SignatureCache,
    /// The manifest's `metadata`, which filters must match.
    metadata: BTreeMap<String, String>,
    /// `expo-manifest-filters` sent with every answer serving this update.
    filters: Option<HeaderValue>,
}

impl PreparedUpdate {
    /// Serializes `manifest` (its stored `createdAt` included as is) and,
    /// when given and not empty, `extensions`.
    pub fn new(manifest: &Manifest, extensions: Option<&Extensions>) -> Self {
        let json = Bytes::from(manifest.to_json_bytes());
        let extensions = extensions
            .filter(|e| !e.is_empty())
            .map(|e| Bytes::from(e.to_json_bytes()));
        PreparedUpdate {
            id: manifest.id,
            created_at: manifest.created_at,
            manifest_part: Part::form_data("manifest", JSON, json.clone()),
            extensions_part: extensions
                .as_ref()
                .map(|e| Part::form_data("extensions", JSON, e.clone())),
            manifest: json,
            extensions,
            signatures: SignatureCache::default(),
            metadata: manifest.metadata.clone(),
            filters: None,
        }
    }

    /// Sends `filters` as `expo-manifest-filters` with every answer that serves this
    /// update, or that tells a client running it that there is nothing new
    /// (`noUpdateAvailable`, 204): filters describe the stream the update comes from, so
    /// a client moved to another stream drops the updates of the old one.
    ///
    /// # Examples
    ///
    /// ```
    /// use expo_sfv::ManifestFilters;
    /// use expo_updates::PreparedUpdate;
    ///
    /// let json = r#"{"id":"0754dad0-d200-d634-113c-ef1f26106028","createdAt":"2024-01-31T12:34:56.789Z",
    ///   "runtimeVersion":"1","launchAsset":{"hash":"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU",
    ///   "key":"bundle","contentType":"application/javascript","url":"https://u.example/a"},
    ///   "assets":[],"metadata":{"branchName":"production"},"extra":{}}"#;
    /// let manifest = expo_manifest::Manifest::from_json_slice(json.as_bytes())?;
    /// let ok: ManifestFilters = r#"branchname="production""#.parse()?;
    /// let update = PreparedUpdate::new(&manifest, None).with_manifest_filters(&ok)?;
    /// assert_eq!(update.manifest_filters().unwrap(), r#"branchname="production""#);
    ///
    /// let wrong: ManifestFilters = r#"branchname="staging""#.parse()?;
    /// let err = PreparedUpdate::new(&manifest, None).with_manifest_filters(&wrong).unwrap_err();
    /// assert_eq!(err.key, "branchname");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`FilterMismatch`] when the manifest's `metadata` does not pass them
    /// ([`ManifestFilters::mismatch`]): clients refuse such a manifest.
    pub fn with_manifest_filters(
        mut self,
        filters: &ManifestFilters,
    ) -> Result<Self, FilterMismatch> {
        if let Some(key) = filters.mismatch(&self.metadata) {
            return Err(FilterMismatch {
                key: key.to_owned(),
            });
        }
        self.filters = (!filters.is_empty()).then(|| HeaderValue::from(filters));
        Ok(self)
    }

    /// The `expo-manifest-filters` value sent with this update, if any.
    pub fn manifest_filters(&self) -> Option<&HeaderValue> {
        self.filters.as_ref()
    }

    /// The update id.
    pub fn id(&self) -> UpdateId {
        self.id
    }

    /// The stored publish time, `createdAt`.
    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }

    /// The manifest JSON, the exact bytes sent and signed.
    pub fn manifest_json(&self) -> &Bytes {
        &self.manifest
    }

    /// The extensions JSON, when the update has any.
    pub fn extensions_json(&self) -> Option<&Bytes> {
        self.extensions.as_ref()
    }

    pub(crate) fn manifest_part(&self) -> &Part {
        &self.manifest_part
    }

    pub(crate) fn extensions_part(&self) -> Option<&Part> {
        self.extensions_part.as_ref()
    }

    /// The `expo-signature` value of the manifest by `signer`, computed on
    /// first use and cached.
    pub fn signature(&self, signer: &Signer) -> Result<HeaderValue, ProtocolError> {
        self.signatures
            .get_or_sign(signer, &self.manifest, &self.manifest_part, |s| {
                s.header.clone()
            })
    }

    /// The `manifest` part with its `expo-signature` by `signer`, cached.
    pub(crate) fn signed_manifest_part(&self, signer: &Signer) -> Result<Part, ProtocolError> {
        self.signatures
            .get_or_sign(signer, &self.manifest, &self.manifest_part, |s| {
                s.part.clone()
            })
    }
}

/// A directive ready to send: serialized once, signed once per key.
#[derive(Debug)]
pub struct PreparedDirective {
    directive: Directive,
    json: Bytes,
    part: Part,
    signatures: SignatureCache,
    filters: Option<HeaderValue>,
}

impl PreparedDirective {
    /// Serializes `directive`.
    pub fn new(directive: Directive) -> Self {
        let json = Bytes::from(directive.to_json_bytes());
        PreparedDirective {
            part: Part::form_data("directive", JSON, json.clone()),
            json,
            directive,
            signatures: SignatureCache::default(),
            filters: None,
        }
    }

    /// Sends `filters` as `expo-manifest-filters` with every answer carrying this
    /// directive (or the `noUpdateAvailable` or 204 that replaces it for a client it
    /// does not apply to): the filters of the stream the directive was made on. A
    /// client applies them to the updates it stores, and rolls back to its embedded
    /// update only if that one passes them.
    #[must_use]
    pub fn with_manifest_filters(mut self, filters: &ManifestFilters) -> Self {
        self.filters = (!filters.is_empty()).then(|| HeaderValue::from(filters));
        self
    }

    /// The `expo-manifest-filters` value sent with this directive, if any.
    pub fn manifest_filters(&self) -> Option<&HeaderValue> {
        self.filters.as_ref()
    }

    /// `rollBackToEmbedded` made at `commit_time` (the stored time of the
    /// rollback, not the time of the request).
    pub fn roll_back_to_embedded(commit_time: Timestamp) -> Self {
        Self::new(Directive::RollBackToEmbedded { commit_time })
    }

    /// `noUpdateAvailable`.
    pub fn no_update_available() -> Self {
        Self::new(Directive::NoUpdateAvailable)
    }

    /// The directive.
    pub fn directive(&self) -> &Directive {
        &self.directive
    }

    /// The directive JSON, the exact bytes sent and signed.
    pub fn json(&self) -> &Bytes {
        &self.json
    }

    pub(crate) fn part(&self) -> &Part {
        &self.part
    }

    /// The `expo-signature` value of the directive by `signer`, cached.
    pub fn signature(&self, signer: &Signer) -> Result<HeaderValue, ProtocolError> {
        self.signatures
            .get_or_sign(signer, &self.json, &self.part, |s| s.header.clone())
    }

    /// The `directive` part with its `expo-signature` by `signer`, cached.
    pub(crate) fn signed_part(&self, signer: &Signer) -> Result<Part, ProtocolError> {
        self.signatures
            .get_or_sign(signer, &self.json, &self.part, |s| s.part.clone())
    }
}
