//! Matching quality on labelled events we generate; prints, asserts nothing.
//!
//!     cargo bench -p mingle --bench matching_quality
//!
//! The bank (`benches/data/match_bank_{1,2}.jsonl`, 156 templates over 28 domains,
//! written for this benchmark apart from the answer head's training data) plants
//! complementary pairs: A's need is answered by B's offer and B's need by A's offer,
//! the two sides sharing no word stem, each text in several wordings. Most templates
//! add a topical trap (someone using A's words who answers neither side: a journalist,
//! a course seller, a tool vendor) and every one a one-sided distractor (answers A's
//! need but needs nothing A offers). `match_fillers.jsonl` adds vague and off-topic
//! attendees up to the event's size. The generator is deterministic (seeded).
//!
//! For each planted principal (A and B of every template) it reports recall@1/5/10 of
//! the counterpart in the engine's top-10 list, MRR@10, and how often the trap or the
//! one-sided distractor outranks the counterpart by `final_score`; the same for a TF-IDF
//! baseline and for plain MiniLM cosine (needs against offers, both directions, harmonic
//! mean), ranking every other attendee.
//!
//! `MINGLE_BENCH_RECALL=5000` instead measures candidate search against exhaustive
//! scoring on an event of that size.
//!
//! `MINGLE_BENCH_SPLIT` picks the events: `tune` (bank 1 only, what tuning looked at),
//! `heldout` (bank 2 only), or `all` (default: both banks in one 1,000-attendee event,
//! plus each bank's own event), or `peers` (bank 1 with a peer of each side of every
//! template: another attendee of the same role, drawn from its wordings; prints how often a
//! principal's own peer outranks its counterpart).
//!
//! For studying the tuning bank: `MINGLE_BENCH_BREAKDOWN=1` prints who outranks the
//! counterparts that miss (by kind: the template's own trap or one-sided distractor,
//! the same domain, another domain, fillers) and where each part of the score alone
//! would rank them; `MINGLE_BENCH_DUMP=path` writes every principal's pair scores
//! against every attendee as JSON lines (and the profiles to `path.people`), which
//! `scripts/adjudicate_bank.py` reads.

mod common;

use std::collections::{HashMap, HashSet};

use mingle_core::goals::{GoalClassifier, CATEGORIES};
use mingle_core::matching::score::Prepared;
use mingle_core::matching::{self, AnswerHead, EventInput, MatchOptions, Policy, Profile, TextTable};
use mingle_core::vector::{dot, normalize};
use mingle_encoder::Encoder;
use serde_json::Value;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() % 1_000_000) as f64 / 1e6 < p
    }
}

fn lines(name: &str) -> Vec<Value> {
    let path = format!("{}/benches/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[derive(Clone, Debug)]
struct Person {
    goal: String,
    needs: Vec<String>,
    offers: Vec<String>,
}

/// Roles of the planted attendees of one template, by attendee index.
struct Planted {
    a: usize,
    b: usize,
    trap: Option<usize>,
    one_sided: usize,
    /// With peers: another attendee of A's role and one of B's (drawn from the same side's
    /// wordings, so a peer may share a text with its principal). A's peer needs what A
    /// needs and should not outrank B for A; B's peer is, for A, another counterpart.
    peers: Option<(usize, usize)>,
}

struct Event {
    people: Vec<Person>,
    planted: Vec<Planted>,
    /// Where each attendee came from: the template's index (none for fillers) and role.
    origin: Vec<(Option<usize>, &'static str)>,
    /// Each template's domain.
    domains: Vec<String>,
}

fn pick(rng: &mut Rng, v: &Value) -> String {
    let options = v.as_array().unwrap();
    options[rng.below(options.len())].as_str().unwrap().to_owned()
}

fn generate(templates: &[Value], fillers: &[Value], size: usize, seed: u64) -> Event {
    generate_with(templates, fillers, size, seed, false)
}

/// `generate`, optionally with a peer of each side of every template (the random draws
/// of events without peers are unchanged).
fn generate_with(templates: &[Value], fillers: &[Value], size: usize, seed: u64, peers: bool) -> Event {
    let mut rng = Rng(seed);
    let vague: Vec<&Value> = fillers.iter().filter(|f| f["kind"] == "vague").collect();
    let mut people = Vec::new();
    let mut planted = Vec::new();
    let mut origin: Vec<(Option<usize>, &'static str)> = Vec::new();
    let person = |rng: &mut Rng, p: &Value, people: &mut Vec<Person>| {
        let mut needs = vec![pick(rng, &p["need"])];
        let mut offers = vec![pick(rng, &p["offer"])];
        // Some attendees also write a vague line, as real ones do.
        if rng.chance(0.25) {
            let v = rng.below(vague.len());
            needs.push(pick(rng, &vague[v]["need"]));
        }
        if rng.chance(0.25) {
            let v = rng.below(vague.len());
            offers.push(pick(rng, &vague[v]["offer"]));
        }
        people.push(Person { goal: pick(rng, &p["goal"]), needs, offers });
        people.len() - 1
    };
    for (ti, t) in templates.iter().enumerate() {
        let a = person(&mut rng, &t["a"], &mut people);
        let b = person(&mut rng, &t["b"], &mut people);
        let trap = t.get("trap").map(|p| person(&mut rng, p, &mut people));
        let one_sided = person(&mut rng, &t["one_sided"], &mut people);
        origin.extend([(Some(ti), "a"), (Some(ti), "b")]);
        if trap.is_some() {
            origin.push((Some(ti), "trap"));
        }
        origin.push((Some(ti), "one-sided"));
        let peers = peers.then(|| {
            let pa = person(&mut rng, &t["a"], &mut people);
            let pb = person(&mut rng, &t["b"], &mut people);
            origin.extend([(Some(ti), "peer of a"), (Some(ti), "peer of b")]);
            (pa, pb)
        });
        planted.push(Planted { a, b, trap, one_sided, peers });
    }
    let mut f = 0;
    while people.len() < size {
        let filler = &fillers[f % fillers.len()];
        person(&mut rng, filler, &mut people);
        origin.push((None, if filler["kind"] == "vague" { "vague" } else { "off-topic" }));
        f += 1;
    }
    // Shuffle who gets which ID, so ID order (the tie-break) says nothing.
    let mut order: Vec<usize> = (0..people.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let mut position = vec![0; people.len()];
    for (new, &old) in order.iter().enumerate() {
        position[old] = new;
    }
    let shuffled: Vec<Person> = order.iter().map(|&old| people[old].clone()).collect();
    let planted = planted
        .into_iter()
        .map(|p| Planted {
            a: position[p.a],
            b: position[p.b],
            trap: p.trap.map(|t| position[t]),
            one_sided: position[p.one_sided],
            peers: p.peers.map(|(x, y)| (position[x], position[y])),
        })
        .collect();
    let origin = order.iter().map(|&old| origin[old]).collect();
    let domains = templates.iter().map(|t| t["domain"].as_str().unwrap_or("").to_owned()).collect();
    Event { people: shuffled, planted, origin, domains }
}

struct Embedded {
    /// What a match run reads: the adapted encoder's vectors.
    vectors: HashMap<String, Vec<f32>>,
    /// The published model's vectors, for the plain-cosine baseline (empty when not asked).
    base: HashMap<String, Vec<f32>>,
}

fn embed(encoder: &dyn Encoder, base: Option<&dyn Encoder>, events: &[&Event]) -> Embedded {
    let mut texts: Vec<&str> = events
        .iter()
        .flat_map(|e| e.people.iter())
        .flat_map(|p| {
            std::iter::once(p.goal.as_str())
                .chain(p.needs.iter().map(String::as_str))
                .chain(p.offers.iter().map(String::as_str))
        })
        .collect();
    texts.sort_unstable();
    texts.dedup();
    let start = std::time::Instant::now();
    let vectors = encoder.encode(&texts).unwrap();
    let base_vectors = base.map(|b| b.encode(&texts).unwrap()).unwrap_or_default();
    eprintln!("encoded {} texts in {:.1} s", texts.len(), start.elapsed().as_secs_f64());
    let keyed = |v: Vec<Vec<f32>>| texts.iter().map(|t| (*t).to_owned()).zip(v).collect();
    Embedded { vectors: keyed(vectors), base: keyed(base_vectors) }
}

/// The event as a match run would read it (goal categories from the goal head).
fn engine_input(event: &Event, e: &Embedded) -> EventInput {
    let mut texts = TextTable::new(384);
    let mut rows: HashMap<String, u32> = HashMap::new();
    let mut row = |t: &str| *rows.entry(t.to_owned()).or_insert_with(|| texts.push(t.to_owned(), &e.vectors[t]));
    let mut profiles = Vec::new();
    for (i, p) in event.people.iter().enumerate() {
        let c = GoalClassifier::bundled().classify(&p.goal, &e.vectors[&p.goal]);
        let category = CATEGORIES.iter().position(|x| *x == c.category).map(|k| (k, c.probability));
        profiles.push(Profile {
            attendee_id: format!("att-{i:05}"),
            goal: Some(row(&p.goal)),
            category,
            needs: p.needs.iter().map(|t| row(t)).collect(),
            offers: p.offers.iter().map(|t| row(t)).collect(),
            interests: Vec::new(),
        });
    }
    EventInput { texts, profiles, objectives: None }
}

#[derive(Default)]
struct Tally {
    principals: usize,
    at: [usize; 3],
    rr: f64,
    traps: (usize, usize),
    one_sided: (usize, usize),
    peers: (usize, usize),
}

impl Tally {
    fn print(&self, name: &str) {
        let n = self.principals as f64;
        println!(
            "  {name:<26} R@1 {:.3}  R@5 {:.3}  R@10 {:.3}  MRR@10 {:.3}  trap {:.3} ({}/{})  one-sided {:.3} ({}/{})",
            self.at[0] as f64 / n,
            self.at[1] as f64 / n,
            self.at[2] as f64 / n,
            self.rr / n,
            self.traps.0 as f64 / self.traps.1.max(1) as f64,
            self.traps.0,
            self.traps.1,
            self.one_sided.0 as f64 / self.one_sided.1.max(1) as f64,
            self.one_sided.0,
            self.one_sided.1
        );
        if self.peers.1 > 0 {
            println!(
                "  {:<26} peer {:.3} ({}/{}): how often a principal's own peer outranks its counterpart",
                "",
                self.peers.0 as f64 / self.peers.1 as f64,
                self.peers.0,
                self.peers.1
            );
        }
    }

    /// Counts, for both sides of a template with peers, whether the side's own peer
    /// (same role, other wording) scores above its counterpart (`beats(principal,
    /// peer, counterpart)`).
    fn peers(&mut self, pl: &Planted, beats: impl Fn(usize, usize, usize) -> bool) {
        if let Some((pa, pb)) = pl.peers {
            for (p, peer, c) in [(pl.a, pa, pl.b), (pl.b, pb, pl.a)] {
                self.peers.1 += 1;
                self.peers.0 += beats(p, peer, c) as usize;
            }
        }
    }

    /// Records a principal whose counterpart is at `rank` (1-based, `None` beyond 10).
    fn rank(&mut self, rank: Option<usize>) {
        self.principals += 1;
        if let Some(r) = rank {
            for (k, at) in [1, 5, 10].iter().zip(self.at.iter_mut()) {
                if r <= *k {
                    *at += 1;
                }
            }
            if r <= 10 {
                self.rr += 1.0 / r as f64;
            }
        }
    }
}

/// A baseline that scores every pair: recall from full rankings, trap and one-sided
/// rates from the pair scores.
fn baseline(event: &Event, score: impl Fn(usize, usize) -> f32) -> Tally {
    let n = event.people.len();
    let mut t = Tally::default();
    let rank_of = |p: usize, target: usize| {
        let s = score(p, target);
        // Ties count against the counterpart: a baseline that scores everyone 0 finds nobody.
        1 + (0..n).filter(|&o| o != p && o != target && score(p, o) >= s).count()
    };
    for pl in &event.planted {
        for (p, c) in [(pl.a, pl.b), (pl.b, pl.a)] {
            let r = rank_of(p, c);
            t.rank((r <= 10).then_some(r));
        }
        let counterpart = score(pl.a, pl.b);
        if let Some(trap) = pl.trap {
            t.traps.1 += 1;
            t.traps.0 += (score(pl.a, trap) >= counterpart) as usize;
        }
        t.one_sided.1 += 1;
        t.one_sided.0 += (score(pl.a, pl.one_sided) >= counterpart) as usize;
        t.peers(pl, |p, peer, c| score(p, peer) >= score(p, c));
    }
    t
}

fn harmonic(x: f32, y: f32) -> f32 {
    let (x, y) = (x.max(0.0), y.max(0.0));
    if x + y > 0.0 {
        2.0 * x * y / (x + y)
    } else {
        0.0
    }
}

/// Unit mean of some texts' vectors.
fn mean_of(texts: &[String], vector: impl Fn(&str) -> Vec<f32>) -> Vec<f32> {
    let mut m: Vec<f32> = Vec::new();
    for t in texts {
        let v = vector(t);
        if m.is_empty() {
            m = vec![0.0; v.len()];
        }
        m.iter_mut().zip(&v).for_each(|(a, b)| *a += b);
    }
    normalize(&mut m);
    m
}

fn stems(text: &str) -> Vec<String> {
    const STOP: [&str; 40] = [
        "a", "an", "the", "and", "or", "of", "for", "to", "in", "on", "at", "by", "with", "from", "our", "my", "your",
        "we", "i", "you", "me", "us", "is", "are", "be", "am", "will", "can", "have", "has", "this", "that", "it",
        "as", "into", "about", "who", "looking", "need", "want",
    ];
    text.to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() > 2 && !STOP.contains(w))
        .map(|w| {
            let w = ["ations", "ation", "ings", "ing", "ers", "er", "ies", "es", "ed", "s", "ly", "ment"]
                .iter()
                .find(|s| w.ends_with(*s) && w.len() - s.len() >= 3)
                .map_or(w, |s| &w[..w.len() - s.len()]);
            w.chars().take(5).collect()
        })
        .collect()
}

/// TF-IDF vectors (sparse, unit) of each attendee's needs and offers.
type Sparse = HashMap<String, f32>;

fn tfidf(event: &Event) -> (Vec<Sparse>, Vec<Sparse>) {
    let docs: Vec<(Vec<String>, Vec<String>)> =
        event.people.iter().map(|p| (stems(&p.needs.join(" ")), stems(&p.offers.join(" ")))).collect();
    let mut df: HashMap<&str, usize> = HashMap::new();
    for (n, o) in &docs {
        let unique: HashSet<&str> = n.iter().chain(o.iter()).map(String::as_str).collect();
        for w in unique {
            *df.entry(w).or_default() += 1;
        }
    }
    let total = docs.len() as f32;
    let vec_of = |words: &[String]| {
        let mut v: HashMap<String, f32> = HashMap::new();
        for w in words {
            *v.entry(w.clone()).or_default() += (total / df[w.as_str()] as f32).ln() + 1.0;
        }
        let norm = v.values().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
        v.values_mut().for_each(|x| *x /= norm);
        v
    };
    docs.iter().map(|(n, o)| (vec_of(n), vec_of(o))).unzip()
}

fn sparse_dot(a: &HashMap<String, f32>, b: &HashMap<String, f32>) -> f32 {
    a.iter().filter_map(|(k, x)| b.get(k).map(|y| x * y)).sum()
}

/// The default policy, or `MINGLE_BENCH_POLICY` (JSON of the fields to change) while tuning.
fn bench_policy() -> Policy {
    match std::env::var("MINGLE_BENCH_POLICY") {
        Ok(json) => {
            let mut base = serde_json::to_value(Policy::default()).unwrap();
            let patch: Value = serde_json::from_str(&json).expect("MINGLE_BENCH_POLICY is JSON");
            base.as_object_mut().unwrap().extend(patch.as_object().unwrap().clone());
            serde_json::from_value(base).expect("a policy")
        }
        Err(_) => Policy::default(),
    }
}

fn evaluate(name: &str, event: &Event, e: &Embedded) {
    println!(
        "{name}: {} attendees, {} planted pairs, {} traps",
        event.people.len(),
        event.planted.len(),
        event.planted.iter().filter(|p| p.trap.is_some()).count()
    );

    let (tn, to) = tfidf(event);
    baseline(event, |a, b| harmonic(sparse_dot(&tn[a], &to[b]), sparse_dot(&tn[b], &to[a])))
        .print("TF-IDF needs/offers");

    for (name, vectors) in [("MiniLM cosine needs/offers", &e.base), ("adapted cosine needs/offers", &e.vectors)] {
        let v = |t: &str| vectors[t].clone();
        let needs: Vec<Vec<f32>> = event.people.iter().map(|p| mean_of(&p.needs, v)).collect();
        let offers: Vec<Vec<f32>> = event.people.iter().map(|p| mean_of(&p.offers, v)).collect();
        baseline(event, |a, b| harmonic(dot(&needs[a], &offers[b]), dot(&needs[b], &offers[a]))).print(name);
    }

    let input = engine_input(event, e);
    let policy = bench_policy();
    let start = std::time::Instant::now();
    let out = matching::match_event(&input, &policy, MatchOptions { top_n: 10, threads: 2, exhaustive: false });
    let took = start.elapsed();
    let prepared = Prepared::new(&input, &policy, AnswerHead::bundled(), 2);
    let final_score = |a: usize, b: usize| prepared.pair_score(a, b).final_score;
    let mut t = Tally::default();
    for pl in &event.planted {
        for (p, c) in [(pl.a, pl.b), (pl.b, pl.a)] {
            t.rank(out.lists[p].iter().position(|x| *x as usize == c).map(|r| r + 1));
        }
        let counterpart = final_score(pl.a, pl.b);
        if let Some(trap) = pl.trap {
            t.traps.1 += 1;
            t.traps.0 += (final_score(pl.a, trap) > counterpart) as usize;
        }
        t.one_sided.1 += 1;
        t.one_sided.0 += (final_score(pl.a, pl.one_sided) > counterpart) as usize;
        t.peers(pl, |p, peer, c| final_score(p, peer) > final_score(p, c));
    }
    t.print(&format!("mingle ({})", AnswerHead::bundled().version()));
    if std::env::var("MINGLE_BENCH_DEBUG").is_ok() {
        let head = AnswerHead::bundled();
        let p = |need: &str, offer: &str| head.score(need, &e.vectors[need], offer, &e.vectors[offer]);
        let (mut good, mut trap, mut n) = (0.0, 0.0, 0);
        for pl in &event.planted {
            let (a, b) = (&event.people[pl.a], &event.people[pl.b]);
            good += p(&a.needs[0], &b.offers[0]);
            if let Some(t) = pl.trap {
                trap += p(&a.needs[0], &event.people[t].offers[0]);
            }
            n += 1;
        }
        println!("  mean p(A need, B offer) {:.3}, p(A need, trap offer) {:.3}", good / n as f32, trap / n as f32);
        let s = prepared.pair_score(event.planted[0].a, event.planted[0].b);
        println!("  first planted pair: {s:?}");
        let exact = matching::match_event(&input, &policy, MatchOptions { top_n: 10, threads: 2, exhaustive: true });
        let hits = event.planted.iter().filter(|pl| exact.lists[pl.a].contains(&(pl.b as u32))).count();
        println!("  exhaustive: A finds B in its top 10 for {hits}/{}", event.planted.len());
        for pl in event.planted.iter().filter(|pl| !exact.lists[pl.a].contains(&(pl.b as u32))).take(4) {
            let a = &event.people[pl.a];
            let sb = prepared.pair_score(pl.a, pl.b);
            println!("  A needs {:?} offers {:?}", a.needs, a.offers);
            println!(
                "    B {:.3} (ab {:.3} ba {:.3} n {:.3}/{:.3} g {:.3}) needs {:?} offers {:?}",
                sb.final_score,
                sb.score_a_to_b,
                sb.score_b_to_a,
                sb.needs_to_offers,
                sb.offers_to_needs,
                sb.general_similarity,
                event.people[pl.b].needs,
                event.people[pl.b].offers
            );
            for &t in exact.lists[pl.a].iter().take(3) {
                let st = prepared.pair_score(pl.a, t as usize);
                println!(
                    "    top {:.3} (ab {:.3} ba {:.3} n {:.3}/{:.3} g {:.3}) needs {:?} offers {:?}",
                    st.final_score,
                    st.score_a_to_b,
                    st.score_b_to_a,
                    st.needs_to_offers,
                    st.offers_to_needs,
                    st.general_similarity,
                    event.people[t as usize].needs,
                    event.people[t as usize].offers
                );
            }
        }
    }
    if std::env::var("MINGLE_BENCH_BREAKDOWN").is_ok() {
        breakdown(event, &prepared);
    }
    if let Ok(path) = std::env::var("MINGLE_BENCH_DUMP") {
        dump(&path, event, e, &prepared);
    }
    println!("  (engine: {:.2} s for the event, {} pairs scored)", took.as_secs_f64(), out.pairs_scored);
}

/// What attendee `x` (not `p` itself) is to planted principal `p`: its counterpart, the
/// template's own trap or one-sided distractor, an attendee of another template in the
/// same domain or in another, or a filler ("vague", "off-topic").
fn kind_of(event: &Event, p: usize, x: usize) -> &'static str {
    let tp = event.origin[p].0.expect("a planted principal");
    match event.origin[x] {
        (Some(t), "trap") if t == tp => "own trap",
        (Some(t), "one-sided") if t == tp => "own one-sided",
        // A's peer needs what A needs; B's peer is, for A, another counterpart.
        (Some(t), role) if t == tp && role.starts_with("peer of ") => {
            if role.strip_prefix("peer of ") == Some(event.origin[p].1) {
                "own peer"
            } else {
                "counterpart's peer"
            }
        }
        (Some(t), _) if t == tp => "counterpart",
        (Some(t), _) if event.domains[t] == event.domains[tp] => "same domain",
        (Some(_), _) => "other domain",
        (None, role) => role,
    }
}

/// Every principal's pair features against every other attendee, as JSON lines, for
/// studying combinations offline (tuning bank only).
fn dump(path: &str, event: &Event, e: &Embedded, prepared: &Prepared) {
    use std::io::Write;
    let n = event.people.len();
    let profile = |p: &Person, vectors: &HashMap<String, Vec<f32>>| {
        let texts: Vec<String> =
            std::iter::once(p.goal.clone()).chain(p.needs.clone()).chain(p.offers.clone()).collect();
        mean_of(&texts, |t| vectors[t].clone())
    };
    let base: Vec<Vec<f32>> = event.people.iter().map(|p| profile(p, &e.base)).collect();
    // The best cosine between two lists of texts (adapted vectors): how alike two
    // attendees' needs, or offers, are.
    let alike = |xs: &[String], ys: &[String]| {
        xs.iter()
            .flat_map(|x| ys.iter().map(move |y| (x, y)))
            .map(|(x, y)| dot(&e.vectors[x], &e.vectors[y]))
            .fold(-1.0f32, f32::max)
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let people: Vec<Value> = event
        .people
        .iter()
        .map(|p| serde_json::json!({"goal": p.goal, "needs": p.needs, "offers": p.offers}))
        .collect();
    std::fs::write(format!("{path}.people"), serde_json::to_string(&people).unwrap()).unwrap();
    for pl in &event.planted {
        for p in [pl.a, pl.b] {
            for x in (0..n).filter(|&x| x != p) {
                let s = prepared.pair_score(p, x);
                let kind = kind_of(event, p, x);
                let row = serde_json::json!({
                    "p": p, "x": x, "kind": kind, "f": s.final_score, "ab": s.score_a_to_b, "ba": s.score_b_to_a,
                    "no": s.needs_to_offers, "on": s.offers_to_needs, "c": s.complementarity, "v": s.value_alignment,
                    "g": s.general_similarity, "ia": s.intent_a_to_b, "ib": s.intent_b_to_a,
                    "gb": dot(&base[p], &base[x]),
                    "nn": alike(&event.people[p].needs, &event.people[x].needs),
                    "oo": alike(&event.people[p].offers, &event.people[x].offers),
                });
                writeln!(out, "{row}").unwrap();
            }
        }
    }
}

/// Who outranks the counterparts that miss the top 10 (by exact `final_score`), and
/// where each direction alone would rank the counterpart: which part of the score fails.
fn breakdown(event: &Event, prepared: &Prepared) {
    use std::collections::BTreeMap;
    let n = event.people.len();
    let (mut above, mut first): (BTreeMap<&str, usize>, BTreeMap<&str, usize>) = Default::default();
    let (mut missed, mut principals) = (0, 0);
    let mut within = [0usize; 5];
    for pl in &event.planted {
        for (p, c) in [(pl.a, pl.b), (pl.b, pl.a)] {
            principals += 1;
            let scores: Vec<Option<matching::PairScore>> =
                (0..n).map(|x| (x != p).then(|| prepared.pair_score(p, x))).collect();
            let rank = |key: &dyn Fn(&matching::PairScore) -> f64| {
                let s = key(scores[c].as_ref().unwrap());
                1 + scores
                    .iter()
                    .enumerate()
                    .filter(|(x, o)| *x != c && o.as_ref().is_some_and(|o| key(o) >= s))
                    .count()
            };
            let ranks = [
                rank(&|s| s.final_score),
                rank(&|s| s.score_a_to_b),
                rank(&|s| s.score_b_to_a),
                rank(&|s| s.needs_to_offers),
                rank(&|s| s.offers_to_needs),
            ];
            for (w, r) in within.iter_mut().zip(ranks) {
                *w += (r <= 10) as usize;
            }
            if ranks[0] <= 10 {
                continue;
            }
            missed += 1;
            let cs = scores[c].as_ref().unwrap().final_score;
            let mut best = (f64::NEG_INFINITY, "");
            for (x, s) in scores.iter().enumerate() {
                if let Some(s) = s.as_ref().filter(|s| x != c && s.final_score >= cs) {
                    *above.entry(kind_of(event, p, x)).or_default() += 1;
                    if s.final_score > best.0 {
                        best = (s.final_score, kind_of(event, p, x));
                    }
                }
            }
            *first.entry(best.1).or_default() += 1;
        }
    }
    let share = |k: usize| k as f64 / principals as f64;
    println!(
        "  counterpart in the top 10 by: final {:.3}, S(A→B) {:.3}, S(B→A) {:.3}, N(A→B) {:.3}, N(B→A) {:.3}",
        share(within[0]),
        share(within[1]),
        share(within[2]),
        share(within[3]),
        share(within[4])
    );
    println!("  {missed} principals miss; attendees above their counterpart, by kind (mean per miss):");
    for (k, v) in &above {
        println!("    {k:<14} {:.1}   first place {}", *v as f64 / missed.max(1) as f64, first.get(k).unwrap_or(&0));
    }
}

/// Candidate search against exhaustive scoring: the share of each principal's exact
/// top-10 that the searched top-10 also holds. The event repeats the templates (other
/// wordings) up to `size`, so many attendees have several good counterparts.
fn search_recall(templates: &[Value], fillers: &[Value], size: usize) {
    let copies: Vec<Value> =
        templates.iter().cycle().take(templates.len() * (size * 4 / 5 / 4 / templates.len()).max(1)).cloned().collect();
    let event = generate(&copies, fillers, size, 21);
    let e = embed(common::load_encoder().as_ref(), None, &[&event]);
    let input = engine_input(&event, &e);
    let policy = bench_policy();
    let options = MatchOptions { top_n: 10, threads: 2, exhaustive: false };
    let start = std::time::Instant::now();
    let searched = matching::match_event(&input, &policy, options);
    let fast = start.elapsed();
    // Up to 10,000 attendees every principal's exact top-10 comes from exhaustive
    // scoring; above, from scoring a sample of 1,000 principals against everyone (timed
    // without the preparation, which the exhaustive run includes).
    let prepared = Prepared::new(&input, &policy, AnswerHead::bundled(), 2);
    let n = input.profiles.len();
    let start = std::time::Instant::now();
    let exact: Vec<(usize, Vec<u32>)> = if n <= 10_000 {
        let all = matching::match_event(&input, &policy, MatchOptions { exhaustive: true, ..options });
        all.lists.into_iter().enumerate().collect()
    } else {
        let sample: Vec<usize> = (0..n).step_by(n / 1000).collect();
        let top10 = |a: usize| -> Vec<u32> {
            let mut all: Vec<(f64, u32)> =
                (0..n).filter(|&b| b != a).map(|b| (matching::round6(prepared.final_score(a, b)), b as u32)).collect();
            all.sort_by(|p, q| q.0.total_cmp(&p.0).then(p.1.cmp(&q.1)));
            all.into_iter().take(10).map(|(_, b)| b).collect()
        };
        mingle_core::parallel::map(sample, 2, |a| (a, top10(a)))
    };
    let slow = start.elapsed();
    let (mut hit, mut total) = (0usize, 0usize);
    for (a, x) in &exact {
        total += x.len();
        hit += x.iter().filter(|t| searched.lists[*a].contains(t)).count();
    }
    println!(
        "candidate search at {size} attendees: recall@10 vs exhaustive {:.4} ({hit}/{total}{}); searched {:.1} s ({} pairs scored), exhaustive {:.1} s",
        hit as f64 / total as f64,
        if exact.len() < n { format!(", {} principals sampled", exact.len()) } else { String::new() },
        fast.as_secs_f64(),
        searched.pairs_scored,
        slow.as_secs_f64()
    );
    // Where the exact top-10 stand in the search's own order: how many candidates per
    // principal a given recall of the candidate sets would need.
    let (x, y) = prepared.candidate_vectors(&prepared.reduced());
    let mut ranks: Vec<usize> = Vec::with_capacity(total);
    for (a, exact_list) in &exact {
        let a = *a;
        let mut approx: Vec<(f32, usize)> =
            (0..x.rows).filter(|&b| b != a).map(|b| (dot(x.row(a), y.row(b)), b)).collect();
        approx.sort_by(|p, q| q.0.total_cmp(&p.0).then(p.1.cmp(&q.1)));
        let position: HashMap<usize, usize> = approx.iter().enumerate().map(|(r, &(_, b))| (b, r)).collect();
        ranks.extend(exact_list.iter().map(|&t| position[&(t as usize)]));
    }
    ranks.sort_unstable();
    let at = |q: f64| ranks[((ranks.len() as f64 * q) as usize).min(ranks.len() - 1)];
    println!(
        "  search rank of the exact top-10: median {}, p90 {}, p95 {}, p99 {}, p99.5 {}, max {}",
        at(0.5),
        at(0.9),
        at(0.95),
        at(0.99),
        at(0.995),
        ranks[ranks.len() - 1]
    );
    for keep in [160, 300, 500, 1000] {
        let share = ranks.iter().filter(|&&r| r < keep).count() as f64 / ranks.len() as f64;
        println!("  {keep} candidates a principal would hold {share:.4} of the exact top-10");
    }
}

fn main() {
    if let Ok(size) = std::env::var("MINGLE_BENCH_RECALL").map(|v| v.parse::<usize>().expect("a size")) {
        let templates: Vec<Value> =
            lines("match_bank_1.jsonl").into_iter().chain(lines("match_bank_2.jsonl")).collect();
        search_recall(&templates, &lines("match_fillers.jsonl"), size);
        return;
    }
    let split = std::env::var("MINGLE_BENCH_SPLIT").unwrap_or_else(|_| "all".into());
    let (bank1, bank2) = (lines("match_bank_1.jsonl"), lines("match_bank_2.jsonl"));
    let fillers = lines("match_fillers.jsonl");
    let both: Vec<Value> = bank1.iter().chain(&bank2).cloned().collect();
    let mut events: Vec<(&str, Event)> = Vec::new();
    if split == "tune" || split == "all" {
        events.push(("tune: bank 1 alone, 500 attendees", generate(&bank1, &fillers, 500, 11)));
    }
    if split == "heldout" || split == "all" {
        events.push(("held out: bank 2 alone, 500 attendees", generate(&bank2, &fillers, 500, 12)));
    }
    if split == "all" {
        events.push(("the benchmark event: both banks, 1,000 attendees", generate(&both, &fillers, 1000, 13)));
    }
    if split == "peers" {
        // The tuning bank with a peer of each side: as many fillers as its own event.
        let size = 500 + 2 * bank1.len();
        events.push(("tune with peers: bank 1, a peer of each side", generate_with(&bank1, &fillers, size, 14, true)));
    }
    let encoder = common::load_encoder();
    let refs: Vec<&Event> = events.iter().map(|(_, e)| e).collect();
    let embedded = embed(encoder.as_ref(), Some(common::load_base_encoder().as_ref()), &refs);
    for (name, event) in &events {
        evaluate(name, event, &embedded);
    }
}
