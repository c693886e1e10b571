//! Validation of session input.

use serde_json::{Map, Value};

use crate::ids::PartnerId;
use crate::limits::{DESCRIPTION_MAX, SESSION_TITLE_MAX, TIMESTAMP_MAX};
use crate::time::Timestamp;
use crate::validate::{Fields, ValidationError};

/// A validated `POST /events/:event_id/sessions` body.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionDraft {
    pub session_id: PartnerId,
    pub title: String,
    pub description: Option<String>,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
}

impl SessionDraft {
    pub fn parse(body: &Map<String, Value>) -> Result<Self, ValidationError> {
        let f = Fields::new(body);
        let session_id = match f.get("session_id") {
            Some(Value::String(s)) => PartnerId::parse_field(s, "session_id")?,
            _ => return Err(PartnerId::parse_field("", "session_id").unwrap_err()),
        };
        let title = f.required_text("title", SESSION_TITLE_MAX, "INVALID_TITLE")?;
        let description = f.optional_text("description", DESCRIPTION_MAX, "INVALID_DESCRIPTION")?;
        let start = timestamp_field(&f, "start_timestamp", "INVALID_START_TIMESTAMP")?;
        let end = timestamp_field(&f, "end_timestamp", "INVALID_END_TIMESTAMP")?;
        if let (Some(s), Some(e)) = (start, end) {
            if e < s {
                return Err(ValidationError::new(
                    "INVALID_END_TIMESTAMP",
                    "end_timestamp",
                    "'end_timestamp' must not be before 'start_timestamp'.",
                ));
            }
        }
        Ok(Self { session_id, title, description, start, end })
    }
}

fn timestamp_field(f: &Fields<'_>, name: &str, code: &'static str) -> Result<Option<Timestamp>, ValidationError> {
    let Some(value) = f.optional_text(name, TIMESTAMP_MAX, code)? else {
        return Ok(None);
    };
    Timestamp::parse_rfc3339(&value).map(Some).ok_or_else(|| {
        ValidationError::new(
            code,
            name,
            format!("'{name}' must be an RFC 3339 timestamp such as 2026-09-10T13:00:00Z."),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sessions_validate_in_order() {
        let ok = SessionDraft::parse(
            json!({"session_id": "k", "title": "Keynote", "start_timestamp": "2026-09-10T13:00:00Z",
                "end_timestamp": "2026-09-10T14:00:00+00:00"})
            .as_object()
            .unwrap(),
        )
        .unwrap();
        assert_eq!(ok.end.unwrap().to_rfc3339(), "2026-09-10T14:00:00.000Z");
        let err = SessionDraft::parse(
            json!({"session_id": "k", "title": "T", "start_timestamp": "2026-09-10T13:00:00Z",
                "end_timestamp": "2026-09-10T12:00:00Z"})
            .as_object()
            .unwrap(),
        )
        .unwrap_err();
        assert_eq!(err.code, "INVALID_END_TIMESTAMP");
        let err = SessionDraft::parse(json!({"title": "T"}).as_object().unwrap()).unwrap_err();
        assert_eq!(err.code, "INVALID_PARTNER_ID");
    }
}
