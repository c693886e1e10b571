//! Validation of `PUT /events/:event_id/attendees:import` and the mapping of each row's
//! `raw_data` to the attendee's event answers.
//!
//! The whole body is validated before anything is written. Where several rows are
//! invalid, errors are reported in the reference's code order (every row is an object,
//! then IDs, duplicates, names, emails, ...) and, within one code, by lowest index: the
//! first error "in that order" of the conventions.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::PartnerId;
use crate::limits;
use crate::run::{parse_idempotency_key, parse_webhook_url};
use crate::validate::{text, ValidationError, MAX_METADATA_BYTES};
use crate::IdempotencyKey;

/// One validated import row, as the worker processes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttendeeRow {
    pub attendee_id: String,
    pub name: String,
    pub email: Option<String>,
    pub linkedin_url: Option<String>,
    pub title: Option<String>,
    pub company: Option<String>,
    pub raw_data: Option<Map<String, Value>>,
}

/// A validated import request.
#[derive(Debug, Clone)]
pub struct ImportDraft {
    pub idempotency_key: IdempotencyKey,
    pub webhook_url: Option<String>,
    pub rows: Vec<AttendeeRow>,
}

/// The event answers a row's `raw_data` carries (domain.md, "Attendee profile data").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventAnswers {
    pub goal: Option<String>,
    pub needs: Option<Vec<String>>,
    pub offers: Option<Vec<String>>,
    pub interests: Option<Vec<String>>,
    pub bio: Option<String>,
    pub role_at_event: Option<String>,
    pub visibility: Option<String>,
    pub sessions: Option<Vec<String>>,
}

impl EventAnswers {
    /// Reads the known keys of `raw_data`; other keys stay in `raw_data` untouched.
    /// Types were checked at validation, so a mistyped key cannot reach here.
    pub fn from_raw(raw: Option<&Map<String, Value>>) -> Self {
        let Some(raw) = raw else { return Self::default() };
        let string = |k: &str| raw.get(k).and_then(Value::as_str).map(str::to_owned);
        let list = |k: &str| match raw.get(k) {
            Some(Value::String(s)) => Some(vec![s.clone()]),
            Some(Value::Array(items)) => Some(items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()),
            _ => None,
        };
        Self {
            goal: string("goal"),
            needs: list("needs"),
            offers: list("offers"),
            interests: list("interests"),
            bio: string("bio"),
            role_at_event: string("role_at_event"),
            visibility: string("visibility"),
            sessions: match raw.get("sessions") {
                Some(Value::Array(_)) => list("sessions"),
                _ => None,
            },
        }
    }
}

/// `raw_data` keys with a meaning, and the JSON types each accepts.
const RAW_KEYS: [(&str, RawType); 8] = [
    ("goal", RawType::Text),
    ("needs", RawType::TextOrList),
    ("offers", RawType::TextOrList),
    ("interests", RawType::TextOrList),
    ("bio", RawType::Text),
    ("role_at_event", RawType::Text),
    ("visibility", RawType::Text),
    ("sessions", RawType::List),
];

#[derive(Clone, Copy)]
enum RawType {
    Text,
    TextOrList,
    List,
}

impl RawType {
    fn accepts(self, v: &Value) -> bool {
        let list = |v: &Value| v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
        match self {
            RawType::Text => v.is_string() || v.is_null(),
            RawType::TextOrList => v.is_string() || v.is_null() || list(v),
            RawType::List => v.is_null() || list(v),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            RawType::Text => "a string",
            RawType::TextOrList => "a string or an array of strings",
            RawType::List => "an array of strings",
        }
    }
}

/// Whether an email address looks like one: `local@domain.tld`, no spaces, one `@`.
pub fn looks_like_email(value: &str) -> bool {
    let value = value.trim();
    let Some((local, domain)) = value.split_once('@') else { return false };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !value.chars().any(char::is_whitespace)
}

fn row_error(code: &'static str, field: &str, index: usize, id: Option<&str>, message: String) -> ValidationError {
    let mut e = ValidationError::new(code, field, message).with_detail("index", index);
    if let Some(id) = id {
        e = e.with_detail("attendee_id", id);
    }
    e
}

impl ImportDraft {
    /// Takes the body by value: a 50,000-row import's `raw_data` moves into the rows
    /// instead of being copied.
    pub fn parse(
        mut body: Map<String, Value>,
        max_rows: usize,
        webhook_insecure: bool,
    ) -> Result<Self, ValidationError> {
        let idempotency_key = parse_idempotency_key(body.get("idempotency_key").filter(|v| !v.is_null()))?;
        let webhook = body.remove("webhook_url").filter(|v| !v.is_null());
        let rows = match body.remove("attendees") {
            Some(Value::Array(rows)) if !rows.is_empty() && rows.len() <= max_rows => rows,
            Some(Value::Array(rows)) if rows.len() > max_rows => {
                return Err(ValidationError::new(
                    "INVALID_ATTENDEES",
                    "attendees",
                    format!("'attendees' holds {} rows; at most {max_rows} are allowed per import.", rows.len()),
                )
                .with_detail("max_rows", max_rows))
            }
            _ => {
                return Err(ValidationError::new(
                    "INVALID_ATTENDEES",
                    "attendees",
                    format!("'attendees' must be a non-empty array of at most {max_rows} rows."),
                ))
            }
        };
        let rows = parse_rows(rows)?;
        let webhook_url = parse_webhook_url(webhook.as_ref(), webhook_insecure)?;
        Ok(Self { idempotency_key, webhook_url, rows })
    }
}

fn parse_rows(rows: Vec<Value>) -> Result<Vec<AttendeeRow>, ValidationError> {
    // 1. Every row is an object.
    let mut objects = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        match row {
            Value::Object(m) => objects.push(m),
            _ => {
                return Err(row_error(
                    "INVALID_ATTENDEE",
                    "attendees",
                    i,
                    None,
                    format!("attendees[{i}] must be a JSON object."),
                ))
            }
        }
    }
    // 2. Every attendee_id is valid.
    let mut ids = Vec::with_capacity(rows.len());
    for (i, m) in objects.iter().enumerate() {
        match m.get("attendee_id").and_then(Value::as_str).and_then(PartnerId::parse) {
            Some(id) => ids.push(id.into_string()),
            None => {
                return Err(row_error(
                    "INVALID_PARTNER_ID",
                    "attendee_id",
                    i,
                    None,
                    format!(
                        "attendees[{i}].attendee_id must be 1-128 characters of letters, digits, '.', '_', ':' or '-'."
                    ),
                ))
            }
        }
    }
    // 3. IDs are unique; the second occurrence is the culprit.
    let mut seen = HashSet::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        if !seen.insert(id.as_str()) {
            return Err(row_error(
                "DUPLICATE_ATTENDEE_ID",
                "attendee_id",
                i,
                Some(id),
                format!("attendees[{i}].attendee_id '{id}' appears earlier in this import."),
            ));
        }
    }
    // 4. Fields, one code at a time, in reference order.
    let field = |name: &'static str, max: usize, code: &'static str, required: bool| {
        let objects = &objects;
        let ids = &ids;
        move || -> Result<Vec<Option<String>>, ValidationError> {
            let mut out = Vec::with_capacity(objects.len());
            for (i, m) in objects.iter().enumerate() {
                let value = m.get(name).filter(|v| !v.is_null());
                let err = |msg: String| row_error(code, name, i, Some(&ids[i]), format!("attendees[{i}].{msg}"));
                let parsed = match value {
                    None if required => return Err(err(format!("{name} is required."))),
                    None => None,
                    Some(v) => Some(
                        text(v, name, max, code)
                            .map_err(|e| err(e.message.trim_start_matches('\'').replacen('\'', "", 1)))?,
                    ),
                };
                if required && parsed.as_deref().is_some_and(crate::validate::is_blank) {
                    return Err(err(format!("{name} must not be blank.")));
                }
                out.push(parsed);
            }
            Ok(out)
        }
    };
    let names = field("name", limits::ATTENDEE_NAME_MAX, "INVALID_ATTENDEE_NAME", true)()?;
    let emails = field("email", limits::ATTENDEE_EMAIL_MAX, "INVALID_ATTENDEE_EMAIL", false)()?;
    for (i, email) in emails.iter().enumerate() {
        if email.as_deref().is_some_and(|e| !looks_like_email(e)) {
            return Err(row_error(
                "INVALID_ATTENDEE_EMAIL",
                "email",
                i,
                Some(&ids[i]),
                format!("attendees[{i}].email does not look like an email address."),
            ));
        }
    }
    let linkedin = field("linkedin_url", limits::ATTENDEE_LINKEDIN_URL_MAX, "INVALID_ATTENDEE_LINKEDIN_URL", false)()?;
    let titles = field("title", limits::ATTENDEE_TITLE_MAX, "INVALID_ATTENDEE_TITLE", false)()?;
    let companies = field("company", limits::ATTENDEE_COMPANY_MAX, "INVALID_ATTENDEE_COMPANY", false)()?;
    for (i, m) in objects.iter().enumerate() {
        check_raw_data(m.get("raw_data"), i, &ids[i])?;
    }
    drop(objects);
    // Valid: move each row's raw_data out of the request.
    let raw = rows.into_iter().map(|row| match row {
        Value::Object(mut m) => match m.remove("raw_data") {
            Some(Value::Object(raw)) => Some(raw),
            _ => None,
        },
        _ => None,
    });
    let mut out = Vec::with_capacity(ids.len());
    let columns = ids.into_iter().zip(names).zip(emails).zip(linkedin).zip(titles).zip(companies).zip(raw);
    for ((((((attendee_id, name), email), linkedin_url), title), company), raw_data) in columns {
        out.push(AttendeeRow {
            attendee_id,
            name: name.unwrap_or_default(),
            email,
            linkedin_url,
            title,
            company,
            raw_data,
        });
    }
    Ok(out)
}

/// How deep `raw_data` may nest (the object itself is depth 1).
pub const MAX_RAW_DATA_DEPTH: usize = 16;
/// Most entries of each of `needs`, `offers` and `interests`, and the longest entry.
pub const MAX_ANSWERS: usize = 50;
pub const MAX_ANSWER_CHARS: usize = 1_000;
/// Most sessions one attendee attends.
pub const MAX_SESSIONS: usize = 500;

fn depth(v: &Value) -> usize {
    match v {
        Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn check_raw_data(value: Option<&Value>, i: usize, id: &str) -> Result<(), ValidationError> {
    const CODE: &str = "INVALID_ATTENDEE_RAW_DATA";
    let map = match value {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(row_error(
                CODE,
                "raw_data",
                i,
                Some(id),
                format!("attendees[{i}].raw_data must be a JSON object."),
            ))
        }
    };
    let size = serde_json::to_vec(map).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > MAX_METADATA_BYTES {
        return Err(row_error(
            CODE,
            "raw_data",
            i,
            Some(id),
            format!("attendees[{i}].raw_data must be at most {MAX_METADATA_BYTES} bytes serialized ({size} given)."),
        ));
    }
    let levels = 1 + map.values().map(depth).max().unwrap_or(0);
    if levels > MAX_RAW_DATA_DEPTH {
        return Err(row_error(
            CODE,
            "raw_data",
            i,
            Some(id),
            format!("attendees[{i}].raw_data nests {levels} levels deep; at most {MAX_RAW_DATA_DEPTH} are accepted."),
        ));
    }
    for (key, kind) in RAW_KEYS {
        if let Some(v) = map.get(key) {
            if !kind.accepts(v) {
                return Err(row_error(
                    CODE,
                    &format!("raw_data.{key}"),
                    i,
                    Some(id),
                    format!("attendees[{i}].raw_data.{key} must be {}.", kind.describe()),
                ));
            }
            let strings: Vec<&str> = match v {
                Value::String(s) => vec![s.as_str()],
                Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            // Lists are bounded entry by entry, and each text by its own length.
            let (most, longest) = match key {
                "sessions" => (MAX_SESSIONS, MAX_ANSWER_CHARS),
                "needs" | "offers" | "interests" => (MAX_ANSWERS, MAX_ANSWER_CHARS),
                "goal" => (1, limits::RAW_GOAL_MAX),
                "bio" => (1, limits::RAW_BIO_MAX),
                "role_at_event" => (1, limits::RAW_ROLE_MAX),
                _ => (1, limits::RAW_VISIBILITY_MAX),
            };
            if strings.len() > most {
                return Err(row_error(
                    CODE,
                    &format!("raw_data.{key}"),
                    i,
                    Some(id),
                    format!(
                        "attendees[{i}].raw_data.{key} must have at most {most} entries ({} given).",
                        strings.len()
                    ),
                ));
            }
            if let Some(long) = strings.iter().find(|s| s.chars().count() > longest) {
                return Err(row_error(
                    CODE,
                    &format!("raw_data.{key}"),
                    i,
                    Some(id),
                    format!(
                        "attendees[{i}].raw_data.{key} entries must be at most {longest} characters ({} given).",
                        long.chars().count()
                    ),
                ));
            }
            if strings.into_iter().any(crate::validate::has_control_characters) {
                return Err(row_error(
                    CODE,
                    &format!("raw_data.{key}"),
                    i,
                    Some(id),
                    format!(
                        "attendees[{i}].raw_data.{key} must not contain control characters other than tab and line breaks."
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<ImportDraft, ValidationError> {
        ImportDraft::parse(v.as_object().unwrap().clone(), 3, false)
    }

    #[test]
    fn a_valid_import() {
        let d = parse(json!({"idempotency_key": "k", "attendees": [
            {"attendee_id": "a1", "name": "Jordan Lee", "email": "jordan@example.com", "raw_data": {"goal": "Hire", "needs": "x"}}
        ]}))
        .unwrap();
        assert_eq!(d.rows[0].email.as_deref(), Some("jordan@example.com"));
        let answers = EventAnswers::from_raw(d.rows[0].raw_data.as_ref());
        assert_eq!(answers.needs, Some(vec!["x".to_owned()]));
        assert_eq!(answers.goal.as_deref(), Some("Hire"));
    }

    #[test]
    fn errors_follow_code_order_then_index() {
        let e = parse(json!({"idempotency_key": "k", "attendees": [
            {"attendee_id": "a1", "name": "A", "email": "bad"}, 5
        ]}))
        .unwrap_err();
        assert_eq!((e.code, e.details["index"].as_u64()), ("INVALID_ATTENDEE", Some(1)));
        let e = parse(json!({"idempotency_key": "k", "attendees": [
            {"attendee_id": "a1", "name": "A"}, {"attendee_id": "a1", "name": ""}
        ]}))
        .unwrap_err();
        assert_eq!(e.code, "DUPLICATE_ATTENDEE_ID");
        assert_eq!(e.details["index"], 1);
        assert_eq!(e.details["attendee_id"], "a1");
        let e = parse(json!({"idempotency_key": "k", "attendees": [{"attendee_id": "a1", "name": "A", "raw_data": {"needs": 3}}]}))
            .unwrap_err();
        assert_eq!((e.code, e.details["field"].as_str()), ("INVALID_ATTENDEE_RAW_DATA", Some("raw_data.needs")));
        let e = parse(json!({"idempotency_key": "k", "attendees": [{}, {}, {}, {}]})).unwrap_err();
        assert_eq!(e.code, "INVALID_ATTENDEES");
        let e = parse(json!({"attendees": []})).unwrap_err();
        assert_eq!(e.code, "INVALID_IDEMPOTENCY_KEY");
    }

    #[test]
    fn emails() {
        for ok in ["a@b.co", "first.last+tag@sub.example.org", " Jordan@Example.com "] {
            assert!(looks_like_email(ok), "{ok}");
        }
        for bad in ["", "a", "a@", "@b.co", "a@b", "a b@c.de", "a@b@c.de", "a@.b.co"] {
            assert!(!looks_like_email(bad), "{bad}");
        }
    }
}
