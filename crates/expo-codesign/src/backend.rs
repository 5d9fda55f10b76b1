//! The crypto library behind RSA signing and verification, chosen at compile time.
//!
//! Exactly as rustls does with its providers: the `ring` feature (the default) and the
//! `aws-lc-rs` feature each bring one library. With neither, the crate does not compile;
//! with both (a dependant enabled `aws-lc-rs` without turning the default off), `aws-lc-rs`
//! is used, since enabling it can only be a deliberate choice while `ring` comes by default.
//! `x509-parser` makes the same choice for certificate signatures.

#[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
compile_error!(
    "expo-codesign needs a crypto backend: enable the `ring` feature (the default) or the `aws-lc-rs` feature"
);

#[cfg(feature = "aws-lc-rs")]
pub(crate) use aws_lc_rs as lib;
#[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
pub(crate) use ring as lib;

/// The name of the crypto library this build signs and verifies with: `"ring"` or
/// `"aws-lc-rs"` (see "Crate features" in the crate docs).
///
/// # Examples
///
/// ```
/// assert!(["ring", "aws-lc-rs"].contains(&expo_codesign::BACKEND));
/// ```
#[cfg(feature = "aws-lc-rs")]
pub const BACKEND: &str = "aws-lc-rs";
/// The name of the crypto library this build signs and verifies with: `"ring"` or
/// `"aws-lc-rs"` (see "Crate features" in the crate docs).
///
/// # Examples
///
/// ```
/// assert!(["ring", "aws-lc-rs"].contains(&expo_codesign::BACKEND));
/// ```
#[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
pub const BACKEND: &str = "ring";
