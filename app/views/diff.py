"""Aligning two versions of a text byte by byte (difflib), for edit-and-compare."""
import difflib
import re

import numpy as np

from ..settings import MAX_COMPARE_BYTES  # noqa: F401  (the Text page's limit for edit-and-compare)
from .words import Words, WordStats, word_stats


def align_traces(trace_a, trace_b) -> np.ndarray:
    """align() over what the model read, position by position: a converted model may drop line ends, so its
    positions are not the typed bytes (the app's traces show each position as the byte it stands for)."""
    return align(trace_a.tokens.astype(np.uint8).tobytes(), trace_b.tokens.astype(np.uint8).tobytes())


def align(a: bytes, b: bytes) -> np.ndarray:
    """For each byte of b, the index of the matching byte in a, or -1 where b inserted or replaced it."""
    out = np.full(len(b), -1, np.int64)
    for block in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks():
        out[block.b:block.b + block.size] = np.arange(block.a, block.a + block.size)
    return out


# What a name is replaced by in the default edit (paper Figure 8: a rare word against a common one).
COMMON_WORD = "someone"


def default_edit(text: str, words: Words, stats: WordStats) -> tuple[str, str] | None:
    """A useful first edit of a text: (version B, the word replaced). It replaces every occurrence of the
    longest-kept name (a capitalised word of 3+ letters, by its longest span in any layer; any word of 3+
    letters if there is no name) with COMMON_WORD. None if the text has no such word."""
    span = stats.span.max(axis=0)
    candidates = [w for w in range(len(words)) if words.kind[w] == "word" and len(words.text[w]) >= 3
                  and words.text[w].isalpha() and words.text[w] != COMMON_WORD]
    names = [w for w in candidates if words.text[w][0].isupper()]
    pool = names or candidates
    if not pool:
        return None
    best = max(pool, key=lambda w: (float(span[w]), -w))
    word = words.text[best]
    edited = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", COMMON_WORD, text)
    return edited, word


def word_changes(trace_a, trace_b, b_to_a: np.ndarray, words_a: Words, words_b: Words, n: int = 10,
                 at_least: float = 0.01) -> list[dict]:
    """The n largest changes of a word's span (the longest over its bytes) between versions A and B, over the
    words of B whose bytes all match the same word in A; changes under `at_least` steps are left out."""
    span_a, span_b = word_stats(trace_a, words_a).span, word_stats(trace_b, words_b).span
    piece_of_a = words_a.of_byte(len(trace_a.tokens))
    pairs = []
    for w in np.flatnonzero(words_b.kind == "word"):
        src = b_to_a[words_b.start[w]:words_b.stop[w]]
        if (src < 0).any():
            continue
        v = piece_of_a[src[0]]
        if words_a.start[v] == src[0] and words_a.text[v] == words_b.text[w]:
            pairs.append((int(w), int(v)))
    if not pairs:
        return []
    wb, wa = np.array(pairs).T
    delta = span_b[:, wb] - span_a[:, wa]
    rows = []
    for flat in np.argsort(-np.abs(delta), axis=None, kind="stable")[:n]:
        layer, k = np.unravel_index(flat, delta.shape)
        if abs(delta[layer, k]) < at_least:
            break
        rows.append({"layer": int(layer), "word": words_b.text[wb[k]], "at byte (B)": int(words_b.start[wb[k]]),
                     "span in A": round(float(span_a[layer, wa[k]]), 2),
                     "span in B": round(float(span_b[layer, wb[k]]), 2), "change": round(float(delta[layer, k]), 2)})
    return rows
