//! Goal categories: the ten kinds of intent of domain.md.
//!
//! A goal is classified by a small linear head — multinomial logistic regression — over
//! two kinds of feature: the goal's sentence embedding, which says what the goal is
//! about, and lexical cue flags, which say which way it points. The embedding alone
//! cannot tell "raise a seed round" from "meet founders raising a seed round"; phrases
//! such as "our round" or "invest in" can. The head (`goal_head.json`) is trained by
//! `scripts/train_goal_head.py` on `mingle-encoder/benches/data/goals_train.jsonl` and
//! measured on the held-out `goals.jsonl` (figures in docs/benchmarks.md). The caller
//! embeds; this module only computes, so it stays pure.

use std::sync::LazyLock;

use serde::Deserialize;

use crate::vector::dot;

/// The categories, in the order of `domain.md`.
pub const CATEGORIES: [&str; 10] = [
    "fundraising",
    "investing",
    "hiring",
    "job_seeking",
    "selling",
    "buying",
    "partnering",
    "learning",
    "mentoring",
    "networking",
];

#[derive(Deserialize)]
struct HeadFile {
    version: String,
    dimension: usize,
    categories: Vec<String>,
    cues: Vec<Vec<String>>,
    weights: Vec<Vec<f32>>,
    bias: Vec<f32>,
}

/// The trained goal classifier.
pub struct GoalClassifier {
    version: String,
    dimension: usize,
    /// Each cue group's phrases, each padded with a space on both sides.
    cues: Vec<Vec<String>>,
    /// One row per category of [`CATEGORIES`]: embedding weights, then cue weights.
    weights: Vec<Vec<f32>>,
    bias: Vec<f32>,
}

/// A goal's category and the head's probability for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Classified {
    pub category: &'static str,
    pub probability: f32,
}

static BUNDLED: LazyLock<GoalClassifier> = LazyLock::new(|| {
    GoalClassifier::from_json(include_str!("goal_head.json")).expect("the bundled goal head is valid (tested)")
});

impl GoalClassifier {
    /// The head shipped with mingle.
    pub fn bundled() -> &'static GoalClassifier {
        &BUNDLED
    }

    pub fn from_json(text: &str) -> Result<Self, String> {
        let f: HeadFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if f.categories != CATEGORIES {
            return Err(format!("categories {:?} are not those of domain.md, in order", f.categories));
        }
        let width = f.dimension + f.cues.len();
        if f.weights.len() != CATEGORIES.len() || f.weights.iter().any(|w| w.len() != width) || f.bias.len() != 10 {
            return Err(format!("weights must be 10 rows of {width} and the bias 10 values"));
        }
        let cues = f.cues.iter().map(|group| group.iter().map(|p| format!(" {} ", normalize(p).trim())).collect());
        Ok(Self { version: f.version, dimension: f.dimension, cues: cues.collect(), weights: f.weights, bias: f.bias })
    }

    /// Identifies the head: enrichment results record it, so a new head re-enriches.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Which cue groups `goal` contains: 1.0 or 0.0 per group.
    pub fn cue_flags(&self, goal: &str) -> Vec<f32> {
        let text = normalize(goal);
        self.cues.iter().map(|group| if group.iter().any(|p| text.contains(p.as_str())) { 1.0 } else { 0.0 }).collect()
    }

    /// The category of `goal`, given its unit embedding.
    pub fn classify(&self, goal: &str, embedding: &[f32]) -> Classified {
        assert_eq!(embedding.len(), self.dimension, "the goal head was trained on {}-d embeddings", self.dimension);
        let flags = self.cue_flags(goal);
        let logits: Vec<f32> = self
            .weights
            .iter()
            .zip(&self.bias)
            .map(|(w, b)| {
                let (we, wc) = w.split_at(self.dimension);
                b + dot(we, embedding) + dot(wc, &flags)
            })
            .collect();
        // First of equal maxima, as the trainer's argmax.
        let best = (0..logits.len()).fold(0, |best, i| if logits[i] > logits[best] { i } else { best });
        let total: f32 = logits.iter().map(|l| (l - logits[best]).exp()).sum();
        Classified { category: CATEGORIES[best], probability: 1.0 / total }
    }
}

/// Lowercase; every character that is not an ASCII letter or digit becomes a space; runs
/// of spaces collapse; one space pads each end — so a cue phrase matches whole words.
pub(crate) fn normalize(text: &str) -> String {
    let mapped: String =
        text.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { ' ' }).collect();
    format!(" {} ", mapped.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_head() -> GoalClassifier {
        // 2-d embeddings, one cue group. Category 0 leans on the first embedding axis,
        // category 1 on the cue.
        let mut weights = vec![vec![0.0; 3]; 10];
        weights[0] = vec![1.0, 0.0, 0.0];
        weights[1] = vec![0.0, 0.0, 5.0];
        let head = serde_json::json!({"version": "t", "dimension": 2, "categories": CATEGORIES,
            "cues": [["invest in", "deal-flow"]], "weights": weights, "bias": vec![0.0; 10]});
        GoalClassifier::from_json(&head.to_string()).unwrap()
    }

    #[test]
    fn cues_match_whole_words_after_normalization() {
        let h = tiny_head();
        assert_eq!(h.cue_flags("We INVEST   in fintech"), vec![1.0]);
        assert_eq!(h.cue_flags("more deal flow, please"), vec![1.0], "punctuation is a space on both sides");
        assert_eq!(h.cue_flags("reinvest into"), vec![0.0]);
        assert_eq!(h.cue_flags("investing in"), vec![0.0], "whole words only");
    }

    #[test]
    fn the_highest_logit_wins_with_its_softmax_probability() {
        let h = tiny_head();
        let c = h.classify("raise money", &[1.0, 0.0]);
        assert_eq!(c.category, "fundraising");
        let expected = 1.0f32.exp() / (1.0f32.exp() + 9.0);
        assert!((c.probability - expected).abs() < 1e-6);
        assert_eq!(h.classify("we invest in startups", &[1.0, 0.0]).category, "investing");
    }

    #[test]
    fn a_malformed_head_is_refused() {
        let mut head: serde_json::Value = serde_json::from_str(include_str!("goal_head.json")).unwrap();
        head["bias"] = serde_json::json!([0.0]);
        assert!(GoalClassifier::from_json(&head.to_string()).is_err());
        head["categories"] = serde_json::json!(["a"]);
        let error = GoalClassifier::from_json(&head.to_string()).err().expect("refused");
        assert!(error.contains("categories"), "{error}");
    }

    #[test]
    fn the_bundled_head_loads() {
        let h = GoalClassifier::bundled();
        assert_eq!(h.dimension, 384);
        assert!(!h.cues.is_empty());
    }
}
