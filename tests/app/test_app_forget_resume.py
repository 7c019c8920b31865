"""The store resumes a forget from the plain trace's states (app/store.py, docs/method.md 18.6): the same trace as a
full run, its states bounded per trace and within the store's budget, dropped with their trace."""
import numpy as np
import pytest

from app import settings, store
from model import ExpireSpanLM, trace
from model.trace import resume

TEXT = "The keeper Quillan locked the gate at dusk; the river ran high. " * 12  # 768 bytes: 48 passes of 16


@pytest.fixture
def small_store(monkeypatch):
    """Every trace of at least 64 tokens keeps states; the stores start empty."""
    monkeypatch.setattr(settings, "SNAPSHOT_MIN_TOKENS", 64)
    for emptied in (store.trace_store, store.snapshot_store):
        emptied()[0].clear()
    resumed = []
    real = resume.resume_tracer

    def counted(*args, **kwargs):
        tracer = real(*args, **kwargs)
        resumed.append(tracer.n_done)
        return tracer

    monkeypatch.setattr(store, "resume_tracer", counted)
    yield resumed
    for emptied in (store.trace_store, store.snapshot_store):
        emptied()[0].clear()


@pytest.mark.parametrize("layer", [None, 0])
def test_a_forget_resumes_from_the_plain_trace_and_equals_a_full_run(tiny_checkpoint, small_store, layer):
    source = str(tiny_checkpoint)
    store.run_trace(source, TEXT)
    kept = store.snapshot_store()[0][store.trace_key(source, TEXT)]
    assert 0 < len(kept.kept) <= settings.SNAPSHOTS_PER_TRACE
    ranges = [(layer, 400, 407)]
    forgot = store.run_trace(source, TEXT, forget=ranges)
    assert small_store and small_store[0] > 0  # resumed after the start
    full = trace(ExpireSpanLM.from_pretrained(tiny_checkpoint), TEXT, forget=ranges)
    for name in ("bits", "spans", "dropped_at", "cache_size", "predictions"):
        np.testing.assert_array_equal(getattr(forgot, name), getattr(full, name), err_msg=name)
    assert forgot.meta == full.meta


def test_only_a_plain_long_enough_trace_keeps_states(tiny_checkpoint, small_store):
    source = str(tiny_checkpoint)
    store.run_trace(source, TEXT[:40])  # under SNAPSHOT_MIN_TOKENS
    store.run_trace(source, TEXT, cut=2)
    store.run_trace(source, TEXT, attention_layer=0)
    assert not store.snapshot_store()[0]
    store.run_trace(source, TEXT[:40], forget=[(None, 3, 5)])  # no states: a full run
    assert not small_store


def test_the_states_fit_the_store_s_budget_and_go_with_their_trace(tiny_checkpoint, small_store, monkeypatch):
    source = str(tiny_checkpoint)
    store.run_trace(source, TEXT)
    one = store.snapshot_store()[0][store.trace_key(source, TEXT)].nbytes
    monkeypatch.setattr(settings, "SNAPSHOT_BYTES", int(one * 1.5))  # room for one trace's states, not two
    texts = [TEXT.replace("Quillan", name) for name in ("Marten", "Orla", "Tobin")]
    for text in texts:
        store.run_trace(source, text)
    snaps = store.snapshot_store()[0]
    assert list(snaps) == [store.trace_key(source, texts[-1])]
    assert sum(s.nbytes for s in snaps.values()) <= settings.SNAPSHOT_BYTES
    store.trace_store()[0].clear()  # its trace evicted: its states go when the next ones come
    store.run_trace(source, TEXT)
    assert list(snaps) == [store.trace_key(source, TEXT)]
