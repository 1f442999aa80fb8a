//! The API's documentation: the OpenAPI 3 document (`/api/openapi.json`) and Swagger UI
//! (`/api/docs`, its assets compiled into the binary so the page works offline). The paths come
//! from the router itself (`utoipa-axum`), so a route is written once, on its handler.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

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
    )
)]
pub struct ApiDoc;

/// The whole document: the description, security and tags of [`ApiDoc`] with the paths of
/// the `/api/v1` router.
pub fn document(api_paths: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    ApiDoc::openapi().nest("/api/v1", api_paths)
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
