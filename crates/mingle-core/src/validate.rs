//! Field validation with the documented error codes.
//!
//! Request bodies are read as JSON objects and every field is checked by hand, so each
//! failure names its own `INVALID_*` code and `details.field` (a typed deserializer
//! would report the first serde error instead). Conventions: an optional field sent as
//! `null` counts as absent; lengths count Unicode scalar values; a required string must
//! be non-blank; unknown keys are ignored.

use serde_json::{Map, Value};

/// One validation failure: the error code, a message for people, and the details
/// (`field`, and for import rows `index` / `attendee_id`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ValidationError {
    pub code: &'static str,
    pub message: String,
    pub details: Map<String, Value>,
}

impl ValidationError {
    pub fn new(code: &'static str, field: &str, message: impl Into<String>) -> Self {
        let mut details = Map::new();
        details.insert("field".into(), Value::String(field.to_owned()));
        Self { code, message: message.into(), details }
    }

    /// An error about the request as a whole (no single field).
    pub fn general(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), details: Map::new() }
    }

    pub fn with_detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }
}

/// Parses a request body that must be a JSON object (`INVALID_JSON` otherwise). An
/// object that names a key twice, at any depth, is refused too: with the last value
/// silently winning, a client's typo or a proxy's merge would change the request
/// unseen.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ValidationError> {
    match serde_json::from_slice::<Strict>(body).map(|s| s.0) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ValidationError::general("INVALID_JSON", "The request body must be a JSON object.")),
        Err(e) => Err(ValidationError::general("INVALID_JSON", format!("The request body is not valid JSON: {e}."))),
    }
}

/// A JSON value whose objects name each key once; parsed in one pass.
struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map(Value::Number).unwrap_or(Value::Null))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let Strict(value) = access.next_value()?;
            if map.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("the key '{key}' appears twice in one object")));
            }
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

/// Reads the fields of one JSON object.
#[derive(Clone, Copy)]
pub struct Fields<'a>(&'a Map<String, Value>);

impl<'a> Fields<'a> {
    pub fn new(map: &'a Map<String, Value>) -> Self {
        Self(map)
    }

    /// The field's value when present and not `null`.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// Whether the key is in the object at all (`null` included).
    pub fn has_key(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    pub fn optional_text(
        &self,
        name: &str,
        max_chars: usize,
        code: &'static str,
    ) -> Result<Option<String>, ValidationError> {
        self.get(name).map(|v| text(v, name, max_chars, code)).transpose()
    }

    pub fn required_text(&self, name: &str, max_chars: usize, code: &'static str) -> Result<String, ValidationError> {
        let value = self.get(name).ok_or_else(|| ValidationError::new(code, name, format!("'{name}' is required.")))?;
        let s = text(value, name, max_chars, code)?;
        if is_blank(&s) {
            return Err(ValidationError::new(code, name, format!("'{name}' must not be blank.")));
        }
        Ok(s)
    }

    /// An optional JSON object of at most `max_bytes` serialized.
    pub fn optional_object(
        &self,
        name: &str,
        max_bytes: usize,
        code: &'static str,
    ) -> Result<Option<Map<String, Value>>, ValidationError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(map)) => {
                let size = serde_json::to_vec(map).map(|v| v.len()).unwrap_or(usize::MAX);
                if size > max_bytes {
                    return Err(ValidationError::new(
                        code,
                        name,
                        format!("'{name}' must be at most {max_bytes} bytes serialized ({size} given)."),
                    ));
                }
                Ok(Some(map.clone()))
            }
            Some(_) => Err(ValidationError::new(code, name, format!("'{name}' must be a JSON object."))),
        }
    }
}

/// Whether `s` shows nothing: only whitespace and invisible format characters
/// (zero-width spaces and joiners, the word joiner, the byte-order mark, soft hyphens).
pub fn is_blank(s: &str) -> bool {
    s.chars().all(|c| {
        c.is_whitespace() || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' | '\u{180E}')
    })
}

/// Whether `s` holds a control character other than tab and line breaks (U+0000 among
/// them, which PostgreSQL cannot store in text).
pub fn has_control_characters(s: &str) -> bool {
    s.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// A string field of at most `max_chars` Unicode scalar values, without control
/// characters other than tab and line breaks.
pub fn text(value: &Value, name: &str, max_chars: usize, code: &'static str) -> Result<String, ValidationError> {
    let Value::String(s) = value else {
        return Err(ValidationError::new(code, name, format!("'{name}' must be a string.")));
    };
    if has_control_characters(s) {
        return Err(ValidationError::new(
            code,
            name,
            format!("'{name}' must not contain control characters other than tab and line breaks."),
        ));
    }
    let len = s.chars().count();
    if len > max_chars {
        return Err(ValidationError::new(
            code,
            name,
            format!("'{name}' must be at most {max_chars} characters ({len} given)."),
        ));
    }
    Ok(s.clone())
}

/// Whether `value` names an IANA time zone (`America/New_York`, `UTC`).
pub fn is_iana_timezone(value: &str) -> bool {
    value.parse::<chrono_tz::Tz>().is_ok()
}

/// Largest `raw_data`, `progress`, `snapshot_metadata` or `version_metadata` object.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;

/// Checks a `webhook_url`: at most 2048 characters, an `https` URL of the shape
/// `limits::WEBHOOK_URL_PATTERN` (a named host, no IP literal, no user info); in
/// insecure mode (local development) any absolute `http` or `https` URL with a host.
/// Returns it unchanged.
pub fn webhook_url(value: &Value, insecure: bool) -> Result<String, ValidationError> {
    const FIELD: &str = "webhook_url";
    const CODE: &str = "INVALID_WEBHOOK_URL";
    let s = text(value, FIELD, crate::limits::WEBHOOK_URL_MAX, CODE)?;
    let parsed = url::Url::parse(&s)
        .map_err(|e| ValidationError::new(CODE, FIELD, format!("'webhook_url' is not an absolute URL: {e}.")))?;
    let scheme_ok = parsed.scheme() == "https" || (insecure && parsed.scheme() == "http");
    if !scheme_ok {
        let allowed = if insecure { "https or http" } else { "https" };
        return Err(ValidationError::new(
            CODE,
            FIELD,
            format!("'webhook_url' must use {allowed} (got '{}').", parsed.scheme()),
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(ValidationError::new(CODE, FIELD, "'webhook_url' must name a host."));
    }
    if !insecure && !crate::limits::is_webhook_url_shape(&s) {
        return Err(ValidationError::new(
            CODE,
            FIELD,
            "'webhook_url' must be https:// in lower case, a host name (not an IP address), an optional \
             port, then a path of printable ASCII characters.",
        ));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn null_is_absent_and_types_are_checked() {
        let m = obj(json!({"a": null, "b": 3, "c": "héllo"}));
        let f = Fields::new(&m);
        assert_eq!(f.optional_text("a", 10, "X").unwrap(), None);
        assert_eq!(f.optional_text("b", 10, "X").unwrap_err().code, "X");
        assert_eq!(f.optional_text("c", 5, "X").unwrap().as_deref(), Some("héllo"));
        assert!(f.optional_text("c", 4, "X").is_err());
        assert_eq!(f.required_text("a", 10, "X").unwrap_err().details["field"], "a");
    }

    #[test]
    fn invisible_text_is_blank() {
        assert!(is_blank("\u{200B}\u{200B} \u{FEFF}\t"));
        assert!(!is_blank("\u{200B}a"));
    }

    #[test]
    fn blank_required_text_is_rejected() {
        let m = obj(json!({"t": "  "}));
        assert!(Fields::new(&m).required_text("t", 10, "INVALID_TITLE").is_err());
    }

    #[test]
    fn objects_are_size_limited() {
        let m = obj(json!({"o": {"k": "x".repeat(100)}, "n": [1]}));
        let f = Fields::new(&m);
        assert!(f.optional_object("o", 1000, "X").unwrap().is_some());
        assert!(f.optional_object("o", 50, "X").is_err());
        assert!(f.optional_object("n", 50, "X").is_err());
    }

    #[test]
    fn webhook_urls() {
        assert!(webhook_url(&json!("https://example.com/hook"), false).is_ok());
        assert!(webhook_url(&json!("http://example.com/hook"), false).is_err());
        assert!(webhook_url(&json!("http://127.0.0.1:9/hook"), true).is_ok());
        assert!(webhook_url(&json!("/relative"), false).is_err());
        assert!(webhook_url(&json!("ftp://example.com"), true).is_err());
        let long = format!("https://example.com/{}", "a".repeat(2040));
        assert!(webhook_url(&json!(long), false).is_err());
    }

    #[test]
    fn bodies_must_be_objects() {
        assert!(parse_object(b"{}").is_ok());
        assert_eq!(parse_object(b"[]").unwrap_err().code, "INVALID_JSON");
        assert_eq!(parse_object(b"{").unwrap_err().code, "INVALID_JSON");
        assert_eq!(parse_object(b"").unwrap_err().code, "INVALID_JSON");
        let twice = parse_object(br#"{"a": {"b": 1, "b": 2}}"#).unwrap_err();
        assert_eq!(twice.code, "INVALID_JSON");
        assert!(twice.message.contains("'b' appears twice"), "{}", twice.message);
        let nested =
            parse_object(br#"{"a": [1, 2.5, null, true, "x", {"k": -3}], "b": 18446744073709551615}"#).unwrap();
        assert_eq!(
            Value::Object(nested),
            serde_json::json!({"a": [1, 2.5, null, true, "x", {"k": -3}], "b": 18446744073709551615u64})
        );
    }

    #[test]
    fn timezones() {
        assert!(is_iana_timezone("America/New_York"));
        assert!(is_iana_timezone("UTC"));
        assert!(!is_iana_timezone("Mars/Olympus"));
    }
}
