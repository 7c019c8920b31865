"""Attention at step t (app/views/attention.py) on the tiny model, and the state support for it (app/store.py)."""
import inspect
import re

import numpy as np
import pytest
import torch
from support import tiny_model

import model
from app import store
from app.views import attention, memory
from app.views.strips import byte_char, strips_html
from app.views.words import Words, split_words

TEXT = "The Markoff chain <script>alert(1)</script> is a model of the weather. " * 5
SPAN = re.compile(r'<span (?:class="es-word" )?style="([^"]*)" title="([^"]*)">([^<]*)</span>')


@pytest.fixture(scope="module", autouse=True)
def single_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def traced():
    """(kept trace of the text, one attention trace per layer, its words)."""
    m = tiny_model(seed=1)
    kept = model.trace(m, TEXT)
    traces = [model.trace(m, TEXT, attention_layer=layer) for layer in range(m.config.n_layers)]
    return kept, traces, split_words(kept.tokens)


def pieces(strip: str) -> list[tuple[str, str, str]]:
    """(style, title, text) of every coloured piece of a strip."""
    return SPAN.findall(strip)


def test_shares_are_the_trace_rows_and_sum_to_at_most_one(traced):
    kept, traces, _ = traced
    for t in (1, 7, 8, 100, len(TEXT) - 1):
        shares = attention.read_by(traces, t)
        assert shares.shape == (len(traces), t)
        for layer, tr in enumerate(traces):
            np.testing.assert_array_equal(shares[layer], tr.attention[t, :t])
        assert np.all(shares >= 0) and np.all(shares.sum(1) <= 1 + 1e-5)
    assert attention.read_by(traces, 200).sum(1).max() > 0.5  # the text, not only the start state, is read


def test_read_by_refuses_what_it_cannot_show(traced):
    kept, traces, _ = traced
    with pytest.raises(ValueError, match="query byte"):
        attention.read_by(traces, 0)
    with pytest.raises(ValueError, match="query byte"):
        attention.read_by(traces, len(TEXT))
    with pytest.raises(ValueError, match="no attention"):
        attention.read_by([kept], 5)


def test_dropped_memories_get_no_attention_and_are_struck(traced):
    kept, traces, words = traced
    t = 300
    gone = memory.dropped_by(kept, t)
    held = memory.held_at(kept, t)
    shares = attention.read_by(traces, t)
    assert gone.any()
    assert np.all(shares[gone] == 0)  # the model masks dropped memories
    assert np.all(shares[held == 0] == 0)  # and expired ones still in the cache
    rows = attention.attention_rows(words, traces, t, kept, lo=0)
    for layer, (_, strip) in enumerate(rows):
        shown = [w for w in range(len(words)) if words.start[w] < t and words.kind[w] != "space"]
        spans = pieces(strip)
        assert len(spans) == len(shown) + 1  # every word and mark, then the query byte
        for w, (style, title, _) in zip(shown, spans):
            all_gone = gone[layer, words.start[w]:min(words.stop[w], t)].all()
            assert ("line-through" in style) == all_gone
            assert ("dropped from the cache" in title) == all_gone
            if all_gone:
                assert title.startswith("0% of what byte 300 reads")
        assert any("line-through" in style for style, _, _ in spans)


def test_word_shares_sum_each_piece_up_to_t(traced):
    kept, traces, words = traced
    t = 151  # inside a word: its piece counts only the bytes before t
    row = attention.read_by(traces, t)[1]
    shares = attention.word_shares(words, row)
    n = int(np.sum(words.start < t))
    assert len(shares) == n
    for w in range(n):
        np.testing.assert_allclose(shares[w], row[words.start[w]:min(words.stop[w], t)].sum(), atol=1e-12)
    np.testing.assert_allclose(shares.sum(), row.sum(), atol=1e-9)
    w = Words(np.array([0, 2, 3]), np.array([2, 3, 6]), ["ab", " ", "cde"], np.array(["word", "space", "word"], object))
    np.testing.assert_allclose(attention.word_shares(w, [0.1, 0.2, 0.3, 0.15]), [0.3, 0.3, 0.15])


def test_top_read_orders_words_and_marks_by_share():
    w = Words(np.arange(6), np.arange(1, 7), ["a", " ", "b", ".", "c", "d"],
              np.array(["word", "space", "word", "mark", "word", "word"], object))
    shares = np.array([0.1, 0.5, 0.3, 0.3, 0.0, 0.2])
    assert attention.top_read(w, shares) == [("b", 2, 0.3), (".", 3, 0.3), ("d", 5, 0.2), ("a", 0, 0.1)]
    assert attention.top_read(w, shares, n=2) == [("b", 2, 0.3), (".", 3, 0.3)]


def test_rows_label_colour_scale_and_query(traced):
    kept, traces, words = traced
    t = 200
    held = memory.held_at(kept, t)
    shares = attention.read_by(traces, t)
    rows = attention.attention_rows(words, traces, t, kept, lo=0)
    assert len(rows) == len(traces)
    for layer, (label, strip) in enumerate(rows):
        n_held, fading = int((held[layer] > 0).sum()), int(((held[layer] > 0) & (held[layer] < 1)).sum())
        assert label.startswith(f"layer {layer}: holds {n_held} memories ({fading} fading), reads most: '")
        top = attention.top_read(words, attention.word_shares(words, shares[layer]))
        assert f"'{top[0][0]}' {attention.percent(top[0][2])}" in label
        favourite = [p for p in pieces(strip) if "rgb(253,231,37)" in p[0]]  # the top of the scale
        assert favourite and favourite[0][1].startswith(attention.percent(top[0][2]))
        assert strip.endswith(f'title="byte 200: the query">{byte_char(kept.tokens, t)}</span>')
    lo = 150
    window = attention.attention_rows(words, traces, t, kept, lo=lo)
    shown = [w for w in range(len(words)) if lo <= words.start[w] < t and words.kind[w] != "space"]
    assert len(pieces(window[0][1])) == len(shown) + 1


def test_html_is_escaped(traced):
    kept, traces, words = traced
    out = strips_html(attention.attention_rows(words, traces, len(TEXT) - 1, kept, lo=0))
    assert "<script" not in out and "</script" not in out
    assert "&lt;" in out and "script" in out


def test_kept_vs_used_sentence():
    held = np.r_[np.zeros(20), np.linspace(0.5, 1, 5), np.ones(75)]  # 80 held, the oldest 80 bytes back
    share = np.zeros(100)
    share[-10:] = 0.1
    assert attention.kept_vs_used(held, share) == (
        "holds 80 memories reaching 80 bytes back; 80% of what it reads from the text lies in the last 8 bytes")
    assert attention.kept_vs_used(held, share / 2).endswith(
        "in the last 8 bytes, and 50% of its attention goes to the start state")
    assert "reads none of them" in attention.kept_vs_used(held, np.zeros(100))
    assert attention.kept_vs_used(np.zeros(5), np.zeros(5)).startswith("holds no memories")


def test_kept_vs_used_on_the_model(traced):
    kept, traces, _ = traced
    t = 250
    shares = attention.read_by(traces, t)
    held = memory.held_at(kept, t)
    for layer in range(len(traces)):
        sentence = attention.kept_vs_used(held[layer], shares[layer])
        reach = t - int(np.flatnonzero(held[layer] > 0)[0])
        used = int(re.search(r"last (\d+) byte", sentence).group(1))
        assert sentence.startswith(f"holds {int((held[layer] > 0).sum())} memories reaching {reach} bytes back")
        assert 1 <= used <= reach  # nothing is read beyond what is held


def test_run_trace_takes_an_attention_layer():
    params = inspect.signature(store.run_trace).parameters
    assert params["attention_layer"].default is None
    assert list(inspect.signature(store.attention_traces).parameters) == ["source", "text"]


def test_attention_traces_cut_the_text_and_match_the_whole(tiny_checkpoint, monkeypatch):
    monkeypatch.setattr(store, "ATTENTION_BYTES", 41)
    text = "Ça va? Une émission: « très bien » " * 4  # multi-byte characters around the cut
    traces = store.attention_traces(str(tiny_checkpoint), text)
    head = text.encode("utf-8")[:41].decode("utf-8", "ignore").encode("utf-8")
    assert len(head) == 40  # the 41st byte would split a character
    for layer, tr in enumerate(traces):
        whole = model.trace(tiny_model(seed=1), text, attention_layer=layer)
        assert tr.attention_layer == layer and tr.attention.shape == (40, 40)
        assert bytes(tr.tokens.astype(np.uint8).tolist()) == head
        np.testing.assert_allclose(tr.spans, whole.spans[:, :40], atol=1e-4)  # causal: as in the whole text
        np.testing.assert_allclose(tr.attention, whole.attention[:40, :40], atol=1e-5)
        np.testing.assert_array_equal(tr.dropped_at[tr.dropped_at >= 0], whole.dropped_at[:, :40][tr.dropped_at >= 0])
    assert store.run_trace(str(tiny_checkpoint), head.decode("utf-8"), attention_layer=1) is traces[1]
