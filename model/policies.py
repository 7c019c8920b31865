"""Memory policies: which memories a layer keeps when its memory is governed by a rule instead of the
model's own spans (docs/method.md section 15).

One concept, kept pure: a layer's rule takes the positions of the entries it holds after a block (its
cache and the block's own tokens) and, for heavy hitters, the attention each has received so far, and
says which to keep. The model applies the answer after every block (`model/expire_span.py`); the trace
runs a model under a policy (`trace(model, text, policy=Policy("window"))`, `model/trace`).

| policy | keeps, per layer, after each block |
|---|---|
| `expire-span` | what the model's own spans keep (section 7); no budget |
| `window` | the nearest k |
| `sinks` | the first s tokens of the input (positions 0..s-1) and the nearest k - s others |
| `heavy-hitters` | the nearest r (default k // 2) and the k - r others with the most attention received |
| `keep-all` | the nearest L (the model's maximum span); no budget |

Under a rule the span mask is off: a kept memory has weight 1, a memory that is gone has none.
"""
import math
from dataclasses import dataclass

import numpy as np
import torch

from .errors import InputError, whole_number

NAMES = ("expire-span", "window", "sinks", "heavy-hitters", "keep-all")
BUDGETED = ("window", "sinks", "heavy-hitters")  # the policies that take a budget of k memories per layer
DEFAULT_SINKS = 4


@dataclass(frozen=True)
class Policy:
    """A memory policy and its settings; `budget` is k memories per layer: one integer for every layer or
    one per layer. None for a budgeted policy means the default, which only `trace()` can work out (it
    needs the text: see `default_budget`). `recent` (heavy hitters only): how many of the budget go to
    the nearest memories, by default half (k // 2)."""
    name: str = "expire-span"
    budget: int | tuple[int, ...] | None = None
    sinks: int = DEFAULT_SINKS
    recent: int | None = None

    def __post_init__(self):
        if self.name not in NAMES:
            raise InputError(f"unknown memory policy {self.name!r}: use one of {', '.join(NAMES)}")
        if self.budget is not None:
            if self.name not in BUDGETED:
                raise InputError(f"the {self.name} policy takes no budget (budgets: {', '.join(BUDGETED)})")
            if isinstance(self.budget, (list, tuple, np.ndarray)):
                budget = tuple(whole_number(k, "a budget", 1) for k in self.budget)
                if not budget:
                    raise InputError("a budget per layer needs at least one layer")
            else:
                budget = whole_number(self.budget, "the budget", 1)
            object.__setattr__(self, "budget", budget)
        object.__setattr__(self, "sinks", whole_number(self.sinks, "sinks", 0))
        if self.recent is not None:
            object.__setattr__(self, "recent", whole_number(self.recent, "recent", 0))

    @property
    def by_rule(self) -> bool:
        """True for every policy but the model's own (its span mask is then off)."""
        return self.name != "expire-span"

    def budgets(self, n_layers: int, max_span: int) -> list[int] | None:
        """k per layer (L for keep-all), None for expire-span; an InputError when a budget is missing or
        does not fit the model."""
        if not self.by_rule:
            return None
        if self.name == "keep-all":
            return [max_span] * n_layers
        if self.budget is None:
            raise InputError(f"the {self.name} policy needs a budget here (trace() works out the default)")
        if isinstance(self.budget, tuple):
            if len(self.budget) != n_layers:
                raise InputError(f"the budget gives {len(self.budget)} layers; the model has {n_layers}")
            return list(self.budget)
        return [self.budget] * n_layers

    def rules(self, n_layers: int, max_span: int) -> list["Rule"] | None:
        """One resolved rule per layer, None for expire-span."""
        budgets = self.budgets(n_layers, max_span)
        if budgets is None:
            return None
        return [Rule(self.name, k, min(self.sinks, k) if self.name == "sinks" else 0,
                     min(k // 2 if self.recent is None else self.recent, k) if self.name == "heavy-hitters" else 0)
                for k in budgets]

    def describe(self, n_layers: int, max_span: int) -> dict:
        """JSON-ready: the name and what it resolved to (a trace keeps it in `meta["policy"]`)."""
        out = {"name": self.name, "budget": self.budgets(n_layers, max_span)}
        if self.name == "sinks":
            out["sinks"] = self.sinks
        if self.name == "heavy-hitters":
            out["recent"] = [rule.recent for rule in self.rules(n_layers, max_span)]
        return out


@dataclass(frozen=True)
class Rule:
    """One layer's rule with its budget resolved: keep at most `budget` entries; `sinks` (the sinks
    policy) and `recent` (heavy hitters) are already at most the budget."""
    name: str
    budget: int
    sinks: int = 0
    recent: int = 0

    @property
    def needs_scores(self) -> bool:
        return self.name == "heavy-hitters"

    def keep(self, position: torch.Tensor, score: torch.Tensor | None = None) -> torch.Tensor:
        """B x S positions (and scores) -> B x S bool, True for the entries kept: min(S, budget) a row."""
        if self.name in ("window", "keep-all"):
            return keep_nearest(position, self.budget)
        if self.name == "sinks":
            return keep_sinks(position, self.budget, self.sinks)
        if self.name == "heavy-hitters":
            return keep_heavy_hitters(position, score, self.budget, self.recent)
        raise InputError(f"no rule for {self.name!r}")


def _top(priority: torch.Tensor, k: int) -> torch.Tensor:
    """True for the k largest entries of each row (all of them when a row has at most k)."""
    if priority.shape[1] <= k:
        return torch.ones_like(priority, dtype=torch.bool)
    index = priority.topk(k, dim=1).indices
    return torch.zeros_like(priority, dtype=torch.bool).scatter_(1, index, True)


def keep_nearest(position: torch.Tensor, k: int) -> torch.Tensor:
    """window: the k most recent entries (largest positions) of each row."""
    return _top(position, k)


def keep_sinks(position: torch.Tensor, k: int, sinks: int) -> torch.Tensor:
    """sinks (StreamingLLM): the first `sinks` tokens of the input (positions 0..sinks-1; the start
    state's zero memories are not tokens) while held, and the nearest others up to k in all."""
    sink = (position >= 0) & (position < min(sinks, k))
    big = torch.iinfo(position.dtype).max
    return _top(position.masked_fill(sink, big), k)


def keep_heavy_hitters(position: torch.Tensor, score: torch.Tensor, k: int, recent: int) -> torch.Tensor:
    """heavy hitters (H2O): the nearest `recent`, then the k - recent others with the highest score (the
    attention they have received so far); among equal scores the more recent is kept."""
    if position.shape[1] <= k:
        return torch.ones_like(position, dtype=torch.bool)
    near = keep_nearest(position, min(recent, k))
    ranked = score.to(torch.float64).masked_fill(near, math.inf)
    by_position = position.argsort(dim=1, descending=True, stable=True)
    order = by_position.gather(1, ranked.gather(1, by_position).argsort(dim=1, descending=True, stable=True))
    return torch.zeros_like(near).scatter_(1, order[:, :k], True)


def received(attention: torch.Tensor) -> torch.Tensor:
    """B x K x T x S attention weights -> B x S: what each key received, summed over heads and queries
    (heavy hitters add this to a memory's score after every block it is held for)."""
    return attention.sum(dim=(1, 2))


def visible_memories(trace) -> np.ndarray:
    """n_layers x n_blocks: the memories each block's first query could still see in a plain trace, mask
    above 0 (method 3.2: e_i + R > distance; without expiry the nearest L, or span_limit), counting
    tokens only: neither the start state's zero memories (1.5) nor expired memories still in the cache
    (7.4). A memory a block's first query sees is visible to the whole block with weight above 0."""
    if trace.meta.get("policy"):
        raise InputError("visible_memories reads a plain trace, not one run under a memory policy")
    T = trace.spans.shape[1]
    starts = np.arange(0, T, trace.block_size)
    out = np.zeros((trace.n_layers, len(starts)), np.int64)
    positions = np.arange(T)
    for j, b in enumerate(starts):
        distance = b - positions[:b]
        spans = trace.spans[:, :b]
        seen = spans + trace.ramp > distance if trace.expire_span else distance <= spans
        out[:, j] = seen.sum(axis=1)
    return out


def default_budget(trace) -> list[int]:
    """k per layer: the plain trace's own mean number of memories each layer could still see
    (`visible_memories`, mean over blocks), rounded, at least 1."""
    return [max(1, int(round(float(m)))) for m in visible_memories(trace).mean(axis=1)]
