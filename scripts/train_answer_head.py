#!/usr/bin/env python3
"""Trains the answer head: does this OFFER answer this NEED? (crates/mingle-core/src/matching/answer.rs)

History: heads v1-v3 were trained by this script on the published model's embeddings.
The bundled head is now `answer-cosine-v2` from scripts/train_answer_encoder.py, which
fine-tunes the encoder instead. Embeddings here come from mingle's encoder, so a run of
this script trains on the adapted encoder's vectors (version answer-head-v4) and
overwrites the bundled head: a candidate to measure, not the shipped head.

Cosine similarity of all-MiniLM-L6-v2 embeddings measures topic, not whether an offer
gives what a need asks for: "a course on seed fundraising" is closer to "seed funding for
our app" than "I write $50k angel cheques" is. The head is a small model on top of the
frozen embeddings that adds (a) a per-dimension weighting of the cosine and (b) a low-rank
bilinear term over [embedding ; cue flags], where the K cue groups say what KIND of thing a
text names (money, a hire, a candidate, a service, a tool, coverage, teaching, a community,
advice, customers, data, space, volunteers, "also looking for"...), so it can learn which
kinds answer which.

Data (hand-written for this; nothing else is used for fitting or model selection):
`crates/mingle-encoder/benches/data/answers_train_*.jsonl`, one record per need:
{"domain", "need", "answers": [offers that answer it], "hard": [{"kind", "text"}]} where the
hard offers share the topic but do not answer (course, press, vendor, competitor,
community, wrong_thing, wrong_side). Examples: positives (need, answer); hard negatives
(need, hard text); random negatives (need, an answer or hard offer of a record of another
domain, seeded): RANDOM_PER_NEED = 2 per need that are fitted AND scored, plus
EXTRA_RANDOM_PER_NEED = 8 per need that are only fitted (without them the low-rank term
gives some unrelated pairs high logits: before short forms were added, CV random-only AUC
was 0.926 without them and 0.942 with them). Both
kinds of negative are needed: trained on hard negatives alone the head learns "shares the
topic -> does not answer" and ranks strangers first. Short forms: the written answers are
long (median 12 words) and the hard negatives short (median 5): length alone separates them
with AUC 0.97, and a head fitted on them scores terse answers ("Licensed family physician")
low. So each answer with a clause break (", ", ";", ":", "(", dash) also gives its head
clause as a positive for fitting (646); CV scores them separately. Every AUC is
reported on mixed (hard + random), hard-only and random-only negatives, for the written
answers and for the short forms.

Model (answer.rs is the specification): x = [384-d unit embedding ; K cue flags 0/1],
  z = sum_i diag_i n_i o_i + (P x_n).(Q x_o) + need_bias.x_n + offer_bias.x_o + bias,
  p = sigmoid(z),  P, Q: r x (384+K).
Cue text: lowercase; every char not ASCII [a-z0-9] becomes a space; collapse spaces; pad one
space each side; group k fires when " " + phrase + " " is a substring for any of its phrases.
Fitted by full-batch Adam (seeded, deterministic, single-threaded BLAS) on the weighted mean
logistic loss (positives with short forms, hard negatives, random negatives each weigh one
third in total) plus L2:
diag towards its initial value alpha (a 1-D logistic fit of the label on the cosine, so the
head blends with the embedding similarity instead of replacing it), P, Q and the biases
towards 0 (one strength for the embedding columns, one for the cue columns).

How chosen: 5-fold cross-validation on the training records (split by record, so a need's
positives and negatives stay in one fold), maximizing the mean of two pooled out-of-fold
mixed ROC AUCs, the written answers' and the short forms' (so that telling long texts from
short ones does not pay): first r in RANKS x (lam_emb, lam_cue) in LAM_GRID, then
lam_diag at the best of those (it barely matters: the data hardly pull diag away from
alpha). The same CV is printed without cues. Then the head is trained on all records. "basis"
is the top 48 principal components of the embeddings of all training needs and offers
(mean-centred, unit rows, each row's largest-magnitude entry made positive). The held-out
set `benches/data/need_offer_pairs.jsonl` is scored once at the end, with the rounded head
exactly as Rust uses it, and never used for anything else (--no-heldout skips it).

Output `crates/mingle-core/src/matching/answer_head.json`: {"version", "dimension": 384,
"cues", "diag", "need_proj", "offer_proj", "need_bias", "offer_bias", "bias", "basis"},
floats rounded to 6 decimals, byte-identical on rerun with the same embedding cache. Needs
numpy, tokenizers, safetensors (pip), the model (scripts/fetch-model) and the Rust
toolchain: the texts are embedded by mingle's own encoder (the `embed` example of
mingle-encoder, built in release mode on first use; about a minute and a half for the
~34,000 training texts, some 30 times faster than the numpy reference, whose numbers the
encoder's tests hold it to) and cached in ANSWER_EMBED_CACHE (default
/tmp/mingle-answer-embeddings-rust.npz; a cache file names its encoder and is refused by
the other). --numpy-encoder embeds with scripts/reference_embeddings.py instead (about 20
minutes per 18,000 texts; default cache /tmp/mingle-answer-embeddings-numpy.npz). The CV
(9 configs x 5 folds) and the final fit took 18 minutes with OPENBLAS_NUM_THREADS=2 (the
script uses one thread unless told).

Results of the committed head (answer-head-v3: 4,398 needs in 18 files, 161 domains):
chosen r=32, lam_diag=0.1, lam_emb=1e-4, lam_cue=3e-3; CV AUC mixed / hard / random 0.931 /
0.931 / 0.932 on the written answers and 0.952 / 0.953 / 0.951 on the short forms (without
cues: 0.909 / 0.905 / 0.917 and 0.934 / 0.932 / 0.939); resubstitution 0.976. Length alone
separates answers from hard negatives with AUC 0.573 (v2's data 0.639, v1's 0.966).
Held-out need_offer_pairs.jsonl ROC AUC 0.881 (raw cosine 0.127). History of the held-out
set: v1 without short forms 0.782, v1 0.828, v2 0.879, v3 0.881 (each head scored once
here and once by the Rust semantic bench, same figure).
v2 (answer-head-v2, 2,479 needs in 10 files, 97 domains; r=32, lam_emb=3e-4): CV 0.923 /
0.928 / 0.915 and 0.943 / 0.947 / 0.934; resubstitution 0.961. Before v2 the grid was shifted
to smaller lam_emb (r=64 and the two larger pairs dropped; the first selection had r in
{16, 32, 64} x [(3e-4, 3e-3), (1e-3, 3e-3), (3e-4, 1e-2)]), and CV chose the same head again.
The six files answers_train_{capital,creative,digital,health,industry,people}.jsonl (1,439
needs) were added for v2 and the eight answers_train_{civic,culture,land,lifestyle,
mobility,science,services,trades}.jsonl (1,919 needs, 64 domains none of the earlier files
has) for v3, each written without seeing any benchmark, held-out or other training text
(v3's to the rules scripts/check_answer_data.py checks); 14 texts of each batch within
word-Jaccard 0.6 of a benchmark or held-out text were dropped. v2 scores v3's new records,
which it never saw, at mixed AUC 0.910 (short forms 0.937): below its own CV, above the
held-out set.

    python3 scripts/train_answer_head.py               # CV, train, write head, held-out AUC
    python3 scripts/train_answer_head.py --no-heldout  # same, without reading the held-out set
    python3 scripts/train_answer_head.py --ablate      # also CV without each cue group
    python3 scripts/train_answer_head.py --numpy-encoder  # embed with the numpy reference
"""
import argparse
import glob
import json
import os
import re
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices; the machine is shared
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import reference_embeddings as ref  # noqa: E402

DATA = os.path.join(ROOT, "crates/mingle-encoder/benches/data")
TRAIN = sorted(glob.glob(os.path.join(DATA, "answers_train_*.jsonl")))
HELDOUT = os.path.join(DATA, "need_offer_pairs.jsonl")
OUT = os.path.join(ROOT, "crates/mingle-core/src/matching/answer_head.json")
# Which encoder embeds the texts: "rust" (mingle's own, what a match run uses) or "numpy"
# (scripts/reference_embeddings.py, independent but some 30 times slower).
ENCODER = "rust"
VERSION = "answer-head-v4"  # v4: on the adapted encoder (answers-v1); v1-v3 on the published model

SEED = 20240611
RANDOM_PER_NEED = 2
EXTRA_RANDOM_PER_NEED = 8
SHORT_ANSWERS = True
FOLDS = 5
STEPS = 300
LR = 0.02
BASIS_RANK = 48
RANKS = (16, 32)
# L2 strengths: of diag - alpha (lam_diag), of the embedding columns of P, Q and the biases
# (lam_emb), of their cue columns (lam_cue). Stage 1 crosses RANKS with LAM_GRID at
# LAM_DIAG; stage 2 tries LAM_DIAG_ALT at the best of stage 1.
LAM_GRID = [(3e-4, 3e-3), (1e-4, 3e-3), (3e-5, 3e-3)]
LAM_DIAG = 1e-2
LAM_DIAG_ALT = (1e-3, 1e-1)

# Cue groups: what kind of thing a text names, for needs and offers alike. Each group is one
# 0/1 feature; phrases are in normalized form (asserted).
CUES = [
    # money / capital
    ["money", "capital", "cheque", "cheques", "check", "checks", "cheque size", "ticket", "tickets",
     "invest", "invests", "investing", "investment", "investments", "investor", "investors", "angel",
     "angels", "vc", "vcs", "venture", "fund", "funds", "funding", "funded", "financing", "finance",
     "raise", "raising", "round", "rounds", "seed", "pre seed", "series a", "series b", "loan", "loans",
     "lender", "lending", "credit", "debt", "grant", "grants", "backed", "backing", "back", "equity",
     "lp", "lps", "family office", "syndicate", "capital partner", "bridge", "term sheet"],
    # a hire: an employer recruiting, a vacancy
    ["hire", "hires", "hiring", "recruit", "recruits", "recruiting", "recruitment", "recruiter",
     "recruiters", "vacancy", "vacancies", "opening", "openings", "headcount", "is hiring", "are hiring",
     "open roles", "open role", "open positions", "open position", "filling", "to fill", "join our",
     "join us", "join our team", "to join", "employer", "headhunter", "staffing", "we need a", "we need an",
     "our team needs", "shifts", "applications open"],
    # a job: a role, a position, employment (wanted or offered)
    ["job", "jobs", "role", "roles", "position", "positions", "post", "career", "full time", "permanent",
     "salary", "employment", "internship", "apprenticeship", "placement", "work as", "job as",
     "a job", "new role", "next role", "paid post", "contract role", "part time role"],
    # a candidate: a person offering themselves
    ["years of experience", "years experience", "years in", "years on", "years at", "years as",
     "available", "available from", "available for", "free from", "free in", "free this", "open to",
     "open to roles", "open to work", "seeking work", "looking for work", "looking for a role",
     "my next role", "former", "ex", "previously", "i ve", "i was", "retired", "graduate", "phd",
     "certified", "licensed", "qualified", "chartered", "experienced", "senior", "junior", "freelance",
     "freelancer", "contractor", "part time", "interim", "fractional", "cv", "resume", "portfolio"],
    # a service / capacity
    ["we build", "we design", "we run", "we do", "we help", "we offer", "we provide", "we handle",
     "we manage", "we review", "we write", "we make", "we supply", "we install", "we place", "we ve",
     "i build", "i design", "i run", "i help", "i write", "i review", "i can", "i can take on", "i do",
     "i offer", "agency", "agencies", "studio", "consultancy", "consultant", "consultants", "consulting",
     "firm", "practice", "service", "services", "provider", "providers", "supplier", "suppliers",
     "contract", "outsourced", "outsourcing", "on demand", "capacity", "idle capacity", "spare capacity",
     "take on", "taking on", "specialising", "specializing", "specialist", "specialists", "turnaround",
     "fixed fee", "per hour", "retainer", "clients", "our team", "team of"],
    # a product / tool / platform / software / app
    ["product", "products", "tool", "tools", "platform", "platforms", "software", "app", "apps",
     "saas", "plugin", "plug in", "extension", "dashboard", "sdk", "api", "apis", "subscription",
     "tracker", "tracking", "marketplace", "system", "systems", "crm", "erp", "scanner", "generator",
     "template", "templates", "widget", "bot", "chatbot", "device", "devices", "hardware", "kit", "kits",
     "sensor", "sensors", "free tier", "licence", "licences", "license", "licenses", "portal", "database",
     "automation", "automated", "monitoring", "solution", "solutions", "console", "gateway", "appliance",
     "for sale", "on sale", "sale", "sold", "wholesale", "wholesaler", "bulk", "bulk order", "bulk pricing",
     "supplier", "manufacturer", "maker", "refurbished", "second hand", "warranty", "per seat", "per user",
     "per month", "a month", "store", "shop", "catalogue", "machine", "machines", "equipment", "units",
     "kits", "bundle", "bundles", "off the shelf", "delivered", "open source", "library", "framework"],
    # coverage: press, media, writing about
    ["journalist", "journalists", "reporter", "reporters", "editor", "podcast", "podcasts", "newsletter",
     "newsletters", "article", "articles", "feature", "features", "press", "media", "news", "magazine",
     "blog", "blogger", "blogs", "column", "columnist", "writing about", "write about", "writes about",
     "covering", "cover", "covers", "coverage", "report on", "reporting", "interviewing", "interview",
     "interviews", "documentary", "radio", "tv", "broadcast", "publication", "journal", "readers",
     "subscribers", "listeners", "episode", "site", "trade press", "story", "stories", "beat"],
    # teaching: courses, workshops, books, guides
    ["course", "courses", "workshop", "workshops", "tutorial", "tutorials", "template", "templates",
     "guide", "guides", "handbook", "book", "books", "ebook", "e book", "bootcamp", "bootcamps",
     "webinar", "webinars", "masterclass", "class", "classes", "lesson", "lessons", "training",
     "certificate", "certification", "diploma", "exam", "prep", "seminar", "lecture", "lectures",
     "talk recording", "checklist", "playbook", "toolkit", "101", "fundamentals", "basics", "beginners",
     "explained", "intro to", "introduction to", "learn", "learning", "mooc", "textbook", "edition",
     "curriculum", "self paced", "online course", "crash course", "how to", "summer school", "degree",
     "qualification", "primer", "whitepaper", "white paper", "video series", "cookbook", "pdf",
     "specialisation", "specialization", "program", "programme", "teach yourself", "coursera", "udemy",
     "youtube", "sessions", "academy", "school", "study group"],
    # community: meetups, forums, groups
    ["meetup", "meetups", "meet up", "forum", "forums", "community", "communities", "group", "groups",
     "club", "clubs", "network of", "networking", "association", "associations", "chapter", "society",
     "slack", "discord", "subreddit", "facebook group", "linkedin group", "whatsapp group", "collective",
     "guild", "circle", "roundtable", "breakfast", "dinner", "mixer", "members", "membership",
     "conference", "summit", "gathering", "peer group", "alliance", "council", "monthly meetup", "network",
     "event", "events", "night", "evening", "evenings", "fair", "expo", "federation", "mailing list", "jam",
     "league", "makerspace", "hackerspace", "coworking", "brunch", "meeting", "meetings", "discussion",
     "reading group", "hackathon", "hack night", "sprint", "open evenings", "drinks", "happy hour"],
    # advice / mentoring
    ["advice", "advise", "advises", "advising", "advisor", "advisors", "adviser", "advisory", "mentor",
     "mentors", "mentoring", "mentorship", "coach", "coaches", "coaching", "guidance", "sounding board",
     "office hours", "happy to", "glad to", "keen to", "walk you through", "share what", "tips",
     "counsel", "consult", "review your", "feedback"],
    # customers, buyers, pilots, distribution
    ["customer", "customers", "client", "clients", "buyer", "buyers", "buy", "buying", "purchase",
     "purchasing", "procurement", "budget", "budget for", "pilot", "pilots", "trial", "early adopters",
     "design partner", "design partners", "beta", "testers", "users", "distribution", "distributor",
     "distributors", "distribute", "wholesale", "wholesaler", "retailer", "retailers", "stores", "shops",
     "stockist", "stockists", "reseller", "resellers", "resell", "channel", "rep", "reps", "import",
     "importer", "export", "sell", "sells", "selling", "sales", "orders", "order", "contracts",
     "tender", "tenders", "accounts", "shelf", "shelves", "grocers", "chain of"],
    # data, research, study, survey
    ["data", "dataset", "datasets", "research", "researcher", "researchers", "study", "studies",
     "survey", "surveys", "analysis", "analyst", "analytics", "statistics", "evidence", "evaluation",
     "benchmark", "participants", "respondents", "sample", "samples", "lab", "labs", "trial", "trials",
     "experiment", "experiments", "measure", "measurement", "records", "panel", "insights"],
    # space, venue, equipment
    ["space", "spaces", "venue", "venues", "office", "offices", "desk", "desks", "room", "rooms",
     "warehouse", "kitchen", "studio", "lab", "facility", "facilities", "site", "sites", "land",
     "roof", "rooftop", "rooftops", "building", "buildings", "premises", "hall", "storage", "sq ft",
     "square feet", "m2", "sublease", "sublet", "rent", "rental", "lease", "leasing", "equipment",
     "machine", "machines", "machinery", "beam time", "time on", "access to", "capacity", "unit",
     "units", "yard", "garage", "workshop"],
    # volunteers, donors
    ["volunteer", "volunteers", "volunteering", "donor", "donors", "donate", "donates", "donating",
     "donation", "donations", "pro bono", "sponsor", "sponsors", "sponsorship", "philanthropy",
     "philanthropist", "charity", "charities", "foundation", "unpaid", "free of charge", "for free",
     "in kind", "give", "giving", "fundraiser"],
    # "seeking" phrasing: the text asks for something itself
    ["looking for", "looking to", "seeking", "seek", "searching for", "hunting for", "hunting",
     "also need", "also needs", "also looking", "hoping to find", "hoping for", "hoping to", "wanting",
     "wanting to", "needing", "need", "needs", "trying to", "want", "wants", "shopping for",
     "chasing", "applying for", "struggling", "stuck", "short of", "can t find", "in search of",
     "in need of", "would love", "who can", "anyone", "waiting for", "waiting on", "no", "yet", "without",
     "unsure", "preparing for", "applying", "shopping around", "tendering", "advertising for", "starting",
     "pitching", "halfway through", "still", "out of ideas"],
    # "also": the text is in the same position as the need (a competitor)
    ["also", "too", "as well", "another", "same", "fellow", "rival", "competing", "competitor",
     "like us", "our own", "similar"],
    # a track record: the text says what it has done / can show
    ["i ve", "we ve", "i have", "we have", "who has", "who have", "has", "have", "built", "shipped", "ran",
     "led", "founded", "wrote", "delivered", "produced", "placed", "helped", "moved", "saved", "cut",
     "reduced", "grew", "launched", "audited", "trained", "managed", "took", "did", "completed", "since",
     "last year", "track record", "clients include", "worked", "spent", "designed", "installed",
     "recorded", "raised", "sold", "closed", "backed", "published"],
]


def normalize(text):
    """goals.rs `normalize`: ASCII-lowercase, every char not ASCII [a-z0-9] -> space, collapse, pad.

    Non-ASCII characters become spaces before lowercasing (Python would lowercase "\u0130" or
    the Kelvin sign to ASCII letters; Rust's is_ascii_alphanumeric does not)."""
    mapped = "".join(c.lower() if c.isascii() and c.isalnum() else " " for c in text)
    return " " + " ".join(mapped.split()) + " "


def cue_features(text, cues=CUES):
    t = normalize(text)
    return np.array([1.0 if any(" " + p + " " in t for p in group) else 0.0 for group in cues])


def embed_all(texts):
    """Unit embeddings from ENCODER, cached on disk (ANSWER_EMBED_CACHE, one file per
    encoder)."""
    cache = os.environ.get("ANSWER_EMBED_CACHE", f"/tmp/mingle-answer-embeddings-{ENCODER}.npz")
    return ref.embed_cached(texts, cache, ENCODER)


def load_records():
    records = []
    for path in TRAIN:
        records += [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    return records


KINDS = ("positive", "hard", "random", "random (fit only)", "short positive (fit only)")


def build_examples(records, seed=SEED):
    """Texts (needs and offers, deduplicated) and examples (need, offer, label, kind, record)."""
    texts, index = [], {}

    def tid(t):
        if t not in index:
            index[t] = len(texts)
            texts.append(t)
        return index[t]

    rng = np.random.default_rng(seed)
    domains = np.array([r["domain"] for r in records])
    ex = []
    for i, r in enumerate(records):
        n = tid(r["need"])
        ex += [(n, tid(a), 1, 0, i) for a in r["answers"]]
        ex += [(n, tid(h["text"]), 0, 1, i) for h in r["hard"]]
        others = np.flatnonzero(domains != r["domain"])
        for _ in range(RANDOM_PER_NEED):
            o = records[int(rng.choice(others))]
            pool = o["answers"] + [h["text"] for h in o["hard"]]
            ex.append((n, tid(pool[int(rng.integers(len(pool)))]), 0, 2, i))
    # More random pairs for fitting only (kind 3, never scored): they teach the bilinear term
    # that unrelated needs and offers stay apart, without changing the evaluated examples.
    rng = np.random.default_rng(seed + 1)
    for i, r in enumerate(records):
        others = np.flatnonzero(domains != r["domain"])
        for _ in range(EXTRA_RANDOM_PER_NEED):
            o = records[int(rng.choice(others))]
            pool = o["answers"] + [h["text"] for h in o["hard"]]
            ex.append((index[r["need"]], tid(pool[int(rng.integers(len(pool)))]), 0, 3, i))
    # Short forms of the answers (the head clause, for fitting only, kind 4): the written
    # answers are long and the hard negatives short, so without them length alone separates
    # the classes (AUC 0.97) and the head learns "long and detailed -> answers".
    if SHORT_ANSWERS:
        for i, r in enumerate(records):
            for a in r["answers"]:
                s = short_form(a)
                if s:
                    ex.append((index[r["need"]], tid(s), 1, 4, i))
    ex = np.array(ex, dtype=np.int64)
    return texts, {"need": ex[:, 0], "offer": ex[:, 1], "y": ex[:, 2].astype(np.float64),
                   "kind": ex[:, 3], "record": ex[:, 4]}


def short_form(text):
    """The text up to its first ", ", ";", ":", "(" or dash, if that is shorter and has >= 2 words."""
    head = re.split(r", |; |: | \(| - | \u2014 | \u2013 ", text, maxsplit=1)[0].strip()
    return head if head != text.strip() and len(normalize(head).split()) >= 2 else None


def subset(ex, mask):
    return {k: v[mask] for k, v in ex.items()}


def roc_auc(scores, labels):
    """ROC AUC with ties counted as one half (rank-average Mann-Whitney)."""
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels)
    order = np.argsort(scores, kind="mergesort")
    s = scores[order]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = labels == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return (ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def aucs(z, ex, positives=0):
    """(mixed, hard-only, random-only) ROC AUC of scores z on examples ex: the written answers
    (positives=0) or their short forms (positives=4) against the hard / random negatives."""
    kind = ex["kind"]
    pos = kind == positives
    out = []
    for neg in ((kind == 1) | (kind == 2), kind == 1, kind == 2):
        m = pos | neg
        out.append(roc_auc(z[m], ex["y"][m]))
    return tuple(out)


def example_weights(ex):
    """Positives, hard negatives and random negatives weigh one third each in total."""
    w = np.zeros(len(ex["y"]))
    kind = ex["kind"]
    for m in (np.isin(kind, (0, 4)), kind == 1, np.isin(kind, (2, 3))):
        w[m] = 1.0 / (3 * m.sum())
    return w


def fit_cosine(cos, y, w):
    """1-D weighted logistic regression of y on the cosine (Newton): (alpha, intercept)."""
    a, b = 0.0, 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-(a * cos + b)))
        g = np.array([(w * (p - y) * cos).sum(), (w * (p - y)).sum()])
        h = w * p * (1 - p)
        H = np.array([[(h * cos * cos).sum(), (h * cos).sum()], [(h * cos).sum(), h.sum()]]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(H, g)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-10:
            break
    return a, b


class Head:
    """Parameters of the answer head (float64 numpy arrays)."""

    def __init__(self, diag, P, Q, v, u, b):
        self.diag, self.P, self.Q, self.v, self.u, self.b = diag, P, Q, v, u, b

    def logits(self, En, Cn, Eo, Co):
        """z for aligned rows of need and offer embeddings / cue flags."""
        Xn, Xo = np.hstack([En, Cn]), np.hstack([Eo, Co])
        return ((En * Eo) @ self.diag + np.einsum("ij,ij->i", Xn @ self.P.T, Xo @ self.Q.T)
                + Xn @ self.v + Xo @ self.u + self.b)


def fit(E, C, ex, rank, lam_diag, lam_emb, lam_cue, use_cues=True, steps=None, lr=None, seed=SEED):
    """Full-batch Adam on the weighted logistic loss + L2. Deterministic for a given seed."""
    steps, lr = steps or STEPS, lr or LR
    d = E.shape[1]
    if not use_cues:
        C = C[:, :0]
    k = C.shape[1]
    y, w = ex["y"], example_weights(ex)
    cos = np.einsum("ij,ij->i", E[ex["need"]], E[ex["offer"]])
    alpha, b0 = (float(x) for x in fit_cosine(cos, y, w))

    # Work on the texts this fit sees: needs and offers separately (P only ever meets needs).
    nu, ni = np.unique(ex["need"], return_inverse=True)
    ou, oi = np.unique(ex["offer"], return_inverse=True)
    n_order, o_order = np.argsort(ni, kind="stable"), np.argsort(oi, kind="stable")
    n_start = np.searchsorted(ni[n_order], np.arange(len(nu)))
    o_start = np.searchsorted(oi[o_order], np.arange(len(ou)))
    f32 = np.float32
    Xn = np.hstack([E[nu], C[nu]]).astype(f32)
    Xo = np.hstack([E[ou], C[ou]]).astype(f32)
    H = (E[ex["need"]] * E[ex["offer"]]).astype(f32)  # pairs x d: the diag term's features
    lam_col = np.concatenate([np.full(d, lam_emb), np.full(k, lam_cue)]).astype(f32)

    rng = np.random.default_rng(seed)
    params = {
        "diag": np.full(d, alpha, dtype=f32),
        "P": (0.01 * rng.standard_normal((rank, d + k))).astype(f32),
        "Q": (0.01 * rng.standard_normal((rank, d + k))).astype(f32),
        "v": np.zeros(d + k, dtype=f32),
        "u": np.zeros(d + k, dtype=f32),
        "b": np.array([b0], dtype=f32),
    }
    m = {n: np.zeros_like(p) for n, p in params.items()}
    s = {n: np.zeros_like(p) for n, p in params.items()}
    yw = y.astype(f32)
    wf = w.astype(f32)
    b1, b2, eps = 0.9, 0.999, 1e-8
    for t in range(1, steps + 1):
        p_ = params
        A = Xn @ p_["P"].T  # needs x r
        B = Xo @ p_["Q"].T  # offers x r
        An, Bo = A[ni], B[oi]
        z = H @ p_["diag"] + np.einsum("ij,ij->i", An, Bo) + (Xn @ p_["v"])[ni] + (Xo @ p_["u"])[oi] + p_["b"][0]
        g = (1 / (1 + np.exp(-z)) - yw) * wf  # d loss / d z
        dA = np.add.reduceat((g[:, None] * Bo)[n_order], n_start, axis=0)  # sums per need
        dB = np.add.reduceat((g[:, None] * An)[o_order], o_start, axis=0)  # sums per offer
        gn = np.bincount(ni, weights=g, minlength=len(nu)).astype(f32)
        go = np.bincount(oi, weights=g, minlength=len(ou)).astype(f32)
        grads = {
            "diag": H.T @ g + lam_diag * (p_["diag"] - alpha),
            "P": dA.T @ Xn + lam_col * p_["P"],
            "Q": dB.T @ Xo + lam_col * p_["Q"],
            "v": Xn.T @ gn + lam_col * p_["v"],
            "u": Xo.T @ go + lam_col * p_["u"],
            "b": np.array([g.sum()], dtype=f32),
        }
        # Adam with a cosine-decayed step size.
        rate = float(lr * 0.5 * (1 + np.cos(np.pi * (t - 1) / steps)))
        for n in params:
            m[n] = b1 * m[n] + (1 - b1) * grads[n]
            s[n] = b2 * s[n] + (1 - b2) * grads[n] * grads[n]
            params[n] = params[n] - rate * (m[n] / (1 - b1 ** t)) / (np.sqrt(s[n] / (1 - b2 ** t)) + eps)
    pad = lambda a: np.hstack([a, np.zeros((a.shape[0], len(CUES) - k))]) if a.ndim == 2 else np.concatenate([a, np.zeros(len(CUES) - k)])
    f64 = lambda a: np.asarray(a, dtype=np.float64)
    return Head(f64(params["diag"]), pad(f64(params["P"])), pad(f64(params["Q"])), pad(f64(params["v"])),
                pad(f64(params["u"])), float(params["b"][0]))


def predict(head, E, C, ex):
    return head.logits(E[ex["need"]], C[ex["need"]], E[ex["offer"]], C[ex["offer"]])


def fold_of(records):
    """Record folds: records shuffled with the seed, then dealt round-robin."""
    order = np.random.default_rng(SEED).permutation(len(records))
    f = np.zeros(len(records), dtype=np.int64)
    f[order] = np.arange(len(records)) % FOLDS
    return f


def cross_validate(E, C, ex, folds, configs, use_cues=True):
    """Out-of-fold logits for each config (rank, lam_diag, lam_emb, lam_cue)."""
    rec_fold = folds[ex["record"]]
    out = {cfg: np.zeros(len(ex["y"])) for cfg in configs}
    for f in range(FOLDS):
        tr, te = subset(ex, rec_fold != f), subset(ex, rec_fold == f)
        for cfg in configs:
            head = fit(E, C, tr, *cfg, use_cues=use_cues)
            out[cfg][rec_fold == f] = predict(head, E, C, te)
    return out


def pca_basis(E, rank=BASIS_RANK):
    """Top principal components (rows, unit norm) of E, each row's largest |entry| made positive."""
    X = E - E.mean(0)
    vals, vecs = np.linalg.eigh(X.T @ X)
    B = vecs[:, np.argsort(-vals, kind="stable")[:rank]].T
    B /= np.linalg.norm(B, axis=1, keepdims=True)
    B *= np.sign(B[np.arange(rank), np.argmax(np.abs(B), axis=1)])[:, None]
    return B


def dump_head(head):
    """The head file: one line per cue group and per matrix row, so diffs stay readable."""
    order = ["version", "dimension", "cues", "diag", "need_proj", "offer_proj", "need_bias",
             "offer_bias", "bias", "basis"]
    return ref.dump_head_json({k: head[k] for k in order}, {"cues", "need_proj", "offer_proj", "basis"})


def rounded(a):
    return [round(float(x), 6) + 0.0 for x in a]  # + 0.0: no "-0.0"


def fmt(a):
    return " / ".join(f"{x:.3f}" for x in a)


def main():
    t0 = time.time()
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-heldout", action="store_true", help="do not read need_offer_pairs.jsonl")
    ap.add_argument("--ablate", action="store_true", help="also cross-validate without each cue group")
    ap.add_argument("--numpy-encoder", action="store_true", help="embed with the numpy reference encoder")
    args = ap.parse_args()
    global ENCODER
    if args.numpy_encoder:
        ENCODER = "numpy"

    for group in CUES:
        for p in group:
            assert normalize(p) == " " + p + " ", f"cue phrase not in normalized form: {p!r}"

    records = load_records()
    texts, ex = build_examples(records)
    E = embed_all(texts)
    C = np.stack([cue_features(t) for t in texts])
    counts = ", ".join(f"{k} {int((ex['kind'] == i).sum())}" for i, k in enumerate(KINDS))
    print(f"training records (needs): {len(records)} from {len(TRAIN)} files; texts {len(texts)}; "
          f"examples {len(ex['y'])}: {counts}; cue groups K={len(CUES)}")
    cos = np.einsum("ij,ij->i", E[ex["need"]], E[ex["offer"]])
    print(f"raw cosine AUC on train (mixed / hard / random): answers {fmt(aucs(cos, ex))}, "
          f"short forms {fmt(aucs(cos, ex, 4))}")
    words = lambda k: np.array([len(normalize(texts[o]).split()) for o in ex["offer"][ex["kind"] == k]])
    wl = np.concatenate([words(0), words(1)])
    print(f"offer length in words, median: answers {np.median(words(0)):g}, short forms {np.median(words(4)):g}, "
          f"hard {np.median(words(1)):g}; length alone separates answers from hard negatives with AUC "
          f"{roc_auc(wl, np.r_[np.ones(len(words(0))), np.zeros(len(words(1)))]):.3f}")

    folds = fold_of(records)

    def run(configs, use_cues=True):
        oof = cross_validate(E, C, ex, folds, configs, use_cues)
        for cfg in configs:
            print(f"  {FOLDS}-fold CV  r={cfg[0]:<3} lam_diag={cfg[1]:<6g} lam_emb={cfg[2]:<6g} lam_cue={cfg[3]:<6g}"
                  f"{'' if use_cues else ' (no cues)'}  AUC mixed / hard / random: answers {fmt(aucs(oof[cfg], ex))}"
                  f"  short forms {fmt(aucs(oof[cfg], ex, 4))}", flush=True)
        return oof

    # Highest mean of the two mixed AUCs (written answers, short forms), so that a head that
    # only tells long texts from short ones does not win; among ties (to 4 decimals) the
    # smaller rank and the stronger L2.
    score = lambda z: (aucs(z, ex)[0] + aucs(z, ex, 4)[0]) / 2
    pick = lambda oof: max(oof, key=lambda c: (round(score(oof[c]), 4), -c[0], c[2], c[3], c[1]))
    oof = run([(r, LAM_DIAG, le, lc) for r in RANKS for le, lc in LAM_GRID])
    b1 = pick(oof)
    oof.update(run([(b1[0], ld, b1[2], b1[3]) for ld in LAM_DIAG_ALT]))
    best = pick(oof)
    print(f"chosen r={best[0]} lam_diag={best[1]:g} lam_emb={best[2]:g} lam_cue={best[3]:g}; CV AUC mixed / hard / "
          f"random: answers {fmt(aucs(oof[best], ex))}, short forms {fmt(aucs(oof[best], ex, 4))}")
    nc = run([best], use_cues=False)[best]
    print(f"same without cues: CV AUC mixed / hard / random: answers {fmt(aucs(nc, ex))}, "
          f"short forms {fmt(aucs(nc, ex, 4))}")
    if args.ablate:
        for g in range(len(CUES)):
            C2 = C.copy()
            C2[:, g] = 0
            z = cross_validate(E, C2, ex, folds, [best])[best]
            print(f"  without cue group {g:>2} ({', '.join(CUES[g][:3])}...): CV AUC {fmt(aucs(z, ex))}, "
                  f"short forms {fmt(aucs(z, ex, 4))}", flush=True)

    head = fit(E, C, ex, *best)
    z = predict(head, E, C, ex)
    print(f"train (resubstitution) AUC mixed / hard / random: answers {fmt(aucs(z, ex))}, "
          f"short forms {fmt(aucs(z, ex, 4))}")
    B = pca_basis(E)
    out = {
        "version": VERSION,
        "dimension": E.shape[1],
        "cues": CUES,
        "diag": rounded(head.diag),
        "need_proj": [rounded(r) for r in head.P],
        "offer_proj": [rounded(r) for r in head.Q],
        "need_bias": rounded(head.v),
        "offer_bias": rounded(head.u),
        "bias": rounded([head.b])[0],
        "basis": [rounded(r) for r in B],
    }
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(dump_head(out))
    print(f"wrote {os.path.relpath(OUT, ROOT)} (rank {best[0]}, K={len(CUES)}, basis {BASIS_RANK})")

    if not args.no_heldout:
        # The rounded head, exactly as the Rust side will use it.
        rh = Head(np.array(out["diag"]), np.array(out["need_proj"]), np.array(out["offer_proj"]),
                  np.array(out["need_bias"]), np.array(out["offer_bias"]), out["bias"])
        pairs = [json.loads(line) for line in open(HELDOUT, encoding="utf-8") if line.strip()]
        needs, offers = [p["need"] for p in pairs], [p["offer"] for p in pairs]
        labels = np.array([p["label"] for p in pairs])
        En, Eo = embed_all(needs), embed_all(offers)
        Cn = np.stack([cue_features(t) for t in needs])
        Co = np.stack([cue_features(t) for t in offers])
        z = rh.logits(En, Cn, Eo, Co)
        print(f"held-out need_offer_pairs.jsonl ({len(pairs)} pairs, {int(labels.sum())} positive): "
              f"ROC AUC {roc_auc(z, labels):.3f} (raw cosine {roc_auc(np.einsum('ij,ij->i', En, Eo), labels):.3f})")
    print(f"took {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
