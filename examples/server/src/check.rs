//! `check URL`: the conformance suite of [`expo_updates::conformance`] run against any
//! running Expo Updates server over HTTP (reqwest), with its report for people or as JSON.

use std::time::Duration;

use bytes::Bytes;
use expo_updates::conformance::{self, Options, Report, Transport};

use crate::error::{Error, Result};

/// Longest response body read (a manifest or one asset).
const MAX_BODY: usize = 256 * 1024 * 1024;
/// How long one exchange may take.
const TIMEOUT: Duration = Duration::from_mins(1);

/// The suite's transport: one reqwest client that leaves encodings and redirects alone.
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    /// A client that neither decompresses (encodings are checked) nor follows redirects.
    pub fn new() -> Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .no_gzip()
            .no_brotli()
            .no_deflate()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("cannot start an HTTP client: {e}")))?;
        Ok(ReqwestTransport { client })
    }
}

impl Transport for ReqwestTransport {
    async fn send(
        &self,
        request: http::Request<()>,
    ) -> std::result::Result<http::Response<Bytes>, String> {
        let mut builder = self.client.get(request.uri().to_string());
        for (name, value) in request.headers() {
            builder = builder.header(name, value);
        }
        let mut response = builder
            .send()
            .await
            .map_err(|e| format!("request failed: {}", chain(&e)))?;
        let mut answer = http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            answer = answer.header(name, value);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("reading the body failed: {}", chain(&e)))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err("the body is larger than 256 MiB".to_owned());
            }
            body.extend_from_slice(&chunk);
        }
        answer
            .body(Bytes::from(body))
            .map_err(|e| format!("unusable answer: {e}"))
    }
}

/// Runs the suite against `options.url`.
pub async fn check(options: &Options) -> Result<Report> {
    let transport = ReqwestTransport::new()?;
    Ok(conformance::run(&transport, options).await)
}

/// An error and its causes (`reqwest` puts "connection refused" in a source).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
