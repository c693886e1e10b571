//! Run kinds and statuses.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunKind {
    Import,
    Enrichment,
    Match,
}

impl RunKind {
    pub const ALL: [RunKind; 3] = [RunKind::Import, RunKind::Enrichment, RunKind::Match];

    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Import => "import",
            RunKind::Enrichment => "enrichment",
            RunKind::Match => "match",
        }
    }
}

impl FromStr for RunKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        RunKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or(())
    }
}

impl fmt::Display for RunKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    Queued,
    Running,
    Succeeded,
    Partial,
    Failed,
}

impl RunStatus {
    pub const ALL: [RunStatus; 5] =
        [RunStatus::Queued, RunStatus::Running, RunStatus::Succeeded, RunStatus::Partial, RunStatus::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, RunStatus::Succeeded | RunStatus::Partial | RunStatus::Failed)
    }
}

impl FromStr for RunStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        RunStatus::ALL.into_iter().find(|k| k.as_str() == s).ok_or(())
    }
}

/// A validated `POST /runs` body: a run recorded outside event scope.
#[derive(Debug, Clone, PartialEq)]
pub struct GenericRunDraft {
    pub kind: RunKind,
    pub idempotency_key: crate::IdempotencyKey,
    pub progress: serde_json::Map<String, serde_json::Value>,
    pub snapshot_metadata: serde_json::Map<String, serde_json::Value>,
    pub version_metadata: serde_json::Map<String, serde_json::Value>,
    pub webhook_url: Option<String>,
}

impl GenericRunDraft {
    pub fn parse(
        body: &serde_json::Map<String, serde_json::Value>,
        webhook_insecure: bool,
    ) -> Result<Self, crate::ValidationError> {
        use crate::validate::{Fields, MAX_METADATA_BYTES};
        let f = Fields::new(body);
        let kind = parse_kind(f.get("kind"))?;
        let idempotency_key = parse_idempotency_key(f.get("idempotency_key"))?;
        let object = |name: &str, code: &'static str| {
            f.optional_object(name, MAX_METADATA_BYTES, code).map(Option::unwrap_or_default)
        };
        let progress = object("progress", "INVALID_PROGRESS")?;
        // The counters mingle's own runs report are counts wherever they appear, so a
        // run's `progress` reads the same whoever wrote it.
        if let Some(name) = PROGRESS_COUNTERS.iter().find(|k| progress.get(**k).is_some_and(|v| !is_count(v))) {
            return Err(crate::ValidationError::new(
                "INVALID_PROGRESS",
                "progress",
                format!("'progress.{name}' must be a non-negative integer."),
            ));
        }
        let snapshot_metadata = object("snapshot_metadata", "INVALID_SNAPSHOT_METADATA")?;
        let version_metadata = object("version_metadata", "INVALID_VERSION_METADATA")?;
        let webhook_url = parse_webhook_url(f.get("webhook_url"), webhook_insecure)?;
        Ok(Self { kind, idempotency_key, progress, snapshot_metadata, version_metadata, webhook_url })
    }
}

/// The counters of `progress`: an import's, an enrichment's, then a match run's.
pub const PROGRESS_COUNTERS: [&str; 12] = [
    "total",
    "processed",
    "created",
    "updated",
    "unchanged",
    "review_required",
    "failed",
    "enriched",
    "skipped",
    "attendees",
    "pairs_scored",
    "matches_written",
];

/// `kind` of a run, as a body field or a query filter (`INVALID_RUN_KIND`).
pub fn parse_kind(value: Option<&serde_json::Value>) -> Result<RunKind, crate::ValidationError> {
    value.and_then(|v| v.as_str()).and_then(|s| s.parse().ok()).ok_or_else(|| {
        crate::ValidationError::new("INVALID_RUN_KIND", "kind", "'kind' must be one of import, enrichment, match.")
    })
}

/// The required `idempotency_key` of every run-creating call.
pub fn parse_idempotency_key(
    value: Option<&serde_json::Value>,
) -> Result<crate::IdempotencyKey, crate::ValidationError> {
    value.and_then(|v| v.as_str()).and_then(crate::IdempotencyKey::parse).ok_or_else(|| {
        crate::ValidationError::new(
            "INVALID_IDEMPOTENCY_KEY",
            "idempotency_key",
            "'idempotency_key' is required: 1-255 printable ASCII characters.",
        )
    })
}

/// The optional `webhook_url` of every run-creating call.
pub fn parse_webhook_url(
    value: Option<&serde_json::Value>,
    insecure: bool,
) -> Result<Option<String>, crate::ValidationError> {
    value.map(|v| crate::validate::webhook_url(v, insecure)).transpose()
}

/// The default and the bounds of a match run's `top_n`.
pub const DEFAULT_TOP_N: u32 = 10;
pub const MAX_TOP_N: u32 = 50;

/// Whether a JSON value is a whole number at least 0. `10.0` is one: JSON (and JSON
/// Schema's `integer`) does not tell it from `10`.
pub fn is_count(v: &serde_json::Value) -> bool {
    // At most u64::MAX: clients read counts into 64-bit integers.
    v.as_u64().is_some() || v.as_f64().is_some_and(|f| (0.0..=u64::MAX as f64).contains(&f) && f.fract() == 0.0)
}

/// The optional `top_n` of a match run: a whole number 1-50 (`10.0` is `10`; `"10"` is
/// not a number), 10 when absent (`INVALID_TOP_N` otherwise).
pub fn parse_top_n(value: Option<&serde_json::Value>) -> Result<u32, crate::ValidationError> {
    let Some(v) = value else { return Ok(DEFAULT_TOP_N) };
    let whole = v.as_f64().filter(|f| f.fract() == 0.0 && (1.0..=MAX_TOP_N as f64).contains(f));
    whole.map(|n| n as u32).ok_or_else(|| {
        crate::ValidationError::new(
            "INVALID_TOP_N",
            "top_n",
            format!("'top_n' must be an integer from 1 to {MAX_TOP_N}."),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn top_n_is_an_integer_from_1_to_50() {
        assert_eq!(parse_top_n(None), Ok(10));
        assert_eq!(parse_top_n(Some(&json!(1))), Ok(1));
        assert_eq!(parse_top_n(Some(&json!(50))), Ok(50));
        // JSON does not tell 17.0 from 17.
        assert_eq!(parse_top_n(Some(&json!(17.0))), Ok(17));
        // Found by scripts/fuzz: parsed exactly, a large whole number stays whole.
        let big: serde_json::Value = serde_json::from_str("3861799208039110.0").unwrap();
        assert!(is_count(&big), "{big}");
        for bad in [json!(0), json!(51), json!(-1), json!(50.5), json!(2.5), json!("10"), json!([10])] {
            let e = parse_top_n(Some(&bad)).unwrap_err();
            assert_eq!((e.code, e.details["field"].as_str()), ("INVALID_TOP_N", Some("top_n")), "{bad}");
        }
    }

    #[test]
    fn generic_runs_validate_in_reference_order() {
        let parse = |v: serde_json::Value| GenericRunDraft::parse(v.as_object().unwrap(), false);
        assert_eq!(parse(json!({"kind": "x"})).unwrap_err().code, "INVALID_RUN_KIND");
        assert_eq!(parse(json!({"kind": "match"})).unwrap_err().code, "INVALID_IDEMPOTENCY_KEY");
        assert_eq!(
            parse(json!({"kind": "match", "idempotency_key": "k", "progress": [], "webhook_url": "x"}))
                .unwrap_err()
                .code,
            "INVALID_PROGRESS"
        );
        assert_eq!(
            parse(json!({"kind": "match", "idempotency_key": "k", "version_metadata": 1})).unwrap_err().code,
            "INVALID_VERSION_METADATA"
        );
        let ok = parse(json!({"kind": "import", "idempotency_key": "k", "progress": null})).unwrap();
        assert!(ok.progress.is_empty());
        assert_eq!(ok.webhook_url, None);
    }
}
