"""Unit tests of the app's plain modules: figures, text views, memory maths, alignment, export, loading."""
import html
import json
import re

import numpy as np
import pytest
from support import tiny_model
from support import single_thread  # noqa: F401 (autouse fixture)

from app import loading, ui
from app.views import diff, exports, figures, memory, strips
from app.views.words import split_words
from model import InputError, trace
from model.tasks import collision

TEXT = "The cat sat. The cat sat again, 42 times! Ünïcode <b>&</b>\nEnd."


@pytest.fixture(scope="module")
def tr():
    return trace(tiny_model(seed=1), TEXT)


def test_token_labels_are_unique_and_carry_the_index(tr):
    labels = strips.token_labels(tr.tokens)
    assert len(set(labels)) == len(labels) == len(tr.tokens)
    assert labels[0] == "0:T" and labels[3] == "3:␣"
    i = TEXT.encode().index("Ü".encode())
    assert labels[i] == f"{i}:Ü" and labels[i + 1] == f"{i + 1}:·"  # lead byte shows the character


def test_byte_classes():
    got = strips.byte_classes(np.frombuffer("a Z,5é\n".encode(), np.uint8))
    assert list(got) == ["lower case", "space", "capital", "punctuation", "digit", "non-ASCII", "non-ASCII",
                         "space"]


def test_text_strip_escapes_every_character():
    evil = "<script>alert(1)</script><img src=x onerror=alert(1)>"
    tokens = np.frombuffer(evil.encode(), np.uint8).astype(np.int64)
    out = strips.text_strip(tokens, np.arange(len(tokens), dtype=float), len(tokens), 0, len(tokens))
    assert "<script" not in out and "<img" not in out
    assert "&lt;" in out and "&gt;" in out
    shown = "".join(html.unescape(p.rsplit(">", 1)[1]) for p in out.split("</span>") if ">" in p)
    assert shown == evil


def test_text_strip_marks_dropped_and_keeps_newlines():
    tokens = np.frombuffer(b"ab\ncd", np.uint8).astype(np.int64)
    out = strips.text_strip(tokens, np.ones(5), 1, 0, 5, struck=np.array([1, 0, 0, 0, 0], bool))
    assert out.count("line-through") == 1 and "<br>" in out


def test_colours_span_the_scale():
    rgb = strips.colours([0, 5, 10, np.nan], 10)
    assert tuple(rgb[0]) == (68, 1, 84) and tuple(rgb[2]) == (253, 231, 37) and tuple(rgb[3]) == (220, 220, 220)


def test_strips_wrap_only_between_words():
    """Issue 33, item 7: a strip groups every word (the characters between spaces and line ends) into one es-word,
    which the browser keeps on one line; spaces stay outside, as the places a line may break."""
    tokens = np.frombuffer(b"the engineer, a\nx", np.uint8).astype(np.int64)
    values = np.arange(len(tokens), dtype=float)
    for palette in (False, True):
        out = strips.text_strip(tokens, values, len(tokens), 0, len(tokens), palette=palette)
        groups = re.findall(r'<span class="es-word">((?:<span [^>]*>[^<]*</span>)+)</span>', out)
        assert ["".join(re.findall(r">([^<]*)</span>", g)) for g in groups] == ["the", "engineer,"]
        alone = re.findall(r'<span class="es-word(?: c\d+)?"[^>]*>([^<]*)</span>', out)
        assert alone == ["a", "x"]  # a word of one character is marked itself
        assert not re.search(r'es-word[^>]*>[^<]*\s', out) and "<br>" in out  # spaces and line ends outside
        titles = re.findall(r'title="([^"]*)"', out)
        assert titles == [f"{i}: {i}" for i in range(len(tokens)) if i != 15]  # every character keeps its hover
        block = strips.strips_html([("row", out)])
        assert ".es-strips .es-word{display:inline-block;max-width:100%}" in block
        assert "break-all" not in block and "overflow-wrap:anywhere" in block  # only a too-long word breaks
    w = split_words(tokens)
    strip = strips.word_strip(w, np.linspace(0, 1, len(w)), palette=True)
    assert re.search(r'<span class="es-word"><span class="c\d+">engineer</span><span class="c\d+">,</span></span>',
                     strip)
    assert re.search(r'<span class="es-word c\d+">the</span>', strip)


def test_legends_write_numbers_as_people_do():
    legend = strips.scale_legend(0, 1110, "shared", "span in steps:")
    labels = re.findall(r">([^<]*)</span>", legend)
    assert labels == ["0", "278", "555", "832", "1,110"] and "e+" not in legend
    assert "1,000" in strips.scale_legend(0, 1110, "log", "span in steps:")
    tr = trace(tiny_model(seed=1), TEXT)
    fig = figures.readable_numbers(figures.span_heatmap(tr))
    assert fig.data[0].colorbar.separatethousands and fig.data[0].colorbar.exponentformat == "none"
    assert fig.layout.yaxis.separatethousands and fig.layout.xaxis.exponentformat == "none"
    scatter = figures.readable_numbers(figures.layer_scatter(tr, 0, 1))  # no colour bar where there was none
    assert not scatter.data[0].marker.showscale and scatter.layout.coloraxis.colorbar.separatethousands is None


def test_palette_is_the_same_picture_to_the_eye():
    palette = strips.palette_colours().astype(int)
    assert len(palette) == strips.PALETTE_LEVELS
    assert tuple(palette[0]) == (68, 1, 84) and tuple(palette[-1]) == (253, 231, 37)
    x = np.linspace(0, 1, 10_001)
    exact = strips.colours(x, 1.0).astype(int)
    assert np.abs(exact - palette[strips.palette_index(x, 1.0)]).max() <= 6  # of 255, in any channel
    assert list(strips.palette_index([0, 5, 10, 20, -1, np.nan], 10)) == [0, 32, 63, 63, 0, -1]


def test_palette_strips_are_escaped_and_styled_by_class():
    evil = "<script>alert(1)</script><img src=x onerror=alert(1)>\nok"
    tokens = np.frombuffer(evil.encode(), np.uint8).astype(np.int64)
    values = np.arange(len(tokens), dtype=float)
    gone = np.zeros(len(tokens), bool)
    gone[1] = True
    out = strips.text_strip(tokens, values, len(tokens), 0, len(tokens), struck=gone, palette=True)
    assert "<script" not in out and "<img" not in out and "style=" not in out and "<br>" in out
    shown = "".join(html.unescape(p.rsplit(">", 1)[1]) for p in out.split("</span>") if ">" in p)
    assert shown == evil.replace("\n", "")
    assert out.count(' x"') == 1 and f'class="c{strips.palette_index([1], len(tokens))[0]} x"' in out
    w = split_words(tokens)
    frac = np.linspace(0, 1, len(w))
    words_out = strips.word_strip(w, frac, titles=["<b>'hi'</b>"] * len(w), palette=True)
    assert "<b>" not in words_out and "&lt;b&gt;&#x27;hi&#x27;&lt;/b&gt;" in words_out and "<script" not in words_out
    block = strips.strips_html([("<i>layer</i>", out), ("words", words_out)])
    assert block.count("<style>") == 1 and block.startswith('<div class="es-strips"><style>') and "<i>" not in block
    assert ".es-strips .x{text-decoration:line-through" in block
    inline = strips.strips_html([("plain", strips.text_strip(tokens, values, len(tokens), 0, 5))])
    assert ".es-strips .c0{" not in inline and ".es-word{" in inline  # inline colours: no palette, words kept whole


def test_soft_mask_matches_spec_3_2(tr):
    # method 3.2 example: e = 12, R = 4 gives 0, .25, .5, .75, 1 at distances 16, 15, 14, 13, <= 12
    fake = type("T", (), {})()
    fake.spans = np.full((1, 20), 12.0)
    fake.ramp = 4
    m = memory.soft_mask_at(fake, 20)[0]
    assert np.allclose(m[[4, 5, 6, 7, 8, 19]], [0, .25, .5, .75, 1, 1])
    t = 40
    held = memory.held_at(tr, t)
    assert held.shape == (tr.n_layers, t)
    gone = memory.dropped_by(tr, t)
    assert np.all(held[gone] == 0)
    assert np.array_equal(gone, (tr.dropped_at[:, :t] >= 0) & (tr.dropped_at[:, :t] <= t))


def test_span_heatmap_contents(tr):
    fig = figures.span_heatmap(tr)
    h = fig.data[0]
    assert h.type == "heatmap"
    assert np.allclose(np.asarray(h.z), tr.spans, atol=1e-3)
    assert list(h.x) == strips.token_labels(tr.tokens)
    assert list(h.y) == [f"layer {l}" for l in range(tr.n_layers)]
    assert "predicted span" in h.hovertemplate and "customdata[1]" in h.hovertemplate
    d = tr.dropped_at[0, 0]
    assert h.customdata[0][0][1] == (f"left the cache at {d}" if d >= 0 else "still held at the end")
    assert fig.layout.xaxis.title.text.startswith("the text") and fig.layout.yaxis.title.text == "layer"
    kept = figures.span_heatmap(tr, value="kept").data[0].z
    assert np.array_equal(np.asarray(kept), memory.steps_kept(tr).astype(np.float32))


def test_span_heatmap_scales_and_word_ticks(tr):
    words = split_words(tr.tokens)
    per = figures.span_heatmap(tr, scale="per layer", words=words)
    z = np.asarray(per.data[0].z, float)
    for l in range(tr.n_layers):  # each layer from its own shortest (0) to its own longest (1)
        assert z[l].min() == pytest.approx(0) and z[l].max() == pytest.approx(1)
        assert np.allclose(z[l], (tr.spans[l] - tr.spans[l].min()) / np.ptp(tr.spans[l]), atol=1e-5)
    assert list(per.data[0].customdata[:, 0, 0]) == [str(round(float(v), 1)) for v in tr.spans[:, 0]]  # hover: span
    log = np.asarray(figures.span_heatmap(tr, scale="log").data[0].z, float)
    assert np.allclose(log, np.log1p(tr.spans) / np.log1p(tr.spans.max()), atol=1e-5)
    axis = per.layout.xaxis
    starts = [int(v.split(":")[0]) for v in axis.tickvals]
    assert set(starts) <= set(words.start[words.kind == "word"].tolist())
    assert list(axis.ticktext) == [words.text[list(words.start).index(s)] for s in starts]
    few = figures.span_heatmap(tr, words=words, max_ticks=3).layout.xaxis.tickvals
    assert 1 <= len(few) <= 3


def test_span_heatmap_window_is_bounded():
    big = trace(tiny_model(seed=1, block_size=64), "abc " * 1500)  # 6,000 bytes
    fig = figures.span_heatmap(big, 1000, 6000)
    assert len(fig.data[0].x) == figures.MAX_WINDOW and fig.data[0].x[0].startswith("1000:")
    assert len(fig.to_json()) < 2_000_000
    over = figures.span_overview(big, bins=100)
    assert np.asarray(over.data[0].z).shape == (big.n_layers, 100)
    assert np.allclose(np.asarray(over.data[0].z)[:, 0], big.spans[:, :60].mean(1), atol=1e-3)


def test_lifetimes_bars_ramp_and_drops(tr):
    fig = figures.lifetimes(tr, 1, 5, 25)
    bars, ramp, drops = fig.data
    assert list(bars.base) == list(range(5, 25)) and np.allclose(bars.x, tr.spans[1, 5:25])
    assert np.allclose(ramp.base, np.arange(5, 25) + tr.spans[1, 5:25]) and set(ramp.x) == {tr.ramp}
    gone = tr.dropped_at[1, 5:25]
    assert list(drops.x) == list(gone[gone >= 0])


def test_lifetimes_by_word_stay_short(tr):
    words = split_words(tr.tokens)
    fig = figures.lifetimes(tr, 0, 0, len(tr.tokens), words=words)
    bars, ramp, drops = fig.data
    idx = [w for w in range(len(words)) if words.kind[w] == "word"]
    assert len(bars.y) == len(idx) and bars.y[0] == "The (0)"
    w = idx[1]  # 'cat': fully kept to the furthest reach of any of its bytes
    reach = max(i + tr.spans[0, i] for i in range(words.start[w], words.stop[w]))
    assert bars.base[1] == words.stop[w] - 1 and bars.x[1] == pytest.approx(reach - (words.stop[w] - 1), abs=1e-4)
    long = trace(tiny_model(seed=1), "word " * 400)
    tall = figures.lifetimes(long, 0, 0, 2000, words=split_words(long.tokens))
    assert len(tall.data[0].y) == 40 and tall.layout.height <= 900


def test_memory_in_use(tr):
    fig = figures.memory_in_use(tr)
    names = [d.name for d in fig.data]
    assert names[:tr.n_layers] == [f"layer {l}" for l in range(tr.n_layers)]
    assert list(fig.data[0].y) == list(tr.cache_size[0])
    every = fig.data[tr.n_layers]
    assert list(every.y) == list(np.arange(tr.cache_size.shape[1]) * tr.block_size + tr.block_size)
    assert set(fig.data[-1].y) == {tr.max_span}
    styles = {(d.line.dash, d.marker.symbol) for d in fig.data[:tr.n_layers]}
    assert len(styles) == tr.n_layers, "every layer's line is told apart by dash and marker"


def test_span_by_class(tr):
    stats = figures.class_stats(tr)
    classes = strips.byte_classes(tr.tokens)
    assert stats[(0, "digit")][1] == pytest.approx(np.median(tr.spans[0][classes == "digit"]))
    fig = figures.span_by_class(tr)
    assert [d.type for d in fig.data] == ["box"] * tr.n_layers
    assert "non-ASCII" in list(fig.data[0].x)


def test_bits_figure_with_a_cut_span(tr):
    model = tiny_model(seed=1)
    tr_cut = trace(model, TEXT, span_limit=model.config.max_span // 4)
    # layer 0 sees only the embedding, so its spans are exactly the full ones clipped at L/4
    assert np.allclose(tr_cut.spans[0], np.minimum(tr.spans[0], model.config.max_span // 4), rtol=1e-5)
    fig = figures.bits_figure(tr, tr_cut)
    assert len(fig.data) == 3
    y = np.asarray(fig.data[0].y, float)
    assert np.isnan(y[0]) and np.allclose(y[1:], tr.bits[1:])  # bits[i]: the loss on byte i; the first has none
    assert np.allclose(np.asarray(fig.data[2].y, float)[1:], (tr_cut.bits - tr.bits)[1:], atol=1e-5)


def test_align_and_diff():
    a, b = b"in Egypt.", b"in somewhere."
    b_to_a = diff.align(a, b)
    assert b_to_a[0] == 0 and b_to_a[1] == 1 and b_to_a[-1] == len(a) - 1
    model = tiny_model(seed=1)
    ta, tb = trace(model, a.decode()), trace(model, b.decode())
    fig = figures.diff_heatmap(ta, tb, b_to_a)
    z = np.asarray(fig.data[0].z, float)
    assert z.shape == (ta.n_layers, len(b))
    assert np.isnan(z[:, b_to_a < 0]).all()
    assert np.allclose(z[:, 0], tb.spans[:, 0] - ta.spans[:, 0], atol=1e-4)
    rows = diff.word_changes(ta, tb, b_to_a, split_words(ta.tokens), split_words(tb.tokens))
    assert {r["word"] for r in rows} <= {"in"}  # the only word in both versions
    if rows:
        r = rows[0]
        assert r["change"] == pytest.approx(r["span in B"] - r["span in A"], abs=0.11)


def test_export_csv_and_json(tr):
    lines = exports.trace_csv(tr).splitlines()
    assert lines[0].startswith("layer,position,token,char,span,dropped_at,bits")
    assert len(lines) == 1 + tr.n_layers * len(tr.tokens)
    first = lines[1].split(",")
    assert first[:4] == ["0", "0", str(ord("T")), "T"] and float(first[4]) == pytest.approx(tr.spans[0, 0], abs=1e-3)
    d = json.loads(exports.trace_json(tr, checkpoint="tiny", input_sha1="abc"))
    assert d["meta"]["checkpoint"] == "tiny" and d["tokens"] == tr.tokens.tolist() and d["bits"][0] is None
    html_page = exports.figure_html(figures.memory_in_use(tr))
    assert "<html>" in html_page and "plotly.js" in html_page.lower() and len(html_page) > 1_000_000


def test_loading_helpers(tmp_path):
    tiny_model(seed=1).save_pretrained(tmp_path / "zeta")
    tiny_model(seed=2, vocab_size=22).save_pretrained(tmp_path / "corridor")
    (tmp_path / "empty").mkdir()
    found = loading.list_checkpoints(tmp_path)
    assert list(found) == ["corridor", "zeta"]
    assert loading.task_of("zeta", tiny_model().config) == "text"
    assert loading.task_of("x", tiny_model(vocab_size=22).config) == "corridor"
    assert loading.task_of("x", tiny_model(vocab_size=collision.vocab_size(collision.SCALED)).config) == "collision"
    with pytest.raises(InputError, match="not UTF-8"):
        loading.decode_upload(b"ok \xff\xfe")
    assert loading.cut_text("é" * 10, 5) == "éé"
    assert loading.digest("a") == loading.digest("a") != loading.digest("b")
    assert loading.device() in ("cpu", "cuda")


def test_the_checkpoint_list_follows_the_folders_at_once(tmp_path):
    """Every page run lists the folders: weights saved into a folder, or removed, count on the next run."""
    tiny_model(seed=1).save_pretrained(tmp_path / "mine")
    weights = tmp_path / "mine" / "model.safetensors"
    kept_aside = weights.read_bytes()
    weights.unlink()
    assert loading.list_checkpoints(tmp_path) == {}
    weights.write_bytes(kept_aside)
    assert loading.list_checkpoints(tmp_path) == {"mine": tmp_path / "mine"}
    (tmp_path / "a-file").write_text("not a folder")
    assert list(loading.list_checkpoints(tmp_path)) == ["mine"]
    assert loading.list_checkpoints(tmp_path / "a-file") == {} and loading.list_checkpoints(tmp_path / "gone") == {}


def test_the_checkpoint_picker_follows_a_changed_config(tmp_path, monkeypatch):
    monkeypatch.setenv(loading.CHECKPOINTS_ENV, str(tmp_path))
    tiny_model(seed=1).save_pretrained(tmp_path / "mine")
    assert ui.checkpoint_names("text") == ["mine"] and ui.checkpoint_names("corridor") == []
    config = tmp_path / "mine" / "config.json"  # the same folder, now a corridor model (the config is re-read)
    config.write_text(config.read_text().replace('"vocab_size": 256', '"vocab_size": 22'))
    assert ui.checkpoint_names("text") == [] and ui.checkpoint_names("corridor") == ["mine"]
    config.write_text("{broken")  # unreadable: left out, never a traceback
    assert ui.checkpoint_names(None) == []


def test_checkpoint_version_follows_the_weights(tmp_path):
    tiny_model(seed=1).save_pretrained(tmp_path / "m")
    before = loading.checkpoint_version(str(tmp_path / "m"))
    import os
    os.utime(tmp_path / "m" / "model.safetensors", ns=(1, 1))
    assert before and loading.checkpoint_version(str(tmp_path / "m")) != before
    assert loading.checkpoint_version("owner/hub-repo") == ""
