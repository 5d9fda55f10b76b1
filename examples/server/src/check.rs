//! `check URL`: looks at a running Expo Updates server the way an app would.
//!
//! For each platform it asks for the manifest with the headers a real client sends,
//! checks the answer with [`expo_updates::client`] (status, protocol headers, structure,
//! fields, the signature against a certificate), then downloads every asset as the
//! manifest lists it and checks its bytes against the manifest's hash, once as
//! `identity` and once accepting `br, gzip` as the apps do (decoding what comes back).
//! Works against any server speaking the protocol, not only this one.

use std::fmt::Write as _;
use std::io::Read as _;
use std::time::Duration;

use bytes::Bytes;
use expo_codesign::Verifier;
use expo_manifest::{Asset, AssetHash, Extensions, Platform, RuntimeVersion};
use expo_updates::client::{
    Finding, ManifestQuery, Severity, asset_request, check_asset_response, check_manifest_response,
};
use serde_json::{Value, json};

use crate::error::{Error, Result};

/// Longest response body read (a manifest or one asset).
const MAX_BODY: usize = 256 * 1024 * 1024;
/// How long one exchange may take.
const TIMEOUT: Duration = Duration::from_mins(1);

/// What to check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The manifest URL.
    pub url: String,
    /// Platforms to ask for.
    pub platforms: Vec<Platform>,
    /// `expo-runtime-version`.
    pub runtime_version: RuntimeVersion,
    /// `expo-channel-name`, when set.
    pub channel: Option<String>,
    /// The code-signing certificate apps embed, and its keyid: asks for and verifies
    /// signatures.
    pub certificate: Option<(String, String)>,
}

/// Every exchange made and what was found, per platform.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// One line per exchange: `GET url: status`, with its findings.
    pub exchanges: Vec<Exchange>,
}

/// One request and the findings about its answer.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// What was asked, for people (`ios manifest`, `ios asset "bundle" br`).
    pub what: String,
    /// The URL.
    pub url: String,
    /// The status, when an answer came.
    pub status: Option<u16>,
    /// What was noticed.
    pub findings: Vec<Finding>,
}

impl CheckReport {
    /// How many findings are errors.
    pub fn errors(&self) -> usize {
        self.exchanges
            .iter()
            .flat_map(|e| &e.findings)
            .filter(|f| f.severity == Severity::Error)
            .count()
    }

    /// The report for people.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for exchange in &self.exchanges {
            let status = exchange
                .status
                .map_or_else(|| "no answer".to_owned(), |s| s.to_string());
            let _ = writeln!(out, "{}: GET {} -> {status}", exchange.what, exchange.url);
            for finding in &exchange.findings {
                let _ = writeln!(out, "  {}: {}", finding.severity, finding.message);
            }
        }
        let errors = self.errors();
        if errors == 0 {
            out.push_str("no errors\n");
        } else {
            let _ = writeln!(out, "{errors} error(s)");
        }
        out
    }

    /// The report as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "errors": self.errors(),
            "exchanges": self.exchanges.iter().map(|e| json!({
                "what": e.what,
                "url": e.url,
                "status": e.status,
                "findings": e.findings.iter().map(|f| json!({
                    "severity": f.severity.to_string(),
                    "message": f.message,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    }
}

/// Runs every check; network failures become findings, not errors, so the report says
/// everything that could be seen.
pub async fn check(options: &CheckOptions) -> Result<CheckReport> {
    let verifier = match &options.certificate {
        Some((pem, keyid)) => Some(
            Verifier::from_certificate_pem(pem)
                .map_err(|e| Error::Config(format!("--certificate: {e}")))?
                .with_keyid(keyid),
        ),
        None => None,
    };
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        // Responses are checked as they come: their encoding is part of the check.
        .no_gzip()
        .no_brotli()
        .no_deflate()
        .build()
        .map_err(|e| Error::Config(format!("cannot start an HTTP client: {e}")))?;
    let mut report = CheckReport::default();
    for &platform in &options.platforms {
        let mut query = ManifestQuery::new(platform, options.runtime_version.clone());
        query.channel.clone_from(&options.channel);
        query.expect_signature = options.certificate.as_ref().map(|(_, k)| k.clone());
        let request = query
            .to_request(&options.url)
            .map_err(|e| Error::Invalid(format!("{}: {e}", options.url)))?;
        let what = format!("{platform} manifest");
        let response = match send(&client, &request).await {
            Ok(response) => response,
            Err(message) => {
                report.exchanges.push(failed(what, &options.url, message));
                continue;
            }
        };
        let manifest_report = check_manifest_response(&query, &response, verifier.as_ref());
        report.exchanges.push(Exchange {
            what,
            url: options.url.clone(),
            status: Some(response.status().as_u16()),
            findings: manifest_report.findings.clone(),
        });
        let Some(manifest) = manifest_report.manifest() else {
            continue;
        };
        for asset in manifest.all_assets() {
            check_asset(
                &client,
                platform,
                asset,
                manifest_report.extensions(),
                &mut report,
            )
            .await;
        }
    }
    Ok(report)
}

async fn check_asset(
    client: &reqwest::Client,
    platform: Platform,
    asset: &Asset,
    extensions: Option<&Extensions>,
    report: &mut CheckReport,
) {
    let url = asset.url.as_str().to_owned();
    let what = format!("{platform} asset {:?}", asset.key);
    let mut request = match asset_request(asset, extensions) {
        Ok(request) => request,
        Err(e) => {
            report
                .exchanges
                .push(failed(what, &url, format!("cannot build the request: {e}")));
            return;
        }
    };
    match send(client, &request).await {
        Ok(response) => report.exchanges.push(Exchange {
            what: format!("{what} identity"),
            url: url.clone(),
            status: Some(response.status().as_u16()),
            findings: check_asset_response(asset, &response),
        }),
        Err(message) => report.exchanges.push(failed(what.clone(), &url, message)),
    }
    // What the apps send: the bytes must decode to the same hash.
    request.headers_mut().insert(
        http::header::ACCEPT_ENCODING,
        http::HeaderValue::from_static("br, gzip"),
    );
    let what = format!("{what} br/gzip");
    match send(client, &request).await {
        Ok(response) => {
            let findings = check_encoded(asset, &response);
            report.exchanges.push(Exchange {
                what,
                url,
                status: Some(response.status().as_u16()),
                findings,
            });
        }
        Err(message) => report.exchanges.push(failed(what, &url, message)),
    }
}

/// An asset answer to `accept-encoding: br, gzip`, decoded and hashed.
fn check_encoded(asset: &Asset, response: &http::Response<Bytes>) -> Vec<Finding> {
    let error = |message: String| {
        vec![Finding {
            severity: Severity::Error,
            message: format!("asset {:?}: {message}", asset.key),
        }]
    };
    if response.status() != http::StatusCode::OK {
        return error(format!("status {}", response.status()));
    }
    let coding = response
        .headers()
        .get(http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    let body = response.body().as_ref();
    let decoded = match coding.as_str() {
        "identity" => Ok(body.to_vec()),
        "br" => read_limited(brotli::Decompressor::new(body, 64 * 1024)),
        "gzip" => read_limited(flate2::read::GzDecoder::new(body)),
        other => return error(format!("content-encoding {other:?} was not asked for")),
    };
    match decoded {
        Ok(bytes) if AssetHash::of(&bytes) == asset.hash => Vec::new(),
        Ok(bytes) => error(format!(
            "the {coding} bytes decode to {}, the manifest says {}",
            AssetHash::of(&bytes),
            asset.hash
        )),
        Err(e) => error(format!("the {coding} bytes do not decode: {e}")),
    }
}

fn read_limited(reader: impl std::io::Read) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    reader.take(MAX_BODY as u64 + 1).read_to_end(&mut out)?;
    if out.len() > MAX_BODY {
        return Err(std::io::Error::other("decodes to more than 256 MiB"));
    }
    Ok(out)
}

fn failed(what: String, url: &str, message: String) -> Exchange {
    Exchange {
        what,
        url: url.to_owned(),
        status: None,
        findings: vec![Finding {
            severity: Severity::Error,
            message,
        }],
    }
}

/// One exchange; the body is read whole, up to [`MAX_BODY`].
async fn send(
    client: &reqwest::Client,
    request: &http::Request<()>,
) -> std::result::Result<http::Response<Bytes>, String> {
    let mut builder = client.get(request.uri().to_string());
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
