"""The shipped text checkpoint does what its card and the app's Figure 9 example say (method section 10,
paper Figure 9): with L cut to L/4 at inference, the extra loss sits on a name only long context predicts."""
import re
from pathlib import Path

import numpy as np

from app.examples import EXAMPLES_DIR
from model import ExpireSpanLM, trace

CHECKPOINT = Path(__file__).resolve().parents[1] / "checkpoints" / "text"


def test_cutting_L_costs_most_on_the_returning_name():
    text = (EXAMPLES_DIR / "figure9-barabbas.txt").read_bytes()
    model = ExpireSpanLM.from_pretrained(CHECKPOINT)
    L = model.config.max_span
    full, cut = trace(model, text), trace(model, text, span_limit=L // 4)
    rise = np.nan_to_num(cut.bits - full.bits)  # rise[i]: on predicting byte i (none for byte 0)
    mentions = [m.start() for m in re.finditer(rb"Barabbas", text)]
    last, before = mentions[-1], mentions[-2]
    assert L // 4 < last - before <= L, "the example's last mention needs a memory older than L/4"
    name = slice(last + 1, last + len(b"Barabbas"))  # predicting its 2nd..8th letters
    assert last < int(np.argmax(rise)) <= last + len(b"Barabbas")  # a letter after the first, or the byte after
    assert rise[name].mean() > 1.0, "the name's letters lose more than a bit each"
    assert abs(rise.mean()) < 0.05, "elsewhere the cut costs almost nothing"


NAMES = {"Ilse", "Markoff", "Teodor", "Brandt", "Varnholm"}  # invented: no training text has them
COMMON = {"the", "and", "a", "of", "to", "was", "he", "she", "in", "it", "that", "his", "her", "at", "on", "with",
          "had", "for", "but", "not", "is"}


def test_names_outlive_the_common_words_around_them_in_modern_prose():
    """The paper's Figure 8 on modern prose it never saw: in the layer that keeps longest, every occurrence of a
    name is kept longer than the common words within 200 bytes of it (their median span), by 2x on the whole."""
    from app.words import split_words, word_stats

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
    assert min(ratios) > 1.0, f"a name kept shorter than the words around it (ratios {np.round(ratios, 2)})"
    assert np.median(ratios) > 2.0
