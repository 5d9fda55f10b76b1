//! BSDIFF40 patches of an Expo update's launch asset.
//!
//! Expo clients from SDK 55 may ask for the JavaScript bundle of a new
//! update as a binary patch against the bundle they already run: a
//! one-line change to an app rebuilds a Hermes bundle of a few MiB, yet the
//! bytes that differ fit in a few KiB. This crate builds those patches,
//! verifies them, applies them under strict bounds, and shapes the HTTP
//! exchange; it knows nothing of storage or routing.
//!
//! # When a patch is served
//!
//! 1. **At publish time, in the background**, the server builds patches to
//!    the new launch asset from the launch assets of the last few updates on
//!    the same app, channel, runtime version and platform, with
//!    [`Patch::build`]. Each patch is applied and compared with the target
//!    byte for byte before it is returned, so a stored patch is known to
//!    work. Inputs over [`Limits::max_input_bytes`] are refused up front.
//! 2. **It keeps only patches worth it**: [`worth_serving`] accepts a patch
//!    at most half the size of the brotli-compressed full bundle.
//! 3. **On a launch-asset request**, [`PatchRequest::from_headers`] reads
//!    `a-im: bsdiff` and `expo-current-update-id` (and, if sent,
//!    `expo-requested-update-id`, which must name the served update);
//!    [`PatchRequest::base_for`] names the base update. If a kept patch from
//!    that base exists, [`response::patch_response`] answers `226 IM Used`
//!    with `im: bsdiff`, `expo-base-update-id` and
//!    `cache-control: private, no-store`.
//! 4. **Anything else gets the normal `200`** with the full bundle: no
//!    `a-im`, an unknown base, a patch that was too large or failed to
//!    build.
//!
//! Patches are BSDIFF40 (bsdiff 4.x: bzip2-compressed control, diff and
//! extra streams), built with [`qbsdiff`](https://docs.rs/qbsdiff); the
//! `bspatch` command applies them.
//!
//! # Example
//!
//! ```
//! use expo_manifest::UpdateId;
//! use expo_patch::{Limits, Patch, PatchRequest, response, worth_serving};
//! use http::{HeaderMap, StatusCode};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let old = b"var greeting = 'hello'; function main() { render(greeting); }".repeat(50);
//! let mut new = old.clone();
//! new[15..20].copy_from_slice(b"howdy");
//!
//! // At publish: build and verify, then decide whether to keep it.
//! let patch = Patch::build(&old, &new, &Limits::default())?;
//! assert_eq!(patch.apply(&old, &Limits::default())?, new);
//! assert!(worth_serving(patch.len() as u64, 1_000));
//!
//! // On a request for the new update's launch asset.
//! let (old_id, new_id) = (UpdateId::new_v4(), UpdateId::new_v4());
//! let mut headers = HeaderMap::new();
//! headers.insert("a-im", "bsdiff".parse()?);
//! headers.insert("expo-current-update-id", old_id.to_string().parse()?);
//! let request = PatchRequest::from_headers(&headers).ok_or("not a patch request")?;
//! let base = request.base_for(new_id).ok_or("no patch for this update")?;
//! assert_eq!(base, old_id);
//!
//! let answer = response::patch_response(base, &patch);
//! assert_eq!(answer.status(), StatusCode::IM_USED);
//! assert_eq!(answer.headers()["im"], "bsdiff");
//! assert_eq!(answer.headers()["cache-control"], "private, no-store");
//! assert_eq!(answer.body(), patch.bytes());
//! # Ok(())
//! # }
//! ```
//!
//! # Bounds
//!
//! Building takes memory of about 6 to 8 times the base and cannot be
//! interrupted once started (see [`Patch::build`]). Applying an untrusted
//! patch ([`apply`]) checks the header before anything else, refuses an
//! announced output over the limit, never writes past the announced size,
//! and fails unless the output reaches it exactly.

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
