//! The answer score: does this offer answer this need?
//!
//! Raw cosine similarity of the published model's embeddings measures topic, not whether
//! an offer gives what a need asks for (on mingle's labelled need/offer pairs its ROC AUC
//! is 0.13: a course about seed funding is closer to "seed funding" than an angel cheque
//! is). The encoder is therefore fine-tuned (mingle-encoder's answer adapter) on
//! hand-written answering pairs, hard negatives that share the topic but do not answer
//! (the course, the journalist, the tool vendor, the competitor) and random off-topic
//! pairs, and the bundled head (`answer-cosine-v2`, `scripts/train_answer_encoder.py`)
//! calibrates its cosine. The format also carries what the earlier heads on frozen
//! embeddings (`scripts/train_answer_head.py`) used; its logit for need `n` and offer `o`
//! (unit embeddings) with cue flags `c_n`, `c_o` (which kind of thing each side names:
//! money, a hire, a service, coverage, teaching...) is
//!
//! ```text
//! z = Σ w_i n_i o_i  +  (P x_n)·(Q x_o)  +  v·x_n  +  u·x_o  +  b      x = [embedding ; cue flags]
//! ```
//!
//! a weighted cosine (topic) plus a low-rank bilinear term (which kinds answer which),
//! and its probability is `σ(z)`. Every part is an inner product, so a need and an
//! offer each become one "answer vector" and `z` is their dot product:
//! `need = [w⊙n ; P x_n ; 1 ; v·x_n + b]`, `offer = [o ; Q x_o ; u·x_o ; 1]`. Candidate
//! search uses shorter vectors: the embedding parts projected on a fixed basis shipped
//! with the head (the principal components of the training texts).

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use serde::Deserialize;

use crate::goals::normalize;
use crate::vector::{dot, Matrix};

#[derive(Deserialize)]
struct HeadFile {
    version: String,
    dimension: usize,
    cues: Vec<Vec<String>>,
    diag: Vec<f32>,
    need_proj: Vec<Vec<f32>>,
    offer_proj: Vec<Vec<f32>>,
    need_bias: Vec<f32>,
    offer_bias: Vec<f32>,
    bias: f32,
    basis: Vec<Vec<f32>>,
}

/// The trained answer head.
pub struct AnswerHead {
    version: String,
    dimension: usize,
    /// Every cue phrase, padded with a space on both sides, in one automaton (a match
    /// run reads a quarter of a million texts; testing each phrase in turn took seconds).
    cue_phrases: AhoCorasick,
    /// The cue group of each phrase of `cue_phrases`.
    cue_group: Vec<usize>,
    groups: usize,
    diag: Vec<f32>,
    /// `r × (dimension + cues)`.
    need_proj: Matrix,
    offer_proj: Matrix,
    need_bias: Vec<f32>,
    offer_bias: Vec<f32>,
    bias: f32,
    /// `k × dimension`, orthonormal rows.
    basis: Matrix,
}

static BUNDLED: LazyLock<AnswerHead> = LazyLock::new(|| {
    AnswerHead::from_json(include_str!("answer_head.json")).expect("the bundled answer head is valid (tested)")
});

fn matrix(rows: Vec<Vec<f32>>, cols: usize, what: &str) -> Result<Matrix, String> {
    if rows.iter().any(|r| r.len() != cols) {
        return Err(format!("every row of {what} must have {cols} values"));
    }
    Ok(Matrix { rows: rows.len(), cols, data: rows.into_iter().flatten().collect() })
}

/// The logistic function.
pub fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

impl AnswerHead {
    /// The head shipped with mingle.
    pub fn bundled() -> &'static AnswerHead {
        &BUNDLED
    }

    pub fn from_json(text: &str) -> Result<Self, String> {
        let f: HeadFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let width = f.dimension + f.cues.len();
        let need_proj = matrix(f.need_proj, width, "need_proj")?;
        let offer_proj = matrix(f.offer_proj, width, "offer_proj")?;
        if need_proj.rows != offer_proj.rows {
            return Err("need_proj and offer_proj must have the same rank".into());
        }
        if f.diag.len() != f.dimension || f.need_bias.len() != width || f.offer_bias.len() != width {
            return Err(format!("diag must have {} values and the biases {width}", f.dimension));
        }
        if f.diag.iter().any(|w| w.abs() < 1e-6) {
            return Err("every diag weight must be non-zero (a need's embedding is read back through it)".into());
        }
        let basis = matrix(f.basis, f.dimension, "basis")?;
        let phrases: Vec<(usize, String)> = f
            .cues
            .iter()
            .enumerate()
            .flat_map(|(g, group)| group.iter().map(move |p| (g, format!(" {} ", normalize(p).trim()))))
            .collect();
        let cue_phrases =
            AhoCorasick::new(phrases.iter().map(|(_, p)| p)).map_err(|e| format!("the cue phrases: {e}"))?;
        Ok(Self {
            version: f.version,
            dimension: f.dimension,
            cue_phrases,
            cue_group: phrases.iter().map(|(g, _)| *g).collect(),
            groups: f.cues.len(),
            diag: f.diag,
            need_proj,
            offer_proj,
            need_bias: f.need_bias,
            offer_bias: f.offer_bias,
            bias: f.bias,
            basis,
        })
    }

    /// Identifies the head; part of the matching algorithm's version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The embeddings' length.
    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// `1 / wᵢ`: turns the embedding part of a need's answer vector, `w⊙n`, back into `n`.
    pub fn inverse_diag(&self) -> Vec<f32> {
        self.diag.iter().map(|w| 1.0 / w).collect()
    }

    /// Length of an answer vector.
    pub fn width(&self) -> usize {
        self.dimension + self.need_proj.rows + 2
    }

    /// Length of a reduced answer vector (for candidate search).
    pub fn reduced_width(&self) -> usize {
        self.basis.rows + self.need_proj.rows + 2
    }

    /// Rows of the reduction basis.
    pub fn basis_rank(&self) -> usize {
        self.basis.rows
    }

    /// Which cue groups `text` contains: 1.0 or 0.0 per group.
    pub fn cue_flags(&self, text: &str) -> Vec<f32> {
        let text = normalize(text);
        let mut flags = vec![0.0; self.groups];
        // Overlapping: every phrase found wherever it occurs, as a substring test would.
        for found in self.cue_phrases.find_overlapping_iter(&text) {
            flags[self.cue_group[found.pattern().as_usize()]] = 1.0;
        }
        flags
    }

    fn project(&self, proj: &Matrix, embedding: &[f32], flags: &[f32]) -> Vec<f32> {
        (0..proj.rows)
            .map(|r| {
                let (we, wc) = proj.row(r).split_at(self.dimension);
                dot(we, embedding) + dot(wc, flags)
            })
            .collect()
    }

    fn bias_of(&self, weights: &[f32], embedding: &[f32], flags: &[f32]) -> f32 {
        let (we, wc) = weights.split_at(self.dimension);
        dot(we, embedding) + dot(wc, flags)
    }

    /// The answer vector of a need: `[w⊙n ; P x_n ; 1 ; v·x_n + b]`.
    pub fn need_vector(&self, text: &str, embedding: &[f32]) -> Vec<f32> {
        assert_eq!(embedding.len(), self.dimension, "the answer head was trained on {}-d embeddings", self.dimension);
        let flags = self.cue_flags(text);
        let mut v: Vec<f32> = embedding.iter().zip(&self.diag).map(|(e, w)| e * w).collect();
        v.extend(self.project(&self.need_proj, embedding, &flags));
        v.push(1.0);
        v.push(self.bias_of(&self.need_bias, embedding, &flags) + self.bias);
        v
    }

    /// The answer vector of an offer: `[o ; Q x_o ; u·x_o ; 1]`.
    pub fn offer_vector(&self, text: &str, embedding: &[f32]) -> Vec<f32> {
        assert_eq!(embedding.len(), self.dimension, "the answer head was trained on {}-d embeddings", self.dimension);
        let flags = self.cue_flags(text);
        let mut v = embedding.to_vec();
        v.extend(self.project(&self.offer_proj, embedding, &flags));
        v.push(self.bias_of(&self.offer_bias, embedding, &flags));
        v.push(1.0);
        v
    }

    /// The logit of "offer answers need" from their answer vectors.
    pub fn logit(need: &[f32], offer: &[f32]) -> f32 {
        dot(need, offer)
    }

    /// The probability that the offer answers the need.
    pub fn probability(need: &[f32], offer: &[f32]) -> f32 {
        sigmoid(Self::logit(need, offer))
    }

    /// The probability for raw texts and their embeddings (benchmarks, tests).
    pub fn score(&self, need: &str, need_embedding: &[f32], offer: &str, offer_embedding: &[f32]) -> f32 {
        Self::probability(&self.need_vector(need, need_embedding), &self.offer_vector(offer, offer_embedding))
    }

    /// An answer vector shortened for candidate search: its embedding part projected on
    /// the basis, the rest kept. Dot products of reduced vectors approximate the logit.
    pub fn reduce(&self, answer_vector: &[f32]) -> Vec<f32> {
        let (embedding, rest) = answer_vector.split_at(self.dimension);
        let mut v = self.reduce_embedding(embedding);
        v.extend_from_slice(rest);
        v
    }

    /// A 384-d vector projected on the basis.
    pub fn reduce_embedding(&self, embedding: &[f32]) -> Vec<f32> {
        (0..self.basis.rows).map(|r| dot(self.basis.row(r), embedding)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2-d head with one cue group and rank 1: the cue "course" on the offer side
    /// pushes the logit down through the bilinear term.
    fn tiny_head() -> AnswerHead {
        let head = serde_json::json!({"version": "t", "dimension": 2, "cues": [["course", "tutorial"]],
            "diag": [2.0, 2.0], "need_proj": [[0.0, 0.0, 0.0]], "offer_proj": [[0.0, 0.0, -3.0]],
            "need_bias": [0.0, 0.0, 0.0], "offer_bias": [0.0, 0.0, 0.0], "bias": -1.0,
            "basis": [[1.0, 0.0]]});
        let mut h = AnswerHead::from_json(&head.to_string()).unwrap();
        // The need side projects to a constant 1 so the cue term survives.
        h.need_bias = vec![0.0; 3];
        h.need_proj = Matrix { rows: 1, cols: 3, data: vec![0.0, 0.0, 0.0] };
        h
    }

    #[test]
    fn the_logit_is_the_dot_product_of_answer_vectors() {
        let h = tiny_head();
        let (n, o) = ([0.6, 0.8], [0.8, 0.6]);
        let z = AnswerHead::logit(&h.need_vector("seed money", &n), &h.offer_vector("angel cheques", &o));
        // 2·(0.48 + 0.48) − 1
        assert!((z - 0.92).abs() < 1e-6, "{z}");
        assert!((h.score("seed money", &n, "angel cheques", &o) - sigmoid(0.92)).abs() < 1e-6);
    }

    #[test]
    fn cue_flags_match_whole_words() {
        let h = tiny_head();
        assert_eq!(h.cue_flags("An online COURSE on fundraising"), vec![1.0]);
        assert_eq!(h.cue_flags("of course-work"), vec![1.0]);
        assert_eq!(h.cue_flags("courses"), vec![0.0]);
    }

    #[test]
    fn cue_flags_equal_a_substring_test_of_every_phrase() {
        // The definition the trainer uses: group k fires when " " + phrase + " " is a
        // substring of the padded, normalized text. (The bundled head has no cue groups
        // since answer-cosine-v1; the earlier heads' format is still read.)
        let groups: Vec<Vec<String>> = serde_json::from_value(serde_json::json!([
            ["angel", "cheques", "pre-seed"],
            ["hiring", "CTO", "a job"],
            ["course", "bootcamp", "tutorial"],
            ["available from", "ex-Google"],
            ["studio", "lab equipment"],
            ["lab equipment", "wholesale"]
        ]))
        .unwrap();
        let width = 2 + groups.len();
        let head = serde_json::json!({"version": "t", "dimension": 2, "cues": groups,
            "diag": [1.0, 1.0], "need_proj": [vec![0.0; width]], "offer_proj": [vec![0.0; width]],
            "need_bias": vec![0.0; width], "offer_bias": vec![0.0; width], "bias": 0.0,
            "basis": [[1.0, 0.0]]});
        let h = AnswerHead::from_json(&head.to_string()).unwrap();
        for text in [
            "I write $50k angel cheques into pre-seed fintech; also hiring a CTO",
            "Weekend bootcamp: React Native from zero to the App Store",
            "we build and run data pipelines, available from March, ex-Google",
            "looking for a job as a nurse in Lisbon (part-time)",
            // Phrases that belong to more than one group.
            "I've a studio with lab equipment for wholesale",
            "",
        ] {
            let padded = normalize(text);
            let expected: Vec<f32> = groups
                .iter()
                .map(|g| g.iter().any(|p| padded.contains(&format!(" {} ", normalize(p).trim()))) as u8 as f32)
                .collect();
            assert_eq!(h.cue_flags(text), expected, "{text:?}");
        }
        assert!(h.cue_flags("I write $50k angel cheques into pre-seed fintech").iter().any(|f| *f == 1.0));
    }

    #[test]
    fn reduced_vectors_keep_the_non_embedding_parts() {
        let h = tiny_head();
        let v = h.offer_vector("x", &[0.6, 0.8]);
        assert_eq!(v.len(), h.width());
        let r = h.reduce(&v);
        assert_eq!(r.len(), h.reduced_width());
        assert_eq!(r[0], 0.6);
        assert_eq!(&r[1..], &v[2..]);
    }

    #[test]
    fn a_malformed_head_is_refused() {
        let mut head: serde_json::Value = serde_json::from_str(include_str!("answer_head.json")).unwrap();
        head["diag"] = serde_json::json!([1.0]);
        assert!(AnswerHead::from_json(&head.to_string()).is_err());
    }

    #[test]
    fn the_bundled_head_loads() {
        let h = AnswerHead::bundled();
        assert_eq!(h.dimension(), 384);
        assert!(h.basis_rank() > 0);
    }
}
