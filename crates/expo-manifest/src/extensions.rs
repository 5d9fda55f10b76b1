use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The body of an `extensions` part.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Extensions {
    /// Extra request headers per asset key, which the client sends when it
    /// downloads that asset (authorization for a private CDN, say).
    #[serde(default)]
    pub asset_request_headers: BTreeMap<String, BTreeMap<String, String>>,
}

impl Extensions {
    /// Compact JSON, sorted by key.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.asset_request_headers.is_empty()
    }
}
