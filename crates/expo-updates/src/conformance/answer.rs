//! A manifest answer as the suite reads it: its structure, what it carries, and the raw
//! material (framing, part headers, signature) the checks look at.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::{HeaderMap, Response};
use serde_json::Value;

use super::multipart::{self, RawMultipart};

/// How the answer is structured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Structure {
    /// 204.
    NoContent,
    /// `application/json` or `application/expo+json`.
    Json,
    /// `multipart/mixed`.
    Multipart,
    /// Any other status, or a 200 of another content type.
    Other,
}

/// An asset as a manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AssetRef {
    /// `key`.
    pub key: String,
    /// `url`.
    pub url: String,
    /// `hash` (base64url SHA-256).
    pub hash: String,
    /// `contentType`.
    pub content_type: String,
    /// Whether it is the launch asset.
    pub launch: bool,
    /// Hash of the identity bytes its URL answered, when fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served: Option<String>,
    /// `assetRequestHeaders` of the extensions for this key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub request_headers: BTreeMap<String, String>,
}

/// A manifest or directive body with its signature header as sent.
#[derive(Debug, Clone)]
pub(crate) struct Signed {
    pub(crate) body: Vec<u8>,
    /// The header name as spelled by the server, and its value.
    pub(crate) signature: Option<(String, String)>,
}

/// What the answer means.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    NoUpdate,
    Update {
        id: String,
        assets: Vec<AssetRef>,
        /// What is wrong with the manifest.
        problems: Vec<String>,
        signed: Signed,
        /// The manifest's `metadata` members.
        metadata: serde_json::Map<String, Value>,
        /// The `extensions` part, when one was sent and is JSON.
        extensions: Option<Value>,
    },
    Directive {
        kind: String,
        signed: Signed,
    },
    /// Not an answer a client can use; why.
    Unusable(String),
}

/// One manifest answer.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) structure: Structure,
    pub(crate) kind: Kind,
    pub(crate) multipart: Option<RawMultipart>,
    pub(crate) raw: Bytes,
}

impl Answer {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn update_id(&self) -> Option<&str> {
        match &self.kind {
            Kind::Update { id, .. } => Some(id),
            _ => None,
        }
    }

    pub(crate) fn is_no_update(&self) -> bool {
        match &self.kind {
            Kind::NoUpdate => true,
            Kind::Directive { kind, .. } => kind == "noUpdateAvailable",
            _ => false,
        }
    }

    /// A short description for messages.
    pub(crate) fn describe(&self) -> String {
        match &self.kind {
            Kind::NoUpdate => format!("{} with no update", self.status),
            Kind::Update { id, .. } => format!("{} with update {id}", self.status),
            Kind::Directive { kind, .. } => format!("{} with a {kind} directive", self.status),
            Kind::Unusable(why) => format!("{} ({why})", self.status),
        }
    }
}

fn media_type(headers: &HeaderMap) -> (String, String) {
    let full = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let media = full
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    (media, full)
}

/// Reads an answer to a manifest request for `runtime_version`.
pub(crate) fn read(response: &Response<Bytes>, runtime_version: &str) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let raw = response.body().clone();
    let (media, full) = media_type(&headers);
    let mut answer = Answer {
        status,
        headers,
        structure: Structure::Other,
        kind: Kind::Unusable(format!("status {status}")),
        multipart: None,
        raw,
    };
    if status == 204 {
        answer.structure = Structure::NoContent;
        answer.kind = Kind::NoUpdate;
        return answer;
    }
    if status != 200 {
        return answer;
    }
    match media.as_str() {
        "application/json" | "application/expo+json" => {
            answer.structure = Structure::Json;
            let signature = answer
                .header("expo-signature")
                .map(|v| ("expo-signature".to_owned(), v.to_owned()));
            answer.kind = read_manifest(
                Signed {
                    body: answer.raw.to_vec(),
                    signature,
                },
                runtime_version,
                &BTreeMap::new(),
            );
        }
        "multipart/mixed" => {
            answer.structure = Structure::Multipart;
            if answer.raw.is_empty() {
                answer.kind = Kind::NoUpdate;
                return answer;
            }
            match multipart::parse(&full, &answer.raw) {
                Ok(parsed) => {
                    answer.kind = read_parts(&parsed, runtime_version);
                    answer.multipart = Some(parsed);
                }
                Err(e) => {
                    answer.kind = Kind::Unusable(format!("the multipart body cannot be read: {e}"));
                }
            }
        }
        other => answer.kind = Kind::Unusable(format!("content-type {other:?}")),
    }
    answer
}

fn read_parts(parsed: &RawMultipart, runtime_version: &str) -> Kind {
    let named = |name: &str| {
        parsed
            .parts
            .iter()
            .find(|p| p.name().as_deref() == Some(name))
    };
    let signed = |part: &multipart::RawPart| Signed {
        body: part.body.clone(),
        signature: part
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("expo-signature"))
            .cloned(),
    };
    let extensions = named("extensions").map(|p| serde_json::from_slice::<Value>(&p.body));
    let request_headers = extensions
        .as_ref()
        .and_then(|v| v.as_ref().ok())
        .map(asset_request_headers)
        .unwrap_or_default();
    match (named("manifest"), named("directive")) {
        (Some(_), Some(_)) => Kind::Unusable("both a manifest and a directive part".to_owned()),
        (Some(part), None) => {
            let mut kind = read_manifest(signed(part), runtime_version, &request_headers);
            let content_type = part.value("content-type").unwrap_or("");
            if let Kind::Update {
                problems,
                extensions: kept,
                ..
            } = &mut kind
            {
                if !content_type
                    .to_ascii_lowercase()
                    .starts_with("application/json")
                {
                    problems.push(format!(
                        "the manifest part has content-type {content_type:?}, must be application/json"
                    ));
                }
                match extensions {
                    Some(Ok(value)) => *kept = Some(value),
                    Some(Err(e)) => problems.push(format!("the extensions part is not JSON: {e}")),
                    None => {}
                }
            }
            kind
        }
        (None, Some(part)) => match serde_json::from_slice::<Value>(&part.body) {
            Ok(value) => Kind::Directive {
                kind: value["type"].as_str().unwrap_or("").to_owned(),
                signed: signed(part),
            },
            Err(e) => Kind::Unusable(format!("the directive is not JSON: {e}")),
        },
        (None, None) => Kind::NoUpdate,
    }
}

fn asset_request_headers(extensions: &Value) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    if let Some(map) = extensions["assetRequestHeaders"].as_object() {
        for (key, headers) in map {
            let headers = headers
                .as_object()
                .map(|h| {
                    h.iter()
                        .filter_map(|(n, v)| Some((n.clone(), v.as_str()?.to_owned())))
                        .collect()
                })
                .unwrap_or_default();
            out.insert(key.clone(), headers);
        }
    }
    out
}

fn read_manifest(
    signed: Signed,
    runtime_version: &str,
    request_headers: &BTreeMap<String, BTreeMap<String, String>>,
) -> Kind {
    let value: Value = match serde_json::from_slice(&signed.body) {
        Ok(value) => value,
        Err(e) => return Kind::Unusable(format!("the manifest is not JSON: {e}")),
    };
    let mut problems = Vec::new();
    let text = |v: &Value, field: &str, problems: &mut Vec<String>, at: &str| {
        let s = v[field].as_str().map(str::to_owned);
        if s.is_none() {
            problems.push(format!("{at}{field} is missing or not a string"));
        }
        s.unwrap_or_default()
    };
    let id = text(&value, "id", &mut problems, "");
    if !is_uuid(&id) {
        problems.push(format!("id {id:?} is not a UUID"));
    }
    text(&value, "createdAt", &mut problems, "");
    let runtime = text(&value, "runtimeVersion", &mut problems, "");
    if runtime != runtime_version {
        problems.push(format!(
            "runtimeVersion is {runtime:?}, the request asked for {runtime_version:?}"
        ));
    }
    for field in ["metadata", "extra"] {
        if !value[field].is_object() {
            problems.push(format!("{field} is missing or not an object"));
        }
    }
    let mut assets = Vec::new();
    let mut asset = |v: &Value, launch: bool, problems: &mut Vec<String>| {
        let at = if launch { "launchAsset." } else { "assets[]." };
        let key = text(v, "key", problems, at);
        let url = text(v, "url", problems, at);
        let hash = text(v, "hash", problems, at);
        let content_type = text(v, "contentType", problems, at);
        if !url.starts_with("http://") && !url.starts_with("https://") {
            problems.push(format!("{at}url {url:?} is not an absolute http(s) URL"));
        }
        assets.push(AssetRef {
            request_headers: request_headers.get(&key).cloned().unwrap_or_default(),
            key,
            url,
            hash,
            content_type,
            launch,
            served: None,
        });
    };
    if value["launchAsset"].is_object() {
        asset(&value["launchAsset"], true, &mut problems);
    } else {
        problems.push("launchAsset is missing".to_owned());
    }
    match value["assets"].as_array() {
        Some(list) => {
            for v in list {
                asset(v, false, &mut problems);
            }
        }
        None => problems.push("assets is missing or not an array".to_owned()),
    }
    Kind::Update {
        id,
        assets,
        problems,
        signed,
        metadata: value["metadata"].as_object().cloned().unwrap_or_default(),
        extensions: None,
    }
}

fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}
