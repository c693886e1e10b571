#!/usr/bin/env python3
"""Checks the matching benchmark's labels with a blind judge: are the engine's misses
its own errors, or does the bank leave out good matches it should count?

    MINGLE_BENCH_SPLIT=tune MINGLE_BENCH_DUMP=/tmp/pairs.jsonl \\
        cargo bench -p mingle --bench matching_quality        # every pair's features
    python3 scripts/adjudicate_bank.py cases /tmp/pairs.jsonl /tmp/adj  # cases.jsonl, key.jsonl
    # a judge who sees only cases.jsonl writes judgments.jsonl there (see JUDGE below)
    python3 scripts/adjudicate_bank.py score [/tmp/adj]   # the summary (default: the committed set)

Each case is a principal with four candidates in shuffled order: the planted
counterpart and the three attendees the engine ranks highest besides it. All the
principals whose counterpart misses the engine's top 10 are cases, and 22 that hit it,
so the judge cannot tell which kind a case is. A principal misses when ten attendees
score at least its counterpart's `final_score` (ties against the counterpart), which on
the tuning bank gives the same 58 as the benchmark's lists. The committed set (tuning
bank only, sixth session) is in crates/mingle/benches/data/adjudication/.
"""
import json
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

DIR = Path(__file__).resolve().parent.parent / "crates/mingle/benches/data/adjudication"

JUDGE = """For every candidate, judge the introduction principal <-> candidate as "mutual"
(something the candidate offers serves one of the principal's concrete needs AND
something the principal offers serves one of the candidate's), "one_way" or "none";
then name the best candidate, or "none" if none is mutual. Write one line per case:
{"case": n, "C1": ..., "C2": ..., "C3": ..., "C4": ..., "best": ...}."""


def score_of(row):
    # The engine's final_score: the dump's is already match-v3's (with the topic factor).
    return row["f"]


def cases(dump, out_dir):
    out_dir = Path(out_dir)
    if (out_dir / "judgments.jsonl").exists():
        sys.exit(f"{out_dir} holds judgments of earlier cases; write new cases elsewhere")
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [json.loads(line) for line in open(dump)]
    people = json.load(open(dump + ".people"))
    by = defaultdict(list)
    for r in rows:
        by[r["p"]].append(r)
    rng = random.Random(7)
    misses, hits = [], []
    for p, rs in by.items():  # the dump's order: planted pairs in bank order
        ranked = sorted(rs, key=score_of, reverse=True)
        c = next(r for r in rs if r["kind"] == "counterpart")
        rank = 1 + sum(1 for r in rs if r["kind"] != "counterpart" and score_of(r) >= score_of(c))
        (misses if rank > 10 else hits).append((p, c, ranked, rank))
    rng.shuffle(hits)
    chosen = [(m, True) for m in misses] + [(h, False) for h in hits[:22]]
    rng.shuffle(chosen)
    with open(out_dir / "cases.jsonl", "w") as out, open(out_dir / "key.jsonl", "w") as key:
        for i, ((p, c, ranked, rank), miss) in enumerate(chosen):
            candidates = [c] + [r for r in ranked if r["kind"] != "counterpart"][:3]
            rng.shuffle(candidates)
            show = lambda x: {k: people[x][k] for k in ("goal", "needs", "offers")}
            case = {"case": i, "principal": show(p), "candidates": []}
            for j, r in enumerate(candidates):
                case["candidates"].append({"label": f"C{j + 1}", **show(r["x"])})
                key.write(json.dumps({"case": i, "label": f"C{j + 1}", "kind": r["kind"], "miss": miss, "counterpart_rank": rank}) + "\n")
            out.write(json.dumps(case) + "\n")
    print(f"{len(chosen)} cases ({len(misses)} misses)")


def score(in_dir=DIR):
    in_dir = Path(in_dir)
    key = [json.loads(line) for line in open(in_dir / "key.jsonl")]
    judged = {j["case"]: j for j in map(json.loads, open(in_dir / "judgments.jsonl"))}
    by = defaultdict(list)
    for k in key:
        by[k["case"]].append(k)
    tally, others, best = Counter(), Counter(), Counter()
    for case, ks in by.items():
        j, miss = judged[case], ks[0]["miss"]
        c = next(k for k in ks if k["kind"] == "counterpart")
        tally[("miss" if miss else "hit", j[c["label"]])] += 1
        picked = next((k["kind"] for k in ks if k["label"] == j["best"]), "none")
        best[("miss" if miss else "hit", picked)] += 1
        for k in ks:
            if k is not c:
                others[(k["kind"], j[k["label"]])] += 1
    for what, name in (("miss", "misses"), ("hit", "hits")):
        n = sum(v for (w, _), v in tally.items() if w == what)
        print(f"{name} ({n}): counterpart judged " + ", ".join(f"{v} {j}" for (w, j), v in sorted(tally.items()) if w == what))
    for what, name in (("miss", "misses"), ("hit", "hits")):
        print(f"{name}: the judge's best candidate was " + ", ".join(f"{v} {k}" for (w, k), v in sorted(best.items()) if w == what))
    print("the other candidates, by kind and judgment:")
    for (kind, j), v in sorted(others.items()):
        print(f"  {kind:<14} {j:<8} {v}")


if __name__ == "__main__":
    {"cases": lambda: cases(sys.argv[2], sys.argv[3]), "score": lambda: score(*sys.argv[2:3])}[sys.argv[1]]()
