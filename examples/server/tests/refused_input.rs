//! Every value the store refuses, sent where a client can send it (manifest headers, admin
//! paths, query parameters and bodies), is answered 4xx in the one error shape
//! (`expo_updates::ErrorBody`) naming the header, parameter or field at fault: never a 500.
#![allow(clippy::unwrap_used, reason = "tests may unwrap")]

mod common;

use std::time::Duration;

use common::Server;
use expo_updates::{ErrorBody, ErrorTarget};
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const TOKEN: &str = "0123456789abcdef-test-token";
/// The runtime version of the bundled sample update.
const SAMPLE_RUNTIME: &str = "0.0.0-sample";
/// A hash (base64url) no blob has: well formed, so only the field under test is wrong.
const SOME_HASH: &str = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Reads an error answer: a 4xx, `application/json`, the one shape, blaming `target`.
async fn assert_refused(what: &str, response: reqwest::Response, target: &ErrorTarget) {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.bytes().await.unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(status.is_client_error(), "{what}: {status} {text}");
    assert_eq!(content_type.as_deref(), Some("application/json"), "{what}");
    let body = ErrorBody::from_json_slice(&bytes).unwrap_or_else(|e| panic!("{what}: {e}: {text}"));
    assert_eq!(body.target(), Some(target), "{what}: {text}");
    assert!(!body.message().is_empty(), "{what}");
}

/// Values no name or id may hold: a tab, a byte that is not UTF-8, nothing, too much.
fn refused_values(max_len: usize) -> Vec<(String, HeaderValue)> {
    vec![
        ("a tab".into(), HeaderValue::from_static("a\tb")),
        (
            "a byte that is not UTF-8".into(),
            HeaderValue::from_bytes(b"a\xffb").unwrap(),
        ),
        (
            "a UTF-8 letter".into(),
            HeaderValue::from_bytes("caf\u{e9}".as_bytes()).unwrap(),
        ),
        ("nothing".into(), HeaderValue::from_static("")),
        ("blanks only".into(), HeaderValue::from_static("   ")),
        (
            format!("{} bytes", max_len + 1),
            HeaderValue::from_str(&"x".repeat(max_len + 1)).unwrap(),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_manifest_headers_are_a_4xx_naming_the_header() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &["--admin-token", TOKEN]);
    let http = client();
    let manifest = |name: &HeaderName, value: &HeaderValue| {
        let mut request = http
            .get(server.url("/manifest"))
            .header("accept", "application/expo+json")
            .header("expo-protocol-version", "1");
        for (base, base_value) in [
            ("expo-platform", "ios"),
            ("expo-runtime-version", SAMPLE_RUNTIME),
        ] {
            if name.as_str() != base {
                request = request.header(base, base_value);
            }
        }
        request.header(name.clone(), value.clone())
    };

    // The request is answered when nothing is wrong: the cases below fail on their header.
    let ok = manifest(
        &HeaderName::from_static("expo-channel-name"),
        &HeaderValue::from_static("default"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);

    let uuid_len = 36;
    let headers: [(&str, usize, &[&str]); 7] = [
        ("expo-channel-name", 255, &[]),
        ("expo-runtime-version", 255, &[]),
        ("expo-platform", 16, &["web", "IOS"]),
        (
            "expo-current-update-id",
            uuid_len,
            &["not-an-id", "12345", "0754dad0d200d634113cef1f26106028x"],
        ),
        ("expo-embedded-update-id", uuid_len, &["not-an-id"]),
        ("expo-requested-update-id", uuid_len, &["not-an-id"]),
        ("eas-client-id", 128, &[]),
    ];
    let mut cases = 0;
    for (name, max_len, wrong) in headers {
        let header = HeaderName::from_static(name);
        let mut values = refused_values(max_len);
        values.extend(
            wrong
                .iter()
                .map(|w| (format!("{w:?}"), HeaderValue::from_static(w))),
        );
        for (what, value) in values {
            let response = manifest(&header, &value).send().await.unwrap();
            let target = ErrorTarget::Header(name.into());
            assert_refused(&format!("{name}: {what}"), response, &target).await;
            cases += 1;
        }
    }
    assert!(cases >= 45, "{cases} cases");
}

/// One refused request: what it is, the request, what the answer must blame.
type Case = (String, reqwest::RequestBuilder, ErrorTarget);

/// Requests with the admin token.
struct Admin<'a> {
    http: &'a reqwest::Client,
    server: &'a Server,
}

impl Admin<'_> {
    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.server.url(path))
            .bearer_auth(TOKEN)
    }
}

fn parameter(name: &'static str) -> ErrorTarget {
    ErrorTarget::Parameter(name.into())
}

fn field(name: &'static str) -> ErrorTarget {
    ErrorTarget::Field(name.into())
}

const TAB: &str = "a\tb";

fn long() -> String {
    "x".repeat(256)
}

/// Refused update ids and hashes in paths, refused query parameters.
fn url_cases(admin: &Admin<'_>, id: &str) -> Vec<Case> {
    let long = long();
    let http = admin.http;
    let server = admin.server;
    let mut cases: Vec<Case> = Vec::new();
    // Update ids and hashes in paths.
    for bad in ["not-an-id", "12345", "%09", &long] {
        for path in [
            format!("/admin/updates/{bad}"),
            format!("/admin/updates/{bad}/sourcemaps"),
        ] {
            cases.push((
                path.clone(),
                admin.request(Method::GET, &path),
                parameter("id"),
            ));
        }
        for path in [
            format!("/admin/updates/{bad}/republish"),
            format!("/admin/updates/{bad}/rollout"),
        ] {
            let request = admin
                .request(Method::POST, &path)
                .json(&json!({"percent": 10}));
            cases.push((path, request, parameter("id")));
        }
    }
    for bad in ["%09", "zz", &long] {
        let path = format!("/assets/{bad}");
        cases.push((path.clone(), http.get(server.url(&path)), parameter("hash")));
        let path = format!("/admin/updates/{id}/sourcemaps/{bad}");
        cases.push((
            path.clone(),
            admin.request(Method::GET, &path),
            parameter("hash"),
        ));
        let path = format!("/admin/blobs/{bad}");
        let request = admin.request(Method::PUT, &path).body("bytes");
        cases.push((path, request, parameter("hash")));
    }
    // Query parameters of the listing.
    for (query, name) in [
        ("channel=a%09b", "channel"),
        ("channel=", "channel"),
        (&*format!("channel={long}"), "channel"),
        ("runtime_version=a%09b", "runtime_version"),
        ("runtime_version=caf%C3%A9", "runtime_version"),
        ("platform=web", "platform"),
        ("limit=0", "limit"),
        ("limit=5000", "limit"),
        ("app=other", "app"),
    ] {
        let path = format!("/admin/updates?{query}");
        cases.push((
            path.clone(),
            admin.request(Method::GET, &path),
            parameter(name),
        ));
    }
    cases
}

/// Refused members of JSON bodies.
#[allow(clippy::too_many_lines, reason = "a table of cases")]
fn body_cases(admin: &Admin<'_>, id: &str) -> Vec<Case> {
    let long = long();
    let tab = TAB;
    let mut cases: Vec<Case> = Vec::new();
    let bodies = [
        (
            "/admin/rollback",
            json!({"runtime_version": tab}),
            "runtime_version",
        ),
        (
            "/admin/rollback",
            json!({"runtime_version": ""}),
            "runtime_version",
        ),
        (
            "/admin/rollback",
            json!({"runtime_version": long}),
            "runtime_version",
        ),
        (
            "/admin/rollback",
            json!({"runtime_version": SAMPLE_RUNTIME, "channel": tab}),
            "channel",
        ),
        (
            "/admin/rollback",
            json!({"runtime_version": SAMPLE_RUNTIME, "platform": "web"}),
            "platform",
        ),
        (
            "/admin/rollback",
            json!({"runtime_version": SAMPLE_RUNTIME, "app": "other"}),
            "app",
        ),
        (
            "/admin/rollback",
            json!({"channel": "beta"}),
            "runtime_version",
        ),
        (
            &*format!("/admin/updates/{id}/republish"),
            json!({"channel": tab}),
            "channel",
        ),
        (
            &*format!("/admin/updates/{id}/republish"),
            json!({"channel": ""}),
            "channel",
        ),
        (
            &*format!("/admin/updates/{id}/rollout"),
            json!({"percent": 101}),
            "percent",
        ),
        (
            "/admin/blobs/missing",
            json!({"hashes": ["zz"]}),
            "hashes[0]",
        ),
        // Refused by the parser: the member is named all the same.
        ("/admin/rollback", json!({"to": "not-an-id"}), "to"),
        (
            &*format!("/admin/updates/{id}/rollout"),
            json!({"percent": -1}),
            "percent",
        ),
        (
            "/admin/publish",
            json!({"updates": [{"platform": "web", "runtime_version": "1",
                "launch_asset": {"hash": SOME_HASH, "key": "k", "content_type": "a/b"}}]}),
            "updates[0].platform",
        ),
        // PostgreSQL refuses NUL in text: every backend refuses it at the door.
        (
            "/admin/rollback",
            json!({"to": id, "message": "a\u{0}b"}),
            "message",
        ),
        (
            &*format!("/admin/updates/{id}/republish"),
            json!({"message": "a\u{0}b"}),
            "message",
        ),
        (
            &*format!("/admin/updates/{id}/rollout"),
            json!({"revert": true, "message": "a\u{0}b"}),
            "message",
        ),
        (
            &*format!("/admin/updates/{id}/republish"),
            json!({"message": "m".repeat(5000)}),
            "message",
        ),
    ];
    for (path, body, name) in bodies {
        let request = admin.request(Method::POST, path).json(&body);
        cases.push((format!("{path} {body}"), request, field(name)));
    }
    let asset = json!({"hash": SOME_HASH, "key": "k", "content_type": "application/javascript"});
    let publish = |channel: &str, runtime: &str| {
        json!({
            "channel": channel,
            "dry_run": true,
            "updates": [{"platform": "ios", "runtime_version": runtime, "launch_asset": asset}],
        })
    };
    let mut nul_message = publish("beta", "1");
    nul_message["message"] = json!("a\u{0}b");
    let mut tab_key = publish("beta", "1");
    tab_key["updates"][0]["assets"] = json!([{
        "hash": SOME_HASH, "key": tab, "content_type": "image/png", "file_extension": ".png"
    }]);
    let mut bad_type = publish("beta", "1");
    bad_type["updates"][0]["launch_asset"]["content_type"] = json!("text/\u{0}");
    for (body, name) in [
        (publish(tab, "1"), "channel"),
        (publish(&long, "1"), "channel"),
        (publish("beta", tab), "updates[0].runtime_version"),
        (publish("beta", ""), "updates[0].runtime_version"),
        (nul_message, "message"),
        (tab_key, "updates[0].assets[0].key"),
        (bad_type, "updates[0].launch_asset.content_type"),
    ] {
        let request = admin.request(Method::POST, "/admin/publish").json(&body);
        cases.push((format!("publish {body}"), request, field(name)));
    }
    let import = |app: &str, channel: &str, runtime: &str| {
        json!({
            "source_id": uuid::Uuid::new_v4(),
            "app": app,
            "channel": channel,
            "runtime_version": runtime,
            "platform": "android",
            "kind": "update",
            "launch_asset": asset,
        })
    };
    let mut import_message = import("default", "beta", "1");
    import_message["message"] = json!("a\u{0}b");
    let mut import_extension = import("default", "beta", "1");
    import_extension["assets"] = json!([{
        "hash": SOME_HASH, "key": "k", "content_type": "image/png", "file_extension": "\u{7}"
    }]);
    for (body, name) in [
        (import_message, "message"),
        (import_extension, "assets[0].file_extension"),
        (import(tab, "beta", "1"), "app"),
        (import("default", tab, "1"), "channel"),
        (import("default", "beta", &long), "runtime_version"),
    ] {
        let request = admin.request(Method::POST, "/admin/import").json(&body);
        cases.push((format!("import {body}"), request, field(name)));
    }

    cases
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_admin_input_is_a_4xx_naming_the_parameter_or_field() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &["--admin-token", TOKEN]);
    let http = client();
    let list: Value = server.admin_json("/admin/updates", TOKEN).await;
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let admin = Admin {
        http: &http,
        server: &server,
    };
    let mut cases = url_cases(&admin, &id);
    cases.extend(body_cases(&admin, &id));
    assert!(cases.len() >= 60, "{} cases", cases.len());
    for (what, request, target) in cases {
        let response = request.send().await.unwrap();
        assert_refused(&what, response, &target).await;
    }

    // Nothing was created by any of them.
    let after: Value = server.admin_json("/admin/updates", TOKEN).await;
    assert_eq!(after, list);
}

/// Refused names (path segments, body members) and values (percent, query parameters) of
/// the branch and channel routes.
#[allow(clippy::too_many_lines, reason = "a table of cases")]
fn branch_cases(admin: &Admin<'_>) -> Vec<Case> {
    let long = long();
    let mut cases: Vec<Case> = Vec::new();
    for bad in ["a%09b", "caf%C3%A9", &*long] {
        for (method, path, body) in [
            (
                Method::PATCH,
                format!("/admin/branches/{bad}"),
                json!({"name": "new"}),
            ),
            (
                Method::DELETE,
                format!("/admin/branches/{bad}"),
                Value::Null,
            ),
            (
                Method::PUT,
                format!("/admin/channels/{bad}"),
                json!({"branch": "default"}),
            ),
            (
                Method::PUT,
                format!("/admin/channels/{bad}/split"),
                json!({"branch": "default", "percent": 10}),
            ),
            (
                Method::DELETE,
                format!("/admin/channels/{bad}/split?keep=main"),
                Value::Null,
            ),
        ] {
            let mut request = admin.request(method.clone(), &path);
            if !body.is_null() {
                request = request.json(&body);
            }
            cases.push((format!("{method} {path}"), request, parameter("name")));
        }
    }
    for bad in [TAB, "", "caf\u{e9}", "a/b", &*long, "a\u{0}b"] {
        for (method, path, body, member) in [
            (
                Method::POST,
                "/admin/branches",
                json!({"name": bad}),
                "name",
            ),
            (
                Method::PATCH,
                "/admin/branches/default",
                json!({"name": bad}),
                "name",
            ),
            (
                Method::PUT,
                "/admin/channels/default",
                json!({"branch": bad}),
                "branch",
            ),
            (
                Method::PUT,
                "/admin/channels/default/split",
                json!({"branch": bad, "percent": 10}),
                "branch",
            ),
            (
                Method::POST,
                "/admin/rollback",
                json!({"branch": bad, "runtime_version": SAMPLE_RUNTIME}),
                "branch",
            ),
        ] {
            // A branch published before the rule against '/' can still be rolled back.
            if bad == "a/b" && path == "/admin/rollback" {
                continue;
            }
            let request = admin.request(method.clone(), path).json(&body);
            cases.push((format!("{method} {path} {body}"), request, field(member)));
        }
    }
    for percent in [json!(101), json!(-1), json!("50"), json!(1.5), Value::Null] {
        let body = json!({"branch": "other", "percent": percent});
        let request = admin
            .request(Method::PUT, "/admin/channels/default/split")
            .json(&body);
        cases.push((format!("split {body}"), request, field("percent")));
    }
    for query in ["keep=both", "keep=", "keep=main&keep=split", "force=1"] {
        let path = format!("/admin/channels/default/split?{query}");
        let name = if query.starts_with("force") {
            "force"
        } else {
            "keep"
        };
        cases.push((
            path.clone(),
            admin.request(Method::DELETE, &path),
            parameter(name),
        ));
    }
    for query in ["force=maybe", "force="] {
        let path = format!("/admin/branches/default?{query}");
        cases.push((
            path.clone(),
            admin.request(Method::DELETE, &path),
            parameter("force"),
        ));
    }
    cases
}

/// Every name the branch and channel routes read (path segment, body member, query
/// parameter), refused with a 4xx naming it; nothing changes.
#[tokio::test(flavor = "multi_thread")]
async fn refused_branch_and_channel_input_is_a_4xx_naming_it() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &["--admin-token", TOKEN]);
    let http = client();
    let admin = Admin {
        http: &http,
        server: &server,
    };
    let branches: Value = server.admin_json("/admin/branches", TOKEN).await;
    let channels: Value = server.admin_json("/admin/channels", TOKEN).await;
    let cases = branch_cases(&admin);
    for (what, request, target) in cases {
        let response = request.send().await.unwrap();
        assert_refused(&what, response, &target).await;
    }
    let after: Value = server.admin_json("/admin/branches", TOKEN).await;
    assert_eq!(after, branches);
    let after: Value = server.admin_json("/admin/channels", TOKEN).await;
    assert_eq!(after, channels);
}
