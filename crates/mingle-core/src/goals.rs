//! Goal categories: the ten kinds of intent of domain.md, each described by a few
//! prototype sentences. An attendee's goal is classified by the category whose
//! prototypes its embedding is closest to (the caller embeds; this module only compares
//! vectors, so it stays pure).

/// The categories, in the order of `domain.md`, with prototype phrasings.
pub const GOAL_CATEGORIES: [(&str, &[&str]); 10] = [
    (
        "fundraising",
        &[
            "raise money for my startup from investors",
            "close our seed or series A funding round",
            "meet venture capitalists and angel investors to fund our company",
        ],
    ),
    (
        "investing",
        &[
            "find startups to invest in",
            "source deals and back early-stage founders as an investor",
            "deploy capital into promising companies",
        ],
    ),
    (
        "hiring",
        &[
            "hire engineers and recruit talent for my team",
            "fill open roles and grow our headcount",
            "find candidates to join our company",
        ],
    ),
    (
        "job_seeking",
        &["find a new job for myself", "explore my next career move and open positions", "get hired into a new role"],
    ),
    (
        "selling",
        &["find customers for our product", "generate leads and close sales deals", "sell our software to new clients"],
    ),
    (
        "buying",
        &[
            "evaluate vendors and purchase a tool for our company",
            "find a supplier or service provider to buy from",
            "compare products before we procure one",
        ],
    ),
    (
        "partnering",
        &[
            "find partners for an integration or joint venture",
            "build strategic partnerships and collaborations between companies",
            "co-market or distribute together with another company",
        ],
    ),
    (
        "learning",
        &[
            "learn best practices and new skills",
            "understand how other teams solve this problem",
            "hear talks and study the latest trends",
        ],
    ),
    (
        "mentoring",
        &[
            "mentor founders and give advice to people starting out",
            "find a mentor or coach to guide my career",
            "share my experience by coaching others",
        ],
    ),
    (
        "networking",
        &[
            "meet interesting people and expand my network",
            "connect with peers in my industry",
            "make new professional contacts",
        ],
    ),
];

/// The category whose prototypes are most similar to `goal` (unit vectors), with that
/// similarity. `prototypes[i]` holds the embeddings of `GOAL_CATEGORIES[i]`'s sentences.
pub fn classify(goal: &[f32], prototypes: &[Vec<Vec<f32>>]) -> (&'static str, f32) {
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let mut best = (GOAL_CATEGORIES[0].0, f32::MIN);
    for ((name, _), protos) in GOAL_CATEGORIES.iter().zip(prototypes) {
        let score = protos.iter().map(|p| dot(goal, p)).fold(f32::MIN, f32::max);
        if score > best.1 {
            best = (name, score);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closest_prototype_wins() {
        let protos: Vec<Vec<Vec<f32>>> = (0..10).map(|i| vec![vec![if i == 3 { 1.0 } else { 0.0 }, 0.0]]).collect();
        assert_eq!(classify(&[1.0, 0.0], &protos), ("job_seeking", 1.0));
    }
}
