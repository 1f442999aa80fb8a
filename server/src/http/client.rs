//! Serves the built web client (Trunk's `dist/`), with the single-page-app fallback to
//! `index.html`, and a helpful page when the client has not been built.

use std::convert::Infallible;
use std::future::Future;
use std::path::PathBuf;

use axum::body::Body;
use axum::http::{HeaderValue, Request, header};
use axum::response::{Html, IntoResponse, Response};
use tower::ServiceExt;
use tower::service_fn;
use tower_http::services::{ServeDir, ServeFile};

const NOT_BUILT: &str = r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Classify</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:4em auto">
<h1>Classify is running, but its web client is not built</h1>
<p>Build it with <code>cargo xtask run</code> (which builds the client and starts the server), or
<code>cargo xtask client</code>, or point <code>CLASSIFY_CLIENT_DIR</code> at a built <code>dist/</code> folder.</p>
<p>The API is up: try <a href="/health/services">/health/services</a>.</p></body></html>"#;

pub(super) fn service(
    dir: PathBuf,
) -> impl tower::Service<
    Request<Body>,
    Response = Response,
    Error = Infallible,
    Future = impl Future<Output = Result<Response, Infallible>> + Send + 'static,
> + Clone
+ Send
+ Sync
+ 'static {
    let index = dir.join("index.html");
    let serve = ServeDir::new(&dir).fallback(ServeFile::new(&index));
    service_fn(move |request: Request<Body>| {
        let serve = serve.clone();
        let built = index.is_file();
        async move {
            if !built {
                return Ok::<Response, Infallible>(Html(NOT_BUILT).into_response());
            }
            let path = request.uri().path().to_string();
            let mut response = match serve.oneshot(request).await {
                Ok(r) => r.into_response(),
                Err(never) => match never {},
            };
            // Trunk names assets by content hash, so they may be cached for good; the page
            // itself and the unhashed worker files must be revalidated to pick up new builds.
            let immutable = is_hashed_asset(&path);
            let value = if immutable {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            };
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
            Ok(response)
        }
    })
}

/// Trunk's hashed file names look like `client-3f2a9c0d1b2e4f56.js`.
fn is_hashed_asset(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or("");
    let stem = name.split('.').next().unwrap_or("");
    match stem.rsplit_once('-') {
        Some((_, hash)) => {
            let hash = hash.trim_end_matches("_bg");
            hash.len() >= 16 && hash.chars().all(|c| c.is_ascii_hexdigit())
        }
        None => false,
    }
}
#[cfg(test)]
mod tests {
    use super::is_hashed_asset;

    #[test]
    fn only_content_hashed_files_are_immutable() {
        assert!(is_hashed_asset("/app-3f2a9c0d1b2e4f56.js"));
        assert!(is_hashed_asset("/app-3f2a9c0d1b2e4f56_bg.wasm"));
        assert!(!is_hashed_asset("/worker.js"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(!is_hashed_asset("/"));
    }
}
