"""The app's shared stores (app/store.py): many sessions asking for one input at once run the model once, and
build its views once."""
import threading
import time

import pytest

from app import store


@pytest.fixture
def counted(monkeypatch):
    """Count the traces the model actually runs; each takes a while, so requests overlap."""
    calls = []
    real = store._trace_in_turns

    def slow(*args, **kwargs):
        calls.append(threading.get_ident())
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "_trace_in_turns", slow)
    store.trace_store()[0].clear()
    return calls


def ask_at_once(n, work):
    results, errors = [None] * n, []

    def visitor(i):
        try:
            results[i] = work(i)
        except Exception as e:  # noqa: BLE001 - collected for the assertion
            errors.append(e)

    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results, errors


def test_sixteen_visitors_opening_one_example_trace_it_once(tiny_checkpoint, counted):
    text = "The ferry to Varnholm left at dawn. " * 3
    results, errors = ask_at_once(16, lambda i: store.run_trace(str(tiny_checkpoint), text))
    assert not errors and len(counted) == 1
    assert all(r is results[0] for r in results)  # one Trace, shared
    assert not store.traces_in_flight()
    # different inputs are not held up by each other's keys: each is traced once
    results, errors = ask_at_once(4, lambda i: store.run_trace(str(tiny_checkpoint), f"text number {i}"))
    assert not errors and len(counted) == 1 + 4 and len({id(r) for r in results}) == 4


def test_a_failed_trace_lets_the_waiting_visitors_try_again(tiny_checkpoint, counted, monkeypatch):
    real = store._trace_in_turns
    failures = []

    def fail_once(*args, **kwargs):
        if not failures:
            failures.append(1)
            time.sleep(0.3)
            raise ValueError("the first attempt failed")
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "_trace_in_turns", fail_once)
    results, errors = ask_at_once(3, lambda i: store.run_trace(str(tiny_checkpoint), "a text that fails once"))
    assert len(errors) == 1 and str(errors[0]) == "the first attempt failed"
    assert sum(r is not None for r in results) == 2 and not store.traces_in_flight()


def test_sixteen_visitors_on_one_text_build_its_view_once():
    store.view_store()[0].clear()
    built = []

    def build():
        built.append(threading.get_ident())
        time.sleep(0.3)  # the others arrive while it is built
        return object()

    results, errors = ask_at_once(16, lambda i: store.shared_view(("one text", "strips"), build))
    assert not errors and len(built) == 1 and all(r is results[0] for r in results)
    assert not store.view_store()[2]  # nothing left in flight


def test_the_view_store_keeps_the_latest_views(monkeypatch):
    monkeypatch.setattr(store, "MAX_VIEWS", 3)
    store.view_store()[0].clear()
    for k in range(5):
        assert store.shared_view(("key", k), lambda k=k: [k]) == [k]
    assert list(store.view_store()[0]) == [("key", 2), ("key", 3), ("key", 4)]
    assert store.shared_view(("key", 4), lambda: "built again") == [4]



def test_a_trace_under_a_second_draws_no_progress_bar_and_a_long_one_redraws_it_once_a_second():
    tenths = [0]
    pacer = store.ProgressPacer(after=1.0, every=1.0, clock=lambda: tenths[0] / 10)
    drawn_at = []
    for _ in range(60):  # a block done every 0.1 s for 6 s
        tenths[0] += 1
        if pacer.due():
            drawn_at.append(tenths[0])
    assert drawn_at == [10, 20, 30, 40, 50, 60]  # nothing in the first second, then once a second
