//! Semantic quality of the encoder on mingle's own labeled sets; prints, asserts nothing.
//!
//! - `data/need_offer_pairs.jsonl`: needs and offers that answer each other in other
//!   words (label 1) and that share words but do not (label 0). Printed: the ROC AUC of
//!   the cosine similarity as a score for "answers", with the published model and with
//!   the answer adapter mingle uses, and of matching's answer score
//!   (`mingle_core::matching::AnswerHead`) on the adapted embeddings. The adapter and
//!   the head are trained on `data/answers_train_*.jsonl` only
//!   (`scripts/train_answer_encoder.py`): this set is held out.
//! - `data/goals.jsonl`: goals labeled with one of the ten categories. Printed: the
//!   accuracy of mingle's goal head (`mingle_core::goals`) on this held-out set; the
//!   head is trained on `data/goals_train.jsonl` only (`scripts/train_goal_head.py`).
//!
//!     cargo bench -p mingle-encoder --bench semantic

mod common;

use std::collections::{BTreeMap, HashMap};

use mingle_core::goals::{GoalClassifier, CATEGORIES};
use mingle_core::matching::AnswerHead;
use mingle_encoder::{cosine, Encoder, MiniLm};
use serde_json::Value;

fn lines(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(format!("{}/benches/data/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Area under the ROC curve: the chance a random positive outscores a random negative.
fn roc_auc(scored: &[(f32, bool)]) -> f64 {
    let pos: Vec<f32> = scored.iter().filter(|s| s.1).map(|s| s.0).collect();
    let neg: Vec<f32> = scored.iter().filter(|s| !s.1).map(|s| s.0).collect();
    let mut wins = 0.0;
    for p in &pos {
        for n in &neg {
            wins += if p > n {
                1.0
            } else if p == n {
                0.5
            } else {
                0.0
            };
        }
    }
    wins / (pos.len() * neg.len()) as f64
}

fn main() {
    let (encoder, base) = (common::load(), common::load_base());
    let embed_with = |encoder: &MiniLm, texts: Vec<&str>| -> HashMap<String, Vec<f32>> {
        let mut unique: Vec<&str> = texts;
        unique.sort_unstable();
        unique.dedup();
        let vectors = encoder.encode(&unique).unwrap();
        unique.into_iter().map(str::to_owned).zip(vectors).collect()
    };
    let embed_all = |texts: Vec<&str>| embed_with(&encoder, texts);

    let pairs = lines("need_offer_pairs.jsonl");
    let texts: Vec<&str> =
        pairs.iter().flat_map(|p| [p["need"].as_str().unwrap(), p["offer"].as_str().unwrap()]).collect();
    let vectors = embed_all(texts);
    let scored: Vec<(f32, bool)> = pairs
        .iter()
        .map(|p| {
            let s = cosine(&vectors[p["need"].as_str().unwrap()], &vectors[p["offer"].as_str().unwrap()]);
            (s, p["label"].as_i64() == Some(1))
        })
        .collect();
    let positives = scored.iter().filter(|s| s.1).count();
    println!("need/offer pairs: {positives} answering, {} not answering", scored.len() - positives);
    let base_vectors = embed_with(&base, vectors.keys().map(String::as_str).collect());
    let base_scored: Vec<(f32, bool)> = pairs
        .iter()
        .map(|p| {
            let (need, offer) = (p["need"].as_str().unwrap(), p["offer"].as_str().unwrap());
            (cosine(&base_vectors[need], &base_vectors[offer]), p["label"].as_i64() == Some(1))
        })
        .collect();
    println!("  ROC AUC of cosine similarity, published model   {:.3}", roc_auc(&base_scored));
    println!("  ROC AUC of cosine similarity, adapted encoder   {:.3}  ({})", roc_auc(&scored), encoder.model_id());
    let head = AnswerHead::bundled();
    let answered: Vec<(f32, bool)> = pairs
        .iter()
        .map(|p| {
            let (need, offer) = (p["need"].as_str().unwrap(), p["offer"].as_str().unwrap());
            (head.score(need, &vectors[need], offer, &vectors[offer]), p["label"].as_i64() == Some(1))
        })
        .collect();
    println!("  ROC AUC of the answer score                     {:.3}  ({})", roc_auc(&answered), head.version());

    let goals = lines("goals.jsonl");
    let head = GoalClassifier::bundled();
    let goal_vectors = embed_all(goals.iter().map(|g| g["goal"].as_str().unwrap()).collect());
    let mut per_category: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut confusions: BTreeMap<(String, &str), usize> = BTreeMap::new();
    for g in &goals {
        let truth = g["category"].as_str().unwrap();
        let goal = g["goal"].as_str().unwrap();
        let predicted = head.classify(goal, &goal_vectors[goal]).category;
        let entry = per_category.entry(category_name(truth)).or_default();
        entry.1 += 1;
        if predicted == truth {
            entry.0 += 1;
        } else {
            *confusions.entry((truth.to_owned(), predicted)).or_default() += 1;
        }
    }
    let correct: usize = per_category.values().map(|c| c.0).sum();
    println!("goal categories: {} held-out labeled goals, head {}", goals.len(), head.version());
    println!("  accuracy                       {:.3}", correct as f64 / goals.len() as f64);
    for (category, (ok, total)) in &per_category {
        println!("    {category:<12} {ok:>3}/{total:<3}");
    }
    let mut worst: Vec<_> = confusions.into_iter().collect();
    worst.sort_by_key(|w| std::cmp::Reverse(w.1));
    for ((truth, predicted), n) in worst.into_iter().take(5) {
        println!("    confused {truth} -> {predicted}: {n}");
    }
}

/// The `'static` name of a labeled category.
fn category_name(truth: &str) -> &'static str {
    CATEGORIES.iter().copied().find(|c| *c == truth).expect("a known category")
}
