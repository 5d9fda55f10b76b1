use std::{fmt, str::FromStr};

use crate::{Error, Item, MAX_MEMBERS, parser};

/// An Expo SFV dictionary: ordered members with unique keys whose values are
/// strings, integers, decimals or booleans, without parameters.
///
/// Parsing follows RFC 8941: a key seen twice keeps its first position and
/// its last value. Serialization is canonical (`a=1, b, c="x"`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dictionary {
    members: Vec<(String, Item)>,
}

impl Dictionary {
    /// An empty dictionary.
    pub fn new() -> Self {
        Dictionary::default()
    }

    /// Parses a header value strictly: anything outside Expo SFV is an
    /// error naming the offending member.
    ///
    /// A key given twice keeps its first position and its last value
    /// (RFC 8941 4.2.2); only the value that survives must be Expo SFV.
    ///
    /// # Examples
    ///
    /// ```
    /// use expo_sfv::{Dictionary, Item};
    ///
    /// let dict = Dictionary::parse(r#"branch="main", build=42, sig"#)?;
    /// assert_eq!(dict.get("branch"), Some(&Item::String("main".into())));
    /// assert_eq!(dict.get("build"), Some(&Item::Integer(42)));
    /// assert_eq!(dict.get("sig"), Some(&Item::Boolean(true)));
    ///
    /// let err = Dictionary::parse("branch=main").unwrap_err();
    /// assert_eq!(err.member(), Some("branch")); // a token
    /// # Ok::<(), expo_sfv::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::TooLong`] and [`Error::TooManyMembers`] past the limits,
    /// [`Error::Syntax`] for what RFC 8941 refuses, [`Error::NotAllowed`]
    /// for what Expo SFV leaves out.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let members = parser::dictionary(input)?
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value.into_item()))
            .collect();
        Ok(Dictionary { members })
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Item> {
        self.members.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Sets `key` (replacing its value in place if present, else appending),
    /// after checking the key and the value can be written.
    ///
    /// # Examples
    ///
    /// ```
    /// use expo_sfv::Dictionary;
    ///
    /// let mut filters = Dictionary::new();
    /// filters.insert("branch", "production")?;
    /// filters.insert("build", 42)?;
    /// assert_eq!(filters.to_header_value(), r#"branch="production", build=42"#);
    /// assert!(filters.insert("Branch", "x").is_err()); // keys are lower case
    /// assert!(filters.insert("branch", "caf\u{e9}").is_err()); // strings are ASCII
    /// # Ok::<(), expo_sfv::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`], [`Error::InvalidString`],
    /// [`Error::NumberOutOfRange`], or [`Error::TooManyMembers`] when a new
    /// member would pass [`MAX_MEMBERS`].
    pub fn insert(&mut self, key: impl Into<String>, item: impl Into<Item>) -> Result<(), Error> {
        let key = key.into();
        let item = item.into();
        if sfv::KeyRef::from_str(&key).is_err() {
            return Err(Error::InvalidKey(key));
        }
        item.validate(&key)?;
        if let Some(slot) = self.members.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = item;
        } else {
            if self.members.len() == MAX_MEMBERS {
                return Err(Error::TooManyMembers { max: MAX_MEMBERS });
            }
            self.members.push((key, item));
        }
        Ok(())
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Item> {
        let at = self.members.iter().position(|(k, _)| k == key)?;
        Some(self.members.remove(at).1)
    }

    /// The members in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Item)> {
        self.members.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// How many members there are.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The canonical header value; empty for an empty dictionary.
    pub fn to_header_value(&self) -> String {
        // Members are written nearly as they are stored: reserving once
        // avoids growing the buffer character by character.
        let mut out = String::with_capacity(
            self.members
                .iter()
                .map(|(key, item)| key.len() + item.written_len_estimate() + 3)
                .sum(),
        );
        let mut ser = sfv::DictSerializer::with_buffer(&mut out);
        for (key, item) in &self.members {
            // Keys and items were validated on the way in.
            if let (Ok(key), Some(bare)) = (sfv::KeyRef::from_str(key), item.to_ref()) {
                ser.bare_item(key, bare);
            }
        }
        let _ = ser.finish();
        out
    }
}

impl fmt::Display for Dictionary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_header_value())
    }
}

impl TryFrom<&str> for Dictionary {
    type Error = Error;

    fn try_from(s: &str) -> Result<Self, Error> {
        Dictionary::parse(s)
    }
}

impl FromStr for Dictionary {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Dictionary::parse(s)
    }
}

impl<'a> IntoIterator for &'a Dictionary {
    type Item = (&'a str, &'a Item);
    type IntoIter = Box<dyn Iterator<Item = (&'a str, &'a Item)> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

/// Parses an SFV list whose members are all strings, such as
/// `expo-recent-failed-update-ids`.
///
/// # Examples
///
/// ```
/// let ids = expo_sfv::parse_string_list(
///     r#""0754dad0-d200-d634-113c-ef1f26106028", "9a1e0000-d200-d634-113c-ef1f26106028""#,
/// )?;
/// assert_eq!(ids.len(), 2);
/// assert!(expo_sfv::parse_string_list(r#""a", 1"#).is_err());
/// # Ok::<(), expo_sfv::Error>(())
/// ```
///
/// # Errors
///
/// As [`Dictionary::parse`]; a member that is not a string is
/// [`Error::NotAllowed`], named `#` and its position.
pub fn parse_string_list(input: &str) -> Result<Vec<String>, Error> {
    parser::string_list(input)
}
