import json

import numpy as np
import pytest

from model.tasks import corridor
from model.tasks.corridor import CorridorConfig

CFG = CorridorConfig(n_cues=4, n_distractors=16, min_length=10, max_length=40)


def test_vocabulary():
    assert corridor.vocab_size(CorridorConfig()) == 22
    assert CFG.query == 20 and CFG.start == 21


def test_episode_layout():
    rng = np.random.default_rng(0)
    tokens, targets = corridor.episode(CFG, 12, rng)
    assert len(tokens) == len(targets) == 15
    assert tokens[0] == CFG.start and tokens[-1] == CFG.query
    assert 0 <= tokens[1] < CFG.n_cues
    assert ((tokens[2:-1] >= CFG.n_cues) & (tokens[2:-1] < CFG.n_cues + CFG.n_distractors)).all()
    assert (targets[:-1] == -1).all() and targets[-1] == tokens[1]
    tokens, targets = corridor.episode(CFG, 0, rng)
    assert len(tokens) == 3 and targets[-1] == tokens[1]


def test_same_seed_same_stream():
    a, b = corridor.stream(CFG, 3000, seed=5), corridor.stream(CFG, 3000, seed=5)
    assert np.array_equal(a.tokens, b.tokens) and np.array_equal(a.targets, b.targets)
    assert np.array_equal(a.lengths, b.lengths)
    assert not np.array_equal(a.tokens, corridor.stream(CFG, 3000, seed=6).tokens)


def test_stream_metadata_and_targets():
    s = corridor.stream(CFG, 5000, seed=1)
    assert len(s.tokens) == len(s.targets) == 5000
    assert s.tokens.min() >= 0 and s.tokens.max() < corridor.vocab_size(CFG)
    assert ((s.lengths >= CFG.min_length) & (s.lengths <= CFG.max_length)).all()
    assert len(np.unique(s.lengths)) > 10  # lengths really vary
    assert (s.tokens[s.starts] == CFG.start).all()
    assert np.array_equal(np.nonzero(s.tokens == CFG.start)[0], s.starts)
    done = s.query_positions >= 0
    assert done[:-1].all()  # only the last episode may be cut off
    q, c = s.query_positions[done], s.cue_positions[done]
    # targets sit on queries only, and each is that episode's cue
    assert np.array_equal(np.nonzero(s.targets >= 0)[0], q)
    assert (s.tokens[q] == CFG.query).all()
    assert np.array_equal(s.targets[q], s.tokens[c])
    assert np.array_equal(s.targets[q], s.cues[done])
    assert np.array_equal(q - c - 1, s.lengths[done])
    assert set(s.cues.tolist()) == set(range(CFG.n_cues))


def test_cut_off_last_episode():
    s = corridor.stream(CFG, 1, seed=0)
    assert s.tokens.tolist() == [CFG.start] and s.targets.tolist() == [-1]
    assert s.cue_positions.tolist() == [-1] and s.query_positions.tolist() == [-1]


def test_to_json():
    d = json.loads(corridor.to_json(corridor.stream(CFG, 200, seed=0)))
    assert len(d["tokens"]) == 200 and d["query_token"] == CFG.query and d["config"]["max_length"] == 40


def test_bad_config():
    with pytest.raises(ValueError, match="min_length"):
        CorridorConfig(min_length=50, max_length=10)
    with pytest.raises(ValueError):
        corridor.stream(CFG, 0, seed=0)


def test_shipped_model_keeps_cues_lets_distractors_go_and_answers_the_rest_by_elimination():
    """The shipped corridor model (card: targets at length 1,000): every cue it keeps outlives the corridor, every
    episode is answered right, distractors fade at once, and a cue it lets go is answered by elimination."""
    from pathlib import Path

    from app.views.corridor import Episode, answer, by_elimination, cue_spans_alone
    from model import ExpireSpanLM, trace

    model = ExpireSpanLM.from_pretrained(Path(__file__).resolve().parents[2] / "checkpoints" / "corridor")
    config = CorridorConfig()
    spans = cue_spans_alone(lambda tokens: trace(model, tokens), config)
    assert sum(s >= 1000 for s in spans.values()) >= config.n_cues - 1  # at most one cue left to elimination
    rng = np.random.default_rng(3)
    for cue in range(config.n_cues):
        tokens, targets = corridor.episode(config, 1000, rng)
        tokens[1] = targets[-1] = cue
        ep = Episode(tokens, targets, cue)
        tr = trace(model, tokens, targets=targets)
        assert answer(tr, ep)[0] == cue
        assert np.median(tr.spans[:, 2:-1], axis=1).max() < 50  # under 5% of the corridor
        assert spans[cue] >= 1000 or by_elimination(ep, spans)
