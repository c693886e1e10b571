//! The rows the store reads and writes, independent of any database.

use mingle_core::event::ContextPatch;
use mingle_core::{RunKind, RunStatus, Scope, Timestamp};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct Org {
    pub org_id: String,
    pub name: String,
    pub webhook_secret: String,
    pub cursor_key: Vec<u8>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    Disabled,
    Revoked,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Disabled => "disabled",
            AccountStatus::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            AccountStatus::Active,
            AccountStatus::Disabled,
            AccountStatus::Revoked,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceAccount {
    pub org_id: String,
    pub service_account_id: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub status: AccountStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A token as stored: only its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRow {
    pub org_id: String,
    pub token_id: String,
    pub service_account_id: String,
    pub token_hash: Vec<u8>,
    pub created_at: Timestamp,
}

/// What authentication needs to know about a presented token, read in one query.
#[derive(Debug, Clone, PartialEq)]
pub struct Credential {
    pub token_hash: Vec<u8>,
    pub token_revoked: bool,
    pub account: ServiceAccount,
    pub cursor_key: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub event_id: String,
    pub title: String,
    pub description: Option<String>,
    pub event_details: Option<String>,
    pub objectives: Option<String>,
    pub welcome_instructions: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub timezone: Option<String>,
    pub visibility: Option<String>,
    pub url_slug: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The change `POST /events/:event_id/context` makes.
pub type EventContextPatch = ContextPatch;

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub session_id: String,
    pub event_id: String,
    pub title: String,
    pub description: Option<String>,
    pub start_timestamp: Option<Timestamp>,
    pub end_timestamp: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub org_id: String,
    pub run_id: String,
    pub kind: RunKind,
    pub status: RunStatus,
    pub event_id: Option<String>,
    pub idempotency_key: String,
    pub request_hash: String,
    pub progress: Map<String, Value>,
    pub error: Option<Value>,
    pub snapshot_metadata: Map<String, Value>,
    pub version_metadata: Map<String, Value>,
    pub webhook_url: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub terminal_at: Option<Timestamp>,
}

/// What inserting a run under an idempotency key did.
#[derive(Debug, Clone, PartialEq)]
pub enum RunInsert {
    /// The key was new: the run was written.
    Created,
    /// The key was taken: the run that holds it.
    Existing(Box<Run>),
}

/// The partner-ID kinds an org holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MappedKind {
    Event,
    Session,
    Attendee,
}

impl MappedKind {
    pub fn parse(kind: &str) -> Option<Self> {
        match kind {
            "event" => Some(MappedKind::Event),
            "session" => Some(MappedKind::Session),
            "attendee" => Some(MappedKind::Attendee),
            _ => None,
        }
    }
}

/// One page request: rows strictly after `after` in the list's order, at most `limit`.
#[derive(Debug, Clone, Default)]
pub struct PageQuery {
    pub after: Option<mingle_core::cursor::Position>,
    pub limit: u32,
}
