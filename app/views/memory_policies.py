"""The Memory policies page as plain functions: one text under several memory policies at equal memory (bits
per byte and memory in use per policy, the words each kept at step t, the words whose loss differs most)."""
import numpy as np
import plotly.graph_objects as go

from model.policies import NAMES, visible_memories

from .figures import legend_on_top
from .memory import block_starts, dropped_by, held_at
from .strips import word_strip
from .words import Words, word_stats

PLAIN = {
    "expire-span": "Expire-Span: each memory kept for the span the model predicts for it (learned)",
    "window": "window: the k most recent memories (Transformer-XL's rule)",
    "sinks": "sinks: the first 4 tokens plus the most recent ones (StreamingLLM)",
    "heavy-hitters": "heavy hitters: half the most recent, half those read most so far (H2O)",
    "keep-all": "keep everything up to the longest span the model allows",
}
assert set(PLAIN) == set(NAMES)


def seen(trace) -> np.ndarray:
    """layers x blocks: the memories a block's queries can see with weight above 0. Under the model's own
    spans, the tokens whose mask is still up (what the budget of the rules is set from); under a rule, what it
    kept (every kept memory has weight 1)."""
    return trace.cache_size if trace.meta.get("policy") else visible_memories(trace)


def summary_rows(traces: dict) -> list[dict]:
    """Per policy: bits per byte and the memories a layer's queries could see, on average and per layer."""
    rows = []
    for name, tr in traces.items():
        use = seen(tr)
        rows.append({"policy": name, "bits per byte": round(float(np.nanmean(tr.bits)), 3),
                     "memories seen (mean of layers)": round(float(use.mean()), 1),
                     "per layer": " / ".join(f"{v:.0f}" for v in use.mean(axis=1))})
    return rows


def memory_figure(traces: dict) -> go.Figure:
    """Memories seen (mean over layers, see `seen`) block by block, one line per policy."""
    fig = go.Figure()
    dashes = ["solid", "dash", "dot", "dashdot", "longdash"]
    for k, (name, tr) in enumerate(traces.items()):
        fig.add_scatter(x=block_starts(tr), y=seen(tr).mean(axis=0), mode="lines+markers", name=name,
                        line=dict(dash=dashes[k % len(dashes)], width=2.5),
                        hovertemplate="block at %{x}<br>%{y:.0f} memories<extra>" + name + "</extra>")
    fig.update_xaxes(title="position in the text (first byte of each block)")
    fig.update_yaxes(title="memories a query sees (mean of layers)")
    return legend_on_top(fig, "Memory in use under each policy", 400)


def kept_at(trace, t: int) -> np.ndarray:
    """layers x t: how much of each memory step t sees. Under the model's own spans, its soft mask; under a
    rule (meta["policy"]), 1 while the memory is in the cache and 0 once the rule dropped it."""
    if trace.meta.get("policy"):
        return np.where(dropped_by(trace, t), 0.0, 1.0)
    return held_at(trace, t)


def kept_rows(words: Words, traces: dict, layer: int, t: int, lo: int = 0) -> list[tuple[str, str]]:
    """(label, strip html) per policy: the text bytes lo..t-1 of one layer, each word as bright as the share of
    its bytes step t still sees, words wholly gone struck through."""
    first, last = np.searchsorted(words.start, [lo, t])
    starts = words.start[first:last]
    rows = []
    for name, tr in traces.items():
        seen = kept_at(tr, t)[layer]
        frac = np.zeros(len(words))
        struck = np.zeros(len(words), bool)
        if len(starts):
            ends = np.minimum(words.stop[first:last], t)
            sums = np.add.reduceat(seen, starts)[: len(starts)]
            frac[first:last] = sums / np.maximum(ends - starts, 1)
            struck[first:last] = frac[first:last] == 0
        n_seen = int((seen > 0).sum())
        titles = {w: f"{words.text[w]!r}: {frac[w]:.0%} seen at step {t}" for w in range(first, last)}
        rows.append((f"{name}: {n_seen} memories seen at step {t}",
                     word_strip(words, frac, lo, t, titles, struck)))
    return rows


def loss_differences(trace_a, trace_b, words: Words, name_a: str, name_b: str, n: int = 10,
                     at_least: float = 0.05) -> list[dict]:
    """The n words whose loss (bits summed over their bytes) differs most between two policies, with both."""
    bits_a, bits_b = word_stats(trace_a, words).bits, word_stats(trace_b, words).bits
    diff = np.nan_to_num(bits_b - bits_a, nan=0.0)
    diff[words.kind != "word"] = 0.0
    rows = []
    for w in np.argsort(-np.abs(diff), kind="stable")[:n]:
        if abs(diff[w]) < at_least:
            break
        rows.append({"word": words.text[w], "at byte": int(words.start[w]),
                     f"bits, {name_a}": round(float(bits_a[w]), 2), f"bits, {name_b}": round(float(bits_b[w]), 2),
                     f"{name_b} minus {name_a}": round(float(diff[w]), 2)})
    return rows
