//! The HTML a person (or a browser test) sees: the consent screen, the photo picker, and the
//! error pages. Element ids are stable so browser tests can drive them.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::options::TestUser;
use crate::photos::{MediaType, Photo};
use crate::state::{AuthRequest, is_sign_in_scope};
use crate::wire::esc;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:56rem;margin:2rem auto;\
padding:0 1rem;color:#202124}h1{font-weight:400}.box{border:1px solid #dadce0;border-radius:8px;\
padding:1rem 1.5rem;margin:1rem 0}label{display:block;margin:.4rem 0}button{font-size:1rem;\
padding:.5rem 1.5rem;margin-right:.5rem;border-radius:4px;border:1px solid #dadce0;background:#fff}\
button.primary{background:#1a73e8;color:#fff;border-color:#1a73e8}.grid{display:grid;\
grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:.75rem}.grid label{border:1px solid \
#dadce0;border-radius:6px;padding:.4rem;font-size:.8rem}.grid img{width:100%;height:130px;\
object-fit:cover;display:block}.muted{color:#5f6368;font-size:.9rem}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <style>{STYLE}</style></head><body><p class=\"muted\">Fake Google (test double)</p>{body}\
         </body></html>",
        esc(title)
    )
}

/// Google's "Access blocked" page for a request it will not redirect back.
pub fn auth_error(status: u16, error: &str, description: &str) -> Response {
    let body = format!(
        "<h1>Access blocked: Authorization Error</h1><div class=\"box\">\
         <p id=\"error-code\">Error {status}: {}</p><p id=\"error-description\">{}</p></div>",
        esc(error),
        esc(description)
    );
    // The page is served as 400 whatever number it shows, as the brief for this fake asks.
    (
        StatusCode::BAD_REQUEST,
        Html(page("Error 400 (Bad Request)", &body)),
    )
        .into_response()
}

/// A plain error page (picker, consent form).
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    let body = format!(
        "<h1 id=\"title\">{}</h1><p id=\"message\">{}</p>",
        esc(title),
        esc(text)
    );
    (status, Html(page(title, &body))).into_response()
}

/// The consent screen: one radio per account, one checkbox per non-sign-in scope.
pub fn consent(request_id: &str, request: &AuthRequest, users: &[TestUser]) -> String {
    let hint = request.login_hint.as_deref().unwrap_or_default();
    let preselected = users
        .iter()
        .position(|u| u.email.eq_ignore_ascii_case(hint))
        .unwrap_or(0);
    let accounts: String = users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            format!(
                "<label><input type=\"radio\" name=\"user\" id=\"user-{}\" value=\"{}\"{}> {} \
                 &lt;{}&gt;</label>",
                esc(u.local_part()),
                esc(&u.email),
                if i == preselected { " checked" } else { "" },
                esc(&u.name),
                esc(&u.email),
            )
        })
        .collect();
    let sign_in: Vec<&str> = request
        .scopes
        .iter()
        .filter(|s| is_sign_in_scope(s))
        .map(|s| s.rsplit('/').next().unwrap_or(s))
        .collect();
    let scopes: String = request
        .scopes
        .iter()
        .filter(|s| !is_sign_in_scope(s))
        .enumerate()
        .map(|(n, s)| {
            format!(
                "<label><input type=\"checkbox\" name=\"scope\" id=\"scope-{n}\" value=\"{}\" \
                 checked> {}</label>",
                esc(s),
                esc(s),
            )
        })
        .collect();
    let body = format!(
        "<h1>Sign in to continue to the app</h1>\
         <form method=\"post\" action=\"/o/oauth2/v2/auth/decide\">\
         <input type=\"hidden\" name=\"req\" value=\"{}\">\
         <div class=\"box\"><h2>Choose an account</h2>{accounts}</div>\
         <div class=\"box\"><h2>The app wants to</h2>\
         <p class=\"muted\">Always granted: {}</p>{scopes}</div>\
         <p class=\"muted\">Client: {}<br>Redirect: {}</p>\
         <div style=\"display:flex;flex-direction:row-reverse;justify-content:flex-end\">\
         <button type=\"submit\" name=\"action\" value=\"allow\" id=\"allow\" \
         class=\"primary\">Allow</button>\
         <button type=\"submit\" name=\"action\" value=\"deny\" id=\"deny\">Cancel</button>\
         </div>\
         </form>",
        esc(request_id),
        esc(&sign_in.join(", ")),
        esc(&request.client_id),
        esc(&request.redirect_uri),
    );
    page("Sign in - Google Accounts", &body)
}

/// The photo picker: a grid of the library with checkboxes and a Done button.
pub fn picker(session_id: &str, photos: &[Photo], autoclose: bool, max_items: u64) -> String {
    let items: String = photos
        .iter()
        .enumerate()
        .map(|(n, p)| {
            let badge = if p.media_type == MediaType::Video {
                " (video)"
            } else {
                ""
            };
            format!(
                "<label><img src=\"/picker/{sid}/thumb/{n}\" alt=\"{name}\" loading=\"lazy\">\
                 <input type=\"checkbox\" name=\"item\" value=\"{n}\" id=\"pick-{n}\" \
                 class=\"pick\"> {name}{badge}</label>",
                sid = esc(session_id),
                name = esc(&p.filename),
            )
        })
        .collect();
    let body = format!(
        "<h1>Select photos</h1><p class=\"muted\">Up to {max_items} items.</p>\
         <form method=\"post\" action=\"/picker/{sid}/done\">\
         <input type=\"hidden\" name=\"autoclose\" value=\"{ac}\">\
         <label><input type=\"checkbox\" name=\"all\" value=\"1\" id=\"select-all\" \
         onchange=\"document.querySelectorAll('.pick').forEach(c=>c.checked=this.checked)\"> \
         Select all</label><div class=\"grid\">{items}</div>\
         <p><button type=\"submit\" id=\"done\" class=\"primary\">Done</button></p></form>",
        sid = esc(session_id),
        ac = if autoclose { "1" } else { "0" },
    );
    page("Google Photos - Select photos", &body)
}

/// After Done: closes the window on `/autoclose`, else tells the user to go back.
pub fn picker_done(autoclose: bool, count: usize) -> String {
    let script = if autoclose {
        "<script>window.close()</script>"
    } else {
        ""
    };
    let body = format!(
        "<h1 id=\"done-title\">Done — you can close this tab</h1>\
         <p class=\"muted\">{count} item(s) shared with the app.</p>{script}"
    );
    page("Done", &body)
}
