#!/usr/bin/env python3
r"""Measures a cross-encoder answer scorer: all-MiniLM-L6-v2 reading a need and an offer
together ("[CLS] need [SEP] offer [SEP]", mean-pooled, one linear logit), fine-tuned
whole, as a reranker over the engine's best candidates. Measured and not shipped: see
docs/benchmarks.md ("Matching quality", seventh session).

The answer adapter embeds each text alone, so a need and an offer only meet in one dot
product; issue 8 names "a reranker over the best few dozen candidates" as the next lever.
This script measures it before any of it is built into mingle:

  * trains on the answer records (`mingle-encoder/benches/data/answers_train_*.jsonl`)
    outside the encoder trainer's 20 validation domains, a listwise loss per need over
    one answer, --hard negatives of its own record (course, press, vendor, competitor...)
    and answers to other needs (--random of other domains, one of the same domain);
    --from-adapter starts from the shipped answer adapter merged into the encoder;
  * prints ROC AUC on the validation domains: answers against hard negatives and against
    answers to other needs (one of another domain, one of the same domain), and mixed;
    --compare prints the shipped answer score's AUCs on the same pairs, alone and in
    item-level ensembles with the reranker (logit = bi + a · cross);
  * with --rerank DUMP: reranks each principal's engine top --top, from a
    `MINGLE_BENCH_DUMP` file of the quality benchmark's tuning bank
    (`MINGLE_BENCH_SPLIT=tune`), and prints recall@1/10, MRR@10 and the trap and
    one-sided rates (counted for both principals of a template) for each of --weights:
    blends f^(1-w)·R^w of the engine's final score with the reranker's, or with
    --ensemble a proxy for the engine with the shipped answer logit plus w times the
    reranker's as its item score;
  * with --heldout: ROC AUC on `need_offer_pairs.jsonl` (held out: counts as a look).

Needs torch and transformers (pip). CPU only; one epoch trains in 18-30 min on 2 cores.
The seventh session's dump and three models (trained before groups of unequal length
were padded instead of cut to the shortest, which changed 2 of model 1's 317 batches):

    MINGLE_BENCH_SPLIT=tune MINGLE_BENCH_DUMP=/tmp/tune.dump \
        cargo bench -p mingle --bench matching_quality
    python3 scripts/train_answer_reranker.py --save /tmp/cross1.pt --rerank /tmp/tune.dump
    python3 scripts/train_answer_reranker.py --hard 2 --random 4 --save /tmp/cross2.pt \
        --rerank /tmp/tune.dump
    python3 scripts/train_answer_reranker.py --from-adapter --save /tmp/cross3.pt \
        --rerank /tmp/tune.dump --top 20 --weights 0,0.05,0.1,0.25,0.5,1
    python3 scripts/train_answer_reranker.py --load /tmp/cross1.pt --compare \
        --rerank /tmp/tune.dump --top 20 --weights 0,0.05,0.1,0.15
    python3 scripts/train_answer_reranker.py --load /tmp/cross1.pt \
        --rerank /tmp/tune.dump --ensemble --weights 0,0.25,0.5,1
"""
import argparse
import json
import math
import os
import random
import sys
import time
from collections import defaultdict

import numpy as np
import torch
from transformers import AutoTokenizer, BertModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_answer_encoder import (  # noqa: E402
    ENC_DATA, MODEL_DIR, ROOT, VALIDATION_DOMAINS, LoRA, add_lora, auc, embed, fit_logistic, load_adapter, records,
)

MAX_TOKENS = 96
ADAPTER = os.path.join(ROOT, "crates/mingle-encoder/src/answer_adapter.safetensors")


class CrossScorer(torch.nn.Module):
    """The encoder over the pair, mean-pooled, then one logit."""

    def __init__(self, from_adapter=False):
        super().__init__()
        if from_adapter:
            self.bert = merged_adapted_encoder()
        else:
            self.bert = BertModel.from_pretrained(MODEL_DIR, add_pooling_layer=False)
        self.out = torch.nn.Linear(self.bert.config.hidden_size, 1)

    def forward(self, enc):
        h = self.bert(**enc).last_hidden_state
        m = enc["attention_mask"].unsqueeze(-1).float()
        return self.out((h * m).sum(1) / m.sum(1)).squeeze(-1)


def adapted_encoder():
    """The encoder with the shipped answer adapter (answers-v2) in LoRA layers."""
    bert = BertModel.from_pretrained(MODEL_DIR, add_pooling_layer=False)
    add_lora(bert, 16, 32)
    load_adapter(bert, ADAPTER)
    return bert


def merged_adapted_encoder():
    """The adapted encoder with the adapter merged into its weights, all trainable: the
    start of --from-adapter instead of the published model."""
    bert = adapted_encoder()
    for module in list(bert.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, LoRA):
                child.base.weight.data += child.scale * (child.b.data @ child.a.data)
                setattr(module, name, child.base)
    for p in bert.parameters():
        p.requires_grad_(True)
    return bert


def by_domain(recs):
    out = defaultdict(list)
    for r in recs:
        out[r["domain"]].append(r)
    return out


def three_aucs(s, labels):
    """ROC AUC of answers (label 1) against hard negatives (0) and answers to other needs
    (2) together, against each alone."""
    pos, hard, rand = s[labels == 1], s[labels == 0], s[labels == 2]
    return auc(pos, np.concatenate([hard, rand])), auc(pos, hard), auc(pos, rand)


def logits(model, tok, pairs, batch=256):
    """The model's logit for each (need, offer) pair, without gradients."""
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(pairs), batch):
            chunk = pairs[i : i + batch]
            enc = tok([n for n, _ in chunk], [o for _, o in chunk], padding=True, truncation=True,
                      max_length=MAX_TOKENS, return_tensors="pt")
            out.append(model(enc))
    return torch.cat(out).numpy() if out else np.zeros(0)


def negatives(r, domains, train, rng, other_domains=1, same_domain=1):
    """Answers to other needs: of other domains' records, and of the same domain's
    (`domains`: by_domain(train))."""
    out = []
    while len(out) < other_domains:
        other = train[rng.randrange(len(train))]
        if other["domain"] != r["domain"] and other["answers"]:
            out.append(rng.choice(other["answers"]))
    same = [o for o in domains[r["domain"]] if o is not r and o["answers"]]
    for _ in range(same_domain if same else 0):
        out.append(rng.choice(rng.choice(same)["answers"]))
    return out


def validation_pairs(val, seed=7):
    """Each validation need with its answers (label 1), its hard negatives (0), and an
    answer to another domain's need and one to its own domain's (2)."""
    rng = random.Random(seed)
    domains = by_domain(val)
    pairs, labels = [], []  # label: 1 answer, 0 hard, 2 random
    for r in val:
        pairs += [(r["need"], a) for a in r["answers"]]
        labels += [1] * len(r["answers"])
        pairs += [(r["need"], h["text"]) for h in r["hard"]]
        labels += [0] * len(r["hard"])
        rand = negatives(r, domains, val, rng)
        pairs += [(r["need"], t) for t in rand]
        labels += [2] * len(rand)
    return pairs, np.array(labels)


def validation(model, tok, val):
    """AUC of answers against hard negatives, against answers to other needs, and mixed;
    and the Platt scaling (a, b) that turns the logits into probabilities."""
    pairs, labels = validation_pairs(val)
    s = logits(model, tok, pairs)
    y = (labels == 1).astype(np.float64)
    platt = fit_logistic(s.astype(np.float64), y, np.full(len(s), 1 / len(s)), start=(1.0, 0.0))
    return (*three_aucs(s, labels), (float(platt[0]), float(platt[1])))


def train(model, tok, recs, args):
    rng = random.Random(args.seed)
    domains = by_domain(recs)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    steps = max(1, args.epochs * math.ceil(len(recs) / args.batch))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 30) * max(0.0, 1 - s / steps))
    step = 0
    for epoch in range(args.epochs):
        model.train()
        order = list(range(len(recs)))
        rng.shuffle(order)
        start, total = time.time(), 0.0
        for i in range(0, len(order), args.batch):
            groups = []
            for j in order[i : i + args.batch]:
                r = recs[j]
                hard = [h["text"] for h in r["hard"]]
                rng.shuffle(hard)
                groups.append([rng.choice(r["answers"])] + hard[: args.hard] + negatives(r, domains, recs, rng, args.random, 1))
            pairs = [(recs[j]["need"], t) for j, g in zip(order[i : i + args.batch], groups) for t in g]
            enc = tok([n for n, _ in pairs], [o for _, o in pairs], padding=True, truncation=True,
                      max_length=MAX_TOKENS, return_tensors="pt")
            flat = model(enc)
            # Groups differ in length (records with fewer hard negatives, domains with one
            # record): pad with -inf rather than cut anyone's negatives.
            s = torch.full((len(groups), max(len(g) for g in groups)), float("-inf"))
            at = 0
            for row, g in enumerate(groups):
                s[row, : len(g)] = flat[at : at + len(g)]
                at += len(g)
            # Listwise: the answer (column 0) against its group.
            loss = torch.nn.functional.cross_entropy(s, torch.zeros(len(groups), dtype=torch.long))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            total += loss.item()
            if step % 25 == 0:
                print(f"epoch {epoch} step {step}/{steps} loss {total / 25:.4f} ({time.time() - start:.0f} s)", flush=True)
                total = 0.0


def rerank(model, tok, dump, top, platt, weights, ensemble):
    """Reranks each principal's engine top-`top` (from a quality-benchmark dump) and prints
    what each setting scores. Each direction of a pair aggregates, as the engine's N does,
    0.5 best need + 0.5 mean need of the probability of the target's best offer; R is the
    harmonic mean of both directions.
      * blend (each w of `weights`): f^(1-w) · R^w, with R from the reranker alone
        (Platt-calibrated);
      * with `ensemble`, instead (each a of `weights`): f · R_ens / R_bi, where the item
        probability is σ(bi + a · cross), bi the shipped answer score's logit. A proxy for
        the engine with the ensemble as its answer score: f is rescaled by how much the
        ensemble changes the answering, though in the engine N is only one part of the
        directed score."""
    people = json.load(open(dump + ".people"))
    rows = defaultdict(list)
    for line in open(dump):
        r = json.loads(line)
        rows[r["p"]].append(r)
    shortlist = {p: sorted(rs, key=lambda r: (-r["f"], r["x"]))[:top] for p, rs in rows.items()}
    pairs = sorted({(n, o) for p, rs in shortlist.items() for r in rs
                    for (u, v) in ((p, r["x"]), (r["x"], p))
                    for n in people[u]["needs"] for o in people[v]["offers"]})
    started = time.time()
    cross = dict(zip(pairs, logits(model, tok, pairs)))
    print(f"reranker: {len(pairs)} need/offer pairs scored in {time.time() - started:.0f} s", flush=True)
    bi = adapter_logits(tok, pairs) if ensemble else None

    def reciprocal(prob, p, x):
        def directed(u, v):
            if not people[u]["needs"] or not people[v]["offers"]:
                return 0.0  # as the engine's N
            best = [max(prob(n, o) for o in people[v]["offers"]) for n in people[u]["needs"]]
            return 0.5 * max(best) + 0.5 * sum(best) / len(best)

        s, t = directed(p, x), directed(x, p)
        return 2 * s * t / (s + t) if s + t > 0 else 0.0

    sigmoid = lambda z: 1 / (1 + math.exp(-z))
    for w in weights:
        if ensemble:
            ens = lambda n, o: sigmoid(bi[(n, o)] + w * cross[(n, o)])
            alone = lambda n, o: sigmoid(bi[(n, o)])
            score = {(p, r["x"]): r["f"] * reciprocal(ens, p, r["x"]) / max(reciprocal(alone, p, r["x"]), 1e-9)
                     for p, rs in shortlist.items() for r in rs}
        else:
            calibrated = lambda n, o: sigmoid(platt[0] * cross[(n, o)] + platt[1])
            score = {(p, r["x"]): (r["f"] ** (1 - w)) * (reciprocal(calibrated, p, r["x"]) ** w)
                     for p, rs in shortlist.items() for r in rs}
        at1 = at10 = mrr = 0
        beaten, present = {"own trap": 0, "own one-sided": 0}, {"own trap": 0, "own one-sided": 0}
        for p, rs in rows.items():
            # Reranked candidates first, then the rest by f.
            key = {r["x"]: (1, score[(p, r["x"])]) if (p, r["x"]) in score else (0, r["f"]) for r in rs}
            kinds = [r["kind"] for r in sorted(rs, key=lambda r: (key[r["x"]], -r["x"]), reverse=True)]
            c = kinds.index("counterpart") + 1
            at1 += c == 1
            at10 += c <= 10
            mrr += 1 / c if c <= 10 else 0
            for kind in beaten:
                if kind in kinds:
                    present[kind] += 1
                    beaten[kind] += kinds.index(kind) < c - 1
        n = len(rows)
        rate = lambda kind: f"{beaten[kind] / max(present[kind], 1):.3f} ({beaten[kind]}/{present[kind]})"
        print(f"{'ensemble a' if ensemble else 'blend w'} {w:.2f} (top {top}): R@1 {at1 / n:.3f}  R@10 {at10 / n:.3f}  "
              f"MRR@10 {mrr / n:.3f}  trap {rate('own trap')}  one-sided {rate('own one-sided')}", flush=True)


def adapter_logits(tok, pairs):
    """The shipped answer score's logit (answers-v2 cosine through answer_head.json's
    calibration) for each (need, offer)."""
    model = adapted_encoder().eval()
    head = json.load(open(os.path.join(ROOT, "crates/mingle-core/src/matching/answer_head.json")))
    k, b = head["diag"][0], head["bias"]
    texts = sorted({t for pair in pairs for t in pair})
    vec = dict(zip(texts, embed(model, tok, texts).numpy()))
    return {(n, o): k * float(vec[n] @ vec[o]) + b for n, o in pairs}


def compare(model, tok, val):
    """On the same validation pairs: the shipped answer score (answers-v2 cosine through
    answer_head.json's calibration), and item-level ensembles of it with the reranker,
    logit = bi + a · cross."""
    pairs, labels = validation_pairs(val)
    bi = adapter_logits(tok, pairs)
    b = np.array([bi[pair] for pair in pairs])
    c = logits(model, tok, pairs)
    for a in (0.0, 0.25, 0.5, 1.0, 2.0):
        name = "answers-v2 alone" if a == 0 else f"answers-v2 + {a} x reranker"
        print(f"{name}, same pairs: AUC mixed %.3f hard %.3f random %.3f" % three_aucs(b + a * c, labels), flush=True)


def heldout_auc(model, tok):
    rows = [json.loads(l) for l in open(os.path.join(ENC_DATA, "need_offer_pairs.jsonl")) if l.strip()]
    s = logits(model, tok, [(r["need"], r["offer"]) for r in rows])
    y = np.array([r["label"] for r in rows])
    return auc(s[y == 1], s[y == 0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=16, help="needs a step")
    ap.add_argument("--hard", type=int, default=3, help="hard negatives of its own record per need")
    ap.add_argument("--random", type=int, default=1, help="answers to other domains' needs per need")
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="train on the first N shuffled needs only (0: all)")
    ap.add_argument("--from-adapter", action="store_true", help="start from the answer adapter merged into the encoder")
    ap.add_argument("--save")
    ap.add_argument("--load")
    ap.add_argument("--rerank", help="a MINGLE_BENCH_DUMP file of the tuning bank")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--weights", default="0,0.25,0.5,0.75,1", help="blend weights of the reranker to print")
    ap.add_argument("--ensemble", action="store_true",
                    help="with --rerank: rescale f by the answering under the shipped answer logit plus w times the reranker's (a proxy)")
    ap.add_argument("--heldout", action="store_true")
    ap.add_argument("--compare", action="store_true",
                    help="also the shipped answer score's AUCs on the same validation pairs, alone and in ensembles with the reranker")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)

    recs = [r for r in records() if r["answers"] and len(r["hard"]) >= 1]
    train_recs = [r for r in recs if r["domain"] not in VALIDATION_DOMAINS]
    val = [r for r in recs if r["domain"] in VALIDATION_DOMAINS]
    if args.limit:
        random.Random(args.seed).shuffle(train_recs)
        train_recs = train_recs[: args.limit]
    print(f"{len(train_recs)} training needs; {len(val)} validation needs over {len(VALIDATION_DOMAINS)} domains", flush=True)
    tok = AutoTokenizer.from_pretrained(MODEL_DIR)
    model = CrossScorer(args.from_adapter)
    if args.load:
        model.load_state_dict(torch.load(args.load))
    elif args.epochs:
        train(model, tok, train_recs, args)
        if args.save:
            torch.save(model.state_dict(), args.save)
    mixed, hard, rand, platt = validation(model, tok, val)
    print(f"validation AUC mixed {mixed:.3f} hard {hard:.3f} random {rand:.3f}; Platt a {platt[0]:.3f} b {platt[1]:.3f}", flush=True)
    if args.compare:
        compare(model, tok, val)
    if args.rerank:
        rerank(model, tok, args.rerank, args.top, platt, [float(w) for w in args.weights.split(",")], args.ensemble)
    if args.heldout:
        print(f"HELD OUT need_offer_pairs.jsonl AUC {heldout_auc(model, tok):.3f}", flush=True)


if __name__ == "__main__":
    main()
