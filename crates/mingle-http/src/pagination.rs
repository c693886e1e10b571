//! Pagination query parameters and opaque cursors.

use axum::http::StatusCode;
use mingle_core::cursor::{self, Position};
use mingle_service::accounts::Principal;
use mingle_service::pagination::{PageRequest, DEFAULT_LIMIT, MAX_LIMIT};

use crate::error::ApiError;

/// A list route's query string, parsed once; unknown parameters are ignored.
pub struct ListQuery {
    pairs: Vec<(String, String)>,
}

impl ListQuery {
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect();
        Self { pairs }
    }

    /// The first value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// `limit`: an integer 1-100, 50 when absent (`INVALID_LIMIT` otherwise).
    pub fn limit(&self) -> Result<u32, ApiError> {
        let Some(raw) = self.get("limit") else {
            return Ok(DEFAULT_LIMIT);
        };
        // Digits only (Rust would also read `+5`), and given once.
        let once = self.pairs.iter().filter(|(k, _)| k == "limit").count() == 1;
        let digits = !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit());
        let parsed = (once && digits).then(|| raw.parse::<u32>().ok()).flatten();
        parsed.filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
            let mut e = ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_LIMIT",
                format!("'limit' must be an integer from 1 to {MAX_LIMIT}, given once."),
            );
            e.details = Some(field("limit"));
            e
        })
    }

    /// The page to serve: the limit and, with a `cursor`, the position it carries. The
    /// cursor must have been issued by this list (`binding`: list, path IDs and
    /// filters) in the caller's org (`INVALID_CURSOR` otherwise).
    pub fn page(&self, caller: &Principal, binding: &str) -> Result<PageRequest, ApiError> {
        let limit = self.limit()?;
        let after = match self.get("cursor") {
            None => None,
            Some(c) => Some(cursor::decode(&caller.cursor_key, binding, c).ok_or_else(|| {
                let mut e = ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "INVALID_CURSOR",
                    "'cursor' is not a cursor this list issued; start again without it.",
                );
                e.details = Some(field("cursor"));
                e
            })?),
        };
        Ok(PageRequest { after, limit })
    }
}

fn field(name: &str) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    m.insert("field".into(), name.into());
    m
}

/// The `next_cursor` for a page's next position.
pub fn next_cursor(caller: &Principal, binding: &str, next: Option<&Position>) -> Option<String> {
    next.map(|p| cursor::encode(&caller.cursor_key, binding, p))
}
