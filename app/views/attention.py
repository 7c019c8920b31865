"""Attention at step t: which kept memories the query at byte t actually read, per layer, beside what was kept.

A memory kept is not a memory read: a layer may hold hundreds of bytes and take most of its attention from a few.
The attention comes from traces that record one layer each (`model.trace(..., attention_layer=l)`, or
app.store.attention_traces); what was kept comes from the page's trace of the text (app.views.memory).
"""
import html

import numpy as np
from model import InputError

from .memory import dropped_by, held_at
from .strips import byte_char, word_strip
from .words import Words


def read_by(traces, t: int) -> np.ndarray:
    """layers x t: the share of its attention the query at byte t put on each earlier byte 0..t-1, one row per
    trace (one trace per layer, in order). Shares are of the query's whole attention, the mean over heads of each
    head's weights, so a row sums to 1 together with what went to the start state's zero memories (method 1.5);
    a query never reads itself (method 4.2), and a memory expired or dropped by t gets exactly 0."""
    rows = []
    for trace in traces:
        if trace.attention is None:
            raise InputError("the trace holds no attention: trace with attention_layer set")
        if not 1 <= t < len(trace.attention):
            raise InputError(f"the query byte must be in 1..{len(trace.attention) - 1} (got {t})")
        rows.append(trace.attention[t, :t])
    return np.array(rows, dtype=np.float64).reshape(len(rows), t)


def word_shares(words: Words, row) -> np.ndarray:
    """The share summed over each piece's bytes, for the pieces that start before t = len(row) (a piece holding
    byte t counts only its bytes before t)."""
    row = np.asarray(row, np.float64)
    n = int(np.searchsorted(words.start, len(row)))
    if n == 0:
        return np.zeros(0)
    return np.add.reduceat(row, words.start[:n])


def top_read(words: Words, shares, n: int = 5) -> list[tuple[str, int, float]]:
    """The n pieces (words and marks, not spaces) with the largest shares, largest first (the earlier among equals):
    (piece text, first byte, share). Pieces read not at all are left out."""
    found = [w for w in range(len(shares)) if words.kind[w] != "space" and shares[w] > 0]
    found.sort(key=lambda w: (-float(shares[w]), w))
    return [(words.text[w], int(words.start[w]), float(shares[w])) for w in found[:n]]


def percent(share: float) -> str:
    """'31%', '3.2%', '0.04%': a share with two significant digits below 10%; '0%' for nothing at all."""
    if share <= 0:
        return "0%"
    if share >= 0.095:
        return f"{share:.0%}"
    return f"{share:.1%}" if share >= 0.0095 else f"{share:.2%}"


def _memories(n: int) -> str:
    return f"{n} memory" if n == 1 else f"{n} memories"


def kept_vs_used(held, share, part: float = 0.8) -> str:
    """One sentence on one layer at one query: how far back its kept memories reach, against how far back it reads.

    Kept: the memories still held (mask above 0) and the oldest one's distance from the query. Used: the fewest most
    recent bytes that take `part` of the attention on the text. The gap between the two distances is the gap
    between memory kept and memory used; the start state's share (whatever is left of 1) closes the sentence when it
    is 0.5% or more.
    held: the layer's row of app.views.memory.held_at at the query; share: its row of read_by."""
    held, share = np.asarray(held, float), np.asarray(share, float)
    t = len(held)
    kept = np.flatnonzero(held > 0)
    on_text = float(share.sum())
    start = percent(max(0.0, 1.0 - on_text))
    if kept.size == 0:
        return "holds no memories of the text; all its attention goes to the start state"
    head = f"holds {_memories(kept.size)} reaching {t - int(kept[0])} bytes back"
    if on_text <= 0:
        return f"{head} but reads none of them: all its attention goes to the start state"
    recent = np.cumsum(share[::-1])
    k = min(t, int(np.searchsorted(recent, part * on_text * (1 - 1e-9))) + 1)
    used = f"{head}; {part:.0%} of what it reads from the text lies in the last {k} byte{'s' if k != 1 else ''}"
    return used if on_text > 0.995 else f"{used}, and {start} of its attention goes to the start state"


def _before(words: Words, tokens, t: int) -> Words:
    """The pieces that start before t, the last one cut at byte t (its text decoded again)."""
    n = int(np.searchsorted(words.start, t))
    stop = np.minimum(words.stop[:n], t)
    text = list(words.text[:n])
    if n and words.stop[n - 1] > t:
        a = int(words.start[n - 1])
        text[-1] = bytes(int(b) for b in tokens[a:t]).decode("utf-8", "replace")
    return Words(words.start[:n], stop, text, words.kind[:n])


def _states(held: np.ndarray, gone: np.ndarray, starts: np.ndarray) -> list[str]:
    """What the cache did with each piece by the query: held (some byte at mask 1), fading, expired or dropped."""
    top = np.maximum.reduceat(held, starts)
    all_gone = np.logical_and.reduceat(gone, starts)
    some_gone = np.logical_or.reduceat(gone, starts)
    out = []
    for m, every, some in zip(top, all_gone, some_gone):
        if every:
            out.append("dropped from the cache")
            continue
        state = "still held" if m >= 1 else f"fading (mask {m:.2f})" if m > 0 else "expired (mask 0), not yet dropped"
        out.append(state + (", partly dropped" if some else ""))
    return out


def attention_rows(words: Words, traces, t: int, kept_trace, lo: int = 0) -> list[tuple[str, str]]:
    """(label, html) per traced layer for app.views.strips.strips_html: the text bytes lo..t-1, each word and mark
    coloured by its share of the query's attention (0 .. the layer's largest share over all pieces before t, so the
    layer's favourite is the brightest), pieces dropped from the cache by t (every byte, per kept_trace) struck
    through, then the query byte t outlined. Hover: the share and what the cache did with the piece."""
    shares = read_by(traces, t)
    held, gone = held_at(kept_trace, t), dropped_by(kept_trace, t)
    shown = _before(words, kept_trace.tokens, t)
    starts = shown.start
    query = (f'<span style="outline:2px solid #e4572e;border-radius:3px;padding:0 1px" title="byte {t}: the query">'
             f'{html.escape(byte_char(kept_trace.tokens, t))}</span>')
    rows = []
    for trace, row in zip(traces, shares):
        layer = trace.attention_layer
        ws = word_shares(shown, row)
        readable = ws[shown.kind != "space"]
        peak = float(readable.max()) if readable.size else 0.0
        fraction = np.clip(ws / peak, 0, 1) if peak > 0 else np.zeros_like(ws)
        states = _states(held[layer], gone[layer], starts) if len(starts) else []
        titles = [f"{percent(s)} of what byte {t} reads in layer {layer}; {state}" for s, state in zip(ws, states)]
        struck = np.logical_and.reduceat(gone[layer], starts) if len(starts) else np.zeros(0, bool)
        h = held[layer]
        top = " · ".join(f"'{text}' {percent(s)}" for text, _, s in top_read(shown, ws))
        label = (f"layer {layer}: holds {_memories(int((h > 0).sum()))} ({int(((h > 0) & (h < 1)).sum())} fading), "
                 f"reads most: {top or 'only the start state'}")
        rows.append((label, word_strip(shown, fraction, lo, t, titles, struck) + query))
    return rows
