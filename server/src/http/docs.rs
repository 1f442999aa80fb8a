//! The API's documentation: the OpenAPI 3 document generated from the handlers' annotations
//! (`/api/openapi.json`) and Swagger UI (`/api/docs`), whose assets are compiled into the
//! binary so the page works offline.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{account, blur, photos};

/// The generated document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Classify API", description = "Find the blurred photos in a photo library. \
        Every endpoint acts for the authenticated user: the browser session, a bearer token \
        (`POST /api/v1/auth/token`), or, in local mode, the local user. Errors are \
        `{\"error\": {\"code\", \"message\"}}`."),
    paths(
        photos::list, photos::upload, photos::show, photos::remove, photos::image,
        photos::result, photos::set_preview,
        blur::analyze_one, blur::analyze_batch, blur::job, blur::job_events,
        account::me, account::token, account::refresh, account::logout,
        account::get_settings, account::put_settings, account::stats,
    ),
    components(schemas(shared::api::ErrorResponse, shared::api::ErrorBody, shared::api::ErrorCode)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "photos", description = "Upload, list and view photos"),
        (name = "blur", description = "Verification jobs and results"),
        (name = "auth", description = "The user and API tokens"),
        (name = "settings", description = "Threshold and statistics"),
    )
)]
pub struct ApiDoc;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_every_endpoint_of_the_photos_api() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        for path in [
            "/api/v1/photos",
            "/api/v1/photos/{id}",
            "/api/v1/photos/{id}/image",
            "/api/v1/photos/{id}/analyze",
            "/api/v1/photos/{id}/result",
            "/api/v1/blur/analyze-batch",
            "/api/v1/blur/jobs/{job_id}",
            "/api/v1/settings",
            "/api/v1/stats",
            "/api/v1/auth/me",
        ] {
            assert!(doc["paths"].get(path).is_some(), "{path} missing");
        }
        assert!(doc["components"]["schemas"].get("Photo").is_some());
    }
}
