use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// The platform an update is built for, as sent in `expo-platform`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Platform {
    /// `ios`
    Ios,
    /// `android`
    Android,
}

impl Platform {
    /// Both platforms, in a stable order.
    pub const ALL: [Platform; 2] = [Platform::Ios, Platform::Android];

    /// The protocol's spelling: `ios` or `android`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Platform::Ios => "ios",
            Platform::Android => "android",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Platform {
    type Err = Error;

    /// Exact, lower case: the clients send exactly these values.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "ios" => Ok(Platform::Ios),
            "android" => Ok(Platform::Android),
            other => Err(Error::UnknownPlatform(truncated(other))),
        }
    }
}

impl Serialize for Platform {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Platform {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Keeps error messages bounded when the input is hostile.
pub(crate) fn truncated(s: &str) -> String {
    const MAX: usize = 64;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exact_lower_case() {
        assert_eq!("ios".parse::<Platform>().unwrap(), Platform::Ios);
        assert_eq!("android".parse::<Platform>().unwrap(), Platform::Android);
        for bad in ["iOS", "Android", "web", "", " ios"] {
            assert!(
                matches!(bad.parse::<Platform>(), Err(Error::UnknownPlatform(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn display_round_trips() {
        for p in Platform::ALL {
            assert_eq!(p.to_string().parse::<Platform>().unwrap(), p);
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{p}\""));
        }
    }

    #[test]
    fn long_input_is_truncated_in_errors() {
        let long = "x".repeat(10_000);
        let message = long.parse::<Platform>().unwrap_err().to_string();
        assert!(message.len() < 200, "{message}");
    }
}
