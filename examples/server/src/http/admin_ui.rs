//! `/admin/ui`: a small admin page embedded in the binary (HTML, JavaScript and CSS, no
//! build step, no external assets).
//!
//! The page itself needs no token: it asks for one, keeps it in `sessionStorage`, and calls
//! the admin JSON API with it. A strict Content-Security-Policy allows only this server's
//! script, style and API (`'self'`), so the page has no inline script, style or event
//! handler.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::state::AppState;

const INDEX_HTML: &str = include_str!("admin_ui/index.html");
const APP_JS: &str = include_str!("admin_ui/app.js");
const APP_CSS: &str = include_str!("admin_ui/app.css");

/// The page's Content-Security-Policy: nothing but this origin's script, style and API.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The page's routes (relative to `/admin`).
pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route(
            "/ui",
            get(|| async { page(INDEX_HTML, "text/html; charset=utf-8") }),
        )
        .route(
            "/ui/app.js",
            get(|| async { page(APP_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/ui/app.css",
            get(|| async { page(APP_CSS, "text/css; charset=utf-8") }),
        )
}

fn page(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // The page changes with the binary: revalidate instead of serving an old copy.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
