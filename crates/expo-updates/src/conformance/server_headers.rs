//! What a server tells the client beyond the manifest: `expo-manifest-filters`,
//! `expo-server-defined-headers` and the `assetRequestHeaders` of the extensions. Each is
//! optional; when sent, it is held to what the clients do with it.

use expo_sfv::{ManifestFilters, ServerDefinedHeaders};
use http::{HeaderName, HeaderValue};
use serde_json::Value;

use super::answer::{Answer, Kind};
use crate::headers::names;

/// The outcome of one of these checks on one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Not sent: nothing to judge.
    NotSent(&'static str),
    Pass(String),
    Fail(String),
}

/// `expo-manifest-filters`: an Expo SFV dictionary, which the served manifest's `metadata`
/// passes as the clients judge it (they refuse a manifest failing its own filters).
pub(crate) fn manifest_filters(answer: &Answer) -> Verdict {
    let Some(value) = answer.headers.get(names::EXPO_MANIFEST_FILTERS) else {
        return Verdict::NotSent("no expo-manifest-filters header");
    };
    let filters = match ManifestFilters::try_from(value) {
        Ok(filters) => filters,
        Err(e) => {
            return Verdict::Fail(format!(
                "expo-manifest-filters is not an Expo SFV dictionary: {e}"
            ));
        }
    };
    let Kind::Update { metadata, .. } = &answer.kind else {
        return Verdict::Pass(format!("expo-manifest-filters: {filters}"));
    };
    let mut strings = Vec::with_capacity(metadata.len());
    for (key, value) in metadata {
        match value.as_str() {
            Some(text) => strings.push((key.as_str(), text)),
            None => {
                return Verdict::Fail(format!(
                    "metadata member {key:?} is not a string, so no filter can match it"
                ));
            }
        }
    }
    match filters.mismatch(strings) {
        None => Verdict::Pass(format!(
            "expo-manifest-filters: {filters}, which the manifest metadata passes"
        )),
        Some(key) => Verdict::Fail(format!(
            "the manifest metadata fails its own filter {key:?} (expo-manifest-filters: {filters}, metadata: {}): clients refuse such a manifest",
            Value::Object(metadata.clone())
        )),
    }
}

/// `expo-server-defined-headers`: an Expo SFV dictionary that names no header the client
/// sets itself ([`ServerDefinedHeaders::RESERVED`]).
pub(crate) fn server_defined_headers(answer: &Answer) -> Verdict {
    let Some(value) = answer.headers.get(names::EXPO_SERVER_DEFINED_HEADERS) else {
        return Verdict::NotSent("no expo-server-defined-headers header");
    };
    match ServerDefinedHeaders::try_from(value) {
        Err(e) => Verdict::Fail(format!(
            "expo-server-defined-headers is not an Expo SFV dictionary: {e}"
        )),
        Ok(headers) => match headers.reserved_key() {
            Some(key) => Verdict::Fail(format!(
                "expo-server-defined-headers defines {key:?}, a request header the client sets itself"
            )),
            None => Verdict::Pass(format!("expo-server-defined-headers: {headers}")),
        },
    }
}

/// `assetRequestHeaders`: an object whose keys are asset keys of the manifest, each an
/// object of header names to string values that can be sent as they are.
pub(crate) fn asset_request_headers(answer: &Answer) -> Verdict {
    let Kind::Update {
        assets, extensions, ..
    } = &answer.kind
    else {
        return Verdict::NotSent("no manifest");
    };
    let Some(headers) = extensions
        .as_ref()
        .map(|e| &e["assetRequestHeaders"])
        .filter(|h| !h.is_null())
    else {
        return Verdict::NotSent("no assetRequestHeaders in an extensions part");
    };
    let Some(per_key) = headers.as_object() else {
        return Verdict::Fail("assetRequestHeaders is not an object".to_owned());
    };
    let mut problems = Vec::new();
    let mut sent = 0;
    for (key, headers) in per_key {
        if !assets.iter().any(|a| a.key == *key) {
            problems.push(format!(
                "{key:?} is not the key of an asset of the manifest"
            ));
        }
        let Some(headers) = headers.as_object() else {
            problems.push(format!("assetRequestHeaders[{key:?}] is not an object"));
            continue;
        };
        for (name, value) in headers {
            sent += 1;
            if HeaderName::from_bytes(name.as_bytes()).is_err() {
                problems.push(format!("{key:?}: {name:?} is not a header name"));
            }
            match value.as_str() {
                Some(text) if HeaderValue::from_str(text).is_ok() => {}
                Some(_) => problems.push(format!("{key:?}: {name} is not a header value")),
                None => problems.push(format!("{key:?}: {name} is not a string")),
            }
        }
    }
    if problems.is_empty() {
        Verdict::Pass(format!(
            "{sent} headers for {} of {} assets",
            per_key.len(),
            assets.len()
        ))
    } else {
        Verdict::Fail(problems.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use bytes::Bytes;
    use http::Response;

    use super::*;
    use crate::conformance::answer;

    const B: &str = "b0undary";

    /// A multipart answer with this manifest `metadata`, `extensions` part (when given) and
    /// response headers.
    fn answer_with(metadata: &str, extensions: Option<&str>, headers: &[(&str, &str)]) -> Answer {
        let manifest = format!(
            r#"{{"id":"0754dad0-d200-4634-813c-ef1f26106028","createdAt":"2026-01-31T12:34:56.789Z",
            "runtimeVersion":"1","launchAsset":{{"hash":"h","key":"bundle","contentType":"application/javascript",
            "url":"https://u.test/a"}},"assets":[{{"hash":"i","key":"image","contentType":"image/png",
            "url":"https://u.test/b"}}],"metadata":{metadata},"extra":{{}}}}"#
        );
        let mut body = format!(
            "--{B}\r\ncontent-type: application/json\r\ncontent-disposition: form-data; name=\"manifest\"\r\n\r\n{manifest}"
        );
        if let Some(extensions) = extensions {
            write!(
                body,
                "\r\n--{B}\r\ncontent-type: application/json\r\ncontent-disposition: form-data; name=\"extensions\"\r\n\r\n{extensions}"
            )
            .unwrap();
        }
        write!(body, "\r\n--{B}--\r\n").unwrap();
        let mut builder = Response::builder()
            .status(200)
            .header("content-type", format!("multipart/mixed; boundary={B}"));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        answer::read(&builder.body(Bytes::from(body)).unwrap(), "1")
    }

    fn failed(verdict: Verdict) -> String {
        match verdict {
            Verdict::Fail(message) => message,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn filters_are_judged_against_the_metadata_as_clients_do() {
        let filters = [("expo-manifest-filters", r#"branchname="main""#)];
        let ok = answer_with(r#"{"branchName":"main","x":"y"}"#, None, &filters);
        assert!(matches!(manifest_filters(&ok), Verdict::Pass(_)));
        let absent = answer_with("{}", None, &filters);
        assert!(matches!(manifest_filters(&absent), Verdict::Pass(_)));
        let other = answer_with(r#"{"BRANCHNAME":"other"}"#, None, &filters);
        assert!(failed(manifest_filters(&other)).contains("branchname"));
        let number = answer_with(r#"{"branchName":1}"#, None, &filters);
        assert!(failed(manifest_filters(&number)).contains("not a string"));
        let bad = answer_with("{}", None, &[("expo-manifest-filters", "branchname=main")]);
        assert!(failed(manifest_filters(&bad)).contains("Expo SFV"));
        assert!(matches!(
            manifest_filters(&answer_with("{}", None, &[])),
            Verdict::NotSent(_)
        ));
    }

    #[test]
    fn server_defined_headers_name_no_reserved_header() {
        let sent = |value| answer_with("{}", None, &[("expo-server-defined-headers", value)]);
        assert!(matches!(
            server_defined_headers(&sent(r#"x-a="1", x-b=2"#)),
            Verdict::Pass(_)
        ));
        assert!(
            failed(server_defined_headers(&sent(
                r#"x-a="1", eas-client-id="x""#
            )))
            .contains("eas-client-id")
        );
        assert!(failed(server_defined_headers(&sent("x-a=(1)"))).contains("Expo SFV"));
    }

    #[test]
    fn asset_request_headers_are_for_the_manifests_keys_and_sendable() {
        let with = |extensions| asset_request_headers(&answer_with("{}", Some(extensions), &[]));
        assert!(matches!(
            with(r#"{"assetRequestHeaders":{"bundle":{"x-t":"1"},"image":{}}}"#),
            Verdict::Pass(_)
        ));
        assert!(matches!(with("{}"), Verdict::NotSent(_)));
        assert!(failed(with(r#"{"assetRequestHeaders":{"nope":{"x-t":"1"}}}"#)).contains("nope"));
        assert!(
            failed(with(r#"{"assetRequestHeaders":{"bundle":{"x t":"1"}}}"#))
                .contains("not a header name")
        );
        assert!(
            failed(with(r#"{"assetRequestHeaders":{"bundle":{"x-t":1}}}"#))
                .contains("not a string")
        );
        assert!(
            failed(with(r#"{"assetRequestHeaders":{"bundle":{"x-t":"a\nb"}}}"#))
                .contains("not a header value")
        );
        assert!(
            failed(with(r#"{"assetRequestHeaders":{"bundle":"x"}}"#)).contains("not an object")
        );
        assert!(failed(with(r#"{"assetRequestHeaders":[]}"#)).contains("not an object"));
    }
}
