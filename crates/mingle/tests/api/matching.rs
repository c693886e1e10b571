//! Match runs and the three match reads: reciprocal scores, mirrored sub-scores,
//! reasons quoting both sides, determinism, filters, hidden attendees, earlier runs,
//! pagination, and every error code.

use std::collections::{BTreeMap, HashSet};

use serde_json::{json, Value};

use crate::harness::{walk, TestApp};

fn person(id: &str, goal: &str, needs: &[&str], offers: &[&str], extra: Value) -> Value {
    let mut raw = json!({"goal": goal, "needs": needs, "offers": offers});
    if let (Some(raw), Some(extra)) = (raw.as_object_mut(), extra.as_object()) {
        raw.extend(extra.clone());
    }
    json!({"attendee_id": id, "name": format!("Person {id}"), "raw_data": raw})
}

/// A founder and an angel who answer each other in other words (domain.md's example),
/// a topical stranger, one-sided attendees, people from other worlds, one hidden.
fn attendees() -> Value {
    json!([
        person(
            "founder",
            "Raise a seed round for our payments app",
            &["seed funding for my fintech startup"],
            &["a pilot of our card-issuing API for the companies you back"],
            json!({"sessions": ["keynote", "fintech-panel"], "interests": ["payments", "fintech"]})
        ),
        person(
            "angel",
            "Back promising first-time fintech founders",
            &["new portfolio companies with working software to test in the field"],
            &["angel investment in early-stage fintech"],
            json!({"sessions": ["keynote", "fintech-panel"], "interests": ["fintech", "venture"]})
        ),
        person(
            "journalist",
            "Write about fintech startups raising seed funding",
            &["founders to interview about their seed funding"],
            &["coverage of fintech startups in my weekly newsletter"],
            json!({"sessions": ["keynote"]})
        ),
        person(
            "course",
            "Sell my fundraising course",
            &["students for my online course"],
            &["an online course on how to raise seed funding for startups"],
            json!({})
        ),
        person(
            "dev",
            "Find my next backend engineering role",
            &["a backend engineering job at a product company"],
            &["eight years of Rust and Go experience building payment systems"],
            json!({"sessions": ["fintech-panel"]})
        ),
        person(
            "cto",
            "Hire two senior backend engineers",
            &["senior backend engineers who know payments"],
            &["a competitive salary and equity at a Series A fintech"],
            json!({"sessions": ["keynote"]})
        ),
        person(
            "chef",
            "Open a second restaurant",
            &["a sous chef for our bistro kitchen"],
            &["catering for your company events"],
            json!({})
        ),
        person(
            "gardener",
            "Meet other urban gardeners",
            &["heirloom tomato seeds"],
            &["compost from our community garden"],
            json!({})
        ),
        person(
            "ghost",
            "Raise a seed round for our payments app",
            &["seed funding for my fintech startup"],
            &["pilot access to our payments API"],
            json!({"visibility": "hidden"})
        ),
        person("vague", "Meet interesting people", &["interesting conversations"], &["happy to chat"], json!({})),
    ])
}

async fn setup(app: &TestApp) {
    app.load_encoder().await;
    app.event(&app.a.rw, "ev").await;
    app.session(&app.a.rw, "ev", "keynote", None).await;
    app.session(&app.a.rw, "ev", "fintech-panel", None).await;
    let run = app.import(&app.a.rw, "ev", attendees()).await;
    assert_eq!(run["status"], "succeeded", "{run}");
}

async fn match_run(app: &TestApp, event: &str, body: Value) -> Value {
    let r = app.post(&format!("/events/{event}/match-runs"), &app.a.rw, &body).await;
    let run = r.ok(202).clone();
    assert_eq!(run["kind"], "match");
    assert_eq!(run["progress"], json!({"attendees": 0, "pairs_scored": 0, "matches_written": 0}));
    let done = app.wait_run(&app.a.rw, run["run_id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    done
}

fn sub(item: &Value, key: &str) -> f64 {
    item["sub_scores"][key].as_f64().unwrap_or_else(|| panic!("{key} in {item}"))
}

#[tokio::test]
async fn a_match_run_serves_reciprocal_explained_matches() {
    let app = TestApp::new().await;
    setup(&app).await;
    let run = match_run(&app, "ev", json!({"idempotency_key": "m1", "top_n": 3})).await;
    let run_id = run["run_id"].as_str().unwrap();
    assert_eq!(run["progress"]["attendees"], 9, "the hidden attendee is not matched: {run}");
    assert!(run["progress"]["pairs_scored"].as_u64().unwrap() >= 9 * 8);
    assert_eq!(run["snapshot_metadata"]["top_n"], 3);
    for key in ["input_hash", "context_snapshot_id"] {
        assert!(run["snapshot_metadata"][key].as_str().is_some_and(|v| !v.is_empty()), "{key}: {run}");
    }
    assert!(run["version_metadata"]["algorithm_version"]
        .as_str()
        .unwrap()
        .starts_with("match-v3+answer-cosine-v2+goal-head-v3"));
    assert!(run["version_metadata"]["policy_version"].as_str().unwrap().starts_with("policy_"));

    // The run enriched every attendee first (none had been enriched).
    let features = app.services.store.event_features(&app.a.org_id, "ev").await.unwrap();
    assert_eq!(features.len(), 10);

    // The founder's first match is the angel, for the paraphrased need and offer.
    let list = app.get("/events/ev/attendees/founder/matches", &app.a.ro).await;
    let body = list.ok(200);
    assert_eq!((body["event_id"].as_str(), body["attendee_id"].as_str()), (Some("ev"), Some("founder")));
    assert_eq!(body["run_id"], run_id);
    let items = body["items"].as_array().unwrap();
    assert!(!items.is_empty() && items.len() <= 3, "{body}");
    let first = &items[0];
    assert_eq!(first["principal_attendee_id"], "founder");
    assert_eq!(first["target_attendee_id"], "angel", "{body}");
    let reason = &first["reasons"][0];
    assert_eq!(reason["direction"], "needsToOffers", "{first}");
    assert_eq!(reason["need"], "seed funding for my fintech startup");
    assert_eq!(reason["offer"], "angel investment in early-stage fintech");
    assert!(reason["score"].as_f64().unwrap() > 0.5, "{reason}");
    assert_eq!(first["complementary_goals"], json!({"principal": "fundraising", "target": "investing"}));
    // And the founder is the angel's first match too.
    let angel = app.get("/events/ev/attendees/angel/matches", &app.a.ro).await.ok(200).clone();
    assert_eq!(angel["items"][0]["target_attendee_id"], "founder", "{angel}");
    // Descending final_score in every list.
    let finals: Vec<f64> = items.iter().map(|i| i["final_score"].as_f64().unwrap()).collect();
    assert!(finals.windows(2).all(|w| w[0] >= w[1]), "{finals:?}");

    // Pair symmetry and mirrored sub-scores.
    let ab = app.get("/events/ev/matches/founder/angel", &app.a.ro).await.ok(200).clone();
    let ba = app.get("/events/ev/matches/angel/founder", &app.a.ro).await.ok(200).clone();
    assert_eq!(ab["final_score"], ba["final_score"]);
    assert_eq!(ab["match_id"], ba["match_id"]);
    assert_eq!(sub(&ab, "score_a_to_b"), sub(&ba, "score_b_to_a"));
    assert_eq!(sub(&ab, "goal_needs_to_offers"), sub(&ba, "goal_offers_to_needs"));
    assert_eq!(sub(&ab, "goal_complementarity"), sub(&ba, "goal_complementarity"));
    assert_eq!(ab["intent_strength"]["aToB"], ba["intent_strength"]["bToA"]);
    assert_eq!(ab["best_goal_match"]["score"], ba["best_goal_match"]["score"]);
    assert_ne!(ab["best_goal_match"]["direction"], ba["best_goal_match"]["direction"]);
    assert_eq!(ab["principal_attendee_id"], "founder");
    for key in ["input_hash", "algorithm_version", "policy_version", "context_snapshot_id", "computed_at"] {
        assert!(ab[key].as_str().is_some_and(|v| !v.is_empty()), "{key}: {ab}");
    }
    assert_eq!(ab["freshness"]["computed_at"], ab["computed_at"]);
    assert_eq!(ab["input_hash"], run["snapshot_metadata"]["input_hash"]);

    // The event list: each pair once, by final_score, every score in [0, 1], and as many
    // rows as the run says it wrote.
    let all = walk(&app, "/events/ev/matches", &app.a.ro, &[4, 1, 7]).await;
    assert_eq!(all.len() as u64, run["progress"]["matches_written"].as_u64().unwrap());
    let mut pairs = HashSet::new();
    for item in &all {
        let (p, t) = (item["principal_attendee_id"].as_str().unwrap(), item["target_attendee_id"].as_str().unwrap());
        assert!(pairs.insert((p.min(t).to_owned(), p.max(t).to_owned())), "pair listed twice: {item}");
        assert!(p != "ghost" && t != "ghost", "hidden attendees are never matched");
        for key in [
            "goal_complementarity",
            "goal_needs_to_offers",
            "goal_offers_to_needs",
            "value_alignment",
            "general_similarity",
            "score_a_to_b",
            "score_b_to_a",
        ] {
            assert!((0.0..=1.0).contains(&sub(item, key)), "{key}: {item}");
        }
        let f = item["final_score"].as_f64().unwrap();
        let (x, y) = (sub(item, "score_a_to_b"), sub(item, "score_b_to_a"));
        assert!((f - 2.0 * x * y / (x + y)).abs() < 2e-6, "final is the harmonic mean: {item}");
        assert!(item["reasons"].as_array().unwrap().len() <= 3);
    }
    let finals: Vec<f64> = all.iter().map(|i| i["final_score"].as_f64().unwrap()).collect();
    assert!(finals.windows(2).all(|w| w[0] >= w[1]));
    assert!(pairs.contains(&("angel".to_owned(), "founder".to_owned())));

    // The hidden attendee: its own list is empty, any pair with it is MATCH_NOT_FOUND.
    let ghost = app.get("/events/ev/attendees/ghost/matches", &app.a.ro).await.ok(200).clone();
    assert_eq!(ghost["items"], json!([]));
    assert_eq!(ghost["next_cursor"], Value::Null);
    app.get("/events/ev/matches/ghost/angel", &app.a.ro).await.err(404, "MATCH_NOT_FOUND");
    app.get("/events/ev/matches/angel/ghost", &app.a.ro).await.err(404, "MATCH_NOT_FOUND");
}

#[tokio::test]
async fn runs_are_deterministic_earlier_runs_stay_readable_and_filters_apply() {
    let app = TestApp::new().await;
    setup(&app).await;
    let first = match_run(&app, "ev", json!({"idempotency_key": "d1"})).await;
    let second = match_run(&app, "ev", json!({"idempotency_key": "d2"})).await;
    assert_eq!(first["snapshot_metadata"]["input_hash"], second["snapshot_metadata"]["input_hash"]);
    assert_eq!(first["snapshot_metadata"]["top_n"], 10);
    let (r1, r2) = (first["run_id"].as_str().unwrap(), second["run_id"].as_str().unwrap());
    let strip = |items: Vec<Value>| -> Vec<Value> {
        items
            .into_iter()
            .map(|mut i| {
                for key in ["run_id", "match_id", "computed_at", "freshness"] {
                    i.as_object_mut().unwrap().remove(key);
                }
                i
            })
            .collect()
    };
    let latest = walk(&app, "/events/ev/matches", &app.a.ro, &[50]).await;
    let older = walk(&app, &format!("/events/ev/matches?run_id={r1}"), &app.a.ro, &[50]).await;
    assert!(latest.iter().all(|i| i["run_id"] == r2), "without run_id the latest run serves");
    assert!(older.iter().all(|i| i["run_id"] == r1), "an earlier run stays readable");
    assert_eq!(strip(latest.clone()), strip(older), "same inputs, same scores");

    // A changed event context changes the snapshot ID and the policy (objectives shift weights).
    let ctx = app.post("/events/ev/context", &app.a.rw, &json!({"objectives": "Help founders meet investors"})).await;
    ctx.ok(200);
    let third = match_run(&app, "ev", json!({"idempotency_key": "d3"})).await;
    assert_ne!(third["snapshot_metadata"]["context_snapshot_id"], first["snapshot_metadata"]["context_snapshot_id"]);
    assert_ne!(third["version_metadata"]["policy_version"], first["version_metadata"]["policy_version"]);
    assert_ne!(third["snapshot_metadata"]["input_hash"], first["snapshot_metadata"]["input_hash"]);

    // session_id: both attendees attend the session.
    let sessions: BTreeMap<&str, Vec<&str>> = BTreeMap::from([
        ("keynote", vec!["founder", "angel", "journalist", "cto"]),
        ("fintech-panel", vec!["founder", "angel", "dev"]),
    ]);
    for (session, members) in &sessions {
        let items = walk(&app, &format!("/events/ev/matches?session_id={session}"), &app.a.ro, &[2]).await;
        assert!(!items.is_empty(), "{session}");
        for i in &items {
            for side in ["principal_attendee_id", "target_attendee_id"] {
                assert!(members.contains(&i[side].as_str().unwrap()), "{session}: {i}");
            }
        }
    }
    // goal: the principal's goal category, or text in its goal; the principal is the side that passes.
    let by_category = walk(&app, "/events/ev/matches?goal=investing", &app.a.ro, &[3]).await;
    assert!(!by_category.is_empty());
    assert!(by_category.iter().all(|i| i["principal_attendee_id"] == "angel"), "{by_category:?}");
    let by_text = walk(&app, "/events/ev/matches?goal=RESTAURANT", &app.a.ro, &[3]).await;
    assert!(by_text.iter().all(|i| i["principal_attendee_id"] == "chef"), "{by_text:?}");
    let none = app.get("/events/ev/matches?goal=zzz-nothing", &app.a.ro).await.ok(200).clone();
    // The filter is a bounded text.
    let long = format!("/events/ev/matches?goal={}", "g".repeat(201));
    assert_eq!(app.get(&long, &app.a.ro).await.err(400, "INVALID_GOAL")["details"]["field"], "goal");
    app.get("/events/ev/matches?goal=a%00b", &app.a.ro).await.err(400, "INVALID_GOAL");
    assert_eq!(none["items"], json!([]));

    // top_n bounds each list.
    let one = match_run(&app, "ev", json!({"idempotency_key": "d4", "top_n": 1})).await;
    let lists = app.get("/events/ev/attendees/cto/matches", &app.a.ro).await.ok(200).clone();
    assert_eq!(lists["run_id"], one["run_id"]);
    assert_eq!(lists["items"].as_array().unwrap().len(), 1);
    let all = walk(&app, "/events/ev/matches", &app.a.ro, &[5]).await;
    assert!(all.len() <= 9 && all.len() >= 5, "at most one pair per attendee: {}", all.len());
}

#[tokio::test]
async fn match_runs_answer_every_documented_error() {
    let app = &TestApp::new().await;
    app.event(&app.a.rw, "ev").await;
    let post = |body: Value| async move { app.post("/events/ev/match-runs", &app.a.rw, &body).await };
    app.post("/events/bad%20id/match-runs", &app.a.rw, &json!({"idempotency_key": "k"}))
        .await
        .err(400, "INVALID_PARTNER_ID");
    let r = app.post_raw("/events/ev/match-runs", &app.a.rw, "{nope").await;
    r.err(400, "INVALID_JSON");
    post(json!({})).await.err(400, "INVALID_IDEMPOTENCY_KEY");
    post(json!({"idempotency_key": "k", "webhook_url": "ftp://x"})).await.err(400, "INVALID_WEBHOOK_URL");
    // Found by scripts/fuzz: JSON Schema's `integer` takes 17.0, which is 17 in JSON.
    // IP literals are refused outside insecure mode; the scheme is lower-case.
    for url in ["https://127.0.0.1/h", "https://[::1]/h", "HTTPS://example.com/h", "https://example.com:65536/"] {
        post(json!({"idempotency_key": "k", "webhook_url": url})).await.err(400, "INVALID_WEBHOOK_URL");
    }
    for bad in [json!(0), json!(51), json!(-3), json!(2.5), json!(50.5), json!("10"), json!([1])] {
        let r = post(json!({"idempotency_key": "k", "top_n": bad})).await;
        assert_eq!(r.err(400, "INVALID_TOP_N")["details"]["field"], "top_n", "{bad}");
    }
    app.post("/events/nope/match-runs", &app.a.rw, &json!({"idempotency_key": "k"})).await.err(404, "EVENT_NOT_FOUND");
    app.post("/events/ev/match-runs", &app.b.rw, &json!({"idempotency_key": "k"})).await.err(404, "EVENT_NOT_FOUND");
    app.post("/events/ev/match-runs", &app.a.ro, &json!({"idempotency_key": "k"})).await.err(403, "INSUFFICIENT_SCOPE");
    // Rejected requests wrote nothing and did not use up the key.
    let runs = app.get("/runs?kind=match", &app.a.ro).await.ok(200).clone();
    assert_eq!(runs["items"], json!([]));
    let created = post(json!({"idempotency_key": "k", "top_n": 5})).await.ok(202).clone();
    let replay = post(json!({"top_n": 5.0, "idempotency_key": "k"})).await.ok(200).clone();
    assert_eq!(created["run_id"], replay["run_id"]);
    post(json!({"idempotency_key": "k", "top_n": 6})).await.err(409, "IDEMPOTENCY_KEY_CONFLICT");
    post(json!({"idempotency_key": "k", "top_n": null, "webhook_url": null}))
        .await
        .err(409, "IDEMPOTENCY_KEY_CONFLICT");
}

#[tokio::test]
async fn match_reads_answer_every_documented_error() {
    let app = TestApp::new().await;
    setup(&app).await;
    let (ro, b) = (&app.a.ro, &app.b.ro);
    // Before any match run.
    app.get("/events/ev/matches", ro).await.err(404, "MATCH_RUN_NOT_FOUND");
    app.get("/events/ev/attendees/founder/matches", ro).await.err(404, "MATCH_RUN_NOT_FOUND");
    app.get("/events/ev/matches/founder/angel", ro).await.err(404, "MATCH_RUN_NOT_FOUND");
    let run = match_run(&app, "ev", json!({"idempotency_key": "e1", "top_n": 2})).await;
    let run_id = run["run_id"].as_str().unwrap();

    for path in [
        "/events/bad%20id/matches",
        "/events/ev/attendees/bad%20id/matches",
        "/events/ev/matches/a/bad%20id",
        "/events/ev/matches/bad%20id/a",
        "/events/ev/matches?session_id=bad%20id",
    ] {
        app.get(path, ro).await.err(400, "INVALID_PARTNER_ID");
    }
    for path in ["/events/ev/matches?limit=0", "/events/ev/attendees/founder/matches?limit=101"] {
        app.get(path, ro).await.err(400, "INVALID_LIMIT");
    }
    for path in ["/events/ev/matches?cursor=abc", "/events/ev/attendees/founder/matches?cursor=abc"] {
        app.get(path, ro).await.err(400, "INVALID_CURSOR");
    }
    // A cursor is bound to its list, its filters and its org.
    let page = app.get("/events/ev/matches?limit=1", ro).await.ok(200).clone();
    let cursor = page["next_cursor"].as_str().expect("more than one pair");
    app.get(&format!("/events/ev/matches?limit=1&goal=x&cursor={cursor}"), ro).await.err(400, "INVALID_CURSOR");
    app.get(&format!("/events/ev/attendees/founder/matches?cursor={cursor}"), ro).await.err(400, "INVALID_CURSOR");

    for path in ["/events/nope/matches", "/events/nope/attendees/founder/matches", "/events/nope/matches/founder/angel"]
    {
        app.get(path, ro).await.err(404, "EVENT_NOT_FOUND");
        app.get(&path.replace("nope", "ev"), b).await.err(404, "EVENT_NOT_FOUND");
    }
    app.get("/events/ev/attendees/nobody/matches", ro).await.err(404, "ATTENDEE_NOT_FOUND");
    app.get("/events/ev/matches/nobody/angel", ro).await.err(404, "ATTENDEE_NOT_FOUND");
    app.get("/events/ev/matches/angel/nobody", ro).await.err(404, "ATTENDEE_NOT_FOUND");
    app.get("/events/ev/matches?session_id=nope", ro).await.err(404, "SESSION_NOT_FOUND");
    app.event(&app.a.rw, "other").await;
    app.session(&app.a.rw, "other", "elsewhere", None).await;
    app.get("/events/ev/matches?session_id=elsewhere", ro).await.err(404, "SESSION_NOT_FOUND");
    // run_id: unknown, malformed, not a match run, or another event's.
    let import = app.get("/runs?kind=import", ro).await.ok(200)["items"][0]["run_id"].as_str().unwrap().to_owned();
    for id in ["00000000-0000-7000-8000-000000000000", "not-a-uuid", import.as_str()] {
        app.get(&format!("/events/ev/matches?run_id={id}"), ro).await.err(404, "MATCH_RUN_NOT_FOUND");
        app.get(&format!("/events/ev/attendees/founder/matches?run_id={id}"), ro).await.err(404, "MATCH_RUN_NOT_FOUND");
        app.get(&format!("/events/ev/matches/founder/angel?run_id={id}"), ro).await.err(404, "MATCH_RUN_NOT_FOUND");
    }
    app.get(&format!("/events/other/matches?run_id={run_id}"), ro).await.err(404, "MATCH_RUN_NOT_FOUND");
    // A pair in neither list.
    let ok = app.get(&format!("/events/ev/matches/founder/angel?run_id={}", run_id.to_uppercase()), ro).await;
    ok.ok(200);
    let listed: HashSet<(String, String)> = walk(&app, "/events/ev/matches", ro, &[100])
        .await
        .iter()
        .map(|i| {
            (
                i["principal_attendee_id"].as_str().unwrap().to_owned(),
                i["target_attendee_id"].as_str().unwrap().to_owned(),
            )
        })
        .flat_map(|(p, t)| [(p.clone(), t.clone()), (t, p)])
        .collect();
    let ids = ["founder", "angel", "journalist", "course", "dev", "cto", "chef", "gardener", "vague"];
    let (p, t) = ids
        .iter()
        .flat_map(|p| ids.iter().map(move |t| (*p, *t)))
        .find(|(p, t)| p != t && !listed.contains(&(p.to_string(), t.to_string())))
        .expect("with top_n 2, some pair is in neither list");
    app.get(&format!("/events/ev/matches/{p}/{t}"), ro).await.err(404, "MATCH_NOT_FOUND");
}

#[tokio::test]
async fn pages_of_matches_are_the_whole_list_whatever_the_limits() {
    let app = TestApp::new().await;
    setup(&app).await;
    match_run(&app, "ev", json!({"idempotency_key": "p1", "top_n": 4})).await;
    let whole = walk(&app, "/events/ev/matches", &app.a.ro, &[100]).await;
    // Property: any sequence of limits pages through the same rows in the same order.
    for limits in [[1, 2, 3], [5, 1, 1], [2, 2, 2], [7, 3, 1]] {
        assert_eq!(walk(&app, "/events/ev/matches", &app.a.ro, &limits).await, whole, "{limits:?}");
        let mine = walk(&app, "/events/ev/attendees/founder/matches", &app.a.ro, &limits).await;
        assert_eq!(mine, walk(&app, "/events/ev/attendees/founder/matches", &app.a.ro, &[50]).await);
        assert_eq!(mine.len(), 4);
    }
    // A cursor keeps serving the run its first page came from, even after a newer run.
    let first = app.get("/events/ev/matches?limit=2", &app.a.ro).await.ok(200).clone();
    match_run(&app, "ev", json!({"idempotency_key": "p2", "top_n": 1})).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let next = app.get(&format!("/events/ev/matches?limit=2&cursor={cursor}"), &app.a.ro).await.ok(200).clone();
    assert_eq!(next["run_id"], first["run_id"]);
    assert_eq!(next["items"].as_array().unwrap(), &whole[2..4].to_vec());
}

#[tokio::test]
async fn a_merge_deletes_every_stored_match_of_the_source() {
    let app = TestApp::new().await;
    setup(&app).await;
    // Two records of one person (same email, names that disagree): a review.
    let twin = |id: &str, name: &str| {
        json!({"attendee_id": id, "name": name, "email": "robin@example.com",
            "raw_data": {"goal": "Hire a senior backend engineer", "needs": ["a backend engineer who knows payments"],
                "offers": ["a senior role at a payments company"]}})
    };
    app.import(&app.a.rw, "ev", json!([twin("old", "Robin Hale")])).await;
    app.import(&app.a.rw, "ev", json!([twin("new", "Casey Moss")])).await;
    let reviews = app.reviews(&app.a.rw, "ev").await;
    assert_eq!(reviews.len(), 1);
    let run = match_run(&app, "ev", json!({"idempotency_key": "mm", "top_n": 3})).await;
    let before = walk(&app, "/events/ev/matches", &app.a.ro, &[100]).await;
    let involving = |items: &[Value], id: &str| {
        items.iter().filter(|i| i["principal_attendee_id"] == id || i["target_attendee_id"] == id).count()
    };
    let of_new = involving(&before, "new");
    assert!(of_new >= 3, "new ranks three targets: {of_new}");
    assert_eq!(before.len() as u64, run["progress"]["matches_written"].as_u64().unwrap());

    let body = json!({"source_kind": "attendee", "source_partner_id": "new", "target_kind": "attendee",
        "target_partner_id": "old"});
    let review_id = reviews[0]["review_id"].as_str().unwrap();
    let merged = app.post(&format!("/review-queue/{review_id}/merge"), &app.a.rw, &body).await.ok(200).clone();
    assert_eq!(merged["deleted_computations"].as_u64(), Some(of_new as u64), "{merged}");
    let after = walk(&app, "/events/ev/matches", &app.a.ro, &[100]).await;
    assert_eq!(involving(&after, "new"), 0);
    assert_eq!(after.len(), before.len() - of_new, "nothing else was deleted");
    app.get("/events/ev/attendees/new/matches", &app.a.ro).await.err(404, "ATTENDEE_NOT_FOUND");
}
