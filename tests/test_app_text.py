"""AppTest of the Text page: input paths, every view, bad input, escaping (tiny random checkpoint)."""
import html
import re

import numpy as np
import pytest
from test_app_support import (app_checkpoints, chart_specs, errors, new_app, page_text,  # noqa: F401
                              single_thread)

from app import loading, memory
from app.examples import EXAMPLES, example_text, partner_text
from app.text_views import largest_rises
from app.text_views import token_labels
from model import ExpireSpanLM, trace

EVIL = "<script>alert(1)</script> and <img src=x onerror=alert(1)>"
FIRST_EXAMPLE = next(iter(EXAMPLES))


@pytest.fixture(scope="module")
def model(app_checkpoints):
    return ExpireSpanLM.from_pretrained(app_checkpoints / "text")


def visible_text(body: str) -> str:
    """What a browser shows of our HTML: tags removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", body))


def typed(text: str):
    at = new_app()
    at.radio(key="input_kind").set_value("Type or paste").run()
    at.text_area(key="text_input").input(text).run()
    return at


def test_default_page_shows_the_heatmap_of_the_first_example(app_checkpoints, model):
    at = new_app()
    assert not at.exception and not errors(at)
    expected = trace(model, example_text(FIRST_EXAMPLE))
    (spec,) = chart_specs(at)
    heat = spec["data"][0]
    assert heat["type"] == "heatmap"
    assert np.allclose(heat["z"], expected.spans, atol=1e-3)
    assert heat["x"] == token_labels(expected.tokens)
    assert "predicted span" in heat["hovertemplate"]
    assert "Running on" in page_text(at) and "CPU" in page_text(at)
    assert at.selectbox(key="ckpt_text").value == "text"


@pytest.mark.parametrize("view", ["Text by span", "Remembered at step t", "Memory lifetimes", "Memory in use",
                                  "Span by byte class", "Loss in bits", "Edit and compare"])
def test_every_view_renders(app_checkpoints, view):
    at = new_app()
    at.radio(key="view").set_value(view).run()
    assert not at.exception and not errors(at)
    if view in ("Text by span", "Remembered at step t"):
        assert at.html and "es-strips" in at.html[-1].proto.body
    else:
        assert len(chart_specs(at)) == 1


def test_typed_text_is_traced_and_escaped(app_checkpoints, model):
    at = typed(EVIL)
    assert not at.exception
    (spec,) = chart_specs(at)
    assert np.allclose(spec["data"][0]["z"], trace(model, EVIL).spans, atol=1e-3)
    for view in ("Text by span", "Remembered at step t"):
        at.radio(key="view").set_value(view).run()
        body = at.html[-1].proto.body
        assert "<script" not in body and "<img" not in body and "&lt;" in body and "&gt;" in body
        assert EVIL in visible_text(body)


def test_text_strips_modes(app_checkpoints):
    at = new_app()
    at.radio(key="view").set_value("Text by span").run()
    n_layers = at.html[-1].proto.body.count("<b>layer ")
    assert n_layers == 2
    at.radio(key="strip_mode").set_value("mean over layers").run()
    assert "mean over layers" in at.html[-1].proto.body
    at.radio(key="strip_mode").set_value("one layer").run()
    at.selectbox(key="layer").set_value(1).run()
    assert "<b>layer 1</b>" in at.html[-1].proto.body and "<b>layer 0</b>" not in at.html[-1].proto.body


def test_step_slider_recolours_by_the_soft_mask(app_checkpoints, model):
    at = new_app()
    at.radio(key="view").set_value("Remembered at step t").run()
    t = 120
    at.slider(key="step").set_value(t).run()
    assert not at.exception
    body = at.html[-1].proto.body
    tr = trace(model, example_text(FIRST_EXAMPLE))
    held, gone = memory.held_at(tr, t), memory.dropped_by(tr, t)
    for l in range(tr.n_layers):
        full, ramp = int((held[l] >= 1).sum()), int(((held[l] > 0) & (held[l] < 1)).sum())
        assert f"layer {l}: {full} held, {ramp} fading, {int(gone[l].sum())} dropped" in body
    shown = (tr.tokens[:t] < 0x80) | (tr.tokens[:t] >= 0xC0)  # one span per character, none for newlines
    shown &= tr.tokens[:t] != 10
    assert body.count("line-through") == int((gone & shown[None, :]).sum())
    assert f'title="{t - 1}: mask' in body and f'title="{t}: mask' not in body


def test_lifetimes_follow_the_layer(app_checkpoints, model):
    at = new_app()
    at.radio(key="view").set_value("Memory lifetimes").run()
    at.selectbox(key="layer").set_value(1).run()
    tr = trace(model, example_text(FIRST_EXAMPLE))
    bars = chart_specs(at)[0]["data"][0]
    assert np.allclose(bars["x"], tr.spans[1, :len(bars["x"])], atol=1e-3)


def test_loss_in_bits_with_cut_span(app_checkpoints, model):
    at = new_app()
    at.radio(key="view").set_value("Loss in bits").run()
    data = chart_specs(at)[0]["data"]
    assert [d["name"] for d in data] == ["bits, L = 64", "bits, L = 16", "rise when L is cut"]
    assert "cut to L/4 = 16" in page_text(at)
    assert any("Mean bits per byte, L = 16" in m.label for m in at.metric)
    text = example_text(FIRST_EXAMPLE)
    expected = largest_rises(trace(model, text), trace(model, text, span_limit=16))
    if expected:  # the page lists the same bytes as the plain function (tested in test_app_figures)
        assert at.dataframe[0].value.to_dict("records") == expected
    else:
        assert "No byte lost anything when L was cut" in page_text(at) and not at.dataframe


def test_edit_and_compare_starts_from_the_partner_example(app_checkpoints, model):
    at = new_app()
    at.radio(key="view").set_value("Edit and compare").run()
    assert at.text_area(key="text_b").value == partner_text(FIRST_EXAMPLE)
    z = np.asarray(chart_specs(at)[0]["data"][0]["z"], float)
    b = partner_text(FIRST_EXAMPLE).encode()
    assert z.shape == (2, len(b)) and np.isnan(z).any()
    at.text_area(key="text_b").input(example_text(FIRST_EXAMPLE)).run()  # B = A: nothing changes
    z = np.asarray(chart_specs(at)[0]["data"][0]["z"], float)
    assert np.allclose(z, 0, atol=1e-4)


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
    assert any("not UTF-8" in e and "0xe9" in e for e in errors(at))
    at.file_uploader(key="upload").clear().upload("good.txt", "héllo there".encode()).run()
    assert not errors(at)
    assert np.allclose(chart_specs(at)[0]["data"][0]["z"], trace(model, "héllo there").spans, atol=1e-3)


def test_too_long_input_offers_to_cut(app_checkpoints):
    text = "x" * (loading.MAX_INPUT_BYTES + 10)
    at = typed(text)
    assert not at.exception
    assert any("50,010 bytes" in e for e in errors(at)) and not chart_specs(at)
    at.checkbox(key="cut_long").check().run()
    assert not at.exception
    assert any(m.value == "50,000" for m in at.metric)
    assert len(chart_specs(at)) == 2  # overview of the whole input + the detailed window
    at.slider(key="window").set_value(10_048).run()
    assert chart_specs(at)[1]["data"][0]["x"][0] == "10048:x"


def test_missing_hub_repo_shows_the_checkpoint_error(app_checkpoints):
    at = new_app()
    at.selectbox(key="ckpt_text").set_value("Hugging Face Hub repo id...").run()
    at.text_input(key="ckpt_text_hub").input("nobody-here/no-such-model").run()
    assert not at.exception
    assert any("no-such-model" in e and "local cache" in e for e in errors(at))


def test_no_checkpoint_gives_guidance(app_checkpoints, tmp_path, monkeypatch):
    monkeypatch.setenv("EXPIRE_SPAN_CHECKPOINTS", str(tmp_path))
    at = new_app()
    assert not at.exception
    text = page_text(at)
    assert "No text checkpoint" in text and "model.train" in text and "Hub repo id" in text


def test_exports_are_offered(app_checkpoints):
    at = new_app()
    labels = [el.proto.label for el in at.get("download_button")]
    assert labels == ["Trace as CSV", "Trace as JSON", "Figure as HTML"]
