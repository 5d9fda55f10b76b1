use std::fmt;

/// Why a header value is not acceptable Expo SFV, or why a value cannot be
/// written as one.
///
/// Every error about a member names it: dictionary members by key, list
/// members by position (`#0`, `#1`…).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The value is longer than [`MAX_HEADER_LEN`](crate::MAX_HEADER_LEN);
    /// it was refused before any parsing.
    #[error("header value is {len} bytes long; at most {max} are accepted")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The value has more than [`MAX_MEMBERS`](crate::MAX_MEMBERS) members;
    /// parsing stopped at the first one over.
    #[error("more than {max} members")]
    TooManyMembers {
        /// The limit.
        max: usize,
    },
    /// A received header value holds bytes outside printable ASCII, which
    /// no structured field has (from the `http` conversions).
    #[error("header value holds bytes outside printable ASCII")]
    NotAscii,
    /// Not an RFC 8941 structured field of the expected type at all.
    #[error("not a structured field value: {reason}{}", Near::describe(.near.as_ref()))]
    Syntax {
        /// What `sfv` found wrong.
        reason: String,
        /// The byte offset where it was found, when known.
        index: Option<usize>,
        /// The member parsed when it was found, if any.
        near: Option<Near>,
    },
    /// A member has a value Expo SFV does not allow (an inner list, a token,
    /// a byte sequence, a parameter…), or a list member is not a string.
    #[error(
        "member {key:?}: {found} is not allowed (Expo SFV members are strings, integers, decimals or booleans, without parameters)"
    )]
    NotAllowed {
        /// The member's key (or `#` and its position in a list).
        key: String,
        /// What was found.
        found: &'static str,
    },
    /// A key is not an SFV key (lower-case letters, digits, `_-.*`, starting
    /// with a letter or `*`).
    #[error(
        "invalid key {0:?}: keys are lower-case letters, digits, '_', '-', '.', '*' and start with a letter or '*'"
    )]
    InvalidKey(String),
    /// A string holds a character outside printable ASCII.
    #[error("member {0:?}: strings may only hold printable ASCII")]
    InvalidString(String),
    /// An integer is outside what SFV can write (15 digits).
    #[error("member {0:?}: number out of range for a structured field")]
    NumberOutOfRange(String),
    /// A member a typed header needs is missing.
    #[error("{header}: missing member {key:?}")]
    Missing {
        /// The header.
        header: &'static str,
        /// The member.
        key: &'static str,
    },
    /// A server-defined header names a header the client sets itself (one
    /// of [`ServerDefinedHeaders::RESERVED`](crate::ServerDefinedHeaders::RESERVED)).
    #[error(
        "member {0:?}: a request header the client sets itself or that carries the protocol; a server may not define it"
    )]
    ReservedKey(String),
    /// A member of a typed header has the wrong type.
    #[error("{header}: member {key:?} must be {expected}")]
    WrongType {
        /// The header.
        header: &'static str,
        /// The member.
        key: &'static str,
        /// What it must be.
        expected: &'static str,
    },
}

impl Error {
    /// The byte offset of a syntax error in the header value, when known.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = expo_sfv::Dictionary::parse("a=1, B=2").unwrap_err();
    /// assert_eq!(err.index(), Some(5));
    /// ```
    pub fn index(&self) -> Option<usize> {
        match self {
            Error::Syntax { index, .. } => *index,
            _ => None,
        }
    }

    /// The member the error is about, when there is one: the key (or `#`
    /// and position in a list) of the offending member, or, for a syntax
    /// error, of the member being parsed or last parsed.
    ///
    /// # Examples
    ///
    /// ```
    /// use expo_sfv::Dictionary;
    ///
    /// assert_eq!(Dictionary::parse("sig, keyid=main").unwrap_err().member(), Some("keyid"));
    /// assert_eq!(Dictionary::parse(r#"sig, keyid="main"#).unwrap_err().member(), Some("keyid"));
    /// ```
    pub fn member(&self) -> Option<&str> {
        match self {
            Error::Syntax {
                near: Some(Near::InMember(key) | Near::AfterMember(key)),
                ..
            }
            | Error::NotAllowed { key, .. }
            | Error::InvalidKey(key)
            | Error::InvalidString(key)
            | Error::NumberOutOfRange(key)
            | Error::ReservedKey(key) => Some(key),
            Error::Missing { key, .. } | Error::WrongType { key, .. } => Some(key),
            _ => None,
        }
    }
}

/// Where a syntax error was found, relative to the members.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Near {
    /// Inside this member (its value or parameters).
    InMember(String),
    /// After this member ended: in a separator or the next key.
    AfterMember(String),
}

impl Near {
    fn describe(near: Option<&Near>) -> DescribeNear<'_> {
        DescribeNear(near)
    }
}

impl fmt::Display for Near {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Near::InMember(key) => write!(f, "in member {key:?}"),
            Near::AfterMember(key) => write!(f, "after member {key:?}"),
        }
    }
}

struct DescribeNear<'a>(Option<&'a Near>);

impl fmt::Display for DescribeNear<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(near) => write!(f, " ({near})"),
            None => Ok(()),
        }
    }
}
