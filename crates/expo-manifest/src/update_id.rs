use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::{Error, platform::truncated};

/// The id of an update: a UUID, written lower-case and hyphenated.
///
/// The clients lower-case the ids they send back (`expo-current-update-id`),
/// so parsing accepts any case and display is always lower case: compare
/// `UpdateId`s, never strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UpdateId(Uuid);

impl UpdateId {
    /// A new random (version 4) id.
    pub fn new_v4() -> Self {
        UpdateId(Uuid::new_v4())
    }

    /// Wraps a UUID.
    pub const fn from_uuid(uuid: Uuid) -> Self {
        UpdateId(uuid)
    }

    /// The UUID.
    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Display for UpdateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl FromStr for UpdateId {
    type Err = Error;

    /// Only the hyphenated form (36 characters), in any case: the braced,
    /// URN and simple forms `uuid` also reads are not ids a client sends.
    fn from_str(s: &str) -> Result<Self, Error> {
        let bytes = s.as_bytes();
        let hyphens_in_place = bytes.len() == 36
            && bytes
                .iter()
                .enumerate()
                .all(|(i, &b)| matches!(i, 8 | 13 | 18 | 23) == (b == b'-'));
        if !hyphens_in_place {
            return Err(Error::InvalidUpdateId(truncated(s)));
        }
        Uuid::try_parse(s)
            .map(UpdateId)
            .map_err(|_| Error::InvalidUpdateId(truncated(s)))
    }
}

impl From<Uuid> for UpdateId {
    fn from(uuid: Uuid) -> Self {
        UpdateId(uuid)
    }
}

impl Serialize for UpdateId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for UpdateId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_case_in_lower_case_out() {
        let id: UpdateId = "0754DAD0-D200-D634-113C-EF1F26106028".parse().unwrap();
        assert_eq!(id.to_string(), "0754dad0-d200-d634-113c-ef1f26106028");
        assert_eq!(id, "0754dad0-d200-d634-113c-ef1f26106028".parse().unwrap());
    }

    #[test]
    fn rejects_other_forms() {
        for bad in [
            "",
            "0754dad0d200d634113cef1f26106028",
            "{0754dad0-d200-d634-113c-ef1f26106028}",
            "urn:uuid:0754dad0-d200-d634-113c-ef1f26106028",
            "0754dad0-d200-d634-113c-ef1f2610602g",
            "0754dad0-d200-d634-113c-ef1f261060288",
            "0754dad0+d200-d634-113c-ef1f26106028",
            "0754dad-0d200-d634-113c-ef1f26106028",
        ] {
            assert!(
                matches!(bad.parse::<UpdateId>(), Err(Error::InvalidUpdateId(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn new_ids_differ_and_round_trip() {
        let (a, b) = (UpdateId::new_v4(), UpdateId::new_v4());
        assert_ne!(a, b);
        assert_eq!(a.to_string().parse::<UpdateId>().unwrap(), a);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<UpdateId>(&json).unwrap(), a);
    }
}
