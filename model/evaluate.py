"""Evaluate shipped checkpoints against their equal-memory Transformer-XL baselines; write the results.

    python -m model.evaluate --task corridor --checkpoint checkpoints/corridor [--baseline runs/corridor-txl/final]

Each call measures one task (the Expire-Span model, and the baseline when given), stores the numbers in
`checkpoints/results.json` (numbers of earlier calls for other tasks, or of a baseline not given this
time, are kept) and writes `checkpoints/README.md` from all of them: the shape of the paper's Table 4.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from .batches import corridor_config, collision_config, make_walker
from .cli import command, describe
from .errors import ExpireSpanError
from .expire_span import ExpireSpanLM
from .jsonfile import read_small_json
from .collision_memory import fresh_sequences, measure_fresh
from .memory_use import (block_bootstrap, measure_text, needs_long_context, returning_names, training_words,
                         written_texts)
from .metrics import eval_blocks, evaluate
from .policy_eval import evaluate_policies, policy_table
from .tasks import collision, corridor
from .trace import trace

RESULTS = Path("checkpoints/results.json")
RESULTS_LIMIT = 16 * 2**20   # bytes: results.json is a few hundred KB
SMALL_FILE = 2**20           # bytes: a run config or a corpus summary
TASKS = {"text": "text", "object-collision": "collision", "corridor": "corridor"}


def run_config(checkpoint: Path) -> dict:
    """The training config saved beside a run, or the copy shipped with a checkpoint."""
    for path in (checkpoint / "run_config.json", checkpoint.parent / "run_config.json"):
        if path.exists():
            return read_small_json(path, str(path), SMALL_FILE, "run config", ExpireSpanError)
    raise ExpireSpanError(f"no run_config.json beside {checkpoint}: it says which data the model was trained on")


def read_results(path: Path) -> dict:
    """results.json, read bounded (a regular file only); anything but a JSON object is one ExpireSpanError."""
    results = read_small_json(path, str(path), RESULTS_LIMIT, "results file", ExpireSpanError)
    if not isinstance(results, dict):
        raise ExpireSpanError(f"{path} is not a results file (a JSON object)")
    return results


def trace_seconds(model, tokens, repeats=3) -> float:
    trace(model, tokens[:512])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        trace(model, tokens)
        times.append(time.perf_counter() - start)
    return min(times)


def held_out_metrics(model, task, data, seed, n_tokens, batch_size=8, span_limit=None, split="test") -> dict:
    M = model.config.block_size
    walker = make_walker(task, data, split, batch_size, M, seed, n_tokens)
    return evaluate(model, walker, eval_blocks(walker, n_tokens, batch_size, M), span_limit=span_limit)


def bits_by_source(model, data, seed) -> dict:
    """Bits per byte on each source's held-out documents (test-SOURCE.txt), on the modern split (test-modern.txt:
    the sources added after test.txt was frozen) and on the names split (test-names.txt, docs/method.md 16.2),
    for corpora that have them."""
    corpus = Path(data.get("corpus", "data/corpus"))
    summary_path = corpus / "summary.json"
    summary = read_small_json(summary_path, str(summary_path), SMALL_FILE, "corpus summary", ExpireSpanError) \
        if summary_path.exists() else {}
    sources = summary.get("sources", {}) if isinstance(summary, dict) else {}
    result = {}
    for name, split in [(s, f"test-{s}") for s in sources] + [("modern", "test-modern"), ("names", "test-names")]:
        path = corpus / f"{split}.txt"
        if path.exists():
            result[name] = held_out_metrics(model, "text", data, seed, path.stat().st_size, split=split)["bits"]
    return {"bits_by_source": result} if result else {}


def text_figures(model, data, max_bytes=10**6) -> dict:
    """Span spread per layer, and the paper's Figure 9 as numbers: where the loss goes when L is cut to
    L/4, on the whole test split."""
    test = (Path(data.get("corpus", "data/corpus")) / "test.txt").read_bytes()[:max_bytes]
    L = model.config.max_span
    full, cut = trace(model, test), trace(model, test, span_limit=L // 4)
    p50, p90 = np.percentile(full.spans, 50, axis=1), np.percentile(full.spans, 90, axis=1)
    rise = (cut.bits - full.bits)[1:]  # bits[i]: loss of predicting byte i; byte 0 has none (NaN)
    long = needs_long_context(test, L // 4, L)[1:]  # aligned with rise: bytes 1..T-1
    top = np.argsort(rise)[::-1][: max(1, len(rise) // 100)]
    return {
        "span_p50": p50.round(1).tolist(), "span_p90": p90.round(1).tolist(),
        "span_p90_over_p50": (p90 / np.maximum(p50, 1e-9)).round(2).tolist(),
        "fig9_bytes": len(test), "fig9_limit": L // 4,
        "fig9_mean_rise_bits": float(rise.mean()),
        "fig9_rise_long_context": float(rise[long].mean()) if long.any() else None,
        "fig9_rise_other": float(rise[~long].mean()),
        "fig9_long_context_minus_other_ci95": block_bootstrap(rise, long),
        "fig9_long_context_share_of_bytes": float(long.mean()),
        "fig9_long_context_share_of_rise": float(rise[long].sum() / rise.sum()) if rise.sum() > 0 else None,
        "fig9_long_context_share_of_top1pct": float(long[top].mean()),
    }


def collision_figures(model, data) -> dict:
    """Spans of collision frames against ordinary ones, and the error, on the fresh sequences (docs/method.md
    section 17, model/collision_memory.py)."""
    return {"fresh": measure_fresh(model, collision_config(data))}


def corridor_figures(model, data, length) -> dict:
    cfg = corridor_config(data)
    rng = np.random.default_rng(12345)
    cue_spans, distractor_medians = [], []
    for _ in range(8):
        tokens, targets = corridor.episode(cfg, length, rng)
        t = trace(model, tokens, targets=targets)
        cue_spans.append(t.spans[:, 1])
        distractor_medians.append(np.median(t.spans[:, 2:-1], axis=1))
    return {"corridor_length": length, "cue_span": np.mean(cue_spans, 0).round(1).tolist(),
            "distractor_median_span": np.mean(distractor_medians, 0).round(1).tolist()}


DEFAULT_TOKENS = {"text": 10**6, "collision": 2 * 10**5, "corridor": 2 * 10**5}


def measure(checkpoint: Path, task: str, figures: bool, n_tokens: int | None = None) -> dict:
    model = ExpireSpanLM.from_pretrained(checkpoint)
    cfg = run_config(checkpoint)
    data, seed = dict(cfg["data"]), cfg["train"]["seed"]
    data.pop("task")
    n_tokens = n_tokens or DEFAULT_TOKENS[task]
    if task == "corridor":
        data["eval_length"] = data.get("eval_length", 1000)
    result = {"checkpoint": str(checkpoint), "config": model.config.to_dict(),
              **held_out_metrics(model, task, data, seed, n_tokens)}
    if task == "text":
        result.update(bits_by_source(model, data, seed))
        source = (Path(data.get("corpus", "data/corpus")) / "test.txt").read_bytes()[:4096]
    elif task == "collision":
        cfg = collision_config(data)
        source = collision.generate(cfg, 4096 // cfg.frame_len + 1, 1).tokens[:4096]
    else:
        source = corridor.stream(corridor_config(data), 4096, 1).tokens
    result["trace_seconds_4096"] = round(trace_seconds(model, source), 3)
    if figures:
        if task == "text":
            result.update(text_figures(model, data))
            L = model.config.max_span
            quarter = held_out_metrics(model, task, data, seed, n_tokens, span_limit=L // 4)
            result["test_bits_at_quarter_L"] = quarter["bits"]
        elif task == "collision":
            result.update(collision_figures(model, data))
        else:
            result.update(corridor_figures(model, data, data["eval_length"]))
    return result


def rounded(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, list):
        return [rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return value


def measured_lines(result: dict) -> list[str]:
    """'- key: value' lines of one measured model (its config and path left out), for the READMEs."""
    return [f"- {key}: {rounded(value)}" for key, value in result.items() if key not in ("config", "checkpoint")]


def fmt(x, digits=3):
    return "—" if x is None else (f"{x:.{digits}f}" if isinstance(x, float) else str(x))


def write_readme(results: dict, path: Path) -> None:
    lines = ["# Shipped checkpoints: results", "",
             "Written by `python -m model.evaluate` from `results.json`; every number was measured on the "
             "held-out split on a 2-core CPU. Baselines are Transformer-XL models of the same size whose "
             "memory equals the Expire-Span model's average kept memory; those that ship are named with their "
             "folder (the others were trained but not shipped).", "",
             "| task | model | metric | test | mean kept memory | L | trace 4,096 tokens (s) |",
             "|---|---|---|---|---|---|---|"]
    for name, task in TASKS.items():
        for kind in ("expire_span", "baseline"):
            r = results.get(name, {}).get(kind)
            if not r:
                continue
            metric = "bits per byte" if task == "text" else "error"
            value = r["bits"] if task == "text" else r["error"]
            label = "Expire-Span" if kind == "expire_span" else "Transformer-XL"
            shipped = Path(r.get("checkpoint", "")).parts[:1] == ("checkpoints",)
            label += f" (`{Path(r['checkpoint']).name}`)" if kind == "baseline" and shipped else ""
            lines.append(f"| {name} | {label} | {metric} | "
                         f"{fmt(value)} | {r['kept']:.0f} | {r['config']['max_span']} | "
                         f"{fmt(r['trace_seconds_4096'])} |")
    lines += source_table(results.get("text", {}))
    for name in TASKS:
        r = results.get(name, {}).get("expire_span")
        if not r:
            continue
        lines += ["", f"## {name}", "", *measured_lines(r)]
        lines += [f"- note: {note}" for note in results.get(name, {}).get("notes", [])]
    lines += memory_use_table(results.get("text", {}).get("memory_use", {}))
    lines += runs_table(results.get("text", {}))
    for name in TASKS:
        if name != "text":
            lines += runs_table(results.get(name, {}), name)
    lines += policy_section(results)
    path.write_text("\n".join(lines) + "\n")


def source_table(entry: dict) -> list[str]:
    """Markdown rows: the text models' bits per byte on each source's held-out documents."""
    rows = [(label, entry[kind]["bits_by_source"]) for kind, label in
            (("expire_span", "Expire-Span"), ("baseline", "Transformer-XL"))
            if entry.get(kind, {}).get("bits_by_source")]
    if not rows:
        return []
    names = list(dict.fromkeys(k for _, r in rows for k in r))
    head = ["model", *[("modern (held-out python-docs + debian-handbook)" if n == "modern" else n) for n in names]]
    return ["", "Text, bits per byte on each source's held-out documents (test.txt is wikipedia + bible + "
            "shakespeare, frozen on 2026-11-26; modern is the sources added on 2026-12-01):", "",
            "| " + " | ".join(head) + " |", "|" + "---|" * len(head),
            *["| " + " | ".join([label, *[fmt(r.get(n)) for n in names]]) + " |" for label, r in rows]]


# --policies: memory policies on held-out data (model/policy_eval.py). Text: 131,072 bytes, 8 slices of 16,384
# across test.txt (the training runs' eval_tokens); the tasks: 200,000 tokens, the test table's own blocks,
# so the Expire-Span row at x1 repeats its error.
POLICY_TOKENS = {"text": 131072, "collision": 200_000, "corridor": 200_000}


def measure_policies(checkpoint: Path, task: str, n_tokens: int | None = None, reference=None,
                     fresh: bool = False) -> dict:
    """evaluate_policies on a checkpoint's held-out data (fresh: on the collision task's fresh sequences
    instead, docs/method.md 17.3); reference: the Expire-Span model's mean kept memory per layer (for a baseline
    with as many layers: the same budgets), else its own."""
    model = ExpireSpanLM.from_pretrained(checkpoint)
    cfg = run_config(checkpoint)
    data, seed = dict(cfg["data"]), cfg["train"]["seed"]
    data.pop("task")
    if task == "corridor":
        data["eval_length"] = data.get("eval_length", 1000)
    if reference is not None and len(reference) != model.config.n_layers:
        reference = None
    pieces = [(s.tokens, s.targets) for s in fresh_sequences(collision_config(data))] if fresh else None
    result = evaluate_policies(model, task, data, seed, n_tokens or POLICY_TOKENS[task], reference=reference,
                               log=lambda line: print(f"{checkpoint}: {line}", file=sys.stderr, flush=True),
                               pieces=pieces)
    return {"checkpoint": str(checkpoint), **result}


def policy_entry(args, task: str, old: dict) -> dict:
    """results[task]["policies"]: the Expire-Span model's, and the baseline's under the same budgets (an
    earlier baseline's is kept when --baseline is not given and its budgets still match)."""
    reuse = args.baseline_only and old.get("expire_span", {}).get("checkpoint") == str(Path(args.checkpoint))
    entry = {"expire_span": old["expire_span"] if reuse else measure_policies(Path(args.checkpoint), task,
                                                                                args.policy_tokens)}
    reference = entry["expire_span"]["reference"]
    if args.baseline:
        entry["baseline"] = measure_policies(Path(args.baseline), task, args.policy_tokens, reference)
    elif old.get("baseline", {}).get("reference") == reference and old["baseline"]["tokens"] == \
            entry["expire_span"]["tokens"]:
        entry["baseline"] = old["baseline"]
    if task == "collision":  # also on the fresh sequences, at the budgets of the held-out pieces (17.3)
        entry["fresh"] = {"expire_span": measure_policies(Path(args.checkpoint), task, reference=reference,
                                                          fresh=True)}
    return entry


def policy_section(results: dict) -> list[str]:
    """README lines: every task's memory policies table (policy_table), for the tasks that have them, and the
    notes written by hand in results[task]["policy_notes"] (kept when the policies are measured again)."""
    lines = []
    for name in TASKS:
        entry = results.get(name, {}).get("policies")
        if entry and entry.get("expire_span"):
            lines += ["", f"### {name}", "", *policy_table(entry)]
            if entry.get("fresh", {}).get("expire_span"):
                lines += ["", f"{name}, fresh sequences (docs/method.md 17.3: seeds 9,000-9,002, 3,000 frames "
                          "each, from empty memory; the budgets of the table above):", "",
                          *policy_table(entry["fresh"])]
            lines += [f"- note: {note}" for note in results[name].get("policy_notes", [])]
    if not lines:
        return []
    return ["", "## Memory policies at equal memory", "",
            "Measured by `python -m model.evaluate --policies` (model/policy_eval.py, docs/method.md 15.6): each "
            "rule keeps at most its budget of memories per layer, a multiple of what the Expire-Span model keeps "
            "on average; the model's weights are its own throughout.", *lines]


# --memory-use (docs/method.md section 16): on the first MEMORY_USE_BYTES of each held-out split, and on every
# written text of assets/texts/.
MEMORY_USE_BYTES = 262_144
MEMORY_USE_SPLITS = {"test": "test", "modern": "test-modern", "names": "test-names"}


def memory_use_entry(checkpoint: Path, baseline: Path | None, max_bytes: int = MEMORY_USE_BYTES) -> dict:
    """results["text"]["memory_use"]: every measure of model/memory_use.py for the model and its baseline, on
    the held-out splits and the written texts; far names are those beyond the baseline's reach (L + M)."""
    models = {"expire_span": ExpireSpanLM.from_pretrained(checkpoint)}
    corpora = [Path(run_config(checkpoint)["data"].get("corpus", "data/corpus"))]
    if baseline:
        models["baseline"] = ExpireSpanLM.from_pretrained(baseline)
        corpora.append(Path(run_config(baseline)["data"].get("corpus", "data/corpus")))
    known = training_words(sorted({c / "train.txt" for c in corpora}))
    reach = models.get("baseline", models["expire_span"]).config
    far = reach.max_span + reach.block_size
    texts = {f"split:{name}": (corpora[0] / f"{file}.txt").read_bytes()[:max_bytes]
             for name, file in MEMORY_USE_SPLITS.items() if (corpora[0] / f"{file}.txt").exists()}
    texts.update(written_texts())
    entry = {"bytes_per_split": max_bytes, "far_than": far,
             "written_text_names": {name: sorted({m.name for m in returning_names(text, known)})
                                    for name, text in written_texts().items()}}
    for kind, model in models.items():
        entry[kind] = {}
        for name, text in texts.items():
            print(f"memory use: {kind} on {name} ...", file=sys.stderr, flush=True)
            entry[kind][name] = measure_text(model, text, known, far, with_cuts=model.config.expire_span)
    return entry


def memory_use_table(entry: dict) -> list[str]:
    """README lines: the memory-use measures of the model and its baseline, one row per split or text."""
    es, base = entry.get("expire_span", {}), entry.get("baseline", {})
    if not es:
        return []
    lines = ["", "## Does the text model use what it keeps?", "",
             "Measured by `python -m model.evaluate --task text --memory-use` (model/memory_use.py, docs/method.md "
             f"section 16) on the first {entry['bytes_per_split']:,} bytes of each held-out split and on the six "
             "written texts of assets/texts/. Name tail: bits per byte on the letters after the first of every "
             "returning invented name; far: names returning more than "
             f"{entry['far_than']} bytes back (beyond the baseline's memory plus a block). Net rise: bits per byte "
             "with the memory cut to L/4 minus with the full memory. Long - other: mean rise at L/4 of bytes of "
             "words last seen L/4 to L back minus that of the other bytes, with its 95% interval.", "",
             "| text | bits ES | bits TXL | name tail ES | at span 64 | name tail TXL | far ES | far TXL | "
             "net rise L/4 | long - other (95% interval) |", "|" + "---|" * 10]
    for name, r in es.items():
        b = base.get(name, {})
        ci = r.get("long_minus_other_ci95")
        diff = (r["long_context_rise"] - r["other_rise"]) if r.get("long_context_rise") is not None else None
        lines.append(f"| {name.removeprefix('split:')} | {fmt(r['bits'])} | {fmt(b.get('bits'))} | "
                     f"{fmt(r['name_tail_bits'], 2)} | {fmt(r.get('name_tail_bits_span64'), 2)} | "
                     f"{fmt(b.get('name_tail_bits'), 2)} | {fmt(r['far_name_tail_bits'], 2)} | "
                     f"{fmt(b.get('far_name_tail_bits'), 2)} | {fmt(r.get('net_rise_quarter_L'))} | "
                     f"{fmt(diff)} ({fmt(ci[0]) if ci else '—'}, {fmt(ci[1]) if ci else '—'}) |")
    return lines


def runs_table(entry: dict, task: str | None = None) -> list[str]:
    """README lines: every training run tried for a task (results[task]["runs"], written by hand), shipped or
    dropped, with why; under its own heading for a task named (the text task's follows its memory-use table)."""
    runs = entry.get("runs", [])
    if not runs:
        return []
    head = f"### Every {task} run tried" if task else "### Every run tried"
    lines = ["", head, "", "| run | config | tokens | hours | measures | outcome |", "|---|---|---|---|---|---|"]
    for r in runs:
        lines.append(f"| {r['run']} | `{r['config']}` | {r['tokens']:,} | {r['hours']:.2f} | {r['measures']} | "
                     f"{r['outcome']} |")
    return lines


def regenerate(results_path: Path) -> None:
    """Rewrite the README table from results.json (after notes were added by hand, say)."""
    write_readme(read_results(results_path), results_path.parent / "README.md")


@command
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", required=True, choices=list(TASKS))
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--baseline")
    parser.add_argument("--results", default=str(RESULTS))
    parser.add_argument("--tokens", type=int, help="test tokens to score (default: 1M text, 200k tasks)")
    parser.add_argument("--policies", action="store_true",
                        help="also score every memory policy at x0.5, x1 and x2 the model's mean kept memory")
    parser.add_argument("--policy-tokens", type=int,
                        help="held-out tokens for --policies (default: 131,072 text, 200k tasks)")
    parser.add_argument("--memory-use", action="store_true",
                        help="text: also measure name copying and what the long memory pays (docs/method.md 16)")
    parser.add_argument("--memory-use-only", action="store_true",
                        help="text: measure only --memory-use; keep the other numbers already stored")
    parser.add_argument("--baseline-only", action="store_true",
                        help="measure only --baseline (and its policies); keep the model's numbers already stored")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    try:
        task = TASKS[args.task]
        path = Path(args.results)
        results = read_results(path) if path.exists() else {}
        entry = results.setdefault(args.task, {})
        if args.memory_use_only:
            pass
        elif args.baseline_only:
            if not args.baseline or entry.get("expire_span", {}).get("checkpoint") != str(Path(args.checkpoint)):
                raise ExpireSpanError("--baseline-only needs --baseline, and this checkpoint's numbers in "
                                      f"{path} (run once without it first)")
        else:
            entry["expire_span"] = measure(Path(args.checkpoint), task, figures=True, n_tokens=args.tokens)
        if args.baseline and not args.memory_use_only:
            entry["baseline"] = measure(Path(args.baseline), task, figures=False, n_tokens=args.tokens)
        if (args.memory_use or args.memory_use_only) and task == "text":
            entry["memory_use"] = memory_use_entry(Path(args.checkpoint), args.baseline and Path(args.baseline))
        if args.policies:
            entry["policies"] = policy_entry(args, task, entry.get("policies", {}))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2))
        write_readme(results, path.parent / "README.md")
        print(json.dumps(entry, indent=2))
    except BrokenPipeError:
        raise  # a closed stdout: quiet (model/cli.py)
    except (ExpireSpanError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as e:  # a bad results.json or run config
        print(f"error: {args.results} or a checkpoint's run_config.json is not what evaluate reads: "
              f"{type(e).__name__}: {describe(e)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
