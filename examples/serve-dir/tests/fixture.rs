//! The real `expo export` fixtures served from disk by the example binary: every asset of
//! every platform, downloaded in each encoding, hashes to what its manifest says.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use base64::Engine as _;
use sha2::Digest as _;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../test-fixtures")
        .join(name)
}

/// Copies `from` into `to`; with `precompress`, writes `<file>.br` and `<file>.gz`
/// beside every file, as `brotli -k` and `gzip -k` would.
fn copy(from: &Path, to: &Path, precompress: bool) {
    std::fs::create_dir_all(to).unwrap();
    let entries: Vec<_> = std::fs::read_dir(from)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for entry in entries {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy(&entry.path(), &target, precompress);
            continue;
        }
        let bytes = std::fs::read(entry.path()).unwrap();
        std::fs::write(&target, &bytes).unwrap();
        if precompress {
            let mut br = Vec::new();
            // Fast settings: what is checked is serving, not compression ratios.
            let params = brotli::enc::BrotliEncoderParams {
                quality: 4,
                ..Default::default()
            };
            brotli::BrotliCompress(&mut &bytes[..], &mut br, &params).unwrap();
            std::fs::write(format!("{}.br", target.display()), br).unwrap();
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&bytes).unwrap();
            std::fs::write(format!("{}.gz", target.display()), gz.finish().unwrap()).unwrap();
        }
    }
}

/// The example, serving `dir` on a free port; killed on drop.
struct Example(Child, String);

impl Example {
    fn start(dir: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_serve-dir"))
            .arg(dir)
            .arg("127.0.0.1:0")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines.next().expect("the example exited").unwrap();
            if let Some(base) = line.strip_prefix("listening on ") {
                break base.to_owned();
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        Example(child, base)
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn decode(encoding: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        None => out.extend_from_slice(body),
        Some("br") => {
            brotli::Decompressor::new(body, 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        Some("gzip") => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .unwrap();
        }
        Some(other) => panic!("content-encoding {other}"),
    }
    out
}

fn base64url_sha256(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(bytes))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_asset_of_the_fixtures_in_every_encoding() {
    let dir = std::env::temp_dir().join(format!("serve-dir-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // 1.0.0: the sample export with precompressed siblings and its app config;
    // 2.0.0: the second sample as `expo export` wrote it (identity only).
    copy(&fixture("sample-export/dist"), &dir.join("1.0.0"), true);
    std::fs::copy(
        fixture("sample-export/app-config.json"),
        dir.join("1.0.0/app-config.json"),
    )
    .unwrap();
    copy(&fixture("sample-export-v2/dist"), &dir.join("2.0.0"), false);
    let example = Example::start(&dir);
    let http = reqwest::Client::new();

    let mut downloads = 0;
    // Content shared by both exports is served from the copy with siblings.
    let mut with_siblings = std::collections::HashSet::new();
    for (runtime, precompressed) in [("1.0.0", true), ("2.0.0", false)] {
        for platform in ["ios", "android"] {
            let manifest = http
                .get(format!("{}/manifest", example.1))
                .header("expo-protocol-version", "1")
                .header("expo-platform", platform)
                .header("expo-runtime-version", runtime)
                .header("accept", "application/expo+json")
                .send()
                .await
                .unwrap();
            assert_eq!(manifest.status(), 200, "{runtime} {platform}");
            let manifest: serde_json::Value =
                serde_json::from_slice(&manifest.bytes().await.unwrap()).unwrap();
            assert_eq!(
                manifest["extra"]["expoClient"].is_object(),
                precompressed,
                "the app config travels as extra.expoClient"
            );
            let images = manifest["assets"].as_array().unwrap();
            assert!(!images.is_empty(), "{runtime} {platform}: no assets");
            let assets = std::iter::once(&manifest["launchAsset"]).chain(images);
            for asset in assets {
                let url = asset["url"].as_str().unwrap();
                let hash = asset["hash"].as_str().unwrap();
                if precompressed {
                    with_siblings.insert(hash.to_owned());
                }
                for accept in [None, Some("br"), Some("gzip"), Some("identity")] {
                    let mut request = http.get(url);
                    if let Some(accept) = accept {
                        request = request.header("accept-encoding", accept);
                    }
                    let response = request.send().await.unwrap();
                    assert_eq!(response.status(), 200, "{url} {accept:?}");
                    assert_eq!(
                        response.headers()["content-type"],
                        asset["contentType"].as_str().unwrap()
                    );
                    let encoding = response
                        .headers()
                        .get("content-encoding")
                        .map(|v| v.to_str().unwrap().to_owned());
                    let expected = match accept {
                        Some(coding @ ("br" | "gzip")) if with_siblings.contains(hash) => {
                            Some(coding)
                        }
                        _ => None,
                    };
                    assert_eq!(encoding.as_deref(), expected, "{url} {accept:?}");
                    let body = response.bytes().await.unwrap();
                    let decoded = decode(encoding.as_deref(), &body);
                    assert_eq!(base64url_sha256(&decoded), hash, "{url} {accept:?}");
                    downloads += 1;

                    // The second half of the same representation, as a resumed download asks.
                    let half = body.len() / 2;
                    let mut request = http.get(url).header("range", format!("bytes={half}-"));
                    if let Some(accept) = accept {
                        request = request.header("accept-encoding", accept);
                    }
                    let rest = request.send().await.unwrap();
                    assert_eq!(rest.status(), 206, "{url} {accept:?}");
                    assert_eq!(rest.bytes().await.unwrap(), body.slice(half..));
                }
            }
        }
    }
    // Two runtimes, two platforms, a bundle and at least one image each, four encodings.
    assert!(downloads >= 2 * 2 * 2 * 4, "{downloads}");
    let unknown = http
        .get(format!(
            "{}/assets/{}",
            example.1,
            base64url_sha256(b"nothing")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    drop(example);
    std::fs::remove_dir_all(&dir).unwrap();
}
