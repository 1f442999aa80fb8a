//! The API's documentation: the OpenAPI 3 document (`/api/openapi.json`) and Swagger UI
//! (`/api/docs`, its assets compiled into the binary so the page works offline). The paths come
//! from the router itself (`utoipa-axum`), so a route is written once, on its handler.
//!
//! The answers every route shares (the auth checks, the JSON body and query extractors, the
//! host guard) come from layers and extractors, not from handlers, so [`shared_answers`] adds
//! them to each operation here, once, from what the operation takes: the document then lists
//! every status the server can answer, and clients and fuzzers can rely on it.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::auth::AuthMode;

/// The generated document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Classify API", description = "Find the blurred photos in a photo library. \
        Every endpoint acts for the authenticated user: the browser session, a bearer token \
        (`POST /api/v1/auth/token`), or, in local mode, the local user. Errors are \
        `{\"error\": {\"code\", \"message\"}}`."),
    components(schemas(shared::api::ErrorResponse, shared::api::ErrorBody, shared::api::ErrorCode)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "photos", description = "Upload, list and view photos"),
        (name = "blur", description = "Verification jobs and results"),
        (name = "auth", description = "The user, Google sign-in, API tokens and the account"),
        (name = "picker", description = "Pick photos in Google Photos and import them"),
        (name = "settings", description = "Threshold and statistics"),
        (name = "tags", description = "AI tags: a vision model (OpenAI or an OpenAI-compatible server) tags photos on a queued, rate-limited job"),
    )
)]
pub struct ApiDoc;

/// The whole document: the description, security and tags of [`ApiDoc`] with the paths of
/// the `/api/v1` router, the answers every route shares, and what this server's mode accepts.
pub fn document(api_paths: utoipa::openapi::OpenApi, mode: AuthMode) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi().nest("/api/v1", api_paths);
    for_mode(&mut doc, mode);
    shared_answers(&mut doc);
    doc
}

/// Local mode serves its one user without any credential (a bearer token is still checked when
/// sent), and offers only the `local` grant; with Google sign-in, only `authorization_code`.
fn for_mode(doc: &mut utoipa::openapi::OpenApi, mode: AuthMode) {
    let grant = match mode {
        AuthMode::Local { .. } => {
            doc.security = Some(vec![
                SecurityRequirement::default(),
                SecurityRequirement::new("bearer", Vec::<String>::new()),
            ]);
            shared::api::GrantType::Local
        }
        AuthMode::Accounts => shared::api::GrantType::AuthorizationCode,
    };
    if let Some(RefOr::T(Schema::Object(grants))) = doc
        .components
        .as_mut()
        .and_then(|c| c.schemas.get_mut("GrantType"))
    {
        grants.enum_values = Some(vec![grant.as_str().into()]);
    }
}

/// Adds, to each operation that lacks them, the error answers it gets from outside its handler:
///
/// - every route: 403 from the host and same-origin guard (`crate::auth::guard`), 503 when the
///   database or the queue is down;
/// - an operation whose security names the bearer scheme: 401 for a missing (outside local
///   mode), invalid or expired credential;
/// - a JSON request body (`ApiJson`): 400 malformed JSON, 413 too large, 415 without
///   `Content-Type: application/json`, 422 JSON of the wrong shape;
/// - query parameters (`ApiQuery`): 400 for a value that does not parse or is out of range;
/// - path parameters (`IdPath`): 404 for an id that is not the user's.
fn shared_answers(doc: &mut utoipa::openapi::OpenApi) {
    let default_security = doc.security.clone().unwrap_or_default();
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            let bearer = op
                .security
                .as_ref()
                .unwrap_or(&default_security)
                .iter()
                .any(|s| *s != SecurityRequirement::default());
            let json_body = op
                .request_body
                .as_ref()
                .is_some_and(|b| b.content.contains_key("application/json"));
            let has_param = |place: ParameterIn| {
                op.parameters
                    .iter()
                    .flatten()
                    .any(|p| p.parameter_in == place)
            };
            let (query, path) = (has_param(ParameterIn::Query), has_param(ParameterIn::Path));
            if bearer {
                answer(
                    op,
                    401,
                    "No credential (outside local mode), or an invalid or expired token",
                );
            }
            answer(
                op,
                403,
                "Refused before routing: a `Host` this server does not serve (local mode), or a cross-site request",
            );
            answer(op, 503, "The database or the job queue is unavailable");
            if json_body {
                answer(op, 400, "The body is not valid JSON");
                answer(op, 413, "The body is too large");
                answer(
                    op,
                    415,
                    "The body is not sent as `Content-Type: application/json`",
                );
                answer(op, 422, "The JSON does not have the documented shape");
            }
            if query {
                answer(
                    op,
                    400,
                    "A query parameter does not parse or is out of range",
                );
            }
            if path {
                answer(op, 404, "No such resource for this user");
            }
        }
    }
}

/// Documents `status` with the error shape, unless the operation already says more about it.
fn answer(op: &mut Operation, status: u16, description: &str) {
    op.responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    Content::new(Some(Ref::from_schema_name("ErrorResponse"))),
                )
                .into()
        });
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}
