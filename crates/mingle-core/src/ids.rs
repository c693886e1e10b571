//! Validated identifiers. Each newtype can only be built through its parser, so code that
//! holds one never re-checks it (parse, don't validate).

use std::fmt;

use crate::validate::ValidationError;

/// A partner-owned ID (`event_id`, `session_id`, `attendee_id`, path `partner_id`):
/// `^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartnerId(String);

impl PartnerId {
    pub const MAX_LEN: usize = 128;

    pub fn parse(value: &str) -> Option<Self> {
        let bytes = value.as_bytes();
        let valid = !bytes.is_empty()
            && bytes.len() <= Self::MAX_LEN
            && bytes[0].is_ascii_alphanumeric()
            && bytes[1..].iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        valid.then(|| Self(value.to_owned()))
    }

    /// Parses `value` as the ID named `field`, with `INVALID_PARTNER_ID` on failure.
    pub fn parse_field(value: &str, field: &str) -> Result<Self, ValidationError> {
        Self::parse(value).ok_or_else(|| {
            ValidationError::new(
                "INVALID_PARTNER_ID",
                field,
                format!(
                    "'{field}' must be 1-128 characters of letters, digits, '.', '_', ':' or '-', \
                     starting with a letter or digit."
                ),
            )
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for PartnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A partner ID kind: `^[A-Za-z][A-Za-z0-9_-]{0,63}$`. Only `event`, `session` and
/// `attendee` name things an org can hold; other well-formed kinds simply map nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerKind(String);

impl PartnerKind {
    pub fn parse(value: &str) -> Option<Self> {
        let bytes = value.as_bytes();
        let valid = !bytes.is_empty()
            && bytes.len() <= 64
            && bytes[0].is_ascii_alphabetic()
            && bytes[1..].iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
        valid.then(|| Self(value.to_owned()))
    }

    pub fn parse_field(value: &str, field: &str) -> Result<Self, ValidationError> {
        Self::parse(value).ok_or_else(|| {
            ValidationError::new(
                "INVALID_PARTNER_KIND",
                field,
                format!(
                    "'{field}' must be 1-64 characters of letters, digits, '_' or '-', \
                     starting with a letter."
                ),
            )
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A client-chosen idempotency key: 1-255 printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(value: &str) -> Option<Self> {
        let valid = !value.is_empty()
            && value.len() <= crate::limits::IDEMPOTENCY_KEY_MAX
            && value.bytes().all(|b| (0x20..=0x7e).contains(&b));
        valid.then(|| Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Parses a run or review ID — a UUID in its 36-character hyphenated form, any case (the
/// form `format: uuid` describes; not the braced, URN or bare-hex ones `uuid` also reads)
/// — into its canonical lower-case form.
pub fn parse_run_id(value: &str) -> Option<String> {
    let hyphenated = value.len() == 36 && [8, 13, 18, 23].iter().all(|&i| value.as_bytes()[i] == b'-');
    hyphenated.then(|| uuid::Uuid::try_parse(value).ok()).flatten().map(|u| u.hyphenated().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partner_ids() {
        for ok in ["a", "A9", "summit-2026", "x.y_z:1-2", &"a".repeat(128)] {
            assert!(PartnerId::parse(ok).is_some(), "{ok}");
        }
        for bad in ["", "-a", ".a", "a b", "é", "a/b", &"a".repeat(129)] {
            assert!(PartnerId::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn kinds() {
        assert!(PartnerKind::parse("attendee").is_some());
        assert!(PartnerKind::parse("x_1-y").is_some());
        for bad in ["", "1a", "_a", "a.b", &"a".repeat(65)] {
            assert!(PartnerKind::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn idempotency_keys() {
        assert!(IdempotencyKey::parse("key 1 ~!").is_some());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_some());
        for bad in ["", "tab\there", "é", &"k".repeat(256)] {
            assert!(IdempotencyKey::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn run_ids_are_canonicalised() {
        assert_eq!(
            parse_run_id("0190A5C4-1B2C-7D3E-8F40-123456789ABC").as_deref(),
            Some("0190a5c4-1b2c-7d3e-8f40-123456789abc")
        );
        assert!(parse_run_id("not-a-uuid").is_none());
        let id = "0190a5c4-1b2c-7d3e-8f40-123456789abc";
        for other_form in [id.replace('-', ""), format!("{{{id}}}"), format!("urn:uuid:{id}")] {
            assert!(parse_run_id(&other_form).is_none(), "{other_form}");
        }
    }
}
