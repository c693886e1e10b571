//! The store contract: what every backend must do, as the services observe it through
//! the traits — ordering (IDs compare byte-wise, as the cursors assume), paging, unique
//! keys, idempotency under concurrency, leases, the outbox, and plans written as given.
//! Each test runs against every backend of [`backends`]: SQLite always (twice: with the
//! short reads on the calling thread, as served, and with every read through the pool),
//! and PostgreSQL
//! when `MINGLE_TEST_POSTGRES_URL` names a server (`.ci/run` sets it; when it is set,
//! a backend that cannot be reached fails the test rather than being skipped).

use std::sync::Arc;

use mingle_core::cursor::Position;
use mingle_core::merge::plan_merge;
use mingle_core::{RunKind, RunStatus, Scope, Timestamp};
use serde_json::{json, Map};

use crate::models::*;
use crate::{Store, StoreError};

/// One backend under test; the temporary directory lives as long as the store.
pub(crate) struct Backend {
    pub name: &'static str,
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
}

pub(crate) async fn backends() -> Vec<Backend> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("contract.db").display());
    let sqlite = crate::connect(&url).await.expect("open SQLite");
    let pooled_dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", pooled_dir.path().join("contract.db").display());
    let pooled = crate::sqlite::SqliteStore::open(&url).await.expect("open SQLite").without_thread_reads();
    let mut all = vec![
        Backend { name: "sqlite", store: sqlite, _dir: Some(dir) },
        Backend { name: "sqlite, reads through the pool", store: Arc::new(pooled), _dir: Some(pooled_dir) },
    ];
    if let Ok(base) = std::env::var("MINGLE_TEST_POSTGRES_URL") {
        let url = crate::postgres::fresh_schema_url(&base).await.expect("MINGLE_TEST_POSTGRES_URL is set but unusable");
        let store = crate::connect(&url).await.expect("open PostgreSQL");
        all.push(Backend { name: "postgres", store, _dir: None });
    }
    all
}

fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(1_700_000_000_000 + ms)
}

async fn org(store: &dyn Store, org_id: &str) {
    store
        .insert_org(&Org {
            org_id: org_id.into(),
            name: format!("Org {org_id}"),
            webhook_secret: format!("whsec_{org_id}"),
            previous_webhook_secret: None,
            previous_webhook_secret_until: None,
            cursor_key: vec![1; 32],
            created_at: t(0),
        })
        .await
        .unwrap();
}

fn event(event_id: &str, at: Timestamp) -> Event {
    Event {
        event_id: event_id.into(),
        title: format!("Event {event_id}"),
        description: None,
        event_details: None,
        objectives: None,
        welcome_instructions: None,
        start_date: None,
        end_date: None,
        timezone: None,
        visibility: None,
        url_slug: None,
        created_at: at,
        updated_at: at,
    }
}

fn run(org_id: &str, run_id: &str, key: &str, executes: bool, webhook_url: Option<&str>, at: Timestamp) -> Run {
    Run {
        org_id: org_id.into(),
        run_id: run_id.into(),
        kind: RunKind::Import,
        status: RunStatus::Queued,
        event_id: executes.then(|| "ev".to_owned()),
        idempotency_key: key.into(),
        request_hash: "h".into(),
        progress: Map::new(),
        error: None,
        snapshot_metadata: Map::new(),
        version_metadata: Map::new(),
        webhook_url: webhook_url.map(Into::into),
        executes,
        created_at: at,
        updated_at: at,
        started_at: None,
        terminal_at: None,
        attempts: 0,
    }
}

fn page(after: Option<(i64, &str)>, limit: u32) -> PageQuery {
    PageQuery { after: after.map(|(key, id)| Position { key, id: id.into() }), limit }
}

#[tokio::test]
async fn orgs_accounts_and_credentials() {
    for b in backends().await {
        let s = b.store.as_ref();
        org(s, "o1").await;
        let again =
            s.insert_org(&Org { org_id: "o1".into(), ..s.get_org("o1").await.unwrap().expect("the org") }).await;
        assert!(matches!(again, Err(StoreError::Conflict)), "{}: {again:?}", b.name);
        let account = ServiceAccount {
            org_id: "o1".into(),
            service_account_id: "a1".into(),
            name: "bot".into(),
            scopes: vec![Scope::Read, Scope::Write],
            status: AccountStatus::Active,
            created_at: t(1),
            updated_at: t(1),
        };
        let token = TokenRow {
            org_id: "o1".into(),
            token_id: "t1".into(),
            service_account_id: "a1".into(),
            token_hash: vec![7; 32],
            created_at: t(1),
        };
        s.insert_service_account(&account, &token).await.unwrap();
        let c = s.find_credential("o1", "t1").await.unwrap().expect("the credential");
        assert_eq!((c.account.clone(), c.token_hash.clone(), c.token_revoked), (account.clone(), vec![7; 32], false));
        assert_eq!(s.find_credential("o2", "t1").await.unwrap(), None, "{}: another org's token", b.name);
        assert_eq!(s.find_service_account("a1").await.unwrap(), Some(account.clone()));

        s.set_service_account_status("o1", "a1", AccountStatus::Disabled, t(2)).await.unwrap();
        let c = s.find_credential("o1", "t1").await.unwrap().unwrap();
        assert_eq!((c.account.status, c.account.updated_at, c.token_revoked), (AccountStatus::Disabled, t(2), false));
        s.set_service_account_status("o1", "a1", AccountStatus::Revoked, t(3)).await.unwrap();
        let c = s.find_credential("o1", "t1").await.unwrap().unwrap();
        assert_eq!((c.account.status, c.token_revoked), (AccountStatus::Revoked, true), "{}", b.name);

        assert!(s.rotate_webhook_secret("o1", "whsec_new", t(10)).await.unwrap());
        let o = s.get_org("o1").await.unwrap().unwrap();
        assert_eq!(o.webhook_secret, "whsec_new");
        assert_eq!(
            (o.previous_webhook_secret.as_deref(), o.previous_webhook_secret_until),
            (Some("whsec_o1"), Some(t(10)))
        );
        assert!(!s.rotate_webhook_secret("nobody", "whsec_x", t(10)).await.unwrap());
    }
}

#[tokio::test]
async fn events_list_newest_first_with_ids_compared_byte_wise() {
    for b in backends().await {
        let s = b.store.as_ref();
        org(s, "o1").await;
        org(s, "o2").await;
        // Same creation time: the ID breaks the tie, byte-wise (not by a collation).
        for id in ["a", "B", "b", "a-1", "é", "Z"] {
            s.insert_event("o1", &event(id, t(5))).await.unwrap();
        }
        s.insert_event("o1", &event("newest", t(9))).await.unwrap();
        s.insert_event("o2", &event("theirs", t(9))).await.unwrap();
        assert!(matches!(s.insert_event("o1", &event("a", t(6))).await, Err(StoreError::Conflict)));
        s.insert_event("o2", &event("a", t(6))).await.expect("another org may use the same ID");

        let ids = |events: Vec<Event>| events.into_iter().map(|e| e.event_id).collect::<Vec<_>>();
        let all = ids(s.list_events("o1", &page(None, 100)).await.unwrap());
        assert_eq!(all, ["newest", "é", "b", "a-1", "a", "Z", "B"], "{}", b.name);
        let first = ids(s.list_events("o1", &page(None, 3)).await.unwrap());
        assert_eq!(first, ["newest", "é", "b"]);
        let after = ids(s.list_events("o1", &page(Some((t(5).millis(), "b")), 3)).await.unwrap());
        assert_eq!(after, ["a-1", "a", "Z"], "{}: the page after (t5, b)", b.name);
        assert_eq!(s.get_event("o2", "newest").await.unwrap(), None, "{}: tenancy", b.name);
        assert_eq!(s.get_event("o1", "é").await.unwrap().map(|e| e.title), Some("Event é".into()));
    }
}

#[tokio::test]
async fn sessions_list_by_start_with_unscheduled_last() {
    for b in backends().await {
        let s = b.store.as_ref();
        org(s, "o1").await;
        s.insert_event("o1", &event("ev", t(0))).await.unwrap();
        s.insert_event("o1", &event("other", t(0))).await.unwrap();
        let session = |id: &str, start: Option<i64>| Session {
            session_id: id.into(),
            event_id: "ev".into(),
            title: id.into(),
            description: None,
            start_timestamp: start.map(t),
            end_timestamp: None,
            created_at: t(0),
            updated_at: t(0),
        };
        for (id, start) in [("s-late", Some(50)), ("s-none", None), ("s-early", Some(10)), ("S-early", Some(10))] {
            s.insert_session("o1", &session(id, start)).await.unwrap();
        }
        let elsewhere = Session { event_id: "other".into(), ..session("s-late", Some(1)) };
        assert!(matches!(s.insert_session("o1", &elsewhere).await, Err(StoreError::Conflict)), "{}", b.name);
        let ids: Vec<String> =
            s.list_sessions("o1", "ev", &page(None, 10)).await.unwrap().into_iter().map(|x| x.session_id).collect();
        assert_eq!(ids, ["S-early", "s-early", "s-late", "s-none"], "{}", b.name);
        let rest: Vec<String> = s
            .list_sessions("o1", "ev", &page(Some((t(10).millis(), "s-early")), 10))
            .await
            .unwrap()
            .into_iter()
            .map(|x| x.session_id)
            .collect();
        assert_eq!(rest, ["s-late", "s-none"]);
    }
}

#[tokio::test]
async fn concurrent_inserts_under_one_idempotency_key_create_one_run() {
    for b in backends().await {
        org(b.store.as_ref(), "o1").await;
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let store = b.store.clone();
                tokio::spawn(async move {
                    let r = run("o1", &format!("run-{i}"), "same-key", true, None, t(i));
                    store.insert_run(&r, Some("payload")).await.unwrap()
                })
            })
            .collect();
        let mut created = 0;
        let mut existing = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                RunInsert::Created => created += 1,
                RunInsert::Existing(r) => existing.push(r.run_id),
            }
        }
        assert_eq!(created, 1, "{}", b.name);
        existing.dedup();
        assert_eq!(existing.len(), 1, "{}: every loser sees the one winner", b.name);
        let winner = &existing[0];
        assert_eq!(b.store.run_payload("o1", winner).await.unwrap().as_deref(), Some("payload"));
        let listed = b.store.list_runs("o1", None, &page(None, 50)).await.unwrap();
        assert_eq!(listed.len(), 1, "{}", b.name);
    }
}

#[tokio::test]
async fn the_queue_claims_executing_runs_oldest_first_under_leases() {
    for b in backends().await {
        let s = b.store.as_ref();
        org(s, "o1").await;
        org(s, "o2").await;
        s.insert_run(&run("o1", "recorded", "k0", false, None, t(0)), None).await.unwrap();
        s.insert_run(&run("o2", "r1", "k1", true, Some("https://hooks.example/a"), t(1)), None).await.unwrap();
        s.insert_run(&run("o1", "r2", "k2", true, None, t(2)), None).await.unwrap();
        let mut depths = s.queue_depths().await.unwrap();
        depths.retain(|(kind, _)| kind == "import");
        assert_eq!(depths, [("import".to_owned(), 2)], "{}: recorded runs are not work", b.name);

        let first = s.claim_run("w1", t(100), 1_000).await.unwrap().expect("a run");
        assert_eq!((first.run_id.as_str(), first.status, first.attempts), ("r1", RunStatus::Running, 1), "{}", b.name);
        let second = s.claim_run("w2", t(100), 1_000).await.unwrap().expect("a run");
        assert_eq!(second.run_id, "r2");
        assert_eq!(s.claim_run("w3", t(100), 1_000).await.unwrap(), None, "{}: the recorded run never", b.name);

        // w1 heartbeats; w2 dies: its lease expires and w3 takes its run over.
        let r1 = Lease { org_id: "o2".into(), run_id: "r1".into(), owner: "w1".into() };
        assert!(s.extend_lease(&r1, t(5_000)).await.unwrap());
        let stale = Lease { org_id: "o1".into(), run_id: "r2".into(), owner: "w2".into() };
        let again = s.claim_run("w3", t(1_200), 1_000).await.unwrap().expect("the expired run");
        assert_eq!((again.run_id.as_str(), again.attempts), ("r2", 2));
        assert!(!s.extend_lease(&stale, t(5_000)).await.unwrap());
        assert!(!s.set_progress(&stale, &Map::new(), t(1_300)).await.unwrap());
        assert!(!s.finish_run(&stale, RunStatus::Failed, None, None, t(1_300)).await.unwrap(), "{}", b.name);
        let live = Lease { owner: "w3".into(), ..stale };
        assert!(s.extend_lease(&live, t(5_000)).await.unwrap());
        assert_eq!(s.claim_run("w4", t(3_000), 1_000).await.unwrap(), None, "{}: the extended lease holds", b.name);
        let error = json!({"code": "INTERNAL_ERROR", "message": "x"});
        assert!(s.finish_run(&live, RunStatus::Failed, None, Some(&error), t(3_000)).await.unwrap());
        let failed = s.get_run("o1", "r2").await.unwrap().unwrap();
        assert_eq!((failed.status, failed.error, failed.terminal_at), (RunStatus::Failed, Some(error), Some(t(3_000))));
        assert_eq!(
            s.list_deliveries("o1", false, 10).await.unwrap(),
            vec![],
            "{}: no webhook_url, no delivery",
            b.name
        );

        // The run with a webhook_url ends with its delivery queued, in the same write.
        let lease = r1;
        let progress = json!({"processed": 3}).as_object().unwrap().clone();
        assert!(s.finish_run(&lease, RunStatus::Succeeded, Some(&progress), None, t(400)).await.unwrap());
        assert!(
            !s.finish_run(&lease, RunStatus::Failed, None, None, t(401)).await.unwrap(),
            "{}: terminal once",
            b.name
        );
        let done = s.get_run("o2", "r1").await.unwrap().unwrap();
        assert_eq!((done.status, done.progress), (RunStatus::Succeeded, progress));
        let deliveries = s.list_deliveries("o2", false, 10).await.unwrap();
        assert_eq!(deliveries.len(), 1, "{}", b.name);
        let d = &deliveries[0];
        assert_eq!(
            (d.run_id.as_str(), d.event_type.as_str(), d.url.as_str()),
            ("r1", "run.succeeded", "https://hooks.example/a")
        );
        assert_eq!((d.status, d.attempts, d.next_attempt_at), (DeliveryStatus::Pending, 0, Some(t(400))));
    }
}

#[tokio::test]
async fn deliveries_are_claimed_attempted_retried_and_redelivered() {
    for b in backends().await {
        let s = b.store.as_ref();
        org(s, "o1").await;
        s.insert_run(&run("o1", "r1", "k1", true, Some("https://hooks.example/a"), t(0)), None).await.unwrap();
        let claimed = s.claim_run("w", t(1), 60_000).await.unwrap().unwrap();
        let lease = Lease { org_id: "o1".into(), run_id: claimed.run_id, owner: "w".into() };
        assert!(s.finish_run(&lease, RunStatus::Failed, None, None, t(10)).await.unwrap());

        assert_eq!(s.claim_delivery("sender", t(5), 1_000).await.unwrap(), None, "{}: not due yet", b.name);
        let d = s.claim_delivery("sender", t(10), 1_000).await.unwrap().expect("due");
        assert_eq!(d.event_type, "run.failed");
        assert_eq!(s.claim_delivery("other", t(11), 1_000).await.unwrap(), None, "{}: held", b.name);
        let held = DeliveryLease { org_id: "o1".into(), delivery_id: d.delivery_id.clone(), owner: "sender".into() };
        let attempt = |n: i64, code: Option<u16>| DeliveryAttempt {
            attempt: n,
            attempted_at: t(10 + n),
            status_code: code,
            latency_ms: 12,
            error: code.filter(|c| *c >= 300).map(|c| format!("HTTP {c}")),
        };
        let wrong = DeliveryLease { owner: "other".into(), ..held.clone() };
        assert!(!s.record_attempt(&wrong, &attempt(1, Some(500)), DeliveryNext::Failed, t(12)).await.unwrap());
        assert!(s.record_attempt(&held, &attempt(1, Some(500)), DeliveryNext::RetryAt(t(100)), t(12)).await.unwrap());
        assert_eq!(s.claim_delivery("sender", t(50), 1_000).await.unwrap(), None, "{}: waits for its retry", b.name);
        let again = s.claim_delivery("sender", t(100), 1_000).await.unwrap().expect("due again");
        assert_eq!((again.delivery_id.as_str(), again.attempts), (d.delivery_id.as_str(), 1));
        assert!(s.record_attempt(&held, &attempt(2, Some(204)), DeliveryNext::Succeeded, t(101)).await.unwrap());

        let found = s.find_delivery(&d.delivery_id).await.unwrap().expect("by ID alone");
        assert_eq!((found.status, found.attempts, found.delivered_at), (DeliveryStatus::Succeeded, 2, Some(t(101))));
        assert_eq!(found.last_attempt, Some(attempt(2, Some(204))), "{}", b.name);
        let attempts = s.delivery_attempts("o1", &d.delivery_id).await.unwrap();
        assert_eq!(attempts, vec![attempt(1, Some(500)), attempt(2, Some(204))]);
        assert_eq!(s.list_deliveries("o1", true, 10).await.unwrap(), vec![], "{}: none failed", b.name);
        assert_eq!(s.delivery_attempts("o2", &d.delivery_id).await.unwrap(), vec![], "{}: tenancy", b.name);

        assert!(s.redeliver("o1", &d.delivery_id, t(200)).await.unwrap());
        assert!(!s.redeliver("o2", &d.delivery_id, t(200)).await.unwrap(), "{}: tenancy", b.name);
        let pending = s.claim_delivery("sender", t(200), 1_000).await.unwrap().expect("redelivered");
        assert_eq!(
            (pending.delivery_id, pending.status, pending.attempts),
            (d.delivery_id.clone(), DeliveryStatus::Pending, 2)
        );
        assert!(!s.redeliver("o1", &d.delivery_id, t(201)).await.unwrap(), "{}: an attempt is in flight", b.name);
    }
}

fn person(id: &str, email: &str, title: Option<&str>, at: Timestamp) -> Attendee {
    Attendee {
        attendee_id: id.into(),
        person_id: format!("p-{id}"),
        name: "Ada Lovelace".into(),
        email: Some(email.into()),
        linkedin_url: None,
        title: title.map(Into::into),
        company: None,
        merged_into: None,
        anchors: vec![Anchor { kind: AnchorKind::Email, value: email.into() }],
        created_at: at,
        updated_at: at,
    }
}

fn membership(id: &str, goal: Option<&str>, at: Timestamp) -> Membership {
    Membership {
        event_id: "ev".into(),
        attendee_id: id.into(),
        raw_data: None,
        answers: EventAnswers { goal: goal.map(Into::into), ..EventAnswers::default() },
        onboarded_at: None,
        joined_at: None,
        created_at: at,
        updated_at: at,
    }
}

fn decision(id: &str, attendee: &str, kind: DecisionKind, at: Timestamp) -> Decision {
    Decision {
        decision_id: id.into(),
        attendee_id: attendee.into(),
        kind,
        event_id: Some("ev".into()),
        run_id: None,
        review_id: None,
        anchors: vec![],
        other: None,
        reason: format!("{} {attendee}", kind.as_str()),
        verdict: None,
        created_at: at,
    }
}

#[tokio::test]
async fn imports_and_merges_write_what_their_plans_say() {
    for b in backends().await {
        let s = b.store.as_ref();
        org(s, "o1").await;
        s.insert_event("o1", &event("ev", t(0))).await.unwrap();
        s.insert_run(&run("o1", "imp", "k", true, None, t(0)), Some("[]")).await.unwrap();
        s.claim_run("w", t(1), 60_000).await.unwrap().expect("the import");
        let lease = Lease { org_id: "o1".into(), run_id: "imp".into(), owner: "w".into() };
        let review = Review {
            review_id: "rev-1".into(),
            attendee_id: "src".into(),
            event_id: "ev".into(),
            candidate_id: "tgt".into(),
            clash: "name".into(),
            reason: "same name".into(),
            evidence: json!({}),
            status: ReviewStatus::Open,
            decision_reason: None,
            run_id: Some("imp".into()),
            created_at: t(2),
            resolved_at: None,
        };
        let planned = review.clone();
        let plan: Box<dyn FnOnce(ImportSnapshot) -> ImportPlan + Send> = Box::new(move |snapshot| {
            assert!(snapshot.attendees.is_empty(), "an empty org");
            ImportPlan {
                attendees: vec![
                    person("tgt", "ada@work.example", None, t(2)),
                    person("src", "ada@home.example", Some("CTO"), t(2)),
                ],
                memberships: vec![membership("tgt", Some("invest"), t(2)), membership("src", Some("hire"), t(2))],
                decisions: vec![
                    decision("d1", "tgt", DecisionKind::Minted, t(2)),
                    decision("d2", "src", DecisionKind::ReviewOpened, t(2)),
                ],
                reviews: vec![planned],
                progress: json!({"processed": 2}).as_object().unwrap().clone(),
            }
        });
        assert!(s.apply_import(&lease, "ev", &SnapshotQuery::default(), plan, t(3)).await.unwrap());
        let imported = s.get_run("o1", "imp").await.unwrap().unwrap();
        assert_eq!((imported.status, imported.terminal_at), (RunStatus::Succeeded, Some(t(3))), "{}", b.name);
        let listed: Vec<String> =
            s.list_attendees("o1", "ev", &page(None, 10)).await.unwrap().into_iter().map(|a| a.attendee_id).collect();
        assert_eq!(listed, ["src", "tgt"], "{}", b.name);
        assert_eq!(s.get_review("o1", "rev-1").await.unwrap(), Some(review.clone()));
        let open = s.list_open_reviews("o1", Some("ev"), &page(None, 10)).await.unwrap();
        assert_eq!(open.len(), 1);

        let request = MergeRequest {
            review_id: "rev-1".into(),
            source: "src".into(),
            target: "tgt".into(),
            reason: None,
            decision: decision("d3", "tgt", DecisionKind::Merged, t(4)),
            now: t(4),
        };
        let planner = || -> MergePlanner {
            Box::new(|m: MergeSnapshot| {
                plan_merge(&m.source, &m.source_memberships, &m.target, &m.target_memberships, t(4))
            })
        };
        let counts = s.merge_attendees("o1", &request, planner()).await.unwrap().expect("the review was open");
        assert_eq!(counts, MergeCounts { superseded_anchors: 0, rewritten_anchors: 1, deleted_computations: 0 });
        assert_eq!(s.merge_attendees("o1", &request, planner()).await.unwrap(), None, "{}: merged once", b.name);
        let source = s.get_attendee("o1", "src").await.unwrap().unwrap();
        assert_eq!(source.merged_into.as_deref(), Some("tgt"));
        assert_eq!(source.person_id, "p-tgt", "{}: one person", b.name);
        let target = s.get_attendee("o1", "tgt").await.unwrap().unwrap();
        assert_eq!((target.email.as_deref(), target.title.as_deref()), (Some("ada@work.example"), Some("CTO")));
        let mut anchors: Vec<String> = target.anchors.iter().map(|a| a.value.clone()).collect();
        anchors.sort();
        assert_eq!(anchors, ["ada@home.example", "ada@work.example"], "{}", b.name);
        let members = s.list_attendees("o1", "ev", &page(None, 10)).await.unwrap();
        assert_eq!(members.len(), 1, "{}: the source's membership was combined into the target's", b.name);
        assert_eq!(members[0].membership.answers.goal.as_deref(), Some("invest"), "the target's answer wins");
        let history: Vec<DecisionKind> =
            s.list_decisions("o1", "tgt", &page(None, 10)).await.unwrap().into_iter().map(|d| d.kind).collect();
        assert_eq!(history, [DecisionKind::Merged, DecisionKind::Minted], "{}: newest first", b.name);
        assert_eq!(s.get_review("o1", "rev-1").await.unwrap().unwrap().status, ReviewStatus::Merged);
    }
}

#[tokio::test]
async fn concurrent_rate_limit_takes_spend_the_burst_exactly() {
    use mingle_core::rate_limit::{take, Policy};
    // A bucket of 10 that refills once a day: of 24 concurrent requests exactly 10 pass,
    // whichever backend and however they interleave; a second account is untouched.
    let policy = Policy { per_sec: 1.0 / 86_400.0, burst: 10 };
    for b in backends().await {
        let tasks: Vec<_> = (0..24)
            .map(|_| {
                let store = b.store.clone();
                tokio::spawn(async move {
                    let step: RateStep = Box::new(move |bucket| take(policy, bucket, 1_000));
                    store.take_rate_token("o1", "a1", step).await.unwrap()
                })
            })
            .collect();
        let mut allowed = 0;
        for t in tasks {
            allowed += usize::from(t.await.unwrap().allowed);
        }
        assert_eq!(allowed, 10, "{}", b.name);
        let step: RateStep = Box::new(move |bucket| take(policy, bucket, 1_000));
        let other = b.store.take_rate_token("o1", "a2", step).await.unwrap();
        assert_eq!((other.allowed, other.remaining), (true, 9), "{}: per account", b.name);
        let step: RateStep = Box::new(move |bucket| take(policy, bucket, 1_000));
        assert!(!b.store.take_rate_token("o1", "a1", step).await.unwrap().allowed, "{}: stays spent", b.name);
    }
}

#[tokio::test]
async fn concurrent_claims_take_each_run_once() {
    for b in backends().await {
        org(b.store.as_ref(), "o1").await;
        for i in 0..24 {
            b.store
                .insert_run(&run("o1", &format!("r{i:02}"), &format!("k{i}"), true, None, t(i)), None)
                .await
                .unwrap();
        }
        let claimers: Vec<_> = (0..6)
            .map(|w| {
                let store = b.store.clone();
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    while let Some(r) = store.claim_run(&format!("w{w}"), t(100), 60_000).await.unwrap() {
                        mine.push(r.run_id);
                    }
                    mine
                })
            })
            .collect();
        let mut all = Vec::new();
        for c in claimers {
            all.extend(c.await.unwrap());
        }
        all.sort();
        let expected: Vec<String> = (0..24).map(|i| format!("r{i:02}")).collect();
        assert_eq!(all, expected, "{}: every run claimed exactly once", b.name);
    }
}

fn pair(a: &str, b: &str, final_score: f64, ranks: (Option<i64>, Option<i64>)) -> StoredMatch {
    let score = serde_json::from_value(json!({
        "f": final_score, "ab": 0.5, "ba": 0.4, "no": 0.3, "on": 0.2, "c": 0.1, "v": 0.0, "g": 0.6,
        "ia": 0.7, "ib": 0.8, "bm": {"s": 0.3, "d": "n"}, "dg": {"s": 0.2, "d": "o"},
        "r": [{"d": "n", "n": 0, "o": 1, "s": 0.3}], "cg": null
    }))
    .expect("a pair score");
    StoredMatch {
        a_id: a.into(),
        b_id: b.into(),
        match_id: format!("m-{a}-{b}"),
        a_rank: ranks.0,
        b_rank: ranks.1,
        score,
    }
}

#[tokio::test]
async fn enrichment_and_match_results_are_written_and_read_alike() {
    for b in backends().await {
        let s = b.store.as_ref();
        org(s, "o1").await;
        s.insert_event("o1", &event("ev", t(0))).await.unwrap();
        // Members (matching writes pairs of members only): through an import.
        s.insert_run(&run("o1", "imp", "k1", true, None, t(0)), Some("[]")).await.unwrap();
        s.claim_run("w", t(1), 60_000).await.unwrap().expect("the import");
        let ids = ["B", "a", "b", "c"];
        let plan: Box<dyn FnOnce(ImportSnapshot) -> ImportPlan + Send> = Box::new(move |_| ImportPlan {
            attendees: ids.iter().map(|i| person(i, &format!("{i}@x.example"), None, t(2))).collect(),
            memberships: ids.iter().map(|i| membership(i, Some("hire"), t(2))).collect(),
            ..ImportPlan::default()
        });
        let lease = |run_id: &str| Lease { org_id: "o1".into(), run_id: run_id.into(), owner: "w".into() };
        assert!(s.apply_import(&lease("imp"), "ev", &SnapshotQuery::default(), plan, t(3)).await.unwrap());

        // The embedding cache: written once per key, read back bit for bit.
        let v1 = vec![0.25f32, -1.5, 3.0e-8];
        s.save_embeddings("o1", "model", &[("h1".into(), v1.clone()), ("h2".into(), vec![1.0])]).await.unwrap();
        s.save_embeddings("o1", "model", &[("h1".into(), vec![9.0])]).await.unwrap();
        let mut cached = s.cached_embeddings("o1", "model", &["h1".into(), "h3".into()]).await.unwrap();
        cached.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(cached, vec![("h1".to_owned(), v1)], "{}: first write kept, misses left out", b.name);
        assert!(s.cached_embeddings("o2", "model", &["h1".into()]).await.unwrap().is_empty(), "{}", b.name);

        // Features, replaced per attendee, listed by attendee ID (byte-wise).
        let features = |id: &str, hash: &str| Features {
            attendee_id: id.into(),
            input_hash: hash.into(),
            model_id: "model".into(),
            goal_category: Some("hiring".into()),
            goal_score: Some(0.75),
            seniority: None,
            function: Some("engineering".into()),
            features: json!({"goal": "hire"}),
            enriched_at: t(4),
        };
        s.insert_run(&run("o1", "enr", "k2", true, None, t(4)), None).await.unwrap();
        s.claim_run("w", t(4), 60_000).await.unwrap().expect("the enrichment");
        let written = [features("b", "x1"), features("B", "x2")];
        let progress = Map::new();
        assert!(s.save_features(&lease("enr"), "ev", &written, &progress, t(5)).await.unwrap());
        let read = s.event_features("o1", "ev").await.unwrap();
        assert_eq!(read, vec![features("B", "x2"), features("b", "x1")], "{}", b.name);

        // A match run's results.
        let mut match_run = run("o1", "mr", "k3", true, None, t(6));
        match_run.kind = RunKind::Match;
        s.insert_run(&match_run, None).await.unwrap();
        s.claim_run("w", t(6), 60_000).await.unwrap().expect("the match run");
        let profile = |id: &str, goal: &str, sessions: &[&str]| MatchProfile {
            attendee_id: id.into(),
            goal: Some(goal.into()),
            goal_category: Some("hiring".into()),
            needs: vec!["a need".into()],
            offers: vec![],
            sessions: sessions.iter().map(|x| x.to_string()).collect(),
        };
        let pairs = vec![
            pair("B", "a", 0.9, (Some(1), Some(2))),
            pair("a", "b", 0.9, (Some(1), None)),
            pair("B", "b", 0.5, (None, Some(1))),
            pair("b", "c", 0.7, (Some(2), Some(1))),
            pair("a", "gone", 0.99, (Some(1), Some(1))),
        ];
        let write = MatchWrite {
            features: vec![features("c", "x3")],
            profiles: vec![
                profile("B", "Hire Rust engineers", &["s2", "s1"]),
                profile("a", "Find investors", &["s1"]),
                profile("b", "hire a designer", &["s1"]),
                profile("c", "Learn", &[]),
            ],
            pairs,
            progress: Map::new(),
            snapshot_metadata: json!({"top_n": 2}).as_object().unwrap().clone(),
            version_metadata: json!({"v": 1}).as_object().unwrap().clone(),
        };
        assert!(s.save_matches(&lease("mr"), "ev", &write, t(7)).await.unwrap());
        let latest = s.latest_match_run("o1", "ev").await.unwrap().expect("the run with results");
        assert_eq!(
            (latest.run_id.as_str(), latest.progress["matches_written"].as_i64()),
            ("mr", Some(4)),
            "{}: non-members' pairs are not written",
            b.name
        );
        assert_eq!(latest.snapshot_metadata["top_n"], 2);
        let key = |m: &StoredMatch| (m.a_id.clone(), m.b_id.clone());
        let listed: Vec<(String, String)> = s
            .event_matches("o1", "mr", &MatchFilter::default(), &page(None, 10))
            .await
            .unwrap()
            .iter()
            .map(key)
            .collect();
        let expected = [("B", "a"), ("a", "b"), ("b", "c"), ("B", "b")].map(|(x, y)| (x.to_owned(), y.to_owned()));
        assert_eq!(listed, expected, "{}: by score, then IDs byte-wise", b.name);
        let after = Position { key: 900_000, id: "B\u{1f}a".into() };
        let next: Vec<(String, String)> = s
            .event_matches("o1", "mr", &MatchFilter::default(), &PageQuery { after: Some(after), limit: 2 })
            .await
            .unwrap()
            .iter()
            .map(key)
            .collect();
        assert_eq!(next, expected[1..3].to_vec(), "{}: the page after (0.9, B·a)", b.name);
        let in_s2 = MatchFilter { session_id: Some("s1".into()), goal: None };
        let both_in_s1: Vec<(String, String)> =
            s.event_matches("o1", "mr", &in_s2, &page(None, 10)).await.unwrap().iter().map(key).collect();
        assert_eq!(both_in_s1, [("B", "a"), ("a", "b"), ("B", "b")].map(|(x, y)| (x.to_owned(), y.to_owned())));
        let goal = MatchFilter { session_id: None, goal: Some("designer".into()) };
        let designer: Vec<(String, String)> =
            s.event_matches("o1", "mr", &goal, &page(None, 10)).await.unwrap().iter().map(key).collect();
        assert_eq!(
            designer,
            [("a", "b"), ("b", "c"), ("B", "b")].map(|(x, y)| (x.to_owned(), y.to_owned())),
            "{}",
            b.name
        );
        let mut of_b: Vec<(String, String)> =
            s.attendee_matches("o1", "mr", "b").await.unwrap().iter().map(key).collect();
        of_b.sort();
        assert_eq!(
            of_b,
            [("B", "b"), ("b", "c")].map(|(x, y)| (x.to_owned(), y.to_owned())),
            "{}: pairs where b ranks the other",
            b.name
        );
        let one = s.get_match("o1", "mr", "b", "a").await.unwrap().expect("either order");
        assert_eq!((one.a_id.as_str(), one.b_id.as_str(), one.a_rank, one.b_rank), ("a", "b", Some(1), None));
        assert_eq!(one.score, write.pairs[1].score, "{}: scores round-trip", b.name);
        let mut profiles = s.match_profiles("o1", "mr", &["B".into(), "c".into()]).await.unwrap();
        profiles.sort_by(|x, y| x.attendee_id.cmp(&y.attendee_id));
        assert_eq!(profiles[0].sessions, ["s1", "s2"], "{}: sessions in ID order", b.name);
        assert_eq!(profiles[1].sessions, Vec::<String>::new());
        assert_eq!(profiles[1].goal.as_deref(), Some("Learn"));
        assert_eq!(
            s.event_features("o1", "ev").await.unwrap().len(),
            3,
            "{}: the run's features written with it",
            b.name
        );
    }
}
