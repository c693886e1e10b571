#!/usr/bin/env python3
"""Trains the encoder's answer adapter: low-rank updates (LoRA) to all-MiniLM-L6-v2 (or,
with --base, another mean-pooling sentence encoder, measured as a teacher) so
that a need's embedding lies near the offers that answer it, where the published model
puts it near everything on its topic (and a head on frozen vectors could not undo that).

Trains low-rank adapters on every linear layer of the encoder with an in-batch contrastive
loss (each need against its answer, the other needs' answers as random negatives, and two
hard negatives of its own record: course, press, vendor, competitor...), on the answer
head's training records only (`mingle-encoder/benches/data/answers_train_*.jsonl`). Then
prints, for the frozen and the tuned encoder:
  * on a validation split of the training records (20 domains held back from training):
    ROC AUC of need/offer cosine, answers against hard and random negatives, and the
    retrieval AUC (each need's answers against every answer of the other domains);
  * with --tune-bank: the matching benchmark's tuning event (bank 1, 500 attendees, the
    same generator and seed as `cargo bench -p mingle --bench matching_quality`), with the
    benchmark's "cosine needs/offers, harmonic mean" baseline;
  * with --heldout: ROC AUC on `need_offer_pairs.jsonl` (held out: counts as a look).

Needs torch, transformers and safetensors (pip). CPU only; about 16 min of steps on 2
cores for the default 5 epochs (all-mpnet-base-v2: about 19 min an epoch). With
--dump-vectors it writes a teacher's vectors, and --teacher distils them into the adapter
being trained (docs/benchmarks.md, "Eighth and ninth sessions"). Only an adapter of
all-MiniLM-L6-v2 can ship: the engine reads 384-d vectors. Writes the adapter mingle
bundles (--save) and the calibrated answer head (--head); the goal head must then be
retrained on the new vectors (scripts/train_goal_head.py), and the encoder's reference
fixture regenerated (scripts/reference_embeddings.py --adapter):

    python3 scripts/train_answer_encoder.py --tune-bank \
        --save crates/mingle-encoder/src/answer_adapter.safetensors \
        --head crates/mingle-core/src/matching/answer_head.json --head-version answer-cosine-vN
"""
import argparse
import glob
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENC_DATA = os.path.join(ROOT, "crates/mingle-encoder/benches/data")
BANK_DATA = os.path.join(ROOT, "crates/mingle/benches/data")
MODEL_DIR = os.environ.get(
    "MINGLE_MODEL_DIR", os.path.expanduser("~/.cache/mingle/models/all-MiniLM-L6-v2")
)


class LoRA(torch.nn.Module):
    """y = W x + (alpha / r) B A x, with W frozen and B starting at zero."""

    def __init__(self, base: torch.nn.Linear, rank: int, alpha: float):
        super().__init__()
        self.base = base
        self.a = torch.nn.Parameter(torch.randn(rank, base.in_features) / math.sqrt(base.in_features))
        self.b = torch.nn.Parameter(torch.zeros(base.out_features, rank))
        self.scale = alpha / rank

    def forward(self, x):
        return self.base(x) + (x @ self.a.t() @ self.b.t()) * self.scale


def add_lora(model, rank, alpha):
    for p in model.parameters():
        p.requires_grad_(False)
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, torch.nn.Linear) and "pooler" not in f"{name}.{child_name}":
                setattr(module, child_name, LoRA(child, rank, alpha))


def offer_texts(r):
    """A record's offers: its answers and its hard negatives."""
    return [*r["answers"], *(h["text"] for h in r["hard"])]


def record_texts(r):
    """Every text of a record: its need and its offers."""
    return [r["need"], *offer_texts(r)]


EMBED_CHUNK = 128


def embed(model, tok, texts, grad=False):
    # Texts of similar length go through together (sorted, in chunks of at most 128), so
    # that little is spent on padding: a random batch pads to about 2.4 times its tokens.
    # 256 tokens at most, as mingle-encoder truncates.
    lengths = [len(ids) for ids in tok(list(texts), truncation=True, max_length=256)["input_ids"]]
    order = sorted(range(len(texts)), key=lambda i: lengths[i])
    out = []
    for i in range(0, len(order), EMBED_CHUNK):
        enc = tok([texts[j] for j in order[i : i + EMBED_CHUNK]], padding=True, truncation=True, max_length=256, return_tensors="pt")
        with torch.set_grad_enabled(grad):
            h = model(**enc).last_hidden_state
            m = enc["attention_mask"].unsqueeze(-1).float()
            v = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(v, dim=-1))
    if not out:
        return torch.zeros(0, model.config.hidden_size)
    inverse = torch.empty(len(order), dtype=torch.long)
    inverse[torch.tensor(order)] = torch.arange(len(order))
    return torch.cat(out)[inverse]


def auc(pos, neg):
    pos, neg = np.asarray(pos), np.asarray(neg)
    scores = np.concatenate([pos, neg])
    ranks = scores.argsort().argsort() + 1.0
    return (ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


# The validation split: 20 domains drawn once, by random.Random(1).sample over the 161
# domains answers-v1 was trained on, before any run. Pinned, so that records added later
# (in new domains, all of which train) leave it, and its figures, unchanged.
VALIDATION_DOMAINS = frozenset([
    "academic publishing", "applied ai", "car dealerships & fleets", "cloud-devops", "consulting",
    "cybersecurity", "film & tv", "forestry & timber", "grant writing & foundations", "healthcare",
    "micromobility & ride-hailing", "ml-ai", "pets & pet care", "plumbing & hvac", "podcasting",
    "public transit", "real estate", "research", "telecom", "volunteering & boards",
])


def records():
    out = []
    for path in sorted(glob.glob(os.path.join(ENC_DATA, "answers_train_*.jsonl"))):
        for line in open(path):
            if line.strip():
                out.append(json.loads(line))
    return out


def validation_auc(model, tok, val, rng):
    texts = sorted({x for r in val for x in record_texts(r)})
    vec = dict(zip(texts, embed(model, tok, texts).numpy()))
    pos, hard, rand = [], [], []
    for r in val:
        n = vec[r["need"]]
        pos += [float(n @ vec[a]) for a in r["answers"]]
        hard += [float(n @ vec[h["text"]]) for h in r["hard"]]
        other = val[rng.randrange(len(val))]
        if other["domain"] != r["domain"]:
            rand += [float(n @ vec[a]) for a in other["answers"]]
    return auc(pos, hard + rand), auc(pos, hard), auc(pos, rand), retrieval_auc(val, vec)


def retrieval_auc(val, vec):
    """Mean over needs of the ROC AUC of its answers against every answer of the other
    domains' records: how a need ranks its answers among everything an event of strangers
    offers, which is what matching asks (a single random record per need is too noisy to
    tell 0.977 from 0.980)."""
    answers = [(r["domain"], a) for r in val for a in r["answers"]]
    matrix = np.stack([vec[a] for _, a in answers])
    domains = np.array([d for d, _ in answers])
    out = []
    for r in val:
        scores = matrix @ vec[r["need"]]
        pos = [float(vec[r["need"]] @ vec[a]) for a in r["answers"]]
        out.append(auc(pos, scores[domains != r["domain"]]))
    return float(np.mean(out))


# The matching benchmark's generator, line for line (crates/mingle/benches/matching_quality.rs).
M64 = (1 << 64) - 1


class Rng:
    def __init__(self, seed):
        self.s = seed

    def next(self):
        s = self.s
        s ^= s >> 12
        s ^= (s << 25) & M64
        s ^= s >> 27
        self.s = s
        return (s * 0x2545F4914F6CDD1D) & M64

    def below(self, n):
        return self.next() % n

    def chance(self, p):
        return (self.next() % 1_000_000) / 1e6 < p


def generate(templates, fillers, size, seed):
    rng = Rng(seed)
    vague = [f for f in fillers if f["kind"] == "vague"]
    people, planted = [], []

    def pick(options):
        return options[rng.below(len(options))]

    def person(p):
        needs = [pick(p["need"])]
        offers = [pick(p["offer"])]
        if rng.chance(0.25):
            needs.append(pick(vague[rng.below(len(vague))]["need"]))
        if rng.chance(0.25):
            offers.append(pick(vague[rng.below(len(vague))]["offer"]))
        people.append({"goal": pick(p["goal"]), "needs": needs, "offers": offers})
        return len(people) - 1

    for t in templates:
        a = person(t["a"])
        b = person(t["b"])
        trap = person(t["trap"]) if "trap" in t else None
        one_sided = person(t["one_sided"])
        planted.append((a, b, trap, one_sided))
    f = 0
    while len(people) < size:
        person(fillers[f % len(fillers)])
        f += 1
    order = list(range(len(people)))
    for i in range(len(order) - 1, 0, -1):
        j = rng.below(i + 1)
        order[i], order[j] = order[j], order[i]
    position = [0] * len(people)
    for new, old in enumerate(order):
        position[old] = new
    shuffled = [people[old] for old in order]
    planted = [tuple(None if x is None else position[x] for x in p) for p in planted]
    return shuffled, planted


def bank_event(name, size, seed):
    load = lambda f: [json.loads(l) for l in open(os.path.join(BANK_DATA, f)) if l.strip()]
    return generate(load(name), load("match_fillers.jsonl"), size, seed)


def cosine_baseline(model, tok, people, planted):
    """The benchmark's 'MiniLM cosine needs/offers' baseline: unit mean of each side's
    vectors, harmonic mean of both directions, ties against the counterpart."""
    texts = sorted({t for p in people for t in p["needs"] + p["offers"]})
    vec = dict(zip(texts, embed(model, tok, texts).numpy()))

    def unit_mean(ts):
        m = np.sum([vec[t] for t in ts], axis=0)
        return m / np.linalg.norm(m)

    needs = np.stack([unit_mean(p["needs"]) for p in people])
    offers = np.stack([unit_mean(p["offers"]) for p in people])
    s = np.clip(needs @ offers.T, 0, None)  # s[a, b]: a's needs against b's offers
    st = s.T
    score = np.where(s + st > 0, 2 * s * st / np.where(s + st > 0, s + st, 1), 0.0).astype(np.float32)
    n = len(people)
    at, rr, traps, one_sided, count = [0, 0, 0], 0.0, [0, 0], [0, 0], 0
    for a, b, trap, os_ in planted:
        for p, c in ((a, b), (b, a)):
            row = score[p]
            mask = np.ones(n, bool)
            mask[[p, c]] = False
            r = 1 + int((row[mask] >= row[c]).sum())
            count += 1
            for k, lim in enumerate((1, 5, 10)):
                at[k] += r <= lim
            rr += 1 / r if r <= 10 else 0
        cp = score[a, b]
        if trap is not None:
            traps[1] += 1
            traps[0] += score[a, trap] >= cp
        one_sided[1] += 1
        one_sided[0] += score[a, os_] >= cp
    return (
        f"R@1 {at[0]/count:.3f}  R@5 {at[1]/count:.3f}  R@10 {at[2]/count:.3f}  MRR@10 {rr/count:.3f}  "
        f"trap {traps[0]/traps[1]:.3f} ({traps[0]}/{traps[1]})  one-sided {one_sided[0]/one_sided[1]:.3f} ({one_sided[0]}/{one_sided[1]})"
    )


def heldout_auc(model, tok):
    rows = [json.loads(l) for l in open(os.path.join(ENC_DATA, "need_offer_pairs.jsonl")) if l.strip()]
    texts = sorted({r["need"] for r in rows} | {r["offer"] for r in rows})
    vec = dict(zip(texts, embed(model, tok, texts).numpy()))
    s = [float(vec[r["need"]] @ vec[r["offer"]]) for r in rows]
    return auc([x for x, r in zip(s, rows) if r["label"] == 1], [x for x, r in zip(s, rows) if r["label"] == 0])


def report(tag, model, tok, val, args):
    model.eval()
    a = validation_auc(model, tok, val, random.Random(7))
    print(f"[{tag}] validation AUC mixed {a[0]:.3f} hard {a[1]:.3f} random {a[2]:.3f} retrieval {a[3]:.4f}", flush=True)
    if args.tune_bank:
        people, planted = bank_event("match_bank_1.jsonl", 500, 11)
        print(f"[{tag}] tune bank 1, 500 attendees, cosine needs/offers: {cosine_baseline(model, tok, people, planted)}", flush=True)
    if args.heldout:
        print(f"[{tag}] HELD OUT need_offer_pairs.jsonl cosine AUC {heldout_auc(model, tok):.3f}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--batch", type=int, default=96)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--scale", type=float, default=20.0)
    ap.add_argument("--hard-per-need", type=int, default=2, help="hard negatives of its own record per need in a batch")
    ap.add_argument("--mined", type=int, default=0,
                    help="from the second epoch on, add one mined negative per need: one of the N offers of other domains the model ranks highest for it (0: off)")
    ap.add_argument("--memory", type=int, default=0,
                    help="cross-batch memory: the answers and hard negatives of the last N batches (detached, other domains only) "
                         "as extra negatives; measured worse than none (docs/benchmarks.md)")
    ap.add_argument("--seed", type=int, default=0, help="initialisation and batch order (answers-v2: 0)")
    ap.add_argument("--teacher", help="distil from a teacher: an .npz written by --dump-vectors (texts, vectors); each "
                    "need's softmax over the batch's offers is pulled towards the teacher's (KL), beside the contrastive loss")
    ap.add_argument("--kd-weight", type=float, default=1.0, help="weight of the teacher's KL term (with --teacher)")
    ap.add_argument("--kd-pool", type=int, default=0,
                    help="with --teacher: N more offers a step, drawn at random from the training records' answers and hard "
                         "negatives, in the teacher's term (embedded by the student without gradient, dropout on: a forward "
                         "pass of N more texts a step; 0: the batch's offers only)")
    ap.add_argument("--dump-vectors", help="after training (or loading, with --epochs 0), write the vectors of every "
                    "training and validation text here (.npz): a teacher for --teacher")
    ap.add_argument("--base", default=MODEL_DIR,
                    help="the encoder to adapt (a sentence-transformers directory; mean pooling): all-MiniLM-L6-v2 unless given")
    ap.add_argument("--tune-bank", action="store_true")
    ap.add_argument("--heldout", action="store_true")
    ap.add_argument("--save", help="write the adapter (safetensors) here")
    ap.add_argument("--load", help="start from this adapter (with --epochs 0: evaluate it)")
    ap.add_argument("--head", help="fit the calibrated answer head on the validation domains and write it here")
    ap.add_argument("--head-version", help="the version the written head carries (required with --head: it enters "
                    "algorithm_version, so a new head needs a new name)")
    args = ap.parse_args()
    if args.head and not args.head_version:
        ap.error("--head needs --head-version")
    if args.kd_pool and not args.teacher:
        ap.error("--kd-pool needs --teacher")
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    rng = random.Random(args.seed)

    recs = records()
    domains = sorted({r["domain"] for r in recs})
    val_domains = VALIDATION_DOMAINS
    train = [r for r in recs if r["domain"] not in val_domains and r["answers"]]
    val = [r for r in recs if r["domain"] in val_domains and r["answers"]]
    print(f"{len(train)} training needs over {len(domains) - len(val_domains)} domains; {len(val)} validation needs over {len(val_domains)} domains", flush=True)

    tok = AutoTokenizer.from_pretrained(args.base)
    model = AutoModel.from_pretrained(args.base, add_pooling_layer=False)
    if not args.load:
        report("frozen", model, tok, val, args)

    add_lora(model, args.rank, 2 * args.rank)
    if args.load:
        load_adapter(model, args.load)
        report("loaded", model, tok, val, args)
    params = [p for p in model.parameters() if p.requires_grad]
    print(f"adapter parameters: {sum(p.numel() for p in params):,}", flush=True)
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    steps = max(1, args.epochs * math.ceil(len(train) / args.batch))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 20) * max(0.0, 1 - s / steps))
    teacher = None
    if args.teacher:
        t = np.load(args.teacher)
        teacher = dict(zip(t["texts"].tolist(), torch.from_numpy(t["vectors"]).float()))
        missing = {x for r in train for x in record_texts(r)} - teacher.keys()
        if missing:
            sys.exit(f"{args.teacher} lacks {len(missing)} training texts (dumped from other records?), e.g. {sorted(missing)[0]!r}")
        print(f"teacher: {len(teacher)} texts from {args.teacher}", flush=True)
    pool_rng = random.Random(args.seed + 1)  # its own, so batches stay those of a run without a pool
    pool = sorted({t for r in train for t in offer_texts(r)}) if args.kd_pool else []
    step = 0
    mined = {}
    memory = []  # (embeddings, need index of each row) of recent batches, detached
    domain_names = sorted({r["domain"] for r in train})
    domain_id = torch.tensor([domain_names.index(r["domain"]) for r in train])
    for epoch in range(args.epochs):
        if args.mined and epoch > 0:
            mined = mine_negatives(model, tok, train, args.mined)
        model.train()
        order = list(range(len(train)))
        rng.shuffle(order)
        start, total = time.time(), 0.0
        for i in range(0, len(order), args.batch):
            ids = order[i : i + args.batch]
            batch = [train[j] for j in ids]
            needs = [r["need"] for r in batch]
            answers = [rng.choice(r["answers"]) for r in batch]
            hard = [h["text"] for r in batch for h in rng.sample(r["hard"], min(args.hard_per_need, len(r["hard"])))]
            hard += [rng.choice(mined[r["need"]]) for r in batch if mined.get(r["need"])]
            v = embed(model, tok, needs + answers + hard, grad=True)
            n, o = v[: len(batch)], v[len(batch) :]
            logits = args.scale * n @ o.t()
            target = torch.arange(len(batch))
            need_logits = logits
            if memory:
                # Earlier batches' offers as more strangers (a cross-batch memory).
                kept, owners = torch.cat([m[0] for m in memory]), torch.cat([m[1] for m in memory])
                extra = args.scale * n @ kept.t()
                # Only other domains' offers: within a domain another record's answer may
                # well answer this need too.
                same = domain_id[owners].unsqueeze(0) == domain_id[torch.tensor(ids)].unsqueeze(1)
                extra = extra.masked_fill(same, float("-inf"))
                need_logits = torch.cat([logits, extra], dim=1)
            # need -> offer over all answers and hard negatives; answer -> need over needs.
            loss = torch.nn.functional.cross_entropy(need_logits, target) + 0.5 * torch.nn.functional.cross_entropy(
                logits[:, : len(batch)].t(), target
            )
            if teacher is not None:
                # The teacher's ranking of every offer of the batch for each need, strangers
                # and hard negatives included: what the student should copy.
                tv = torch.stack([teacher[x] for x in needs + answers + hard])
                t_logits = args.scale * tv[: len(batch)] @ tv[len(batch) :].t()
                s_logits = logits
                if pool:
                    # The teacher's ranking over a larger crowd than one batch, as in an event.
                    extra = pool_rng.sample(pool, args.kd_pool)
                    pv = embed(model, tok, extra)
                    s_logits = torch.cat([logits, args.scale * n @ pv.t()], dim=1)
                    t_logits = torch.cat([t_logits, args.scale * tv[: len(batch)] @ torch.stack([teacher[x] for x in extra]).t()], dim=1)
                loss = loss + args.kd_weight * torch.nn.functional.kl_div(
                    torch.log_softmax(s_logits, dim=1), torch.log_softmax(t_logits, dim=1), log_target=True, reduction="batchmean"
                )
            if args.memory and step >= 20:  # after the warm-up, when embeddings drift slowly
                owners = ids + [ids[k] for k, r in enumerate(batch) for _ in range(min(args.hard_per_need, len(r["hard"])))]
                owners += [ids[k] for k, r in enumerate(batch) if mined.get(r["need"])]
                memory.append((o.detach(), torch.tensor(owners)))
                memory = memory[-args.memory :]
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            total += loss.item()
            if step % 20 == 0:
                print(f"epoch {epoch} step {step}/{steps} loss {total / (i // args.batch + 1):.3f} {time.time() - start:.0f}s", flush=True)
        report(f"epoch {epoch}", model, tok, val, args)
    if args.save:
        save_adapter(model, args.save)
        load_adapter(model, args.save)  # the head and the dump use the float16 weights mingle ships
    if args.dump_vectors:
        model.eval()
        texts = sorted({x for r in train + val for x in record_texts(r)})
        np.savez(args.dump_vectors, texts=np.array(texts), vectors=embed(model, tok, texts).numpy())
        print(f"wrote the vectors of {len(texts)} texts to {args.dump_vectors}", flush=True)
    if args.head:
        fit_head(model, tok, val, train, args.head, args.head_version)


def mine_negatives(model, tok, train, n):
    """For each training need, the n offers of other domains (answers and hard negatives
    of their records) the model now ranks highest, leaving out any that scores above 0.95
    of the need's own answers' mean: those may well answer it (an angel investor of one
    domain answers a funding need of another). Off-topic negatives the model still
    confuses, where in-batch random ones are mostly easy."""
    model.eval()
    start = time.time()
    offers = sorted({(r["domain"], t) for r in train for t in offer_texts(r)})
    texts = sorted({t for _, t in offers} | {r["need"] for r in train} | {a for r in train for a in r["answers"]})
    vec = dict(zip(texts, embed(model, tok, texts).numpy()))
    o = np.stack([vec[t] for _, t in offers])
    domain = np.array([d for d, _ in offers])
    out = {}
    for r in train:
        s = o @ vec[r["need"]]
        s[domain == r["domain"]] = -2.0
        ceiling = 0.95 * float(np.mean([vec[r["need"]] @ vec[a] for a in r["answers"]]))
        s[s > ceiling] = -2.0
        k = min(n, len(s) - 1)
        top = np.argpartition(-s, k)[:k]
        out[r["need"]] = [offers[i][1] for i in top if s[i] > -2.0]
    print(f"mined {n} negatives for {len(out)} needs in {time.time() - start:.0f}s", flush=True)
    return out


def load_adapter(model, path):
    """Reads an adapter written by save_adapter back into the LoRA layers."""
    from safetensors.torch import load_file

    tensors = load_file(path)
    for name, module in model.named_modules():
        if isinstance(module, LoRA):
            module.a.data = tensors[f"{name}.lora_a"].float()
            module.b.data = tensors[f"{name}.lora_b"].float() / module.scale


def fit_logistic(x, y, w, start):
    """(k, b) of the weighted logistic regression p = σ(k x + b), by Newton's method on
    the two parameters: a score calibrated to a probability."""
    k, b = start
    for _ in range(2000):
        p = 1 / (1 + np.exp(-(k * x + b)))
        g = np.array([np.sum(w * (p - y) * x), np.sum(w * (p - y))])
        h = np.array([[np.sum(w * p * (1 - p) * x * x), np.sum(w * p * (1 - p) * x)], [np.sum(w * p * (1 - p) * x), np.sum(w * p * (1 - p))]])
        step = np.linalg.solve(h + 1e-9 * np.eye(2), g)
        k, b = k - step[0], b - step[1]
        if np.abs(step).max() < 1e-10:
            break
    return k, b


def fit_head(model, tok, val, train, path, version, basis_rank=48):
    """The answer head over tuned embeddings: a calibrated cosine, logit = k cos + b,
    fitted by logistic regression on the validation domains (which the adapter never saw):
    answers against hard and random negatives, weighted to equal mass. Written in the
    answer head's JSON format with no cue groups and a zero bilinear term; its basis (for
    candidate search) is the top right singular vectors of the training texts' vectors."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from reference_embeddings import dump_head_json

    model.eval()
    rng = random.Random(3)
    texts = sorted({x for r in val for x in record_texts(r)})
    vec = dict(zip(texts, embed(model, tok, texts).numpy()))
    xs, ys = [], []
    for r in val:
        n = vec[r["need"]]
        xs += [float(n @ vec[a]) for a in r["answers"]]
        ys += [1] * len(r["answers"])
        xs += [float(n @ vec[h["text"]]) for h in r["hard"]]
        ys += [0] * len(r["hard"])
        for _ in range(2):
            other = val[rng.randrange(len(val))]
            if other["domain"] != r["domain"]:
                xs.append(float(n @ vec[rng.choice(other["answers"])]))
                ys.append(0)
    x, y = np.array(xs), np.array(ys, float)
    w = np.where(y == 1, 0.5 / y.sum(), 0.5 / (1 - y).sum())
    k, b = fit_logistic(x, y, w, start=(10.0, -5.0))
    print(f"calibration on {len(x)} validation pairs: logit = {k:.3f} cos {b:+.3f}", flush=True)
    sample = sorted({r["need"] for r in train} | {a for r in train for a in r["answers"]})
    m = embed(model, tok, sample).numpy().astype(np.float64)
    basis = np.linalg.svd(m, full_matrices=False)[2][:basis_rank]
    dim = m.shape[1]
    head = {
        "version": version,
        "dimension": dim,
        "cues": [],
        "diag": [round(k, 6)] * dim,
        "need_proj": [[0.0] * dim],
        "offer_proj": [[0.0] * dim],
        "need_bias": [0.0] * dim,
        "offer_bias": [0.0] * dim,
        "bias": round(b, 6),
        "basis": [[round(float(v), 6) for v in row] for row in basis],
    }
    open(path, "w").write(dump_head_json(head, {"need_proj", "offer_proj", "basis"}))
    print(f"wrote the answer head to {path}", flush=True)


def save_adapter(model, path):
    """Writes `<layer>.lora_a` (r x in) and `<layer>.lora_b` (out x r, the scale folded in)
    for every adapted layer, as float16 safetensors: what mingle-encoder merges at load."""
    from safetensors.torch import save_file

    tensors = {}
    for name, module in model.named_modules():
        if isinstance(module, LoRA):
            tensors[f"{name}.lora_a"] = module.a.detach().half().contiguous()
            tensors[f"{name}.lora_b"] = (module.b.detach() * module.scale).half().contiguous()
    save_file(tensors, path)
    print(f"wrote {len(tensors) // 2} adapted layers to {path}", flush=True)


if __name__ == "__main__":
    main()
