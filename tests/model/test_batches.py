"""How training blocks are cut: contiguous rows for streams, independent episodes for the corridor."""
import numpy as np
import pytest

from model.batches import BlockWalker, EpisodeWalker, Stream
from model.tasks import corridor


def test_each_row_walks_its_own_contiguous_slice():
    tokens = np.arange(1000)
    walker = BlockWalker(Stream(tokens, tokens + 1), batch_size=4, block_size=10)
    x1, y1, reset1 = walker.next()
    x2, _, reset2 = walker.next()
    assert reset1 and not reset2
    assert x1[:, 0].tolist() == [0, 250, 500, 750]
    assert np.all(x2 == x1 + 10) and np.all(y1 == x1 + 1)


def test_a_process_gets_its_rows_of_the_global_batch():
    tokens = np.arange(1000)
    full = BlockWalker(Stream(tokens, tokens), batch_size=4, block_size=10)
    part = BlockWalker(Stream(tokens, tokens), batch_size=2, block_size=10, row_offset=2, n_rows=4)
    assert np.array_equal(full.next()[0][2:], part.next()[0])


def test_corridor_episodes_end_with_their_query_and_start_fresh():
    cfg = corridor.CorridorConfig(n_cues=4, n_distractors=16, min_length=5, max_length=100)
    walker = EpisodeWalker(cfg, batch_size=3, block_size=16, seed=0)
    blocks = [walker.next() for _ in range(40)]
    episode = []
    for x, y, reset in blocks:
        if reset and episode:
            tokens = np.concatenate([b[0] for b in episode], axis=1)
            targets = np.concatenate([b[1] for b in episode], axis=1)
            assert np.all(tokens[:, -1] == cfg.query)          # the query is the last token
            assert np.all(targets[:, :-1] == -1)                # the only target
            starts = np.argmax(tokens == cfg.start, axis=1)     # one START per row, then the cue
            assert np.all(targets[:, -1] == tokens[np.arange(3), starts + 1])
            episode = []
        episode.append((x, y))


def test_corridor_walker_restores_any_step_and_fixed_lengths_hold():
    cfg = corridor.CorridorConfig(min_length=5, max_length=300, log_uniform=True)
    a = EpisodeWalker(cfg, batch_size=2, block_size=16, seed=3)
    seen = [a.next() for _ in range(30)]
    b = EpisodeWalker(cfg, batch_size=2, block_size=16, seed=3)
    b.restore(17)
    for x, y, r in seen[17:]:
        bx, by, br = b.next()
        assert np.array_equal(x, bx) and np.array_equal(y, by) and r == br
    fixed = EpisodeWalker(cfg, batch_size=2, block_size=16, seed=3, length=100)
    assert fixed.episode_blocks(0) == fixed.episode_blocks(5) == -(-103 // 16)


def test_text_streams_any_file_of_the_corpus_and_names_a_missing_one(tmp_path):
    import pytest

    from model import ConfigError
    from model.batches import make_stream

    (tmp_path / "test-modern.txt").write_bytes(b"held-out modern text")
    s = make_stream("text", {"corpus": str(tmp_path)}, "test-modern", 100, seed=0)
    assert bytes(s.tokens.astype(np.uint8).tolist()) == b"held-out modern text"
    assert s.targets[0] == ord("e") and s.targets[-1] == -1
    with pytest.raises(ConfigError, match="test-bible.txt is missing"):
        make_stream("text", {"corpus": str(tmp_path)}, "test-bible", 100, seed=0)


def test_collision_marks_train_only_on_the_last_particle_colour_and_never_change_the_questions():
    from model.batches import make_stream
    from model.errors import ConfigError
    from model.tasks import collision
    params = dict(grid=4, particles=2, colours=2, mark_collisions=True)
    train = make_stream("collision", params, "train", 80_000, seed=0)
    plain = make_stream("collision", {**params, "mark_collisions": False}, "train", 80_000, seed=0)
    valid = make_stream("collision", params, "valid", 80_000, seed=0)
    seq = collision.generate(collision.SCALED, len(train.tokens) // 8, seed=0)
    marks, frames = train.targets.reshape(-1, 8), seq.positions
    collided = (frames[:, 0] == frames[:, 1]).all(-1)
    assert collided.any() and not collided.all()
    assert np.array_equal(marks[:, 5] > 0, collided)   # particle 1's colour token: collision or not
    quads = 1 + 2 * (frames[collided, 0, 0] >= 2) + (frames[collided, 0, 1] >= 2)
    assert np.array_equal(marks[collided, 5], quads)    # and where
    assert np.array_equal(np.delete(marks, 5, axis=1), plain.targets.reshape(-1, 8)[:, [0, 1, 2, 3, 4, 6, 7]])
    assert np.array_equal(valid.targets, collision.generate(collision.SCALED, len(valid.tokens) // 8,
                                                            seed=1_000_003).targets)   # validation: questions only
    only = make_stream("collision", {**params, "mark_collisions": "only"}, "train", 80_000, seed=0)
    assert np.array_equal(only.targets.reshape(-1, 8)[:, 5], marks[:, 5])
    assert (only.targets.reshape(-1, 8)[:, 7] == -1).all()   # a first phase: marks without questions
    for bad in ("yes", 1):
        with pytest.raises(ConfigError, match='mark_collisions must be true, false or "only"'):
            make_stream("collision", {**params, "mark_collisions": bad}, "train", 8_000, seed=0)


def test_collision_episodes_start_every_row_at_frame_0_with_a_fresh_memory():
    """docs/method.md 17.6: with episode_frames, each row runs its own sequence from frame 0, all rows restart
    together (the memory is reset), episodes and rows differ, and a resumed walker reads the same blocks."""
    from model.batches import CollisionEpisodeWalker, episode_seed, make_walker
    from model.errors import ConfigError
    from model.tasks import collision
    params = dict(grid=4, particles=2, colours=2, episode_frames=28)  # 28 frames x 8 tokens = 2 blocks of 112
    walker = make_walker("collision", params, "train", 3, 112, seed=5, n_tokens=10**6)
    assert isinstance(walker, CollisionEpisodeWalker)
    blocks = [walker.next() for _ in range(6)]
    assert [reset for _, _, reset in blocks] == [True, False] * 3
    episode = np.concatenate([blocks[0][0], blocks[1][0]], axis=1)
    assert len({row.tobytes() for row in episode}) == 3 and not np.array_equal(blocks[0][0], blocks[2][0])
    for r, row in enumerate(episode):  # a whole sequence from its first frame, with its questions
        seq = collision.generate(collision.SCALED, 28, episode_seed(5, 0, r))
        assert np.array_equal(row, seq.tokens)
        assert np.array_equal(np.concatenate([blocks[0][1][r], blocks[1][1][r]]), seq.targets)
    second = collision.generate(collision.SCALED, 28, episode_seed(5, 1, 0)).tokens
    assert np.array_equal(np.concatenate([blocks[2][0][0], blocks[3][0][0]]), second)
    again = make_walker("collision", params, "train", 3, 112, seed=5, n_tokens=10**6)
    again.restore(3)
    x, y, reset = again.next()
    assert not reset and np.array_equal(x, blocks[3][0]) and np.array_equal(y, blocks[3][1])
    valid = make_walker("collision", params, "valid", 3, 112, seed=5, n_tokens=20_000)
    assert not isinstance(valid, CollisionEpisodeWalker)  # validation and test stay the held-out streams
    for bad in (0, -3, 2.5, True, "28"):
        with pytest.raises(ConfigError, match="episode_frames must be a whole number"):
            make_walker("collision", {**params, "episode_frames": bad}, "train", 3, 112, seed=5, n_tokens=10**6)
    with pytest.raises(ConfigError, match="not a whole number of 112-token blocks"):
        make_walker("collision", {**params, "episode_frames": 30}, "train", 3, 112, seed=5, n_tokens=10**6)
