"""Every shipped Expire-Span model names its equal-memory Transformer-XL baseline (the app's Compare page and
the talks read `metadata.json`), and the baseline ships beside it: the same model but for expiry, L equal to the
partner's mean kept memory as measured in checkpoints/results.json, a card naming the partner, and it traces."""
import json
from pathlib import Path

import numpy as np
import pytest

from app.baselines import baseline_of
from app.views.examples import EXAMPLES_DIR
from app.loading import list_checkpoints
from model import ExpireSpanLM, trace
from model.batches import collision_config, corridor_config
from model.tasks import collision, corridor
from model.train import TRAINING_ONLY

CHECKPOINTS = Path(__file__).resolve().parents[2] / "checkpoints"
PAIRS = [("text", "text-txl", "text"), ("corridor", "corridor-txl", "corridor"),
         ("object-collision", "object-collision-txl", "object-collision")]


def sample_input(name: str):
    """A held-out input of the model's own kind: a story, a corridor episode, a stream of frames."""
    if name == "text":
        return (EXAMPLES_DIR / "ferry-to-varnholm.txt").read_bytes()
    data = json.loads((CHECKPOINTS / name / "run_config.json").read_text())["data"]
    data.pop("task")
    if name == "corridor":
        tokens, _ = corridor.episode(corridor_config(data), 1000, np.random.default_rng(7))
        return tokens
    return collision.generate(collision_config(data), 300, seed=7).tokens


@pytest.mark.parametrize("name,baseline,task", PAIRS)
def test_each_model_ships_its_equal_memory_baseline(name, baseline, task):
    folder, partner = CHECKPOINTS / baseline, CHECKPOINTS / name
    assert baseline_of(partner, list_checkpoints(CHECKPOINTS)) == baseline
    base, model = ExpireSpanLM.from_pretrained(folder), ExpireSpanLM.from_pretrained(partner)
    assert not base.config.expire_span and model.config.expire_span
    differ = {"expire_span", "max_span", *TRAINING_ONLY}  # training-only settings (span loss...) do not shape it
    same = {k: v for k, v in model.config.to_dict().items() if k not in differ}
    assert {k: v for k, v in base.config.to_dict().items() if k not in differ} == same
    results = json.loads((CHECKPOINTS / "results.json").read_text())[task]
    assert base.config.max_span == round(results["expire_span"]["kept"])  # equal memory
    assert results["baseline"]["checkpoint"] == f"checkpoints/{baseline}"
    t = trace(base, sample_input(name))
    assert t.cache_size.max() <= base.config.max_span and np.isfinite(t.bits[1:]).all()
    assert f"baseline of `{name}`" in (folder / "README.md").read_text()
    assert (folder / "model.safetensors").stat().st_size < 25 * 2**20
