"""AppTest of the Text page: input paths, every view, bad input, escaping (tiny random checkpoint)."""
import html
import re

import numpy as np
import pytest
from support import (app_checkpoints, chart_specs, errors, new_app, page_text,  # noqa: F401
                              single_thread)

from app import loading, presenter, store
from app.views import diff, kept, memory
from app.views.examples import EXAMPLES, example_text, partner_text
from app.views.strips import token_labels
from app.views.words import longest_kept, split_words, word_stats
from model import ExpireSpanLM, trace

EVIL = "<script>alert(1)</script> and <img src=x onerror=alert(1)>"
FIRST_EXAMPLE = next(iter(EXAMPLES))


@pytest.fixture(scope="module")
def model(app_checkpoints):
    return ExpireSpanLM.from_pretrained(app_checkpoints / "text")


def visible_text(body: str) -> str:
    """What a browser shows of our HTML: tags removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", body))


def unescaped(markdown: str) -> str:
    """A message as shown: its markdown escapes removed."""
    return re.sub(r"\\(.)", r"\1", markdown)


def rises_body(at) -> str | None:
    """The HTML of the page's "where memory mattered" table, or None."""
    return next((h.proto.body for h in at.html if "es-rises" in h.proto.body), None)


def table_cells(body: str) -> list[list[str]]:
    """An HTML table's cells as a browser shows them, row by row (the header first)."""
    return [[visible_text(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", body)]


def strips_body(at) -> str:
    """The HTML of the page's coloured-text strips (the last such block)."""
    return [h.proto.body for h in at.html if "es-strips" in h.proto.body][-1]


def typed(text: str):
    at = new_app()
    at.radio(key="input_kind").set_value("Type or paste").run()
    at.text_area(key="text_input").input(text).run()
    return at


def test_default_view_shows_what_each_layer_kept(app_checkpoints, model):
    at = new_app()
    assert not at.exception and not errors(at)
    assert at.radio(key="view").value == "What each layer kept"
    text = example_text(FIRST_EXAMPLE)
    tr = trace(model, text)
    w = split_words(tr.tokens)
    stats = word_stats(tr, w)
    table = next(h.proto.body for h in at.html if "es-longest" in h.proto.body)
    for layer in range(tr.n_layers):
        top = longest_kept(w, stats, layer, 10)
        assert top and all(f"<b>{r.word}</b> {kept.steps(r.span)}" in table for r in top)
    strips = next(h.proto.body for h in at.html if "es-strips" in h.proto.body)
    assert [f"<b>layer {l}</b>" in strips for l in range(tr.n_layers)] == [True] * tr.n_layers
    howto = next(e for e in at.expander if e.proto.label == "How to read this")
    assert howto.proto.expanded  # open on a visitor's first screen
    median_note = f"layer 0 {kept.steps(float(np.median(tr.spans[0])))}"  # this text's own medians
    assert median_note in page_text(at)
    assert not rises_body(at)  # "where memory mattered" needs a second run of the model: only on request
    at.button(key="measure_mattered").click().run()
    assert "measure_mattered" not in [b.key for b in at.button]  # the answer takes the button's place
    cut = trace(model, text, span_limit=16)
    returning, first = kept.split_rises(tr, cut, w)
    assert kept.effect_sentence(tr, cut) in page_text(at)  # the effect first, in one sentence
    if returning:  # the "where memory mattered" table lists the same words as the plain function
        assert table_cells(rises_body(at)) == [kept.RISE_COLUMNS] + [
            [kept.cell(r[c]) for c in kept.RISE_COLUMNS] for r in returning]
    elif not first:
        assert "No word lost anything" in page_text(at)
    assert "Running on" in page_text(at) and "CPU" in page_text(at)
    assert at.selectbox(key="ckpt_text").value == "text"
    at.run()  # any later run: "How to read this" is folded, and its text is not built (one element less a run)
    howto = next(e for e in at.expander if e.proto.label == "How to read this")
    assert not howto.proto.expanded and median_note not in page_text(at)
    at.session_state["howto"] = True  # the visitor opens it: the page reruns with its text
    at.run()
    assert median_note in page_text(at)
    assert not chart_specs(at)


def test_a_class_on_one_text_builds_its_first_view_once(app_checkpoints, monkeypatch):
    """Sessions on the same text share the built view (words, table, strips); other settings build their own."""
    built = []
    real = kept.layer_rows
    monkeypatch.setattr(kept, "layer_rows", lambda *a, **k: built.append(a[3:]) or real(*a, **k))
    store.view_store()[0].clear()
    first, second = new_app(), new_app()  # two visitors, the same example
    assert strips_body(first) == strips_body(second) and len(built) == 1
    second.radio(key="scale").set_value("per layer").run()
    assert len(built) == 2 and "colours from" in strips_body(second)
    first.radio(key="scale").set_value("per layer").run()  # now stored for this setting too
    assert len(built) == 2 and strips_body(first) == strips_body(second)


def test_colour_scale_control(app_checkpoints, model):
    at = new_app()
    at.radio(key="scale").set_value("per layer").run()
    strips = next(h.proto.body for h in at.html if "es-strips" in h.proto.body)
    tr = trace(model, example_text(FIRST_EXAMPLE))
    w = split_words(tr.tokens)
    spans = kept.coloured_spans(w, word_stats(tr, w))
    for l in range(tr.n_layers):
        assert f"layer {l} (colours from {kept.steps(np.nanmin(spans[l]))} to {kept.steps(np.nanmax(spans[l]))}" \
            in strips
    at.radio(key="scale").set_value("log").run()
    assert not at.exception and any("es-legend" in h.proto.body and ">10<" in h.proto.body for h in at.html)


def test_heatmap_view_has_axis_titles_and_word_ticks(app_checkpoints, model):
    at = new_app()
    at.radio(key="view").set_value("Span heatmap").run()
    expected = trace(model, example_text(FIRST_EXAMPLE))
    (spec,) = chart_specs(at)
    heat = spec["data"][0]
    assert heat["type"] == "heatmap"
    assert np.allclose(heat["z"], expected.spans, atol=1e-3)
    assert heat["x"] == token_labels(expected.tokens)
    assert "predicted span" in heat["hovertemplate"]
    axis = spec["layout"]["xaxis"]
    assert axis["title"]["text"].startswith("the text") and spec["layout"]["yaxis"]["title"]["text"] == "layer"
    assert "Egypt" in axis["ticktext"] or "Alexander" in axis["ticktext"]
    at.radio(key="scale").set_value("per layer").run()
    z = np.asarray(chart_specs(at)[0]["data"][0]["z"], float)
    assert np.allclose(z.min(1), 0) and np.allclose(z.max(1), 1)


@pytest.mark.parametrize("view", [v for v in presenter.TEXT_VIEWS if v != "What each layer kept"])
def test_every_view_renders(app_checkpoints, view):
    at = new_app()
    at.radio(key="view").set_value(view).run()
    assert not at.exception and not errors(at)
    if view in ("Text by span", "Remembered at step t", "Attention at step t"):
        assert "es-strips" in strips_body(at)
    else:
        assert len(chart_specs(at)) == 1
    assert "spec " not in page_text(at) and "e_i" not in page_text(at)  # plain words, no private references


def test_typed_text_is_traced_and_escaped(app_checkpoints, model):
    at = typed(EVIL)
    assert not at.exception
    body = next(h.proto.body for h in at.html if "es-strips" in h.proto.body)
    assert "<script" not in body and "<img" not in body and "alert(1)" in visible_text(body)
    at.radio(key="view").set_value("Span heatmap").run()
    (spec,) = chart_specs(at)
    assert np.allclose(spec["data"][0]["z"], trace(model, EVIL).spans, atol=1e-3)
    for view in ("Text by span", "Remembered at step t", "Attention at step t"):
        at.radio(key="view").set_value(view).run()
        body = strips_body(at)
        assert "<script" not in body and "<img" not in body and "&lt;" in body and "&gt;" in body
        assert EVIL[:-1] in visible_text(body)  # the attention view stops before the last byte


def test_text_strips_modes(app_checkpoints):
    at = new_app()
    at.radio(key="view").set_value("Text by span").run()
    n_layers = strips_body(at).count("<b>layer ")
    assert n_layers == 2
    at.radio(key="strip_mode").set_value("mean over layers").run()
    assert "mean over layers" in strips_body(at)
    at.radio(key="strip_mode").set_value("one layer").run()
    at.selectbox(key="layer").set_value(1).run()
    assert "<b>layer 1</b>" in strips_body(at) and "<b>layer 0</b>" not in strips_body(at)


def test_step_slider_recolours_by_the_soft_mask(app_checkpoints, model):
    at = new_app()
    at.radio(key="view").set_value("Remembered at step t").run()
    t = 120
    at.slider(key="step").set_value(t).run()
    assert not at.exception
    body = strips_body(at)
    tr = trace(model, example_text(FIRST_EXAMPLE))
    held, gone = memory.held_at(tr, t), memory.dropped_by(tr, t)
    for l in range(tr.n_layers):
        full, ramp = int((held[l] >= 1).sum()), int(((held[l] > 0) & (held[l] < 1)).sum())
        assert f"layer {l}: {full} held, {ramp} fading, {int(gone[l].sum())} dropped" in body
    shown = (tr.tokens[:t] < 0x80) | (tr.tokens[:t] >= 0xC0)  # one span per character, none for newlines
    shown &= tr.tokens[:t] != 10
    struck = len(re.findall(r'<span class="(?:es-word )?c(?:\d+|n) x"', body))  # class x: struck (a dropped memory)
    assert struck == int((gone & shown[None, :]).sum()) and ".es-strips .x{text-decoration:line-through" in body
    assert f'title="{t - 1}: seen at' in body and f'title="{t}: seen at' not in body


def test_lifetimes_follow_the_layer(app_checkpoints, model):
    at = new_app()
    at.radio(key="view").set_value("Memory lifetimes").run()
    at.selectbox(key="layer").set_value(1).run()
    tr = trace(model, example_text(FIRST_EXAMPLE))
    spec = chart_specs(at)[0]
    assert spec["data"][0]["y"][0] == "In (0)" and "layer 1" in spec["layout"]["title"]["text"]
    assert np.allclose(spec["data"][0]["x"][0], tr.spans[1, :2].max() - 1, atol=1e-3)  # "In": bytes 0-1
    assert spec["layout"]["height"] <= 900


def test_loss_in_bits_with_cut_span(app_checkpoints, model):
    at = new_app()
    at.radio(key="view").set_value("Loss in bits").run()
    data = chart_specs(at)[0]["data"]
    assert [d["name"] for d in data] == ["memory up to 64", "memory cut to 16", "extra loss when cut"]
    assert "a quarter (16 steps)" in page_text(at)
    assert any("Bits per byte, memory 16" in m.label for m in at.metric)
    text = example_text(FIRST_EXAMPLE)
    full = trace(model, text)
    expected = kept.word_rises(full, trace(model, text, span_limit=16), split_words(full.tokens))
    if expected:  # the page lists the same words as the plain function (tested in test_app_words)
        assert table_cells(rises_body(at)) == [list(expected[0])] + [[kept.cell(v) for v in r.values()]
                                                                     for r in expected]
    else:
        assert "No word lost anything" in page_text(at) and not rises_body(at)


def test_edit_and_compare_starts_from_the_partner_example(app_checkpoints, model):
    at = new_app()
    at.radio(key="view").set_value("Edit and compare").run()
    assert at.text_area(key="text_b").value == partner_text(FIRST_EXAMPLE)
    z = np.asarray(chart_specs(at)[0]["data"][0]["z"], float)
    b = partner_text(FIRST_EXAMPLE).encode()
    assert z.shape == (2, len(b)) and np.isnan(z).any() and np.nanmax(np.abs(z)) > 0
    assert at.dataframe and {"layer", "word", "span in A", "span in B"} <= set(at.dataframe[0].value.columns)
    at.text_area(key="text_b").input(example_text(FIRST_EXAMPLE)).run()  # B = A: no all-zero chart, a hint
    assert not chart_specs(at) and "same as the text above" in page_text(at)


def test_edit_and_compare_opens_with_a_useful_edit_of_pasted_text(app_checkpoints, model):
    story = "Ilse met Teodor at the pier of Varnholm. Later Teodor waved to Ilse from the boat."
    at = typed(story)
    at.radio(key="view").set_value("Edit and compare").run()
    tr = trace(model, story)
    w = split_words(tr.tokens)
    edited, word = diff.default_edit(story, w, word_stats(tr, w))
    assert at.text_area(key="text_b").value == edited != story
    assert f'replaces "{word}"' in page_text(at)
    assert chart_specs(at) or "No word present in both versions changed" in page_text(at)


def test_empty_text_gives_a_message(app_checkpoints):
    at = typed("")
    assert not at.exception and "The text is empty" in page_text(at)
    assert not chart_specs(at)


def test_upload_utf8_and_not_utf8(app_checkpoints, model):
    at = new_app()
    at.radio(key="input_kind").set_value("Upload a file").run()
    assert "Choose a text file" in page_text(at)
    at.file_uploader(key="upload").upload("bad.txt", b"caf\xe9 \xff").run()
    assert not at.exception
    assert any("not UTF-8" in e and "0xe9" in e for e in map(unescaped, errors(at)))  # shown escaped: one line
    at.file_uploader(key="upload").clear().upload("good.txt", "héllo there".encode()).run()
    assert not errors(at)
    assert "héllo" in visible_text(next(h.proto.body for h in at.html if "es-strips" in h.proto.body))


def test_too_long_input_offers_to_cut(app_checkpoints):
    text = "x" * (loading.MAX_INPUT_BYTES + 10)
    at = typed(text)
    assert not at.exception
    assert any("50,010 bytes" in e for e in errors(at)) and not chart_specs(at)
    at.checkbox(key="cut_long").check().run()
    assert not at.exception
    assert "**50,000** bytes" in page_text(at)
    at.radio(key="view").set_value("Span heatmap").run()
    assert len(chart_specs(at)) == 2  # overview of the whole input + the detailed window
    at.slider(key="window").set_value(10_048).run()
    assert chart_specs(at)[1]["data"][0]["x"][0] == "10048:x"


def test_missing_hub_repo_shows_the_checkpoint_error(app_checkpoints):
    at = new_app()
    at.selectbox(key="ckpt_text").set_value("Hugging Face Hub repo id...").run()
    at.text_input(key="ckpt_text_hub").input("nobody-here/no-such-model").run()
    assert not at.exception
    shown = [re.sub(r"\\(.)", r"\1", e) for e in errors(at)]  # shown as plain text: markdown escaped
    assert any("no-such-model" in e and "local cache" in e for e in shown)


def test_no_checkpoint_gives_guidance(app_checkpoints, tmp_path, monkeypatch):
    monkeypatch.setenv("EXPIRE_SPAN_CHECKPOINTS", str(tmp_path))
    at = new_app()
    assert not at.exception
    text = page_text(at)
    assert "No text checkpoint" in text and "model.train" in text and "Hub repo id" in text


def test_exports_are_offered_once_the_section_is_opened(app_checkpoints):
    at = new_app()
    assert at.expander[-1].label == "Export" and not at.get("download_button")  # closed: no button is built
    at.session_state["export"] = True  # what opening it does (it reruns the page)
    at.run()
    labels = [el.proto.label for el in at.get("download_button")]
    assert labels == ["Trace as CSV", "Trace as JSON", "View as HTML"]
    at.radio(key="view").set_value("Span heatmap").run()
    assert [el.proto.label for el in at.get("download_button")][-1] == "Figure as HTML"


def test_the_familiarity_note_sits_under_the_numbers_and_a_hard_text_gets_a_warning(app_checkpoints):
    card = app_checkpoints / "text" / "README.md"
    before = card.read_text() if card.exists() else None

    def summary(at) -> str:
        return next(m.value for m in at.markdown if "bits per byte" in m.value and "layers" in m.value)

    try:
        at = new_app()
        bits = float(re.search(r"\*\*([0-9.]+)\*\* bits per byte", summary(at)).group(1))
        card.write_text(f"# tiny\n\n## Results\n\n- bits: {bits:.2f}\n")  # the model's own test figure
        at.run()
        assert "about as well as what it learned" in summary(at) and not at.warning
        card.write_text(f"# tiny\n\n## Results\n\n- bits: {bits / 4:.2f}\n")  # this text is far harder
        at.run()
        assert "about as well" not in summary(at)
        assert any("far outside what the model learned" in w.value for w in at.warning)
    finally:
        if before is None:
            card.unlink(missing_ok=True)
        else:
            card.write_text(before)
