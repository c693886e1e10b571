//! The partner routes, one module per resource. Each handler checks in the documented
//! order: path IDs, then the query or body, then existence (in the service), then
//! conflicts. The annotations give the OpenAPI document its operations and response
//! shapes; request bodies' schemas, every bound and the shared answers are added in
//! `crate::openapi`.

pub mod attendees;
pub mod enrichment;
pub mod events;
pub mod id_map;
pub mod matching;
pub mod reviews;
pub mod runs;
pub mod service_account;
pub mod sessions;

use axum::middleware::from_fn_with_state;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use crate::AppState;

/// Every partner route with its OpenAPI operation, each behind authentication.
pub fn partner_routes(state: &AppState) -> OpenApiRouter<AppState> {
    // The auth layer wraps each route's handlers but not its method fallback, so a
    // wrong method is answered 405 before authentication, as the conventions require.
    let authed = |(schemas, paths, handlers): UtoipaMethodRouter<AppState>| -> UtoipaMethodRouter<AppState> {
        (schemas, paths, handlers.route_layer(from_fn_with_state(state.clone(), crate::auth::middleware)))
    };
    OpenApiRouter::new()
        .routes(authed(routes!(service_account::get_auth)))
        .routes(authed(routes!(id_map::get_id_map)))
        .routes(authed(routes!(events::create_event, events::list_events)))
        .routes(authed(routes!(events::get_event)))
        .routes(authed(routes!(events::update_context, events::get_context)))
        .routes(authed(routes!(sessions::create_session, sessions::list_sessions)))
        .routes(authed(routes!(sessions::get_session)))
        .routes(authed(routes!(attendees::import_attendees)))
        .routes(authed(routes!(attendees::list_attendees)))
        .routes(authed(routes!(attendees::get_identity)))
        .routes(authed(routes!(enrichment::create_enrichment_run)))
        .routes(authed(routes!(matching::create_match_run)))
        .routes(authed(routes!(matching::list_attendee_matches)))
        .routes(authed(routes!(matching::list_event_matches)))
        .routes(authed(routes!(matching::get_match)))
        .routes(authed(routes!(reviews::list_event_reviews)))
        .routes(authed(routes!(reviews::list_reviews)))
        .routes(authed(routes!(reviews::resolve_review)))
        .routes(authed(routes!(reviews::merge_review)))
        .routes(authed(routes!(runs::create_run, runs::list_runs)))
        .routes(authed(routes!(runs::get_run)))
}

/// Validates a path partner ID (`INVALID_PARTNER_ID`).
pub(crate) fn partner_id(value: &str, field: &str) -> Result<mingle_core::PartnerId, crate::error::ApiError> {
    Ok(mingle_core::PartnerId::parse_field(value, field)?)
}
