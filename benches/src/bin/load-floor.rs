//! The framework floor of the end-to-end load benchmark: a minimal axum 0.8 server that
//! answers each captured response from memory, with the same status line and headers, and
//! does nothing else. `benches/load/run.sh` runs it beside expo-update-server and nginx, so
//! every load figure can be read against what the framework itself costs on this machine.
//!
//! ```text
//! load-floor 127.0.0.1:PORT DIR [per-core]
//! ```
//!
//! By default it runs on `#[tokio::main]`'s multi-threaded runtime, as a newcomer's axum
//! server does; `per-core` runs one single-threaded runtime per core instead, each
//! accepting on its own `SO_REUSEPORT` socket, to measure what that design gains on the
//! machine at hand (expo-update-server serves connections that way).
//!
//! `DIR/www/NAME` is a captured body, `DIR/NAME.h` its response head as `curl -D` wrote it;
//! `GET /NAME` answers them. `date`, `content-length`, `connection` and `transfer-encoding`
//! are left to hyper, as they are for every axum server.

use std::net::SocketAddr;
use std::path::Path;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use axum::routing::get;
use bytes::Bytes;

/// Headers hyper writes itself.
const HOP: [&str; 4] = ["date", "content-length", "connection", "transfer-encoding"];

/// One captured response: status, headers and body, shared by every request.
#[derive(Clone)]
struct Captured {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Captured {
    fn read(dir: &Path, name: &str) -> Result<Self, String> {
        let head = std::fs::read_to_string(dir.join(format!("{name}.h")))
            .map_err(|e| format!("{name}.h: {e}"))?;
        let body =
            std::fs::read(dir.join("www").join(name)).map_err(|e| format!("www/{name}: {e}"))?;
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse::<StatusCode>().ok())
            .ok_or_else(|| format!("{name}.h: no status line"))?;
        let mut headers = HeaderMap::new();
        for line in lines {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let key = key.trim().to_ascii_lowercase();
            if HOP.contains(&key.as_str()) {
                continue;
            }
            let name =
                HeaderName::from_bytes(key.as_bytes()).map_err(|e| format!("{name}.h: {e}"))?;
            let value =
                HeaderValue::from_str(value.trim()).map_err(|e| format!("{name}.h: {e}"))?;
            headers.append(name, value);
        }
        Ok(Self {
            status,
            headers,
            body: Bytes::from(body),
        })
    }

    fn answer(&self) -> Response<Body> {
        let mut response = Response::new(Body::from(self.body.clone()));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        response
    }
}

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (Some(address), Some(dir)) = (args.next(), args.next()) else {
        return Err("usage: load-floor ADDRESS DIR [per-core]".into());
    };
    let address: SocketAddr = address.parse().map_err(|e| format!("{address}: {e}"))?;
    let router = router(Path::new(&dir))?;
    if args.next().as_deref() != Some("per-core") {
        return tokio::runtime::Runtime::new()
            .map_err(|e| e.to_string())?
            .block_on(async {
                let listener = tokio::net::TcpListener::bind(address)
                    .await
                    .map_err(|e| format!("{address}: {e}"))?;
                axum::serve(listener, router)
                    .await
                    .map_err(|e| e.to_string())
            });
    }
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let threads: Vec<_> = (0..cores)
        .map(|_| {
            let router = router.clone();
            std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?
                    .block_on(async {
                        let listener = reuse_port(address)?;
                        axum::serve(listener, router)
                            .await
                            .map_err(|e| e.to_string())
                    })
            })
        })
        .collect();
    for thread in threads {
        thread
            .join()
            .map_err(|_| "a thread panicked".to_owned())??;
    }
    Ok(())
}

/// A listening socket on `address` that other sockets may share (`SO_REUSEPORT`): the
/// kernel spreads connections over them. Called within the runtime that polls it.
fn reuse_port(address: SocketAddr) -> Result<tokio::net::TcpListener, String> {
    let socket = tokio::net::TcpSocket::new_v4().map_err(|e| e.to_string())?;
    socket.set_reuseaddr(true).map_err(|e| e.to_string())?;
    socket.set_reuseport(true).map_err(|e| e.to_string())?;
    socket
        .bind(address)
        .map_err(|e| format!("{address}: {e}"))?;
    socket.listen(1024).map_err(|e| e.to_string())
}

/// One route per captured response in `dir`.
fn router(dir: &Path) -> Result<Router, String> {
    let mut router = Router::new();
    let entries =
        std::fs::read_dir(dir.join("www")).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let name = entry.map_err(|e| e.to_string())?.file_name();
        let name = name.to_string_lossy();
        let captured = Captured::read(dir, &name)?;
        router = router.route(
            &format!("/{name}"),
            get(move || std::future::ready(captured.answer())),
        );
    }
    Ok(router)
}
