"""Aligning two versions of a text byte by byte (difflib), for edit-and-compare."""
import difflib

import numpy as np

MAX_COMPARE_BYTES = 20_000


def align(a: bytes, b: bytes) -> np.ndarray:
    """For each byte of b, the index of the matching byte in a, or -1 where b inserted or replaced it."""
    out = np.full(len(b), -1, np.int64)
    for block in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks():
        out[block.b:block.b + block.size] = np.arange(block.a, block.a + block.size)
    return out


def biggest_changes(trace_a, trace_b, b_to_a: np.ndarray, labels, n: int = 10) -> list[dict]:
    """The n largest span changes of aligned memories: layer, position in A and B, token, spans."""
    ok = np.flatnonzero(b_to_a >= 0)
    if ok.size == 0:
        return []
    delta = trace_b.spans[:, ok] - trace_a.spans[:, b_to_a[ok]]
    order = np.argsort(-np.abs(delta), axis=None)[:n]
    rows = []
    for flat in order:
        layer, k = np.unravel_index(flat, delta.shape)
        j = int(ok[k])
        rows.append(dict(layer=int(layer), token=labels[j], position_a=int(b_to_a[j]), position_b=j,
                         span_a=round(float(trace_a.spans[layer, b_to_a[j]]), 1),
                         span_b=round(float(trace_b.spans[layer, j]), 1), change=round(float(delta[layer, k]), 1)))
    return rows
