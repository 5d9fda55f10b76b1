#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, reason = "tests may unwrap"))]

mod armor;
mod backend;
mod certificate;
mod checks;
mod error;
mod header;
mod key;
mod public_key;
mod signer;
mod verifier;

pub use backend::BACKEND;
pub use certificate::{Certificate, MAX_CHAIN_LEN};
pub use checks::{EXPIRY_WARNING, Warning, check_chain};
pub use error::Error;
pub use key::PrivateKey;
pub use signer::{Signer, SignerSet};
pub use verifier::{DEFAULT_KEYID, Verifier};

/// The only algorithm of Expo code signing, as written in `alg`.
pub const ALGORITHM: &str = "rsa-v1_5-sha256";

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + Clone>() {}

    #[test]
    fn shared_types_are_send_sync() {
        assert_send_sync::<Signer>();
        assert_send_sync::<SignerSet>();
        assert_send_sync::<Verifier>();
        assert_send_sync::<PrivateKey>();
        assert_send_sync::<Certificate>();
        assert_send_sync::<Error>();
    }
}
