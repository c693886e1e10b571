//! Attendee imports: the request becomes a queued run carrying its validated rows; the
//! worker then resolves identities and applies the whole import in one transaction,
//! together with the run's `succeeded` status. Until then nothing of it is visible, and
//! a crash at any point leaves either nothing or everything.

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Arc;

use mingle_core::identity::{anchors_of, Known, Outcome, Resolver, Subject};
use mingle_core::import::{AttendeeRow, EventAnswers, ImportDraft};
use mingle_core::{RunKind, Timestamp};
use mingle_store::models::*;
use mingle_store::Store;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::runs::{Created, RunsService};
use crate::runs::{RunFailure, RunHandler};
use crate::ServiceError;

#[derive(Clone)]
pub struct ImportsService {
    store: Arc<dyn Store>,
    runs: RunsService,
}

/// Progress counters of an import run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub total: usize,
    pub processed: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub review_required: usize,
    pub failed: usize,
}

impl ImportCounts {
    pub fn to_json(self) -> Map<String, Value> {
        let v = json!({"total": self.total, "processed": self.processed, "created": self.created,
            "updated": self.updated, "unchanged": self.unchanged, "review_required": self.review_required,
            "failed": self.failed});
        v.as_object().cloned().unwrap_or_default()
    }
}

/// Rows between two progress reports while a run works.
const PROGRESS_EVERY: usize = 5_000;

impl ImportsService {
    pub fn new(store: Arc<dyn Store>, runs: RunsService) -> Self {
        Self { store, runs }
    }

    /// Queues an import (202), or returns the run an identical earlier call created.
    pub async fn start(
        &self,
        org_id: &str,
        event_id: &str,
        draft: ImportDraft,
        request_hash: String,
    ) -> Result<Created, ServiceError> {
        let counts = ImportCounts { total: draft.rows.len(), ..ImportCounts::default() };
        let payload = serde_json::to_string(&draft.rows).map_err(|e| ServiceError::Internal(e.to_string()))?;
        self.runs
            .create_event_run(
                org_id,
                event_id,
                RunKind::Import,
                draft.idempotency_key,
                draft.webhook_url,
                counts.to_json(),
                request_hash,
                Some(&payload),
            )
            .await
    }
}

#[async_trait]
impl RunHandler for ImportsService {
    /// Executes a claimed import run under `lease`.
    async fn process(&self, run: &Run, lease: &Lease) -> Result<(), RunFailure> {
        let event_id = run.event_id.clone().ok_or_else(|| RunFailure::internal("an import run without an event"))?;
        let payload = self
            .store
            .run_payload(&run.org_id, &run.run_id)
            .await
            .map_err(RunFailure::from)?
            .ok_or_else(|| RunFailure::internal("the import's rows are missing"))?;
        let rows: Vec<AttendeeRow> = serde_json::from_str(&payload).map_err(|e| RunFailure::internal(e.to_string()))?;
        // Normalize every row first (the work that scales with the import), reporting
        // progress as it goes; nothing is visible until the final transaction.
        let mut prepared = Vec::with_capacity(rows.len());
        let mut counts = ImportCounts { total: rows.len(), ..ImportCounts::default() };
        for (i, row) in rows.into_iter().enumerate() {
            prepared.push(Prepared::new(row));
            if (i + 1) % PROGRESS_EVERY == 0 && i + 1 < counts.total {
                counts.processed = i + 1;
                let still_ours = self.store.set_progress(lease, &counts.to_json(), Timestamp::now()).await?;
                if !still_ours {
                    return Err(RunFailure::lost());
                }
            }
        }
        let query = snapshot_query(&prepared);
        let run_id = run.run_id.clone();
        let total = counts.total;
        let event = event_id.clone();
        let plan = Box::new(move |snapshot: ImportSnapshot| {
            plan_import(&snapshot, prepared, &event, &run_id, total, Timestamp::now())
        });
        if self.store.apply_import(lease, &event_id, &query, plan, Timestamp::now()).await? {
            Ok(())
        } else {
            Err(RunFailure::lost())
        }
    }
}

/// One row with what identity resolution and the event block need from it.
struct Prepared {
    row: AttendeeRow,
    anchors: Vec<Anchor>,
    answers: EventAnswers,
}

impl Prepared {
    fn new(row: AttendeeRow) -> Self {
        let anchors = anchors_of(row.email.as_deref(), row.linkedin_url.as_deref());
        let answers = EventAnswers::from_raw(row.raw_data.as_ref());
        Self { row, anchors, answers }
    }
}

fn snapshot_query(rows: &[Prepared]) -> SnapshotQuery {
    let mut q = SnapshotQuery::default();
    for p in rows {
        q.attendee_ids.push(p.row.attendee_id.clone());
        q.anchors.extend(p.anchors.iter().cloned());
        if let Some(company) = p.row.company.as_deref() {
            let key = (mingle_core::identity::fold(&p.row.name), mingle_core::identity::fold(company));
            if !key.0.is_empty() && !key.1.is_empty() {
                q.name_company.push(key);
            }
        }
    }
    q.anchors.sort();
    q.anchors.dedup();
    q
}

fn known(a: &Attendee) -> Known {
    Known {
        attendee_id: a.attendee_id.clone(),
        person_id: a.person_id.clone(),
        name: a.name.clone(),
        company: a.company.clone(),
        anchors: a.anchors.clone(),
    }
}

/// What every decision of one import shares.
struct DecisionContext<'a> {
    event_id: &'a str,
    run_id: &'a str,
    now: Timestamp,
}

impl DecisionContext<'_> {
    fn decision(
        &self,
        attendee_id: &str,
        kind: DecisionKind,
        anchors: Vec<Anchor>,
        other: Option<&str>,
        reason: &str,
    ) -> Decision {
        Decision {
            decision_id: Uuid::now_v7().to_string(),
            attendee_id: attendee_id.to_owned(),
            kind,
            event_id: Some(self.event_id.to_owned()),
            run_id: Some(self.run_id.to_owned()),
            review_id: None,
            anchors,
            other: other.map(|o| PartyRef { kind: "attendee".into(), partner_id: o.to_owned() }),
            reason: reason.to_owned(),
            verdict: None,
            created_at: self.now,
        }
    }
}

/// Decides what an import writes, given what is stored: the identity rules of the
/// engine applied row by row, each row seeing the rows before it.
fn plan_import(
    snapshot: &ImportSnapshot,
    rows: Vec<Prepared>,
    event_id: &str,
    run_id: &str,
    total: usize,
    now: Timestamp,
) -> ImportPlan {
    let stored: HashMap<&str, &Attendee> = snapshot.attendees.iter().map(|a| (a.attendee_id.as_str(), a)).collect();
    let members: HashMap<&str, &Membership> =
        snapshot.memberships.iter().map(|m| (m.attendee_id.as_str(), m)).collect();
    let mut resolver = Resolver::new(snapshot.distinct.iter().cloned());
    for a in snapshot.attendees.iter().filter(|a| a.merged_into.is_none()) {
        resolver.add(known(a));
    }
    let ctx = DecisionContext { event_id, run_id, now };
    let mut plan = ImportPlan::default();
    let mut counts = ImportCounts { total, ..ImportCounts::default() };
    for mut p in rows {
        // A row naming a merged alias updates the attendee it was merged into.
        let existing = stored.get(p.row.attendee_id.as_str()).map(|a| match &a.merged_into {
            Some(target) => stored.get(target.as_str()).copied().unwrap_or(a),
            None => a,
        });
        // The row's answers move into its membership (no copy of raw_data).
        let raw_data = p.row.raw_data.take();
        let answers = std::mem::take(&mut p.answers);
        let membership = |attendee_id: &str, previous: Option<&Membership>, raw_data, answers| Membership {
            event_id: event_id.to_owned(),
            attendee_id: attendee_id.to_owned(),
            onboarded_at: previous.and_then(|m| m.onboarded_at),
            joined_at: Some(previous.and_then(|m| m.joined_at).unwrap_or(now)),
            created_at: previous.map_or(now, |m| m.created_at),
            updated_at: now,
            raw_data,
            answers,
        };
        let row = &p.row;
        match existing {
            Some(current) => {
                let mut anchors = current.anchors.clone();
                for a in &p.anchors {
                    if !anchors.contains(a) {
                        anchors.push(a.clone());
                    }
                }
                let record = Attendee {
                    name: row.name.clone(),
                    email: row.email.clone(),
                    linkedin_url: row.linkedin_url.clone(),
                    title: row.title.clone(),
                    company: row.company.clone(),
                    anchors,
                    updated_at: now,
                    ..(*current).clone()
                };
                let record_changed = (
                    &record.name,
                    &record.email,
                    &record.linkedin_url,
                    &record.title,
                    &record.company,
                    &record.anchors,
                ) != (
                    &current.name,
                    &current.email,
                    &current.linkedin_url,
                    &current.title,
                    &current.company,
                    &current.anchors,
                );
                let previous = members.get(current.attendee_id.as_str()).copied();
                let answers_changed = previous.is_none_or(|m| m.raw_data != raw_data || m.answers != answers);
                if record_changed {
                    plan.attendees.push(record);
                }
                if answers_changed {
                    plan.memberships.push(membership(&current.attendee_id, previous, raw_data, answers));
                }
                if record_changed || answers_changed {
                    counts.updated += 1;
                } else {
                    counts.unchanged += 1;
                }
            }
            None => {
                let subject = Subject {
                    attendee_id: &row.attendee_id,
                    name: &row.name,
                    company: row.company.as_deref(),
                    anchors: &p.anchors,
                };
                let outcome = resolver.resolve(&subject);
                let fresh_person = || Uuid::new_v4().to_string();
                let person_id = match &outcome {
                    Outcome::AutoLinked { person_id, .. } => person_id.clone(),
                    _ => fresh_person(),
                };
                let d = match outcome {
                    Outcome::Minted => ctx.decision(
                        &row.attendee_id,
                        DecisionKind::Minted,
                        p.anchors.clone(),
                        None,
                        "No anchor matches another attendee: a new person.",
                    ),
                    Outcome::AutoLinked { candidate, anchors, .. } => ctx.decision(
                        &row.attendee_id,
                        DecisionKind::AutoLinked,
                        anchors,
                        Some(&candidate),
                        "An anchor matches exactly one person and the names agree.",
                    ),
                    Outcome::Review { candidate, clash, anchors, evidence } => {
                        let review_id = Uuid::new_v4().to_string();
                        plan.reviews.push(Review {
                            review_id: review_id.clone(),
                            attendee_id: row.attendee_id.clone(),
                            event_id: event_id.to_owned(),
                            candidate_id: candidate.clone(),
                            clash: clash.code().to_owned(),
                            reason: clash.reason().to_owned(),
                            evidence,
                            status: ReviewStatus::Open,
                            decision_reason: None,
                            run_id: Some(run_id.to_owned()),
                            created_at: now,
                            resolved_at: None,
                        });
                        counts.review_required += 1;
                        let mut d = ctx.decision(
                            &row.attendee_id,
                            DecisionKind::ReviewOpened,
                            anchors,
                            Some(&candidate),
                            clash.reason(),
                        );
                        d.review_id = Some(review_id);
                        d
                    }
                };
                plan.decisions.push(d);
                let record = Attendee {
                    attendee_id: row.attendee_id.clone(),
                    person_id,
                    name: row.name.clone(),
                    email: row.email.clone(),
                    linkedin_url: row.linkedin_url.clone(),
                    title: row.title.clone(),
                    company: row.company.clone(),
                    merged_into: None,
                    anchors: p.anchors.clone(),
                    created_at: now,
                    updated_at: now,
                };
                resolver.add(known(&record));
                plan.attendees.push(record);
                plan.memberships.push(membership(&row.attendee_id, None, raw_data, answers));
                counts.created += 1;
            }
        }
        counts.processed += 1;
    }
    plan.progress = counts.to_json();
    plan
}
