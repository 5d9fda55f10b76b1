//! JSON error answers, all of one shape: [`expo_updates::ErrorBody`]
//! (`{"error":{"code","message","header"|"field"|"parameter"}}`, documented in that
//! crate), never a bare status.

use std::borrow::Cow;

use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use expo_updates::{ErrorBody, ErrorCode};

use crate::error::Error;

/// The error codes of this server beyond those of [`ErrorCode`].
pub mod codes {
    use expo_updates::ErrorCode;

    /// 403: the admin API is off (no `--admin-token`).
    pub const ADMIN_DISABLED: ErrorCode = ErrorCode::from_static("admin_disabled");
    /// 403: the request names another app than the one of its URL.
    pub const WRONG_APP: ErrorCode = ErrorCode::from_static("wrong_app");
    /// 400: a name (app, channel, runtime version) breaks
    /// [`expo_updates::check_name`].
    pub const INVALID_NAME: ErrorCode = ErrorCode::from_static("invalid_name");
    /// 409: a publish or import references blobs the server does not hold.
    pub const MISSING_BLOBS: ErrorCode = ErrorCode::from_static("missing_blobs");
    /// 409: a blob was deleted by a concurrent `gc`; upload it again.
    pub const BLOB_REMOVED: ErrorCode = ErrorCode::from_static("blob_removed");
    /// 400: uploaded bytes do not hash to the URL's hash.
    pub const HASH_MISMATCH: ErrorCode = ErrorCode::from_static("hash_mismatch");
    /// 503 (`/health`): the metadata database does not answer.
    pub const DATABASE_UNAVAILABLE: ErrorCode = ErrorCode::from_static("database_unavailable");
    /// 503: the upload memory budget is spent; `retry-after` says when to try again.
    pub const BUSY: ErrorCode = ErrorCode::from_static("busy");
    /// 401: the app's assets need a token (its header is named) and the request has none.
    pub const ASSET_TOKEN_REQUIRED: ErrorCode = ErrorCode::from_static("asset_token_required");
    /// 403: the asset token is malformed, forged, for another asset, or expired.
    pub const ASSET_TOKEN_INVALID: ErrorCode = ErrorCode::from_static("asset_token_invalid");
}

/// An error answered to a client: a status and an [`ErrorBody`].
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    /// An error with a status, a stable code and a message.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody::new(code, message),
        }
    }

    /// 400 `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::BAD_REQUEST, message)
    }

    /// A request body that could not be read or parsed: 413 `too_large` past the route's
    /// body limit, 415 `unsupported_media_type` without a JSON content type, else its 4xx
    /// with `bad_request`.
    pub fn rejected_body(status: StatusCode, message: String) -> Self {
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::TOO_LARGE,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UNSUPPORTED_MEDIA_TYPE,
            _ => ErrorCode::BAD_REQUEST,
        };
        Self::new(status, code, message)
    }

    /// A JSON request body that could not be read or parsed (see
    /// [`rejected_body`](Self::rejected_body)), naming the member at fault when the parser
    /// says which (`updates[0].platform`).
    pub fn json_body(rejection: &JsonRejection) -> Self {
        let answer = Self::rejected_body(rejection.status(), rejection.body_text());
        match json_path(rejection) {
            Some(path) => answer.field(path),
            None => answer,
        }
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NOT_FOUND, message)
    }

    /// Names the request header at fault.
    #[must_use]
    pub fn header(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.body = self.body.with_header(name);
        self
    }

    /// Names the member of the JSON request body at fault (`updates[0].platform`).
    #[must_use]
    pub fn field(mut self, path: impl Into<Cow<'static, str>>) -> Self {
        self.body = self.body.with_field(path);
        self
    }

    /// Names the path segment or query parameter at fault.
    #[must_use]
    pub fn parameter(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.body = self.body.with_parameter(name);
        self
    }

    /// `error` answered as usual, naming the body member `path` when the client's value is
    /// what the error refuses (a 400).
    pub fn in_field(error: Error, path: impl Into<Cow<'static, str>>) -> Self {
        let answer = Self::from(error);
        if answer.status == StatusCode::BAD_REQUEST {
            answer.field(path)
        } else {
            answer
        }
    }

    /// `error` answered as usual, naming the path segment or query parameter `name` when
    /// the client's value is what the error refuses (a 400).
    pub fn in_parameter(error: Error, name: impl Into<Cow<'static, str>>) -> Self {
        let answer = Self::from(error);
        if answer.status == StatusCode::BAD_REQUEST {
            answer.parameter(name)
        } else {
            answer
        }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body.
    pub fn body(&self) -> &ErrorBody {
        &self.body
    }
}

/// The path of the member a JSON body failed on, from the error inside axum's rejection;
/// `None` for the body as a whole (a syntax error, a missing top-level member).
fn json_path(rejection: &JsonRejection) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(error) = source {
        if let Some(parsed) = error.downcast_ref::<serde_path_to_error::Error<serde_json::Error>>()
        {
            let path = parsed.path().to_string();
            return (path != ".").then_some(path);
        }
        source = error.source();
    }
    None
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidName { .. } => Self::new(
                StatusCode::BAD_REQUEST,
                codes::INVALID_NAME,
                error.to_string(),
            ),
            Error::Invalid(_) | Error::Manifest(_) => Self::bad_request(error.to_string()),
            Error::UpdateNotFound(_) | Error::NotFound(_) => Self::not_found(error.to_string()),
            Error::Nothing(_) | Error::Conflict(_) => {
                Self::new(StatusCode::CONFLICT, ErrorCode::CONFLICT, error.to_string())
            }
            other => {
                tracing::error!(error = %other, "request failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::INTERNAL_ERROR,
                    "internal error (see the server log)",
                )
            }
        }
    }
}

impl From<expo_updates::ProtocolError> for ApiError {
    fn from(error: expo_updates::ProtocolError) -> Self {
        Self {
            status: error.status(),
            body: error.body(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // `content-type: application/json`, `cache-control: no-store`.
        self.body
            .into_response(self.status)
            .map(axum::body::Body::from)
    }
}

/// Every JSON error this server sends has the one shape, whatever its status.
#[cfg(test)]
mod tests {
    use axum::http::header;

    use super::*;

    #[tokio::test]
    async fn answers_have_the_crate_shape_and_name_their_target() {
        let response = ApiError::bad_request("limit must be 1 to 1000")
            .parameter("limit")
            .into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body = ErrorBody::from_json_slice(&bytes).unwrap();
        assert_eq!(body.code(), &ErrorCode::BAD_REQUEST);
        assert_eq!(
            body.target(),
            Some(&expo_updates::ErrorTarget::Parameter("limit".into()))
        );
    }

    #[test]
    fn refused_names_are_the_clients_fault_and_server_failures_hide_their_cause() {
        let name = crate::store::checked_name("channel", "a\tb").unwrap_err();
        assert_eq!(ApiError::from(name).status(), StatusCode::BAD_REQUEST);
        let internal = ApiError::from(Error::Corrupt("secret row".into()));
        assert_eq!(internal.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!internal.body().message().contains("secret"));
    }
}
