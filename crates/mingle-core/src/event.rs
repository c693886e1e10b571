//! Validation of event and event-context input.

use serde_json::{Map, Value};

use crate::ids::PartnerId;
use crate::limits::{CONTEXT_FIELD_MAX, DESCRIPTION_MAX, EVENT_TITLE_MAX, TIMEZONE_MAX, URL_SLUG_MAX, VISIBILITY_MAX};
use crate::time::parse_date;
use crate::validate::{text, Fields, ValidationError};

/// The context fields of an event, in the order they are validated.
pub const CONTEXT_FIELDS: [&str; 3] = ["event_details", "objectives", "welcome_instructions"];

/// A validated `POST /events` body.
#[derive(Debug, Clone, PartialEq)]
pub struct EventDraft {
    pub event_id: PartnerId,
    pub title: String,
    pub description: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub timezone: Option<String>,
    pub visibility: Option<String>,
    pub url_slug: Option<String>,
}

impl EventDraft {
    /// Checks fields in the order the reference lists their errors.
    pub fn parse(body: &Map<String, Value>) -> Result<Self, ValidationError> {
        let f = Fields::new(body);
        let event_id = match f.get("event_id") {
            Some(Value::String(s)) => PartnerId::parse_field(s, "event_id")?,
            _ => return Err(PartnerId::parse_field("", "event_id").unwrap_err()),
        };
        let title = f.required_text("title", EVENT_TITLE_MAX, "INVALID_TITLE")?;
        let description = f.optional_text("description", DESCRIPTION_MAX, "INVALID_DESCRIPTION")?;
        let start_date = date_field(&f, "start_date", "INVALID_START_DATE")?;
        let end_date = date_field(&f, "end_date", "INVALID_END_DATE")?;
        if let (Some(start), Some(end)) = (&start_date, &end_date) {
            if end < start {
                return Err(ValidationError::new(
                    "INVALID_END_DATE",
                    "end_date",
                    "'end_date' must not be before 'start_date'.",
                ));
            }
        }
        let timezone = f.optional_text("timezone", TIMEZONE_MAX, "INVALID_TIMEZONE")?;
        if let Some(tz) = &timezone {
            if !crate::validate::is_iana_timezone(tz) {
                return Err(ValidationError::new(
                    "INVALID_TIMEZONE",
                    "timezone",
                    format!("'timezone' must be an IANA time zone name such as 'America/New_York' (got '{tz}')."),
                ));
            }
        }
        let visibility = f.optional_text("visibility", VISIBILITY_MAX, "INVALID_VISIBILITY")?;
        let url_slug = f.optional_text("url_slug", URL_SLUG_MAX, "INVALID_URL_SLUG")?;
        Ok(Self { event_id, title, description, start_date, end_date, timezone, visibility, url_slug })
    }
}

fn date_field(f: &Fields<'_>, name: &str, code: &'static str) -> Result<Option<String>, ValidationError> {
    let Some(value) = f.optional_text(name, 10, code)? else {
        return Ok(None);
    };
    parse_date(&value)
        .map(|_| Some(value))
        .ok_or_else(|| ValidationError::new(code, name, format!("'{name}' must be a date in the form YYYY-MM-DD.")))
}

/// A change to one context field: keep it, or set it (to a value, or to `null`).
pub type FieldPatch = Option<Option<String>>;

/// A validated `POST /events/:event_id/context` body: a partial update where a key left
/// out keeps its value and `null` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContextPatch {
    pub event_details: FieldPatch,
    pub objectives: FieldPatch,
    pub welcome_instructions: FieldPatch,
}

impl ContextPatch {
    pub fn parse(body: &Map<String, Value>) -> Result<Self, ValidationError> {
        let mut patches = [None, None, None];
        for (slot, name) in patches.iter_mut().zip(CONTEXT_FIELDS) {
            *slot = match body.get(name) {
                None => None,
                Some(Value::Null) => Some(None),
                Some(value) => Some(Some(text(value, name, CONTEXT_FIELD_MAX, "INVALID_CONTEXT")?)),
            };
        }
        if patches.iter().all(Option::is_none) {
            return Err(ValidationError::general(
                "INVALID_CONTEXT",
                "At least one of 'event_details', 'objectives' or 'welcome_instructions' is required.",
            ));
        }
        let [event_details, objectives, welcome_instructions] = patches;
        Ok(Self { event_details, objectives, welcome_instructions })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<EventDraft, ValidationError> {
        EventDraft::parse(v.as_object().unwrap())
    }

    #[test]
    fn a_full_event_parses() {
        let e = parse(json!({"event_id": "summit-2026", "title": "Summit", "start_date": "2026-09-10",
            "end_date": "2026-09-11", "timezone": "America/New_York", "visibility": "private",
            "url_slug": "summit"}))
        .unwrap();
        assert_eq!(e.event_id.as_str(), "summit-2026");
        assert_eq!(e.end_date.as_deref(), Some("2026-09-11"));
    }

    #[test]
    fn first_invalid_field_wins_in_reference_order() {
        let err = parse(json!({"event_id": "bad id", "title": ""})).unwrap_err();
        assert_eq!(err.code, "INVALID_PARTNER_ID");
        let err = parse(json!({"event_id": "ok", "title": "", "timezone": "x"})).unwrap_err();
        assert_eq!(err.code, "INVALID_TITLE");
        let err = parse(json!({"event_id": "ok", "title": "t", "start_date": "2026-09-12", "end_date": "2026-09-11"}))
            .unwrap_err();
        assert_eq!((err.code, err.details["field"].as_str()), ("INVALID_END_DATE", Some("end_date")));
    }

    #[test]
    fn context_patch_distinguishes_absent_and_null() {
        let p = ContextPatch::parse(json!({"objectives": null, "event_details": "x"}).as_object().unwrap()).unwrap();
        assert_eq!(p.event_details, Some(Some("x".into())));
        assert_eq!(p.objectives, Some(None));
        assert_eq!(p.welcome_instructions, None);
        assert_eq!(ContextPatch::parse(json!({}).as_object().unwrap()).unwrap_err().code, "INVALID_CONTEXT");
    }
}
