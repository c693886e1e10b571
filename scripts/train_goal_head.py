#!/usr/bin/env python3
"""Trains the goal-category head: a softmax linear classifier over [goal embedding ; cue flags].

The embedding of all-MiniLM-L6-v2 captures a goal's topic but not its direction
("raising a seed round" vs "meet founders raising a seed round"), so the head adds K
lexical cue features that carry direction. Reads the hand-written training goals
`crates/mingle-encoder/benches/data/goals_train.jsonl`, embeds them with mingle's own
encoder, answer adapter included (the `embed` example, cached on disk), picks the L2
strengths by stratified 10-fold cross-validation on the training set, trains on all of
it and writes `crates/mingle-core/src/goal_head.json`. Then prints the CV accuracy, the
accuracy on the held-out set `benches/data/goals.jsonl` (never used for fitting or
selection) and a confusion summary.

The Rust side reproduces the head exactly:
  text   -> lowercase; every char that is not ASCII [a-z0-9] becomes a space; collapse
            runs of spaces; pad with one space on both sides (" seed round for our app ").
  cue k  -> 1.0 if " " + phrase + " " is a substring of that text for any phrase of
            group k, else 0.0.
  x      -> [384-d unit embedding of the goal text ; cue_0 .. cue_{K-1}]
  logits -> W x + b (W is 10 x (384+K)); category = argmax (first on ties).

The training goals were written by hand for this purpose (>= 140 per category, terse to
25 words, first/third person, role-prefixed, many deliberately direction-hard cases); they
share no sentence with goals.jsonl. Head file: {"version", "dimension": 384, "categories",
"cues": K lists of phrases, "weights": 10 rows of 384+K floats, "bias": 10 floats}, floats
rounded to 6 decimals; the held-out score printed here is computed with the rounded head.
Deterministic: same inputs give a byte-identical head file. Takes about a minute once the
embeddings are cached (GOAL_EMBED_CACHE, default /tmp/mingle-goal-embeddings-rust.npz).

Needs numpy, tokenizers, safetensors (pip), the model (scripts/fetch-model) and the
Rust toolchain (the embeddings come from `cargo run --release -p mingle-encoder
--example embed`).

    python3 scripts/train_goal_head.py               # train, write head, evaluate
    python3 scripts/train_goal_head.py --no-heldout  # same, without reading goals.jsonl
    python3 scripts/train_goal_head.py --ablate      # also CV of embedding-only / cues-only
"""
import argparse
import json
import os
import re
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices; the machine is shared
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import reference_embeddings as ref  # noqa: E402

TRAIN = os.path.join(ROOT, "crates/mingle-encoder/benches/data/goals_train.jsonl")
HELDOUT = os.path.join(ROOT, "crates/mingle-encoder/benches/data/goals.jsonl")
OUT = os.path.join(ROOT, "crates/mingle-core/src/goal_head.json")
CACHE = os.environ.get("GOAL_EMBED_CACHE", "/tmp/mingle-goal-embeddings-rust.npz")
# v3: on the embeddings of answers-v2; v2 was on answers-v1's, v1 on the published
# model's.
VERSION = "goal-head-v3"

CATEGORIES = ["fundraising", "investing", "hiring", "job_seeking", "selling", "buying",
              "partnering", "learning", "mentoring", "networking"]

# Cue groups. Each is one binary feature; the phrases are already in normalized form.
# They are chosen for *direction*, which the embedding blurs: who raises vs who invests,
# who hires vs who wants hiring, who sells vs who buys. The classifier learns how much
# each cue counts for each category, so a cue may (and does) fire for several categories.
CUES = [
    # -- money, seeker side: "we raise"
    ["raise", "raises", "raising", "raised", "fundraise", "fundraises", "fundraising", "fundraiser",
     "get funded", "runway", "bridge round", "term sheet", "term sheets", "cap table", "convertible note",
     "convertible notes", "safe", "safes", "non dilutive", "grant", "grants", "donor", "donors", "donations",
     "venture debt", "debt financing", "outside capital", "first check", "financial backing",
     "oversubscribed", "investor meetings", "investor intros", "pitch deck", "seed money"],
    ["money", "capital", "cash", "funding", "funded", "financing", "round", "rounds", "investment",
     "check", "checks"],
    ["our round", "our seed", "our series", "our pre seed", "our pre", "our next round", "our raise",
     "our funding", "our upcoming", "my round", "for our round", "round for our", "lead for our", "lead our",
     "back our", "fund our", "invest in our", "invest in my", "invest in us", "fund my", "back my",
     "fund us", "back us", "our a", "our b", "our bridge", "our extension"],
    ["investors", "angels", "vcs", "backers", "lps", "family offices", "venture firms", "vc firms", "funds",
     "micro vcs", "angel investors", "angel syndicates", "syndicates", "investment for", "investor for",
     "venture arms", "potential investors", "a lead", "lead investor", "lead investors",
     "strategic investors", "seed investors", "impact investors", "cvcs", "funders"],
    # -- money, giver side: "we invest"
    ["invest in", "investing in", "invests", "invest", "invested", "deploy", "deploys", "deploying",
     "deploy capital", "allocate", "allocating", "allocate capital", "write checks", "write a check",
     "writing checks", "write small checks", "checks into", "capital into", "money into", "back founders",
     "back startups", "backing founders", "backing", "to back", "to fund", "fund startups", "fund founders",
     "angel investing", "co investors", "co invest", "co investment", "investments",
     "investment opportunities", "put money", "put capital", "capital to work", "we invest", "i invest",
     "provide funding", "provide capital", "provide financing", "offer funding", "financing to", "lend",
     "lending"],
    ["deal flow", "deals", "portfolio", "portfolio company", "portfolio companies", "pitches", "thesis",
     "investable", "acquisition targets", "acquire", "acquisitions", "stakes", "stake in", "equity in",
     "syndicate", "our fund", "my fund", "the fund", "investment committee", "lead rounds", "lead a",
     "could lead", "minority investments", "diligence", "due diligence"],
    ["founders raising", "startups raising", "companies raising", "teams raising", "are raising",
     "who are raising", "raising their", "that are raising", "currently raising", "are fundraising",
     "who are fundraising", "before they raise", "who raise", "that raise"],
    ["i m an investor", "i m an angel", "i m a vc", "a vc", "as a vc", "as an investor", "as an angel",
     "angel investor", "investor", "investor here", "angel here", "vc here", "partner at", "venture scout",
     "family office", "principal at", "associate at", "lp", "angel", "gp", "corporate venture",
     "private equity", "search fund", "operator angel", "check writer", "our firm", "we re a fund"],
    ["founders", "startups", "teams", "companies", "founder", "startup", "company", "businesses",
     "ventures"],
    # -- talent, employer side: "we hire"
    ["hire", "hires", "hiring", "recruit", "recruits", "recruiting", "recruiter", "recruitment",
     "headcount", "staffing", "staff", "staff up", "talent", "poach", "first hire", "new hires", "onboard",
     "onboarding", "to fill", "fill the", "backfill"],
    ["candidates", "candidate", "job seekers", "applicants", "open roles", "open positions", "open role",
     "open position", "join our", "join us", "join my", "our team", "my team", "the team", "to our team",
     "add to our", "our group", "our department", "founding team", "co founder", "cofounder", "build out",
     "someone to lead", "our open", "its first", "our first", "to join", "talk to me", "our lab has",
     "expanding our", "growing our", "grow our team", "expand our team", "build the team",
     "building the team", "building our team", "scale our team", "scaling our team", "short on",
     "short staffed", "bench"],
    ["engineer", "engineers", "developer", "developers", "designer", "designers", "head of", "vp of", "vp",
     "director", "directors", "manager", "managers", "cto", "cfo", "coo", "cmo", "ceo", "nurse", "nurses",
     "analyst", "analysts", "marketer", "marketers", "salesperson", "rep", "reps", "intern", "interns",
     "assistant", "scientist", "scientists", "researcher", "researchers", "lead", "specialist",
     "specialists", "teacher", "teachers", "technician", "technicians", "welders", "writer", "writers",
     "architect", "account executive", "ae", "aes", "sdr", "sdrs", "sre", "sres", "pm", "pms",
     "supervisor", "supervisors", "operators", "cooks", "drivers", "illustrators", "chief of staff",
     "general counsel"],
    # -- talent, candidate side: "I want a job"
    ["job", "jobs", "employment", "internship", "internships", "apprenticeship", "gig", "gigs", "postdoc",
     "job offer", "job search", "job hunting", "job hunt", "hunting for", "open to work", "laid off",
     "unemployed", "workforce", "employer", "employers", "interviews", "contract work", "freelance projects",
     "openings"],
    ["my next role", "next role", "new role", "a role", "new position", "a position", "next position",
     "my next", "what s next", "new challenge", "new opportunities", "opportunities", "opportunity",
     "hire me", "hired", "to join a", "company to join", "join a", "join an", "work at", "work for",
     "find work", "looking for work", "open to", "my dream", "new team", "seeking a", "roles at",
     "roles that", "roles in", "a team that", "like me", "will hire", "recruiters", "hiring managers",
     "companies hiring", "that are hiring", "move into", "move from", "get into", "break into"],
    ["career", "careers", "switch", "transition", "transitioning", "pivot", "role", "roles", "position",
     "positions", "as a", "as an", "i can"],
    # -- trade, seller side: "we sell"
    ["sell", "sells", "selling", "sold", "sales", "revenue", "quota", "upsell", "cross sell", "market our",
     "promote our", "pitch our", "demo our", "showcase", "win new business", "close deals", "close a deal",
     "first deal", "contract", "contracts", "go to market", "gtm", "customer acquisition", "license our",
     "stock our", "generate demand", "demand", "pay for", "willing to pay", "monetize"],
    ["win", "land", "close", "closing", "sign", "signing", "secure", "securing", "book", "get"],
    ["customers", "customer", "clients", "client", "leads", "lead generation", "prospects", "prospecting",
     "buyers", "buyer", "users", "user base", "accounts", "pipeline", "paying", "adopt", "adopters",
     "early adopters", "decision makers", "logos", "retailers", "merchants", "engagements", "book demos",
     "pilot", "to pilot", "pilots", "retainers", "subscribers", "design partners"],
    ["our product", "our software", "our platform", "our services", "our service", "our tool", "our app",
     "our solution", "our device", "our devices", "our technology", "our products", "we offer", "we make",
     "we sell", "our agency", "my freelance", "our api", "our model", "our consultancy", "our beta",
     "our feature", "our new", "our saas", "our data", "our system", "our sdk", "our studio",
     "our practice"],
    ["who need", "that need", "who needs", "that needs", "who might", "that might", "who could",
     "that could", "who will", "who want", "that want", "in front of", "heads of", "could use",
     "would buy", "might buy", "buy our", "use our", "try our", "adopt our", "willing to",
     "interested in our", "need our", "want our"],
    # -- trade, buyer side: "we buy"
    ["buy", "buys", "buying", "bought", "purchase", "purchases", "purchasing", "procure", "procuring",
     "procurement", "shopping", "shop for", "shop around", "shopping around", "quotes", "quote", "rfp",
     "rfps", "license a", "sourcing", "source", "renewing", "renewal", "demos of", "get demos",
     "subscribe to", "sign up for"],
    ["evaluate", "evaluating", "assess", "assessing", "compare", "comparing", "shortlist", "choose",
     "pick a", "select", "selection", "replace", "replacing", "recommendations", "which",
     "before we decide", "decide", "cheaper", "the best", "affordable", "reliable", "a good",
     "better prices", "alternatives", "options", "looking at", "trial", "vet", "vetting"],
    ["vendor", "vendors", "supplier", "suppliers", "provider", "providers", "manufacturer", "outsource",
     "outsourced", "outsourcing", "dev shop", "msp", "broker", "agency", "agencies", "firm", "caterer",
     "consultant", "consultancy", "contractor", "service", "managed service", "lawyer", "law firm",
     "accountant", "accounting firm", "auditor"],
    ["tool", "tools", "software", "solution", "solutions", "platform", "platforms", "system", "systems",
     "crm", "erp", "saas", "equipment", "a tool", "tool to", "alternative to", "an alternative", "app",
     "lms", "ats", "hris", "laptops", "hardware"],
    ["for our team", "for my team", "for our staff", "for our employees", "for employees", "for employee",
     "for our company", "for the company", "for our office", "we need a", "need a", "need to buy",
     "to manage", "to handle", "to help us", "help with our", "for us", "to build our", "for our",
     "to run our", "to do our", "we need one"],
    # -- peers, together: "we partner"
    ["partner", "partners", "partnered", "partnership", "partnerships", "partnering", "alliance",
     "alliances", "ally", "allies", "joint", "jointly", "joint venture", "collaborate", "collaborating",
     "collaboration", "collaborator", "collaborators", "consortium", "team up", "together",
     "work together", "cooperate", "cooperation", "combined", "combine", "with"],
    ["co organizer", "co host", "co hosting", "co produce", "co design", "co develop", "co development",
     "co branded", "co branding", "co funding", "co sell", "co selling", "co marketing", "co market",
     "co create", "co build", "co run", "cross promotion", "cross promote", "revenue share", "white label",
     "white labeling", "oem", "bundle", "bundled", "syndication", "licensing"],
    ["integrate", "integrating", "integration", "integrations", "reseller", "resellers", "channel",
     "referral", "affiliate", "ecosystem", "distribution", "distribute", "distributor", "distributors",
     "carry our", "implementation partners"],
    # -- knowledge: "I learn"
    ["learn", "learns", "learned", "learning", "understand", "understanding", "educate", "educate myself",
     "education", "study", "upskill", "up to speed", "get smarter", "find out", "figure out", "master",
     "deepen", "curious", "knowledge", "insights", "skills", "trends", "best practices", "keep up",
     "stay current", "frameworks", "trained", "inspired", "perspective", "benchmark", "tips", "ideas",
     "get better", "improve", "lessons", "familiar", "familiarize", "grasp", "brush up", "read up",
     "discover", "what works"],
    ["talks", "talk on", "keynotes", "keynote", "workshops", "workshop", "panels", "sessions", "seminar",
     "seminars", "masterclass", "case studies", "hear", "listen", "lectures", "courses", "course",
     "research", "state of", "heading", "the future"],
    ["how to", "how other", "how others", "how startups", "how vcs", "how leaders", "how companies",
     "what s new", "what s working", "what other", "latest", "the basics", "about the", "learn about",
     "more about", "how teams", "are doing", "are using", "think about", "approaching"],
    # -- guidance, either way: mentoring
    ["mentor", "mentors", "mentoring", "mentorship", "mentee", "mentees", "mentored", "protege",
     "proteges"],
    ["coach", "coaches", "coaching", "coached", "advise", "advises", "advising", "advisor", "advisors",
     "advice", "guidance", "guide", "guide me", "guiding", "sounding board", "office hours", "give back",
     "pay it forward", "role model", "sponsor", "help young", "help new", "help junior",
     "share my experience", "share what i", "lessons learned", "been there", "review my work",
     "career path", "career advice", "career guidance", "one on one", "one on ones", "1 1", "1 1s",
     "1 on 1", "advise me", "my time", "grow as", "share my knowledge", "share my", "help founders",
     "help others", "under my wing", "teach", "teaching"],
    # -- people, for their own sake: networking
    ["network", "networking", "connections", "contacts", "circle", "relationships", "community",
     "socialize", "friends", "like minded", "catch up", "reconnect", "hang out", "coffee", "drinks",
     "lunch", "say hi", "say hello", "meet and greet", "get to know", "faces", "compare notes",
     "swap notes", "trade notes", "swap stories", "war stories", "crowd", "alumni", "scene",
     "former colleagues", "chat with", "peer group", "mingle"],
    ["meet people", "meet folks", "meet new people", "meet as many", "meet other", "meet others",
     "meet fellow", "other", "others", "fellow", "peers", "peer", "people", "attendees"],
    ["meet", "connect", "connect with", "talk to", "intros", "introductions", "meeting"],
    # -- who is speaking
    ["we", "we re", "we are", "our", "us"],
    ["i", "i m", "i d", "my", "me", "myself"],
]


def normalize(text):
    """Lowercase, non-[a-z0-9] -> space, collapse spaces, pad: the text the cues match in."""
    return " " + " ".join(re.sub(r"[^a-z0-9]", " ", text.lower()).split()) + " "


def cue_features(text, cues=CUES):
    t = normalize(text)
    return np.array([1.0 if any(" " + p + " " in t for p in group) else 0.0 for group in cues])


def load(path):
    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    return [r["goal"] for r in rows], np.array([CATEGORIES.index(r["category"]) for r in rows])


def embed_all(texts):
    """Unit embeddings from mingle's encoder, cached on disk (CACHE)."""
    return ref.embed_cached(texts, CACHE, "rust")


def train(X, y, lam, tol=1e-6, max_iter=2000):
    """Multinomial logistic regression: mean cross-entropy + 0.5 * sum_j lam_j * |W[:, j]|^2.

    `lam` is one L2 strength per feature column (the bias is not penalized). Minimized
    with L-BFGS from zero and a backtracking line search: the objective is strictly convex
    in W, so there is no random seed and the result is the unique optimum."""
    n, d = X.shape
    C = len(CATEGORIES)
    Y = np.eye(C)[y]
    Xb = np.hstack([X, np.ones((n, 1))])
    lam_b = np.append(lam, 0.0)[:, None]

    def f_grad(w):
        W = w.reshape(d + 1, C)
        Z = Xb @ W
        Z -= Z.max(1, keepdims=True)
        logp = Z - np.log(np.exp(Z).sum(1, keepdims=True))
        f = -(Y * logp).sum() / n + 0.5 * (lam_b * W * W).sum()
        G = Xb.T @ (np.exp(logp) - Y) / n + lam_b * W
        return f, G.ravel()

    w = np.zeros((d + 1) * C)
    f, g = f_grad(w)
    S, Yh = [], []
    for _ in range(max_iter):
        if np.abs(g).max() < tol:
            break
        # Two-loop recursion for the L-BFGS direction.
        q = g.copy()
        alphas = []
        for s, yv in reversed(list(zip(S, Yh))):
            a = (s @ q) / (yv @ s)
            alphas.append(a)
            q -= a * yv
        if S:
            q *= (S[-1] @ Yh[-1]) / (Yh[-1] @ Yh[-1])
        for (s, yv), a in zip(zip(S, Yh), reversed(alphas)):
            q += (a - (yv @ q) / (yv @ s)) * s
        direction = -q
        step = 1.0
        while True:
            w_new = w + step * direction
            f_new, g_new = f_grad(w_new)
            if f_new <= f + 1e-4 * step * (g @ direction) or step < 1e-10:
                break
            step *= 0.5
        s, yv = w_new - w, g_new - g
        if s @ yv > 1e-12:
            S.append(s)
            Yh.append(yv)
            if len(S) > 10:
                S.pop(0)
                Yh.pop(0)
        w, f, g = w_new, f_new, g_new
    W = w.reshape(d + 1, C)
    return W[:-1].T, W[-1]  # weights C x d, bias C


def predict(W, b, X):
    return np.argmax(X @ W.T + b, axis=1)


def folds(y, k=10):
    """Stratified fold ids, deterministic: within each class, every k-th example."""
    f = np.zeros(len(y), dtype=int)
    for c in range(len(CATEGORIES)):
        idx = np.flatnonzero(y == c)
        f[idx] = (np.arange(len(idx)) + c) % k
    return f


def cv_accuracy(X, y, lam, k=10):
    f = folds(y, k)
    pred = np.zeros_like(y)
    for i in range(k):
        tr, te = f != i, f == i
        W, b = train(X[tr], y[tr], lam)
        pred[te] = predict(W, b, X[te])
    return (pred == y).mean(), pred


def lam_vector(d_emb, k, lam_emb, lam_cue):
    return np.concatenate([np.full(d_emb, lam_emb), np.full(k, lam_cue)])


def report(title, y, pred, goals=None, max_errors=0):
    print(f"{title}: accuracy {np.mean(pred == y):.3f} ({int(np.sum(pred == y))}/{len(y)})")
    for c, name in enumerate(CATEGORIES):
        m = y == c
        if m.any():
            wrong = {}
            for p in pred[m & (pred != y)]:
                wrong[CATEGORIES[p]] = wrong.get(CATEGORIES[p], 0) + 1
            miss = ", ".join(f"{v} as {n}" for n, v in sorted(wrong.items(), key=lambda kv: -kv[1]))
            print(f"    {name:<12} {int(np.sum(pred[m] == c)):>3}/{int(m.sum()):<3} {miss}")
    if goals is not None and max_errors:
        errors = [(goals[i], CATEGORIES[y[i]], CATEGORIES[pred[i]]) for i in np.flatnonzero(pred != y)]
        for g, truth, p in errors[:max_errors]:
            print(f"    [{truth} -> {p}] {g}")


def dump_head(head):
    """The head file: one line per cue group and per matrix row, so diffs stay readable."""
    order = ["version", "dimension", "categories", "cues", "weights", "bias"]
    return ref.dump_head_json({k: head[k] for k in order}, {"cues", "weights"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-heldout", action="store_true", help="do not read goals.jsonl")
    ap.add_argument("--ablate", action="store_true", help="also cross-validate embedding-only and cues-only")
    ap.add_argument("--errors", type=int, default=40, help="how many misclassified goals to list")
    args = ap.parse_args()

    for group in CUES:
        for p in group:
            assert normalize(p) == " " + p + " ", f"cue phrase not in normalized form: {p!r}"

    goals, y = load(TRAIN)
    E = embed_all(goals)
    Q = np.stack([cue_features(g) for g in goals])
    X = np.hstack([E, Q])
    d, k = E.shape[1], Q.shape[1]
    print(f"training goals: {len(goals)}, embedding dimension {d}, cue groups K={k}")

    # Why two strengths: the embedding block is 384 small numbers of norm 1, the cues are
    # a few 0/1 flags, so they want very different penalties.
    grid = [(le, lc) for le in (3e-5, 1e-4, 3e-4, 1e-3, 3e-3) for lc in (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)]
    results = []
    for le, lc in grid:
        acc, _ = cv_accuracy(X, y, lam_vector(d, k, le, lc))
        results.append((acc, le, lc))
        print(f"  10-fold CV  lam_emb={le:<7g} lam_cue={lc:<7g} accuracy {acc:.3f}")
    # Highest accuracy; among ties the strongest regularization (the simpler model).
    best_acc, lam_emb, lam_cue = max(results, key=lambda r: (round(r[0], 6), r[1], r[2]))
    print(f"chosen lam_emb={lam_emb:g} lam_cue={lam_cue:g}, CV accuracy on train {best_acc:.3f}")
    _, cv_pred = cv_accuracy(X, y, lam_vector(d, k, lam_emb, lam_cue))
    report("cross-validated predictions on train", y, cv_pred, goals, args.errors)

    if args.ablate:
        acc_e, _ = cv_accuracy(E, y, np.full(d, lam_emb))
        acc_q, _ = cv_accuracy(Q, y, np.full(k, lam_cue))
        print(f"ablation CV: embedding only {acc_e:.3f}, cues only {acc_q:.3f}")

    W, b = train(X, y, lam_vector(d, k, lam_emb, lam_cue))
    print(f"train (resubstitution) accuracy {np.mean(predict(W, b, X) == y):.3f}")
    head = {
        "version": VERSION,
        "dimension": d,
        "categories": CATEGORIES,
        "cues": CUES,
        "weights": [[round(float(v), 6) for v in row] for row in W],
        "bias": [round(float(v), 6) for v in b],
    }
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(dump_head(head))
    print(f"wrote {os.path.relpath(OUT, ROOT)}")

    if not args.no_heldout:
        # The rounded head, exactly as the Rust side will use it.
        Wr, br = np.array(head["weights"]), np.array(head["bias"])
        hg, hy = load(HELDOUT)
        HX = np.hstack([embed_all(hg), np.stack([cue_features(g) for g in hg])])
        report("held-out goals.jsonl", hy, predict(Wr, br, HX), hg, args.errors)


if __name__ == "__main__":
    main()
