//! Turning an update or a directive into a conformant response: [`Responder`].

use std::sync::Arc;

use bytes::Bytes;
use expo_accept::ResponseFormat;
use expo_codesign::{Certificate, Signer, SignerSet};
use expo_manifest::Directive;
use expo_multipart::{Multipart, Part};
use expo_sfv::{ManifestFilters, ServerDefinedHeaders};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName, InvalidHeaderValue};
use http::{HeaderMap, HeaderValue, Response, StatusCode, request::Parts};

use crate::body::UpdateBody;
use crate::error::ProtocolError;
use crate::headers as h;
use crate::prepared::{PreparedDirective, PreparedUpdate};
use crate::request::UpdateRequest;
use crate::source::{Resolved, UpdateSource};

const JSON: &str = "application/json";
const PEM: &str = "application/x-pem-file";

/// How a server answers manifest requests: signing keys, certificate chain
/// and the SFV headers sent with every answer.
///
/// Build it once at startup and share it (`Responder` is `Send + Sync`).
///
/// Signatures: when a request carries `expo-expect-signature`, the manifest
/// (or directive) is signed by the key whose keyid the client names, when the
/// set holds it, else by the set's default key; the signature always states
/// the keyid used. A request expecting a signature from a server without
/// keys is answered 400 ([`ProtocolError::CodeSigningNotConfigured`]).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use expo_updates::{InMemorySource, Responder};
///
/// let responder = Responder::new();
/// let source = InMemorySource::new();
/// let (parts, ()) = http::Request::get("/manifest")
///     .header("expo-protocol-version", "1")
///     .header("expo-platform", "ios")
///     .header("expo-runtime-version", "1")
///     .body(())?
///     .into_parts();
/// let response = futures_executor_block_on(responder.handle(&source, &parts));
/// assert_eq!(response.status(), 204);
/// assert_eq!(response.headers()["expo-protocol-version"], "1");
/// # fn futures_executor_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Responder {
    signers: Option<SignerSet>,
    certificate_chain: Option<Part>,
    common: Vec<(HeaderName, HeaderValue)>,
    no_update: Arc<PreparedDirective>,
}

impl Default for Responder {
    fn default() -> Self {
        Self::new()
    }
}

impl Responder {
    /// A responder without signing keys or SFV headers.
    pub fn new() -> Self {
        Responder {
            signers: None,
            certificate_chain: None,
            common: vec![
                (
                    HeaderName::from_static(h::names::EXPO_PROTOCOL_VERSION),
                    HeaderValue::from_static("1"),
                ),
                (
                    HeaderName::from_static(h::names::EXPO_SFV_VERSION),
                    HeaderValue::from_static("0"),
                ),
                (
                    CACHE_CONTROL,
                    HeaderValue::from_static("private, max-age=0"),
                ),
            ],
            no_update: Arc::new(PreparedDirective::no_update_available()),
        }
    }

    /// Signs manifests and directives for requests that expect it.
    #[must_use]
    pub fn with_signers(mut self, signers: SignerSet) -> Self {
        self.signers = Some(signers);
        self
    }

    /// Sends this chain (PEM, signing certificate first) as a
    /// `certificate_chain` part with signed multipart answers, for clients
    /// that trust a root above the signing certificate.
    #[must_use]
    pub fn with_certificate_chain(mut self, chain: &[Certificate]) -> Self {
        let pem: String = chain.iter().map(Certificate::to_pem).collect();
        self.certificate_chain =
            (!pem.is_empty()).then(|| Part::form_data("certificate_chain", PEM, Bytes::from(pem)));
        self
    }

    /// Sends `expo-manifest-filters` with every answer (answers serving an update or
    /// directive prepared with its own filters send those instead).
    pub fn with_manifest_filters(
        mut self,
        filters: &ManifestFilters,
    ) -> Result<Self, InvalidHeaderValue> {
        self.set_common(h::names::EXPO_MANIFEST_FILTERS, &filters.to_header_value())?;
        Ok(self)
    }

    /// Sends `expo-server-defined-headers` with every answer ([`ServerDefinedHeaders`]
    /// refuses the headers a client sets itself).
    pub fn with_server_defined_headers(
        mut self,
        headers: &ServerDefinedHeaders,
    ) -> Result<Self, InvalidHeaderValue> {
        self.set_common(
            h::names::EXPO_SERVER_DEFINED_HEADERS,
            &headers.to_header_value(),
        )?;
        Ok(self)
    }

    fn set_common(&mut self, name: &'static str, value: &str) -> Result<(), InvalidHeaderValue> {
        let value = HeaderValue::try_from(value)?;
        let name = HeaderName::from_static(name);
        self.common.retain(|(n, _)| *n != name);
        self.common.push((name, value));
        Ok(())
    }

    /// The `expo-server-defined-headers` value sent with every answer, if any.
    pub fn server_defined_headers(&self) -> Option<&HeaderValue> {
        self.common
            .iter()
            .find(|(name, _)| name == h::names::EXPO_SERVER_DEFINED_HEADERS)
            .map(|(_, value)| value)
    }

    /// The signing keys, if any.
    pub fn signers(&self) -> Option<&SignerSet> {
        self.signers.as_ref()
    }

    /// Reads the request, resolves it with `source` and answers, errors
    /// included: the whole manifest endpoint.
    pub async fn handle<S: UpdateSource + ?Sized>(
        &self,
        source: &S,
        parts: &Parts,
    ) -> Response<UpdateBody> {
        let request = match UpdateRequest::from_parts(parts) {
            Ok(request) => request,
            Err(err) => return self.error_response(&err),
        };
        // Refuse before touching storage what could never be answered.
        if let Err(err) = self.signer_for(&request) {
            return self.error_response(&err);
        }
        let resolved = match source.resolve(&request).await {
            Ok(resolved) => resolved,
            Err(err) => return self.error_response(&ProtocolError::Source(err)),
        };
        self.respond(&request, resolved)
            .unwrap_or_else(|err| self.error_response(&err))
    }

    /// The answer to `request` when storage resolved it to `resolved`.
    ///
    /// - nothing: 204 without body or content type;
    /// - an update the client already runs (multipart, protocol 1):
    ///   `noUpdateAvailable`; JSON and protocol 0 clients get the manifest;
    /// - an update: the manifest (and extensions) in the negotiated structure;
    /// - `rollBackToEmbedded`: the directive, or `noUpdateAvailable` once the
    ///   device runs its embedded update (204 for clients that cannot take
    ///   directives); other directives as they are;
    /// - a directive to a JSON or protocol 0 client: 406.
    ///
    /// The manifest filters of the resolved update or directive
    /// ([`PreparedUpdate::with_manifest_filters`]) go with every answer but errors,
    /// replacing the responder's own ([`with_manifest_filters`](Self::with_manifest_filters)).
    pub fn respond(
        &self,
        request: &UpdateRequest,
        resolved: Option<Resolved>,
    ) -> Result<Response<UpdateBody>, ProtocolError> {
        let filters = match &resolved {
            Some(Resolved::Update(update)) => update.manifest_filters().cloned(),
            Some(Resolved::Directive(directive)) => directive.manifest_filters().cloned(),
            None => None,
        };
        let mut response = self.respond_unfiltered(request, resolved)?;
        if let Some(filters) = filters {
            response
                .headers_mut()
                .insert(h::EXPO_MANIFEST_FILTERS, filters);
        }
        Ok(response)
    }

    fn respond_unfiltered(
        &self,
        request: &UpdateRequest,
        resolved: Option<Resolved>,
    ) -> Result<Response<UpdateBody>, ProtocolError> {
        let signer = self.signer_for(request)?;
        let directives = request.format() == ResponseFormat::MultipartMixed
            && request.protocol_version().supports_directives();
        match resolved {
            None => Ok(self.no_content()),
            Some(Resolved::Update(update)) => {
                if directives && request.current_update_id() == Some(update.id()) {
                    return self.directive(&self.no_update, signer);
                }
                self.manifest(request.format(), &update, signer)
            }
            Some(Resolved::Directive(directive)) => {
                let directive = match directive.directive() {
                    Directive::RollBackToEmbedded { .. } if request.runs_embedded_update() => {
                        &self.no_update
                    }
                    _ => &directive,
                };
                if directives {
                    self.directive(directive, signer)
                } else if matches!(directive.directive(), Directive::NoUpdateAvailable) {
                    Ok(self.no_content())
                } else {
                    Err(ProtocolError::DirectiveNotAcceptable {
                        kind: directive.directive().kind().to_owned(),
                    })
                }
            }
        }
    }

    /// The signer for a request: `None` when it expects no signature.
    fn signer_for(&self, request: &UpdateRequest) -> Result<Option<&Signer>, ProtocolError> {
        let Some(expect) = request.expect_signature() else {
            return Ok(None);
        };
        let signers = self
            .signers
            .as_ref()
            .ok_or(ProtocolError::CodeSigningNotConfigured)?;
        Ok(Some(
            signers
                .get(expect.keyid.as_deref())
                .unwrap_or_else(|| signers.default_signer()),
        ))
    }

    /// 204: no update, no directive; the common headers only.
    pub fn no_content(&self) -> Response<UpdateBody> {
        self.response(StatusCode::NO_CONTENT, UpdateBody::empty())
    }

    /// The JSON error answer for `error`, with the common headers.
    pub fn error_response(&self, error: &ProtocolError) -> Response<UpdateBody> {
        let mut response = self.response(error.status(), UpdateBody::full(error.to_json_bytes()));
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
        if let Some((name, value)) = error.extra_header() {
            headers.insert(name, value);
        }
        response
    }

    fn response(&self, status: StatusCode, body: UpdateBody) -> Response<UpdateBody> {
        let mut response = Response::new(body);
        *response.status_mut() = status;
        self.common_headers(response.headers_mut());
        response
    }

    /// Adds the headers every manifest answer carries.
    pub fn common_headers(&self, headers: &mut HeaderMap) {
        for (name, value) in &self.common {
            headers.insert(name.clone(), value.clone());
        }
    }

    fn manifest(
        &self,
        format: ResponseFormat,
        update: &PreparedUpdate,
        signer: Option<&Signer>,
    ) -> Result<Response<UpdateBody>, ProtocolError> {
        if format.is_json() {
            let signature = signer.map(|s| update.signature(s)).transpose()?;
            let mut response = self.response(
                StatusCode::OK,
                UpdateBody::full(update.manifest_json().clone()),
            );
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(format.as_str()));
            if let Some(signature) = signature {
                headers.insert(h::EXPO_SIGNATURE, signature);
            }
            return Ok(response);
        }
        let mut parts = Vec::with_capacity(3);
        parts.push(match signer {
            Some(signer) => update.signed_manifest_part(signer)?,
            None => update.manifest_part().clone(),
        });
        if let Some(extensions) = update.extensions_part() {
            parts.push(extensions.clone());
        }
        self.push_chain(&mut parts, signer.is_some());
        Ok(self.multipart(parts))
    }

    fn directive(
        &self,
        directive: &PreparedDirective,
        signer: Option<&Signer>,
    ) -> Result<Response<UpdateBody>, ProtocolError> {
        let part = match signer {
            Some(signer) => directive.signed_part(signer)?,
            None => directive.part().clone(),
        };
        let mut parts = vec![part];
        self.push_chain(&mut parts, signer.is_some());
        Ok(self.multipart(parts))
    }

    fn push_chain(&self, parts: &mut Vec<Part>, signed: bool) {
        if signed && let Some(chain) = &self.certificate_chain {
            parts.push(chain.clone());
        }
    }

    fn multipart(&self, parts: Vec<Part>) -> Response<UpdateBody> {
        let multipart = Multipart::new(parts);
        let content_type = multipart.content_type();
        let mut response =
            self.response(StatusCode::OK, UpdateBody::multipart(multipart.into_body()));
        response.headers_mut().insert(CONTENT_TYPE, content_type);
        response
    }
}
