/// Why a header value is not acceptable Expo SFV.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The value is longer than [`MAX_HEADER_LEN`](crate::MAX_HEADER_LEN).
    #[error("header value is {len} bytes long; at most {max} are accepted")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The value has more than [`MAX_MEMBERS`](crate::MAX_MEMBERS) members.
    #[error("{count} members; at most {max} are accepted")]
    TooManyMembers {
        /// How many there are.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Not a structured field of RFC 8941 at all.
    #[error("not a structured field value: {0}")]
    Syntax(String),
    /// A member has a value Expo SFV does not allow (an inner list, a token,
    /// a byte sequence, parameters...).
    #[error(
        "member {key:?}: {found} {not_allowed}",
        not_allowed = "is not allowed in Expo SFV (only strings, integers, decimals and booleans without parameters)"
    )]
    NotAllowed {
        /// The member's key (or its index in a list).
        key: String,
        /// What was found.
        found: &'static str,
    },
    /// A key is not an SFV key (lower case letters, digits, `_-.*`).
    #[error(
        "invalid key {0:?}: keys are lower-case letters, digits, '_', '-', '.', '*' and start with a letter or '*'"
    )]
    InvalidKey(String),
    /// A string holds a character outside printable ASCII.
    #[error("member {0:?}: strings may only hold printable ASCII")]
    InvalidString(String),
    /// A decimal or integer is outside what SFV can write.
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
