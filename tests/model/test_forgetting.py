"""Forced forgetting (docs/method.md section 18): the model reads the same input with chosen memories gone."""
import json

import numpy as np
import pytest
import torch

from model import ExpireSpanLM, InputError, Tracer, trace
from model.batches import corridor_config
from model.forgetting import Forget
from model.policies import Policy
from model.tasks import corridor
from support import ROOT, tiny_model

TEXT = ("The keeper Quillan locked the gate at dusk; the river ran high. " * 6).encode()


@pytest.fixture(scope="module")
def model():
    return tiny_model(seed=3)


def same(a, b):
    np.testing.assert_array_equal(a.bits, b.bits)
    np.testing.assert_array_equal(a.spans, b.spans)
    np.testing.assert_array_equal(a.dropped_at, b.dropped_at)
    np.testing.assert_array_equal(a.cache_size, b.cache_size)


def test_forgetting_nothing_is_the_plain_trace_bit_for_bit(model):
    plain = trace(model, TEXT)
    for nothing in ([], Forget(())):
        out = trace(model, TEXT, forget=nothing)
        same(plain, out)
        assert "forget" not in out.meta


@pytest.mark.parametrize("layer", [None, 0, 1])
def test_nothing_changes_before_the_forgotten_token_is_read_18_1(model, layer):
    start, end = 70, 77  # the tiny model's blocks are 8 tokens: the range spans a block boundary
    plain, out = trace(model, TEXT), trace(model, TEXT, forget=[(layer, start, end)])
    # bits[i] is scored by the output at i - 1: outputs up to `start` never see a key at start or later
    np.testing.assert_array_equal(out.bits[:start + 2], plain.bits[:start + 2])
    assert not np.allclose(out.bits[start + 2:], plain.bits[start + 2:])
    assert out.meta["forget"] == [{"layer": layer, "start": start, "end": end}]


@pytest.mark.parametrize("layer", [0, 1])
def test_a_forgotten_memory_gets_no_attention_from_any_later_query_18_1(model, layer):
    start, end = 40, 44
    for policy in (None, Policy("window", budget=(24, 24)), Policy("heavy-hitters", budget=(24, 24)),
                   Policy("sinks", budget=(24, 24))):
        out = trace(model, TEXT, attention_layer=layer, forget=[(layer, start, end)], policy=policy)
        assert (out.attention[:, start:end] == 0).all()  # later queries: forgotten; earlier ones: causal (4.2)
        assert np.isfinite(out.bits[1:]).all()
        assert (out.dropped_at[layer, start:end] == np.arange(start, end) + 1).all()
        other = trace(model, TEXT, attention_layer=1 - layer, forget=[(layer, start, end)], policy=policy)
        assert other.attention[start + 1:, start:end].sum() > 0  # the other layer still reads them


def test_the_cache_no_longer_counts_what_was_forgotten_18_3(model):
    plain, out = trace(model, TEXT), trace(model, TEXT, forget=[(None, 16, 24)])
    assert (out.cache_size <= plain.cache_size).all()
    assert (out.cache_size[:, 3] == plain.cache_size[:, 3] - ((plain.dropped_at[:, 16:24] < 0)
                                                                | (plain.dropped_at[:, 16:24] > 24)).sum(1)).all()


def test_the_streaming_tracer_forgets_as_the_one_shot_trace(model):
    ranges = [(0, 30, 33), (None, 100, 101)]
    tracer = Tracer(model, forget=ranges)
    for piece in (TEXT[:50], TEXT[50:51], TEXT[51:300], TEXT[300:]):
        tracer.feed(piece)
    same(tracer.finish(), trace(model, TEXT, forget=ranges))


def test_a_query_with_nothing_left_to_read_reads_nothing():
    """Forgetting every earlier token of a model whose start memories have expired leaves a query no key; its
    attention output is 0 (18.2), not NaN."""
    model = tiny_model(seed=4, init_span_fraction=0.01)
    out = trace(model, TEXT[:64], forget=[(None, 0, 64)])
    assert np.isfinite(out.bits[1:]).all()


@pytest.mark.parametrize("bad, message", [
    ([(0, 5)], "layer or None, start, end"), ([(0, 5, 5)], "end must be an integer of at least 6"),
    ([(-1, 0, 4)], "layer to forget in must be an integer"), ([(9, 0, 4)], "must be in 0..1"),
    ([(0, "a", 4)], "start must be an integer"), ([(0, 1.5, 4)], "start must be an integer"),
    ([(True, 0, 4)], "layer to forget in"), ([(0, 0, 1)] * 65, "at most 64"),
])
def test_bad_ranges_are_refused_with_a_clear_message(model, bad, message):
    with pytest.raises(InputError, match=message):
        trace(model, TEXT, forget=bad)


def test_forgetting_is_for_evaluation_only(model):
    model.train()
    try:
        with pytest.raises(InputError, match="evaluation only"):
            model(torch.zeros(1, 8, dtype=torch.long), forget=Forget(((0, 0, 1),)))
    finally:
        model.eval()


def test_on_the_corridor_model_forgetting_the_cue_costs_the_answer_and_a_distractor_does_not():
    """The shipped corridor model keeps most cues to the query: forced out in every layer, the right answer
    goes, while a distractor forced out instead changes nothing. The exception is the cue it answers by
    elimination: it lets that cue go within a block of reading it (spans 0) and answers from the absence of the
    others, so forgetting it changes nothing at the query, to the bit."""
    folder = ROOT / "checkpoints" / "corridor"
    model = ExpireSpanLM.from_pretrained(folder)
    data = json.loads((folder / "run_config.json").read_text())["data"]
    data.pop("task")
    config = corridor_config(data)
    rng = np.random.default_rng(5)
    kept_cues = eliminated = 0
    for _ in range(12):
        tokens, targets = corridor.episode(config, 300, rng)
        q = len(tokens) - 1
        plain = trace(model, tokens, targets=targets)
        assert plain.predictions[q] == targets[q]
        no_cue = trace(model, tokens, targets=targets, forget=[(None, 1, 2)])
        no_distractor = trace(model, tokens, targets=targets, forget=[(None, 150, 151)])
        assert no_distractor.predictions[q] == targets[q]
        if (plain.dropped_at[:, 1] >= 0).all():  # let go in every layer before the query: by elimination
            eliminated += 1
            assert no_cue.bits[q] == plain.bits[q]
        else:
            kept_cues += 1
            assert no_cue.predictions[q] != targets[q] and no_cue.bits[q] > plain.bits[q] + 10
    assert kept_cues >= 8 and eliminated >= 1
