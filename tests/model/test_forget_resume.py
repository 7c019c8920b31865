"""A forget resumed from a plain run's snapshots (docs/method.md 18.6) is the full forget trace, bit for bit."""
import numpy as np
import pytest
import torch

from model import ExpireSpanLM, InputError, trace
from model.convert_official import convert
from model.policies import Policy
from model.trace.resume import forget_trace, resume_tracer
from model.trace.snapshots import Snapshot, Snapshots
from support import FIXTURES, golden, official_pt, tiny_model

TEXT = ("The keeper Quillan locked the gate at dusk; the river ran high. " * 12).encode()  # 768 bytes: 48 passes


@pytest.fixture(scope="module")
def model():
    return tiny_model(seed=3)


def same(a, b):
    for name in ("tokens", "bits", "spans", "dropped_at", "cache_size", "predictions"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for name in ("targets", "attention", "token_bytes"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            np.testing.assert_array_equal(x, y, err_msg=name)
    assert a.meta == b.meta and a.span_limit == b.span_limit and a.attention_layer == b.attention_layer


def plain_run(model, inputs, limit=6, **settings):
    snapshots = Snapshots(limit)
    trace(model, inputs, snapshots=snapshots, **settings)
    return snapshots


@pytest.mark.parametrize("layer", [None, 1])
@pytest.mark.parametrize("where", [0, 5, 383, 384, 700, 767])  # the start, a pass boundary, the middle, the end
def test_the_resumed_forget_is_the_full_forget_trace(model, layer, where):
    snapshots = plain_run(model, TEXT)
    ranges = [(layer, where, where + 3)]
    same(forget_trace(model, snapshots, ranges), trace(model, TEXT, forget=ranges))


@pytest.mark.parametrize("settings", [dict(span_limit=20), dict(attention_layer=0),
                                      dict(policy=Policy("heavy-hitters", budget=(24, 24)))],
                         ids=["span_limit", "attention", "policy"])
def test_it_resumes_under_the_plain_run_s_settings(model, settings):
    snapshots = plain_run(model, TEXT, **settings)
    for ranges in ([(0, 500, 504)], [(None, 300, 302), (1, 650, 660)], []):
        same(forget_trace(model, snapshots, ranges), trace(model, TEXT, forget=ranges, **settings))


def test_it_resumes_with_targets(model):
    ids = np.frombuffer(TEXT, np.uint8).astype(np.int64)
    targets = np.where(np.arange(len(ids)) % 7 == 0, np.roll(ids, -3), -1)
    snapshots = Snapshots(5)
    trace(model, ids, targets, snapshots=snapshots)
    same(forget_trace(model, snapshots, [(None, 400, 410)]), trace(model, ids, targets, forget=[(None, 400, 410)]))


def test_it_resumes_from_the_latest_snapshot_before_the_word_and_reads_only_the_rest(model):
    snapshots = plain_run(model, TEXT)
    seen = []
    tracer = resume_tracer(model, snapshots, [(None, 600, 605)], progress=lambda done, total: seen.append(done))
    assert tracer.n_done == max(s.n_done for s in snapshots.kept if s.n_done <= 600) > 0
    before = [s.n_done for s in snapshots.kept]
    assert resume_tracer(model, snapshots, [(None, 2, 3)]).n_done == 0  # no snapshot before it: from the start
    forget_trace(model, snapshots, [(None, 600, 605)], progress=lambda done, total: seen.append(done))
    assert seen[0] > tracer.n_done and seen[-1] == len(TEXT)
    assert [s.n_done for s in snapshots.kept] == before  # resuming leaves the snapshots as they were


def test_later_passes_never_write_into_a_snapshot(model):
    snapshots, tracer_states = Snapshots(100), []
    trace(model, TEXT, snapshots=snapshots)
    for s in snapshots.kept:
        tracer_states.append([t.clone() for layer in s.memory.layers for t in (layer.hidden, *layer.projected)])
    forget_trace(model, snapshots, [(None, 100, 110)])
    for s, saved in zip(snapshots.kept, tracer_states, strict=True):
        now = [t for layer in s.memory.layers for t in (layer.hidden, *layer.projected)]
        assert all(torch.equal(a, b) for a, b in zip(now, saved, strict=True))


def test_the_number_of_snapshots_is_bounded_and_they_stay_spread(model):
    snapshots = plain_run(model, TEXT * 4, limit=8)  # 192 passes of 16 tokens
    starts = [s.n_done for s in snapshots.kept]
    assert len(starts) == 8 and starts == sorted(starts) and starts[-1] == len(TEXT) * 4 - 16
    assert max(np.diff([0, *starts, len(TEXT) * 4])) <= 2 * len(TEXT) * 4 / 8  # no gap over twice the even one
    assert snapshots.nbytes == sum(s.nbytes for s in snapshots.kept) > 0
    one = snapshots.kept[0].nbytes
    capped = Snapshots(8, max_bytes=3 * one)
    trace(model, TEXT * 4, snapshots=capped)
    assert 0 < capped.nbytes <= 3 * one


def test_thinning_drops_the_snapshot_that_leaves_the_shortest_gap():
    snapshots = Snapshots(3)
    for n in (10, 20, 30, 40):
        snapshots.add(Snapshot(n, None, None))
    assert [s.n_done for s in snapshots.kept] == [20, 30, 40]
    snapshots.add(Snapshot(50, None, None))
    assert [s.n_done for s in snapshots.kept] == [20, 40, 50]


def test_bad_input_is_refused_with_an_input_error(model):
    snapshots = plain_run(model, TEXT)
    for bad in ([(0, 5)], [(9, 1, 2)], [(None, -1, 3)], [(None, 5, 5)], "text"):
        with pytest.raises(InputError):
            forget_trace(model, snapshots, bad)
    with pytest.raises(InputError, match="not finished"):
        forget_trace(model, Snapshots(), [(None, 1, 2)])
    with pytest.raises(InputError, match="another model"):
        forget_trace(tiny_model(seed=3, n_layers=3), snapshots, [(None, 1, 2)])
    with pytest.raises(InputError, match="one run"):
        trace(model, TEXT, snapshots=snapshots)
    with pytest.raises(InputError, match="nothing to forget"):
        trace(model, TEXT, forget=[(None, 1, 2)], snapshots=Snapshots())
    with pytest.raises(InputError, match="at least one"):
        Snapshots(0)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """A model converted from the authors' code (a byte vocabulary that drops line ends, docs/method.md 13.3)."""
    folder = tmp_path_factory.mktemp("converted") / "enwik8-tiny"
    convert(official_pt("post-norm"), golden("post-norm")["flags"].replace(" --data-eos", ""), FIXTURES, folder)
    return ExpireSpanLM.from_pretrained(folder)


def test_a_converted_model_resumes_its_forget_too(converted):
    text = "hello there, world.\nThe world said hello.\nNaïve café ~ 12345 {x}\n" * 12
    snapshots = Snapshots(4)
    plain = trace(converted, text, snapshots=snapshots)
    assert plain.meta["byte_vocab"]["line_ends_dropped"] > 0 and snapshots.kept
    middle = len(plain.tokens) // 2
    ranges = [(None, middle, middle + 4)]
    assert resume_tracer(converted, snapshots, ranges).n_done > 0
    same(forget_trace(converted, snapshots, ranges), trace(converted, text, forget=ranges))
