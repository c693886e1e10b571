//! Identity resolution: anchors, name folding, and the rules that decide whether a new
//! attendee is a new person, the same person as an attendee already known, or a case
//! for a human (a review). Pure: the caller loads what is known and applies the outcome.
//!
//! The rules, with worked examples, are in `docs/identity.md`.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::import::EventAnswers;
use crate::time::Timestamp;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// What an identity decision did (the `kind` of a history entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecisionKind {
    Minted,
    AutoLinked,
    ReviewOpened,
    ReviewResolved,
    Merged,
}

impl DecisionKind {
    pub const ALL: [DecisionKind; 5] = [
        DecisionKind::Minted,
        DecisionKind::AutoLinked,
        DecisionKind::ReviewOpened,
        DecisionKind::ReviewResolved,
        DecisionKind::Merged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Minted => "minted",
            DecisionKind::AutoLinked => "auto_linked",
            DecisionKind::ReviewOpened => "review_opened",
            DecisionKind::ReviewResolved => "review_resolved",
            DecisionKind::Merged => "merged",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Where a review stands: open until resolved (accepted, rejected, distinct) or merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReviewStatus {
    Open,
    Accepted,
    Rejected,
    Distinct,
    Merged,
}

impl ReviewStatus {
    pub const ALL: [ReviewStatus; 5] = [
        ReviewStatus::Open,
        ReviewStatus::Accepted,
        ReviewStatus::Rejected,
        ReviewStatus::Distinct,
        ReviewStatus::Merged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Open => "open",
            ReviewStatus::Accepted => "accepted",
            ReviewStatus::Rejected => "rejected",
            ReviewStatus::Distinct => "distinct",
            ReviewStatus::Merged => "merged",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// An org-level attendee record, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Attendee {
    pub attendee_id: String,
    pub person_id: String,
    pub name: String,
    pub email: Option<String>,
    pub linkedin_url: Option<String>,
    pub title: Option<String>,
    pub company: Option<String>,
    /// Set when the record was merged into another: it is then an alias of it.
    pub merged_into: Option<String>,
    /// Its active anchors.
    pub anchors: Vec<Anchor>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// An attendee's membership of one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Membership {
    pub event_id: String,
    pub attendee_id: String,
    pub raw_data: Option<Map<String, Value>>,
    pub answers: EventAnswers,
    pub onboarded_at: Option<Timestamp>,
    pub joined_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnchorKind {
    Email,
    Linkedin,
}

impl AnchorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AnchorKind::Email => "email",
            AnchorKind::Linkedin => "linkedin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "email" => Some(AnchorKind::Email),
            "linkedin" => Some(AnchorKind::Linkedin),
            _ => None,
        }
    }
}

/// A normalized identifier that, shared, suggests two records are one person.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Anchor {
    pub kind: AnchorKind,
    pub value: String,
}

/// Email anchor: trimmed and lower-cased.
pub fn normalize_email(email: &str) -> Option<String> {
    let e = email.trim().to_lowercase();
    (!e.is_empty()).then_some(e)
}

/// LinkedIn anchor: the profile handle of any spelling of a profile URL
/// (`https://www.linkedin.com/in/Jordan-Lee/?trk=x`, `linkedin.com/in/jordan-lee`,
/// `http://uk.linkedin.com/in/jordan-lee/en`) lower-cased and percent-decoded; `None`
/// when the value is not a LinkedIn profile URL.
pub fn linkedin_handle(url: &str) -> Option<String> {
    let s = url.trim();
    let with_scheme = if s.contains("://") { s.to_owned() } else { format!("https://{s}") };
    let parsed = url::Url::parse(&with_scheme).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return None;
    }
    let host = parsed.host_str()?.to_lowercase();
    if host != "linkedin.com" && !host.ends_with(".linkedin.com") {
        return None;
    }
    let mut segments = parsed.path_segments()?.filter(|s| !s.is_empty());
    if !segments.next()?.eq_ignore_ascii_case("in") {
        return None;
    }
    let raw = segments.next()?;
    let handle = percent_decode(raw).trim().to_lowercase();
    (!handle.is_empty()).then_some(handle)
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("h={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}

/// The anchors of an attendee's email and LinkedIn URL.
pub fn anchors_of(email: Option<&str>, linkedin_url: Option<&str>) -> Vec<Anchor> {
    let mut out = Vec::new();
    if let Some(v) = email.and_then(normalize_email) {
        out.push(Anchor { kind: AnchorKind::Email, value: v });
    }
    if let Some(v) = linkedin_url.and_then(linkedin_handle) {
        out.push(Anchor { kind: AnchorKind::Linkedin, value: v });
    }
    out
}

/// Folds a name or company for comparison: accents removed (NFKD without combining
/// marks), lower case, punctuation as spaces, whitespace collapsed.
pub fn fold(s: &str) -> String {
    let folded: String = s
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether two person names agree: equal after folding, the same words in another
/// order, or the same last name with compatible first names — equal, one an initial of
/// the other ("J. Lee"), or one a prefix of the other of at least three letters ("Jon
/// Lee" / "Jonathan Lee"); middle names are ignored.
pub fn names_agree(a: &str, b: &str) -> bool {
    let (fa, fb) = (fold(a), fold(b));
    if fa.is_empty() || fb.is_empty() {
        return false;
    }
    if fa == fb {
        return true;
    }
    let ta: Vec<&str> = fa.split(' ').collect();
    let tb: Vec<&str> = fb.split(' ').collect();
    let (mut sa, mut sb) = (ta.clone(), tb.clone());
    sa.sort_unstable();
    sb.sort_unstable();
    if sa == sb {
        return true;
    }
    if ta.len() < 2 || tb.len() < 2 || ta.last() != tb.last() {
        return false;
    }
    let (x, y) = (ta[0], tb[0]);
    let (short, long) = if x.len() <= y.len() { (x, y) } else { (y, x) };
    short == long
        || (short.chars().count() == 1 && long.starts_with(short))
        || (short.chars().count() >= 3 && long.starts_with(short))
}

/// An attendee the resolver knows: stored, or earlier in the same import.
#[derive(Debug, Clone)]
pub struct Known {
    pub attendee_id: String,
    pub person_id: String,
    pub name: String,
    pub company: Option<String>,
    pub anchors: Vec<Anchor>,
}

/// The new attendee to resolve.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub attendee_id: &'a str,
    pub name: &'a str,
    pub company: Option<&'a str>,
    pub anchors: &'a [Anchor],
}

/// Why a review was opened, strongest first: a row opens at most one review, for
/// the strongest clash it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Clash {
    /// Email and LinkedIn point at different people.
    AnchorsDisagree,
    /// One anchor points at more than one person.
    AnchorAmbiguous,
    /// An anchor matches, but the names clearly disagree.
    NameMismatch,
    /// No anchor matches, but the name and company are the same.
    NearDuplicate,
}

impl Clash {
    pub fn reason(self) -> &'static str {
        match self {
            Clash::AnchorsDisagree => "The email and the LinkedIn profile point at different people.",
            Clash::AnchorAmbiguous => "An anchor is shared by more than one person.",
            Clash::NameMismatch => "An anchor matches, but the names disagree.",
            Clash::NearDuplicate => "Same name and company as another attendee, with a different email.",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Clash::AnchorsDisagree => "anchors_disagree",
            Clash::AnchorAmbiguous => "anchor_ambiguous",
            Clash::NameMismatch => "name_mismatch",
            Clash::NearDuplicate => "near_duplicate",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Nobody matches: a new person.
    Minted,
    /// Same person as `candidate` (an attendee ID), through `anchors`.
    AutoLinked { candidate: String, person_id: String, anchors: Vec<Anchor> },
    /// A human must decide; the attendee stays its own person meanwhile.
    Review { candidate: String, clash: Clash, anchors: Vec<Anchor>, evidence: Value },
}

/// Resolves attendees against what is known, oldest first.
#[derive(Debug, Default)]
pub struct Resolver {
    known: Vec<Known>,
    by_anchor: HashMap<Anchor, Vec<usize>>,
    by_name_company: HashMap<(String, String), Vec<usize>>,
    distinct: HashSet<(String, String)>,
}

fn pair(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_owned(), b.to_owned())
    } else {
        (b.to_owned(), a.to_owned())
    }
}

impl Resolver {
    /// `distinct`: attendee ID pairs a human said are different people.
    pub fn new(distinct: impl IntoIterator<Item = (String, String)>) -> Self {
        Self { distinct: distinct.into_iter().map(|(a, b)| pair(&a, &b)).collect(), ..Self::default() }
    }

    /// Adds an attendee; add them oldest first, so that candidates are the oldest match.
    pub fn add(&mut self, k: Known) {
        let i = self.known.len();
        for a in &k.anchors {
            self.by_anchor.entry(a.clone()).or_default().push(i);
        }
        if let Some(key) = name_company_key(&k.name, k.company.as_deref()) {
            self.by_name_company.entry(key).or_default().push(i);
        }
        self.known.push(k);
    }

    fn is_distinct(&self, a: &str, b: &str) -> bool {
        self.distinct.contains(&pair(a, b))
    }

    /// Known attendees matching an anchor, oldest first, without those a human ruled
    /// distinct from the subject.
    fn matches(&self, subject: &Subject<'_>, anchor: &Anchor) -> Vec<&Known> {
        self.by_anchor
            .get(anchor)
            .into_iter()
            .flatten()
            .map(|&i| &self.known[i])
            .filter(|k| k.attendee_id != subject.attendee_id && !self.is_distinct(subject.attendee_id, &k.attendee_id))
            .collect()
    }

    pub fn resolve(&self, s: &Subject<'_>) -> Outcome {
        let mut hits: Vec<(&Anchor, Vec<&Known>)> = Vec::new();
        for a in s.anchors {
            let m = self.matches(s, a);
            if !m.is_empty() {
                hits.push((a, m));
            }
        }
        if !hits.is_empty() {
            return self.resolve_anchored(s, &hits);
        }
        // No anchor matches: a near-duplicate by name and company?
        if let Some(key) = name_company_key(s.name, s.company) {
            let same = self
                .by_name_company
                .get(&key)
                .into_iter()
                .flatten()
                .map(|&i| &self.known[i])
                .find(|k| k.attendee_id != s.attendee_id && !self.is_distinct(s.attendee_id, &k.attendee_id));
            if let Some(k) = same {
                return Outcome::Review {
                    candidate: k.attendee_id.clone(),
                    clash: Clash::NearDuplicate,
                    anchors: Vec::new(),
                    evidence: evidence(s, k, &[], Clash::NearDuplicate),
                };
            }
        }
        Outcome::Minted
    }

    fn resolve_anchored(&self, s: &Subject<'_>, hits: &[(&Anchor, Vec<&Known>)]) -> Outcome {
        let persons_of = |ks: &[&Known]| ks.iter().map(|k| k.person_id.clone()).collect::<HashSet<_>>();
        let matched: Vec<Anchor> = hits.iter().map(|(a, _)| (*a).clone()).collect();
        // Email and LinkedIn point at disjoint sets of people.
        if let [(_, first), (_, second)] = hits {
            if persons_of(first).is_disjoint(&persons_of(second)) {
                let k = first[0];
                return Outcome::Review {
                    candidate: k.attendee_id.clone(),
                    clash: Clash::AnchorsDisagree,
                    anchors: matched.clone(),
                    evidence: evidence(s, k, hits, Clash::AnchorsDisagree),
                };
            }
        }
        let all: Vec<&Known> = hits.iter().flat_map(|(_, ks)| ks.iter().copied()).collect();
        let persons = persons_of(&all);
        let candidate = hits[0].1[0];
        if persons.len() > 1 {
            return Outcome::Review {
                candidate: candidate.attendee_id.clone(),
                clash: Clash::AnchorAmbiguous,
                anchors: matched,
                evidence: evidence(s, candidate, hits, Clash::AnchorAmbiguous),
            };
        }
        if !names_agree(s.name, &candidate.name) {
            return Outcome::Review {
                candidate: candidate.attendee_id.clone(),
                clash: Clash::NameMismatch,
                anchors: matched,
                evidence: evidence(s, candidate, hits, Clash::NameMismatch),
            };
        }
        Outcome::AutoLinked {
            candidate: candidate.attendee_id.clone(),
            person_id: candidate.person_id.clone(),
            anchors: matched,
        }
    }
}

fn name_company_key(name: &str, company: Option<&str>) -> Option<(String, String)> {
    let (n, c) = (fold(name), fold(company?));
    (!n.is_empty() && !c.is_empty()).then_some((n, c))
}

/// What agreed and what clashed, for the person who resolves the review.
fn evidence(s: &Subject<'_>, candidate: &Known, hits: &[(&Anchor, Vec<&Known>)], clash: Clash) -> Value {
    let anchors: Vec<Value> = s
        .anchors
        .iter()
        .map(|a| {
            let matched: Vec<&str> = hits
                .iter()
                .find(|(h, _)| *h == a)
                .map(|(_, ks)| ks.iter().map(|k| k.attendee_id.as_str()).collect())
                .unwrap_or_default();
            let candidate_has = candidate.anchors.contains(a);
            json!({"kind": a.kind.as_str(), "value": a.value, "shared_with_candidate": candidate_has, "matched_attendees": matched})
        })
        .collect();
    json!({
        "clash": clash.code(),
        "anchors": anchors,
        "names": {"attendee": s.name, "candidate": candidate.name, "agree": names_agree(s.name, &candidate.name)},
        "companies": {"attendee": s.company, "candidate": candidate.company,
            "agree": s.company.zip(candidate.company.as_deref()).is_some_and(|(a, b)| fold(a) == fold(b))},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linkedin_spellings_fold_to_one_handle() {
        for url in [
            "https://www.linkedin.com/in/Jordan-Lee/?x=1",
            "linkedin.com/in/jordan-lee",
            "http://linkedin.com/in/jordan-lee/",
            "https://uk.linkedin.com/in/JORDAN-LEE/en",
            "  https://www.linkedin.com/in/jordan-lee?trk=public_profile  ",
            "https://www.linkedin.com/in/jordan%2Dlee",
        ] {
            assert_eq!(linkedin_handle(url).as_deref(), Some("jordan-lee"), "{url}");
        }
        for url in [
            "https://example.com/in/jordan",
            "https://linkedin.com/company/acme",
            "linkedin.com",
            "not a url",
            "ftp://linkedin.com/in/x",
        ] {
            assert_eq!(linkedin_handle(url), None, "{url}");
        }
    }

    #[test]
    fn emails_fold_case_and_whitespace() {
        assert_eq!(normalize_email("  Jordan.Lee@Example.COM ").as_deref(), Some("jordan.lee@example.com"));
    }

    #[test]
    fn names() {
        assert_eq!(fold("  José   Ñúñez-García "), "jose nunez garcia");
        assert!(names_agree("José Núñez", "jose nunez"));
        assert!(names_agree("Jon Lee", "Jonathan Lee"));
        assert!(names_agree("J. Lee", "Jordan Lee"));
        assert!(names_agree("Jordan A. Lee", "Jordan Lee"));
        assert!(names_agree("Lee Jordan", "Jordan Lee"));
        assert!(!names_agree("Jordan Lee", "Morgan Smith"));
        assert!(!names_agree("Jordan Lee", "Jordan Smith"));
        assert!(!names_agree("Al Lee", "Alice Lee"), "two-letter prefixes are too weak");
        assert!(!names_agree("Jordan", "Jordan Lee"));
    }

    fn known(
        id: &str,
        person: &str,
        name: &str,
        company: Option<&str>,
        email: Option<&str>,
        li: Option<&str>,
    ) -> Known {
        Known {
            attendee_id: id.into(),
            person_id: person.into(),
            name: name.into(),
            company: company.map(Into::into),
            anchors: anchors_of(email, li),
        }
    }

    fn resolve(
        r: &Resolver,
        id: &str,
        name: &str,
        company: Option<&str>,
        email: Option<&str>,
        li: Option<&str>,
    ) -> Outcome {
        let anchors = anchors_of(email, li);
        r.resolve(&Subject { attendee_id: id, name, company, anchors: &anchors })
    }

    #[test]
    fn rules() {
        let mut r = Resolver::new([("new-d".to_owned(), "a1".to_owned())]);
        r.add(known(
            "a1",
            "p1",
            "Jordan Lee",
            Some("Acme"),
            Some("jordan@example.com"),
            Some("linkedin.com/in/jordanlee"),
        ));
        r.add(known(
            "a2",
            "p2",
            "Morgan Smith",
            Some("Initech"),
            Some("morgan@example.com"),
            Some("linkedin.com/in/morgan"),
        ));

        assert_eq!(resolve(&r, "new", "Someone Else", None, Some("else@example.com"), None), Outcome::Minted);
        match resolve(&r, "new", "jordan lee", None, Some(" JORDAN@example.com"), None) {
            Outcome::AutoLinked { candidate, person_id, .. } => {
                assert_eq!((candidate.as_str(), person_id.as_str()), ("a1", "p1"))
            }
            o => panic!("{o:?}"),
        }
        match resolve(
            &r,
            "new",
            "Jordan Lee",
            None,
            Some("jordan@example.com"),
            Some("https://www.linkedin.com/in/morgan/"),
        ) {
            Outcome::Review { clash, candidate, .. } => {
                assert_eq!((clash, candidate.as_str()), (Clash::AnchorsDisagree, "a1"))
            }
            o => panic!("{o:?}"),
        }
        match resolve(&r, "new", "Pat Doe", None, Some("jordan@example.com"), None) {
            Outcome::Review { clash, evidence, .. } => {
                assert_eq!(clash, Clash::NameMismatch);
                assert_eq!(evidence["names"]["agree"], false);
            }
            o => panic!("{o:?}"),
        }
        match resolve(&r, "new", "Jordan Lee", Some("ACME "), Some("jl@other.org"), None) {
            Outcome::Review { clash, candidate, .. } => {
                assert_eq!((clash, candidate.as_str()), (Clash::NearDuplicate, "a1"))
            }
            o => panic!("{o:?}"),
        }
        // A pair ruled distinct is never raised again.
        assert_eq!(resolve(&r, "new-d", "Pat Doe", None, Some("jordan@example.com"), None), Outcome::Minted);
    }
}

#[cfg(test)]
mod kind_tests {
    use super::*;

    #[test]
    fn decision_kinds_and_review_statuses_round_trip_through_their_names() {
        for k in DecisionKind::ALL {
            assert_eq!(DecisionKind::parse(k.as_str()), Some(k));
        }
        for s in ReviewStatus::ALL {
            assert_eq!(ReviewStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(DecisionKind::parse("linked"), None);
        assert_eq!(ReviewStatus::parse("Open"), None);
    }
}
