import json

import numpy as np
import pytest

from model.tasks import collision as col
from model.tasks.collision import DEFAULT, SCALED, CollisionConfig


@pytest.fixture(scope="module")
def default_seq():
    return col.generate(DEFAULT, 6000, seed=1)


@pytest.fixture(scope="module")
def scaled_seq():
    return col.generate(SCALED, 3000, seed=2)


def replay(seq):
    """Recompute labels, answer frames and most-recent pairs from positions and colours alone."""
    cfg, P = seq.config, seq.config.particles
    latest, recent = {}, None
    labels, answers, recents = [], [], []
    for t in range(seq.n_frames):
        for i in range(P):
            for j in range(i + 1, P):
                if tuple(seq.positions[t, i]) == tuple(seq.positions[t, j]):
                    pair = (int(seq.colours[t, i]), int(seq.colours[t, j]))
                    r, c = seq.positions[t, i]
                    latest[pair] = (t, 2 * int(r >= cfg.grid / 2) + int(c >= cfg.grid / 2))
                    recent = pair
        recents.append(recent)
        q = (int(seq.questions[t, 0]), int(seq.questions[t, 1]))
        frame, quad = latest.get(q, (-1, -1))
        labels.append(quad + 1)
        answers.append(frame)
    return np.array(labels), np.array(answers), recents


def test_layout_matches_spec_for_default():
    assert col.vocab_size(DEFAULT) == 42 and DEFAULT.frame_len == 8
    assert col.vocab_size(CollisionConfig(grid=6, particles=4, colours=2)) == 16
    assert SCALED.frame_len == 3 * SCALED.particles + 2


def test_same_seed_same_sequence():
    a, b = col.generate(SCALED, 400, seed=7), col.generate(SCALED, 400, seed=7)
    for name in ("tokens", "targets", "positions", "colours", "questions", "labels", "answer_frames"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert not np.array_equal(a.tokens, col.generate(SCALED, 400, seed=8).tokens)


@pytest.mark.parametrize("preset", ["default_seq", "scaled_seq"])
def test_tokens_and_frame_layout(preset, request):
    seq = request.getfixturevalue(preset)
    cfg, G, C, P = seq.config, seq.config.grid, seq.config.colours, seq.config.particles
    assert seq.tokens.dtype == np.int64 and seq.targets.dtype == np.int64
    assert len(seq.tokens) == len(seq.targets) == seq.n_frames * cfg.frame_len
    assert seq.tokens.min() >= 0 and seq.tokens.max() < col.vocab_size(cfg)
    frames = seq.tokens.reshape(seq.n_frames, cfg.frame_len)
    for p in range(P):
        assert np.array_equal(frames[:, 3 * p], seq.positions[:, p, 0])
        assert np.array_equal(frames[:, 3 * p + 1], G + seq.positions[:, p, 1])
        assert np.array_equal(frames[:, 3 * p + 2], 2 * G + seq.colours[:, p])
    assert np.array_equal(frames[:, -2:], 2 * G + C + seq.questions)
    assert seq.positions.min() >= 0 and seq.positions.max() <= G - 1


def test_default_token_offsets(default_seq):
    frames = default_seq.tokens.reshape(-1, 8)
    assert np.array_equal(frames[:, 1], default_seq.positions[:, 0, 1] + 16)
    assert np.array_equal(frames[:, 5], default_seq.colours[:, 1] + 32)
    assert np.array_equal(frames[:, 7], default_seq.questions[:, 1] + 37)


@pytest.mark.parametrize("preset", ["default_seq", "scaled_seq"])
def test_labels_match_recorded_collisions(preset, request):
    seq = request.getfixturevalue(preset)
    labels, answers, _ = replay(seq)
    assert (labels > 0).sum() > 100  # enough scored questions to mean something
    assert np.array_equal(seq.labels, labels)
    assert np.array_equal(seq.answer_frames, answers)
    targets = seq.targets.reshape(seq.n_frames, seq.frame_len)
    assert (targets[:, :-1] == -1).all()
    assert np.array_equal(targets[:, -1], np.where(labels > 0, labels, -1))
    collided = [any(tuple(f[i]) == tuple(f[j]) for i in range(len(f)) for j in range(i + 1, len(f)))
                for f in seq.positions]
    assert np.array_equal(seq.collisions, collided)
    d = col.answer_distances(seq)
    assert (d >= 0).all() and len(d) == (labels > 0).sum()


def test_question_is_most_recent_pair_about_40_percent(default_seq):
    _, _, recents = replay(default_seq)
    asked = [tuple(q) == r for q, r in zip(default_seq.questions.tolist(), recents) if r is not None]
    assert len(asked) > 2000
    expected = 0.4 + 0.6 / DEFAULT.colours ** 2  # a uniform question can hit the pair too
    assert abs(np.mean(asked) - expected) < 0.03


def test_recolour_rate(default_seq):
    changed = (np.diff(default_seq.colours, axis=0) != 0).mean()
    assert abs(changed - 0.05 * (1 - 1 / DEFAULT.colours)) < 0.01


def test_chance_level():
    labels = np.concatenate([col.generate(SCALED, 2000, seed=s).labels for s in range(6)])
    freq = np.bincount(labels[labels > 0], minlength=5)[1:] / (labels > 0).sum()
    assert (freq > 0.1).all()
    assert 0.6 < 1 - freq.max() < 0.85  # always guessing one quadrant is wrong ~75% of the time


def test_scaled_answers_are_hundreds_to_thousands_of_tokens_back(scaled_seq):
    d = col.answer_distances(scaled_seq)
    assert 200 < np.median(d) < 2000 and np.percentile(d, 80) < 6000


def test_json_round_trip(scaled_seq):
    text = col.to_json(scaled_seq)
    back = col.from_json(text)
    assert back.config == scaled_seq.config and back.seed == scaled_seq.seed
    for name in ("tokens", "targets", "positions", "colours", "questions", "labels", "answer_frames",
                 "collisions"):
        assert np.array_equal(getattr(back, name), getattr(scaled_seq, name)), name
    # a hand-written upload needs only config, positions, colours and questions
    d = json.loads(text)
    minimal = {k: d[k] for k in ("config", "positions", "colours", "questions")}
    assert np.array_equal(col.from_json(minimal).labels, scaled_seq.labels)


def _sample():
    return json.loads(col.to_json(col.generate(DEFAULT, 20, seed=0)))


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.pop("positions"), "missing required field(s): positions"),
    (lambda d: d["positions"][3][1].__setitem__(0, 16), "inside the 16x16 grid"),
    (lambda d: d["positions"][0][0].__setitem__(1, -1), "inside the 16x16 grid"),
    (lambda d: d["config"].__setitem__("particles", 99), "too many particles: 99"),
    (lambda d: d["config"].__setitem__("particles", 3), "positions must have shape"),
    (lambda d: d["colours"].pop(), "colours must have shape"),
    (lambda d: d["colours"][0].__setitem__(0, 5), "colours must be in 0..4"),
    (lambda d: d["questions"][0].__setitem__(0, 1.5), "questions must be a rectangular array of integers"),
    (lambda d: d["config"].__setitem__("wings", 2), "unknown config field(s): wings"),
    (lambda d: d["tokens"].__setitem__(0, 1 + d["tokens"][0]), "tokens do not match"),
    (lambda d: d.__setitem__("task", "corridor"), "task must be 'collision'"),
])
def test_json_validation_errors(edit, message):
    d = _sample()
    edit(d)
    with pytest.raises(ValueError) as e:
        col.from_json(json.dumps(d))
    assert message in str(e.value)


def test_json_not_json():
    with pytest.raises(ValueError, match="not valid JSON"):
        col.from_json("{positions: ")
    with pytest.raises(ValueError, match="expected a JSON object"):
        col.from_json("[1, 2]")


def test_bad_config():
    with pytest.raises(ValueError, match="particles"):
        CollisionConfig(particles=1)
    with pytest.raises(ValueError, match="question_prob"):
        CollisionConfig(question_prob=1.5)
