"""The shipped object-collision model against the latest-collision rule (docs/method.md 17.4), on the sequence the
tour's Object tracking slide shows: the figures its note quotes are measured on this checkpoint."""
import json
import re
from pathlib import Path

import numpy as np

from app import settings
from app.views.collision import accuracy, rule_accuracy
from model import ExpireSpanLM, trace
from model.tasks import collision

ROOT = Path(__file__).resolve().parents[2]


def test_the_tour_note_quotes_the_model_and_the_rule_as_measured():
    (slide,) = [s for s in json.loads((ROOT / "assets/decks/tour.json").read_text())["slides"]
                if s["page"] == "objects"]
    controls = slide.get("controls", {})
    frames, seed = controls.get("objects_frames", settings.OBJECTS_DEFAULT_FRAMES), controls.get("objects_seed", 0)
    seq = collision.generate(collision.SCALED, frames, seed)
    model = ExpireSpanLM.from_pretrained(ROOT / "checkpoints/object-collision")
    right, n = accuracy(trace(model, seq.tokens, targets=seq.targets), seq)
    rule_right, _ = rule_accuracy(seq)
    rule_pct, model_pct = (int(x) for x in re.search(r"(\d+)% against (\d+)% on this sequence", slide["note"]).groups())
    assert (rule_pct, model_pct) == (round(100 * rule_right / n), round(100 * right / n))
    assert rule_right > right  # the note says the rule's bars are higher


def test_the_rule_beats_the_shipped_model_on_the_test_sequence():
    """checkpoints/results.json quotes the rule's error on the 25,000-frame test sequence (0.103)."""
    seq = collision.generate(collision.SCALED, 25_000, 2_000_003)
    rule_right, n = rule_accuracy(seq)
    notes = json.loads((ROOT / "checkpoints/results.json").read_text())["object-collision"]["notes"]
    assert any(f"Its test error is {1 - rule_right / n:.3f}" in note for note in notes)
    assert np.isclose(1 - rule_right / n, 0.103, atol=5e-4)
