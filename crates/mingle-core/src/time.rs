//! Timestamps: stored as milliseconds since the Unix epoch, shown as RFC 3339 UTC with
//! millisecond precision (`2026-09-10T13:00:00.000Z`).

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn now() -> Self {
        Self(Utc::now().timestamp_millis())
    }

    pub fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    /// Parses any RFC 3339 timestamp (any offset, any precision); sub-millisecond
    /// digits are truncated.
    /// RFC 3339's `date-time`: `T` (or `t`) between date and time, a year from 0001
    /// (chrono also reads a space there, and year 0, which JSON Schema validators refuse).
    pub fn parse_rfc3339(value: &str) -> Option<Self> {
        let separated = matches!(value.as_bytes().get(10), Some(b'T' | b't'));
        let t = DateTime::parse_from_rfc3339(value).ok().filter(|t| separated && t.year() >= 1)?;
        Some(Self(t.timestamp_millis()))
    }

    pub fn to_rfc3339(self) -> String {
        DateTime::<Utc>::from_timestamp_millis(self.0).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

/// Parses a calendar date `YYYY-MM-DD` (exactly that shape, a real date).
pub fn parse_date(value: &str) -> Option<NaiveDate> {
    let shaped = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shaped {
        return None;
    }
    // Year 0 is in chrono's calendar and RFC 3339's grammar, but JSON Schema validators
    // (Python's, which schemathesis and many clients use) refuse it for `format: date`.
    NaiveDate::parse_from_str(value, "%Y-%m-%d").ok().filter(|d| d.year() >= 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_in_utc_millis() {
        let t = Timestamp::parse_rfc3339("2026-09-10T09:00:00-04:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-09-10T13:00:00.000Z");
        let t = Timestamp::parse_rfc3339("2026-09-10T13:00:00.123456Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-09-10T13:00:00.123Z");
        assert!(Timestamp::parse_rfc3339("2026-09-10 13:00").is_none());
    }

    #[test]
    fn dates() {
        assert!(parse_date("2026-02-28").is_some());
        assert!(parse_date("2026-02-30").is_none());
        assert!(parse_date("2026-2-28").is_none());
        assert!(parse_date("2026-09-10T00:00:00Z").is_none());
    }
}
