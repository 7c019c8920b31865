"""The collision memory measures (docs/method.md section 17) on hand-made sequences and a tiny model."""
import numpy as np
import torch
import pytest

from model.collision_memory import (FRESH_SEEDS, frame_of_tokens, latest_collision_answers, measure_fresh,
                                    span_by_frame_kind, token_kinds)
from model.tasks import collision
from support import tiny_model


def sequence_with(collided_frames, answered_frames, n_frames=6):
    """A SCALED sequence whose collision and answer frames are set by hand (17.1)."""
    seq = collision.generate(collision.SCALED, n_frames, seed=0)
    seq.collisions[:] = False
    seq.collisions[list(collided_frames)] = True
    seq.answer_frames[:] = -1
    for i, f in enumerate(answered_frames):
        seq.answer_frames[n_frames - 1 - i] = f
    return seq


def test_token_kinds_follow_the_frames_17_1():
    seq = sequence_with(collided_frames=[1, 3], answered_frames=[1])
    kinds = token_kinds(seq)
    L = seq.frame_len
    assert (frame_of_tokens(seq)[::L] == np.arange(seq.n_frames)).all()
    assert kinds["collision"].sum() == 2 * L and (kinds["collision"] == ~kinds["ordinary"]).all()
    assert kinds["answering"][L:2 * L].all() and kinds["answering"].sum() == L  # frame 1: asked about later
    assert kinds["unasked"][3 * L:4 * L].all() and kinds["unasked"].sum() == L  # frame 3: a collision never asked


def test_span_ratio_pools_tokens_over_sequences_17_2():
    a, b = sequence_with([1], [1]), sequence_with([2, 4], [4])
    L = a.frame_len
    spans_a = np.full((2, a.n_frames * L), 10.0)
    spans_a[:, L:2 * L] = 40.0
    spans_b = np.full((2, b.n_frames * L), 20.0)
    spans_b[:, 2 * L:3 * L] = 100.0
    spans_b[1, 4 * L:5 * L] = 0.0
    out = span_by_frame_kind([spans_a, spans_b], [token_kinds(a), token_kinds(b)])
    # layer 0: collision tokens 40 (L of them), 100 (L), 20 (L) -> 53.3; ordinary 10 (5L), 20 (4L) -> 14.4
    assert out["span_collision"][0] == pytest.approx(160 / 3, abs=0.05)
    assert out["span_ordinary"][0] == pytest.approx((10 * 5 + 20 * 4) / 9, abs=0.05)
    assert out["ratio_collision_ordinary"][0] == pytest.approx((160 / 3) / (130 / 9), abs=0.01)
    assert out["span_answering"][1] == pytest.approx((40 + 0) / 2, abs=0.05)  # a's frame 1, b's frame 4
    assert out["span_unasked"][1] == pytest.approx(100.0)  # b's frame 2
    assert out["tokens_collision"] == 3 * L and out["tokens_ordinary"] == 9 * L


def test_a_kind_without_tokens_has_no_ratio():
    seq = sequence_with([], [])
    out = span_by_frame_kind([np.ones((2, seq.n_frames * seq.frame_len))], [token_kinds(seq)])
    assert out["span_collision"] is None and out["ratio_collision_ordinary"] is None
    assert out["span_ordinary"] == [1.0, 1.0]


def test_fresh_sequences_are_traced_from_empty_memory_17_3():
    model = tiny_model(vocab_size=collision.vocab_size(collision.SCALED), pre_norm=True)
    out = measure_fresh(model, collision.SCALED, seeds=FRESH_SEEDS[:2], frames=40)
    assert out["seeds"] == [9_000, 9_001] and out["frames"] == 40
    seqs = [collision.generate(collision.SCALED, 40, s) for s in FRESH_SEEDS[:2]]
    assert out["scored"] == sum(int((s.targets >= 0).sum()) for s in seqs)
    assert 0 <= out["error"] <= 1 and len(out["ratio_collision_ordinary"]) == model.config.n_layers
    assert out["tokens_collision"] + out["tokens_ordinary"] == 2 * 40 * collision.SCALED.frame_len


def test_latest_collision_rule_answers_with_the_most_recent_collision_of_any_pair_17_4():
    """4x4 grid, 2 colours: p0 and p1 meet in the top left (frame 1, colours 0 and 1), then in the bottom right
    (frame 3, both colour 1). Asked about pair (0, 1) at frame 4, the rule answers bottom right, where (1, 1) met;
    the true answer is top left."""
    cfg = collision.SCALED
    positions = np.array([[[0, 0], [3, 3]], [[1, 1], [1, 1]], [[1, 2], [2, 2]], [[3, 3], [3, 3]], [[3, 2], [2, 3]]])
    colours = np.array([[0, 1], [0, 1], [0, 1], [1, 1], [1, 1]])
    questions = np.array([[0, 1], [0, 1], [0, 1], [1, 1], [0, 1]])
    seq = collision._assemble(cfg, positions, colours, questions)
    assert seq.collisions.tolist() == [False, True, False, True, False]
    assert latest_collision_answers(seq).tolist() == [0, 1, 1, 4, 4]  # 0: no collision yet; 1 top left, 4 bottom right
    assert seq.labels.tolist() == [0, 1, 1, 4, 1]  # frame 4 asks (0, 1): its latest collision was in frame 1
    model = tiny_model(vocab_size=collision.vocab_size(cfg), pre_norm=True)
    seqs = [collision.generate(cfg, 60, s) for s in FRESH_SEEDS[:2]]
    out = measure_fresh(model, cfg, seeds=FRESH_SEEDS[:2], frames=60)
    wrong = sum(int((latest_collision_answers(q)[q.labels > 0] != q.labels[q.labels > 0]).sum()) for q in seqs)
    assert out["latest_collision_rule_error"] == pytest.approx(wrong / out["scored"])


def test_the_collision_probe_reads_a_planted_feature_and_not_noise():
    """bench/collision_probe.py: its probe finds a linear feature, gives chance to noise, and reads every layer's
    input in token order."""
    from bench.collision_probe import layer_inputs, probe
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 16)).astype(np.float32)
    planted = x[:, 3] + 0.5 * x[:, 7] > 1.0  # about 15% of the rows
    assert probe(x[:1000], planted[:1000], x[1000:], planted[1000:]) > 0.95
    noise = rng.random(2000) < 0.15
    assert 0.4 < probe(x[:1000], noise[:1000], x[1000:], noise[1000:]) < 0.6
    model = tiny_model(vocab_size=collision.vocab_size(collision.SCALED), pre_norm=True)
    seq = collision.generate(collision.SCALED, 30, seed=0)
    inputs = layer_inputs(model, seq)
    assert len(inputs) == model.config.n_layers
    assert all(h.shape == (len(seq.tokens), model.config.d_model) for h in inputs)
    embedded = model.embed(torch.tensor(seq.tokens)).detach().numpy()
    assert np.allclose(inputs[0], embedded, atol=1e-6)  # layer 0 reads the token embeddings, in order
