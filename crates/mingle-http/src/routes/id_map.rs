use axum::extract::State;
use axum::Json;
use mingle_core::PartnerKind;

use crate::auth::Caller;
use crate::correlation;
use crate::dto::IdMapResponse;
use crate::error::{ApiError, ErrorBody};
use crate::extract::PathIds;
use crate::AppState;

/// Confirms whether a partner ID is mapped in your org.
#[utoipa::path(get, path = "/id-map/{kind}/{partner_id}", tag = "ID Resolution",
    params(("kind" = String, Path, description = "event, session or attendee"),
           ("partner_id" = String, Path, description = "Partner-owned ID")),
    responses((status = 200, body = IdMapResponse),
              (status = 400, description = "INVALID_PARTNER_KIND, INVALID_PARTNER_ID", body = ErrorBody),
              (status = 404, description = "PARTNER_ID_NOT_FOUND", body = ErrorBody)))]
pub async fn get_id_map(
    State(s): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
) -> Result<Json<IdMapResponse>, ApiError> {
    let kind = PartnerKind::parse_field(ids.get(0), "kind")?;
    let partner_id = super::partner_id(ids.get(1), "partner_id")?;
    let m = s.services.id_map.lookup(&p.org_id, &kind, &partner_id).await?;
    Ok(Json(IdMapResponse {
        kind: m.kind,
        partner_id: m.partner_id,
        mapped: true,
        merged_into: m.merged_into,
        correlation_id: correlation::current(),
    }))
}
