//! Merging two attendee records of one person: which anchors move and which retire,
//! whose fields win, and which event memberships move, combine or go. Pure: the store
//! reads both records inside the merge's transaction, hands them here, and writes the
//! plan (as the import does).
//!
//! The rules (docs/identity.md, "Merges"): the target survives and its non-null fields
//! win, the source's filling only its gaps; an anchor both hold stays the target's and
//! the source's copy is retired, the source's other anchors move to the target; in an
//! event both attend, the target's membership is kept, its empty fields filled from the
//! source's, and the source's goes; in an event only the source attends, its membership
//! moves to the target unchanged. The source, and every alias already merged into it,
//! becomes an alias of the target; every stored match row involving the source goes.

use crate::identity::{Anchor, Attendee, Membership};
use crate::import::EventAnswers;
use crate::time::Timestamp;

/// What a merge writes.
#[derive(Debug, Clone, PartialEq)]
pub struct MergePlan {
    /// The target's record after the merge.
    pub target: Attendee,
    /// The source's anchors the target holds too: retired (they stay in the history).
    pub retire_anchors: Vec<Anchor>,
    /// The source's other anchors: they move to the target.
    pub move_anchors: Vec<Anchor>,
    /// The target's memberships of events both attend, with the source's answers filling
    /// their gaps; the source's memberships of those events are deleted.
    pub combined_memberships: Vec<Membership>,
    /// Events only the source attends: its membership moves to the target as it is.
    pub moved_memberships: Vec<String>,
}

pub fn plan_merge(
    source: &Attendee,
    source_memberships: &[Membership],
    target: &Attendee,
    target_memberships: &[Membership],
    now: Timestamp,
) -> MergePlan {
    let (retire_anchors, move_anchors) = source.anchors.iter().cloned().partition(|a| target.anchors.contains(a));
    let mut merged = target.clone();
    fill(&mut merged.email, &source.email);
    fill(&mut merged.linkedin_url, &source.linkedin_url);
    fill(&mut merged.title, &source.title);
    fill(&mut merged.company, &source.company);
    merged.updated_at = now;
    let mut combined_memberships = Vec::new();
    let mut moved_memberships = Vec::new();
    for s in source_memberships {
        match target_memberships.iter().find(|t| t.event_id == s.event_id) {
            Some(t) => combined_memberships.push(combine(t, s, now)),
            None => moved_memberships.push(s.event_id.clone()),
        }
    }
    MergePlan { target: merged, retire_anchors, move_anchors, combined_memberships, moved_memberships }
}

fn fill<T: Clone>(field: &mut Option<T>, other: &Option<T>) {
    if field.is_none() {
        field.clone_from(other);
    }
}

/// The target's membership with its empty fields filled from the source's.
fn combine(target: &Membership, source: &Membership, now: Timestamp) -> Membership {
    let mut m = target.clone();
    fill(&mut m.raw_data, &source.raw_data);
    let (a, b): (&mut EventAnswers, &EventAnswers) = (&mut m.answers, &source.answers);
    fill(&mut a.goal, &b.goal);
    fill(&mut a.needs, &b.needs);
    fill(&mut a.offers, &b.offers);
    fill(&mut a.interests, &b.interests);
    fill(&mut a.bio, &b.bio);
    fill(&mut a.role_at_event, &b.role_at_event);
    fill(&mut a.visibility, &b.visibility);
    fill(&mut a.sessions, &b.sessions);
    fill(&mut m.onboarded_at, &source.onboarded_at);
    fill(&mut m.joined_at, &source.joined_at);
    m.updated_at = now;
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::AnchorKind;

    fn anchor(kind: AnchorKind, value: &str) -> Anchor {
        Anchor { kind, value: value.into() }
    }

    fn person(id: &str, email: Option<&str>, title: Option<&str>, anchors: Vec<Anchor>) -> Attendee {
        Attendee {
            attendee_id: id.into(),
            person_id: format!("p-{id}"),
            name: "Ada Lovelace".into(),
            email: email.map(Into::into),
            linkedin_url: None,
            title: title.map(Into::into),
            company: None,
            merged_into: None,
            anchors,
            created_at: Timestamp::from_millis(1),
            updated_at: Timestamp::from_millis(1),
        }
    }

    fn member(event: &str, id: &str, goal: Option<&str>, bio: Option<&str>) -> Membership {
        Membership {
            event_id: event.into(),
            attendee_id: id.into(),
            raw_data: None,
            answers: EventAnswers { goal: goal.map(Into::into), bio: bio.map(Into::into), ..EventAnswers::default() },
            onboarded_at: None,
            joined_at: Some(Timestamp::from_millis(5)),
            created_at: Timestamp::from_millis(1),
            updated_at: Timestamp::from_millis(1),
        }
    }

    #[test]
    fn the_target_wins_and_the_source_fills_its_gaps() {
        let shared = anchor(AnchorKind::Email, "ada@example.com");
        let own = anchor(AnchorKind::Linkedin, "ada-l");
        let source = person("s", Some("ada@example.com"), Some("CTO"), vec![shared.clone(), own.clone()]);
        let target = person("t", Some("ada@work.example"), None, vec![shared.clone()]);
        let now = Timestamp::from_millis(99);
        let plan = plan_merge(
            &source,
            &[member("both", "s", Some("hire"), Some("source bio")), member("only-s", "s", None, None)],
            &target,
            &[member("both", "t", Some("invest"), None), member("only-t", "t", None, None)],
            now,
        );
        assert_eq!(plan.retire_anchors, vec![shared]);
        assert_eq!(plan.move_anchors, vec![own]);
        assert_eq!(plan.target.email.as_deref(), Some("ada@work.example"), "the target's field wins");
        assert_eq!(plan.target.title.as_deref(), Some("CTO"), "the source fills a gap");
        assert_eq!(plan.target.person_id, "p-t");
        assert_eq!(plan.target.updated_at, now);
        assert_eq!(plan.combined_memberships.len(), 1);
        let both = &plan.combined_memberships[0];
        assert_eq!((both.event_id.as_str(), both.attendee_id.as_str()), ("both", "t"));
        assert_eq!(both.answers.goal.as_deref(), Some("invest"));
        assert_eq!(both.answers.bio.as_deref(), Some("source bio"));
        assert_eq!(both.updated_at, now);
        assert_eq!(plan.moved_memberships, vec!["only-s".to_owned()]);
    }

    #[test]
    fn a_source_with_nothing_moves_nothing() {
        let target = person("t", None, None, vec![]);
        let plan = plan_merge(&person("s", None, None, vec![]), &[], &target, &[], Timestamp::from_millis(2));
        assert!(plan.retire_anchors.is_empty() && plan.move_anchors.is_empty());
        assert!(plan.combined_memberships.is_empty() && plan.moved_memberships.is_empty());
        assert_eq!(plan.target, Attendee { updated_at: Timestamp::from_millis(2), ..target });
    }
}
