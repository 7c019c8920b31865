"""The shipped text model uses what it keeps on the written texts it never saw (docs/method.md section 16): it
reads returning invented names from memory, its long memory pays, and it reads every text better than its
equal-memory Transformer-XL baseline. Each test fails on the text model shipped before 2026-12-07 (name tails of
4.0-5.0 bits per byte, a net rise at L/4 below 0 on one text, behind its baseline on every text)."""
import json
import re
from pathlib import Path

import numpy as np
import pytest

from model import ExpireSpanLM, trace
from model.memory_use import SHORT_MEMORY, returning_names, tail_bits, written_texts

CHECKPOINTS = Path(__file__).resolve().parents[2] / "checkpoints"
TEXTS = written_texts()
STORED = json.loads((CHECKPOINTS / "results.json").read_text())["text"]["memory_use"]["written_text_names"]
NAME_TAIL_AT_MOST = 3.6    # bits per byte on the letters after a returning name's first (the model before: 4.0-5.0)
SHORT_MEMORY_COSTS = 0.75  # with only the last 64 steps kept, those letters cost at least this much more


@pytest.fixture(scope="module")
def models():
    return ExpireSpanLM.from_pretrained(CHECKPOINTS / "text"), ExpireSpanLM.from_pretrained(CHECKPOINTS / "text-txl")


def mentions_of(name: str):
    text = TEXTS[name]
    invented = {n.encode() for n in STORED[name]}
    return returning_names(text, frozenset(set(re.findall(rb"[A-Za-z]+", text)) - invented))


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_returning_names_are_read_from_memory(models, name):
    model, _ = models
    mentions = mentions_of(name)
    full, short = trace(model, TEXTS[name]), trace(model, TEXTS[name], span_limit=SHORT_MEMORY)
    tail = tail_bits(full.bits, mentions)
    assert tail <= NAME_TAIL_AT_MOST, f"{name}: returning names cost {tail:.2f} bits per byte"
    assert tail_bits(short.bits, mentions) - tail >= SHORT_MEMORY_COSTS, "the names come from far memory"


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_the_long_memory_pays_on_every_written_text(models, name):
    model, _ = models
    L = model.config.max_span
    full, cut = trace(model, TEXTS[name]), trace(model, TEXTS[name], span_limit=L // 4)
    assert np.nanmean(cut.bits) > np.nanmean(full.bits), f"{name}: cutting the memory to L/4 did not cost"


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_reads_every_written_text_better_than_its_baseline(models, name):
    model, baseline = models
    ours, theirs = np.nanmean(trace(model, TEXTS[name]).bits), np.nanmean(trace(baseline, TEXTS[name]).bits)
    assert ours < theirs, f"{name}: {ours:.3f} bits per byte against the baseline's {theirs:.3f}"
