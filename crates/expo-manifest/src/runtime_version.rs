use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, platform::truncated};

/// The runtime version: which native code an update runs on.
///
/// The protocol allows any developer-defined string. This type accepts 1 to
/// [`MAX_LEN`](Self::MAX_LEN) bytes of printable ASCII (`' '` to `'~'`): what
/// the `runtimeVersion` policies of the Expo tooling produce (`1.0.0`,
/// fingerprints, `exposdk:55.0.0`) and what survives an HTTP header intact.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuntimeVersion(String);

impl RuntimeVersion {
    /// The longest runtime version accepted, in bytes.
    pub const MAX_LEN: usize = 255;

    /// Validates a runtime version.
    pub fn new(value: impl Into<String>) -> Result<Self, Error> {
        let value = value.into();
        if value.is_empty() {
            return Err(Error::EmptyRuntimeVersion);
        }
        if value.len() > Self::MAX_LEN {
            return Err(Error::RuntimeVersionTooLong(value.len()));
        }
        // By byte (the first byte out of range starts the character reported).
        if let Some(at) = value.bytes().position(|b| !(b' '..=b'~').contains(&b)) {
            let c = value[at..]
                .chars()
                .next()
                .unwrap_or(char::REPLACEMENT_CHARACTER);
            return Err(Error::RuntimeVersionCharacter(c));
        }
        Ok(RuntimeVersion(value))
    }

    /// The runtime version as sent and stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RuntimeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RuntimeVersion {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        if s.len() > Self::MAX_LEN {
            return Err(Error::RuntimeVersionTooLong(s.len()));
        }
        RuntimeVersion::new(s)
    }
}

impl TryFrom<String> for RuntimeVersion {
    type Error = Error;

    fn try_from(value: String) -> Result<Self, Error> {
        RuntimeVersion::new(value)
    }
}

impl AsRef<str> for RuntimeVersion {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for RuntimeVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RuntimeVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        RuntimeVersion::new(s).map_err(|e| serde::de::Error::custom(truncated(&e.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_the_tooling_produces() {
        for ok in [
            "1.0.0",
            "exposdk:55.0.0",
            "a",
            &"f".repeat(255),
            "1.0.0 (build 7)",
        ] {
            assert_eq!(RuntimeVersion::new(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_empty_long_and_control() {
        assert!(matches!(
            RuntimeVersion::new(""),
            Err(Error::EmptyRuntimeVersion)
        ));
        assert!(matches!(
            RuntimeVersion::new("1".repeat(256)),
            Err(Error::RuntimeVersionTooLong(256))
        ));
        assert!(matches!(
            RuntimeVersion::new("1.0\n"),
            Err(Error::RuntimeVersionCharacter('\n'))
        ));
        assert!(matches!(
            RuntimeVersion::new("1.0é"),
            Err(Error::RuntimeVersionCharacter('é'))
        ));
    }

    #[test]
    fn serde_validates() {
        assert!(serde_json::from_str::<RuntimeVersion>("\"\"").is_err());
        let v: RuntimeVersion = serde_json::from_str("\"1.0.0\"").unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"1.0.0\"");
    }
}
