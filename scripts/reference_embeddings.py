#!/usr/bin/env python3
"""An independent reference for the encoder: all-MiniLM-L6-v2 in plain numpy.

Reads the same model files as mingle (MINGLE_MODEL_DIR or the default cache), runs BERT
with mean pooling and L2 normalization, and prints cosine similarities of a few sentence
pairs. Its output is the fixture `crates/mingle-encoder/tests/reference.json` (the
published model) or, with --adapter, `reference_adapted.json` (with the answer adapter
merged, the encoder mingle uses); the Rust encoder's tests check both agree. Needs numpy,
tokenizers and safetensors (pip).

    python3 scripts/reference_embeddings.py > crates/mingle-encoder/tests/reference.json
    python3 scripts/reference_embeddings.py --adapter > crates/mingle-encoder/tests/reference_adapted.json
"""
import json
import math
import os
import sys

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

SENTENCES = [
    "The weather is lovely today.",
    "It's so sunny outside!",
    "He drove to the stadium.",
    "That is a happy person",
    "That is a happy dog",
    "That is a very happy person",
    "Today is a sunny day",
    "We need seed funding for our fintech startup",
    "Angel investor backing early-stage financial technology companies",
]


def model_dir():
    if os.environ.get("MINGLE_MODEL_DIR"):
        return os.environ["MINGLE_MODEL_DIR"]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "mingle", "models", "all-MiniLM-L6-v2")


ADAPTER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "crates/mingle-encoder/src/answer_adapter.safetensors")


def load_weights(adapter=True):
    """model.safetensors, with the answer adapter merged (`W += B A`, as mingle-encoder
    does at load) unless adapter is False: the published model alone."""
    weights = load_file(os.path.join(model_dir(), "model.safetensors"))
    if adapter:
        low_rank = load_file(ADAPTER)
        for name, a in low_rank.items():
            if name.endswith(".lora_a"):
                layer = name[: -len(".lora_a")]
                delta = low_rank[layer + ".lora_b"].astype(np.float32) @ a.astype(np.float32)
                weights[layer + ".weight"] = weights[layer + ".weight"].astype(np.float32) + delta
    return weights


def encoder_tag(encoder):
    """Names the embeddings a cache holds: the encoder and the adapter's SHA-256 prefix."""
    import hashlib

    return f"{encoder}+{hashlib.sha256(open(ADAPTER, 'rb').read()).hexdigest()[:12]}"


def layer_norm(x, w, b, eps=1e-12):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gelu(x):
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def embed(weights, config, ids):
    p = "" if "embeddings.word_embeddings.weight" in weights else "bert."
    w = lambda name: weights[p + name].astype(np.float64)
    n = len(ids)
    x = w("embeddings.word_embeddings.weight")[ids] + w("embeddings.position_embeddings.weight")[:n] \
        + w("embeddings.token_type_embeddings.weight")[0]
    x = layer_norm(x, w("embeddings.LayerNorm.weight"), w("embeddings.LayerNorm.bias"))
    heads = config["num_attention_heads"]
    d = config["hidden_size"] // heads
    for i in range(config["num_hidden_layers"]):
        l = f"encoder.layer.{i}."
        lin = lambda t, name: t @ w(l + name + ".weight").T + w(l + name + ".bias")
        q, k, v = (lin(x, f"attention.self.{m}").reshape(n, heads, d).transpose(1, 0, 2)
                   for m in ("query", "key", "value"))
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(d)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        attn = scores / scores.sum(-1, keepdims=True)
        ctx = (attn @ v).transpose(1, 0, 2).reshape(n, heads * d)
        x = layer_norm(lin(ctx, "attention.output.dense") + x,
                       w(l + "attention.output.LayerNorm.weight"), w(l + "attention.output.LayerNorm.bias"))
        h = gelu(lin(x, "intermediate.dense"))
        x = layer_norm(lin(h, "output.dense") + x, w(l + "output.LayerNorm.weight"), w(l + "output.LayerNorm.bias"))
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


def embed_with_rust(texts):
    """Unit embeddings of `texts` from mingle's own encoder (the `embed` example of
    mingle-encoder, release build): what a match run computes, some 30 times faster than
    `embed` here. The encoder's tests hold it to this file's numbers (values within 1e-4)."""
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    lines = "".join(json.dumps(t) + "\n" for t in texts).encode("utf-8")
    out = subprocess.run(
        ["cargo", "run", "--quiet", "--release", "-p", "mingle-encoder", "--example", "embed"],
        input=lines, stdout=subprocess.PIPE, cwd=root, check=True,
    ).stdout
    vectors = np.frombuffer(out, dtype="<f4").reshape(len(texts), -1)
    return vectors.astype(np.float64)


def embed_cached(texts, cache_path, encoder="numpy"):
    """Unit embeddings of `texts` (an array, one row each), cached on disk by SHA-256 of
    the text: what the head trainers embed their labelled sets with. `encoder` is "numpy"
    (this file) or "rust" (`embed_with_rust`); a cache holds one encoder's embeddings.

    Each text is embedded with the word-embedding table cut down to its own tokens: the
    same numbers as `embed` with the whole table, without converting all 30,522 rows to
    float64 for every text."""
    import hashlib

    key = lambda t: hashlib.sha256(t.encode("utf-8")).hexdigest()
    cache = dict(np.load(cache_path)) if os.path.exists(cache_path) else {}
    # The cache names its encoder and adapter; an untagged one (written before caches
    # named them, so by the published model) is refused like any other.
    want = encoder_tag(encoder)
    tag = str(cache.pop("encoder", "untagged")) if cache else want
    if tag != want:
        raise SystemExit(f"{cache_path} holds {tag} embeddings, not {want}: use another cache file")
    save = lambda: np.savez(cache_path, encoder=np.array(want), **cache)
    missing = [t for t in dict.fromkeys(texts) if key(t) not in cache]
    if missing and encoder == "rust":
        for t, v in zip(missing, embed_with_rust(missing)):
            cache[key(t)] = v
        save()
    elif missing:
        d = model_dir()
        weights = load_weights()
        config = json.load(open(os.path.join(d, "config.json")))
        tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
        tok.no_padding()
        wk = "embeddings.word_embeddings.weight"
        wk = wk if wk in weights else "bert." + wk
        w64 = {k: v.astype(np.float64) for k, v in weights.items() if k != wk}
        for i, t in enumerate(missing):
            ids, inv = np.unique(tok.encode(t).ids, return_inverse=True)
            w = dict(w64)
            w[wk] = weights[wk][ids]
            cache[key(t)] = embed(w, config, [int(j) for j in inv])
            if (i + 1) % 500 == 0:
                print(f"  embedded {i + 1}/{len(missing)}", file=sys.stderr, flush=True)
                save()
        save()
    return np.stack([cache[key(t)] for t in texts])


def dump_head_json(head, row_keys):
    """A trained head as JSON, its keys in order, one line per key and one per row of the
    keys in `row_keys` (matrices, cue groups), so diffs of a retrained head stay readable."""
    one = lambda v: json.dumps(v, separators=(",", ":"), ensure_ascii=False)
    rows = lambda vs: "[\n    " + ",\n    ".join(one(v) for v in vs) + "\n  ]"
    lines = [f"  {one(k)}: {rows(v) if k in row_keys else one(v)}" for k, v in head.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main():
    d = model_dir()
    adapted = "--adapter" in sys.argv[1:]
    weights = load_weights(adapter=adapted)
    config = json.load(open(os.path.join(d, "config.json")))
    tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    tok.no_padding()
    vecs = [embed(weights, config, tok.encode(s).ids) for s in SENTENCES]
    pairs = []
    for i in range(len(SENTENCES)):
        for j in range(i + 1, len(SENTENCES)):
            pairs.append({"a": SENTENCES[i], "b": SENTENCES[j], "cosine": round(float(vecs[i] @ vecs[j]), 6)})
    json.dump({"model": "all-MiniLM-L6-v2" + ("+answers-v2" if adapted else ""), "source": "scripts/reference_embeddings.py (numpy, float64)",
               "first_embedding_head": [round(float(v), 6) for v in vecs[0][:8]], "pairs": pairs},
              sys.stdout, indent=1, ensure_ascii=False)
    print()


if __name__ == "__main__":
    main()
