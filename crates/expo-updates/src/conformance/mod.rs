//! An active conformance suite for any Expo Updates server, over any HTTP client.
//!
//! [`run`] probes a server the way the clients do and beyond: the request an app sends,
//! `accept` negotiation, malformed protocol headers, no-update answers, code signing, the
//! multipart framing byte for byte, assets in every encoding, caching headers, ranges,
//! header spellings the clients depend on, and (given the [`State`] saved before a
//! publish) that earlier asset URLs keep answering. Each [`Finding`] names its rule
//! ([`Check`]): id, [`Group`], the specification section or client behaviour it comes
//! from, and its [`Level`] (`MUST`, `SHOULD`, client-needs).
//!
//! The suite never trusts this crate's serving code for what it verifies: multipart
//! bodies are read by a parser of its own, signatures are verified from the X.509 and RSA
//! primitives, asset bytes are hashed and decompressed here.
//!
//! The HTTP client is yours: implement [`Transport`] ("send this request, give me the
//! response with its whole body"). The suite sends at most [`Options::max_requests`]
//! requests, all `GET`s; probes that report device state a server may record
//! (`expo-current-update-id`) run only with [`Options::allow_mutations`].
//!
//! # Example
//!
//! ```
//! use bytes::Bytes;
//! use expo_updates::conformance::{Options, Transport, run};
//!
//! /// A server that answers 204 to everything.
//! struct Always204;
//!
//! impl Transport for Always204 {
//!     async fn send(&self, _: http::Request<()>) -> Result<http::Response<Bytes>, String> {
//!         http::Response::builder()
//!             .status(204)
//!             .header("expo-protocol-version", "1")
//!             .header("expo-sfv-version", "0")
//!             .header("cache-control", "private, max-age=0")
//!             .body(Bytes::new())
//!             .map_err(|e| e.to_string())
//!     }
//! }
//!
//! let options = Options::new("http://127.0.0.1:3000/manifest", "1.0.0");
//! let report = tokio::runtime::Builder::new_current_thread()
//!     .build()?
//!     .block_on(run(&Always204, &options));
//! // A 204 for the request an app sends is fine...
//! assert!(report.passed().contains("manifest-answer"));
//! // ...but so is it for a request without expo-platform, which must be refused.
//! assert!(report.failed().contains("platform-missing"));
//! print!("{}", report.to_text());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod answer;
mod assets;
mod catalog;
mod multipart;
mod probes;
mod report;
mod server_headers;
mod signature;

use std::future::Future;

use bytes::Bytes;
use expo_manifest::Platform;
use http::{Request, Response};

pub use answer::AssetRef;
pub use catalog::{CHECKS, Check, Group, Level};
pub use report::{Finding, Outcome, Report};
pub use signature::Certificate;

/// Sends one request and returns the response with its whole body, as received: no
/// automatic decompression (encodings are part of what is checked) and no redirects
/// followed silently. An `Err` is a transport failure, reported as such.
pub trait Transport {
    /// Sends `request`.
    fn send(&self, request: Request<()>) -> impl Future<Output = Result<Response<Bytes>, String>>;
}

/// Hard ceiling of [`Options::max_requests`].
pub const MAX_REQUESTS_CEILING: usize = 10_000;

/// What to check and how far to go.
#[derive(Debug, Clone)]
pub struct Options {
    /// The manifest URL, as in the app's `updates.url`.
    pub url: String,
    /// Platforms to ask for.
    pub platforms: Vec<Platform>,
    /// `expo-runtime-version` an update is published for.
    pub runtime_version: String,
    /// `expo-channel-name`, when set.
    pub channel: Option<String>,
    /// The certificate apps embed (and its keyid): asks for and verifies signatures.
    pub certificate: Option<Certificate>,
    /// Groups to run; empty means all.
    pub only: Vec<Group>,
    /// Groups not to run.
    pub skip: Vec<Group>,
    /// At most this many requests are sent (capped at [`MAX_REQUESTS_CEILING`]); checks
    /// beyond it are skipped.
    pub max_requests: usize,
    /// Runs the probes that send `expo-current-update-id`, which servers may record as a
    /// launch of that update.
    pub allow_mutations: bool,
    /// What was served before a publish ([`Report::state`] of an earlier run): checks its
    /// asset URLs still answer.
    pub previous: Option<State>,
}

impl Options {
    /// Every platform, every group, 200 requests, no mutations.
    pub fn new(url: impl Into<String>, runtime_version: impl Into<String>) -> Self {
        Options {
            url: url.into(),
            platforms: Platform::ALL.to_vec(),
            runtime_version: runtime_version.into(),
            channel: None,
            certificate: None,
            only: Vec::new(),
            skip: Vec::new(),
            max_requests: 200,
            allow_mutations: false,
            previous: None,
        }
    }

    /// Whether `group` runs.
    pub fn runs(&self, group: Group) -> bool {
        (self.only.is_empty() || self.only.contains(&group)) && !self.skip.contains(&group)
    }
}

/// What a server served, per platform: saved after a first run, compared with after a
/// publish.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct State {
    /// The manifest URL.
    pub url: String,
    /// The runtime version asked for.
    pub runtime_version: String,
    /// One entry per platform that was served an update.
    pub updates: Vec<ServedUpdate>,
}

/// One update served to one platform.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServedUpdate {
    /// `ios` or `android`.
    pub platform: String,
    /// The manifest id.
    pub id: String,
    /// Its assets, launch asset first.
    pub assets: Vec<AssetRef>,
}

/// Runs every selected check against the server at `options.url`.
pub async fn run<T: Transport>(transport: &T, options: &Options) -> Report {
    probes::Session::new(transport, options).run().await
}
