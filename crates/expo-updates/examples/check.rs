//! Checks a running Expo Updates server from the outside, over plain HTTP/1.1:
//! the manifest answer (structure, headers, signature) and every asset's hash.
//!
//! ```sh
//! cargo run -p expo-updates --example check -- http://127.0.0.1:3000/manifest ios 1.0.0 [CERT.pem [KEYID]]
//! ```
//!
//! Prints every finding and exits non-zero when one is an error.
//!
//! Run by hand on 2026-11-23 against the official Node reference server
//! (expo/custom-expo-updates-server at `feb29fc`, `next start` on loopback)
//! serving the committed `test-fixtures/sample-export` with its own test key
//! and the certificate of its client app: the signed multipart manifest and
//! all three assets check out with no error. What it reports about that
//! server: `launchAsset.fileExtension` is sent (clients ignore it), asset URLs
//! are cleartext HTTP (Android release builds refuse them), and assets carry
//! no long `cache-control`.
#![allow(clippy::print_stdout, reason = "a command-line example")]

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;

use bytes::Bytes;
use expo_codesign::Verifier;
use expo_updates::client::{
    ManifestQuery, Severity, asset_request, check_asset_response, check_manifest_response,
};

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, platform, runtime, rest @ ..] = args.as_slice() else {
        return Err("usage: check URL PLATFORM RUNTIME_VERSION [CERT.pem [KEYID]]".into());
    };
    let mut query = ManifestQuery::new(platform.parse()?, runtime.parse()?);
    let verifier = match rest {
        [cert, more @ ..] => {
            let keyid = more.first().map_or("main", String::as_str);
            query.expect_signature = Some(keyid.to_owned());
            Some(Verifier::from_certificate_pem(&std::fs::read_to_string(cert)?)?.with_keyid(keyid))
        }
        [] => None,
    };
    let response = send(&query.to_request(url)?)?;
    println!("GET {url}: {}", response.status());
    let report = check_manifest_response(&query, &response, verifier.as_ref());
    let mut errors = print(&report.findings);
    if let Some(manifest) = report.manifest() {
        for asset in manifest.all_assets() {
            let response = send(&asset_request(asset, report.extensions())?)?;
            println!("GET {}: {}", asset.url, response.status());
            errors += print(&check_asset_response(asset, &response));
        }
    }
    if errors > 0 {
        return Err(format!("{errors} error(s)").into());
    }
    println!("no errors");
    Ok(())
}

fn print(findings: &[expo_updates::client::Finding]) -> usize {
    for finding in findings {
        println!("  {:?}: {}", finding.severity, finding.message);
    }
    findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count()
}

/// One HTTP/1.1 exchange over a fresh connection (`http://` only).
fn send(request: &http::Request<()>) -> Result<http::Response<Bytes>, Error> {
    let uri = request.uri();
    let host = uri.host().ok_or("URL without a host")?;
    let port = uri.port_u16().unwrap_or(80);
    let mut stream = TcpStream::connect((host, port))?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut head = format!(
        "{} {path} HTTP/1.1\r\nhost: {host}:{port}\r\nconnection: close\r\n",
        request.method()
    );
    for (name, value) in request.headers() {
        write!(head, "{name}: {}\r\n", value.to_str()?)?;
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status: u16 = line.split_whitespace().nth(1).ok_or("no status")?.parse()?;
    let mut builder = http::Response::builder().status(status);
    let mut chunked = false;
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').ok_or("bad header line")?;
        chunked |= name.eq_ignore_ascii_case("transfer-encoding")
            && value.trim().eq_ignore_ascii_case("chunked");
        builder = builder.header(name.trim(), value.trim());
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)?;
            if size == 0 {
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            reader.read_line(&mut line)?;
        }
    } else {
        reader.read_to_end(&mut body)?;
    }
    Ok(builder.body(Bytes::from(body))?)
}
