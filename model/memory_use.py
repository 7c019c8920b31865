"""Does the text model use what it keeps? The measures of docs/method.md section 16.

- *Returning name*: a word matching NAME that never occurs in the training split, starting at least 256 bytes
  after the start of its previous occurrence (`returning_names`).
- *Name-tail bits*: the mean of bits[start + 1:end] over the bytes of every returning name, pooled over bytes
  (`tail_bits`): the letters after a name's first, which only a memory of the name predicts.
- *Net rise at L/4*: mean bits per byte with span_limit = L/4 minus the mean with the full memory.
- *Long-context bytes*: bytes of words last seen more than L/4 (and at most L) back (`needs_long_context`); their
  mean rise at L/4 against the other bytes', with a 95% interval of the difference from resampling 1,024-byte
  blocks (`block_bootstrap`).

`measure_text` computes them all on one text for one model; model/evaluate.py (`--memory-use`) runs it on the
held-out splits and the written texts in assets/texts/ and stores the figures in checkpoints/results.json.
"""
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .tasks.invented_names import NAME
from .trace import trace

NAME_BYTES = re.compile(NAME.pattern.encode())
MIN_BACK = 256        # a name returns when its previous mention started at least this many bytes before
SHORT_MEMORY = 64     # the span limit that leaves only recent memories (what a copy from far must not need)
WRITTEN_TEXTS = Path(__file__).resolve().parent.parent / "assets" / "texts"


@dataclass(frozen=True)
class Mention:
    """One returning name: its bytes text[start:end], its previous mention `back` bytes before."""
    name: str
    start: int
    end: int
    back: int


def training_words(paths) -> frozenset[bytes]:
    """Every word (letters only) of the training files: a name among them is not a returning *invented* name."""
    words = set()
    for path in paths:
        words.update(re.findall(rb"[A-Za-z]+", Path(path).read_bytes()))
    return frozenset(words)


def returning_names(text: bytes, known: frozenset[bytes], min_back: int = MIN_BACK) -> list[Mention]:
    """Mentions of names unknown to training whose previous mention started at least min_back bytes before."""
    last, out = {}, []
    for m in NAME_BYTES.finditer(text):
        word = m.group()
        if word in known:
            continue
        if word in last and m.start() - last[word] >= min_back:
            out.append(Mention(word.decode(), m.start(), m.end(), m.start() - last[word]))
        last[word] = m.start()
    return out


def tail_bits(bits: np.ndarray, mentions: list[Mention]) -> float | None:
    """Mean of bits[start + 1:end] pooled over the bytes of the mentions (None if there are none)."""
    parts = [bits[m.start + 1:m.end] for m in mentions]
    return float(np.concatenate(parts).mean()) if parts else None


def needs_long_context(text: bytes, near: int, far: int) -> np.ndarray:
    """True for the bytes of a word (>= 4 letters) last seen between near and far bytes back, except its
    first letter: only a memory that old predicts them (the paper's Figure 9 'coast')."""
    needs, last_seen = np.zeros(len(text), bool), {}
    for m in re.finditer(rb"[A-Za-z]{4,}", text):
        word, start = m.group(), m.start()
        if word in last_seen and near < start - last_seen[word] <= far:
            needs[start + 1:m.end()] = True
        last_seen[word] = start
    return needs


def block_bootstrap(rise, long, block=1024, resamples=1000, seed=0) -> list[float] | None:
    """95% interval of mean rise on long-context bytes minus on the others, resampling whole blocks of
    bytes (neighbouring bytes' losses are not independent): every byte counts, the last block may be shorter.
    None for fewer than two blocks or no long-context byte."""
    rise, long = np.asarray(rise, float), np.asarray(long, bool)
    n = -(-len(rise) // block)
    if n < 2 or not long.any():
        return None
    starts = np.arange(0, len(rise), block)
    # per block: the sum and count of long-context bytes' rises, and of the others'
    sums = np.stack([np.add.reduceat(np.where(long, rise, 0.0), starts),
                     np.add.reduceat(np.where(long, 0.0, rise), starts)])
    counts = np.stack([np.add.reduceat(long.astype(float), starts), np.add.reduceat((~long).astype(float), starts)])
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(resamples):
        pick = rng.integers(0, n, n)
        s, c = sums[:, pick].sum(1), counts[:, pick].sum(1)
        if c.all():
            diffs.append(s[0] / c[0] - s[1] / c[1])
    return np.percentile(diffs, [2.5, 97.5]).round(4).tolist() if diffs else None


def _mean(values) -> float | None:
    return float(np.mean(values)) if len(values) else None


def measure_text(model, text: bytes, known: frozenset[bytes], far: int, with_cuts: bool = True) -> dict:
    """Every measure on one text. `far`: names returning more than this far back are also scored apart
    (for a model and its baseline: beyond the baseline's reach). with_cuts: also run at L/4 and at 64."""
    full = trace(model, text)
    mentions = returning_names(text, known)
    far_mentions = [m for m in mentions if m.back > far]
    result = {"bytes": len(text), "bits": float(np.nanmean(full.bits)), "kept": float(full.cache_size.mean()),
              "returning_names": len(mentions), "name_tail_bits": tail_bits(full.bits, mentions),
              "far_names": len(far_mentions), "far_than": far, "far_name_tail_bits": tail_bits(full.bits, far_mentions)}
    if not with_cuts:
        return result
    L = model.config.max_span
    short = trace(model, text, span_limit=SHORT_MEMORY)
    quarter = trace(model, text, span_limit=L // 4)
    rise = (quarter.bits - full.bits)[1:]  # bits[0] is NaN: nothing before the first byte
    long = needs_long_context(text, L // 4, L)[1:]
    result.update({
        "name_tail_bits_span64": tail_bits(short.bits, mentions),
        "bits_quarter_L": float(np.nanmean(quarter.bits)),
        "net_rise_quarter_L": float(rise.mean()),
        "long_context_bytes": int(long.sum()),
        "long_context_rise": _mean(rise[long]), "other_rise": _mean(rise[~long]),
        "long_minus_other_ci95": block_bootstrap(rise, long),
    })
    if result["name_tail_bits"] is not None:
        result["name_tail_rise_span64"] = result["name_tail_bits_span64"] - result["name_tail_bits"]
    return result


def written_texts(folder: Path = WRITTEN_TEXTS) -> dict[str, bytes]:
    """The project's written texts (assets/texts/*.txt), by file stem."""
    return {p.stem: p.read_bytes() for p in sorted(Path(folder).glob("*.txt"))}
