"""Legibility with the shipped text model on a story it never saw: no chart has an empty colour range, and with
the per-layer scale no layer whose spans differ is drawn in one colour (the quiet layers 1 and 2 included)."""
from pathlib import Path

import numpy as np
import pytest

from app.views import diff, figures, kept, scales
from app.views.strips import colours
from app.views.words import split_words, word_stats
from model import ExpireSpanLM, trace

ROOT = Path(__file__).resolve().parents[2]
CHECKPOINT = ROOT / "checkpoints" / "text"
STORY = (ROOT / "assets" / "examples" / "ferry-to-varnholm.txt").read_text(encoding="utf-8")

pytestmark = pytest.mark.skipif(not (CHECKPOINT / "model.safetensors").exists(), reason="no shipped text model")


@pytest.fixture(scope="module")
def shipped():
    model = ExpireSpanLM.from_pretrained(CHECKPOINT)
    tr = trace(model, STORY)
    words = split_words(tr.tokens)
    return model, tr, words, word_stats(tr, words)


def colour_range(fig) -> tuple[float, float]:
    h = fig.data[0]
    z = np.asarray(h.z, float)
    lo = h.zmin if h.zmin is not None else np.nanmin(z)
    hi = h.zmax if h.zmax is not None else np.nanmax(z)
    return float(lo), float(hi)


@pytest.mark.parametrize("value", ["predicted", "kept"])
@pytest.mark.parametrize("scale", scales.SCALES)
def test_heatmaps_never_have_an_empty_colour_range(shipped, value, scale):
    _, tr, words, _ = shipped
    fig = figures.span_heatmap(tr, value=value, scale=scale, words=words)
    lo, hi = colour_range(fig)
    assert hi > lo
    z = np.asarray(fig.data[0].z, float)
    assert np.nanmax(z) > np.nanmin(z), "the drawn values use more than one colour"
    lo, hi = colour_range(figures.span_overview(tr, bins=50))
    assert hi > lo


def test_per_layer_scale_draws_every_varying_layer_in_several_colours(shipped):
    _, tr, words, stats = shipped
    top = tr.spans.max(axis=1)
    assert top.max() > 10 * min(top[1], top[2]), "layers 1 and 2 are quiet on a shared scale (the case that matters)"
    per = scales.scale_values(kept.coloured_spans(words, stats), "per layer")
    shared = scales.scale_values(kept.coloured_spans(words, stats), "shared")
    shown = words.kind != "space"
    for layer in range(tr.n_layers):
        if np.ptp(stats.span[layer, shown]) == 0:
            continue
        rgb = colours(per.fraction[layer, shown], 1.0)
        assert len({tuple(c) for c in rgb}) >= 5, f"layer {layer} has too few colours per layer"
        assert per.fraction[layer, shown].min() == 0 and per.fraction[layer, shown].max() == 1
    quiet = int(np.argmin(top))
    assert len({tuple(c) for c in colours(shared.fraction[quiet, shown], 1.0)}) < \
        len({tuple(c) for c in colours(per.fraction[quiet, shown], 1.0)})
    heat = np.asarray(figures.span_heatmap(tr, scale="per layer", words=words).data[0].z, float)
    for layer in range(tr.n_layers):
        if np.ptp(tr.spans[layer]) > 0:
            assert np.nanmin(heat[layer]) == 0 and np.nanmax(heat[layer]) == pytest.approx(1)


def test_edit_and_compare_opens_with_a_visible_change(shipped):
    model, tr, words, stats = shipped
    edited, word = diff.default_edit(STORY, words, stats)
    assert word[0].isupper() and word in STORY and word not in edited
    tb = trace(model, edited)
    b_to_a = diff.align(STORY.encode(), edited.encode())
    rows = diff.word_changes(tr, tb, b_to_a, words, split_words(tb.tokens))
    assert rows and abs(rows[0]["change"]) >= 1, "the first edit changes some span by at least one step"
    lo, hi = colour_range(figures.diff_heatmap(tr, tb, b_to_a))
    assert hi > lo


def test_where_memory_mattered_names_a_returning_name(shipped):
    model, tr, words, _ = shipped
    cut = trace(model, STORY, span_limit=model.config.max_span // 4)
    rows = kept.word_rises(tr, cut, words)
    assert rows and rows[0]["extra bits"] > 1
    returning = [r for r in rows if r["last seen"] != "first mention"]
    assert returning and any(r["word"] in {"Teodor", "Markoff", "Brandt", "Varnholm", "Ilse"} for r in rows)
