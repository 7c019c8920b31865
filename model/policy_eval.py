"""Memory policies scored on held-out data: each rule of docs/method.md section 15 at the Expire-Span model's
own mean kept memory per layer, and at half and twice it (15.6).

    result = evaluate_policies(model, "text", {"corpus": "data/corpus"}, seed=0, n_tokens=131072)
    lines = policy_table({"expire_span": result, "baseline": baseline_result})

The data are exactly what `model.evaluate.held_out_metrics` scores with the same n_tokens and batch size: the
test split's block walker (`model.batches.make_walker`), whose B rows are contiguous slices of the test
stream (text: test.txt; object collision: the generated test sequence) or, for the corridor, episodes of
`eval_length`. Each row (each episode) is one piece, traced at batch 1 from empty memory, as its row starts
there; every policy runs on the same pieces and is scored on the same positions (every target >= 0: the
next byte for text, the questions for the tasks). So the model's own memory (`expire-span`) reproduces
held_out_metrics' bits and error.

Budgets: per layer, the model's own mean visible memories over all blocks of all pieces (the pieces'
`policies.visible_memories`, what `policies.default_budget` rounds for one trace) is the reference; a
scale's budget is round(scale x reference), at least 1, at most the model's L. A Transformer-XL baseline is
given the Expire-Span model's reference, so both run under the same budgets (cut to its own L where that is
smaller).
"""
import time
from typing import Callable

import numpy as np

from .batches import make_walker
from .errors import ExpireSpanError, InputError
from .metrics import eval_blocks
from .policies import BUDGETED, DEFAULT_SINKS, Policy, visible_memories
from .trace import trace

SCALES = {"half": 0.5, "mean": 1.0, "double": 2.0}
LABELS = {"half": "x0.5", "mean": "x1", "double": "x2"}
METRIC = {"text": "bits", "collision": "error", "corridor": "error"}


def held_out_pieces(model, task: str, data: dict, seed: int, n_tokens: int, batch_size: int = 8,
                split: str = "test") -> list[tuple[np.ndarray, np.ndarray]]:
    """(tokens, targets) of every row of the blocks held_out_metrics reads, cut where a row starts from empty
    memory (text and collision: once; the corridor: at every episode)."""
    M = model.config.block_size
    walker = make_walker(task, data, split, batch_size, M, seed, n_tokens)
    pieces, blocks = [], []

    def flush():
        if blocks:
            tokens = np.concatenate([x for x, _ in blocks], axis=1)
            targets = np.concatenate([y for _, y in blocks], axis=1)
            pieces.extend(zip(tokens, targets))
            blocks.clear()

    for _ in range(eval_blocks(walker, n_tokens, batch_size, M)):
        x, y, reset = walker.next()
        if reset:
            flush()
        blocks.append((x, y))
    flush()
    return pieces


def scaled_budgets(reference, max_span: int) -> dict[str, list[int]]:
    """Budget per layer at every scale: round(scale x reference), at least 1, at most max_span."""
    return {scale: [min(max_span, max(1, int(round(f * float(m))))) for m in reference]
            for scale, f in SCALES.items()}


def score(model, pieces, policy: Policy | None = None) -> tuple[dict, np.ndarray]:
    """One policy (None: the model's own memory) over all pieces: bits per scored token, error (argmax !=
    target), scored positions, and memories in use per layer: mean and most over every block of every piece.
    Memories in use: under a rule, the cache each block's queries see (`cache_size`, at most the budget;
    the start state's zero memories count while held); the model's own, the tokens visible to each block's
    first query (`visible_memories`). Also returns those memories, layers x blocks."""
    nll, wrong, scored, memories = 0.0, 0, 0, []
    for tokens, targets in pieces:
        t = trace(model, tokens, targets=targets, policy=policy)
        mask = targets >= 0
        bits = t.bits[mask].astype(np.float64)
        if not np.isfinite(bits).all():
            raise ExpireSpanError(f"a scored position has no finite loss under {policy}")
        nll += float(bits.sum())
        wrong += int((t.predictions[mask] != targets[mask]).sum())
        scored += int(mask.sum())
        memories.append(t.cache_size if policy is not None else visible_memories(t))
    memories = np.concatenate(memories, axis=1)
    row = {"bits": nll / max(scored, 1), "error": wrong / max(scored, 1), "scored": scored,
           "memories": memories.mean(axis=1).round(1).tolist(), "memories_max": memories.max(axis=1).tolist()}
    return row, memories


def evaluate_policies(model, task: str, data: dict, seed: int, n_tokens: int, budgets=tuple(SCALES),
                      reference=None, batch_size: int = 8,
                      log: Callable[[str], None] | None = None, pieces=None) -> dict:
    """Every memory policy on the held-out pieces of `task` (see the module docstring; task as in
    model/batches.py: text, collision, corridor; data: the run config's [data] without its task).

    budgets: which scales of the reference to run the budgeted policies at (half, mean, double).
    reference: per layer, the memories to scale (the Expire-Span model's `mean_kept`, for a baseline);
        default the model's own mean kept memory per layer.
    pieces: (tokens, targets) pairs to score instead of the held-out pieces (each traced from empty memory),
        e.g. the collision task's fresh sequences (docs/method.md 17.3); n_tokens and batch_size are then unused.
    Returns a JSON-ready dict: the task, its metric, tokens, pieces and scored positions, the model's own
    `mean_kept` per layer, the `reference`, `budgets` per scale, and `rows`, one per run: policy, scale
    (None for expire-span, the model's own memory, and keep-all), budget per layer, bits, error, scored,
    memories (mean per layer) and memories_max.
    """
    cfg = model.config
    unknown = [b for b in budgets if b not in SCALES]
    if unknown:
        raise InputError(f"unknown budget scale {unknown[0]!r}: use {', '.join(SCALES)}")
    if reference is not None and len(reference) != cfg.n_layers:
        raise InputError(f"the reference gives {len(reference)} layers; the model has {cfg.n_layers}")
    if pieces is None:
        pieces = held_out_pieces(model, task, data, seed, n_tokens, batch_size)

    def run(policy, scale=None):
        start = time.perf_counter()
        row, memories = score(model, pieces, policy)
        row = {"policy": "expire-span" if policy is None else policy.name, "scale": scale,
               "budget": None if policy is None else policy.budgets(cfg.n_layers, cfg.max_span), **row}
        if log is not None:
            log(f"{row['policy']} {LABELS.get(scale, '')}: {row['bits']:.4f} bits, error {row['error']:.4f}, "
                f"memories {row['memories']} ({time.perf_counter() - start:.1f} s)")
        return row, memories

    own, visible = run(None)
    mean_kept = visible.mean(axis=1).round(2).tolist()
    reference = mean_kept if reference is None else [round(float(m), 2) for m in reference]
    scaled = {scale: k for scale, k in scaled_budgets(reference, cfg.max_span).items() if scale in budgets}
    rows = [own]
    for name in BUDGETED:
        rows += [run(Policy(name, budget=tuple(k)), scale)[0] for scale, k in scaled.items()]
    rows.append(run(Policy("keep-all"))[0])
    return {"task": task, "metric": METRIC.get(task, "bits"), "expire_span": bool(cfg.expire_span),
            "max_span": cfg.max_span, "tokens": int(sum(len(t) for t, _ in pieces)), "pieces": len(pieces),
            "piece_tokens": sorted({len(t) for t, _ in pieces}), "scored": own["scored"],
            "mean_kept": mean_kept, "reference": reference, "budgets": scaled, "rows": rows}


def value(result: dict, policy: str, scale: str | None = None, metric: str | None = None) -> float | None:
    """One run's metric (default the task's: bits for text, error for the tasks); None if it was not run."""
    for row in result["rows"]:
        if row["policy"] == policy and row["scale"] == scale:
            return row[metric or result["metric"]]
    return None


def _fmt(x) -> str:
    return "—" if x is None else f"{x:.3f}"


def _label(result: dict, policy: str) -> str:
    L = result["max_span"]
    if policy == "expire-span":
        return ("expire-span (learned; its own memory, x1)" if result["expire_span"]
                else f"own memory (nearest L = {L})")
    return {"sinks": f"sinks (first {DEFAULT_SINKS} tokens + nearest)", "heavy-hitters": "heavy-hitters (half nearest)",
            "keep-all": f"keep-all (nearest L = {L}, no budget)"}.get(policy, policy)


def _rows(result: dict, model: str) -> list[str]:
    """Table rows of one model: its own memory, the budgeted policies by scale (the best rule of each scale in
    bold), keep-all."""
    best = {s: min(shown(value(result, p, s)) for p in BUDGETED) for s in result["budgets"]}
    own_column = "mean" if result["expire_span"] else None  # the learned memory is x1 by definition
    lines = []
    for policy in ("expire-span", *BUDGETED, "keep-all"):
        cells = []
        for scale in (*SCALES, None):
            if policy in BUDGETED:
                x = value(result, policy, scale) if scale else None
            elif policy == "expire-span":
                x = value(result, policy) if scale == own_column else None
            else:
                x = value(result, policy) if scale is None else None
            text = _fmt(x)
            cells.append(f"**{text}**" if x is not None and scale in best and shown(x) == best[scale] else text)
        lines.append(f"| {model} | {_label(result, policy)} | " + " | ".join(cells) + " |")
    return lines


def _names(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def shown(x: float) -> float:
    """A metric as the table shows it (3 decimals): rules are compared at the precision they are shown."""
    return round(x, 3)


def summary(result: dict) -> str:
    """Which rule is best at each budget, and where a rule (or keep-all) beats or matches the model's own memory,
    computed from the numbers as shown."""
    own = shown(value(result, "expire-span"))
    scales = [s for s in SCALES if s in result["budgets"]]
    parts = []
    for scale in scales:
        values = {p: shown(value(result, p, scale)) for p in BUDGETED}
        low = min(values.values())
        parts.append(f"{LABELS[scale]} {_names([p for p, v in values.items() if v == low])} ({low:.3f})")
    text = "Best rule: " + "; ".join(parts) + ". " if parts else ""
    who = "learned expiry" if result["expire_span"] else f"its own nearest-{result['max_span']} memory"
    beats = [(p, s) for s in scales for p in BUDGETED if shown(value(result, p, s)) < own]
    listed = [f"{p} at {LABELS[s]} ({value(result, p, s):.3f})" for p, s in beats]
    keep_all = value(result, "keep-all")
    if keep_all is not None and shown(keep_all) < own:
        listed.append(f"keep-all ({keep_all:.3f})")
    ties = [f"{p} at {LABELS[s]}" for s in scales for p in BUDGETED if shown(value(result, p, s)) == own]
    if keep_all is not None and shown(keep_all) == own:
        ties.append("keep-all")
    tied = f" {_names(ties)} {'matches' if len(ties) == 1 else 'match'} it." if ties else ""
    if not listed:
        at = f" at {_names([LABELS[s] for s in scales])}" if scales else ""
        return text + f"No rule beats {who} ({own:.3f}){at}" + (", nor does keep-all." if keep_all is not None
                                                                 else ".") + tied
    text += f"Better than {who} ({own:.3f}): {_names(listed)}"
    if "mean" in scales and result["expire_span"]:  # x1 is its own memory's size
        equal = [p for p, s in beats if s == "mean"]
        text += f"; at equal memory (x1): {_names(equal)}" if equal else "; at equal memory (x1), none"
    return text + "." + tied


def policy_table(entry: dict) -> list[str]:
    """Markdown lines for checkpoints/README.md from one task's policy results: {"expire_span": result,
    "baseline": result (optional)}, each from evaluate_policies: what was measured, one table (rows: model
    and policy; columns: x0.5, x1, x2 and no budget; each model's best rule at each budget in bold) and
    sentences computed from the numbers."""
    es, base = entry["expire_span"], entry.get("baseline")
    task, metric = es["task"], es["metric"]
    unit = "Bits per byte" if metric == "bits" and task == "text" else (
        "Bits per scored token" if metric == "bits" else "Error (argmax != target)")
    pieces = ("episodes" if task == "corridor" else "slices") + f" of {_names([f'{n:,}' for n in es['piece_tokens']])}"
    budgets = "; ".join(f"{LABELS[s]} {k}" for s, k in es["budgets"].items())
    lines = [f"{unit}, lower is better, on {es['tokens']:,} held-out tokens: the test split's {es['pieces']} "
             f"{pieces} tokens that `held_out_metrics` reads, each traced from empty memory; {es['scored']:,} scored "
             f"positions, the same for every policy. Budgets, memories per layer: {budgets}; x1 is the Expire-Span "
             f"model's own mean kept memory per layer ({es['mean_kept']}).", ""]
    if base is not None:
        # the same budgets, unless its layers differ from the Expire-Span model's: then scaled from its own memory
        same = base["reference"] == es["reference"]
        cut = [s for s in base["budgets"] if same and base["budgets"][s] != es["budgets"].get(s)]
        how = "the same budgets" if same else f"budgets scaled from its own memory ({base['budgets']})"
        lines[0] += (f" The Transformer-XL baseline runs under {how}"
                     + (f", cut to its L = {base['max_span']} at {_names([LABELS[s] for s in cut])}" if cut else "")
                     + f"; its own memory is the nearest {base['max_span']} (mean {base['mean_kept']}).")
    lines += ["| model | policy | x0.5 | x1 | x2 | no budget |", "|---|---|---|---|---|---|"]
    lines += _rows(es, "Expire-Span")
    if base is not None:
        lines += _rows(base, "Transformer-XL")
    lines += ["", "Expire-Span: " + summary(es)]
    if base is not None:
        lines.append("Transformer-XL: " + summary(base))
        own = shown(value(es, "expire-span"))
        runs = [(p, s) for s in base["budgets"] for p in BUDGETED] + [("expire-span", None), ("keep-all", None)]
        over = [(p, s) for p, s in runs if shown(value(base, p, s)) < own]
        named = [f"{'its own memory' if p == 'expire-span' else p}{f' at {LABELS[s]}' if s else ''} "
                 f"({value(base, p, s):.3f})" for p, s in over]
        lines.append(f"Against Expire-Span's learned expiry ({own:.3f}), the baseline does "
                     + ("better under every policy and budget." if len(over) == len(runs) else
                        f"better under {_names(named)} only." if over else "no better under any policy or budget."))
    return lines
