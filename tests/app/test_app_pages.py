"""AppTest of the About, Teaching (corridor) and Object tracking pages, and the plain helpers behind them."""
import json
import re

import numpy as np
import pytest
from support import (app_checkpoints, chart_specs, errors, new_app, page_text,  # noqa: F401
                              single_thread)

from app import loading
from app.views import collision as collision_view, corridor, kept, scales, strips
from app.views.examples import EXAMPLES, example_text
from app.views.words import split_words, word_stats
from app.views.memory import held_at
from model import ExpireSpanLM, trace
from model.tasks import collision


# --- About ----------------------------------------------------------------------------------------

def test_about_renders_the_model_card_without_raw_html(app_checkpoints):
    at = new_app("app_pages/about.py")
    assert not at.exception and not errors(at)
    md = [m for m in at.markdown if "Tiny text model" in m.value]
    assert md and md[0].proto.allow_html is False  # the card's <b> is never rendered as HTML
    assert "How Expire-Span works" in page_text(at)
    method = [e for e in at.expander if "docs/method.md" in e.proto.label]
    assert method and "## 7" in "".join(m.value for m in method[0].markdown)  # the method, section by section


def test_about_strips_the_yaml_header(tmp_path):
    (tmp_path / "README.md").write_text("---\ntags:\n- x\n---\n\n# Card\n")
    assert loading.read_model_card(str(tmp_path)) == "# Card\n"


# --- Teaching: corridor ---------------------------------------------------------------------------

def test_corridor_episode_and_report(app_checkpoints):
    ep = corridor.make_episode(30, seed=5)
    assert len(ep.tokens) == 33 and ep.targets[-1] == ep.cue and ep.tokens[ep.query_pos] == 20
    model = ExpireSpanLM.from_pretrained(app_checkpoints / "corridor")
    tr = trace(model, ep.tokens, targets=ep.targets)
    rows = corridor.cue_report(tr, ep)
    assert [r["layer"] for r in rows] == [0, 1]
    assert rows[0]["span needed"] == ep.query_pos - 1
    assert rows[1]["cue seen at the query"] == pytest.approx(held_at(tr, ep.query_pos)[1, 1], abs=1e-3)
    assert all(isinstance(r["cue dropped at"], str) for r in rows)  # "never" or a position: one column type
    guess, p = corridor.answer(tr, ep)
    assert guess == tr.predictions[-1] and 0 < p < 1


def test_a_cues_span_is_read_from_start_and_the_cue_alone(app_checkpoints):
    """Causal attention from an empty memory: the cue's span in a whole episode equals its span after
    [START, cue], which is what the elimination check reads for every cue."""
    model = ExpireSpanLM.from_pretrained(app_checkpoints / "corridor")
    alone = corridor.cue_spans_alone(lambda tokens: trace(model, tokens))
    assert sorted(alone) == list(range(loading.CORRIDOR_CONFIG.n_cues))
    for seed in range(6):
        ep = corridor.make_episode(50, seed=seed)
        tr = trace(model, ep.tokens, targets=ep.targets)
        assert alone[ep.cue] == pytest.approx(float(tr.spans[:, 1].max()), rel=1e-5)


def test_elimination_needs_every_other_cue_kept_past_the_query():
    ep = corridor.Episode(np.zeros(103, np.int64), np.zeros(103, np.int64), cue=2)  # query at 102
    assert corridor.by_elimination(ep, {0: 900.0, 1: 101.0, 2: 12.0, 3: 1500.0})
    assert not corridor.by_elimination(ep, {0: 900.0, 1: 100.0, 2: 12.0, 3: 1500.0})  # cue 1 gone too
    assert not corridor.by_elimination(ep, {0: 900.0, 1: 901.0, 2: 101.0, 3: 1500.0})  # the cue is kept


def test_teaching_page_follows_the_length_slider(app_checkpoints):
    at = new_app("app_pages/teaching.py")
    assert not at.exception and not errors(at)
    at.slider(key="corridor_length").set_value(40).run()
    assert not at.exception
    (spec,) = chart_specs(at)
    cue = [d for d in spec["data"] if d["name"] == "cue"][0]
    assert list(cue["x"]) == [1]
    need = [d for d in spec["data"] if d["name"] == "span the cue needs"][0]
    assert list(need["y"]) == [41, 41]  # query at 42, cue at 1
    labels = [m.label for m in at.metric]
    assert "Model's answer at the query" in labels
    assert "the cue lives, the rest fades" in page_text(at)


# --- Object tracking ------------------------------------------------------------------------------

def test_question_rows_and_survival(app_checkpoints):
    seq = collision.generate(collision.SCALED, 60, seed=0)
    model = ExpireSpanLM.from_pretrained(app_checkpoints / "object-collision")
    tr = trace(model, seq.tokens, targets=seq.targets)
    rows = collision_view.question_rows(tr, seq)
    assert len(rows) == int((seq.labels > 0).sum())
    r = rows[-1]
    q = collision_view.question_position(seq, r["frame"])
    assert r["model answer"] == tr.predictions[q] and r["true quadrant"] == seq.labels[r["frame"]]
    held = held_at(tr, q)
    pos = np.arange(r["collision frame"] * seq.frame_len, (r["collision frame"] + 1) * seq.frame_len)
    expected = [l for l in range(tr.n_layers) if (held[l, pos[pos < q]] > 0).any()
                or (pos >= q).any()]
    survived = r["memory survived in layers"]
    got = [int(x) for x in survived.split(", ")] if survived != "none" else []
    assert got == expected


def test_objects_page_generates_and_scrubs_frames(app_checkpoints):
    at = new_app("app_pages/objects.py")
    assert not at.exception and not errors(at)
    at.slider(key="objects_frames").set_value(50).run()
    at.slider(key="frame").set_value(20).run()
    assert not at.exception
    seq = collision.generate(collision.SCALED, 50, 0)
    charts = {s["layout"]["title"]["text"].split(":")[0]: s for s in chart_specs(at)}
    grid = charts["Frame 20"]
    discs = [(x, y) for t in grid["data"] if t["name"].startswith("colour ")
             for x, y in zip(t.get("x", []), t.get("y", [])) if x is not None]
    assert sorted((round(x), y) for x, y in discs) == sorted(map(tuple, seq.positions[20][:, ::-1].tolist()))
    heat = charts["How long each frame is remembered"]["data"][0]
    assert np.asarray(heat["z"]).shape == (2, 50)
    assert len(at.dataframe[1].value) == int((seq.labels > 0).sum())  # [0]: accuracy by quarter


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop("colours"), "missing required field"),
    (lambda d: d["positions"][3][0].__setitem__(0, 9),
     f"inside the {collision.SCALED.grid}x{collision.SCALED.grid} grid"),
    (lambda d: d["config"].__setitem__("particles", 40), "too many particles"),
    (lambda d: d["config"].__setitem__("grid", 9), "token ids"),
])
def test_objects_upload_bad_files(app_checkpoints, change, message):
    d = json.loads(collision.to_json(collision.generate(collision.SCALED, 10, 0)))
    for derived in ("tokens", "targets", "labels", "answer_frames", "collisions"):
        d.pop(derived)
    change(d)
    at = new_app("app_pages/objects.py")
    at.radio(key="objects_source").set_value("Upload JSON").run()
    at.file_uploader(key="objects_upload").upload("seq.json", json.dumps(d).encode(), "application/json").run()
    assert not at.exception
    assert any(message in e for e in errors(at)), errors(at)


def test_objects_upload_the_shipped_example(app_checkpoints):
    data = (loading.ROOT / "assets" / "collision-example.json").read_bytes()
    at = new_app("app_pages/objects.py")
    at.radio(key="objects_source").set_value("Upload JSON").run()
    at.file_uploader(key="objects_upload").upload("example.json", data, "application/json").run()
    assert not at.exception and not errors(at)
    assert any(m.value == f"40 / {40 * collision.SCALED.frame_len}" for m in at.metric)  # frames / tokens


# --- Compare --------------------------------------------------------------------------------------

def test_compare_two_layers(app_checkpoints):
    at = new_app("app_pages/compare.py")
    assert not at.exception and not errors(at)
    assert at.selectbox(key="cmp_layer_a").value == 0 and at.selectbox(key="cmp_layer_b").value == 1
    body = "".join(h.proto.body for h in at.html)
    assert "<b>layer 0</b>" in body and "<b>layer 1</b>" in body
    at.selectbox(key="cmp_layer_a").set_value(1).run()
    at.radio(key="cmp_scale").set_value("log").run()
    assert not at.exception and not errors(at)
    scatter = chart_specs(at)[0]["data"][0]
    assert np.allclose(scatter["x"], scatter["y"])  # layer 1 against itself


def test_compare_colours_words_as_the_text_page_does(app_checkpoints):
    """Issue 33, item 7: Compare draws each layer word by word, with the Text page's strips and scale legend."""
    at = new_app("app_pages/compare.py")
    assert not at.exception and not errors(at) and at.radio(key="cmp_scale").value == "shared"
    tr = trace(ExpireSpanLM.from_pretrained(app_checkpoints / "text"), example_text(next(iter(EXAMPLES))))
    w = split_words(tr.tokens)
    legend, rows = kept.span_strips(w, word_stats(tr, w), "shared", 0, len(tr.tokens), layers=[0, 1])
    bodies = [h.proto.body for h in at.html]
    assert any(b.startswith(legend) and kept.STRIP_NOTE in b for b in bodies)  # the Text page's legend and note
    assert "e+" not in legend and re.findall(r">([\d,.]+)</span>", legend)[-1] == scales._steps(tr.spans.max())
    for row in rows:  # each column: one layer's words, coloured and titled as on the Text page
        assert strips.strips_html([row]) in bodies
    assert all("title=\"byte 0: span" in b for b in bodies if "es-strips" in b)
    at.radio(key="cmp_scale").set_value("per layer").run()
    assert "colours from" in "".join(h.proto.body for h in at.html) and not errors(at)


def test_compare_two_checkpoints(app_checkpoints, tmp_path, monkeypatch):
    from support import tiny_model
    tiny_model(seed=1).save_pretrained(tmp_path / "text")
    tiny_model(seed=7).save_pretrained(tmp_path / "text-other")
    monkeypatch.setenv("EXPIRE_SPAN_CHECKPOINTS", str(tmp_path))
    at = new_app("app_pages/compare.py")
    at.radio(key="cmp_mode").set_value("Two checkpoints").run()
    assert not at.exception and not errors(at)
    a, _, b, _ = chart_specs(at)  # each: span heatmap, memory in use
    assert a["data"][0]["x"] == b["data"][0]["x"]
    assert not np.allclose(a["data"][0]["z"], b["data"][0]["z"])
    assert "Expire-Span against its Transformer-XL baseline" not in at.radio(key="cmp_mode").options


def test_compare_offers_the_named_baseline(app_checkpoints, tmp_path, monkeypatch):
    from support import tiny_model

    from model.card import write_metadata
    tiny_model(seed=1).save_pretrained(tmp_path / "text")
    tiny_model(seed=7, expire_span=False).save_pretrained(tmp_path / "text-txl")
    write_metadata(tmp_path / "text", baseline="text-txl")
    monkeypatch.setenv("EXPIRE_SPAN_CHECKPOINTS", str(tmp_path))
    at = new_app("app_pages/compare.py")
    at.radio(key="cmp_mode").set_value("Expire-Span against its Transformer-XL baseline").run()
    assert not at.exception and not errors(at)
    text = page_text(at)
    assert "**text**: Expire-Span" in text and "**text\\-txl**: Transformer-XL (no expiry)" in text  # name escaped
    assert len(chart_specs(at)) == 4


def test_compare_with_one_checkpoint_explains(app_checkpoints):
    at = new_app("app_pages/compare.py")
    at.radio(key="cmp_mode").set_value("Two checkpoints").run()
    text = page_text(at)
    assert not at.exception and "needs two text checkpoints" in text and "has one (text)" in text
    assert "No text checkpoint" not in text
