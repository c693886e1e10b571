//! The OpenAPI 3.1 document, generated from the handlers' annotations. What every
//! partner route shares (bearer auth, its 401/403/429 answers) is added here once.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder, ServerBuilder};
use utoipa::OpenApi as _;

use crate::error::{ErrorBody, ErrorCode};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "mingle Partner API", description = "Partners push events, sessions and attendees in; mingle \
        resolves identities, enriches profiles and computes who should meet. Every response body carries \
        `correlation_id`, echoed in the `X-Correlation-Id` header; every error uses the envelope `ErrorBody`."),
    components(schemas(ErrorBody, ErrorCode)),
    tags((name = "Service Account"), (name = "ID Resolution"), (name = "Events"), (name = "Sessions"), (name = "Attendees"), (name = "Review Queue"), (name = "Enrichment"), (name = "Matching"), (name = "Runs"))
)]
struct ApiDoc;

fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
        .build()
}

/// Completes the document the router produced.
pub fn finish(routes: OpenApi) -> OpenApi {
    let mut doc = ApiDoc::openapi().merge_from(routes);
    doc.servers = Some(vec![
        ServerBuilder::new().url(crate::BASE_PATH).build(),
        ServerBuilder::new().url(crate::ALIAS_PATH).description(Some("alias")).build(),
    ]);
    let components = doc.components.get_or_insert_with(Default::default);
    components
        .add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    doc.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new())]);
    for item in doc.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.delete, &mut item.patch];
        for op in operations.into_iter().flatten() {
            let r = &mut op.responses.responses;
            for (status, text) in [
                ("401", "UNAUTHORIZED (missing, unknown or revoked token), ACCOUNT_DISABLED"),
                ("403", "INSUFFICIENT_SCOPE (details.required_scope), PARTNER_ORG_REQUIRED, SERVICE_ACCOUNT_REQUIRED"),
                ("429", "PARTNER_RATE_LIMIT_EXCEEDED (with Retry-After)"),
                ("500", "INTERNAL_ERROR"),
            ] {
                r.entry(status.into()).or_insert_with(|| error_response(text).into());
            }
        }
    }
    doc
}
