"""Play for the step and frame sliders, and exports of every view: standalone HTML named by view, checkpoint
and input hash, and the animation of step t under 5 MB."""
import re

import numpy as np
from support import tiny_model
from support import app_checkpoints, new_app, single_thread  # noqa: F401

from app import ui
from app.views import exports, figures, memory
from model import trace


def labels(at) -> list[str]:
    return [el.proto.label for el in at.get("download_button")]


def test_play_moves_step_t_and_starts_again_at_the_end(app_checkpoints):
    at = new_app()
    at.radio(key="view").set_value("Remembered at step t").run()
    at.slider(key="step").set_value(50).run()
    at.toggle(key="play_step").set_value(True).run()
    assert not at.exception
    first = at.slider(key="step").value
    assert first == 52  # a quarter of a block of 8 a move
    at.run()
    assert at.slider(key="step").value == 54
    end = at.slider(key="step").max
    at.slider(key="step").set_value(end).run()
    assert at.slider(key="step").value == 1
    at.toggle(key="play_step").set_value(False).run()
    at.run()
    assert at.slider(key="step").value == 1, "paused: the step stays"


def test_play_moves_the_frames(app_checkpoints):
    at = new_app("app_pages/objects.py")
    at.slider(key="frame").set_value(5).run()
    at.toggle(key="play_frames").set_value(True).run()
    assert not at.exception and at.slider(key="frame").value == 6


def test_every_text_view_exports(app_checkpoints):
    at = new_app()
    at.session_state["export"] = True  # the Export section opened: it stays open from view to view
    at.run()
    assert labels(at)[-1] == "View as HTML"
    for view, expected in [("Text by span", ["View as HTML"]),
                           ("Remembered at step t", ["This step as HTML", "Animation as HTML"]),
                           ("Attention at step t", ["This step as HTML"]), ("Span heatmap", ["Figure as HTML"])]:
        at.radio(key="view").set_value(view).run()
        assert not at.exception and set(expected) <= set(labels(at)), (view, labels(at))


def test_export_files_name_the_checkpoint_and_input():
    meta = {"checkpoint": "owner/repo name", "input_sha1": "0123456789abcdef"}
    assert ui.file_stem("what-each-layer-kept", meta) == "what-each-layer-kept-owner-repo-name-01234567"
    page = exports.view_html("Text by span (text, input 01234567)", "<b>x</b>")
    assert "<title>Text by span (text, input 01234567)</title>" in page and "<b>x</b>" in page
    fig = figures.memory_in_use(trace(tiny_model(seed=1), "hello there"))
    assert "<title>Memory in use per layer</title>" in exports.figure_html(fig)


def test_step_animation_has_a_frame_per_block_and_stays_under_5_mb():
    model = tiny_model(seed=1, n_layers=4, block_size=128, max_span=2048, ramp=64)
    tr = trace(model, "The ferry to Varnholm left at dawn. " * 80)  # 2,880 bytes
    fig = figures.step_animation(tr, 500, 2800)
    steps = [int(f.name) for f in fig.frames]
    assert steps == list(range(628, 1524, 128)) + [1524]  # 1,024 bytes from 500, one frame per block of 128
    z = np.asarray(fig.frames[2].data[0].z)
    t = steps[2]
    held = np.round(memory.held_at(tr, t)[:, 500:t] * 100)
    assert np.array_equal(z[:, :t - 500], held) and (z[:, t - 500:] == 101).all()  # 101: not read yet
    page = exports.figure_html(fig)
    assert len(page.encode()) <= 5_000_000 and re.search(r"<title>What each layer still holds", page)
