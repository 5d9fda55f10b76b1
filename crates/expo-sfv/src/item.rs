use std::fmt;

use crate::Error;

pub use sfv::Decimal;

/// The value of an Expo SFV dictionary member: a bare item of the four types
/// Expo SFV keeps from RFC 8941 (no tokens, byte sequences, inner lists or
/// parameters).
///
/// Decimals are [`sfv::Decimal`], a fixed-point number with exactly three
/// fraction digits, so that what is parsed is written back digit for digit
/// (an `f64` would not be); convert with `Decimal::try_from(f64)` and
/// `f64::from(decimal)`.
///
/// # Examples
///
/// ```
/// use expo_sfv::{Decimal, Item};
///
/// assert_eq!(Item::from("main").to_string(), r#""main""#);
/// assert_eq!(Item::from(true).to_string(), "?1");
/// assert_eq!(Item::Integer(-42).to_string(), "-42");
/// assert_eq!(Item::from(Decimal::try_from(1.5)?).to_string(), "1.5");
/// # Ok::<(), sfv::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// `?1` / `?0`; a bare key in a dictionary means `true`.
    Boolean(bool),
    /// `-999_999_999_999_999` to `999_999_999_999_999` (15 digits).
    Integer(i64),
    /// Up to 12 integer digits and 3 fraction digits.
    Decimal(Decimal),
    /// Printable ASCII, written between double quotes.
    String(String),
}

impl Item {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Item::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Item::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    /// The decimal, if this is one.
    pub fn as_decimal(&self) -> Option<Decimal> {
        match self {
            Item::Decimal(d) => Some(*d),
            _ => None,
        }
    }

    /// The integer, if this is one.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Item::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// What the item is, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Item::Boolean(_) => "a boolean",
            Item::Integer(_) => "an integer",
            Item::Decimal(_) => "a decimal",
            Item::String(_) => "a string",
        }
    }

    /// About how many bytes the value takes written (exact for strings
    /// without escapes and for booleans).
    pub(crate) fn written_len_estimate(&self) -> usize {
        match self {
            Item::Boolean(_) => 2,
            Item::Integer(_) | Item::Decimal(_) => 16,
            Item::String(s) => s.len() + 2,
        }
    }

    /// Checks the value can be written, naming `key` when it cannot.
    pub(crate) fn validate(&self, key: &str) -> Result<(), Error> {
        match self {
            Item::Integer(i) if sfv::Integer::try_from(*i).is_err() => {
                Err(Error::NumberOutOfRange(key.to_owned()))
            }
            Item::String(s) if sfv::StringRef::from_str(s).is_err() => {
                Err(Error::InvalidString(key.to_owned()))
            }
            _ => Ok(()),
        }
    }

    /// The bare item to serialize; only called on validated items.
    pub(crate) fn to_ref(&self) -> Option<sfv::RefBareItem<'_>> {
        Some(match self {
            Item::Boolean(b) => sfv::RefBareItem::Boolean(*b),
            Item::Integer(i) => sfv::RefBareItem::Integer(sfv::Integer::try_from(*i).ok()?),
            Item::Decimal(d) => sfv::RefBareItem::Decimal(*d),
            Item::String(s) => sfv::RefBareItem::String(sfv::StringRef::from_str(s).ok()?),
        })
    }
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_ref() {
            Some(bare) => f.write_str(&sfv::ItemSerializer::new().bare_item(bare).finish()),
            None => Err(fmt::Error),
        }
    }
}

impl From<bool> for Item {
    fn from(b: bool) -> Self {
        Item::Boolean(b)
    }
}

impl From<i64> for Item {
    fn from(i: i64) -> Self {
        Item::Integer(i)
    }
}

impl From<i32> for Item {
    fn from(i: i32) -> Self {
        Item::Integer(i.into())
    }
}

impl From<u32> for Item {
    fn from(i: u32) -> Self {
        Item::Integer(i.into())
    }
}

impl From<Decimal> for Item {
    fn from(d: Decimal) -> Self {
        Item::Decimal(d)
    }
}

impl From<&str> for Item {
    fn from(s: &str) -> Self {
        Item::String(s.to_owned())
    }
}

impl From<String> for Item {
    fn from(s: String) -> Self {
        Item::String(s)
    }
}
