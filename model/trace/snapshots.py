"""Snapshots of a plain run's state at pass boundaries, for a forget trace to resume from (docs/method.md 18.6).

A snapshot holds what the next pass reads: the model's memory (every layer's cache), the previous pass's last
output row (it scores the next pass's first token) and how many tokens came before. Later passes build new
tensors and never write into these (verified in tests/model/test_forget_resume.py), so a snapshot shares them
with the run instead of copying them.
"""
from dataclasses import dataclass
from functools import cached_property

import torch

from ..errors import InputError
from ..expire_span import Memory

MAX_SNAPSHOTS = 16  # kept per run by default (what one costs: bench/README.md, "Forget speed")


@dataclass(frozen=True)
class Snapshot:
    """A Tracer's state just before the pass that starts at token n_done."""
    n_done: int
    memory: Memory
    last_log_probs: torch.Tensor | None  # next-token mode: the row that scores token n_done

    @cached_property
    def nbytes(self) -> int:
        """Bytes this snapshot keeps alive: the storages of its tensors, each counted once."""
        tensors = [self.last_log_probs]
        for layer in self.memory.layers:
            tensors += [layer.hidden, layer.position, layer.score, *(layer.projected or ())]
        storages = {}
        for t in tensors:
            if t is not None:
                storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return sum(storages.values())


class Snapshots:
    """One plain run, resumable: its Trace (once finished) and at most `limit` snapshots spread over it, of at
    most max_bytes all together (None: no bound). When one more would exceed either, the snapshot whose removal
    leaves the shortest gap between its neighbours goes (the newest stays while it fits alone), so the kept ones
    stay about evenly spaced however long the input. Filled by the one Tracer given it."""

    def __init__(self, limit: int = MAX_SNAPSHOTS, max_bytes: int | None = None):
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InputError(f"a trace keeps at least one snapshot (got limit={limit!r})")
        self.limit, self.max_bytes = limit, max_bytes
        self.kept: list[Snapshot] = []
        self.settings: dict | None = None  # the Tracer's attention_layer, span_limit and policy
        self.trace = None  # the run's Trace as the model gave it, once finished

    def add(self, snapshot: Snapshot) -> None:
        self.kept.append(snapshot)
        while len(self.kept) > self.limit or (self.max_bytes is not None and self.nbytes > self.max_bytes):
            if len(self.kept) == 1:  # the newest alone is over max_bytes
                self.kept.clear()
                break
            starts = [0] + [s.n_done for s in self.kept]
            # dropping kept[i] (never the newest) merges the gaps on either side of it
            i = min(range(len(self.kept) - 1), key=lambda i: starts[i + 2] - starts[i])
            del self.kept[i]

    def before(self, position: int) -> Snapshot | None:
        """The latest snapshot at or before `position` (no pass before it reads that token), None if none."""
        found = None
        for s in self.kept:
            if s.n_done <= position:
                found = s
        return found

    @property
    def nbytes(self) -> int:
        """Bytes the snapshots keep alive, all together (the trace not counted: its store holds it anyway)."""
        return sum(s.nbytes for s in self.kept)
