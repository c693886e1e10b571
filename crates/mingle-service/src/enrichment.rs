//! Enrichment runs: each attendee's answers become features (normalized texts, goal
//! category, seniority and function) and their texts become embeddings, cached per org
//! and model by text hash so no text is encoded twice. Attendees whose inputs did not
//! change since their last enrichment are skipped.

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use mingle_core::canonical::hex;
use mingle_core::enrich::{function, input_hash, normalize_list, normalize_text, seniority};
use mingle_core::goals::GoalClassifier;
use mingle_core::import::EventAnswers;
use mingle_core::{IdempotencyKey, RunKind, Timestamp};
use mingle_encoder::Encoder;
use mingle_store::models::{AttendeeListing, EnrichmentInput, Features, Lease, Run};
use mingle_store::Store;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::encoding::{EncoderSlot, EncoderState};
use crate::runs::{Created, RunsService};
use crate::runs::{RunFailure, RunHandler};
use crate::ServiceError;

#[derive(Clone)]
pub struct EnrichmentService {
    store: Arc<dyn Store>,
    runs: RunsService,
    encoder: EncoderSlot,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counts {
    total: usize,
    processed: usize,
    enriched: usize,
    skipped: usize,
    failed: usize,
}

impl Counts {
    fn to_json(self) -> Map<String, Value> {
        json!({"total": self.total, "processed": self.processed, "enriched": self.enriched,
            "skipped": self.skipped, "failed": self.failed})
        .as_object()
        .cloned()
        .unwrap_or_default()
    }
}

/// An attendee's normalized inputs.
pub(crate) struct Inputs {
    attendee_id: String,
    title: Option<String>,
    goal: Option<String>,
    needs: Vec<String>,
    offers: Vec<String>,
    interests: Vec<String>,
    hash: String,
}

fn normalized(attendee_id: &str, title: Option<&str>, a: &EventAnswers, model_id: &str) -> Inputs {
    let goal = a.goal.as_deref().map(normalize_text).filter(|g| !g.is_empty());
    let list = |l: &Option<Vec<String>>| l.as_deref().map(normalize_list).unwrap_or_default();
    let (needs, offers, interests) = (list(&a.needs), list(&a.offers), list(&a.interests));
    let title = title.map(normalize_text).filter(|t| !t.is_empty());
    let bio = a.bio.as_deref().map(normalize_text).unwrap_or_default();
    let join = |l: &[String]| l.join("\u{1f}");
    // The goal head's version is hashed too: a new head re-enriches every attendee.
    let hash = input_hash(
        model_id,
        &[
            GoalClassifier::bundled().version(),
            goal.as_deref().unwrap_or(""),
            &join(&needs),
            &join(&offers),
            &join(&interests),
            &bio,
            title.as_deref().unwrap_or(""),
        ],
    );
    Inputs { attendee_id: attendee_id.to_owned(), title, goal, needs, offers, interests, hash }
}

/// Shows an attendee's enriched (normalized) goal, needs and offers in place of the
/// answers as imported — but only while that enrichment is current, that is while its
/// input hash still matches the answers (a re-import may have changed them). The
/// normalization is recomputed rather than read back: when the hashes match, it is what
/// the enrichment stored. Fields the partner never set stay null.
pub fn show_current_enrichment(listing: &mut AttendeeListing) {
    let Some(last) = listing.enrichment.as_ref() else { return };
    let answers = &mut listing.membership.answers;
    let n = normalized(&listing.attendee_id, listing.title.as_deref(), answers, &last.model_id);
    if n.hash != last.input_hash {
        return;
    }
    if answers.goal.is_some() {
        answers.goal = n.goal;
    }
    if answers.needs.is_some() {
        answers.needs = Some(n.needs);
    }
    if answers.offers.is_some() {
        answers.offers = Some(n.offers);
    }
}

fn text_hash(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

impl EnrichmentService {
    pub fn new(store: Arc<dyn Store>, runs: RunsService, encoder: EncoderSlot) -> Self {
        Self { store, runs, encoder }
    }

    pub async fn start(
        &self,
        org_id: &str,
        event_id: &str,
        key: IdempotencyKey,
        webhook_url: Option<String>,
        request_hash: String,
    ) -> Result<Created, ServiceError> {
        let progress = Counts::default().to_json();
        self.runs
            .create_event_run(org_id, event_id, RunKind::Enrichment, key, webhook_url, progress, request_hash, None)
            .await
    }

    /// The encoder, waiting a little if it is still loading.
    pub(crate) async fn encoder(&self) -> Result<Arc<dyn Encoder>, RunFailure> {
        for _ in 0..300 {
            match self.encoder.state() {
                EncoderState::Ready(e) => return Ok(e),
                EncoderState::Unavailable(why) => {
                    return Err(RunFailure {
                        code: "MODEL_UNAVAILABLE",
                        message: format!("The encoder is unavailable: {why}"),
                        lost: false,
                    })
                }
                EncoderState::Loading => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        Err(RunFailure {
            code: "MODEL_UNAVAILABLE",
            message: "The encoder did not finish loading.".into(),
            lost: false,
        })
    }

    /// Embeddings of `texts`, by text: from the cache (keyed by each text's hash), the
    /// rest encoded and cached.
    pub(crate) async fn embed(
        &self,
        org_id: &str,
        encoder: &Arc<dyn Encoder>,
        texts: Vec<String>,
    ) -> Result<HashMap<String, Vec<f32>>, RunFailure> {
        let started = std::time::Instant::now();
        let mut by_hash: HashMap<String, String> = texts.into_iter().map(|t| (text_hash(&t), t)).collect();
        let hashes: Vec<String> = by_hash.keys().cloned().collect();
        tracing::debug!(ms = started.elapsed().as_millis() as u64, texts = hashes.len(), "texts hashed");
        let cached = self.store.cached_embeddings(org_id, encoder.model_id(), &hashes).await?;
        let mut vectors: HashMap<String, Vec<f32>> = HashMap::with_capacity(by_hash.len());
        for (hash, vector) in cached {
            if let Some(text) = by_hash.remove(&hash) {
                vectors.insert(text, vector);
            }
        }
        tracing::debug!(ms = started.elapsed().as_millis() as u64, found = vectors.len(), "cached embeddings read");
        if !by_hash.is_empty() {
            let (hashes, texts): (Vec<String>, Vec<String>) = by_hash.into_iter().unzip();
            let model = encoder.clone();
            let (texts, encoded) = tokio::task::spawn_blocking(move || {
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                let encoded = model.encode(&refs);
                encoded.map(|e| (texts, e))
            })
            .await
            .map_err(|e| RunFailure::internal(e.to_string()))?
            .map_err(|e| RunFailure::internal(e.to_string()))?;
            let entries: Vec<(String, Vec<f32>)> = hashes.into_iter().zip(encoded).collect();
            self.store.save_embeddings(org_id, encoder.model_id(), &entries).await?;
            vectors.extend(texts.into_iter().zip(entries.into_iter().map(|(_, v)| v)));
        }
        Ok(vectors)
    }

    /// Splits an event's attendees into those whose inputs changed since their last
    /// enrichment (or were never enriched), normalized, and the count of the rest.
    pub(crate) fn stale(inputs: &[EnrichmentInput], model_id: &str) -> (Vec<Inputs>, Counts) {
        let mut counts = Counts { total: inputs.len(), ..Counts::default() };
        let mut todo = Vec::new();
        for input in inputs {
            let n = normalized(&input.attendee_id, input.title.as_deref(), &input.answers, model_id);
            if input.previous_hash.as_deref() == Some(n.hash.as_str()) {
                counts.skipped += 1;
                counts.processed += 1;
            } else {
                todo.push(n);
            }
        }
        (todo, counts)
    }

    /// The features of `todo`: its texts embedded (cache first), goals classified,
    /// seniority and function read from titles.
    pub(crate) async fn features(
        &self,
        org_id: &str,
        encoder: &Arc<dyn Encoder>,
        todo: Vec<Inputs>,
    ) -> Result<Vec<Features>, RunFailure> {
        // Every text matching will compare, in one pass.
        let mut texts: Vec<String> = Vec::new();
        for n in &todo {
            texts.extend(n.goal.iter().cloned());
            texts.extend(n.needs.iter().cloned());
            texts.extend(n.offers.iter().cloned());
        }
        let vectors = self.embed(org_id, encoder, texts).await?;
        let goals = GoalClassifier::bundled();
        let now = Timestamp::now();
        Ok(todo
            .into_iter()
            .map(|n| {
                let category = n.goal.as_deref().map(|g| goals.classify(g, &vectors[g]));
                Features {
                    attendee_id: n.attendee_id,
                    input_hash: n.hash,
                    model_id: encoder.model_id().to_owned(),
                    goal_category: category.map(|c| c.category.to_owned()),
                    goal_score: category.map(|c| c.probability),
                    seniority: n.title.as_deref().and_then(seniority).map(str::to_owned),
                    function: n.title.as_deref().and_then(function).map(str::to_owned),
                    features: json!({"goal": n.goal, "needs": n.needs, "offers": n.offers, "interests": n.interests}),
                    enriched_at: now,
                }
            })
            .collect())
    }
}

#[async_trait]
impl RunHandler for EnrichmentService {
    async fn process(&self, run: &Run, lease: &Lease) -> Result<(), RunFailure> {
        let event_id =
            run.event_id.clone().ok_or_else(|| RunFailure::internal("an enrichment run without an event"))?;
        let encoder = self.encoder().await?;
        let inputs = self.store.enrichment_inputs(&run.org_id, &event_id).await?;
        let (todo, mut counts) = Self::stale(&inputs, encoder.model_id());
        if !self.store.set_progress(lease, &counts.to_json(), Timestamp::now()).await? {
            return Err(RunFailure::lost());
        }
        let features = self.features(&run.org_id, &encoder, todo).await?;
        counts.enriched = features.len();
        counts.processed = counts.total;
        if self.store.save_features(lease, &event_id, &features, &counts.to_json(), Timestamp::now()).await? {
            Ok(())
        } else {
            Err(RunFailure::lost())
        }
    }
}
