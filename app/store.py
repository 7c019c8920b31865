"""Caches shared by all sessions of the process: one model per checkpoint, traces per (checkpoint, input).

Traces live in a small LRU store inside st.cache_resource rather than in st.cache_data: cache_data
records and replays the Streamlit elements a cached function touches, and our progress bar lives
outside the function, which cache_data refuses on replay. The store hands out the same Trace object to
every session; pages only read it.
"""
import contextlib
import gc
import os
import sys
import threading
import time
from collections import OrderedDict

import numpy as np
import streamlit as st
from model import Tracer
from model.forgetting import Forget
from model.trace import BLOCKS_PER_PASS, MAX_ATTENTION_TOKENS, Trace, encode_for
from model.trace.resume import rest, resume_tracer
from model.trace.snapshots import Snapshots

from . import loading, settings
from .fair_lock import FairLock
from .settings import MAX_TRACES, MAX_VIEWS, PROGRESS_AFTER_S, PROGRESS_EVERY_S, SNAPSHOTS_PER_TRACE

# The store's own names for these limits (app/settings.py) are read at call time, so a test may set them here.
ATTENTION_BYTES = min(settings.ATTENTION_BYTES, MAX_ATTENTION_TOKENS)  # bytes whose attention the app records
COUNT_TRACES = os.environ.get("EXPIRE_SPAN_COUNT_TRACES")  # set by bench/load.py: a stderr line per model trace


def model_and_lock(source: str):
    """The model of a checkpoint and a lock for it, loaded again when the checkpoint's weights change."""
    return _model_and_lock(source, loading.checkpoint_version(source))


@st.cache_resource(max_entries=6, show_spinner="Loading the model...")
def _model_and_lock(source: str, version: str):
    model = loading.load_model(source)
    _freeze_heap()
    return model, FairLock()


def _freeze_heap() -> None:
    """Move every object alive now (the imported modules, Streamlit, plotly, the model: about 400,000) out of
    the garbage collector's reach. Python's full collection scans all tracked objects and holds the GIL while
    it does: 130-330 ms each here, stalling the traces and every session's page. Objects made later are
    collected as usual; a model loaded again is frozen again (the old one stays: at most a few a process)."""
    gc.collect()
    gc.freeze()


@st.cache_resource
def trace_store():
    """{(source, weights version, input hash, cut, attention layer, policy, forget): Trace}, least recently used
    first, and its lock."""
    return OrderedDict(), threading.Lock()


@st.cache_resource
def snapshot_store():
    """{plain trace key: its Snapshots (model/trace/snapshots.py)}, least recently used first, and its lock: the
    states a forget of that input resumes from (docs/method.md 18.6). Within settings.SNAPSHOT_BYTES all together,
    and dropped with their trace (checked whenever one is added)."""
    return OrderedDict(), threading.Lock()


@st.cache_resource
def traces_in_flight() -> dict:
    """{trace key: threading.Event} of the traces being computed now (guarded by trace_store's lock): a session
    asking for one of them waits for it instead of running the model again."""
    return {}


@st.cache_resource
def view_store():
    """{(trace key, view, its settings): what the view's builder returned}, least recently used first, its lock,
    and {key: threading.Event} of the views being built now."""
    return OrderedDict(), threading.Lock(), {}


def _trace_key(source, tokens, targets, cut, attention_layer, policy, forget=None) -> tuple:
    data = loading.digest(tokens) + ("" if targets is None else loading.digest(targets))
    return (source, loading.checkpoint_version(source), data, cut, attention_layer, policy, forget_ranges(forget))


def forget_ranges(forget) -> tuple | None:
    """A trace's memories to forget as the store keys them: its checked (layer or None, start, end) ranges, None
    for nothing to forget (the plain trace)."""
    if forget is None:
        return None
    ranges = (forget if isinstance(forget, Forget) else Forget(tuple(forget))).ranges
    return ranges or None


def trace_key(source: str, tokens) -> tuple:
    """The store's key of run_trace(source, tokens): what a view built from that trace is shared under."""
    return _trace_key(source, tokens, None, 1, None, None)


def _once(key, store: OrderedDict, lock, in_flight: dict, limit: int, compute, waiting: str | None = None):
    """store[key], computed by compute() when missing, by one caller at a time: callers asking meanwhile wait for
    its result (with a still note saying `waiting`) instead of computing it again. After an error the waiters try
    again. The store keeps the `limit` most recently used results."""
    while True:
        with lock:
            if key in store:
                store.move_to_end(key)
                return store[key]
            pending = in_flight.get(key)
            if pending is None:  # nobody is computing this: this caller does
                in_flight[key] = threading.Event()
                break
        with still_note(waiting) if waiting else contextlib.nullcontext():
            pending.wait()
    try:
        value = compute()
        with lock:
            store[key] = value
            while len(store) > limit:
                store.popitem(last=False)
        return value
    finally:
        with lock:
            in_flight.pop(key).set()  # wakes the waiters: they find the result stored (or, after an error, retry)


def shared_view(key: tuple, build):
    """build(), made once for every session of the process: a class on one text builds its page once, while the
    others wait for it. A view is a pure function of the trace (and the settings in its key); sessions only read
    what it returns."""
    store, lock, in_flight = view_store()
    return _once(key, store, lock, in_flight, MAX_VIEWS, build)


def has_trace(source: str, tokens, targets=None, cut: int = 1, attention_layer: int | None = None,
              policy=None, forget=None) -> bool:
    """Whether run_trace with these arguments would answer from the store, without running the model."""
    store, store_lock = trace_store()
    with store_lock:
        return _trace_key(source, tokens, targets, cut, attention_layer, policy, forget) in store


def run_trace(source: str, tokens, targets=None, cut: int = 1, attention_layer: int | None = None, policy=None,
              forget=None):
    """The trace of an input, from the store or computed with a progress bar for long inputs; a class opening one
    example at once runs the model once.
    cut > 1: the maximum span is cut to L // cut at inference (spans clipped, paper Figure 9).
    attention_layer: also record that layer's attention (inputs of at most MAX_ATTENTION_TOKENS tokens).
    policy: a model.policies.Policy with its budget given (a memory rule instead of the model's spans).
    forget: (layer or None, start, end) token ranges forced out of memory (model/forgetting.py, docs/method.md 18)."""
    key = _trace_key(source, tokens, targets, cut, attention_layer, policy, forget)
    forget = key[-1]

    def compute():
        if COUNT_TRACES:
            sys.stderr.write(f"model trace {key[2]} cut={cut}\n")  # one write: lines of traces started together
            sys.stderr.flush()  # never interleave (print writes the line end separately)
        if forget is not None:  # resumed from the plain trace's states where the store has them
            return _compute_trace(source, tokens, targets, cut, attention_layer, policy, forget,
                                  resume=_snapshots_of(key[:-1] + (None,)))
        snapshots = None
        if cut == 1 and attention_layer is None and policy is None:
            snapshots = Snapshots(SNAPSHOTS_PER_TRACE, max_bytes=settings.SNAPSHOT_BYTES)
        result = _compute_trace(source, tokens, targets, cut, attention_layer, policy, snapshots=snapshots)
        if snapshots is not None:
            _keep_snapshots(key, snapshots)
        return result

    store, lock = trace_store()
    return _once(key, store, lock, traces_in_flight(), MAX_TRACES, compute,
                 waiting="Another visitor is tracing this same input: waiting for their result...")


@contextlib.contextmanager
def still_note(message: str):
    """A caption saying what the page waits for, while the block runs. Still, not a spinner: a spinner turns for the
    whole wait, and on a small server the browser that redraws it shares the model's cores (the measured cost of
    each: bench/README.md, "A still note, not a spinner")."""
    note = st.empty()
    note.caption(message)
    try:
        yield
    finally:
        note.empty()


class ProgressPacer:
    """When a trace redraws its progress bar: first after PROGRESS_AFTER_S, then every PROGRESS_EVERY_S. Each
    redraw is a message and a re-render in the browser, which on a small server shares the model's cores: a long
    paste is drawn sooner than when redrawing twice a second from the start (measured in bench/README.md, "Where
    the server's time went"). A wait under a second needs no bar: the page's stale elements already dim."""

    def __init__(self, after: float = PROGRESS_AFTER_S, every: float = PROGRESS_EVERY_S, clock=time.perf_counter):
        self.clock, self.every = clock, every
        self.next = clock() + after

    def due(self) -> bool:
        now = self.clock()
        if now < self.next:
            return False
        self.next = now + self.every
        return True


def _snapshots_of(key: tuple) -> Snapshots | None:
    """The stored states of the plain trace under `key`, if the store still has both."""
    snaps, lock = snapshot_store()
    with lock:
        found = snaps.get(key)
        if found is not None:
            snaps.move_to_end(key)
        return found


def _keep_snapshots(key: tuple, snapshots: Snapshots) -> None:
    """Store a plain trace's states unless the trace is shorter than settings.SNAPSHOT_MIN_TOKENS (a full run of
    it is quick); drop those whose trace the trace store let go, then the least recently used until all fit in
    settings.SNAPSHOT_BYTES (a trace's alone over it: not kept)."""
    if snapshots.trace is None or len(snapshots.trace.tokens) < settings.SNAPSHOT_MIN_TOKENS:
        return
    traces, traces_lock = trace_store()
    with traces_lock:
        held = set(traces) | {key}  # `key` itself enters the trace store just after this
    snaps, lock = snapshot_store()
    with lock:
        snaps[key] = snapshots
        for old in [k for k in snaps if k not in held]:
            del snaps[old]
        while snaps and sum(s.nbytes for s in snaps.values()) > settings.SNAPSHOT_BYTES:
            snaps.popitem(last=False)


def _compute_trace(source, tokens, targets, cut, attention_layer, policy, forget=None, snapshots=None, resume=None):
    model, lock = model_and_lock(source)
    span_limit = model.config.max_span // cut if cut > 1 else None
    bar = st.empty()
    pacer = ProgressPacer()

    def progress(done, total):
        if pacer.due():
            bar.progress(done / total, text=f"Tracing: {done:,} of {total:,} tokens")

    try:
        return _trace_in_turns(model, lock, tokens, targets, progress, span_limit, attention_layer, policy, forget,
                               snapshots=snapshots, resume=resume)
    finally:
        bar.empty()


def _trace_in_turns(model, lock, tokens, targets, progress, span_limit, attention_layer=None, policy=None,
                    forget=None, snapshots=None, resume=None):
    """Trace pass by pass, taking the shared model for one pass of the model at a time (in arrival order),
    so that concurrent sessions take turns instead of waiting for a long trace to finish.
    snapshots: a Snapshots to fill (a plain trace); resume: the Snapshots of this input's plain trace, from which
    a forget reads again only what follows the forgotten tokens (model/trace/resume.py, docs/method.md 18.6)."""
    if resume is not None and forget is not None:
        tracer = resume_tracer(model, resume, forget, progress)
        ids, targets = rest(tracer, resume)
    else:
        ids = encode_for(model, tokens)  # through the model's byte vocabulary, if it has one
        targets = None if targets is None else np.asarray(targets)
        tracer = Tracer(model, attention_layer=attention_layer, progress=progress, total=len(ids),
                        span_limit=span_limit, policy=policy, forget=forget, snapshots=snapshots)
    step = BLOCKS_PER_PASS * model.config.block_size
    for a in range(0, len(ids), step):
        with lock:
            tracer.feed(ids[a:a + step], None if targets is None else targets[a:a + step])
    with lock:
        return loading.text_view(tracer.finish(), model)  # a converted model's tokens shown as bytes


def attention_traces(source: str, text: str) -> list[Trace]:
    """One trace per layer, each recording that layer's attention, of the first ATTENTION_BYTES bytes of
    text (cut at a UTF-8 character boundary). The model is causal, so for those bytes these traces give the same
    spans, drops and attention as a trace of the whole text (up to float rounding). Each trace holds a T x T float32
    matrix (16 MiB at 2,048 bytes) in the shared store."""
    head = loading.cut_text(text, ATTENTION_BYTES)
    n_layers = model_and_lock(source)[0].config.n_layers
    return [run_trace(source, head, attention_layer=layer) for layer in range(n_layers)]
