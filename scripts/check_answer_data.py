#!/usr/bin/env python3
"""Checks answer-head training files (crates/mingle-encoder/benches/data/answers_train_*.jsonl).

One record per line: {"domain", "need", "answers": [...], "hard": [{"kind", "text"}, ...]}.
The rules the writers follow, so that the head learns whether an offer answers a need and
not a shortcut:
- every answer shares no word stem with its need (the head must not learn "shared words
  -> answers"; the hard negatives do share the need's words);
- 2 or 3 answers, at least one terse (2-7 words), and 4 hard negatives of at least
  three of the kinds below, at least one of them long (12-30 words), so that length does
  not give the label away;
- no need written twice (across all the files given), no text longer than 40 words.

    python3 scripts/check_answer_data.py FILE... [--domains "a,b,c"]

Prints every problem and exits 1 if there is one. The writers' files passed it; the
committed answers_train_{civic,...,trades}.jsonl then lost 13 texts close to evaluation
texts (docs/benchmarks.md), so 13 of their records show a missing answer or negative;
answers_train_{care,community,food,infrastructure,makers,outdoors}.jsonl (fifth session)
lost 2 the same way (word-Jaccard 0.6 or more against any benchmark or held-out text).
"""
import argparse
import json
import re
import sys

KINDS = {"course", "press", "vendor", "competitor", "community", "wrong_thing", "wrong_side"}
STOP = set(
    """a an the and or but if of to in on at by for with from into onto about as is are was were be been
    being am i im me my we our us you your it its this that these those there their they them he she his
    her who whom which what when where why how any some all both each few more most other such no nor not
    only own same so than too very can will just do does did doing have has had having would could should
    may might must shall up down out over under again further then once here per via also anyone someone
    something anything looking need needs want wants wanted seeking seek find finding get getting help
    one two three new good great ideally ready happy able available work working s t ll re ve d m""".split()
)
SUFFIXES = ("ations", "ation", "ments", "ment", "ings", "ing", "ness", "ers", "ies", "ied", "ed", "er", "es", "ly", "s", "y", "e")


def words(text):
    return re.findall(r"[a-z0-9]+", text.lower())


def stem(word):
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def stems(text):
    return {stem(w) for w in words(text) if w not in STOP and len(w) > 1}


def shared(a, b):
    """Stems two texts share: equal after suffix stripping, or one the prefix of the other
    when the shorter has five letters or more ("manufactur" / "manufacturer")."""
    sa, sb = stems(a), stems(b)
    out = sa & sb
    for x in sa:
        for y in sb:
            short, long_ = sorted((x, y), key=len)
            if len(short) >= 5 and long_.startswith(short):
                out.add(short)
    return sorted(out)


def check(path, domains, needs):
    """Problems of one file and its record count; `needs` (normalized need texts) is
    shared by every file checked."""
    problems, records = [], 0
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"{where}: not JSON ({e})")
            continue
        records += 1
        if not isinstance(r, dict) or set(r) != {"domain", "need", "answers", "hard"}:
            problems.append(f"{where}: must be an object with the keys domain, need, answers, hard")
            continue
        if not (
            isinstance(r["domain"], str)
            and isinstance(r["need"], str)
            and isinstance(r["answers"], list)
            and all(isinstance(a, str) for a in r["answers"])
            and isinstance(r["hard"], list)
        ):
            problems.append(f"{where}: domain and need are strings, answers a list of strings, hard a list")
            continue
        if domains and r["domain"] not in domains:
            problems.append(f"{where}: domain {r['domain']!r} is not one of yours")
        key = " ".join(words(r["need"]))
        if key in needs:
            problems.append(f"{where}: need written twice")
        needs.add(key)
        answers, hard = r["answers"], r["hard"]
        if not 2 <= len(answers) <= 3:
            problems.append(f"{where}: {len(answers)} answers (2 or 3)")
        if not any(2 <= len(words(a)) <= 7 for a in answers):
            problems.append(f"{where}: no terse answer (2-7 words)")
        for a in answers:
            common = shared(r["need"], a)
            if common:
                problems.append(f"{where}: answer {a!r} shares {common} with the need")
        if len(hard) != 4:
            problems.append(f"{where}: {len(hard)} hard negatives (4)")
        if not all(isinstance(h, dict) and h.get("kind") in KINDS and isinstance(h.get("text"), str) for h in hard):
            problems.append(f"{where}: every hard negative is {{kind, text}} with kind in {sorted(KINDS)}")
            hard = [h for h in hard if isinstance(h, dict) and isinstance(h.get("text"), str)]
        if len({h.get("kind") for h in hard}) < 3:
            problems.append(f"{where}: hard negatives of fewer than three kinds")
        if not any(12 <= len(words(h["text"])) <= 30 for h in hard):
            problems.append(f"{where}: no long hard negative (12-30 words)")
        for t in [r["need"], *answers, *(h["text"] for h in hard)]:
            if len(words(t)) > 40:
                problems.append(f"{where}: text over 40 words: {t[:50]!r}...")
    return problems, records


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--domains", default="", help="comma-separated domains the file may use")
    args = ap.parse_args()
    domains = {d.strip() for d in args.domains.split(",") if d.strip()}
    bad, needs = 0, set()
    for path in args.files:
        problems, count = check(path, domains, needs)
        for p in problems:
            print(p)
        print(f"{path}: {count} records, {len(problems)} problems")
        bad += len(problems)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
