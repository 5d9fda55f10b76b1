use serde::{Deserialize, Deserializer, Serialize, Serializer, ser::SerializeMap};
use serde_json::{Map, Value};

use crate::{Error, Timestamp, manifest::check_len};

/// The largest directive JSON [`Directive::from_json_slice`] reads: 64 KiB.
pub const MAX_DIRECTIVE_BYTES: usize = 64 << 10;

/// An instruction to the client instead of an update: the body of a
/// `directive` part.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Directive {
    /// Run the update embedded in the app binary. `commitTime` must be newer
    /// than the running update's, and the client re-stamps the embedded update
    /// with it: use the stored time of the rollback, not the request time.
    RollBackToEmbedded {
        /// When the rollback was made.
        commit_time: Timestamp,
    },
    /// The client already runs the newest update.
    NoUpdateAvailable,
    /// A directive of another type, kept as it was read (including `type`),
    /// so a server can relay directives this crate does not know. It is
    /// written back compactly with keys sorted: the same value always gives
    /// the same bytes.
    Other(Map<String, Value>),
}

impl Directive {
    /// The directive's `type`.
    pub fn kind(&self) -> &str {
        match self {
            Directive::RollBackToEmbedded { .. } => "rollBackToEmbedded",
            Directive::NoUpdateAvailable => "noUpdateAvailable",
            Directive::Other(map) => map.get("type").and_then(Value::as_str).unwrap_or(""),
        }
    }

    /// Compact JSON, the bytes to send and to sign.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a directive, refusing more than [`MAX_DIRECTIVE_BYTES`].
    pub fn from_json_slice(json: &[u8]) -> Result<Self, Error> {
        check_len("directive", json.len(), MAX_DIRECTIVE_BYTES)?;
        serde_json::from_slice(json).map_err(|source| Error::Json {
            what: "directive",
            source,
        })
    }
}

impl Serialize for Directive {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct CommitTime<'a> {
            #[serde(rename = "commitTime")]
            commit_time: &'a Timestamp,
        }
        match self {
            Directive::RollBackToEmbedded { commit_time } => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("type", self.kind())?;
                map.serialize_entry("parameters", &CommitTime { commit_time })?;
                map.end()
            }
            Directive::NoUpdateAvailable => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("type", self.kind())?;
                map.end()
            }
            Directive::Other(map) => map.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Directive {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let map = Map::<String, Value>::deserialize(deserializer)?;
        let kind = match map.get("type") {
            Some(Value::String(kind)) => kind.as_str(),
            Some(_) => return Err(D::Error::custom("directive `type` must be a string")),
            None => return Err(D::Error::missing_field("type")),
        };
        match kind {
            "rollBackToEmbedded" => {
                let commit_time = map
                    .get("parameters")
                    .and_then(|p| p.get("commitTime"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        D::Error::custom("rollBackToEmbedded needs parameters.commitTime")
                    })?
                    .parse()
                    .map_err(D::Error::custom)?;
                Ok(Directive::RollBackToEmbedded { commit_time })
            }
            "noUpdateAvailable" => Ok(Directive::NoUpdateAvailable),
            _ => Ok(Directive::Other(map)),
        }
    }
}
