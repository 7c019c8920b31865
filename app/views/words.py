"""Words of a traced text: its bytes grouped into words, marks and spaces, and what each layer did with each word.

A person reads words, the model reads bytes. `split_words` cuts the bytes into pieces that cover every byte once,
in order: words (letters, digits, '_', joined by an inner apostrophe or hyphen; numbers with inner '.' or ','),
marks (a punctuation character, or a run of the same one) and spaces (a run of whitespace). Bytes that are not
valid UTF-8 are marks of one byte. A word longer than MAX_WORD_BYTES is cut into pieces of at most that many bytes
(at character boundaries), so a 5,000-byte run never becomes one unreadable block.

`word_stats` gives, per layer and piece: its span (the longest over its bytes, and the mean), when it left the
cache (when the last of its bytes left), the steps it was actually kept (the longest over its bytes), and its loss
(bits summed over its bytes; `bits[i]` is the loss of predicting byte i).
"""
import re
from typing import NamedTuple

import numpy as np

from ..settings import MAX_WORD_BYTES
from .memory import steps_kept

_WORD = r"[\w\u0300-\u036f]+"
_PIECE = re.compile(rf"(?P<word>\d+(?:[.,]\d+)+|{_WORD}(?:['’\-]{_WORD})*)|(?P<space>\s+)|(?P<mark>(?P<m>.)(?P=m)*)",
                    re.DOTALL)


class Words(NamedTuple):
    """Pieces of a byte sequence, covering it in order: piece w is bytes start[w]:stop[w]."""
    start: np.ndarray  # W, int64
    stop: np.ndarray   # W, int64
    text: list[str]    # W: the piece as text (an invalid byte shows as U+FFFD)
    kind: np.ndarray   # W: 'word', 'mark' or 'space'

    def __len__(self) -> int:
        return len(self.start)

    def of_byte(self, n_bytes: int) -> np.ndarray:
        """For each byte position, the index of the piece that holds it."""
        return np.repeat(np.arange(len(self.start)), self.stop - self.start)[:n_bytes]


class WordStats(NamedTuple):
    """Per layer and piece of a trace (layers x W), and the loss per piece (W)."""
    span: np.ndarray       # longest predicted span over the piece's bytes (steps)
    mean_span: np.ndarray  # mean predicted span over its bytes
    left_at: np.ndarray    # query position from which its last byte was gone from the cache; -1: still held at the end
    kept: np.ndarray       # steps actually kept: the longest over its bytes (to the end of the text if never dropped)
    bits: np.ndarray       # W: loss in bits summed over its bytes; NaN where no byte is scored


class KeptWord(NamedTuple):
    """One row of a layer's longest-kept words: a distinct word at its longest-kept occurrence."""
    word: str
    position: int     # first byte of that occurrence
    span: float       # its span there (longest over its bytes)
    left_at: int      # when it left the cache (-1: still held at the end)
    occurrences: int  # how often the word appears in the text


def _char_bytes(text: str) -> np.ndarray:
    """UTF-8 length of each character of a surrogateescape-decoded string (an escaped invalid byte: 1)."""
    return np.array([1 if 0xDC80 <= ord(c) <= 0xDCFF else len(c.encode("utf-8")) for c in text], np.int64)


def split_words(tokens) -> Words:
    """Cut byte tokens (values 0..255) into words, marks and spaces (see the module docstring)."""
    data = np.asarray(tokens, np.uint8).tobytes()
    try:  # valid UTF-8 (the usual case): characters start at every byte that is not a continuation byte
        text, valid = data.decode("utf-8"), True
        lead = np.flatnonzero((np.frombuffer(data, np.uint8) & 0xC0) != 0x80)
        ends = np.append(lead, len(data))
    except UnicodeDecodeError:
        text, valid = data.decode("utf-8", "surrogateescape"), False
        ends = np.concatenate([[0], np.cumsum(_char_bytes(text))])  # byte offset of every character boundary
    ends = ends.tolist()
    starts, stops, texts, kinds = [], [], [], []
    for m in _PIECE.finditer(text):
        kind = m.lastgroup if m.lastgroup != "m" else "mark"
        a, b = m.start(), m.end()
        if kind == "word" and ends[b] - ends[a] > MAX_WORD_BYTES:
            cuts = _cut_long(np.asarray(ends), a, b)
        else:
            cuts = [(a, b)]
        for ca, cb in cuts:
            starts.append(ends[ca])
            stops.append(ends[cb])
            texts.append(text[ca:cb] if valid else
                         text[ca:cb].encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
            kinds.append(kind)
    return Words(np.array(starts, np.int64), np.array(stops, np.int64), texts, np.array(kinds, dtype=object))


def _cut_long(ends: np.ndarray, a: int, b: int) -> list[tuple[int, int]]:
    """Character ranges covering characters a..b, each at most MAX_WORD_BYTES bytes (at least one character)."""
    cuts, lo = [], a
    while lo < b:
        hi = int(np.searchsorted(ends, ends[lo] + MAX_WORD_BYTES, side="right")) - 1
        hi = min(b, max(hi, lo + 1))
        cuts.append((lo, hi))
        lo = hi
    return cuts


def word_stats(trace, words: Words) -> WordStats:
    """Span, drop, steps kept and loss of every piece, per layer (reduced over the piece's bytes)."""
    starts = words.start
    n = (words.stop - words.start).astype(float)
    span = np.maximum.reduceat(trace.spans, starts, axis=1)
    mean_span = np.add.reduceat(trace.spans.astype(float), starts, axis=1) / n
    never = np.iinfo(np.int64).max
    left = np.maximum.reduceat(np.where(trace.dropped_at < 0, never, trace.dropped_at), starts, axis=1)
    kept = np.maximum.reduceat(steps_kept(trace), starts, axis=1)
    scored = ~np.isnan(trace.bits)
    bits = np.add.reduceat(np.where(scored, trace.bits, 0.0), starts)
    bits[np.add.reduceat(scored.astype(int), starts) == 0] = np.nan
    return WordStats(span, mean_span, np.where(left == never, -1, left), kept, bits)


def longest_kept(words: Words, stats: WordStats, layer: int, n: int = 10) -> list[KeptWord]:
    """The n distinct words (marks and spaces left out) with the longest span in a layer, each at its
    longest-kept occurrence (the earliest among equals)."""
    best: dict[str, int] = {}
    count: dict[str, int] = {}
    spans = stats.span[layer]
    for w in np.flatnonzero(words.kind == "word"):
        key = words.text[w]
        count[key] = count.get(key, 0) + 1
        if key not in best or spans[w] > spans[best[key]]:
            best[key] = int(w)
    order = sorted(best.values(), key=lambda w: (-float(spans[w]), w))[:n]
    return [KeptWord(words.text[w], int(words.start[w]), float(spans[w]), int(stats.left_at[layer, w]),
                     count[words.text[w]]) for w in order]
