//! Browser security headers on every response: no framing, no MIME sniffing, no referrer, no
//! cross-site embedding of the app or the photos, and a Content-Security-Policy.
//!
//! Three policies: the web app's (built by `client.rs`, which knows the hashes of the inline
//! script Trunk writes into `index.html`), Swagger UI's at `/api/docs`, and a deny-all policy
//! for everything else (JSON, images, the sign-in pages), which no browser should run as a page.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// For responses that are not meant to run as pages: nothing loads, nothing frames them.
const DENY_ALL_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Swagger UI (utoipa-swagger-ui): its scripts are files (`swagger-initializer.js` included,
/// no inline script), but it styles elements through inline `style` attributes and shows
/// `data:` icons. "Try it out" calls this origin only.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The web app's policy; `script_hashes` are the `'sha256-…'` sources of index.html's inline
/// scripts (Trunk's module script that loads the wasm), so no `'unsafe-inline'` is needed.
///
/// - `'wasm-unsafe-eval'`: compiling the app's WebAssembly (and the preview worker's).
/// - `worker-src 'self' blob:`: the preview worker is `/worker.js`; gloo-worker may wrap it in
///   a blob URL.
/// - `connect-src 'self' blob:`: the API, and the preview worker reading a file being added
///   through its `blob:` URL (local data only, never the network).
/// - `style-src-attr 'unsafe-inline'`: the score bars set a width through a `style` attribute
///   (attributes cannot run script).
/// - `img-src`: photos and thumbnails come from this origin (Google's through the proxy), blob
///   previews of files being added, and the signed-in user's Google avatar.
pub(super) fn app_csp(script_hashes: &[String]) -> String {
    let mut scripts = String::from("'self' 'wasm-unsafe-eval'");
    for hash in script_hashes {
        scripts.push_str(" '");
        scripts.push_str(hash);
        scripts.push('\'');
    }
    format!(
        "default-src 'self'; script-src {scripts}; worker-src 'self' blob:; connect-src 'self' blob:; \
         img-src 'self' data: blob: https://*.googleusercontent.com; style-src 'self'; \
         style-src-attr 'unsafe-inline'; font-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// Adds the headers to every response (a handler's own CSP wins: the app's page sets one).
pub(super) async fn security_headers(request: Request, next: Next) -> Response {
    let docs = request.uri().path().starts_with("/api/docs");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let fixed: [(HeaderName, &'static str); 4] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // For browsers that predate CSP's frame-ancestors.
        (header::X_FRAME_OPTIONS, "DENY"),
        // Photo and job ids in our URLs are nobody else's business.
        (header::REFERRER_POLICY, "no-referrer"),
        // No other site may embed the app, its scripts or the user's photos.
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
    ];
    for (name, value) in fixed {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    let csp = if docs { DOCS_CSP } else { DENY_ALL_CSP };
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(csp));
    response
}

#[cfg(test)]
mod tests {
    use super::app_csp;

    #[test]
    fn the_app_policy_allows_wasm_workers_and_only_the_hashed_inline_script() {
        let csp = app_csp(&["sha256-abc=".into()]);
        assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-abc='"));
        assert!(csp.contains("worker-src 'self' blob:"));
        assert!(csp.contains("frame-ancestors 'none'"));
        let scripts = csp
            .split(';')
            .find(|d| d.trim().starts_with("script-src"))
            .unwrap();
        assert!(!scripts.contains("'unsafe-inline'") && !scripts.contains(" 'unsafe-eval'"));
    }
}
