//! The manifest model: spec examples, round trips, malformed input.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

use std::collections::BTreeMap;

use expo_manifest::{
    Asset, AssetHash, Directive, Error, Extensions, Manifest, Platform, RuntimeVersion, Timestamp,
    UpdateId,
};
use proptest::prelude::*;

/// A manifest shaped like the spec's TypeScript definition, with an unknown
/// field a newer server might add.
const SPEC_MANIFEST: &str = r#"{
  "id": "0754dad0-d200-d634-113c-ef1f26106028",
  "createdAt": "2020-11-11T00:00:00.000Z",
  "runtimeVersion": "1",
  "launchAsset": {
    "hash": "LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ",
    "key": "bundle",
    "contentType": "application/javascript",
    "url": "https://example.com/bundle.js"
  },
  "assets": [{
    "hash": "LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ",
    "key": "image",
    "contentType": "image/jpeg",
    "fileExtension": ".jpeg",
    "url": "https://example.com/image.jpeg"
  }],
  "metadata": {"branchName": "main"},
  "extra": {"eas": {"projectId": "00000000-0000-0000-0000-000000000000"}},
  "someFutureField": [1, 2, 3]
}"#;

#[test]
fn reads_the_spec_shape_and_ignores_unknown_fields() {
    let m = Manifest::from_json_slice(SPEC_MANIFEST.as_bytes()).unwrap();
    assert_eq!(m.id.to_string(), "0754dad0-d200-d634-113c-ef1f26106028");
    assert_eq!(m.created_at.to_string(), "2020-11-11T00:00:00.000Z");
    assert_eq!(m.launch_asset.file_extension, None);
    assert_eq!(m.assets[0].file_extension.as_deref(), Some(".jpeg"));
    assert_eq!(
        m.extra["eas"]["projectId"],
        "00000000-0000-0000-0000-000000000000"
    );
    let json = String::from_utf8(m.to_json_bytes()).unwrap();
    assert!(!json.contains("someFutureField"));
    assert!(!json.contains(r#""launchAsset":{"hash":"LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ","key":"bundle","contentType":"application/javascript","fileExtension""#));
    assert!(json.starts_with(r#"{"id":"0754dad0-d200-d634-113c-ef1f26106028","createdAt":"2020-11-11T00:00:00.000Z","runtimeVersion":"1","launchAsset":{"#));
}

#[test]
fn malformed_manifests_have_distinct_errors() {
    let with = |from: &str, to: &str| SPEC_MANIFEST.replacen(from, to, 1);
    let message = |json: String| {
        Manifest::from_json_slice(json.as_bytes())
            .unwrap_err()
            .to_string()
    };
    assert!(message(with("0754dad0-d200", "0754dad0_d200")).contains("invalid update id"));
    assert!(
        message(with(
            "LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ",
            "LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="
        ))
        .contains("padded")
    );
    assert!(
        message(with(
            "LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ",
            "LPJNul"
        ))
        .contains("43")
    );
    assert!(message(with("2020-11-11T00:00:00.000Z", "2020-11-11")).contains("invalid timestamp"));
    assert!(message(with(r#""runtimeVersion": "1""#, r#""runtimeVersion": """#)).contains("empty"));
    assert!(matches!(
        Manifest::from_json_slice(&vec![b' '; expo_manifest::MAX_MANIFEST_BYTES + 1]),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn directives_from_the_spec() {
    let rollback =
        r#"{"type":"rollBackToEmbedded","parameters":{"commitTime":"2024-01-31T12:34:56.789Z"}}"#;
    let d = Directive::from_json_slice(rollback.as_bytes()).unwrap();
    assert_eq!(
        d,
        Directive::RollBackToEmbedded {
            commit_time: "2024-01-31T12:34:56.789Z".parse().unwrap()
        }
    );
    assert_eq!(d.to_json_bytes(), rollback.as_bytes());
    assert_eq!(
        Directive::NoUpdateAvailable.to_json_bytes(),
        br#"{"type":"noUpdateAvailable"}"#
    );
    let custom = r#"{"extra":{"x":1},"parameters":{"a":[1]},"type":"custom"}"#;
    let d = Directive::from_json_slice(custom.as_bytes()).unwrap();
    assert_eq!(d.kind(), "custom");
    assert_eq!(d.to_json_bytes(), custom.as_bytes());
    for bad in [
        r#"{"parameters":{}}"#,
        r#"{"type":1}"#,
        r#"{"type":"rollBackToEmbedded"}"#,
        "[]",
    ] {
        assert!(Directive::from_json_slice(bad.as_bytes()).is_err(), "{bad}");
    }
}

#[test]
fn extensions_shape() {
    let mut e = Extensions::default();
    assert!(e.is_empty());
    e.asset_request_headers
        .entry("bundle".into())
        .or_default()
        .insert("authorization".into(), "Bearer x".into());
    assert_eq!(
        e.to_json_bytes(),
        br#"{"assetRequestHeaders":{"bundle":{"authorization":"Bearer x"}}}"#
    );
}

fn asset(launch: bool) -> impl Strategy<Value = Asset> {
    (
        any::<[u8; 32]>(),
        "[a-f0-9]{32}",
        "[a-z]{1,10}/[a-z0-9.+-]{1,15}",
        "[a-z0-9]{1,5}",
        "[ -~]{0,60}",
    )
        .prop_map(move |(hash, key, content_type, ext, url)| Asset {
            hash: AssetHash::from_bytes(hash),
            key,
            content_type,
            file_extension: (!launch).then(|| format!(".{ext}")),
            url,
        })
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    (0i64..=253_402_207_199_999).prop_map(|ms| Timestamp::from_millis(ms).unwrap())
}

prop_compose! {
    fn manifest()(
        id in any::<u128>(),
        created_at in timestamp(),
        runtime in "[ -~]{1,40}",
        launch_asset in asset(true),
        assets in prop::collection::vec(asset(false), 0..5),
        metadata in prop::collection::btree_map("[a-zA-Z]{1,8}", "\\PC{0,20}", 0..4),
        extra in prop::collection::btree_map("[a-zA-Z]{1,8}", "\\PC{0,20}", 0..4),
    ) -> Manifest {
        Manifest {
            id: UpdateId::from_uuid(uuid::Uuid::from_u128(id)),
            created_at,
            runtime_version: RuntimeVersion::new(runtime).unwrap(),
            launch_asset,
            assets,
            metadata,
            extra: extra.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect(),
        }
    }
}

proptest! {
    #[test]
    fn manifests_round_trip_byte_for_byte(m in manifest()) {
        let bytes = m.to_json_bytes();
        let back = Manifest::from_json_slice(&bytes).unwrap();
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(back.to_json_bytes(), bytes);
    }

    #[test]
    fn directives_round_trip(t in timestamp()) {
        let d = Directive::RollBackToEmbedded { commit_time: t };
        prop_assert_eq!(Directive::from_json_slice(&d.to_json_bytes()).unwrap(), d);
    }

    #[test]
    fn typed_values_round_trip(bytes in any::<[u8; 32]>(), id in any::<u128>(), t in timestamp(), rv in "[ -~]{1,255}") {
        let h = AssetHash::from_bytes(bytes);
        prop_assert_eq!(h.to_string().parse::<AssetHash>().unwrap(), h);
        prop_assert_eq!(AssetHash::from_hex(&h.to_hex()), Some(h));
        let u = UpdateId::from_uuid(uuid::Uuid::from_u128(id));
        prop_assert_eq!(u.to_string().to_uppercase().parse::<UpdateId>().unwrap(), u);
        prop_assert_eq!(t.to_string().parse::<Timestamp>().unwrap(), t);
        let r = RuntimeVersion::new(rv.clone()).unwrap();
        prop_assert_eq!(r.to_string(), rv);
        for p in Platform::ALL {
            prop_assert_eq!(p.to_string().parse::<Platform>().unwrap(), p);
        }
    }

    #[test]
    fn parsers_never_panic(s in "\\PC{0,100}", b in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = s.parse::<AssetHash>();
        let _ = s.parse::<UpdateId>();
        let _ = s.parse::<Timestamp>();
        let _ = s.parse::<Platform>();
        let _ = RuntimeVersion::new(s.clone());
        let _ = Manifest::from_json_slice(&b);
        let _ = Directive::from_json_slice(&b);
    }
}

#[test]
fn metadata_is_sorted_for_stable_bytes() {
    let mut m = Manifest::from_json_slice(SPEC_MANIFEST.as_bytes()).unwrap();
    m.metadata = BTreeMap::from([("z".into(), "1".into()), ("a".into(), "2".into())]);
    let json = String::from_utf8(m.to_json_bytes()).unwrap();
    assert!(json.contains(r#""metadata":{"a":"2","z":"1"}"#), "{json}");
}

#[test]
fn fuzz_seeds_are_valid_inputs() {
    let seeds =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/manifest_json");
    let mut read = 0;
    for entry in std::fs::read_dir(seeds).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let manifest = Manifest::from_json_slice(&bytes).map(|m| m.to_json_bytes());
        let directive = Directive::from_json_slice(&bytes).map(|d| d.to_json_bytes());
        assert!(
            manifest.is_ok() || directive.is_ok(),
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        read += 1;
    }
    assert!(read >= 4);
}

/// Found by the `manifest_json` fuzz target: without correctly rounded float
/// parsing, a number read, written and read again came back different.
#[test]
fn numbers_in_free_form_json_round_trip() {
    let input = br#"{"type":"rollBamEkoTcbedded","pErs":{"commmtTime":444444444444444444444444}}"#;
    let d = Directive::from_json_slice(input).unwrap();
    let bytes = d.to_json_bytes();
    let again = Directive::from_json_slice(&bytes).unwrap();
    assert_eq!(again, d);
    assert_eq!(again.to_json_bytes(), bytes);

    let mut m = Manifest::from_json_slice(SPEC_MANIFEST.as_bytes()).unwrap();
    m.extra =
        serde_json::from_str(r#"{"n":444444444444444444444444,"f":0.30000000000000004}"#).unwrap();
    let again = Manifest::from_json_slice(&m.to_json_bytes()).unwrap();
    assert_eq!(again, m);
}

proptest! {
    #[test]
    fn any_finite_number_in_extra_round_trips(x in any::<f64>().prop_filter("finite", |x| x.is_finite()), n in any::<i64>()) {
        let mut m = Manifest::from_json_slice(SPEC_MANIFEST.as_bytes()).unwrap();
        m.extra.insert("x".into(), serde_json::json!(x));
        m.extra.insert("n".into(), serde_json::json!(n));
        let bytes = m.to_json_bytes();
        let again = Manifest::from_json_slice(&bytes).unwrap();
        prop_assert_eq!(&again, &m);
        prop_assert_eq!(again.to_json_bytes(), bytes);
    }
}
