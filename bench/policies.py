"""Trace time of 4,096 bytes under each memory policy against the plain trace (docs/method.md section 15).

    python bench/policies.py [--checkpoint checkpoints/text] [--bytes 4096] [--repeats 7] [--json out.json]

The text is assets/examples/*.txt concatenated (sorted by name), cut to --bytes. Budgeted policies run at
the default budget (policies.default_budget of the plain trace: each layer's own mean visible memories),
worked out once before timing and given explicitly, so the timings are of the policy's run alone; keep-all
keeps up to L. Each round runs the plain trace and then every policy, one after another; the table gives
the median time of each and the median over rounds of its time over the same round's plain trace
(goal: at most 1.5x for the budgeted ones). Prints a table and writes the figures as JSON.
"""
import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from model import ExpireSpanLM, trace
from model.policies import BUDGETED, Policy, default_budget

ROOT = Path(__file__).resolve().parents[1]

RULED = ("window", "sinks", "heavy-hitters", "keep-all")


def timed(model, data, policy):
    start = time.perf_counter()
    result = trace(model, data, policy=policy)
    return time.perf_counter() - start, result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "text"))
    parser.add_argument("--bytes", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "policies.json"))
    args = parser.parse_args()
    model = ExpireSpanLM.from_pretrained(args.checkpoint).eval()
    data = b"".join(p.read_bytes() for p in sorted((ROOT / "assets" / "examples").glob("*.txt")))[: args.bytes]

    plain = trace(model, data)  # also the warm-up
    budget = tuple(default_budget(plain))
    policies = {"plain": None}
    policies.update({name: Policy(name, budget=budget if name in BUDGETED else None) for name in RULED})
    for policy in policies.values():
        trace(model, data[:512], policy=policy)  # warm up every path

    times = {name: [] for name in policies}
    results = {}
    for _ in range(args.repeats):
        for name, policy in policies.items():
            seconds, results[name] = timed(model, data, policy)
            times[name].append(seconds)

    rows = []
    for name in policies:
        ratios = np.array(times[name]) / np.array(times["plain"])
        result = results[name]
        rows.append(dict(policy=name, budget=None if name == "plain" else result.meta["policy"]["budget"],
                         bytes=len(data), median_s=round(float(np.median(times[name])), 3),
                         best_s=round(float(np.min(times[name])), 3),
                         ratio_median=round(float(np.median(ratios)), 2),
                         mean_cache=round(result.mean_kept, 1),
                         bits_per_byte=round(float(np.nanmean(result.bits)), 3)))
    cpu = platform.processor() or platform.machine()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {cpu}; {args.checkpoint}, {len(data)} bytes, "
          f"{args.repeats} alternating rounds; default budget {list(budget)}")
    print(f"{'policy':<15}{'budget per layer':>22}{'median s':>10}{'best s':>8}{'x plain':>9}{'cache':>8}{'bits/B':>8}")
    for r in rows:
        b = "-" if r["budget"] is None else ",".join(map(str, r["budget"]))
        print(f"{r['policy']:<15}{b:>22}{r['median_s']:>10.3f}{r['best_s']:>8.3f}{r['ratio_median']:>9.2f}"
              f"{r['mean_cache']:>8.1f}{r['bits_per_byte']:>8.3f}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"checkpoint": args.checkpoint, "default_budget": list(budget),
                                           "repeats": args.repeats, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
