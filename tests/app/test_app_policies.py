"""The Memory policies page: the same text under each policy at equal memory (tiny test checkpoint)."""
import numpy as np
import pytest
from support import app_checkpoints, errors, new_app, page_text, single_thread  # noqa: F401

from app.views import memory_policies
from app.views.examples import EXAMPLES, example_text
from app.views.words import split_words
from model import ExpireSpanLM, trace
from model.policies import Policy, default_budget

TEXT = example_text(next(iter(EXAMPLES)))


@pytest.fixture(scope="module")
def model(app_checkpoints):
    return ExpireSpanLM.from_pretrained(app_checkpoints / "text")


def test_the_page_compares_policies_at_equal_memory(app_checkpoints, model):
    at = new_app("app_pages/policies.py")
    assert not at.exception and not errors(at)
    plain = trace(model, TEXT)
    budget = default_budget(plain)
    traces = {"expire-span": plain}
    for name in ("window", "sinks", "heavy-hitters"):
        traces[name] = trace(model, TEXT, policy=Policy(name, budget=tuple(budget)))
    table = at.dataframe[0].value.to_dict("records")
    assert table == memory_policies.summary_rows(traces)
    for name, tr in traces.items():  # equal memory: no rule sees more than Expire-Span's own mean, layer by layer
        seen, own = memory_policies.seen(tr).max(axis=1), memory_policies.seen(plain).max(axis=1)
        assert (seen <= np.maximum(budget, own)).all()
    assert f"layer 0 {budget[0]}" in page_text(at)
    strips = [h.proto.body for h in at.html if "es-strips" in h.proto.body][-1]
    assert all(f"<b>{name}: " in strips for name in traces)
    words = split_words(plain.tokens)
    diff = memory_policies.loss_differences(traces["expire-span"], traces["window"], words, "expire-span", "window")
    if diff:
        assert at.dataframe[1].value.to_dict("records") == diff


def test_half_the_memory_halves_the_budget(app_checkpoints, model):
    at = new_app("app_pages/policies.py")
    at.radio(key="pol_size").set_value("half").run()
    budget = default_budget(trace(model, TEXT))
    assert not at.exception and f"layer 0 {max(1, round(budget[0] * 0.5))}" in page_text(at)


def test_a_rule_keeps_whole_memories_or_none(model):
    tr = trace(model, TEXT, policy=Policy("window", budget=5))
    t = 120
    seen = memory_policies.kept_at(tr, t)
    assert set(np.unique(seen)) <= {0.0, 1.0} and (seen.sum(axis=1) <= tr.cache_size.max()).all()
    rows = memory_policies.kept_rows(split_words(tr.tokens), {"window": tr}, 1, t)
    assert rows[0][0].startswith("window: ") and "line-through" in rows[0][1]


def test_no_policy_gives_a_message(app_checkpoints):
    at = new_app("app_pages/policies.py")
    at.multiselect(key="pol_names").set_value([]).run()
    assert not at.exception and "Choose at least one policy" in page_text(at)
