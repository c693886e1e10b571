//! Enrichment features that need no model: normalized answers, seniority and function
//! from the title, and the hash of an attendee's enrichment inputs (an attendee whose
//! inputs hash the same as at its last enrichment is skipped).

use crate::canonical::fingerprint;

/// Trims and collapses whitespace.
pub fn normalize_text(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Normalizes each item, drops empty ones and case-insensitive repeats (first wins).
pub fn normalize_list(items: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items.iter().map(|s| normalize_text(s)).filter(|s| !s.is_empty() && seen.insert(s.to_lowercase())).collect()
}

fn words(title: &str) -> Vec<String> {
    title.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_owned).collect()
}

fn has(words: &[String], any: &[&str]) -> bool {
    any.iter().any(|a| {
        let parts: Vec<&str> = a.split(' ').collect();
        words.windows(parts.len()).any(|w| w.iter().zip(&parts).all(|(x, y)| x == y))
    })
}

/// Seniority from a job title: `executive`, `vp`, `director`, `manager`, `senior`,
/// `junior` or `individual` (none of the cues); `None` without a title.
pub fn seniority(title: &str) -> Option<&'static str> {
    let w = words(title);
    if w.is_empty() {
        return None;
    }
    let level = if has(
        &w,
        &[
            "chief",
            "ceo",
            "cto",
            "cfo",
            "coo",
            "cmo",
            "cpo",
            "founder",
            "cofounder",
            "co founder",
            "president",
            "owner",
            "managing partner",
            "general partner",
        ],
    ) {
        "executive"
    } else if has(&w, &["vp", "vice president", "svp", "evp"]) {
        "vp"
    } else if has(&w, &["head", "director", "partner"]) {
        "director"
    } else if has(&w, &["manager", "lead", "principal"]) {
        "manager"
    } else if has(&w, &["senior", "sr", "staff"]) {
        "senior"
    } else if has(&w, &["junior", "jr", "intern", "graduate", "trainee", "assistant"]) {
        "junior"
    } else {
        "individual"
    };
    Some(level)
}

/// Function from a job title; `None` when no cue matches.
pub fn function(title: &str) -> Option<&'static str> {
    let w = words(title);
    const FUNCTIONS: [(&str, &[&str]); 10] = [
        ("investing", &["investor", "vc", "venture", "angel", "investment", "investments", "general partner", "fund"]),
        (
            "engineering",
            &["engineer", "engineering", "developer", "cto", "architect", "devops", "sre", "programmer", "software"],
        ),
        ("data", &["data", "analyst", "analytics", "scientist", "ml", "ai", "machine learning"]),
        ("product", &["product", "pm", "cpo"]),
        ("design", &["design", "designer", "ux", "ui"]),
        ("sales", &["sales", "account executive", "business development", "bd", "revenue", "partnerships"]),
        ("marketing", &["marketing", "cmo", "growth", "brand", "communications"]),
        ("finance", &["finance", "cfo", "accountant", "controller", "treasury"]),
        ("people", &["recruiter", "recruiting", "talent", "hr", "people"]),
        (
            "general_management",
            &["ceo", "founder", "cofounder", "co founder", "president", "coo", "owner", "general manager"],
        ),
    ];
    FUNCTIONS.iter().find(|(_, cues)| has(&w, cues)).map(|(f, _)| *f)
}

/// The hash of everything enrichment reads, with the model that reads it.
pub fn input_hash(model_id: &str, parts: &[&str]) -> String {
    let mut all = vec![model_id];
    all.extend_from_slice(parts);
    fingerprint(&all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles() {
        assert_eq!(seniority("Co-Founder & CEO"), Some("executive"));
        assert_eq!(seniority("VP Product"), Some("vp"));
        assert_eq!(seniority("Head of Engineering"), Some("director"));
        assert_eq!(seniority("Senior Data Scientist"), Some("senior"));
        assert_eq!(seniority("Software Engineer"), Some("individual"));
        assert_eq!(seniority("  "), None);
        assert_eq!(function("VP Product"), Some("product"));
        assert_eq!(function("Senior Data Scientist"), Some("data"));
        assert_eq!(function("Head of Engineering"), Some("engineering"));
        assert_eq!(function("Partner at a seed fund"), Some("investing"));
        assert_eq!(function("Founder & CEO"), Some("general_management"));
        assert_eq!(function("Astronaut"), None);
    }

    #[test]
    fn lists_are_normalized() {
        let items = vec!["  Seed  funding ".to_owned(), "seed funding".to_owned(), "".to_owned(), "Intros".to_owned()];
        assert_eq!(normalize_list(&items), ["Seed funding", "Intros"]);
    }

    #[test]
    fn input_hash_depends_on_model_and_inputs() {
        assert_ne!(input_hash("m1", &["a"]), input_hash("m2", &["a"]));
        assert_ne!(input_hash("m1", &["a", "b"]), input_hash("m1", &["ab"]));
    }
}
