"""Trace time for 4,096 bytes: Expire-Span against the same model with expiry off (Transformer-XL).

    python bench/trace_speed.py [--checkpoint DIR] [--bytes 4096] [--repeats 5] [--json out.json]
    python bench/trace_speed.py --checkpoint checkpoints/text --against runs/text-a2e5/final --repeats 11

Without --checkpoint it uses a freshly initialised 4-layer, d_model 256 model (spans at p * L).
--against DIR: instead of the same model with expiry off, pair the checkpoint with another one (say the model it
replaces), on held-out text (data/corpus/test.txt where it exists), the two traced in turn, and print the
median ratio of the pairs. Prints a table and writes the figures as JSON.
"""
import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from model import ExpireSpanConfig, ExpireSpanLM, trace

DEFAULT = dict(vocab_size=256, n_layers=4, d_model=256, n_heads=4, d_ff=1024, block_size=128, max_span=2048,
               ramp=64, init_span_fraction=0.1)


def time_trace(model, data, repeats):
    trace(model, data[:512])  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = trace(model, data)
        times.append(time.perf_counter() - start)
    return min(times), float(np.median(times)), result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint")
    parser.add_argument("--bytes", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default="bench/results/trace_speed.json")
    parser.add_argument("--against", help="another checkpoint to pair with, traced in turn")
    args = parser.parse_args()
    if args.against:
        return paired(args)
    torch.manual_seed(0)
    if args.checkpoint:
        expire = ExpireSpanLM.from_pretrained(args.checkpoint)
    else:
        expire = ExpireSpanLM(ExpireSpanConfig(**DEFAULT)).eval()
    baseline = ExpireSpanLM(ExpireSpanConfig(**{**expire.config.to_dict(), "expire_span": False})).eval()
    data = bytes(np.random.default_rng(0).integers(32, 127, args.bytes).tolist())
    text = Path(__file__).resolve().parents[1] / "README.md"
    if text.exists():  # real text where there is enough of it
        raw = (text.read_bytes() * (args.bytes // max(len(text.read_bytes()), 1) + 1))[: args.bytes]
        data = raw
    rows = []
    for name, model in [("expire-span", expire), ("transformer-xl", baseline)]:
        best, median, result = time_trace(model, data, args.repeats)
        rows.append(dict(model=name, bytes=args.bytes, best_s=round(best, 3), median_s=round(median, 3),
                         mean_memories=round(result.mean_kept, 1), max_span=model.config.max_span,
                         block_size=model.config.block_size))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    print(f"{'model':<16}{'bytes':>7}{'best s':>9}{'median s':>10}{'memories':>10}{'L':>6}{'M':>5}")
    for r in rows:
        print(f"{r['model']:<16}{r['bytes']:>7}{r['best_s']:>9.3f}{r['median_s']:>10.3f}"
              f"{r['mean_memories']:>10.1f}{r['max_span']:>6}{r['block_size']:>5}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"config": expire.config.to_dict(), "rows": rows}, indent=2))


def paired(args):
    """--against: both checkpoints traced in turn on the same held-out bytes; medians and the pairs' ratio."""
    a, b = ExpireSpanLM.from_pretrained(args.checkpoint), ExpireSpanLM.from_pretrained(args.against)
    held_out = Path(__file__).resolve().parents[1] / "data" / "corpus" / "test.txt"
    data = held_out.read_bytes()[: args.bytes] if held_out.exists() else (Path(__file__).parent / "README.md"
                                                                            ).read_bytes()[: args.bytes]
    for model in (a, b):
        trace(model, data[:512])  # warm up
    times = {args.checkpoint: [], args.against: []}
    for _ in range(args.repeats):
        for name, model in ((args.checkpoint, a), (args.against, b)):
            start = time.perf_counter()
            trace(model, data)
            times[name].append(time.perf_counter() - start)
    ratios = [x / y for x, y in zip(times[args.checkpoint], times[args.against])]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {len(data):,} bytes, {args.repeats} pairs")
    for name, t in times.items():
        print(f"{name:<40} median {np.median(t):.3f} s  (best {min(t):.3f}, worst {max(t):.3f})")
    print(f"ratio {args.checkpoint} / {args.against}: median {np.median(ratios):.2f} "
          f"(pairs {min(ratios):.2f}-{max(ratios):.2f})")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"bytes": len(data), "seconds": times, "ratios": ratios}, indent=2))


if __name__ == "__main__":
    main()
