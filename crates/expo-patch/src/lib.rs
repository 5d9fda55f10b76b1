#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, reason = "tests may unwrap"))]

mod error;
mod header;
mod limits;
mod patch;
mod policy;
pub mod response;

pub use error::Error;
pub use limits::Limits;
pub use patch::{Patch, apply};
pub use policy::worth_serving;
pub use response::PatchRequest;
