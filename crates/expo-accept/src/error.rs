/// Why negotiation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The header value is longer than [`MAX_HEADER_LEN`](crate::MAX_HEADER_LEN).
    #[error("header value is {len} bytes long; at most {max} are accepted")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The header lists more than [`MAX_ELEMENTS`](crate::MAX_ELEMENTS) elements.
    #[error("{count} elements; at most {max} are accepted")]
    TooManyElements {
        /// How many there are.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// An element is not valid syntax (only from the strict parsers).
    #[error("malformed element {element:?}: {reason}")]
    Malformed {
        /// The element, shortened if long.
        element: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// Nothing the server offers is acceptable: answer 406.
    #[error("none of {offered} is acceptable")]
    NotAcceptable {
        /// What was offered, for the message.
        offered: String,
    },
}
