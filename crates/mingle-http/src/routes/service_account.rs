use axum::Json;

use crate::auth::Caller;
use crate::correlation;
use crate::dto::AuthResponse;

/// Returns the authenticated service account.
#[utoipa::path(get, path = "/auth", tag = "Service Account",
    responses((status = 200, description = "The caller", body = AuthResponse)))]
pub async fn get_auth(Caller(p): Caller) -> Json<AuthResponse> {
    Json(AuthResponse {
        org_id: p.org_id,
        principal_type: "service_account",
        service_account_user_id: p.service_account_id,
        scopes: p.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        correlation_id: correlation::current(),
    })
}
