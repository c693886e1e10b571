//! The weights in force for a match run, and how the event's context shifts them.
//!
//! A directed score A→B is a weighted sum of five parts in [0, 1] (docs/matching.md):
//! how well B's offers answer A's needs, goal-category complementarity, intent
//! strength, value alignment and general similarity, then multiplied by a capped power
//! of general similarity (`topic_power`, `topic_cap`) and, when on, a sameness penalty.
//! The weights are the policy; its version is a hash of every number in it, so two runs
//! with the same policy version weighed the same way.

use serde::{Deserialize, Serialize};

use crate::canonical::fingerprint;
use crate::goals::CATEGORIES;

/// Bumped whenever scoring changes in a way the weights do not show.
pub const ALGORITHM: &str = "match-v3";

/// The weights of a match run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Policy {
    /// Weight of the answer score (B's offers answering A's needs).
    pub answer: f32,
    /// Weight of goal-category complementarity.
    pub category: f32,
    /// Weight of intent strength (how clearly A's needs point at B rather than anyone).
    pub intent: f32,
    /// Weight of value alignment (shared interests and goals, fit with the objectives).
    pub value: f32,
    /// Weight of general similarity of the two profiles.
    pub general: f32,
    /// Each directed score is multiplied by `min(1, G/topic_cap)^topic_power` (G:
    /// general similarity); power 0 turns the factor off. The cap (0.6: nine in ten
    /// planted counterparts of the tuning bank are below 0.62) keeps the factor from
    /// rewarding sameness: without it, an attendee's own peer (same role, same need)
    /// outranked the counterpart for 0.686 of principals, with it 0.577.
    pub topic_power: f32,
    /// General similarity counts up to this much in the topic factor.
    pub topic_cap: f32,
    /// Both directed scores are multiplied by `1 − sameness · max(0, c − sameness_floor)`,
    /// `c` the cosine of the two attendees' mean need embeddings: peers who need the same
    /// thing are not each other's answer. Off (0) by default: with 1 and floor 0.5 own
    /// peers outranked the counterpart for 0.397 of principals instead of 0.577, at no
    /// cost in quality, but a run of 50,000 took 2 s more and the candidate search, which
    /// does not see it, held 0.844 of the exact top-10 there (against 0.873; both with
    /// `candidate_general` 48; docs/benchmarks.md).
    pub sameness: f32,
    /// The cosine of mean need embeddings above which the sameness penalty starts.
    pub sameness_floor: f32,
    /// How much of a directed score is relative to the principal's own distribution
    /// (a z-score squashed to (0, 1)) rather than absolute: this takes "hubs", attendees
    /// close to everyone, down.
    pub relative: f32,
    /// How much of each offer's mean logit against the event's needs is taken off its
    /// logits (0: none; 1: CSLS-like), so that hub offers stop outranking specific ones.
    /// Off by default since the encoder's answer adapter (0.5 before; the tuning bank
    /// did no worse without it).
    pub hub: f32,
    /// Topic gate: an item pairing whose embeddings' cosine is below `topic_floor` loses
    /// `topic_gate` logits per unit of the shortfall. It was for the bilinear "which kind
    /// answers which" term of the heads on frozen vectors, which could fire across topics
    /// (a need for "a buyer for my shares" and an offer "I sell toy lines"); the current
    /// head has no such term, so it is off by default (8 before).
    pub topic_gate: f32,
    pub topic_floor: f32,
    /// Within value alignment: shared interests, shared goal, fit with the objectives.
    pub value_parts: [f32; 3],
    /// An item pairing quoted as a reason needs at least this answer probability.
    pub reason_floor: f32,
    /// Candidates per principal kept by the search before exact rescoring, beyond `top_n`
    /// (when the second stage does not run).
    pub extra_candidates: usize,
    /// At most this many candidates per principal found by the search's dot product,
    /// beyond `top_n`, and at most `search_budget` in all; when that is more than
    /// `extra_candidates`, a second stage keeps the best of them by an approximate score
    /// that takes each need's best offer. The budget spends the second stage where it is
    /// affordable: 1,000 candidates a principal up to 5,000 attendees (recall of the
    /// exact top-10 0.996 there with answers-v2, the topic factor, `candidate_general`
    /// 32 and a shortlist of 250; 0.992 before the factor; 0.971 with 400 and head v2),
    /// 500 at 10,000, and none from about 31,000 (at 50,000, 400 would cost 24 s).
    pub search_candidates: usize,
    pub search_budget: usize,
    /// Candidates per principal kept by the second stage, beyond `top_n` (where it runs:
    /// it is affordable there; before the topic factor, at 5,000 attendees 200 held 0.989
    /// of the exact top-10 with answers-v2 (0.993 with answers-v1), 250 0.992, 300 0.994).
    /// Never fewer than `extra_candidates`, and never more than the first stage found
    /// (then the second stage keeps them all).
    pub shortlist_candidates: usize,
    /// Weight of general similarity in the candidate search's dot product (32 since the
    /// topic factor: recall of the exact top-10 at 10,000 attendees 0.964 with the old 8
    /// and the factor uncapped, 0.990 with 32 and the cap; at 50,000 0.886, 0.873 with
    /// 48).
    pub candidate_general: f32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            answer: 0.50,
            category: 0.10,
            intent: 0.15,
            value: 0.10,
            general: 0.15,
            topic_power: 0.5,
            topic_cap: 0.6,
            sameness: 0.0,
            sameness_floor: 0.5,
            relative: 0.5,
            hub: 0.0,
            topic_gate: 0.0,
            topic_floor: 0.2,
            value_parts: [0.5, 0.2, 0.3],
            reason_floor: 0.35,
            extra_candidates: 150,
            search_candidates: 1000,
            search_budget: 5_000_000,
            shortlist_candidates: 250,
            candidate_general: 32.0,
        }
    }
}

/// The event context a run read (what `context_snapshot_id` identifies).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    pub event_details: Option<String>,
    pub objectives: Option<String>,
    pub welcome_instructions: Option<String>,
}

impl Context {
    /// Identifies the context: a hash of its three fields.
    pub fn snapshot_id(&self) -> String {
        let f = |s: &Option<String>| s.clone().unwrap_or_default();
        let hash = fingerprint(&[
            f(&self.event_details).as_str(),
            f(&self.objectives).as_str(),
            f(&self.welcome_instructions).as_str(),
        ]);
        format!("ctx_{}", &hash[..16])
    }

    /// The objectives, when the event states any.
    pub fn objectives(&self) -> Option<&str> {
        self.objectives.as_deref().map(str::trim).filter(|o| !o.is_empty())
    }
}

impl Policy {
    /// The policy for an event: the defaults, shifted by its objectives. Stated
    /// objectives make fit with them count: value alignment's weight rises from 0.10 to
    /// 0.20, taken from general similarity. Objectives whose goal category is known
    /// (the goal head's reading of the objectives, e.g. "help founders meet investors"
    /// reads as fundraising) also raise category complementarity from 0.10 to 0.15,
    /// taken from general similarity too.
    pub fn for_context(context: &Context, objectives_category: Option<usize>) -> Self {
        let mut p = Policy::default();
        if context.objectives().is_some() {
            p.value += 0.10;
            p.general -= 0.10;
            if objectives_category.is_some_and(|c| CATEGORIES[c] != "networking") {
                p.category += 0.05;
                p.general -= 0.05;
            }
        }
        p
    }

    /// Identifies the weights: a hash of every number of the policy.
    pub fn version(&self) -> String {
        let text = serde_json::to_string(self).expect("a policy serializes");
        format!("policy_{}", &fingerprint(&[text.as_str()])[..16])
    }
}

/// How complementary two goal categories are, in [0, 1] (symmetric): 1 for the two
/// sides of one exchange (fundraising and investing, hiring and job seeking, selling
/// and buying, learning and mentoring), low for two attendees after the same thing.
pub fn category_compatibility(a: usize, b: usize) -> f32 {
    let (a, b) = (CATEGORIES[a], CATEGORIES[b]);
    let pair = |x: &str, y: &str| (a == x && b == y) || (a == y && b == x);
    if pair("fundraising", "investing") || pair("hiring", "job_seeking") || pair("selling", "buying") {
        1.0
    } else if pair("learning", "mentoring") {
        0.9
    } else if pair("partnering", "partnering") {
        0.8
    } else if pair("mentoring", "mentoring") || pair("partnering", "selling") || pair("partnering", "buying") {
        0.5
    } else if a == "networking" || b == "networking" || pair("investing", "investing") {
        0.3
    } else if a == b {
        // Two attendees after the same thing compete more than they help each other.
        0.05
    } else {
        0.15
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(c: &str) -> usize {
        CATEGORIES.iter().position(|x| *x == c).unwrap()
    }

    #[test]
    fn compatibility_is_symmetric_and_in_range() {
        for a in 0..CATEGORIES.len() {
            for b in 0..CATEGORIES.len() {
                let c = category_compatibility(a, b);
                assert_eq!(c, category_compatibility(b, a));
                assert!((0.0..=1.0).contains(&c));
            }
        }
        assert_eq!(category_compatibility(index("fundraising"), index("investing")), 1.0);
        assert!(category_compatibility(index("fundraising"), index("fundraising")) < 0.1);
    }

    #[test]
    fn weights_sum_to_one_with_and_without_objectives() {
        let plain = Policy::default();
        let context = Context { objectives: Some("Founders meet investors".into()), ..Context::default() };
        let shifted = Policy::for_context(&context, Some(index("fundraising")));
        for p in [&plain, &shifted] {
            let total = p.answer + p.category + p.intent + p.value + p.general;
            assert!((total - 1.0).abs() < 1e-6, "{total}");
        }
        assert!(shifted.value > plain.value && shifted.category > plain.category);
        assert_ne!(plain.version(), shifted.version());
        assert_eq!(plain.version(), Policy::default().version());
    }

    #[test]
    fn the_snapshot_id_follows_the_context() {
        let a = Context { objectives: Some("x".into()), ..Context::default() };
        let b = Context { event_details: Some("x".into()), ..Context::default() };
        assert_ne!(a.snapshot_id(), b.snapshot_id());
        assert_eq!(a.snapshot_id(), a.clone().snapshot_id());
    }
}
