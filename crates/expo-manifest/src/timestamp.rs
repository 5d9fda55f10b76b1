use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, platform::truncated};

/// A point in time with millisecond precision, written like JavaScript's
/// `Date.prototype.toISOString()`: `2024-01-31T12:34:56.789Z`.
///
/// Manifests' `createdAt` and directives' `commitTime` are compared by the
/// client with the running update's commit time, so they must survive a
/// round trip exactly: the value is held as whole milliseconds since the
/// Unix epoch, from 1970 to the end of 9999 (where `toISOString` uses four
/// year digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(i64);

/// 9999-12-30T21:59:59.999Z, the last millisecond `jiff` can represent
/// in every time zone.
const MAX_MILLIS: i64 = 253_402_207_199_999;

impl Timestamp {
    /// The current time, truncated to the millisecond.
    pub fn now() -> Self {
        Timestamp(jiff::Timestamp::now().as_millisecond().clamp(0, MAX_MILLIS))
    }

    /// A timestamp from milliseconds since the Unix epoch.
    pub fn from_millis(millis: i64) -> Result<Self, Error> {
        if (0..=MAX_MILLIS).contains(&millis) {
            Ok(Timestamp(millis))
        } else {
            Err(Error::TimestampOutOfRange(millis))
        }
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    fn to_jiff(self) -> jiff::Timestamp {
        // In range by construction.
        jiff::Timestamp::from_millisecond(self.0).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dt = self.to_jiff().to_zoned(jiff::tz::TimeZone::UTC).datetime();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            dt.year(),
            dt.month(),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second(),
            dt.millisecond()
        )
    }
}

impl FromStr for Timestamp {
    type Err = Error;

    /// RFC 3339 / ISO 8601 with an offset (`Z` or `+hh:mm`); digits beyond
    /// the millisecond are dropped, as `new Date(...)` does.
    fn from_str(s: &str) -> Result<Self, Error> {
        if s.len() > 64 {
            return Err(Error::InvalidTimestamp(truncated(s)));
        }
        let parsed: jiff::Timestamp = s
            .parse()
            .map_err(|_| Error::InvalidTimestamp(truncated(s)))?;
        Timestamp::from_millis(parsed.as_millisecond())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_like_to_iso_string() {
        // new Date(1706704496789).toISOString()
        let t = Timestamp::from_millis(1_706_704_496_789).unwrap();
        assert_eq!(t.to_string(), "2024-01-31T12:34:56.789Z");
        assert_eq!(
            Timestamp::from_millis(0).unwrap().to_string(),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_millis(MAX_MILLIS).unwrap().to_string(),
            "9999-12-30T21:59:59.999Z"
        );
    }

    #[test]
    fn reads_offsets_and_truncates_sub_millis() {
        let t: Timestamp = "2024-01-31T13:34:56.789123+01:00".parse().unwrap();
        assert_eq!(t.to_string(), "2024-01-31T12:34:56.789Z");
        let t: Timestamp = "2024-01-31T12:34:56Z".parse().unwrap();
        assert_eq!(t.to_string(), "2024-01-31T12:34:56.000Z");
    }

    #[test]
    fn rejects_bad_and_out_of_range() {
        for bad in [
            "",
            "2024-01-31",
            "2024-01-31T12:34:56",
            "yesterday",
            "2024-13-01T00:00:00Z",
        ] {
            assert!(
                matches!(bad.parse::<Timestamp>(), Err(Error::InvalidTimestamp(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            "1969-12-31T23:59:59.999Z".parse::<Timestamp>(),
            Err(Error::TimestampOutOfRange(-1))
        ));
        assert!(Timestamp::from_millis(MAX_MILLIS + 1).is_err());
    }

    #[test]
    fn now_is_recent() {
        assert!(Timestamp::now().as_millis() > 1_700_000_000_000);
    }
}
