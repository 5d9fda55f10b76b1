//! Manifest answers built once and shared: the status, headers and body the protocol
//! layer renders for one kind of request, kept beside the prepared update they render.
//!
//! What [`Responder::respond`] answers depends on the request only through a few choices:
//! the negotiated format, whether the protocol version takes directives, whether the
//! client already runs the served update or its embedded one, and which key signs. Those
//! choices make the `AnswerKey`; the first request of each kind renders the answer and
//! every later one clones it (a header map and a shared body: no serializing, no
//! multipart framing). Errors are never kept: they are rendered each time.
//!
//! A kept multipart answer keeps its boundary: like the per-thread boundary the protocol
//! layer uses, it is random, was checked against the parts it frames, and is not a secret.

use std::sync::{PoisonError, RwLock};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use bytes::Bytes;
use expo_updates::{ProtocolError, Resolved, Responder, ResponseFormat, UpdateRequest};

/// The answers kept for one prepared update, directive or "nothing to serve".
#[derive(Debug)]
pub struct Answers {
    resolved: Option<Resolved>,
    /// One per kind of request seen (a bounded set: see [`AnswerKey`]).
    kept: RwLock<Vec<(AnswerKey<Box<str>>, Answer)>>,
}

/// What selects an answer: every input of [`Responder::respond`] but the resolved update.
/// Bounded: three formats, three flags, the responder's keys (or none) and the server-defined
/// headers of the responders that render it (the app's, a channel's). `K` is the keyid:
/// borrowed from the responder to look up, owned once kept.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AnswerKey<K> {
    format: ResponseFormat,
    directives: bool,
    /// The client runs the served update.
    current: bool,
    /// The client runs the update embedded in its binary.
    embedded: bool,
    /// The keyid of the key that signs; `None`: unsigned.
    signer: Option<K>,
    /// The responder's `expo-server-defined-headers` (a channel's may differ from the app's).
    defined: Option<K>,
}

impl<K: AsRef<str>> AnswerKey<K> {
    fn is<L: AsRef<str>>(&self, other: &AnswerKey<L>) -> bool {
        self.format == other.format
            && self.directives == other.directives
            && self.current == other.current
            && self.embedded == other.embedded
            && self.signer.as_ref().map(AsRef::as_ref) == other.signer.as_ref().map(AsRef::as_ref)
            && self.defined.as_ref().map(AsRef::as_ref) == other.defined.as_ref().map(AsRef::as_ref)
    }
}

impl AnswerKey<&str> {
    fn to_owned_key(&self) -> AnswerKey<Box<str>> {
        AnswerKey {
            format: self.format,
            directives: self.directives,
            current: self.current,
            embedded: self.embedded,
            signer: self.signer.map(Box::from),
            defined: self.defined.map(Box::from),
        }
    }
}

/// A rendered answer.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn response(&self) -> Response<Body> {
        let mut response = Response::new(Body::from(self.body.clone()));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        response
    }
}

impl Answers {
    /// No answer kept yet for `resolved`.
    pub fn new(resolved: Option<Resolved>) -> Self {
        Self {
            resolved,
            kept: RwLock::default(),
        }
    }

    /// What the answers render.
    pub fn resolved(&self) -> &Option<Resolved> {
        &self.resolved
    }

    /// The answer to `request`: the kept one for its kind, else rendered by `responder`
    /// (and kept when it is not an error).
    pub fn answer(
        &self,
        responder: &Responder,
        request: &UpdateRequest,
    ) -> Result<Response<Body>, ProtocolError> {
        let Some(key) = self.key(responder, request) else {
            // Refused (a signature asked of a server without keys): the responder says why.
            return render(responder, request, self.resolved.clone()).map(|a| a.response());
        };
        {
            let kept = self.kept.read().unwrap_or_else(PoisonError::into_inner);
            if let Some((_, answer)) = kept.iter().find(|(k, _)| k.is(&key)) {
                return Ok(answer.response());
            }
        }
        let answer = render(responder, request, self.resolved.clone())?;
        let response = answer.response();
        let mut kept = self.kept.write().unwrap_or_else(PoisonError::into_inner);
        if !kept.iter().any(|(k, _)| k.is(&key)) {
            kept.push((key.to_owned_key(), answer));
        }
        Ok(response)
    }

    /// The kind of `request`; `None` when it expects a signature and there are no keys.
    fn key<'a>(
        &self,
        responder: &'a Responder,
        request: &UpdateRequest,
    ) -> Option<AnswerKey<&'a str>> {
        let signer = match request.expect_signature() {
            None => None,
            // The responder's choice: the key the client names, else the default one.
            Some(expect) => {
                let signers = responder.signers()?;
                let signer = signers
                    .get(expect.keyid.as_deref())
                    .unwrap_or_else(|| signers.default_signer());
                Some(signer.keyid())
            }
        };
        let served = match &self.resolved {
            Some(Resolved::Update(update)) => Some(update.id()),
            _ => None,
        };
        Some(AnswerKey {
            format: request.format(),
            directives: request.protocol_version().supports_directives(),
            current: served.is_some() && request.current_update_id() == served,
            embedded: request.runs_embedded_update(),
            signer,
            // Expo SFV is printable ASCII: `to_str` cannot fail on it.
            defined: responder
                .server_defined_headers()
                .and_then(|value| value.to_str().ok()),
        })
    }
}

fn render(
    responder: &Responder,
    request: &UpdateRequest,
    resolved: Option<Resolved>,
) -> Result<Answer, ProtocolError> {
    let (parts, body) = responder.respond(request, resolved)?.into_parts();
    let body = body.into_bytes();
    let mut headers = parts.headers;
    // The value the router would add to every copy (growing the copied map each time).
    headers
        .entry(header::CONTENT_LENGTH)
        .or_insert_with(|| HeaderValue::from(body.len()));
    Ok(Answer {
        status: parts.status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use expo_codesign::{Signer, SignerSet};
    use expo_updates::{PreparedDirective, PreparedUpdate};

    use super::*;

    const KEY: &str =
        include_str!("../../../../crates/expo-codesign/tests/fixtures/expo-private-key.pem");
    const ID: &str = "0754dad0-d200-d634-113c-ef1f26106028";

    fn responder() -> Responder {
        let (signer, _) = Signer::from_pem("main", KEY, None).unwrap();
        Responder::new().with_signers(SignerSet::new(signer))
    }

    fn update() -> Resolved {
        let json = format!(
            r#"{{"id":"{ID}","createdAt":"2024-01-31T12:34:56.789Z","runtimeVersion":"1",
            "launchAsset":{{"hash":"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU","key":"bundle",
            "contentType":"application/javascript","url":"https://u.example/a"}},
            "assets":[],"metadata":{{}},"extra":{{}}}}"#
        );
        let manifest = expo_manifest::Manifest::from_json_slice(json.as_bytes()).unwrap();
        Resolved::Update(Arc::new(PreparedUpdate::new(&manifest, None)))
    }

    fn request(headers: &[(&str, &str)]) -> UpdateRequest {
        let mut builder = axum::http::Request::get("/manifest")
            .header("expo-platform", "ios")
            .header("expo-runtime-version", "1");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let (parts, ()) = builder.body(()).unwrap().into_parts();
        UpdateRequest::from_parts(&parts).unwrap()
    }

    async fn bytes(response: Response<Body>) -> (StatusCode, HeaderMap, Bytes) {
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        (parts.status, parts.headers, body)
    }

    /// Every kind of request, the ones that differ only in what the answer depends on.
    fn kinds() -> Vec<Vec<(&'static str, &'static str)>> {
        let signed = (
            "expo-expect-signature",
            r#"sig, keyid="main", alg="rsa-v1_5-sha256""#,
        );
        let other_key = (
            "expo-expect-signature",
            r#"sig, keyid="nope", alg="rsa-v1_5-sha256""#,
        );
        let v1 = ("expo-protocol-version", "1");
        let multipart = ("accept", "multipart/mixed");
        let json = ("accept", "application/expo+json");
        let runs = ("expo-current-update-id", ID);
        let embedded = ("expo-embedded-update-id", ID);
        vec![
            vec![v1, multipart, runs],
            vec![v1, multipart],
            vec![v1, multipart, signed],
            vec![v1, multipart, signed, runs],
            vec![v1, multipart, other_key],
            vec![multipart, runs],
            vec![v1, json, runs],
            vec![v1, json, signed],
            vec![v1, ("accept", "application/json")],
            vec![v1, multipart, runs, embedded],
        ]
    }

    #[tokio::test]
    async fn kept_answers_are_the_responders_byte_for_byte_whatever_came_first() {
        let responder = responder();
        for resolved in [
            Some(update()),
            Some(Resolved::Directive(Arc::new(
                PreparedDirective::roll_back_to_embedded(
                    expo_manifest::Timestamp::from_millis(1_700_000_000_000).unwrap(),
                ),
            ))),
            None,
        ] {
            // Forwards and backwards: a kind asked first must not become another's answer.
            for order in [kinds(), kinds().into_iter().rev().collect()] {
                let answers = Answers::new(resolved.clone());
                for _ in 0..2 {
                    for headers in &order {
                        let request = request(headers);
                        let expected = match responder.respond(&request, resolved.clone()) {
                            Ok(response) => {
                                let (status, mut headers, body) =
                                    bytes(response.map(Body::new)).await;
                                // What the router adds to the responder's answer.
                                headers.insert(header::CONTENT_LENGTH, body.len().into());
                                (status, headers, body)
                            }
                            Err(error) => {
                                assert!(answers.answer(&responder, &request).is_err());
                                assert_eq!(error.status(), StatusCode::NOT_ACCEPTABLE);
                                continue;
                            }
                        };
                        let kept = bytes(answers.answer(&responder, &request).unwrap()).await;
                        assert_eq!(kept, expected, "{headers:?}");
                    }
                }
            }
        }
    }

    #[tokio::test]
    async fn responders_with_other_server_defined_headers_never_share_an_answer() {
        let with = |value: &str| {
            let mut defined = expo_sfv::ServerDefinedHeaders::default();
            defined.insert("x-cohort", value).unwrap();
            responder().with_server_defined_headers(&defined).unwrap()
        };
        let (app, beta) = (with("app"), with("beta"));
        let answers = Answers::new(Some(update()));
        let request = request(&[
            ("expo-protocol-version", "1"),
            ("accept", "multipart/mixed"),
        ]);
        for _ in 0..2 {
            for (responder, expected) in [
                (&app, r#"x-cohort="app""#),
                (&beta, r#"x-cohort="beta""#),
                (&Responder::new(), ""),
            ] {
                let (_, headers, _) = bytes(answers.answer(responder, &request).unwrap()).await;
                let sent = headers
                    .get("expo-server-defined-headers")
                    .map_or("", |v| v.to_str().unwrap());
                assert_eq!(sent, expected);
            }
        }
        assert_eq!(answers.kept.read().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn a_signature_asked_of_a_server_without_keys_is_refused_every_time() {
        let answers = Answers::new(Some(update()));
        let request = request(&[("expo-expect-signature", "sig")]);
        for _ in 0..2 {
            let error = answers.answer(&Responder::new(), &request).unwrap_err();
            assert!(matches!(error, ProtocolError::CodeSigningNotConfigured));
        }
        assert!(answers.kept.read().unwrap().is_empty());
    }
}
