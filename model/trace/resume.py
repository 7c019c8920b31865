"""A forget trace resumed from a plain run's snapshots (docs/method.md 18.6): the passes before the earliest
forgotten token are the plain run's, bit for bit (18.1), so only the passes from there on run again.
"""
import numpy as np

from ..errors import InputError
from ..forgetting import Forget
from . import Trace, Tracer
from .snapshots import Snapshots


def resume_tracer(model, snapshots: Snapshots, forget, progress=None) -> Tracer:
    """A Tracer forgetting `forget`, in the state the plain run had at its latest snapshot at or before the
    earliest forgotten position, holding the plain record of the tokens before it (from the start when no
    snapshot lies there). Feed it the plain trace's tokens (and targets) from tracer.n_done on, then finish():
    the result is the trace of the same input with `forget`, as a full run gives it."""
    plain = _plain(model, snapshots)
    forget = forget if isinstance(forget, Forget) else Forget(tuple(forget))
    tracer = Tracer(model, progress=progress, total=len(plain.tokens), forget=forget, **snapshots.settings)
    first = min((start for _, start, _ in forget.ranges), default=len(plain.tokens))
    snap = snapshots.before(first)
    if snap is not None:
        tracer.memory, tracer.last_log_probs, tracer.n_done = snap.memory, snap.last_log_probs, snap.n_done
        tracer.blocks = [head_record(plain, snap.n_done)]
    tracer.with_targets = plain.targets is not None
    tracer.pending_targets = np.zeros(0, np.int64) if tracer.with_targets else None
    counted = plain.meta.get("byte_vocab", {})  # counted over the whole input, so the same with forget
    if "line_ends_dropped" in counted:
        tracer.fed_bytes = True
        tracer.line_ends_dropped, tracer.unknown_bytes = counted["line_ends_dropped"], counted["unknown_bytes"]
    return tracer


def rest(tracer: Tracer, snapshots: Snapshots) -> tuple[np.ndarray, np.ndarray | None]:
    """What a resumed tracer still has to read: the plain input's token ids and targets from tracer.n_done on."""
    plain = snapshots.trace
    return plain.tokens[tracer.n_done:], None if plain.targets is None else plain.targets[tracer.n_done:]


def forget_trace(model, snapshots: Snapshots, forget, progress=None) -> Trace:
    """trace(model, input, forget=forget) of the input the plain run read, resumed from its snapshots."""
    tracer = resume_tracer(model, snapshots, forget, progress)
    tracer.feed(*rest(tracer, snapshots))
    return tracer.finish()


def head_record(plain: Trace, n: int) -> dict:
    """The plain run's record of its first n tokens (n at a pass boundary) as one Tracer record (its `_run_pass`
    layout): the passes over them, whatever is forgotten from n on."""
    record = {"t0": 0, "n": n, "bits": plain.bits[:n], "spans": plain.spans[:, :n],
              "cache": plain.cache_size[:, :n // plain.block_size], "predictions": plain.predictions[:n],
              "tokens": plain.tokens[:n]}
    # a memory those passes dropped left after one of their blocks, which all end by n; later drops end after n
    record["dropped"] = []
    for row in plain.dropped_at:
        positions = np.flatnonzero((row >= 0) & (row <= n))
        record["dropped"].append([(row[positions], positions)])
    if plain.targets is not None:
        record["targets"] = plain.targets[:n]
    if plain.attention is not None:  # no query before n reads a key at n or later (4.2)
        record["attention"], record["key_position"] = plain.attention[:n, :n], np.arange(n)
    return record


def _plain(model, snapshots: Snapshots) -> Trace:
    """The finished plain run the snapshots are of, of this model (an InputError otherwise)."""
    plain, cfg = snapshots.trace, model.config
    if plain is None:
        raise InputError("these snapshots are of a run not finished yet")
    if (plain.n_layers, plain.block_size, plain.max_span) != (cfg.n_layers, cfg.block_size, cfg.max_span):
        raise InputError("these snapshots are of another model")
    return plain
