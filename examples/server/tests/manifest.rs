//! The protocol endpoint of the real server on loopback: every response structure, with and
//! without signatures, every asset in every encoding, directives, channels, rollback.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]
#![allow(
    clippy::too_many_lines,
    reason = "a scenario reads best as one function"
)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Server, bin, decode, run_ok, sample_export};
use expo_codesign::Verifier;
use expo_manifest::{AssetHash, Directive, Manifest};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

const EXPECT: &str = r#"sig, keyid="main", alg="rsa-v1_5-sha256""#;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/expo-codesign/tests/fixtures")
}

fn verifier() -> Verifier {
    let pem = std::fs::read_to_string(fixtures().join("expo-certificate.pem")).unwrap();
    Verifier::from_certificate_pem(&pem)
        .unwrap()
        .with_keyid("main")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .no_gzip()
        .no_brotli()
        .build()
        .unwrap()
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

async fn ask(server: &Server, platform: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = client()
        .get(server.url("/manifest"))
        .header("expo-protocol-version", "1")
        .header("expo-platform", platform)
        .header("expo-runtime-version", "1.0.0");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    Answer {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.bytes().await.unwrap().to_vec(),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

fn assert_common_headers(answer: &Answer) {
    assert_eq!(header(&answer.headers, "expo-protocol-version"), Some("1"));
    assert_eq!(header(&answer.headers, "expo-sfv-version"), Some("0"));
    assert_eq!(
        header(&answer.headers, "cache-control"),
        Some("private, max-age=0")
    );
}

/// The parts of a multipart answer: (name, signature header, body).
fn parts(answer: &Answer) -> Vec<(String, Option<String>, Vec<u8>)> {
    let content_type = header(&answer.headers, "content-type").unwrap();
    assert!(
        content_type.starts_with("multipart/mixed; boundary="),
        "{content_type}"
    );
    assert!(
        answer.body.ends_with(b"--\r\n"),
        "final CRLF after the close delimiter"
    );
    expo_multipart::decode(
        content_type,
        &answer.body,
        &expo_multipart::Limits::default(),
    )
    .unwrap()
    .into_iter()
    .map(|part| {
        let signature = part
            .headers()
            .iter()
            .find(|(name, _)| name.as_str() == "expo-signature")
            .map(|(_, value)| value.to_str().unwrap().to_owned());
        (
            part.name().unwrap().to_owned(),
            signature,
            part.body().to_vec(),
        )
    })
    .collect()
}

/// Downloads every asset of `manifest` in every encoding and checks its hash.
async fn check_assets(manifest: &Manifest) {
    for asset in manifest.all_assets() {
        for encoding in ["br", "gzip", "identity"] {
            let response = client()
                .get(&asset.url)
                .header("accept-encoding", encoding)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{}", asset.url);
            assert_eq!(
                response.headers()["content-type"].to_str().unwrap(),
                asset.content_type
            );
            assert_eq!(
                response.headers()["cache-control"].to_str().unwrap(),
                "public, max-age=31536000, immutable"
            );
            let coding = response
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap().to_owned());
            let bytes = decode(coding.as_deref(), &response.bytes().await.unwrap());
            assert_eq!(
                AssetHash::of(&bytes),
                asset.hash,
                "{} as {encoding}",
                asset.url
            );
        }
    }
}

fn publish(data: &Path, args: &[&str]) {
    run_ok(
        bin(data)
            .arg("publish")
            .arg(sample_export())
            .args(["--runtime-version", "1.0.0", "--brotli-quality", "4"])
            .args(args),
    );
}

/// The first part's body: what changes when the served update changes (the boundary may
/// differ between any two answers).
fn first_part(answer: &Answer) -> Vec<u8> {
    parts(answer).swap_remove(0).2
}

/// Waits until the server serves something other than `old` (it polls the store).
async fn wait_for_change(server: &Server, old: &Answer) -> Answer {
    let old = first_part(old);
    for _ in 0..60 {
        let answer = ask(
            server,
            "ios",
            &[
                ("accept", "multipart/mixed"),
                ("expo-expect-signature", EXPECT),
            ],
        )
        .await;
        if first_part(&answer) != old {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server never noticed the change");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_structure_signed_and_unsigned_with_every_asset() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    publish(&data, &[]);
    let key = fixtures().join("expo-private-key.pem");
    let cert = fixtures().join("expo-certificate.pem");
    let server = Server::start(
        &data,
        &[
            "--sample=false",
            "--signing-key",
            &format!("main={}", key.display()),
            "--signing-cert",
            &format!("main={}", cert.display()),
        ],
    );
    let verifier = verifier();

    for platform in ["ios", "android"] {
        // multipart, signed and not
        for signed in [true, false] {
            let mut headers = vec![(
                "accept",
                "multipart/mixed,application/expo+json,application/json",
            )];
            if signed {
                headers.push(("expo-expect-signature", EXPECT));
            }
            let answer = ask(&server, platform, &headers).await;
            assert_eq!(answer.status, StatusCode::OK);
            assert_common_headers(&answer);
            let parts = parts(&answer);
            let (name, signature, body) = &parts[0];
            assert_eq!(name, "manifest");
            assert_eq!(signature.is_some(), signed);
            if let Some(signature) = signature {
                verifier.verify(signature, body).unwrap();
                assert!(signature.contains(r#"keyid="main""#));
            }
            let manifest = Manifest::from_json_slice(body).unwrap();
            assert_eq!(manifest.runtime_version.as_str(), "1.0.0");
            assert!(
                manifest.extra["expoClient"]["slug"] == "sample-app",
                "extra.expoClient carries the app config"
            );
            assert!(manifest.launch_asset.file_extension.is_none());
            assert_eq!(manifest.assets.len(), 2);
            if signed {
                check_assets(&manifest).await;
            }
        }
        // JSON, both media types, signature in the response header
        for accept in ["application/expo+json", "application/json"] {
            for signed in [true, false] {
                let mut headers = vec![("accept", accept)];
                if signed {
                    headers.push(("expo-expect-signature", EXPECT));
                }
                let answer = ask(&server, platform, &headers).await;
                assert_eq!(answer.status, StatusCode::OK);
                assert_common_headers(&answer);
                assert_eq!(header(&answer.headers, "content-type"), Some(accept));
                let signature = header(&answer.headers, "expo-signature");
                assert_eq!(signature.is_some(), signed);
                if let Some(signature) = signature {
                    verifier.verify(signature, &answer.body).unwrap();
                }
                Manifest::from_json_slice(&answer.body).unwrap();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn directives_channels_rollback_and_republish() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    publish(&data, &["--channel", "production"]);
    let key = fixtures().join("expo-private-key.pem");
    let server = Server::start(
        &data,
        &[
            "--sample=false",
            "--default-channel",
            "production",
            "--signing-key",
            &format!("main={}", key.display()),
        ],
    );
    let multipart = [
        ("accept", "multipart/mixed"),
        ("expo-expect-signature", EXPECT),
    ];
    let verifier = verifier();

    let first = ask(&server, "ios", &multipart).await;
    let manifest = Manifest::from_json_slice(&parts(&first)[0].2).unwrap();
    let id = manifest.id.to_string();

    // The device already runs it: a signed noUpdateAvailable directive.
    let mut headers = multipart.to_vec();
    headers.push(("expo-current-update-id", &id));
    let answer = ask(&server, "ios", &headers).await;
    let parts_now = parts(&answer);
    assert_eq!(parts_now.len(), 1);
    let (name, signature, body) = &parts_now[0];
    assert_eq!(name, "directive");
    verifier
        .verify(signature.as_deref().unwrap(), body)
        .unwrap();
    assert_eq!(
        Directive::from_json_slice(body).unwrap(),
        Directive::NoUpdateAvailable
    );

    // Channels: explicit header, unknown channel, the default.
    let mut headers = multipart.to_vec();
    headers.push(("expo-channel-name", "staging"));
    assert_eq!(
        ask(&server, "ios", &headers).await.status,
        StatusCode::NO_CONTENT
    );
    headers.pop();
    headers.push(("expo-channel-name", "production"));
    assert_eq!(
        first_part(&ask(&server, "ios", &headers).await),
        first_part(&first)
    );
    // Another runtime version has nothing.
    let other = client()
        .get(server.url("/manifest"))
        .header("expo-platform", "ios")
        .header("expo-runtime-version", "2.0.0")
        .header("accept", "multipart/mixed")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NO_CONTENT);
    assert!(other.headers().get("content-type").is_none());

    // Republish: a new id with a strictly newer createdAt.
    run_ok(bin(&data).args(["republish", &id]));
    let answer = wait_for_change(&server, &first).await;
    let again = Manifest::from_json_slice(&parts(&answer)[0].2).unwrap();
    assert_ne!(again.id, manifest.id);
    assert!(again.created_at > manifest.created_at);
    assert_eq!(again.launch_asset.hash, manifest.launch_asset.hash);

    // Roll back to the embedded update.
    run_ok(bin(&data).args([
        "rollback",
        "--embedded",
        "--runtime-version",
        "1.0.0",
        "--channel",
        "production",
    ]));
    let rollback = wait_for_change(&server, &answer).await;
    let parts_now = parts(&rollback);
    let (name, signature, body) = &parts_now[0];
    assert_eq!(name, "directive");
    verifier
        .verify(signature.as_deref().unwrap(), body)
        .unwrap();
    let Directive::RollBackToEmbedded { commit_time } = Directive::from_json_slice(body).unwrap()
    else {
        panic!("expected rollBackToEmbedded");
    };
    assert!(commit_time > again.created_at);

    // A JSON-only client cannot take a directive: 406 with a JSON error.
    let answer = ask(&server, "ios", &[("accept", "application/expo+json")]).await;
    assert_eq!(answer.status, StatusCode::NOT_ACCEPTABLE);
    assert!(serde_json::from_slice::<serde_json::Value>(&answer.body).is_ok());

    // Once the device runs its embedded update, no more rollback directives.
    let embedded = "00000000-0000-4000-8000-000000000001";
    let mut headers = multipart.to_vec();
    headers.push(("expo-current-update-id", embedded));
    headers.push(("expo-embedded-update-id", embedded));
    let answer = ask(&server, "ios", &headers).await;
    let (name, _, body) = &parts(&answer)[0];
    assert_eq!(name, "directive");
    assert_eq!(
        Directive::from_json_slice(body).unwrap(),
        Directive::NoUpdateAvailable
    );

    // Roll back to the previous update: the manifest comes back with a fresh id.
    run_ok(bin(&data).args([
        "rollback",
        "--runtime-version",
        "1.0.0",
        "--channel",
        "production",
        "--platform",
        "ios",
    ]));
    let answer = wait_for_change(&server, &rollback).await;
    let (name, _, body) = &parts(&answer)[0];
    assert_eq!(name, "manifest");
    let back = Manifest::from_json_slice(body).unwrap();
    assert!(back.created_at > commit_time);
    assert_eq!(back.launch_asset.hash, manifest.launch_asset.hash);
}

#[tokio::test(flavor = "multi_thread")]
async fn partial_rollouts_follow_the_install_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    publish(&data, &["--platform", "ios"]);
    let server = Server::start(&data, &["--sample=false"]);
    let json = [("accept", "application/expo+json")];
    let first = Manifest::from_json_slice(&ask(&server, "ios", &json).await.body).unwrap();

    run_ok(
        bin(&data)
            .arg("publish")
            .arg(common::sample_export().join("../../sample-export-v2/dist"))
            .args([
                "--runtime-version",
                "1.0.0",
                "--brotli-quality",
                "4",
                "--platform",
                "ios",
            ])
            .args(["--rollout", "30"]),
    );
    // The server notices within a second; until then everyone gets the first update.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let mut newer = 0;
    for i in 0..300 {
        let client_id = format!("{:08X}-0000-4000-8000-{i:012X}", i * 7919);
        let mut headers = json.to_vec();
        headers.push(("eas-client-id", &client_id));
        let answer = Manifest::from_json_slice(&ask(&server, "ios", &headers).await.body).unwrap();
        if answer.id != first.id {
            newer += 1;
            // Stable per install, whatever the case of its id.
            let lower = client_id.to_lowercase();
            let mut again = json.to_vec();
            again.push(("eas-client-id", &lower));
            let repeat =
                Manifest::from_json_slice(&ask(&server, "ios", &again).await.body).unwrap();
            assert_eq!(repeat.id, answer.id);
        }
    }
    assert!(
        (45..=135).contains(&newer),
        "{newer} of 300 installs in a 30% rollout"
    );
    // Without an install id, the fully rolled-out update.
    let anonymous = Manifest::from_json_slice(&ask(&server, "ios", &json).await.body).unwrap();
    assert_eq!(anonymous.id, first.id);
}
