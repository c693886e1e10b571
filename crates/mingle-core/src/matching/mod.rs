//! Matching: for every visible attendee of an event, the `top_n` people they should
//! meet, with reciprocal scores that explain themselves. Pure code: the caller hands in
//! every text with its embedding; nothing here does I/O.
//!
//! The pipeline (docs/matching.md has every formula and weight):
//! 1. **Prepare** ([`score`]): each need and offer becomes an answer vector of the
//!    trained [`answer::AnswerHead`]; each profile a unit "general" vector; each
//!    principal's score distribution is estimated on a fixed sample of others (for the
//!    relative part of its directed scores and for intent strength).
//! 2. **Candidates** ([`candidates`]): a symmetric approximate score from short
//!    per-attendee vectors, computed by blocked matrix products over all pairs, keeps the
//!    best `top_n + extra` candidates of each principal.
//! 3. **Exact rescoring**: every candidate pair is scored in full; each principal keeps
//!    its `top_n` by `final_score` (ties by attendee ID).
//! 4. **Pairs**: each unordered pair that is in either side's list is scored once, in
//!    the orientation of the smaller attendee ID, with its ranks on both sides.

pub mod answer;
pub mod candidates;
pub mod policy;
pub mod score;

use serde::{Deserialize, Serialize};

pub use answer::AnswerHead;
pub use policy::{Context, Policy};

/// Every text of a match run with its unit embedding, one row each.
#[derive(Debug, Clone, Default)]
pub struct TextTable {
    pub dimension: usize,
    pub texts: Vec<String>,
    pub vectors: Vec<f32>,
}

impl TextTable {
    pub fn new(dimension: usize) -> Self {
        Self { dimension, ..Self::default() }
    }

    /// Room for `texts` texts without reallocating (a match run at 50,000 attendees holds
    /// a quarter of a million, 384 MB of vectors).
    pub fn with_capacity(dimension: usize, texts: usize) -> Self {
        Self { dimension, texts: Vec::with_capacity(texts), vectors: Vec::with_capacity(texts * dimension) }
    }

    /// Adds a text with its embedding; returns its row.
    pub fn push(&mut self, text: String, vector: &[f32]) -> u32 {
        assert_eq!(vector.len(), self.dimension, "embedding of the wrong length");
        self.texts.push(text);
        self.vectors.extend_from_slice(vector);
        (self.texts.len() - 1) as u32
    }

    pub fn text(&self, row: u32) -> &str {
        &self.texts[row as usize]
    }

    pub fn vector(&self, row: u32) -> &[f32] {
        let d = self.dimension;
        &self.vectors[row as usize * d..(row as usize + 1) * d]
    }
}

/// What matching knows of one attendee: rows of the [`TextTable`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    pub attendee_id: String,
    pub goal: Option<u32>,
    /// The goal's category (an index of [`crate::goals::CATEGORIES`]) and its probability.
    pub category: Option<(usize, f32)>,
    pub needs: Vec<u32>,
    pub offers: Vec<u32>,
    pub interests: Vec<u32>,
}

/// Everything a match run scores.
#[derive(Debug, Clone, Default)]
pub struct EventInput {
    pub texts: TextTable,
    /// The event's visible attendees, sorted by `attendee_id` (unique).
    pub profiles: Vec<Profile>,
    /// The event's objectives, when it states any.
    pub objectives: Option<u32>,
}

/// How a run searches.
#[derive(Debug, Clone, Copy)]
pub struct MatchOptions {
    pub top_n: usize,
    /// Threads for candidate search and rescoring.
    pub threads: usize,
    /// Score every pair exactly instead of searching candidates (for measuring the
    /// search's recall).
    pub exhaustive: bool,
}

/// Which way a need↔offer pairing points, seen from the principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// The principal's need, answered by the target's offer.
    #[serde(rename = "n")]
    NeedsToOffers,
    /// The principal's offer, answering the target's need.
    #[serde(rename = "o")]
    OffersToNeeds,
}

impl Direction {
    pub fn flipped(self) -> Self {
        match self {
            Direction::NeedsToOffers => Direction::OffersToNeeds,
            Direction::OffersToNeeds => Direction::NeedsToOffers,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::NeedsToOffers => "needsToOffers",
            Direction::OffersToNeeds => "offersToNeeds",
        }
    }
}

/// A need↔offer pairing's score and direction (`best_goal_match`, `driving_goal_pair`).
/// (Short serialized names: half a million of these are stored per large run.)
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GoalMatch {
    #[serde(rename = "s")]
    pub score: f64,
    #[serde(rename = "d")]
    pub direction: Direction,
}

/// One quoted reason: a need of one side answered by an offer of the other. `need` and
/// `offer` index the needs and offers of the side the direction names (for
/// `NeedsToOffers`: the principal's need, the target's offer).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    #[serde(rename = "d")]
    pub direction: Direction,
    #[serde(rename = "n")]
    pub need: u16,
    #[serde(rename = "o")]
    pub offer: u16,
    #[serde(rename = "s")]
    pub score: f64,
}

/// Every score of an ordered pair (A, B), rounded to six decimals. Stored as JSON with
/// short names (the API's names are the HTTP layer's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairScore {
    #[serde(rename = "f")]
    pub final_score: f64,
    #[serde(rename = "ab")]
    pub score_a_to_b: f64,
    #[serde(rename = "ba")]
    pub score_b_to_a: f64,
    #[serde(rename = "no")]
    pub needs_to_offers: f64,
    #[serde(rename = "on")]
    pub offers_to_needs: f64,
    #[serde(rename = "c")]
    pub complementarity: f64,
    #[serde(rename = "v")]
    pub value_alignment: f64,
    #[serde(rename = "g")]
    pub general_similarity: f64,
    #[serde(rename = "ia")]
    pub intent_a_to_b: f64,
    #[serde(rename = "ib")]
    pub intent_b_to_a: f64,
    #[serde(rename = "bm")]
    pub best: GoalMatch,
    #[serde(rename = "dg")]
    pub driving: GoalMatch,
    /// Up to three, strongest first.
    #[serde(rename = "r")]
    pub reasons: Vec<Reason>,
    /// The two goal categories, when they made the pair complementary.
    #[serde(rename = "cg")]
    pub categories: Option<(String, String)>,
}

impl PairScore {
    /// The same pair seen from B: directional scores swap, directions flip.
    pub fn mirror(&self) -> PairScore {
        let flip = |g: GoalMatch| GoalMatch { score: g.score, direction: g.direction.flipped() };
        PairScore {
            final_score: self.final_score,
            score_a_to_b: self.score_b_to_a,
            score_b_to_a: self.score_a_to_b,
            needs_to_offers: self.offers_to_needs,
            offers_to_needs: self.needs_to_offers,
            complementarity: self.complementarity,
            value_alignment: self.value_alignment,
            general_similarity: self.general_similarity,
            intent_a_to_b: self.intent_b_to_a,
            intent_b_to_a: self.intent_a_to_b,
            best: flip(self.best),
            driving: flip(self.driving),
            reasons: self.reasons.iter().map(|r| Reason { direction: r.direction.flipped(), ..*r }).collect(),
            categories: self.categories.clone().map(|(a, b)| (b, a)),
        }
    }
}

/// One unordered pair that is in at least one side's list: profiles `a < b` (indices,
/// hence attendee IDs, in order), its scores seen from `a`, and where each side ranks
/// the other (1-based), if it does.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedPair {
    pub a: u32,
    pub b: u32,
    pub a_rank: Option<u16>,
    pub b_rank: Option<u16>,
    pub score: PairScore,
}

/// What a match run computed.
#[derive(Debug, Clone, Default)]
pub struct MatchOutcome {
    /// Each principal's targets, best first (profile indices).
    pub lists: Vec<Vec<u32>>,
    /// Every pair of the lists once, by profile indices.
    pub pairs: Vec<RankedPair>,
    /// Ordered pairs scored exactly (candidates rescored and the sample for each
    /// principal's distribution).
    pub pairs_scored: u64,
    /// How long each step took: preparation, candidate search, rescoring, pairs.
    pub timings: Vec<(&'static str, std::time::Duration)>,
}

/// Rounds to six decimals: scores are stored and compared at this precision.
pub fn round6(x: f32) -> f64 {
    (x as f64 * 1e6).round() / 1e6
}

/// Runs the whole pipeline over an event.
pub fn match_event(input: &EventInput, policy: &Policy, options: MatchOptions) -> MatchOutcome {
    let n = input.profiles.len();
    if n < 2 {
        return MatchOutcome { lists: vec![Vec::new(); n], ..MatchOutcome::default() };
    }
    let threads = options.threads.max(1);
    let mut timings = Vec::new();
    let mut clock = std::time::Instant::now();
    let mut lap = |name: &'static str| {
        timings.push((name, clock.elapsed()));
        clock = std::time::Instant::now();
    };
    let prepared = score::Prepared::new(input, policy, AnswerHead::bundled(), threads);
    lap("prepare");
    let keep = options.top_n + policy.extra_candidates;
    let candidates: Vec<Vec<u32>> = if options.exhaustive || n - 1 <= keep {
        (0..n as u32).map(|a| (0..n as u32).filter(|b| *b != a).collect()).collect()
    } else {
        let reduced = prepared.reduced();
        let (x, y) = prepared.candidate_vectors(&reduced);
        let affordable = (policy.search_budget / n).saturating_sub(options.top_n);
        let wide = (options.top_n + policy.search_candidates.min(affordable)).max(keep);
        let found = candidates::top_k_symmetric(&x, &y, wide, threads);
        drop((x, y));
        if wide > keep {
            let shortlist = (options.top_n + policy.shortlist_candidates).clamp(keep, wide);
            prepared.shortlist(&reduced, &found, shortlist, threads)
        } else {
            found
        }
    };
    lap("candidates");
    let (lists, rescored) = prepared.rank(&candidates, options.top_n, threads);
    lap("rescore");
    let pairs = prepared.pairs(&lists);
    lap("pairs");
    MatchOutcome { lists, pairs, pairs_scored: rescored + prepared.sampled(), timings }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::normalize;

    /// A deterministic pseudo-random unit vector.
    fn unit(seed: u64) -> Vec<f32> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut v: Vec<f32> = (0..384)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % 10_000) as f32 / 10_000.0 - 0.5
            })
            .collect();
        normalize(&mut v);
        v
    }

    /// `n` attendees with 1-3 needs and offers of random topics; attendee 0 needs what
    /// attendee 1 offers and offers what 1 needs (the same texts, so the answer head
    /// sees identical embeddings).
    fn event(n: usize, seed: u64) -> EventInput {
        let mut texts = TextTable::new(384);
        let mut profiles = Vec::new();
        for i in 0..n {
            let s = seed * 1_000 + i as u64 * 10;
            let mut row = |k: u64, text: String| texts.push(text, &unit(s + k));
            let needs = (0..1 + i % 3).map(|k| row(k as u64, format!("need {i}.{k}"))).collect();
            let offers = (0..1 + (i / 3) % 3).map(|k| row(5 + k as u64, format!("offer {i}.{k}"))).collect();
            let goal = (i % 4 != 0).then(|| row(9, format!("goal {i}")));
            profiles.push(Profile {
                attendee_id: format!("att-{i:04}"),
                goal,
                category: goal.map(|_| (i % 10, 0.8)),
                needs,
                offers,
                interests: Vec::new(),
            });
        }
        let (x, y) = (unit(seed * 7 + 1), unit(seed * 7 + 2));
        let (x0, y0) = (texts.push("planted x".into(), &x), texts.push("planted y".into(), &y));
        let (x1, y1) = (texts.push("planted x".into(), &x), texts.push("planted y".into(), &y));
        profiles[0].needs = vec![x0];
        profiles[0].offers = vec![y0];
        profiles[1].needs = vec![y1];
        profiles[1].offers = vec![x1];
        EventInput { texts, profiles, objectives: None }
    }

    fn options(top_n: usize) -> MatchOptions {
        MatchOptions { top_n, threads: 2, exhaustive: false }
    }

    #[test]
    fn pairs_mirror_exactly_and_scores_stay_in_range() {
        let input = event(40, 1);
        let policy = Policy::default();
        let p = score::Prepared::new(&input, &policy, AnswerHead::bundled(), 2);
        for a in 0..40 {
            for b in 0..40 {
                if a == b {
                    continue;
                }
                let (ab, ba) = (p.pair_score(a, b), p.pair_score(b, a));
                assert_eq!(ab.mirror(), ba, "({a}, {b})");
                for s in [
                    ab.final_score,
                    ab.score_a_to_b,
                    ab.needs_to_offers,
                    ab.offers_to_needs,
                    ab.complementarity,
                    ab.value_alignment,
                    ab.general_similarity,
                    ab.intent_a_to_b,
                    ab.best.score,
                    ab.driving.score,
                ] {
                    assert!((0.0..=1.0).contains(&s), "({a}, {b}): {s}");
                }
                assert!(ab.reasons.len() <= 3);
                assert!(ab.final_score <= ab.score_a_to_b.max(ab.score_b_to_a) + 1e-6);
            }
        }
    }

    #[test]
    fn the_complementary_pair_ranks_first_both_ways() {
        let input = event(120, 2);
        // Random vectors are not text: the head's probabilities on them say nothing, so
        // no level is asserted and every pairing may be quoted (no reason floor).
        let policy = Policy { reason_floor: 0.0, ..Policy::default() };
        let out = match_event(&input, &policy, options(5));
        assert_eq!(out.lists[0][0], 1);
        assert_eq!(out.lists[1][0], 0);
        let pair = out.pairs.iter().find(|p| (p.a, p.b) == (0, 1)).expect("the planted pair is stored");
        assert_eq!((pair.a_rank, pair.b_rank), (Some(1), Some(1)));
        // Each side has one need and one offer: the planted pairing, quoted both ways, the
        // first quote being the pair's best pairing.
        assert_eq!(pair.score.reasons.len(), 2, "{:?}", pair.score.reasons);
        assert!(pair.score.reasons.iter().all(|r| (r.need, r.offer) == (0, 0)));
        assert_eq!(pair.score.reasons[0].score, pair.score.best.score);
        assert_eq!(pair.score.reasons[0].direction, pair.score.best.direction);
    }

    #[test]
    fn the_topic_gate_takes_down_off_topic_pairings_only() {
        let input = event(40, 7);
        let gated = Policy { topic_gate: 8.0, topic_floor: 0.2, ..Policy::default() };
        let open = Policy { topic_gate: 0.0, ..Policy::default() };
        let (with, without) = (
            score::Prepared::new(&input, &gated, AnswerHead::bundled(), 2),
            score::Prepared::new(&input, &open, AnswerHead::bundled(), 2),
        );
        // The planted pair's need and offer share their embedding (cosine 1): no change.
        assert_eq!(with.pair_score(0, 1).needs_to_offers, without.pair_score(0, 1).needs_to_offers);
        // Random unit vectors in 384 dimensions are nearly orthogonal: below the floor.
        let (a, b) = (with.pair_score(2, 7), without.pair_score(2, 7));
        assert!(a.needs_to_offers < b.needs_to_offers, "{} vs {}", a.needs_to_offers, b.needs_to_offers);
    }

    #[test]
    fn the_topic_factor_scales_both_directions_by_general_similarity() {
        let input = event(40, 11);
        let on = Policy::default();
        assert!(on.topic_power > 0.0, "the factor is on by default");
        let off = Policy { topic_power: 0.0, ..Policy::default() };
        let (with, without) = (
            score::Prepared::new(&input, &on, AnswerHead::bundled(), 2),
            score::Prepared::new(&input, &off, AnswerHead::bundled(), 2),
        );
        let mut scaled = 0;
        for a in 0..40 {
            for b in (a + 1)..40 {
                let (x, y) = (with.pair_score(a, b), without.pair_score(a, b));
                assert_eq!(x.general_similarity, y.general_similarity);
                assert_eq!((x.needs_to_offers, x.intent_a_to_b), (y.needs_to_offers, y.intent_a_to_b));
                let (cap, power) = (f64::from(on.topic_cap), f64::from(on.topic_power));
                let t = (y.general_similarity / cap).min(1.0).powf(power);
                // G is compared as published (six decimals); its root magnifies that
                // rounding near 0.
                if y.general_similarity < 0.01 {
                    assert!(x.final_score <= y.final_score * (0.01 / cap).powf(power) + 1e-6, "({a}, {b})");
                    continue;
                }
                for (with, without) in
                    [(x.score_a_to_b, y.score_a_to_b), (x.score_b_to_a, y.score_b_to_a), (x.final_score, y.final_score)]
                {
                    assert!((with - without * t).abs() < 8e-6, "({a}, {b}): {with} vs {without} × {t}");
                }
                scaled += (t > 0.0 && t < 0.99) as usize;
            }
        }
        assert!(scaled > 10, "pairs with a partial similarity: {scaled}");
        // Past the cap, sameness is not rewarded: the planted pair of this event shares
        // its texts (G far above the cap), and keeps its scores whole.
        let planted = without.pair_score(0, 1);
        assert!(planted.general_similarity > f64::from(on.topic_cap), "{}", planted.general_similarity);
        assert_eq!(with.pair_score(0, 1).final_score, planted.final_score);

        // The second stage's approximation takes the same factor on its projected G:
        // with the power halved the factor is the square root of the whole one.
        let whole = Policy { topic_power: 1.0, ..Policy::default() };
        let full = score::Prepared::new(&input, &whole, AnswerHead::bundled(), 2);
        let (r_with, r_without, r_full) = (with.reduced(), without.reduced(), full.reduced());
        let mut checked = 0;
        for (a, b) in [(0, 1), (2, 7), (3, 5), (4, 9), (10, 20), (11, 30), (12, 13), (25, 39)] {
            let plain = without.approximate(&r_without, a, b);
            let (half, one) = (with.approximate(&r_with, a, b), full.approximate(&r_full, a, b));
            if plain > 1e-3 && one > 1e-4 {
                let (f_half, f_one) = (half / plain, one / plain);
                assert!((f_half * f_half - f_one).abs() < 1e-4, "({a}, {b}): {f_half}² vs {f_one}");
                assert!(f_one <= 1.0 + 1e-6, "({a}, {b}): {f_one}");
                checked += 1;
            }
        }
        assert!(checked >= 4, "{checked}");
    }

    #[test]
    fn the_sameness_penalty_takes_down_peers_who_need_the_same_thing() {
        // Attendee 3 needs exactly what attendee 2 needs (the same embedding).
        let mut input = event(40, 17);
        let need = input.texts.vector(input.profiles[2].needs[0]).to_vec();
        input.profiles[2].needs.truncate(1);
        input.profiles[3].needs = vec![input.texts.push("the same need".into(), &need)];
        let (off, on) = (Policy::default(), Policy { sameness: 1.0, sameness_floor: 0.5, ..Policy::default() });
        assert_eq!(off.sameness, 0.0, "off by default");
        let (plain, penalized) = (
            score::Prepared::new(&input, &off, AnswerHead::bundled(), 2),
            score::Prepared::new(&input, &on, AnswerHead::bundled(), 2),
        );
        // Identical needs: cosine 1, so both directions keep 1 − s·(1 − 0.5) of their
        // score; the sampled statistics are the same, as they do not see the penalty.
        let (x, y) = (penalized.pair_score(2, 3), plain.pair_score(2, 3));
        assert!(y.final_score > 0.0);
        for (with, without) in
            [(x.score_a_to_b, y.score_a_to_b), (x.score_b_to_a, y.score_b_to_a), (x.final_score, y.final_score)]
        {
            assert!((with - 0.5 * without).abs() < 2e-6, "{with} vs {without}");
        }
        assert!((penalized.final_score(2, 3) - 0.5 * plain.final_score(2, 3)).abs() < 1e-6);
        assert_eq!(penalized.pair_score(3, 2), x.mirror(), "the penalty is the pair's, both ways");
        // The weight scales the penalty, and it never goes below zero.
        for (weight, kept) in [(0.5, 0.75), (2.0, 0.0), (3.0, 0.0)] {
            let policy = Policy { sameness: weight, sameness_floor: 0.5, ..Policy::default() };
            let p = score::Prepared::new(&input, &policy, AnswerHead::bundled(), 2);
            let s = p.pair_score(2, 3).final_score;
            assert!((s - kept * y.final_score).abs() < 2e-6, "sameness {weight}: {s} vs {kept} × {}", y.final_score);
        }
        // Random needs are nearly orthogonal, below the floor: untouched.
        assert_eq!(penalized.pair_score(5, 9).final_score, plain.pair_score(5, 9).final_score);
    }

    #[test]
    fn the_hub_correction_takes_down_an_offer_close_to_every_need() {
        // Attendee 2 offers the mean of everyone's needs: near every need, answering none.
        let mut input = event(40, 9);
        let mut hub = vec![0.0f32; 384];
        for p in &input.profiles {
            for &n in &p.needs {
                hub.iter_mut().zip(input.texts.vector(n)).for_each(|(h, x)| *h += x);
            }
        }
        crate::vector::normalize(&mut hub);
        input.profiles[2].offers = vec![input.texts.push("happy to help with anything".into(), &hub)];
        let (corrected, plain) = (Policy { hub: 1.0, ..Policy::default() }, Policy { hub: 0.0, ..Policy::default() });
        let (with, without) = (
            score::Prepared::new(&input, &corrected, AnswerHead::bundled(), 2),
            score::Prepared::new(&input, &plain, AnswerHead::bundled(), 2),
        );
        // Where attendee 2 ranks among 5's targets by how well their offers answer 5's
        // needs. The correction shifts every offer by its own mean logit, so it is the
        // rank, not the probability, that says the hub went down.
        let rank = |p: &score::Prepared| {
            let hub = p.pair_score(5, 2).needs_to_offers;
            (0..40).filter(|&b| b != 5 && b != 2 && p.pair_score(5, b).needs_to_offers > hub).count() + 1
        };
        let (corrected_rank, plain_rank) = (rank(&with), rank(&without));
        assert!(plain_rank <= 3, "the hub offer is among the best answers without the correction: {plain_rank}");
        assert!(corrected_rank > plain_rank + 5, "{corrected_rank} vs {plain_rank}");
    }

    #[test]
    fn runs_are_deterministic_whatever_the_threads() {
        let input = event(400, 3);
        let one = match_event(&input, &Policy::default(), MatchOptions { threads: 1, ..options(10) });
        let three = match_event(&input, &Policy::default(), MatchOptions { threads: 3, ..options(10) });
        assert_eq!(one.lists, three.lists);
        assert_eq!(one.pairs, three.pairs);
        assert!(one.lists.iter().all(|l| l.len() == 10));
    }

    #[test]
    fn every_pair_of_the_lists_is_stored_once_with_its_ranks() {
        let input = event(300, 4);
        let out = match_event(&input, &Policy::default(), options(7));
        let mut seen = std::collections::HashSet::new();
        for p in &out.pairs {
            assert!(p.a < p.b && seen.insert((p.a, p.b)));
            if let Some(r) = p.a_rank {
                assert_eq!(out.lists[p.a as usize][r as usize - 1], p.b);
            }
            if let Some(r) = p.b_rank {
                assert_eq!(out.lists[p.b as usize][r as usize - 1], p.a);
            }
            assert!(p.a_rank.is_some() || p.b_rank.is_some());
        }
        let listed: usize = out.lists.iter().map(Vec::len).sum();
        let ranked: usize = out.pairs.iter().map(|p| p.a_rank.is_some() as usize + p.b_rank.is_some() as usize).sum();
        assert_eq!(listed, ranked);
    }

    #[test]
    fn candidate_search_with_room_for_everyone_is_exhaustive_scoring() {
        // The search's recall on real events is measured by the benchmarks; here, that
        // its plumbing (blocks, threads, merge, rescoring) changes nothing when it may
        // keep every other attendee.
        let input = event(300, 5);
        let roomy = Policy { extra_candidates: 300, ..Policy::default() };
        let searched = {
            let p = score::Prepared::new(&input, &roomy, AnswerHead::bundled(), 2);
            let (x, y) = p.candidate_vectors(&p.reduced());
            let candidates = candidates::top_k_symmetric(&x, &y, 299, 2);
            assert!(candidates.iter().all(|c| c.len() == 299));
            p.rank(&candidates, 10, 2).0
        };
        let exact = match_event(&input, &roomy, MatchOptions { exhaustive: true, ..options(10) });
        assert_eq!(searched, exact.lists);
    }

    #[test]
    fn a_list_draws_on_its_own_candidates_and_those_that_hold_it() {
        let input = event(60, 8);
        let policy = Policy::default();
        let p = score::Prepared::new(&input, &policy, AnswerHead::bundled(), 2);
        // Five arbitrary candidates each: lists are far from symmetric.
        let candidates: Vec<Vec<u32>> =
            (0..60u32).map(|a| (1..=5).map(|k| (a * 7 + k * 11) % 60).filter(|&b| b != a).collect()).collect();
        let (lists, scored) = p.rank(&candidates, 3, 2);
        let mut pairs = std::collections::BTreeSet::new();
        for (a, list) in candidates.iter().enumerate() {
            for &b in list {
                pairs.insert((a.min(b as usize), a.max(b as usize)));
            }
        }
        assert_eq!(scored, 2 * pairs.len() as u64);
        for a in 0..60usize {
            let mut pool: Vec<(f64, usize)> = pairs
                .iter()
                .filter_map(|&(x, y)| (x == a).then_some(y).or((y == a).then_some(x)))
                .map(|b| (p.pair_score(a, b).final_score, b))
                .collect();
            pool.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
            let expected: Vec<u32> = pool.into_iter().take(3).map(|(_, b)| b as u32).collect();
            assert_eq!(lists[a], expected, "principal {a}");
        }
    }

    #[test]
    fn the_second_stage_scores_pairs_symmetrically_and_keeps_what_it_is_asked() {
        // `select` scores each unordered pair once, so the approximation must not depend
        // on which side asks.
        let input = event(80, 9);
        let policy = Policy::default();
        let p = score::Prepared::new(&input, &policy, AnswerHead::bundled(), 2);
        let reduced = p.reduced();
        for (a, b) in [(0, 1), (3, 70), (12, 44), (79, 5)] {
            assert_eq!(p.approximate(&reduced, a, b).to_bits(), p.approximate(&reduced, b, a).to_bits(), "({a}, {b})");
        }
        let everyone: Vec<Vec<u32>> = (0..80u32).map(|a| (0..80).filter(|&b| b != a).collect()).collect();
        let short = p.shortlist(&reduced, &everyone, 12, 2);
        assert!(short.iter().enumerate().all(|(a, l)| l.len() == 12 && !l.contains(&(a as u32))));
        // The planted counterparts find each other in the shortlist.
        assert!(short[0].contains(&1) && short[1].contains(&0));
    }

    #[test]
    fn the_second_stage_runs_only_within_its_budget() {
        let input = event(300, 10);
        let without = Policy { search_candidates: 0, ..Policy::default() };
        let broke = Policy { search_budget: 300 * 100, ..Policy::default() };
        let plain = match_event(&input, &without, options(10));
        // A budget below `top_n + extra_candidates` per principal leaves the search as it
        // is without a second stage; the default budget runs it here (300 attendees).
        assert_eq!(match_event(&input, &broke, options(10)).lists, plain.lists);
        let staged = match_event(&input, &Policy::default(), options(10));
        let exact = match_event(&input, &Policy::default(), MatchOptions { exhaustive: true, ..options(10) });
        let hits = |lists: &Vec<Vec<u32>>| -> usize {
            lists.iter().zip(&exact.lists).map(|(l, x)| x.iter().filter(|t| l.contains(t)).count()).sum()
        };
        assert!(hits(&staged.lists) >= hits(&plain.lists), "{} < {}", hits(&staged.lists), hits(&plain.lists));
    }

    #[test]
    fn the_second_stage_keeps_its_shortlist_and_never_fewer_than_the_first_would() {
        let input = event(300, 11);
        let scored = |shortlist: usize| {
            let policy = Policy { shortlist_candidates: shortlist, ..Policy::default() };
            match_event(&input, &policy, options(10)).pairs_scored
        };
        // A longer shortlist hands more candidates to exact rescoring; one shorter than
        // `extra_candidates` is raised to it.
        assert!(scored(200) > scored(150), "{} vs {}", scored(200), scored(150));
        assert_eq!(scored(50), scored(Policy::default().extra_candidates));
    }

    #[test]
    fn tiny_events_match_without_search() {
        let mut input = event(2, 6);
        let out = match_event(&input, &Policy::default(), options(10));
        assert_eq!(out.lists, vec![vec![1], vec![0]]);
        input.profiles.truncate(1);
        let out = match_event(&input, &Policy::default(), options(10));
        assert_eq!(out.lists, vec![Vec::<u32>::new()]);
        assert!(out.pairs.is_empty());
    }
}
