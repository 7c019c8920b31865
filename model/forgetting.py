"""Forced forgetting: the model reads the text as always, except that chosen memories are gone (docs/method.md
section 18).

`Forget` holds what to forget: (layer, start, end) ranges of token positions, layer None for every layer. From
the moment a forgotten token is read, no later query of those layers sees it as a key, in its own block too: its
attention weight is 0, as for a memory that expired. Everything else runs as in a plain run.
"""
from dataclasses import dataclass

import torch

from .errors import InputError, whole_number

MAX_RANGES = 64  # ranges one Forget may hold


@dataclass(frozen=True)
class Forget:
    """Ranges (layer, start, end) of positions start..end-1 to forget in that layer (None: in every layer)."""
    ranges: tuple[tuple[int | None, int, int], ...]

    def __post_init__(self):
        if not isinstance(self.ranges, (tuple, list)) or len(self.ranges) > MAX_RANGES:
            raise InputError(f"forget takes a list of at most {MAX_RANGES} (layer, start, end) ranges")
        checked = []
        for item in self.ranges:
            if not isinstance(item, (tuple, list)) or len(item) != 3:
                raise InputError(f"each range to forget is (layer or None, start, end), got {str(item)[:60]}")
            layer, start, end = item
            layer = None if layer is None else whole_number(layer, "the layer to forget in", 0)
            start = whole_number(start, "a range's start", 0)
            end = whole_number(end, "a range's end", start + 1)
            checked.append((layer, start, end))
        object.__setattr__(self, "ranges", tuple(checked))

    def check(self, n_layers: int) -> None:
        """Every layer named exists in a model of n_layers."""
        for layer, _, _ in self.ranges:
            if layer is not None and layer >= n_layers:
                raise InputError(f"the layer to forget in must be in 0..{n_layers - 1} (got {layer})")

    def in_layer(self, layer: int) -> list[tuple[int, int]]:
        """The (start, end) ranges forgotten in this layer."""
        return [(s, e) for lay, s, e in self.ranges if lay is None or lay == layer]

    def describe(self) -> list[dict]:
        """What was forced, for a trace's meta."""
        return [{"layer": layer, "start": start, "end": end} for layer, start, end in self.ranges]


def forgotten(ranges: list[tuple[int, int]], position: torch.Tensor) -> torch.Tensor:
    """True where a key at `position` (any shape) lies in one of the (start, end) ranges."""
    out = torch.zeros(position.shape, dtype=torch.bool, device=position.device)
    for start, end in ranges:
        out |= (position >= start) & (position < end)
    return out
