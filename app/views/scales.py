"""Colour scales for spans: one scale shared by every layer, one per layer, or a logarithmic one.

Spans range over three orders of magnitude and differ from layer to layer (a layer may keep almost nothing
beyond the fade while another keeps hundreds of steps), so a single linear scale can draw a quiet layer in one
dark colour. Each scale answers one question:
- shared: compare layers (0 to the largest span of any layer);
- per layer: what does this layer prefer (its own shortest to its own longest span);
- log: spans of every size on one scale (log(1 + span), 0 to the largest span).
"""
from typing import NamedTuple

import numpy as np
from model.errors import InputError

SCALES = ("shared", "per layer", "log")
SCALE_HELP = {
    "shared": "one scale for every layer, from 0 to the longest span: compare layers",
    "per layer": "each layer from its own shortest to its own longest span: see what a quiet layer prefers",
    "log": "logarithmic, from 0 to the longest span: short and long spans both visible",
}


class Scaled(NamedTuple):
    """Values mapped to [0, 1] for colouring, with the value range behind each layer's colours."""
    fraction: np.ndarray  # layers x N, in [0, 1]
    lo: np.ndarray        # layers: the value drawn at 0
    hi: np.ndarray        # layers: the value drawn at 1
    mode: str


def scale_values(values, mode: str) -> Scaled:
    """Map layers x N values (spans, >= 0) to colour fractions in [0, 1] by one of SCALES."""
    if mode not in SCALES:
        raise InputError(f"unknown colour scale {str(mode)[:40]!r}; choose one of {', '.join(SCALES)}")
    v = np.asarray(values, float)
    n = v.shape[0]
    if v.size and np.isnan(v).all(axis=1).any():  # a row with nothing to colour (only spaces): draw it as 0
        v = np.where(np.isnan(v).all(axis=1, keepdims=True), 0.0, v)
    top = max(1.0, float(np.nanmax(v))) if v.size else 1.0
    if mode == "per layer":
        lo = np.nanmin(v, axis=1) if v.size else np.zeros(n)
        hi = np.nanmax(v, axis=1) if v.size else np.ones(n)
        width = hi - lo
        flat = width <= 1e-9 * np.maximum(1.0, np.abs(hi))
        frac = np.where(flat[:, None], 0.5, (v - lo[:, None]) / np.where(flat, 1.0, width)[:, None])
        return Scaled(np.clip(frac, 0, 1), lo, hi, mode)
    lo, hi = np.zeros(n), np.full(n, top)
    if mode == "log":
        return Scaled(np.clip(np.log1p(np.maximum(v, 0)) / np.log1p(top), 0, 1), lo, hi, mode)
    return Scaled(np.clip(v / top, 0, 1), lo, hi, mode)


def ticks(lo: float, hi: float, mode: str, n: int = 5) -> tuple[np.ndarray, list[str]]:
    """Legend ticks for one layer's range: (fractions in [0, 1], labels in steps)."""
    if hi - lo <= 1e-9 * max(1.0, abs(hi)):
        return np.array([0.5]), [_steps(hi)]
    if mode == "log":
        values = [0.0] + [10.0 ** k for k in range(0, int(np.log10(hi)) + 1)]
        if hi / values[-1] >= 2:
            values.append(hi)
        return np.log1p(values) / np.log1p(hi), [_steps(v) for v in values]
    values = np.linspace(lo, hi, n)
    return (values - lo) / (hi - lo), [_steps(v) for v in values]


def _steps(v: float) -> str:
    return f"{v:,.0f}" if v >= 10 else f"{v:.1f}".rstrip("0").rstrip(".") or "0"
