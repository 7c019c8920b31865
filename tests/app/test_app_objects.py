"""The Object tracking page: accuracy along the sequence, the grid's legend, labels and quadrants, the words on
the page, and bad input. Plain functions first (no browser), then the page through AppTest."""
import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from support import tiny_model
from streamlit.testing.v1 import AppTest
from support import MAIN, app_checkpoints, chart_specs, errors, page_text, single_thread  # noqa: F401

from app import settings
from app.views import collision as cv
from app.views import task_figures
from model import ExpireSpanLM, trace
from model.collision_memory import latest_collision_answers, span_by_frame_kind, token_kinds
from model.tasks import collision

MANY = collision.CollisionConfig(grid=6, particles=4, colours=5, question_prob=0.6, recolour_prob=0.2)


def fake_trace(seq, right_every: int = 3):
    """A stand-in trace whose answers we choose: right on every `right_every`-th scored question, otherwise
    the next quadrant round (so wrong)."""
    pred = np.zeros(len(seq.tokens), dtype=np.int64)
    for k, f in enumerate(np.flatnonzero(seq.labels > 0)):
        truth = int(seq.labels[f])
        pred[f * seq.frame_len + seq.frame_len - 1] = truth if k % right_every == 0 else truth % 4 + 1
    return SimpleNamespace(predictions=pred)


# --- accuracy along the sequence -------------------------------------------------------------------

def test_accuracy_by_part_counts_what_the_predictions_say():
    seq = collision.generate(collision.SCALED, 203, seed=4)  # not a multiple of 4: the last part is longer
    tr = fake_trace(seq)
    parts = cv.accuracy_by_part(tr, seq)
    assert [p["first frame"] for p in parts] == [0, 50, 101, 152]
    assert [p["last frame"] for p in parts] == [49, 100, 151, 202]
    expected = []
    for p in parts:  # recount by hand, frame by frame
        n = right = 0
        for f in range(p["first frame"], p["last frame"] + 1):
            if seq.labels[f] > 0:
                n += 1
                right += int(tr.predictions[f * 8 + 7] == seq.labels[f])
        expected.append((n, right))
    assert [(p["scored"], p["right"]) for p in parts] == expected
    assert sum(n for n, _ in expected) == int((seq.labels > 0).sum()) > 0
    for p in parts:
        assert p["accuracy"] == (p["right"] / p["scored"] if p["scored"] else None)
    right, n = cv.accuracy(tr, seq)
    assert (right, n) == (sum(r for _, r in expected), sum(k for k, _ in expected))
    assert right == len(range(0, n, 3))  # every third scored question, as the fake trace answers
    rule = latest_collision_answers(seq)
    for p in parts:  # the latest-collision rule, recounted the same way
        inside = [f for f in range(p["first frame"], p["last frame"] + 1) if seq.labels[f] > 0]
        assert p["rule right"] == sum(int(rule[f] == seq.labels[f]) for f in inside)
        assert p["rule accuracy"] == (p["rule right"] / p["scored"] if p["scored"] else None)
    assert cv.rule_accuracy(seq) == (sum(p["rule right"] for p in parts), n)


def test_accuracy_by_part_with_a_real_trace_and_distances_back():
    seq = collision.generate(collision.SCALED, 120, seed=1)
    tr = trace(tiny_model(seed=3, vocab_size=collision.vocab_size(collision.SCALED)), seq.tokens, targets=seq.targets)
    parts = cv.accuracy_by_part(tr, seq)
    f = np.flatnonzero(seq.labels > 0)
    ok = tr.predictions[f * seq.frame_len + seq.frame_len - 1] == seq.labels[f]
    quarter = f * 4 // seq.n_frames
    assert [p["right"] for p in parts] == [int(ok[quarter == k].sum()) for k in range(4)]
    for k, p in enumerate(parts):
        inside = f[quarter == k]
        if len(inside):
            assert p["collisions"] == len(set(seq.answer_frames[inside].tolist()))
            assert p["median tokens back"] == int(np.median((inside - seq.answer_frames[inside]) * seq.frame_len))


def test_accuracy_by_part_when_nothing_is_scored():
    seq = collision.generate(collision.SCALED, 4, seed=0)
    seq.labels[:] = 0
    parts = cv.accuracy_by_part(fake_trace(seq), seq)
    assert all(p["scored"] == 0 and p["accuracy"] is None and p["median tokens back"] is None for p in parts)
    fig = task_figures.accuracy_by_part(parts)
    assert [list(bars.text) for bars in fig.data] == [["nothing scored"] * 4] * 2


def test_accuracy_figure_bars_and_chance_line():
    seq = collision.generate(collision.SCALED, 160, seed=2)
    parts = cv.accuracy_by_part(fake_trace(seq, right_every=2), seq)
    fig = task_figures.accuracy_by_part(parts)
    bars, rule = fig.data
    assert (bars.name, rule.name) == ("the model", "latest-collision rule")
    assert list(bars.y) == pytest.approx([100 * p["accuracy"] for p in parts])
    assert list(bars.text) == [f"{p['accuracy']:.0%}" for p in parts]
    assert list(bars.hovertext) == [f"{p['right']} of {p['scored']} right" for p in parts]
    assert list(rule.y) == pytest.approx([100 * p["rule accuracy"] for p in parts])
    assert list(rule.hovertext) == [f"{p['rule right']} of {p['scored']} right" for p in parts]
    assert "frames 0–39" in bars.x[0] and "frames 120–159" in bars.x[3] and list(rule.x) == list(bars.x)
    (line,) = [s for s in fig.layout.shapes if s.y0 == s.y1]
    assert line.y0 == 25 and line.line.dash == "dash"
    assert any("chance: 25%" in a.text for a in fig.layout.annotations)


def test_rule_words_say_which_is_right_more_often():
    assert "it is right more often than the model: 80% of the questions against 50%" in cv.rule_words(5, 8, 10)
    assert "So most questions here need only the latest collision" in cv.rule_words(5, 8, 10)
    assert "most questions" not in cv.rule_words(2, 4, 10)  # 40%: the rule wins, yet it answers fewer than half
    assert "the model is right more often than that rule: 80% against 50%" in cv.rule_words(8, 5, 10)
    assert "right exactly as often as the model: 50%" in cv.rule_words(5, 5, 10)
    assert all("**latest-collision rule**" in cv.rule_words(*a) for a in ((5, 8, 10), (8, 5, 10), (5, 5, 10)))
    assert cv.rule_words(0, 0, 0) == ""


# --- the grid: legend, labels, quadrants ------------------------------------------------------------

def test_grid_legend_has_every_colour_and_labels_are_colour_numbers():
    seq = collision.generate(MANY, 40, seed=3)
    for frame in (0, 17, 39):
        fig = task_figures.collision_grid(seq, frame)
        named = {t.name: t for t in fig.data}
        drawn = 0
        for c in range(MANY.colours):
            t = named[f"colour {c} ({cv.COLOUR_NAMES[c]})"]
            assert t.marker.color == cv.PALETTE[c] and t.showlegend is not False
            who = np.flatnonzero(seq.colours[frame] == c)
            assert list(t.text) == [str(c)] * len(who)  # the number on the disc is the colour number
            if len(who):
                assert list(t.customdata[:, 0]) == list(who)
                assert list(np.round(t.x).astype(int)) == list(seq.positions[frame][who, 1])
                assert list(t.y) == list(seq.positions[frame][who, 0])
            drawn += len(who)
        assert drawn == MANY.particles
        a, b = seq.questions[frame]
        assert f"in colour {a} and a higher-numbered particle in colour {b}" in fig.layout.title.text


def test_question_colours_match_the_legend_and_the_story():
    seq = collision.generate(collision.SCALED, 80, seed=0)
    tr = fake_trace(seq)
    f = int(np.flatnonzero(seq.labels > 0)[0])
    a, b = (int(c) for c in seq.questions[f])
    fig = task_figures.collision_grid(seq, f)
    assert f"p0 in colour {a} and p1 in colour {b}" in fig.layout.title.text
    story = " ".join(cv.frame_story(tr, seq, f))
    assert f"p0 in colour {a} ({cv.COLOUR_NAMES[a]}) and p1 in colour {b} ({cv.COLOUR_NAMES[b]})" in story
    legend = cv.colour_legend_html(seq.config)
    for c in range(seq.config.colours):
        assert f">{c}</span>&nbsp;colour {c} ({cv.COLOUR_NAMES[c]})" in legend and cv.PALETTE[c] in legend
    assert f"colour {seq.config.colours} " not in legend


def test_collision_square_surrounds_the_shared_cell_and_particles_stay_in_it():
    seq = collision.generate(collision.SCALED, 400, seed=0)
    f = int(np.flatnonzero(seq.collisions)[0])
    fig = task_figures.collision_grid(seq, f)
    (square,) = [t for t in fig.data if t.name.startswith("collision")]
    r, c = seq.positions[f][0]
    xs = [x for x in square.x if x is not None]
    ys = [y for y in square.y if y is not None]
    assert min(xs) == pytest.approx(c - 0.47) and max(xs) == pytest.approx(c + 0.47)
    assert min(ys) == pytest.approx(r - 0.47) and max(ys) == pytest.approx(r + 0.47)
    discs = np.concatenate([t.x for t in fig.data if t.name.startswith("colour ") and t.x[0] is not None])
    assert len(set(np.round(discs, 6))) == 2 and np.all(np.abs(discs - c) < 0.47)  # side by side, inside
    numbers = [t for t in fig.data if t.name == "particle numbers"][0]
    assert list(numbers.text) == ["p0", "p1"]
    quiet = int(np.flatnonzero(~seq.collisions)[0])
    (none,) = [t for t in task_figures.collision_grid(seq, quiet).data if t.name.startswith("collision")]
    assert list(none.x) == [None]  # still in the legend, nothing drawn
    assert "black square" in " ".join(cv.frame_story(fake_trace(seq), seq, f))


@pytest.mark.parametrize("grid", [4, 5, 16])
def test_quadrants_follow_the_task_rule(grid):
    cfg = collision.CollisionConfig(grid=grid)
    cells = cv.quadrant_cells(cfg)
    for q, (rows, cols) in cells.items():
        for r in rows:
            for c in cols:
                assert 1 + int(collision.quadrant(cfg, r, c)) == q
    assert sum(len(r) * len(c) for r, c in cells.values()) == grid * grid
    note = cv.quadrant_note(cfg)
    top, left = cells[1]
    assert f"**1** top left (rows 0–{top.stop - 1}, columns 0–{left.stop - 1})" in note
    assert f"**4** bottom right (rows {top.stop}–{grid - 1}, columns {left.stop}–{grid - 1})" in note
    fig = task_figures.collision_grid(collision.generate(cfg, 3, 0), 1)
    labels = [t for t in fig.data if t.name == "quadrants"][0]
    assert list(labels.text) == ["1 top left", "2 top right", "3 bottom left", "4 bottom right"]
    for q, x, y in zip(range(1, 5), labels.x, labels.y):  # each label sits inside its own quadrant
        assert 1 + int(collision.quadrant(cfg, round(y), round(x))) == q
    dashed = [s for s in fig.layout.shapes if s.line.dash == "dash"]
    assert sorted((s.x0, s.y0) for s in dashed if s.x0 == s.x1 and s.xref == "x") == [(left.stop - 0.5, 0)]
    assert any(s.y0 == s.y1 == top.stop - 0.5 for s in dashed)


def test_frame_story_words():
    seq = collision.generate(collision.SCALED, 120, seed=2)
    tr = fake_trace(seq, right_every=2)
    scored = np.flatnonzero(seq.labels > 0)
    right_f, wrong_f = int(scored[0]), int(scored[1])
    s = " ".join(cv.frame_story(tr, seq, right_f))
    assert f"quadrant **{cv.quadrant_name(seq.labels[right_f])}**" in s and "**right**" in s
    w = " ".join(cv.frame_story(tr, seq, wrong_f))
    assert "**wrong**" in w and cv.QUADRANTS[int(tr.predictions[wrong_f * 8 + 7])] in w
    unscored = int(np.flatnonzero(seq.labels == 0)[0])
    assert "not scored" in " ".join(cv.frame_story(tr, seq, unscored))
    assert cv.quadrant_name(7) == "7"  # a model may answer a token that is no quadrant


def test_next_collision():
    seq = collision.generate(collision.SCALED, 300, seed=0)
    hits = np.flatnonzero(seq.collisions)
    assert len(hits) >= 2
    assert cv.next_collision(seq, -1, 1) == hits[0]
    assert cv.next_collision(seq, int(hits[0]), 1) == hits[1]
    assert cv.next_collision(seq, int(hits[1]), -1) == hits[0]
    assert cv.next_collision(seq, int(hits[-1]), 1) == hits[-1]  # none later: stay
    assert cv.next_collision(seq, int(hits[0]), -1) == hits[0]


def test_md_escape_shows_markdown_and_html_as_typed():
    out = cv.md_escape("[x](javascript:alert(1)) <b>hi</b> **bold** $x$ :red[y]\n# head")
    for raw in ("[x](", "<b>", "**", "$x$", ":red[", "\n"):
        assert raw not in out
    assert re.sub(r"\\(.)", r"\1", out) == "[x](javascript:alert(1)) <b>hi</b> **bold** $x$ :red[y] # head"


# --- does the model keep the collisions? -------------------------------------------------------------

def spans_by_kind(seq, collision_spans, ordinary_spans, answering=None):
    """Spans (n_layers x T) where every token of a collision frame has collision_spans[l] in layer l and every
    other token ordinary_spans[l]; answering (optional) overrides the collision frames a question asks about."""
    kinds = token_kinds(seq)
    spans = np.empty((len(collision_spans), len(seq.tokens)))
    for l in range(len(collision_spans)):
        spans[l] = np.where(kinds["collision"], collision_spans[l], ordinary_spans[l])
        if answering is not None:
            spans[l, kinds["answering"]] = answering[l]
    return span_by_frame_kind([spans], [kinds])


def test_ratio_and_tokens_are_written_as_people_write_them():
    assert [cv.times(r) for r in (4.1, 4.066, 1.26, 0.99, 1.004, 0.5, 12.345)] == \
        ["4.1x", "4.07x", "1.26x", "0.99x", "1.0x", "0.5x", "12.35x"]
    assert [cv.tokens(x) for x in (1110.4, 150.0, 3479.1, 0.2)] == ["1,110", "150", "3,479", "0"]


def test_collision_words_when_a_layer_keeps_collisions_longer():
    seq = collision.generate(collision.SCALED, 400, seed=0)
    assert seq.collisions.any() and not seq.collisions.all()
    m = spans_by_kind(seq, [150, 160, 610, 1110], [150, 150, 150, 1000])
    (said,) = cv.collision_memory_words(m)[:1]
    assert said == ("Layer 2 keeps collision frames 4.07x as long as ordinary frames (610 against 150 tokens); "
                    "in the other layers the ratio runs from 1.0x to 1.11x.")
    m = spans_by_kind(seq, [150, 300, 150], [150, 150, 150])
    assert cv.collision_memory_words(m)[0] == ("Layer 1 keeps collision frames 2.0x as long as ordinary frames "
                                               "(300 against 150 tokens); in each of the other layers it is 1.0x.")
    m = spans_by_kind(seq, [1500, 100], [1000, 100])  # exactly the threshold counts
    assert cv.collision_memory_words(m)[0].startswith("Layer 0 keeps collision frames 1.5x as long as ordinary "
                                                      "frames (1,500 against 1,000 tokens)")


def test_collision_words_when_no_layer_does():
    seq = collision.generate(collision.SCALED, 400, seed=0)
    m = spans_by_kind(seq, [99, 126, 200, 1100], [100, 100, 180, 1000])  # 0.99x to 1.26x: no effect
    said = cv.collision_memory_words(m)
    assert said[0] == ("No layer keeps collision frames much longer than ordinary frames: the ratio of their mean "
                       "spans runs from 0.99x to 1.26x across the layers.")
    assert not any(re.search(r"keeps collision frames [\d.]+x as long", s) for s in said)
    m = spans_by_kind(seq, [200, 60, 210, 3480], [200, 106, 370, 3510])  # layers 1 and 2 keep them shorter
    assert cv.collision_memory_words(m)[0] == (
        "No layer keeps collision frames much longer than ordinary frames: the ratio of their mean spans runs "
        "from 0.57x to 1.0x across the layers, and layers 1 and 2 keep them shorter.")
    m = spans_by_kind(seq, [100, 100], [100, 100])
    assert "the ratio of their mean spans is 1.0x in every layer." in cv.collision_memory_words(m)[0]
    m = spans_by_kind(seq, [149], [100])  # just under 1.5x
    assert cv.collision_memory_words(m)[0].startswith("No layer keeps collision frames much longer")


def test_collision_words_about_answering_and_unasked_collisions():
    seq = collision.generate(collision.SCALED, 400, seed=0)
    kinds = token_kinds(seq)
    assert kinds["answering"].any() and kinds["unasked"].any()
    m = spans_by_kind(seq, [100, 100], [100, 100], answering=[100, 350])
    assert cv.collision_memory_words(m)[1] == (
        "Layer 1 keeps the collisions a later question asks about 3.5x as long as those no question asks about "
        "(350 against 100 tokens); in the other layer the ratio is 1.0x.")
    m = spans_by_kind(seq, [100, 100], [100, 100], answering=[105, 98])
    assert cv.collision_memory_words(m)[1] == (
        "No layer keeps the collisions a later question asks about much longer than those no question asks about: "
        "the ratio of their mean spans runs from 0.98x to 1.05x across the layers.")
    seq.answer_frames[:] = -1  # no question scored: no answering collision, no second sentence
    m = span_by_frame_kind([np.ones((2, len(seq.tokens)))], [token_kinds(seq)])
    assert len(cv.collision_memory_words(m)) == 1


def test_collision_words_without_collisions_and_no_chart():
    seq = collision.generate(collision.SCALED, 40, seed=0)
    seq.collisions[:] = False
    m = span_by_frame_kind([np.full((2, len(seq.tokens)), 50.0)], [token_kinds(seq)])
    assert m["span_collision"] is None
    assert cv.collision_memory_words(m) == [
        "This sequence has no collision frame, so there is nothing to compare the ordinary frames with."]
    fig = task_figures.spans_per_frame(SimpleNamespace(tokens=seq.tokens, spans=np.ones((2, len(seq.tokens))),
                                                       n_layers=2, max_span=64), 8, seq.collisions)
    (rug,) = [t for t in fig.data if t.name == "collision frame"]
    assert len(rug.x) == 0
    seq.collisions[:] = True
    m = span_by_frame_kind([np.full((2, len(seq.tokens)), 50.0)], [token_kinds(seq)])
    assert "no ordinary frames" in cv.collision_memory_words(m)[0]


def test_spans_by_frame_kind_figure_two_bars_per_layer():
    seq = collision.generate(collision.SCALED, 400, seed=0)
    m = spans_by_kind(seq, [150, 160, 610, 1110], [150, 150, 150, 1000])
    fig = task_figures.spans_by_frame_kind(m)
    bars = [t for t in fig.data if t.type == "bar"]
    assert [t.name for t in bars] == ["collision frames", "ordinary frames"] and len(fig.data) == 2
    assert fig.layout.barmode == "group"
    for t, kind in zip(bars, ("collision", "ordinary")):
        assert list(t.x) == ["layer 0", "layer 1", "layer 2", "layer 3"]  # numbered from 0, as on the page
        assert list(t.y) == pytest.approx(m[f"span_{kind}"])
        assert f"over {m[f'tokens_{kind}']:,} tokens" in t.hovertemplate
        assert [c[0] for c in t.customdata] == ["1.0x", "1.07x", "4.07x", "1.11x"]
    assert list(bars[1].text) == ["150", "150", "150", "1,000"]
    assert fig.layout.yaxis.title.text == "mean span (tokens)"


def test_span_heatmap_marks_exactly_the_collision_frames():
    short = collision.generate(collision.SCALED, 100, seed=0)
    tr = trace(tiny_model(seed=3, vocab_size=collision.vocab_size(collision.SCALED)), short.tokens)
    fig = task_figures.spans_per_frame(tr, short.frame_len, short.collisions)
    assert fig.data[0].type == "heatmap" and np.asarray(fig.data[0].z).shape == (2, 100)
    (rug,) = [t for t in fig.data if t.name == "collision frame"]
    assert rug.type == "scatter" and rug.showlegend and rug.mode == "markers"
    assert list(rug.x) == np.flatnonzero(short.collisions).tolist() and len(rug.x) > 0
    assert len(fig.layout.shapes) == 0  # one marker trace, never a shape per collision
    assert fig.layout.xaxis.range == fig.layout.xaxis2.range == (-0.5, 99.5)
    plain = task_figures.spans_per_frame(tr, short.frame_len)
    assert [t.type for t in plain.data] == ["heatmap"]
    seq = collision.generate(collision.SCALED, 3000, seed=0)
    long = SimpleNamespace(tokens=seq.tokens, spans=np.ones((2, len(seq.tokens))), n_layers=2, max_span=64)
    fig = task_figures.spans_per_frame(long, seq.frame_len, seq.collisions)  # 3,000 frames: still one trace
    assert len(fig.data) == 2 and list(fig.data[1].x) == np.flatnonzero(seq.collisions).tolist()


# --- the page ----------------------------------------------------------------------------------------

def objects_app(frames: int | None = 48, seed: int = 0) -> AppTest:
    """The Object tracking page (tiny checkpoints) with a short sequence chosen before its first run."""
    at = AppTest.from_file(MAIN, default_timeout=240)
    if frames is not None:
        at.session_state["objects_frames"] = frames
    at.session_state["objects_seed"] = seed
    at.run()
    at.switch_page("app_pages/objects.py").run()
    assert not at.exception, at.exception
    return at


def test_page_accuracy_chart_matches_the_trace(app_checkpoints):
    at = objects_app(48, seed=5)
    assert not errors(at)
    seq = collision.generate(collision.SCALED, 48, 5)
    model = ExpireSpanLM.from_pretrained(app_checkpoints / "object-collision")
    tr = trace(model, seq.tokens, targets=seq.targets)
    f = np.flatnonzero(seq.labels > 0)
    ok = tr.predictions[f * 8 + 7] == seq.labels[f]
    quarter = f * 4 // 48
    (bars,) = [s for s in chart_specs(at) if s["layout"]["title"]["text"].startswith("Share of the scored")]
    expect = [100 * ok[quarter == k].mean() if (quarter == k).any() else 0.0 for k in range(4)]
    assert list(bars["data"][0]["y"]) == pytest.approx(expect)
    assert any(s.get("y0") == 25 for s in bars["layout"]["shapes"])  # the chance line
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Answered right"] == f"{ok.mean():.0%}" and metrics["Scored questions"] == f"{len(f):,}"
    rule_ok = latest_collision_answers(seq)[f] == seq.labels[f]
    assert metrics["Latest-collision rule"] == f"{rule_ok.mean():.0%}"
    assert cv.rule_words(int(ok.sum()), int(rule_ok.sum()), len(f)) in page_text(at)
    assert list(bars["data"][1]["y"]) == pytest.approx(
        [100 * rule_ok[quarter == k].mean() if (quarter == k).any() else 0.0 for k in range(4)])
    table = at.dataframe[0].value
    assert list(table["scored questions"]) == [int((quarter == k).sum()) for k in range(4)]


def test_page_legend_quadrants_and_plain_words(app_checkpoints):
    at = objects_app(48)
    text = page_text(at)
    html = "".join(h.proto.body for h in at.html)
    for c in range(collision.SCALED.colours):  # the legend, in plain words on the page
        assert f"colour {c} ({cv.COLOUR_NAMES[c]})" in html
    assert "**1** top left" in text and "**4** bottom right" in text  # quadrants in words, not only on hover
    assert not re.search(r"\bspec\b", text, re.I)  # no citations of a document the visitor does not have
    assert "A token's **span** is how many tokens later" in text  # the spans chart's symbol explained
    at.button(key="objects_next").click().run()  # to the first collision: two discs in one cell
    grid = [s for s in chart_specs(at) if "where did" in s["layout"]["title"]["text"]][0]
    f = at.slider(key="frame").value
    seq = collision.generate(collision.SCALED, 48, 0)
    assert seq.collisions[f]
    for t in grid["data"]:
        if t["name"].startswith("colour "):
            c = int(t["name"].split()[1])
            assert set(t.get("text", [])) <= {str(c)}
            assert len(t.get("text", [])) == int((seq.colours[f] == c).sum())
    a, b = seq.questions[f]
    assert f"p0 in colour {a} and p1 in colour {b}" in grid["layout"]["title"]["text"]
    assert f"p0 in colour {a} ({cv.COLOUR_NAMES[a]}) and p1 in colour {b}" in page_text(at)


def test_page_compares_collision_and_ordinary_frames(app_checkpoints):
    at = objects_app(48, seed=0)
    seq = collision.generate(collision.SCALED, 48, 0)
    model = ExpireSpanLM.from_pretrained(app_checkpoints / "object-collision")
    m = span_by_frame_kind([trace(model, seq.tokens, targets=seq.targets).spans], [token_kinds(seq)])
    assert m["tokens_collision"] and m["tokens_ordinary"]
    text = page_text(at)
    said = cv.collision_memory_words(m)
    assert said and all(s in text for s in said)
    assert "Does the model keep the collision frames longer?" in text
    assert "has to keep the collisions in memory" not in text  # no claim the numbers do not back
    charts = {s["layout"]["title"]["text"].split(":")[0]: s for s in chart_specs(at)}
    bars = charts["Mean span per layer"]["data"]
    assert [b["name"] for b in bars] == ["collision frames", "ordinary frames"]
    assert list(bars[0]["y"]) == pytest.approx(m["span_collision"])
    assert list(bars[1]["y"]) == pytest.approx(m["span_ordinary"])
    assert list(bars[0]["x"]) == ["layer 0", "layer 1"]
    heat = charts["How long each frame is remembered"]["data"]
    (rug,) = [t for t in heat if t.get("name") == "collision frame"]
    assert list(rug["x"]) == np.flatnonzero(seq.collisions).tolist()


SHIPPED_RESULTS = Path(__file__).resolve().parents[2] / "checkpoints" / "results.json"


def measured_captions(at) -> list[str]:
    return [c.value for c in at.caption if c.value.startswith("Measured on this checkpoint over")]


def test_page_default_is_the_measured_length(app_checkpoints):
    """The default length is settings.OBJECTS_DEFAULT_FRAMES; the page quotes measured figures only from a
    results.json beside the checkpoint that names it (the tiny checkpoints have none, then a copy of the shipped
    one, whose object-collision entry names a folder of that name)."""
    default = settings.OBJECTS_DEFAULT_FRAMES
    at = objects_app(frames=None)
    assert at.slider(key="objects_frames").value == default
    assert at.number_input(key="objects_seed").value == 0
    assert {m.label: m.value for m in at.metric}["Frames / tokens"] == f"{default:,} / {default * 8:,}"
    assert not measured_captions(at)  # no results.json: no figure quoted
    results = app_checkpoints / "results.json"
    shutil.copyfile(SHIPPED_RESULTS, results)
    try:
        at = objects_app(frames=None)
    finally:
        results.unlink()
    measured = measured_captions(at)
    fresh = json.loads(SHIPPED_RESULTS.read_text())["object-collision"]["fresh_sequences"]
    assert len(measured) == 1 and f"on {fresh['measured_on']}" in measured[0]  # the date is the file's
    assert f"{default:,} frames (the default here)" in measured[0]  # the caption speaks of the default shown


def test_page_jumps_between_collisions(app_checkpoints):
    at = objects_app(120, seed=0)
    hits = np.flatnonzero(collision.generate(collision.SCALED, 120, 0).collisions)
    assert at.slider(key="frame").value == 0 < hits[0] and len(hits) >= 2
    at.button(key="objects_next").click().run()
    assert at.slider(key="frame").value == hits[0]
    assert "**A collision happens in this frame**" in page_text(at)
    at.button(key="objects_next").click().run()
    assert at.slider(key="frame").value == hits[1]
    at.button(key="objects_prev").click().run()
    assert at.slider(key="frame").value == hits[0]
    at.slider(key="objects_frames").set_value(10).run()  # shorter than the frame shown: clamped, no error
    assert not at.exception and at.slider(key="frame").value <= 9


@pytest.mark.parametrize("payload, message", [
    (lambda d: d.__setitem__("task", "[click](javascript:alert(1)) <b>x</b>"), "task must be 'collision'"),
    (lambda d: d["config"].__setitem__("grid", "four"), "bad config"),
    (lambda d: d.__setitem__("questions", [[0.5, 1]] * 10), "rectangular array of integers"),
])
def test_page_bad_uploads_are_shown_escaped(app_checkpoints, payload, message):
    d = json.loads(collision.to_json(collision.generate(collision.SCALED, 10, 0)))
    payload(d)
    at = objects_app(48)
    at.radio(key="objects_source").set_value("Upload JSON").run()
    at.file_uploader(key="objects_upload").upload("seq.json", json.dumps(d).encode(), "application/json").run()
    assert not at.exception
    (err,) = errors(at)
    assert message in re.sub(r"\\(.)", r"\1", err)
    assert "[click](" not in err and "<b>" not in err  # markdown and html shown as typed, never rendered


@pytest.mark.parametrize("raw", [b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe not json", b"{\"config\": 1"])
def test_page_unreadable_uploads_give_an_error_not_a_traceback(app_checkpoints, raw):
    at = objects_app(48)
    at.radio(key="objects_source").set_value("Upload JSON").run()
    at.file_uploader(key="objects_upload").upload("seq.json", raw, "application/json").run()
    assert not at.exception
    assert any(e.startswith("Cannot read this file") for e in errors(at)), errors(at)
