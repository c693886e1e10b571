//! Match runs and match reads.
//!
//! A match run enriches whatever is missing or stale (the enrichment code's own steps),
//! reads every visible attendee's features and embeddings, runs the engine
//! (`mingle_core::matching`) on blocking threads, and writes the features it computed,
//! the attendees' profiles and the pairs together with its `succeeded` status, in one
//! transaction. Reads serve one run's rows: the one named by `run_id`, or the event's
//! latest with results.

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Arc;

use mingle_core::canonical::fingerprint;
use mingle_core::cursor::Position;
use mingle_core::goals::{GoalClassifier, CATEGORIES};
use mingle_core::matching::{
    self, policy::ALGORITHM, AnswerHead, Context, Direction, EventInput, MatchOptions, PairScore, Policy, Profile,
    RankedPair, TextTable,
};
use mingle_core::{parallel, IdempotencyKey, RunKind, RunStatus, Timestamp};
use mingle_store::models::{Features, Lease, MatchFilter, MatchProfile, MatchWrite, PageQuery, Run, StoredMatch};
use mingle_store::Store;
use serde_json::{json, Map, Value};

use crate::attendees::attendee_not_found;
use crate::enrichment::EnrichmentService;
use crate::events::event_not_found;
use crate::pagination::PageRequest;
use crate::runs::{Created, RunsService};
use crate::runs::{RunFailure, RunHandler};
use crate::sessions::session_not_found;
use crate::{Page, ServiceError};

#[derive(Clone)]
pub struct MatchingService {
    store: Arc<dyn Store>,
    runs: RunsService,
    enrichment: EnrichmentService,
}

/// What a run's reads report about it (from its metadata).
#[derive(Debug, Clone)]
pub struct MatchRunInfo {
    pub run_id: String,
    pub input_hash: String,
    pub algorithm_version: String,
    pub policy_version: String,
    pub context_snapshot_id: String,
    pub computed_at: Timestamp,
}

/// A quoted reason, seen from the principal.
#[derive(Debug, Clone, PartialEq)]
pub struct ReasonView {
    pub direction: Direction,
    pub need: String,
    pub offer: String,
    pub score: f64,
}

/// One pair seen from its principal.
#[derive(Debug, Clone)]
pub struct MatchView {
    pub match_id: String,
    pub principal: String,
    pub target: String,
    /// Oriented: `score_a_to_b` is how valuable the target is to the principal.
    pub score: PairScore,
    pub reasons: Vec<ReasonView>,
}

fn progress(attendees: usize, pairs_scored: u64, matches_written: usize) -> Map<String, Value> {
    json!({"attendees": attendees, "pairs_scored": pairs_scored, "matches_written": matches_written})
        .as_object()
        .cloned()
        .unwrap_or_default()
}

fn match_run_not_found(run_id: Option<&str>, event_id: &str) -> ServiceError {
    match run_id {
        Some(id) => ServiceError::not_found(
            "MATCH_RUN_NOT_FOUND",
            format!("No match run '{id}' with results in event '{event_id}'."),
            ("run_id", id),
        ),
        None => ServiceError::not_found(
            "MATCH_RUN_NOT_FOUND",
            format!("Event '{event_id}' has no match run with results yet."),
            ("event_id", event_id),
        ),
    }
}

/// The engine's pairs as stored rows, on `threads` threads (at 50,000 attendees there are
/// half a million, each with a hashed `match_id`).
fn stored_matches(run_id: &str, input: &EventInput, pairs: Vec<RankedPair>, threads: usize) -> Vec<StoredMatch> {
    let id = |i: u32| input.profiles[i as usize].attendee_id.as_str();
    parallel::map(pairs, threads, |p| StoredMatch {
        a_id: id(p.a).to_owned(),
        b_id: id(p.b).to_owned(),
        match_id: match_id(run_id, id(p.a), id(p.b)),
        a_rank: p.a_rank.map(i64::from),
        b_rank: p.b_rank.map(i64::from),
        score: p.score,
    })
}

/// The match's ID: derived from the run and the pair, so it is the same from both sides.
fn match_id(run_id: &str, a: &str, b: &str) -> String {
    let hash = fingerprint(&[run_id, a, b]);
    let mut bytes = [0u8; 16];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hash[2 * i..2 * i + 2], 16).unwrap_or(0);
    }
    uuid::Builder::from_custom_bytes(bytes).into_uuid().to_string()
}

fn text_of(map: &Value, key: &str) -> Option<String> {
    map.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn list_of(map: &Value, key: &str) -> Vec<String> {
    map.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// A page of `views` (one more than the limit when more remain) with each row's position.
fn paged(page: &PageRequest, views: Vec<MatchView>, positions: Vec<Position>) -> Page<MatchView> {
    let rows: Vec<(MatchView, Position)> = views.into_iter().zip(positions).collect();
    let p = page.finish(rows, |(_, position)| position.clone());
    Page { items: p.items.into_iter().map(|(v, _)| v).collect(), next: p.next }
}

/// Whether an attendee's profile passes the `goal` filter (given lower-cased).
fn goal_matches(p: &MatchProfile, goal: &str) -> bool {
    p.goal_category.as_deref() == Some(goal) || p.goal.as_ref().is_some_and(|g| g.to_lowercase().contains(goal))
}

impl MatchingService {
    pub fn new(store: Arc<dyn Store>, runs: RunsService, enrichment: EnrichmentService) -> Self {
        Self { store, runs, enrichment }
    }

    pub async fn start(
        &self,
        org_id: &str,
        event_id: &str,
        key: IdempotencyKey,
        webhook_url: Option<String>,
        top_n: u32,
        request_hash: String,
    ) -> Result<Created, ServiceError> {
        let payload = json!({"top_n": top_n}).to_string();
        self.runs
            .create_event_run(
                org_id,
                event_id,
                RunKind::Match,
                key,
                webhook_url,
                progress(0, 0, 0),
                request_hash,
                Some(&payload),
            )
            .await
    }

    // ---- Reads ----------------------------------------------------------------------

    async fn require_event(&self, org_id: &str, event_id: &str) -> Result<(), ServiceError> {
        self.store.get_event(org_id, event_id).await?.map(|_| ()).ok_or_else(|| event_not_found(event_id))
    }

    async fn require_attendee(&self, org_id: &str, event_id: &str, attendee_id: &str) -> Result<(), ServiceError> {
        if self.store.is_member(org_id, event_id, attendee_id).await? {
            Ok(())
        } else {
            Err(attendee_not_found(attendee_id))
        }
    }

    /// The run the reads serve: `run_id` when given (a match run of this event with
    /// results), else the event's latest with results.
    async fn resolve_run(&self, org_id: &str, event_id: &str, run_id: Option<&str>) -> Result<Run, ServiceError> {
        let run = match run_id {
            Some(id) => {
                let id = id.to_ascii_lowercase();
                let found = match uuid::Uuid::parse_str(&id) {
                    Ok(_) => self.store.get_run(org_id, &id).await?,
                    Err(_) => None,
                };
                found.filter(|r| {
                    r.kind == RunKind::Match
                        && r.event_id.as_deref() == Some(event_id)
                        && matches!(r.status, RunStatus::Succeeded | RunStatus::Partial)
                })
            }
            None => self.store.latest_match_run(org_id, event_id).await?,
        };
        run.ok_or_else(|| match_run_not_found(run_id, event_id))
    }

    fn info(run: &Run) -> MatchRunInfo {
        let text = |m: &Map<String, Value>, k: &str| m.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        MatchRunInfo {
            run_id: run.run_id.clone(),
            input_hash: text(&run.snapshot_metadata, "input_hash"),
            algorithm_version: text(&run.version_metadata, "algorithm_version"),
            policy_version: text(&run.version_metadata, "policy_version"),
            context_snapshot_id: text(&run.snapshot_metadata, "context_snapshot_id"),
            computed_at: run.terminal_at.unwrap_or(run.updated_at),
        }
    }

    /// Renders stored pairs from the given principals' side, quoting both profiles.
    async fn views(
        &self,
        org_id: &str,
        run_id: &str,
        rows: Vec<(StoredMatch, bool)>,
    ) -> Result<Vec<MatchView>, ServiceError> {
        let mut ids: Vec<String> = rows.iter().flat_map(|(m, _)| [m.a_id.clone(), m.b_id.clone()]).collect();
        ids.sort_unstable();
        ids.dedup();
        let profiles: HashMap<String, MatchProfile> = self
            .store
            .match_profiles(org_id, run_id, &ids)
            .await?
            .into_iter()
            .map(|p| (p.attendee_id.clone(), p))
            .collect();
        // Every stored pair's two profiles are written with it: a gap is a fault of ours.
        let profile = |id: &str| {
            profiles.get(id).ok_or_else(|| ServiceError::Internal(format!("run {run_id} has no profile of '{id}'")))
        };
        rows.into_iter()
            .map(|(m, from_a)| {
                let (principal, target, score) =
                    if from_a { (m.a_id, m.b_id, m.score) } else { (m.b_id, m.a_id, m.score.mirror()) };
                let (p, t) = (profile(&principal)?, profile(&target)?);
                let quote = |list: &[String], i: u16| {
                    list.get(i as usize).cloned().ok_or_else(|| {
                        ServiceError::Internal(format!(
                            "run {run_id}: a reason quotes item {i} of {} items",
                            list.len()
                        ))
                    })
                };
                let reasons = score
                    .reasons
                    .iter()
                    .map(|r| {
                        let (needer, offerer) = match r.direction {
                            Direction::NeedsToOffers => (p, t),
                            Direction::OffersToNeeds => (t, p),
                        };
                        Ok(ReasonView {
                            direction: r.direction,
                            need: quote(&needer.needs, r.need)?,
                            offer: quote(&offerer.offers, r.offer)?,
                            score: r.score,
                        })
                    })
                    .collect::<Result<Vec<_>, ServiceError>>()?;
                Ok(MatchView { match_id: m.match_id, principal, target, score, reasons })
            })
            .collect()
    }

    /// An attendee's matches, best first (by the attendee's rank of them).
    pub async fn attendee_matches(
        &self,
        org_id: &str,
        event_id: &str,
        attendee_id: &str,
        run_id: Option<&str>,
        page: &PageRequest,
    ) -> Result<(MatchRunInfo, Page<MatchView>), ServiceError> {
        self.require_event(org_id, event_id).await?;
        self.require_attendee(org_id, event_id, attendee_id).await?;
        // Without run_id, a cursor keeps serving the run its first page came from.
        let cursor_run = page.after.as_ref().and_then(|p| p.id.split_once('\u{1f}')).map(|(r, _)| r.to_owned());
        let run = self.resolve_run(org_id, event_id, run_id.or(cursor_run.as_deref())).await?;
        let rank_of = |m: &StoredMatch| if m.a_id == attendee_id { m.a_rank } else { m.b_rank }.unwrap_or(i64::MAX);
        let mut rows = self.store.attendee_matches(org_id, &run.run_id, attendee_id).await?;
        rows.sort_by_key(rank_of);
        let after = page.after.as_ref().map_or(0, |p| p.key);
        let rows: Vec<(StoredMatch, bool)> = rows
            .into_iter()
            .filter(|m| rank_of(m) > after)
            .take(page.limit as usize + 1)
            .map(|m| {
                let from_a = m.a_id == attendee_id;
                (m, from_a)
            })
            .collect();
        let run_id = run.run_id.clone();
        let positions: Vec<Position> = rows
            .iter()
            .map(|(m, from_a)| {
                let target = if *from_a { &m.b_id } else { &m.a_id };
                Position { key: rank_of(m), id: format!("{run_id}\u{1f}{target}") }
            })
            .collect();
        let views = self.views(org_id, &run.run_id, rows).await?;
        let page = paged(page, views, positions);
        Ok((Self::info(&run), page))
    }

    /// The event's pairs, each once, by `final_score` descending.
    pub async fn event_matches(
        &self,
        org_id: &str,
        event_id: &str,
        session_id: Option<&str>,
        goal: Option<&str>,
        run_id: Option<&str>,
        page: &PageRequest,
    ) -> Result<(MatchRunInfo, Page<MatchView>), ServiceError> {
        self.require_event(org_id, event_id).await?;
        if let Some(session_id) = session_id {
            let session = self.store.get_session(org_id, session_id).await?;
            if session.is_none_or(|s| s.event_id != event_id) {
                return Err(session_not_found(session_id, event_id));
            }
        }
        let cursor = page.after.as_ref().and_then(|p| {
            let mut parts = p.id.splitn(2, '\u{1f}');
            Some((parts.next()?.to_owned(), parts.next()?.to_owned(), p.key))
        });
        let run = self.resolve_run(org_id, event_id, run_id.or(cursor.as_ref().map(|c| c.0.as_str()))).await?;
        let goal = goal.map(str::to_lowercase).filter(|g| !g.is_empty());
        let filter = MatchFilter { session_id: session_id.map(str::to_owned), goal: goal.clone() };
        let query = PageQuery { after: cursor.map(|(_, pair, key)| Position { key, id: pair }), limit: page.limit + 1 };
        let rows = self.store.event_matches(org_id, &run.run_id, &filter, &query).await?;
        // Shown from the smaller ID, or, with a goal filter, from the side whose goal
        // passes it (the smaller ID when both do).
        let oriented: Vec<(StoredMatch, bool)> = match &goal {
            None => rows.into_iter().map(|m| (m, true)).collect(),
            Some(g) => {
                let ids: Vec<String> = rows.iter().map(|m| m.a_id.clone()).collect();
                let passing: std::collections::HashSet<String> = self
                    .store
                    .match_profiles(org_id, &run.run_id, &ids)
                    .await?
                    .into_iter()
                    .filter(|p| goal_matches(p, g))
                    .map(|p| p.attendee_id)
                    .collect();
                rows.into_iter()
                    .map(|m| {
                        let from_a = passing.contains(&m.a_id);
                        (m, from_a)
                    })
                    .collect()
            }
        };
        let run_id = run.run_id.clone();
        let positions: Vec<Position> = oriented
            .iter()
            .map(|(m, _)| Position { key: m.final_key(), id: format!("{run_id}\u{1f}{}\u{1f}{}", m.a_id, m.b_id) })
            .collect();
        let views = self.views(org_id, &run.run_id, oriented).await?;
        let page = paged(page, views, positions);
        Ok((Self::info(&run), page))
    }

    /// One ordered pair.
    pub async fn pair(
        &self,
        org_id: &str,
        event_id: &str,
        principal: &str,
        target: &str,
        run_id: Option<&str>,
    ) -> Result<(MatchRunInfo, MatchView), ServiceError> {
        self.require_event(org_id, event_id).await?;
        self.require_attendee(org_id, event_id, principal).await?;
        self.require_attendee(org_id, event_id, target).await?;
        let run = self.resolve_run(org_id, event_id, run_id).await?;
        let stored = self.store.get_match(org_id, &run.run_id, principal, target).await?.ok_or_else(|| {
            ServiceError::not_found(
                "MATCH_NOT_FOUND",
                format!("No match of '{principal}' and '{target}' in run '{}'.", run.run_id),
                ("target_partner_id", target),
            )
        })?;
        let from_a = stored.a_id == principal;
        let view = self.views(org_id, &run.run_id, vec![(stored, from_a)]).await?.remove(0);
        Ok((Self::info(&run), view))
    }
}

#[async_trait]
impl RunHandler for MatchingService {
    async fn process(&self, run: &Run, lease: &Lease) -> Result<(), RunFailure> {
        let event_id = run.event_id.clone().ok_or_else(|| RunFailure::internal("a match run without an event"))?;
        let org_id = run.org_id.as_str();
        let payload: Value = self
            .store
            .run_payload(org_id, &run.run_id)
            .await?
            .and_then(|p| serde_json::from_str(&p).ok())
            .ok_or_else(|| RunFailure::internal("the match run's request is missing"))?;
        let top_n = payload["top_n"].as_u64().unwrap_or(10) as usize;
        let started = std::time::Instant::now();
        let phase =
            |name: &str| tracing::info!(phase = name, elapsed_ms = started.elapsed().as_millis() as u64, "match run");
        let encoder = self.enrichment.encoder().await?;
        let event = self
            .store
            .get_event(org_id, &event_id)
            .await?
            .ok_or_else(|| RunFailure::internal("the match run's event is gone"))?;
        let context = Context {
            event_details: event.event_details.clone(),
            objectives: event.objectives.clone(),
            welcome_instructions: event.welcome_instructions.clone(),
        };

        // Enrich what is missing or stale first; its features are written with the results.
        let inputs = self.store.enrichment_inputs(org_id, &event_id).await?;
        let (todo, _) = EnrichmentService::stale(&inputs, encoder.model_id());
        let fresh = self.enrichment.features(org_id, &encoder, todo).await?;
        let mut features: HashMap<String, Features> = self
            .store
            .event_features(org_id, &event_id)
            .await?
            .into_iter()
            .map(|f| (f.attendee_id.clone(), f))
            .collect();
        features.extend(fresh.iter().map(|f| (f.attendee_id.clone(), f.clone())));

        // Visible attendees (inputs come sorted by attendee_id) and every text they show.
        let hidden = |v: &Option<String>| v.as_deref().is_some_and(|v| v.trim().eq_ignore_ascii_case("hidden"));
        let visible: Vec<_> = inputs.iter().filter(|i| !hidden(&i.answers.visibility)).collect();
        if let Some(i) = visible.iter().find(|i| !features.contains_key(&i.attendee_id)) {
            return Err(RunFailure::internal(format!("attendee '{}' has no features after enrichment", i.attendee_id)));
        }
        let mut texts: Vec<String> = context.objectives().map(str::to_owned).into_iter().collect();
        for i in &visible {
            let f = &features[&i.attendee_id].features;
            texts.extend(text_of(f, "goal"));
            for key in ["needs", "offers", "interests"] {
                texts.extend(list_of(f, key));
            }
        }
        phase("enriched");
        let vectors = self.enrichment.embed(org_id, &encoder, texts).await?;
        phase("embeddings read");
        if !self.store.set_progress(lease, &progress(visible.len(), 0, 0), Timestamp::now()).await? {
            return Err(RunFailure::lost());
        }

        let mut table = TextTable::with_capacity(encoder.dimension(), vectors.len());
        let mut rows: HashMap<String, u32> = HashMap::new();
        let dimension = encoder.dimension();
        let mut missing: Option<String> = None;
        let mut row = |text: String| -> u32 {
            if let Some(r) = rows.get(&text) {
                return *r;
            }
            let r = match vectors.get(&text).filter(|v| v.len() == dimension) {
                Some(v) => table.push(text.clone(), v),
                None => {
                    // Reported below as the run's failure; a zero vector keeps the rows aligned.
                    missing.get_or_insert_with(|| text.clone());
                    table.push(text.clone(), &vec![0.0; dimension])
                }
            };
            rows.insert(text, r);
            r
        };
        let objectives = context.objectives().map(|o| row(o.to_owned()));
        let mut profiles = Vec::with_capacity(visible.len());
        let mut snapshot = Vec::with_capacity(visible.len());
        let mut hash_parts: Vec<String> = Vec::with_capacity(visible.len());
        for i in &visible {
            let f = &features[&i.attendee_id];
            let goal = text_of(&f.features, "goal");
            let (needs, offers) = (list_of(&f.features, "needs"), list_of(&f.features, "offers"));
            let category = f
                .goal_category
                .as_deref()
                .and_then(|c| CATEGORIES.iter().position(|x| *x == c))
                .map(|c| (c, f.goal_score.unwrap_or(0.0)));
            profiles.push(Profile {
                attendee_id: i.attendee_id.clone(),
                goal: goal.clone().map(&mut row),
                category,
                needs: needs.iter().cloned().map(&mut row).collect(),
                offers: offers.iter().cloned().map(&mut row).collect(),
                interests: list_of(&f.features, "interests").into_iter().map(&mut row).collect(),
            });
            let sessions = i.answers.sessions.clone().unwrap_or_default();
            hash_parts.push(format!("{}\u{1f}{}\u{1f}{}", i.attendee_id, f.input_hash, sessions.join("\u{1e}")));
            snapshot.push(MatchProfile {
                attendee_id: i.attendee_id.clone(),
                goal,
                goal_category: f.goal_category.clone(),
                needs,
                offers,
                sessions,
            });
        }
        if let Some(text) = missing {
            return Err(RunFailure::internal(format!("no usable embedding for the text {text:?}")));
        }
        drop(vectors);
        // Objectives read as a goal (the goal head), when it is confident.
        let objectives_category =
            objectives.map(|o| GoalClassifier::bundled().classify(table.text(o), table.vector(o)));
        let objectives_category = objectives_category
            .filter(|c| c.probability >= 0.5)
            .and_then(|c| CATEGORIES.iter().position(|x| *x == c.category));
        let policy = Policy::for_context(&context, objectives_category);
        let input = EventInput { texts: table, profiles, objectives };

        phase("input built");
        // Each search thread keeps a top-k of every attendee (about 200 MiB at 50,000), so
        // more threads buy little and cost memory.
        let threads = parallel::available().min(4);
        let options = MatchOptions { top_n, threads, exhaustive: false };
        let run_id = run.run_id.clone();
        let (policy, outcome, pairs) = tokio::task::spawn_blocking(move || {
            let mut outcome = matching::match_event(&input, &policy, options);
            let pairs = stored_matches(&run_id, &input, std::mem::take(&mut outcome.pairs), threads);
            (policy, outcome, pairs)
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "the matching engine failed");
            RunFailure::internal("The matching engine failed; it can be retried with a new idempotency key.")
        })?;

        for (step, took) in &outcome.timings {
            tracing::info!(step, ms = took.as_millis() as u64, "match engine");
        }
        phase("scored");
        let algorithm_version =
            format!("{ALGORITHM}+{}+{}", AnswerHead::bundled().version(), GoalClassifier::bundled().version());
        let policy_version = policy.version();
        let context_snapshot_id = context.snapshot_id();
        let top = top_n.to_string();
        let mut parts: Vec<&str> =
            vec![&algorithm_version, &policy_version, &context_snapshot_id, &top, encoder.model_id()];
        parts.extend(hash_parts.iter().map(String::as_str));
        let input_hash = fingerprint(&parts);
        let write = MatchWrite {
            features: fresh,
            profiles: snapshot,
            progress: progress(visible.len(), outcome.pairs_scored, pairs.len()),
            pairs,
            snapshot_metadata: json!({"input_hash": input_hash, "context_snapshot_id": context_snapshot_id,
                "top_n": top_n, "attendees": visible.len()})
            .as_object()
            .cloned()
            .unwrap_or_default(),
            version_metadata: json!({"algorithm_version": algorithm_version, "policy_version": policy_version,
                "model_id": encoder.model_id()})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        };
        let saved = self.store.save_matches(lease, &event_id, &write, Timestamp::now()).await?;
        phase("written");
        if saved {
            Ok(())
        } else {
            Err(RunFailure::lost())
        }
    }
}
