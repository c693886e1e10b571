//! Goal categories: the ten kinds of intent of domain.md, each described by a few
//! prototype sentences. An attendee's goal is classified by the category whose
//! prototypes its embedding is closest to (the caller embeds; this module only compares
//! vectors, so it stays pure).

/// The categories, in the order of `domain.md`, with prototype phrasings.
pub const GOAL_CATEGORIES: [(&str, &[&str]); 10] = [
    (
        "fundraising",
        &[
            "we are raising money for our startup",
            "I want to meet investors who could fund my company",
            "close our seed round or series A",
            "pitch our company to venture capital firms",
            "find angel investors for our pre-seed round",
        ],
    ),
    (
        "investing",
        &[
            "I am an investor looking for startups to invest in",
            "our fund wants to back early-stage founders",
            "source deal flow and new investment opportunities",
            "deploy capital into promising companies",
            "meet founders raising a round we could lead",
        ],
    ),
    (
        "hiring",
        &[
            "we are hiring and want to recruit people for our team",
            "find candidates to fill our open positions",
            "build out my engineering team with new hires",
            "recruit a head of sales for our company",
            "grow our headcount this year",
        ],
    ),
    (
        "job_seeking",
        &[
            "I am looking for a new job",
            "exploring my next role and career move",
            "I want to get hired as an engineer",
            "meet companies that might employ me",
            "find my next position after my current contract ends",
        ],
    ),
    (
        "selling",
        &[
            "find customers for our product",
            "we want to sell our software to new clients",
            "generate leads and close deals for our service",
            "land pilot customers and first paying users",
            "meet buyers who need what we sell",
        ],
    ),
    (
        "buying",
        &[
            "we are evaluating vendors to purchase a tool",
            "I need to buy a solution for my team",
            "compare suppliers before we choose one",
            "find a provider we can outsource this service to",
            "shopping for software for our company",
        ],
    ),
    (
        "partnering",
        &[
            "find partners for an integration with our platform",
            "build strategic partnerships with other companies",
            "co-market and distribute together with a partner",
            "explore a joint venture or collaboration between our companies",
            "find channel and reseller partners",
        ],
    ),
    (
        "learning",
        &[
            "learn best practices from others",
            "understand how other teams solve this problem",
            "hear talks and study the latest trends",
            "get up to speed on a new technology",
            "pick up ideas and lessons from experts",
        ],
    ),
    (
        "mentoring",
        &[
            "mentor founders and give advice to people starting out",
            "find a mentor to guide my career",
            "coach and support junior people in my field",
            "get guidance from an experienced leader",
            "give back by advising early-career professionals",
        ],
    ),
    (
        "networking",
        &[
            "meet interesting people and expand my network",
            "connect with peers in my industry",
            "make new professional contacts",
            "catch up with the community and meet new faces",
            "socialize and build relationships at the event",
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
