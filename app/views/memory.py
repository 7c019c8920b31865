"""What a layer still holds: the soft mask at a step (method 3.2), drops (method 7) and cache use."""
import numpy as np


def soft_mask_at(trace, t: int) -> np.ndarray:
    """layers x t: m = clamp(1 + (span_i - (t - i)) / R, 0, 1) for every memory i < t (method 3.2)."""
    i = np.arange(t)
    remaining = trace.spans[:, :t] - (t - i)[None, :]
    return np.clip(1 + remaining / trace.ramp, 0.0, 1.0)


def dropped_by(trace, t: int) -> np.ndarray:
    """layers x t: True where memory i had actually left the cache by query t (dropped_at <= t)."""
    d = trace.dropped_at[:, :t]
    return (d >= 0) & (d <= t)


def held_at(trace, t: int) -> np.ndarray:
    """layers x t: the mask a query at t applies, zero where the memory was already dropped."""
    return np.where(dropped_by(trace, t), 0.0, soft_mask_at(trace, t))


def block_starts(trace) -> np.ndarray:
    """First position of every block (blocks are M long except possibly the last)."""
    return np.arange(trace.cache_size.shape[1]) * trace.block_size


def keep_everything(trace) -> np.ndarray:
    """Memories a block could see with no forgetting: every earlier token plus the M start memories."""
    return block_starts(trace) + trace.block_size


def steps_kept(trace) -> np.ndarray:
    """layers x T: how long each memory actually stayed (drop position - i; to the end if never dropped)."""
    T = len(trace.tokens)
    end = np.where(trace.dropped_at >= 0, trace.dropped_at, T)
    return end - np.arange(T)[None, :]
