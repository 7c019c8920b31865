"""Training step time and peak memory at a fixed batch: Expire-Span against Transformer-XL (paper Table 4).

    python bench/train_step.py [--settings text,object-collision] [--timed 5] [--device auto|cpu|cuda]

For each shipped checkpoint (its run_config.json gives the task, the model and the batch) three models
take full training steps (forward, backward, clipping, Adam) on the task's training data:
  expire-span trained  the shipped weights, spans as training shrank (or grew) them
  expire-span init     fresh weights, every span at p * L (method 2.2)
  transformer-xl       expiry off, the nearest L memories kept, L the same as Expire-Span's
The memory is filled first (L / M + 2 untimed forward passes), then `--timed` steps are timed; peak memory is the
most memory the steps used beyond the built model (activations, gradients, Adam state, kept memories),
each model in a fresh process. The learning rate is set to 1e-9 so the trained spans stay as shipped
(the cost of a step does not depend on it). Prints a table and writes JSON.
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from bench.models import ROOT, PeakMemory, machine, pick_device
from model import ExpireSpanLM
from model.train import Run, parse_run_config


def run_for(checkpoint: Path, variant: str, steps: int, device: torch.device) -> Run:
    raw = json.loads((checkpoint / "run_config.json").read_text())
    raw["data"] = {"task": raw["data"]["task"], **{k: v for k, v in raw["data"].items() if k != "task"}}
    raw["train"].update(steps=steps, lr=1e-9, warmup=0, out_dir=tempfile.mkdtemp())
    if variant == "transformer-xl":
        raw["model"]["expire_span"] = False
    run = Run(parse_run_config(raw, checkpoint / "run_config.json"), device)
    if variant == "expire-span trained":
        trained = ExpireSpanLM.from_pretrained(checkpoint)
        run.model.load_state_dict(trained.state_dict())
    return run


def measure(checkpoint: Path, variant: str, timed: int, device: torch.device) -> dict:
    cfg = json.loads((checkpoint / "config.json").read_text())
    warm = cfg["max_span"] // cfg["block_size"] + 2
    run = run_for(checkpoint, variant, warm + timed, device)
    times, kept = [], []
    with PeakMemory(device) as peak:  # from the built model on: activations, gradients, Adam state, memories
        with torch.no_grad():  # fill the memory with forward passes only: the same memory, a third of the time
            for _ in range(warm):
                x, y, reset = run.walker.next()
                x, y = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
                run.memory = run.model(x, None if reset else run.memory, targets=y).memory
        for _ in range(timed):
            start = time.perf_counter()
            stats = run.train_step()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            times.append(time.perf_counter() - start)
            kept.append(stats["kept"])
    batch = run.cfg.train.batch_size
    return dict(setting=checkpoint.name, model=variant, batch=f"{batch} x {cfg['block_size']}",
                ms_per_step=round(1000 * statistics.median(times), 1), peak_mb=round(peak.mb, 1),
                kept=round(statistics.mean(kept), 1), max_span=cfg["max_span"])


def run_isolated(name: str, variant: str, args) -> dict:
    """Each measurement in a fresh process, so that its peak memory is its own."""
    cmd = [sys.executable, "-m", "bench.train_step", "--worker", name, variant, "--timed", str(args.timed),
           "--device", args.device]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"{name}, {variant} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", default="text,object-collision", help="checkpoint names in checkpoints/")
    parser.add_argument("--timed", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "train_step.json"))
    parser.add_argument("--worker", nargs=2, metavar=("SETTING", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    device = pick_device(args.device)
    if args.worker:
        print(json.dumps(measure(ROOT / "checkpoints" / args.worker[0], args.worker[1], args.timed, device)))
        return
    rows = []
    print(f"{'setting':<18}{'model':<22}{'batch':>10}{'ms/step':>10}{'peak MB':>10}{'kept':>8}{'L':>6}")
    for name in args.settings.split(","):
        checkpoint = ROOT / "checkpoints" / name
        if not (checkpoint / "run_config.json").is_file():
            print(f"{name}: no shipped checkpoint with run_config.json, skipped")
            continue
        for variant in ["expire-span trained", "expire-span init", "transformer-xl"]:
            r = run_isolated(name, variant, args)
            rows.append(r)
            print(f"{r['setting']:<18}{r['model']:<22}{r['batch']:>10}{r['ms_per_step']:>10.1f}{r['peak_mb']:>10.1f}"
                  f"{r['kept']:>8.1f}{r['max_span']:>6}")
    print(machine(device))
    ratios = {}
    for name in {r["setting"] for r in rows}:
        by = {r["model"]: r for r in rows if r["setting"] == name}
        base = by["transformer-xl"]
        for variant in ["expire-span trained", "expire-span init"]:
            r = by[variant]
            ratios[f"{name} {variant}"] = dict(time=round(r["ms_per_step"] / base["ms_per_step"], 3),
                                               peak_memory=round(r["peak_mb"] / base["peak_mb"], 3))
            print(f"{name}, {variant} / transformer-xl: time {ratios[f'{name} {variant}']['time']:.2f}x, "
                  f"peak memory {ratios[f'{name} {variant}']['peak_memory']:.2f}x")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(dict(machine=machine(device), rows=rows, ratios=ratios), indent=2))


if __name__ == "__main__":
    main()
