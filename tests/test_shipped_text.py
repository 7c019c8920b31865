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
