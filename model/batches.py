"""Training and evaluation blocks for the three tasks.

Text and object collision are streams: each batch row walks its own contiguous slice (docs/method.md section 9),
so the memory a row carries from block to block belongs to what it is reading. Object collision may instead train
in episodes (`episode_frames`, docs/method.md 17.6): every row a new sequence from frame 0 and a fresh memory.
The corridor is a set of independent episodes: every row of a batch runs an episode of the same length from a
fresh memory, so the only cue in memory is the one the query asks about (without position information beyond M
tokens, cues of earlier episodes would be indistinguishable from the current one).
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


COLLISION_TRAINING_KEYS = {"mark_collisions", "episode_frames"}  # [data] keys for training, not the generator


def collision_config(params: dict) -> "collision.CollisionConfig":
    mark = params.get("mark_collisions", False)
    if not (isinstance(mark, bool) or mark == "only"):
        raise ConfigError('[data] mark_collisions must be true, false or "only" (marks without questions)')
    frames = params.get("episode_frames")
    if frames is not None and (isinstance(frames, bool) or not isinstance(frames, int) or frames < 1):
        raise ConfigError(f"[data] episode_frames must be a whole number of frames, at least 1 (got {frames!r})")
    try:
        return collision.CollisionConfig(**{k: v for k, v in params.items() if k not in COLLISION_TRAINING_KEYS})
    except (TypeError, ValueError) as e:
        raise ConfigError(f"[data] collision settings: {e}") from None


CORRIDOR_WALKER_KEYS = {"eval_length"}  # [data] keys for the walker, not the episode generator


def corridor_config(params: dict) -> "corridor.CorridorConfig":
    try:
        return corridor.CorridorConfig(**{k: v for k, v in params.items() if k not in CORRIDOR_WALKER_KEYS})
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
    """The stream of one split (text: any file SPLIT.txt of the corpus, e.g. test-modern). Generated tasks give
    each split (train, valid, test) its own seeds."""
    if task == "text":
        return text_stream(params.get("corpus", "data/corpus"), split)
    if task == "collision":
        split_seed = {"train": 0, "valid": 1_000_003, "test": 2_000_003}[split] + seed
        cfg = collision_config(params)
        seq = collision.generate(cfg, n_frames=-(-n_tokens // cfg.frame_len), seed=split_seed)
        marks = params.get("mark_collisions", False) if split == "train" else False
        return Stream(seq.tokens, training_targets(seq, marks))
    raise ConfigError(f"unknown task {task!r}: use text, collision or corridor")


def make_walker(task: str, params: dict, split: str, batch_size: int, block_size: int, seed: int,
                n_tokens: int, row_offset: int = 0, n_rows: int | None = None):
    """The block source of one split: an EpisodeWalker for the corridor, else a BlockWalker."""
    if task == "corridor":
        split_seed = {"train": 0, "valid": 1_000_003, "test": 2_000_003}[split] + seed
        length = None if split == "train" else params.get("eval_length")
        return EpisodeWalker(corridor_config(params), batch_size, block_size, split_seed, row_offset, n_rows, length)
    if task == "collision" and split == "train" and params.get("episode_frames"):
        return CollisionEpisodeWalker(collision_config(params), params["episode_frames"],
                                      params.get("mark_collisions", False), batch_size, block_size, seed, row_offset)
    stream = make_stream(task, params, split, n_tokens, seed)
    return BlockWalker(stream, batch_size, block_size, row_offset, n_rows)


def training_targets(seq, marks) -> np.ndarray:
    """A collision sequence's targets: its questions, with collision marks if `marks` (docs/method.md 17.5)."""
    return collision.collision_marks(seq, questions=marks != "only") if marks else seq.targets


class BlockWalker:
    """Cuts a stream into B parallel contiguous slices and hands out one block of each per step."""

    def __init__(self, stream: Stream, batch_size: int, block_size: int, row_offset: int = 0,
                 n_rows: int | None = None):
        n_rows = n_rows or batch_size
        self.stream, self.block_size = stream, block_size
        slice_len = len(stream.tokens) // n_rows
        if slice_len < block_size:
            raise ConfigError(f"the stream ({len(stream.tokens)} tokens) is too short for {n_rows} rows of "
                              f"{block_size}-token blocks")
        self.starts = np.arange(row_offset, row_offset + batch_size) * slice_len
        self.slice_len = slice_len - slice_len % block_size
        self.step = 0

    def restore(self, step: int) -> None:
        self.step = step

    @property
    def blocks_per_pass(self) -> int:
        return self.slice_len // self.block_size

    def next(self) -> tuple[np.ndarray, np.ndarray, bool]:
        """Tokens and targets, each batch x block_size, and whether to start from a fresh memory
        (only the very first block; a row that reaches its slice's end wraps to its start)."""
        offset = (self.step * self.block_size) % self.slice_len
        index = self.starts[:, None] + offset + np.arange(self.block_size)[None, :]
        self.step += 1
        return self.stream.tokens[index], self.stream.targets[index], self.step == 1


def episode_seed(seed: int, episode: int, row: int) -> int:
    """The generator seed of one row of one training episode (CollisionEpisodeWalker)."""
    return int(np.random.SeedSequence([seed, episode, row]).generate_state(1)[0])


class CollisionEpisodeWalker:
    """Object collision in episodes (docs/method.md 17.6): every row runs its own sequence of `frames` frames,
    from frame 0 and a fresh memory, as the app and the fresh measure (17.3) do; then all rows start the next.

    Row r of episode k is generated from episode_seed(seed, k, r), so any step can be reproduced after a resume and
    the processes of a data-parallel run (row_offset) read different sequences."""

    def __init__(self, config, frames: int, marks, batch_size: int, block_size: int, seed: int, row_offset: int = 0):
        length = frames * config.frame_len
        if length % block_size:
            raise ConfigError(f"[data] episode_frames: {frames} frames of {config.frame_len} tokens are not a whole "
                              f"number of {block_size}-token blocks")
        self.config, self.frames, self.marks, self.block_size, self.seed = config, frames, marks, block_size, seed
        self.rows = range(row_offset, row_offset + batch_size)
        self.blocks = length // block_size
        self.step, self._k, self._episode = 0, None, None

    def _make_episode(self, k: int):
        seqs = [collision.generate(self.config, self.frames, episode_seed(self.seed, k, r)) for r in self.rows]
        return np.stack([s.tokens for s in seqs]), np.stack([training_targets(s, self.marks) for s in seqs])

    def restore(self, step: int) -> None:
        self.step = step

    def next(self) -> tuple[np.ndarray, np.ndarray, bool]:
        k, j = divmod(self.step, self.blocks)
        if k != self._k:
            self._k, self._episode = k, self._make_episode(k)
        tokens, targets = self._episode
        M = self.block_size
        self.step += 1
        return tokens[:, j * M:(j + 1) * M], targets[:, j * M:(j + 1) * M], j == 0


class EpisodeWalker:
    """Corridor episodes, one per row, all of one length per batch, each from a fresh memory.

    Episode k of the run (all rows) is drawn from its own seed, so any step can be reproduced after a
    resume. An episode is left-padded with distractors to whole blocks, so its query is the last token.
    Lengths: drawn as the corridor config says, or fixed (`length`, for evaluation).
    """

    def __init__(self, config, batch_size: int, block_size: int, seed: int, row_offset: int = 0,
                 n_rows: int | None = None, length: int | None = None):
        self.config, self.block_size, self.seed, self.length = config, block_size, seed, length
        self.rows = slice(row_offset, row_offset + batch_size)
        self.n_rows = n_rows or batch_size
        self.step = 0
        self._episode, self._block, self._current = 0, 0, None

    def _make_episode(self, k: int):
        rng = np.random.default_rng([self.seed, k])
        length = self.length if self.length is not None else corridor.draw_length(self.config, rng)
        episodes = [corridor.episode(self.config, length, rng) for _ in range(self.n_rows)]
        n = len(episodes[0][0])
        total = -(-n // self.block_size) * self.block_size
        pad = self.config.n_cues + rng.integers(self.config.n_distractors, size=(self.n_rows, total - n))
        tokens = np.concatenate([pad, np.stack([e[0] for e in episodes])], axis=1)[self.rows]
        targets = np.concatenate([np.full_like(pad, -1), np.stack([e[1] for e in episodes])], axis=1)[self.rows]
        return tokens, targets

    def episode_blocks(self, k: int) -> int:
        return self._make_episode(k)[0].shape[1] // self.block_size

    def next(self) -> tuple[np.ndarray, np.ndarray, bool]:
        if self._current is None or self._block * self.block_size >= self._current[0].shape[1]:
            if self._current is not None:
                self._episode += 1
            self._current, self._block = self._make_episode(self._episode), 0
        M, j = self.block_size, self._block
        tokens, targets = self._current
        self._block += 1
        self.step += 1
        return tokens[:, j * M:(j + 1) * M], targets[:, j * M:(j + 1) * M], j == 0

    def restore(self, step: int) -> None:
        """Move to the state after `step` blocks (for a resumed run)."""
        self.__init__(self.config, self.rows.stop - self.rows.start, self.block_size, self.seed,
                      self.rows.start, self.n_rows, self.length)
        for _ in range(step):
            self.next()
