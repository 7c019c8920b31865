"""Token streams for the three tasks, and a walker that cuts them into training blocks.

Each batch row walks its own contiguous slice of the stream (spec section 9), so the memory a row
carries from block to block belongs to the text it is reading.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ConfigError
from .tasks import collision, corridor


@dataclass
class Stream:
    tokens: np.ndarray   # int64
    targets: np.ndarray  # int64, -1 where there is no target


def text_stream(corpus_dir, split: str) -> Stream:
    path = Path(corpus_dir) / f"{split}.txt"
    if not path.is_file():
        raise ConfigError(f"{path} is missing: build the corpus first with `python -m model.data build-corpus`")
    tokens = np.frombuffer(path.read_bytes(), dtype=np.uint8).astype(np.int64)
    targets = np.append(tokens[1:], -1)  # next byte
    return Stream(tokens, targets)


def collision_config(params: dict) -> "collision.CollisionConfig":
    try:
        return collision.CollisionConfig(**params)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"[data] collision settings: {e}") from None


def corridor_config(params: dict) -> "corridor.CorridorConfig":
    try:
        return corridor.CorridorConfig(**params)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"[data] corridor settings: {e}") from None


def task_vocab_size(task: str, params: dict) -> int:
    if task == "text":
        return 256
    if task == "collision":
        return collision.vocab_size(collision_config(params))
    if task == "corridor":
        return corridor.vocab_size(corridor_config(params))
    raise ConfigError(f"unknown task {task!r}: use text, collision or corridor")


def make_stream(task: str, params: dict, split: str, n_tokens: int, seed: int) -> Stream:
    """The stream of one split. Generated tasks give each split its own seeds."""
    split_seed = {"train": 0, "valid": 1_000_003, "test": 2_000_003}[split] + seed
    if task == "text":
        return text_stream(params.get("corpus", "data/corpus"), split)
    if task == "collision":
        cfg = collision_config(params)
        seq = collision.generate(cfg, n_frames=-(-n_tokens // cfg.frame_len), seed=split_seed)
        return Stream(seq.tokens, seq.targets)
    if task == "corridor":
        s = corridor.stream(corridor_config(params), n_tokens, split_seed)
        return Stream(s.tokens, s.targets)
    raise ConfigError(f"unknown task {task!r}: use text, collision or corridor")


class BlockWalker:
    """Cuts a stream into B parallel contiguous slices and hands out one block of each per step."""

    def __init__(self, stream: Stream, batch_size: int, block_size: int, row_offset: int = 0, n_rows: int | None = None):
        n_rows = n_rows or batch_size
        self.stream, self.block_size = stream, block_size
        slice_len = len(stream.tokens) // n_rows
        if slice_len < block_size:
            raise ConfigError(f"the stream ({len(stream.tokens)} tokens) is too short for {n_rows} rows of "
                              f"{block_size}-token blocks")
        self.starts = np.arange(row_offset, row_offset + batch_size) * slice_len
        self.slice_len = slice_len - slice_len % block_size
        self.step = 0

    def next(self) -> tuple[np.ndarray, np.ndarray]:
        """Tokens and targets, each batch x block_size; a row wraps to its slice start at the end."""
        offset = (self.step * self.block_size) % self.slice_len
        index = self.starts[:, None] + offset + np.arange(self.block_size)[None, :]
        self.step += 1
        return self.stream.tokens[index], self.stream.targets[index]
