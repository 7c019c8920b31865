"""Tracing against the hardware: achieved GFLOP/s next to the measured fp32 matrix-multiply peak, and
where the time goes (torch.profiler).

    python bench/hardware.py [--checkpoint checkpoints/text] [--bytes 4096] [--device auto|cpu|cuda]

Peak: the best of square fp32 matrix multiplies (n = 512 ... 4096) with torch on this device.
Work: the trace's multiply-adds counted from the model's shapes and, per block and layer, the number of
memories the block's queries actually saw (Trace.cache_size), so expired memories cost nothing here:
  per layer and block of T tokens seeing S keys (cache + block), d = d_model, P = M position columns:
    query, key, value and output projections 4 * 2*T*d*d, span predictor 2*T*d, feed-forward 2 * 2*T*d*d_ff,
    scores and weighted values 2 * 2*T*S*d, position scores 2*T*d*P; and the output head 2*T*d*V.
The share of the peak uses this count, the work the result needs. The trace runs two blocks a pass
(model/trace BLOCKS_PER_PASS), which also scores keys that are masked out; that larger count is printed too.
This machine's speed drifts (the same multiply runs 140-195 GFLOP/s minute to minute), so each trace is
also paired with a short 1024 x 1024 multiply run just before it, and the median of those paired shares
is printed next to the share of the best peak. Prints both, the share of the peak, and the profiler's top
operators grouped by kind. Writes JSON.
"""
import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from bench.models import ROOT, heldout_text, load, machine, pick_device
from model import trace
from model.trace import BLOCKS_PER_PASS

KINDS = {  # profiler operator -> kind of work
    "matrix multiply": ("aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "aten::linear", "aten::baddbmm"),
    "fused attention": ("aten::_scaled_dot_product_flash_attention_for_cpu", "aten::_scaled_dot_product_attention_math",
                        "aten::_scaled_dot_product_flash_attention", "aten::_scaled_dot_product_efficient_attention",
                        "aten::_scaled_dot_product_cudnn_attention"),
    "softmax": ("aten::_softmax", "aten::_log_softmax", "aten::softmax", "aten::log_softmax"),
    "copies and indexing": ("aten::cat", "aten::gather", "aten::copy_", "aten::index", "aten::nonzero",
                            "aten::masked_fill", "aten::clone", "aten::contiguous", "aten::expand", "aten::_to_copy",
                            "aten::to", "aten::where", "aten::cumsum", "aten::arange", "aten::index_select"),
}


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_rate(device, n: int = 1024, seconds: float = 0.3) -> float:
    """GFLOP/s of n x n fp32 multiplies over about `seconds`: the machine's rate right now."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b
    sync(device)
    reps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        reps += 1
    sync(device)
    return 2 * n ** 3 * reps / (time.perf_counter() - start) / 1e9


def matmul_peak(device, sizes=(512, 1024, 2048, 4096)) -> dict:
    best = {n: matmul_rate(device, n, seconds=0.5) for n in sizes}
    return {"gflops": round(max(best.values()), 1), "by_size": {k: round(v, 1) for k, v in best.items()}}


def trace_flops(model, result, blocks_per_pass: int = 1) -> float:
    """Multiply-adds x 2 of one trace, from the shapes and the memories each block actually saw.

    blocks_per_pass 1 counts the work the result needs (one pass per block of M); the trace runs
    BLOCKS_PER_PASS blocks a pass, whose queries also score the pass's later tokens and what its block
    boundaries dropped (masked out, weight 0): count that with blocks_per_pass = BLOCKS_PER_PASS.
    """
    cfg = model.config
    d, M = cfg.d_model, cfg.block_size
    T_total = len(result.tokens)
    size = M * blocks_per_pass
    passes = [(a // M, min(size, T_total - a)) for a in range(0, T_total, size)]  # (first block, tokens)
    flops = 0.0
    for layer in range(cfg.n_layers):
        for first_block, T in passes:
            S = result.cache_size[layer, first_block] + T
            flops += 4 * 2 * T * d * d + 2 * 2 * T * d * cfg.d_ff + 2 * 2 * T * S * d + 2 * T * d * M
            if cfg.expire_span:
                flops += 2 * T * d
    return flops + 2 * T_total * d * cfg.vocab_size


def profile(model, data, device) -> tuple[list, dict, float]:
    from torch.profiler import ProfilerActivity, profile as torch_profile
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with torch_profile(activities=activities):  # the profiler's own start-up, not measured
        trace(model, data[:512])
    start = time.perf_counter()
    with torch_profile(activities=activities) as prof:
        trace(model, data)
        sync(device)
    wall = time.perf_counter() - start
    events = prof.key_averages()
    time_attr = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    rows = sorted(((e.key, getattr(e, time_attr) / 1e6, e.count) for e in events), key=lambda r: -r[1])
    by_kind = defaultdict(float)
    for name, seconds, _ in rows:
        kind = next((k for k, names in KINDS.items() if name in names), "other operators")
        by_kind[kind] += seconds
    return rows[:15], dict(by_kind), wall


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "text"))
    parser.add_argument("--bytes", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "hardware.json"))
    args = parser.parse_args()
    device = pick_device(args.device)
    peak = matmul_peak(device)
    model = load(args.checkpoint, device)
    data = heldout_text(args.bytes)
    trace(model, data[:512])
    times, rates = [], []
    for _ in range(args.repeats):  # each trace next to a fresh peak: this machine's speed drifts by 30%
        rates.append(matmul_rate(device))
        start = time.perf_counter()
        result = trace(model, data)
        sync(device)
        times.append(time.perf_counter() - start)
    seconds = float(np.median(times))
    flops = trace_flops(model, result)
    executed = trace_flops(model, result, BLOCKS_PER_PASS)
    achieved = flops / seconds / 1e9
    shares = [flops / t / 1e9 / r for t, r in zip(times, rates)]
    top, by_kind, wall = profile(model, data, device)
    ops_total = sum(by_kind.values())

    print(machine(device))
    print(f"fp32 matrix-multiply peak: {peak['gflops']:.1f} GFLOP/s  (by size: {peak['by_size']})")
    print(f"trace of {args.bytes:,} bytes: {seconds:.3f} s median of {args.repeats}, {flops / 1e9:.2f} GFLOP "
          f"-> {achieved:.1f} GFLOP/s = {100 * achieved / peak['gflops']:.0f}% of the peak")
    print(f"  (counted as one pass per block of {model.config.block_size}: the work the result needs; the trace runs "
          f"{BLOCKS_PER_PASS} blocks a pass and executes {executed / 1e9:.2f} GFLOP, "
          f"{executed / seconds / 1e9:.1f} GFLOP/s, the extra being scores of keys masked out)")
    print(f"paired with a 1024 x 1024 multiply run just before each trace: {100 * np.median(shares):.0f}% "
          f"median ({100 * min(shares):.0f}-{100 * max(shares):.0f}%); those multiplies ran at "
          f"{min(rates):.0f}-{max(rates):.0f} GFLOP/s; traces {min(times):.3f}-{max(times):.3f} s")
    print(f"\nprofiled run: {wall:.3f} s wall, {ops_total:.3f} s inside torch operators "
          f"({100 * ops_total / wall:.0f}%); the rest is Python and dispatch")
    for kind, s in sorted(by_kind.items(), key=lambda kv: -kv[1]):
        print(f"  {kind:<22}{s:>8.3f} s {100 * s / wall:>5.0f}%")
    print(f"\n{'operator':<32}{'self s':>9}{'calls':>8}")
    for name, s, count in top:
        print(f"{name:<32}{s:>9.3f}{count:>8}")
    out = dict(machine=machine(device), peak=peak, bytes=args.bytes, trace_seconds=round(seconds, 4),
               gflop=round(flops / 1e9, 3), achieved_gflops=round(achieved, 1), blocks_per_pass=BLOCKS_PER_PASS,
               executed_gflop=round(executed / 1e9, 3),
               share_of_peak=round(achieved / peak["gflops"], 3), trace_times=[round(t, 4) for t in times],
               paired_peaks=[round(r, 1) for r in rates], paired_shares=[round(x, 3) for x in shares],
               paired_share_median=round(float(np.median(shares)), 3), profiled_wall=round(wall, 3),
               by_kind={k: round(v, 4) for k, v in by_kind.items()},
               top_operators=[dict(name=n, self_s=round(s, 4), calls=c) for n, s, c in top])
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
