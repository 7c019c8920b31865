"""The shipped text checkpoint does what its card and the app's Figure 9 example say (method section 10,
paper Figure 9): with L cut to L/4 at inference, the extra loss sits on names only long context predicts."""
import re
from pathlib import Path

import numpy as np

from app.views.examples import EXAMPLES_DIR
from model import ExpireSpanLM, trace

CHECKPOINT = Path(__file__).resolve().parents[2] / "checkpoints" / "text"


def test_cutting_L_costs_most_on_the_returning_names():
    text = (EXAMPLES_DIR / "figure9-barabbas.txt").read_bytes()
    model = ExpireSpanLM.from_pretrained(CHECKPOINT)
    L = model.config.max_span
    full, cut = trace(model, text), trace(model, text, span_limit=L // 4)
    rise = np.nan_to_num(cut.bits - full.bits)  # rise[i]: on predicting byte i (none for byte 0)
    returning = []  # names mentioned again more than L/4 (but at most L) bytes after their previous mention
    for name in (b"Barabbas", b"Pilate"):
        at = [m.start() for m in re.finditer(name, text)]
        returning += [(name, now) for before, now in zip(at, at[1:]) if L // 4 < now - before <= L]
    assert {name for name, _ in returning} == {b"Barabbas", b"Pilate"}, "the example's premise"
    letters = [slice(now + 1, now + len(name) + 1) for name, now in returning]  # the letters after the first + 1
    top = np.argsort(-rise)[:2]
    assert all(any(s.start <= i < s.stop for s in letters) for i in top), "the two largest rises sit in those names"
    assert all(rise[s].sum() > 3.0 for s in letters), "each returning name costs more than 3 bits"
    assert abs(rise.mean()) < 0.05, "elsewhere the cut costs almost nothing"


NAMES = {"Ilse", "Markoff", "Teodor", "Brandt", "Varnholm"}  # invented: no training text has them
COMMON = {"the", "and", "a", "of", "to", "was", "he", "she", "in", "it", "that", "his", "her", "at", "on", "with",
          "had", "for", "but", "not", "is"}


def test_names_outlive_the_common_words_around_them_in_modern_prose():
    """The paper's Figure 8 on modern prose it never saw: in the layer that keeps longest, every occurrence of a
    name but at most one is kept longer than the common words within 200 bytes of it (their median span), by 2x on
    the whole. (The model shipped on 2026-12-08 keeps the second 'Ilse', the shortest name, 0.96x as long; the
    others 1.2-2.7x, median 2.03.)"""
    from app.views.words import split_words, word_stats

    text = (EXAMPLES_DIR / "ferry-to-varnholm.txt").read_bytes()
    model = ExpireSpanLM.from_pretrained(CHECKPOINT)
    t = trace(model, text)
    words = split_words(t.tokens)
    spans = word_stats(t, words).mean_span
    layer = int(np.argmax(np.median(t.spans, axis=1)))
    names = [i for i, w in enumerate(words.text) if w in NAMES]
    common = np.array([i for i, w in enumerate(words.text) if w.lower() in COMMON])
    assert len(names) >= 10 and {words.text[i] for i in names} == NAMES
    ratios = []
    for i in names:
        near = common[np.abs(words.start[common] - words.start[i]) <= 200]
        ratios.append(spans[layer, i] / np.median(spans[layer, near]))
    assert sorted(ratios)[1] > 1.0, f"names kept shorter than the words around them (ratios {np.round(ratios, 2)})"
    assert np.median(ratios) > 2.0
