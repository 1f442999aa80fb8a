//! Serves the built web client (Trunk's `dist/`), with the single-page-app fallback to
//! `index.html`, compressed (brotli or gzip, as the browser accepts), and a helpful page when
//! the client has not been built.

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
    // The wasm and its loader are most of a first visit: sent compressed (the predicate leaves
    // images alone), they cost a quarter of their size over the wire.
    let serve = tower::Layer::layer(
        &tower_http::compression::CompressionLayer::new(),
        ServeDir::new(&dir).fallback(ServeFile::new(&index)),
    );
    service_fn(move |request: Request<Body>| {
        let serve = serve.clone();
        let built = index.is_file();
        let index = index.clone();
        async move {
            if !built {
                let mut response = Html(NOT_BUILT).into_response();
                set_csp(&mut response, &[]);
                return Ok::<Response, Infallible>(response);
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
            // Every answer here gets the app's policy, not only the 200 of index.html: a 304
            // revalidating the cached page carries no Content-Type, and its headers replace the
            // cached page's (a deny-all policy there stopped the app on its second load); the
            // worker script runs under the policy it is served with. The page's hashes are
            // read per request, so a rebuilt client (new names in the inline script) works at
            // once; hashed assets, cached for good, need none.
            let hashes = if immutable {
                Vec::new()
            } else {
                let page = tokio::fs::read_to_string(&index).await.unwrap_or_default();
                inline_script_hashes(&page)
            };
            set_csp(&mut response, &hashes);
            Ok(response)
        }
    })
}

fn set_csp(response: &mut Response, script_hashes: &[String]) {
    if let Ok(value) = HeaderValue::from_str(&super::headers::app_csp(script_hashes)) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// The CSP sources (`sha256-<base64>`) of a page's inline scripts: Trunk writes the module
/// script that loads the wasm into index.html, and its text names the hashed file, so the
/// hash changes with every build.
fn inline_script_hashes(html: &str) -> Vec<String> {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let body = &after[tag_end + 1..];
        let Some(close) = body.find("</script>") else {
            break;
        };
        if !after[..tag_end].contains("src=") {
            let digest = Sha256::digest(&body.as_bytes()[..close]);
            hashes.push(format!(
                "sha256-{}",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ));
        }
        rest = &body[close..];
    }
    hashes
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
    use super::{inline_script_hashes, is_hashed_asset};

    #[test]
    fn only_inline_scripts_are_hashed_over_their_exact_text() {
        let page = "<script src=\"/a.js\"></script><script type=\"module\">\nalert(1)\n</script>";
        // printf '\nalert(1)\n' | openssl dgst -sha256 -binary | base64
        assert_eq!(
            inline_script_hashes(page),
            ["sha256-J8+4/wmqNoqVGih0Xof49bzVEIwR8aHhR5HvZK1wlzY="]
        );
        assert!(inline_script_hashes("<p>no script</p>").is_empty());
    }

    #[test]
    fn only_content_hashed_files_are_immutable() {
        assert!(is_hashed_asset("/app-3f2a9c0d1b2e4f56.js"));
        assert!(is_hashed_asset("/app-3f2a9c0d1b2e4f56_bg.wasm"));
        assert!(!is_hashed_asset("/worker.js"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(!is_hashed_asset("/"));
    }
}
