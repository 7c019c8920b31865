"""Corridor: see a cue, walk past a long stretch of distractors, then recall the cue.

In the spirit of the Expire-Span paper's corridor task. One episode is

    START, cue, d_1 ... d_length, QUERY

where the cue is one of n_cues symbols and the distractors are uniform over n_distractors
symbols. The only target is on the QUERY token: the model's output there must predict the
cue id (0..n_cues-1). Every other position has target -1. A model that does well keeps the
cue in memory and may let the distractors expire.

Vocabulary: cues 0..n_cues-1, distractors n_cues..n_cues+n_distractors-1, then QUERY, START.
"""
import json
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class CorridorConfig:
    n_cues: int = 4
    n_distractors: int = 16
    min_length: int = 64        # distractors per episode, drawn from
    max_length: int = 256       # [min_length, max_length] (inclusive)
    log_uniform: bool = False   # draw lengths log-uniformly: short corridors common, long ones still there

    def __post_init__(self):
        if self.n_cues < 1 or self.n_distractors < 1:
            raise ValueError(f"need n_cues >= 1 and n_distractors >= 1, got {self.n_cues}, {self.n_distractors}")
        if not 0 <= self.min_length <= self.max_length:
            raise ValueError(f"need 0 <= min_length <= max_length, got {self.min_length}, {self.max_length}")
        if self.log_uniform and self.min_length < 1:
            raise ValueError("log_uniform lengths need min_length >= 1")

    @property
    def query(self):
        return self.n_cues + self.n_distractors

    @property
    def start(self):
        return self.n_cues + self.n_distractors + 1


def vocab_size(config):
    return config.n_cues + config.n_distractors + 2


def episode(config, length, rng):
    """One episode with `length` distractors: (tokens, targets), each (length + 3,) int64."""
    cue = int(rng.integers(config.n_cues))
    distractors = config.n_cues + rng.integers(config.n_distractors, size=length)
    tokens = np.concatenate([[config.start, cue], distractors, [config.query]]).astype(np.int64)
    targets = np.full(len(tokens), -1, dtype=np.int64)
    targets[-1] = cue
    return tokens, targets


def draw_length(config, rng):
    """Number of distractors of one episode."""
    if config.log_uniform:
        low, high = np.log(config.min_length), np.log(config.max_length + 1)
        return min(int(np.exp(rng.uniform(low, high))), config.max_length)
    return int(rng.integers(config.min_length, config.max_length + 1))


@dataclass
class CorridorStream:
    """Episodes laid end to end, cut to n_tokens, plus what a viewer needs per episode."""
    config: CorridorConfig
    tokens: np.ndarray          # (n_tokens,) int64
    targets: np.ndarray         # (n_tokens,) int64: the cue on QUERY tokens, else -1
    starts: np.ndarray          # (E,) position of each episode's START token
    cue_positions: np.ndarray   # (E,) position of its cue (-1 if cut off)
    query_positions: np.ndarray # (E,) position of its QUERY (-1 if the stream ends first)
    cues: np.ndarray            # (E,) cue id of each episode
    lengths: np.ndarray         # (E,) number of distractors drawn for each episode
    seed: int | None = None


def stream(config, n_tokens, seed):
    """Seeded episodes with lengths in [min_length, max_length], concatenated and cut to n_tokens."""
    if n_tokens < 1:
        raise ValueError(f"n_tokens must be at least 1, got {n_tokens}")
    rng = np.random.default_rng(seed)
    toks, tgts, starts, cues, lengths = [], [], [], [], []
    pos = 0
    while pos < n_tokens:
        length = draw_length(config, rng)
        t, y = episode(config, length, rng)
        toks.append(t)
        tgts.append(y)
        starts.append(pos)
        cues.append(t[1])
        lengths.append(length)
        pos += len(t)
    starts, lengths = np.array(starts, dtype=np.int64), np.array(lengths, dtype=np.int64)
    cue_pos, query_pos = starts + 1, starts + lengths + 2
    return CorridorStream(
        config=config,
        tokens=np.concatenate(toks)[:n_tokens],
        targets=np.concatenate(tgts)[:n_tokens],
        starts=starts,
        cue_positions=np.where(cue_pos < n_tokens, cue_pos, -1),
        query_positions=np.where(query_pos < n_tokens, query_pos, -1),
        cues=np.array(cues, dtype=np.int64),
        lengths=lengths,
        seed=seed,
    )


def to_json(s):
    """A JSON string of the stream (for inspection)."""
    return json.dumps(dict(
        task="corridor", config=asdict(s.config), seed=s.seed, vocab_size=vocab_size(s.config),
        query_token=s.config.query, start_token=s.config.start,
        tokens=s.tokens.tolist(), targets=s.targets.tolist(), starts=s.starts.tolist(),
        cue_positions=s.cue_positions.tolist(), query_positions=s.query_positions.tolist(),
        cues=s.cues.tolist(), lengths=s.lengths.tolist(),
    ))
