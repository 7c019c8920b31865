"""How tracing cost grows with the input: Expire-Span against Transformer-XL, 1k to 256k bytes.

    python bench/growth.py [--checkpoint checkpoints/text] [--baseline runs/text-txl/final]
                           [--sizes 1024,4096,16384,65536,262144] [--repeats 1] [--device auto|cpu|cuda]

Models: the checkpoint (Expire-Span); the same weights with expiry off keeping the nearest L memories
(Transformer-XL at the same L); and, with --baseline, a Transformer-XL trained on its own (its own L).
Every (model, size) runs in a fresh process so that peak memory is that run's alone: the extra memory
at the peak of the trace over what the loaded, warmed-up model already held (CPU: resident set; GPU:
allocator). The trace's own output arrays grow with the input by a few dozen bytes a token; the model's
memory (the memories it keeps) should not. Held-out text: data/corpus/test.txt. Prints a table, writes JSON.
"""
import argparse
import json
import math
import subprocess
import sys
import time

from pathlib import Path

import numpy as np

from bench.models import ROOT, PeakMemory, heldout_text, load, machine, pick_device, without_expiry
from model import trace

MODELS = ["expire-span", "transformer-xl same L", "transformer-xl trained"]


def build(name: str, args, device):
    if name == "transformer-xl trained":
        return load(args.baseline, device)
    model = load(args.checkpoint, device)
    return without_expiry(model) if name == "transformer-xl same L" else model


def measure(name: str, n_bytes: int, args) -> dict:
    """One run, in this process: trace n_bytes of held-out text once, after a short warm-up."""
    device = pick_device(args.device)
    model = build(name, args, device)
    data = heldout_text(n_bytes)
    trace(model, data[:512])
    with PeakMemory(device) as peak:
        start = time.perf_counter()
        result = trace(model, data)
        if device.type == "cuda":
            import torch
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - start
    per_block = result.cache_size.mean(0)  # memories a block's queries could see, mean over layers
    bits = result.bits[~np.isnan(result.bits)]  # every byte's loss but the first's (bits[0] is NaN)
    return dict(model=name, bytes=n_bytes, seconds=round(seconds, 3),
                ms_per_1k=round(1000 * seconds / n_bytes * 1000, 1), peak_mb=round(peak.mb, 1),
                kept_mean=round(float(per_block.mean()), 1), kept_max=round(float(per_block.max()), 1),
                kept_last=round(float(per_block[-1]), 1), max_span=model.config.max_span,
                bits_per_byte=round(float(bits.mean()), 4), machine=machine(device))


def run_isolated(name: str, n_bytes: int, args) -> dict:
    cmd = [sys.executable, "-m", "bench.growth", "--worker", name, str(n_bytes), "--checkpoint", args.checkpoint,
           "--device", args.device] + (["--baseline", args.baseline] if args.baseline else [])
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"{name} at {n_bytes:,} bytes failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_header():
    print(f"{'model':<24}{'bytes':>9}{'seconds':>9}{'ms/1k':>8}{'peak MB':>9}{'kept mean':>11}"
          f"{'kept max':>10}{'L':>6}{'bits/byte':>11}")


def print_rows(rows):
    for r in rows:
        print(f"{r['model']:<24}{r['bytes']:>9,}{r['seconds']:>9.2f}{r['ms_per_1k']:>8.1f}{r['peak_mb']:>9.1f}"
              f"{r['kept_mean']:>11.1f}{r['kept_max']:>10.1f}{r['max_span']:>6}{r['bits_per_byte']:>11.4f}")


def ratios(rows):
    """Expire-Span / same-L Transformer-XL at each size: time and peak memory, as ratios of the medians
    over repeats, and the spread of the time ratio over the repeats' pairs (run one after the other)."""
    out = {}
    by = {}
    for r in rows:
        by.setdefault((r["model"], r["bytes"]), []).append(r)
    for (name, n), runs in by.items():
        others = by.get(("transformer-xl same L", n))
        if name != "expire-span" or not others:
            continue
        med = lambda rs, key: float(np.median([r[key] for r in rs]))
        pairs = [a["seconds"] / b["seconds"] for a, b in zip(runs, others)]
        other_mb = med(others, "peak_mb")
        out[n] = dict(time=round(med(runs, "seconds") / med(others, "seconds"), 3),
                      time_pairs=[round(x, 3) for x in pairs], repeats=len(pairs),
                      peak_memory=round(med(runs, "peak_mb") / other_mb, 3) if other_mb > 0 else math.nan,
                      bits_delta=round(runs[0]["bits_per_byte"] - others[0]["bits_per_byte"], 4))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "text"))
    parser.add_argument("--baseline", help="a trained Transformer-XL checkpoint (expire_span false)")
    parser.add_argument("--sizes", default="1024,4096,16384,65536,262144")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs of every (model, size), alternating models; ratios use the medians")
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "growth.json"))
    parser.add_argument("--worker", nargs=2, metavar=("MODEL", "BYTES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker[0], int(args.worker[1]), args)))
        return
    names = MODELS if args.baseline else MODELS[:2]
    rows = []
    print_header()
    for n in [int(s) for s in args.sizes.split(",")]:
        for _ in range(args.repeats):
            for name in names:
                rows.append(run_isolated(name, n, args))
                print_rows(rows[-1:])
    print(f"\n{rows[0]['machine']}")
    r = ratios(rows)
    print("\nExpire-Span / Transformer-XL (same weights, same L; medians over repeats):")
    for n, v in r.items():
        spread = f" (pairs {min(v['time_pairs']):.2f}-{max(v['time_pairs']):.2f})" if v["repeats"] > 1 else ""
        print(f"  {n:>9,} bytes: time {v['time']:.2f}x{spread}, peak memory {v['peak_memory']:.2f}x, "
              f"bits/byte {v['bits_delta']:+.4f}")
    out = dict(machine=rows[0]["machine"], checkpoint=args.checkpoint, baseline=args.baseline, rows=rows,
               ratios={str(k): v for k, v in r.items()})
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
