"""How often the object-collision model answers right on fresh generated sequences, by length and seed,
as the app's Object tracking page computes it (app/views/collision.py): every scored question of one
sequence traced from its first frame.

    python bench/collision_accuracy.py [--checkpoint checkpoints/object-collision] [--seeds 10]
                                       [--lengths 300 500 1000 2000 3000 5000] [--test-stream] [--json out.json]

With --test-stream it also traces the held-out test sequence of `python -m model.evaluate` (25,000 frames,
seed 2,000,003) from its first frame in one pass, as the page does (the evaluation reads it as 8 slices
of 25,000 tokens).

Prints one row per length (mean, spread, min and max over seeds 0..N-1, the latest-collision rule's mean share
right, docs/method.md 17.4, and the mean per quarter of the sequence), then every seed's figure and the rule's,
and writes the same as JSON. Chance is 25% (four quadrants).
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from app.views.collision import accuracy, accuracy_by_part, rule_accuracy
from model import ExpireSpanLM, trace
from model.tasks import collision

ROOT = Path(__file__).resolve().parents[1]


TEST_SEED = 2_000_003  # model/batches.py: the test split's seed plus the training seed (0)


def config_for(vocab_size: int):
    for cfg in (collision.SCALED, collision.DEFAULT):
        if collision.vocab_size(cfg) == vocab_size:
            return cfg
    raise SystemExit(f"no collision setting has a vocabulary of {vocab_size}")


def measure(model, cfg, length: int, seed: int) -> dict:
    seq = collision.generate(cfg, length, seed)
    tr = trace(model, seq.tokens, targets=seq.targets)
    right, n = accuracy(tr, seq)
    rule_right, _ = rule_accuracy(seq)
    parts = accuracy_by_part(tr, seq)
    return {"length": length, "seed": seed, "scored": n, "right": right, "accuracy": right / n if n else None,
            "rule_accuracy": rule_right / n if n else None,
            "quarters": [p["accuracy"] for p in parts], "quarter_scored": [p["scored"] for p in parts]}


def pct(x) -> str:
    return "-" if x is None or np.isnan(x) else f"{100 * x:.0f}%"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "object-collision"))
    parser.add_argument("--lengths", type=int, nargs="+", default=[300, 500, 1000, 2000, 3000, 5000])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1")
    parser.add_argument("--test-stream", action="store_true", help="also the 25,000-frame test sequence")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default="bench/results/collision_accuracy.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = ExpireSpanLM.from_pretrained(args.checkpoint)
    cfg = config_for(model.config.vocab_size)
    rows, start = [], time.perf_counter()
    for length in args.lengths:
        for seed in range(args.seeds):
            rows.append(measure(model, cfg, length, seed))
    print(f"{args.checkpoint}: {cfg}; seeds 0-{args.seeds - 1}; {time.perf_counter() - start:.0f} s; chance 25%")
    print(f"{'frames':>7}{'mean':>7}{'sd':>6}{'min':>6}{'max':>6}{'scored':>8}{'rule':>6}   "
          "quarters 1-4 (mean over seeds)")
    summary = []
    for length in args.lengths:
        acc = np.array([r["accuracy"] for r in rows if r["length"] == length], dtype=float)
        quarters = np.array([[np.nan if q is None else q for q in r["quarters"]]
                             for r in rows if r["length"] == length], dtype=float)
        scored = np.mean([r["scored"] for r in rows if r["length"] == length])
        rule = np.nanmean(np.array([r["rule_accuracy"] for r in rows if r["length"] == length], dtype=float))
        q_mean = np.nanmean(quarters, axis=0)
        summary.append({"length": length, "mean": float(np.nanmean(acc)), "sd": float(np.nanstd(acc)),
                        "min": float(np.nanmin(acc)), "max": float(np.nanmax(acc)), "mean_scored": float(scored),
                        "rule_mean": float(rule), "quarters_mean": q_mean.tolist()})
        print(f"{length:>7}{pct(np.nanmean(acc)):>7}{pct(np.nanstd(acc)):>6}{pct(np.nanmin(acc)):>6}"
              f"{pct(np.nanmax(acc)):>6}{scored:>8.0f}{pct(rule):>6}   " + " ".join(f"{pct(q):>4}" for q in q_mean))
    print("\nper seed (share right):")
    print(f"{'frames':>7} " + " ".join(f"{s:>4}" for s in range(args.seeds)))
    for length in args.lengths:
        print(f"{length:>7} " + " ".join(f"{pct(r['accuracy']):>4}" for r in rows if r["length"] == length))
        print(f"{'rule':>7} " + " ".join(f"{pct(r['rule_accuracy']):>4}" for r in rows if r["length"] == length))
    test = None
    if args.test_stream:
        test = measure(model, cfg, 25_000, TEST_SEED)
        print(f"\ntest sequence (25,000 frames, seed {TEST_SEED:,}, one pass from frame 0): {pct(test['accuracy'])} "
              f"right of {test['scored']:,} (latest-collision rule {pct(test['rule_accuracy'])}); quarters "
              + " ".join(pct(q) for q in test["quarters"]))
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"checkpoint": args.checkpoint, "seeds": args.seeds, "summary": summary,
                               "runs": rows, "test_stream": test}, indent=1))


if __name__ == "__main__":
    main()
