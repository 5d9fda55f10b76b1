//! Properties over generated input: requests never panic and fail only with
//! client errors; asset answers always agree with their own headers.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

use bytes::Bytes;
use expo_updates::{ContentCoding, InMemoryAsset, UpdateRequest};
use proptest::prelude::*;

const NAMES: &[&str] = &[
    "expo-protocol-version",
    "expo-platform",
    "expo-runtime-version",
    "accept",
    "expo-expect-signature",
    "expo-channel-name",
    "expo-current-update-id",
    "expo-embedded-update-id",
    "expo-recent-failed-update-ids",
    "expo-fatal-error",
    "expo-extra-params",
    "eas-client-id",
    "a-im",
    "expo-requested-update-id",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("1".to_owned()),
        Just("ios".to_owned()),
        Just("android".to_owned()),
        Just("multipart/mixed;q=0.5, application/json".to_owned()),
        Just("sig, keyid=\"main\"".to_owned()),
        Just("0754dad0-d200-d634-113c-ef1f26106028".to_owned()),
        Just("\"a\", \"b\"".to_owned()),
        "[ -~]{0,80}",
    ]
}

proptest! {
    #[test]
    fn requests_are_accepted_or_refused_with_a_client_error(
        method in prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("HEAD")],
        headers in proptest::collection::vec((0..NAMES.len(), value()), 0..12),
    ) {
        let mut builder = http::Request::builder().method(method).uri("/manifest");
        for (name, value) in &headers {
            builder = builder.header(NAMES[*name], value.as_str());
        }
        let (parts, ()) = builder.body(()).unwrap().into_parts();
        match UpdateRequest::from_parts(&parts) {
            Ok(request) => {
                prop_assert!(matches!(method, "GET" | "POST"));
                if let Some(id) = request.client_id() {
                    prop_assert_eq!(id.to_ascii_lowercase(), id);
                }
            }
            Err(err) => {
                prop_assert!(err.status().is_client_error());
                let body: serde_json::Value = serde_json::from_slice(&err.to_json_bytes()).unwrap();
                prop_assert!(body["error"]["code"].is_string());
            }
        }
    }

    #[test]
    fn asset_answers_agree_with_their_headers(
        bytes in proptest::collection::vec(any::<u8>(), 0..64),
        range in prop_oneof![
            Just(None),
            (0u64..80, 0u64..80).prop_map(|(a, b)| Some(format!("bytes={a}-{b}"))),
            (0u64..80).prop_map(|a| Some(format!("bytes={a}-"))),
            (0u64..80).prop_map(|n| Some(format!("bytes=-{n}"))),
            "[ -~]{0,20}".prop_map(Some),
        ],
        encoding in prop_oneof![Just("br"), Just("gzip"), Just("identity"), Just("*;q=0")],
        head in any::<bool>(),
    ) {
        let bytes = Bytes::from(bytes);
        let asset = InMemoryAsset::new("application/octet-stream", bytes.clone())
            .unwrap()
            .with_variant(ContentCoding::Gzip, bytes.slice(..bytes.len() / 2));
        let mut builder = http::Request::builder()
            .method(if head { "HEAD" } else { "GET" })
            .uri("/a")
            .header("accept-encoding", encoding);
        if let Some(range) = &range {
            builder = builder.header("range", range.as_str());
        }
        let (parts, ()) = builder.body(()).unwrap().into_parts();
        let response = asset.respond(&parts);
        let status = response.status().as_u16();
        prop_assert!(matches!(status, 200 | 206 | 406 | 416), "{}", status);
        if matches!(status, 200 | 206) {
            let len: usize = response.headers()["content-length"].to_str().unwrap().parse().unwrap();
            prop_assert_eq!(response.body().len(), if head { 0 } else { len });
            let full = match response.headers().get("content-encoding") {
                Some(v) if v == "gzip" => bytes.slice(..bytes.len() / 2),
                Some(_) => unreachable!(),
                None => bytes.clone(),
            };
            if status == 206 {
                let range = response.headers()["content-range"].to_str().unwrap().to_owned();
                let (span, total) = range.strip_prefix("bytes ").unwrap().split_once('/').unwrap();
                let (first, last) = span.split_once('-').unwrap();
                let (first, last): (usize, usize) = (first.parse().unwrap(), last.parse().unwrap());
                prop_assert_eq!(total.parse::<usize>().unwrap(), full.len());
                prop_assert_eq!(last - first + 1, len);
                prop_assert_eq!(response.body(), &full.slice(first..=last));
            } else if !head {
                prop_assert_eq!(response.body(), &full);
            }
        }
    }
}
