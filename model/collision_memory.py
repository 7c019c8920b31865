"""Does the collision model keep the collisions? The measures of docs/method.md section 17.

- *Collision frames*: frames in which two particles share a cell (`CollisionSequence.collisions`); every token
  of such a frame is a collision token, every token of another frame an ordinary one.
- *Span ratio*, per layer: the mean predicted span of collision tokens over that of ordinary tokens, the tokens
  pooled over the sequences measured (`span_by_frame_kind`).
- *Answering collisions*: collision frames that a later question is about (its answer lies there,
  `CollisionSequence.answer_frames`), against collision frames no question ever asks about.
- *Latest-collision rule*: answer every question with the quadrant of the most recent collision of any pair,
  whatever colours it asks (`latest_collision_answers`): the score a memory of one collision gets, to set the
  model's score beside.
- *Fresh sequences*: FRESH_SEQUENCES sequences of FRESH_FRAMES frames from seeds training never draws
  (FRESH_SEEDS), each traced from frame 0 (`fresh_sequences`, `measure_fresh`).

model/evaluate.py stores the figures in checkpoints/results.json; the Object tracking page draws them for the
sequence on screen (app/views/collision.py).
"""
import numpy as np

from .tasks import collision
from .trace import trace

# never drawn in training: a split is one long sequence from seed 0 (train), 1,000,003 (valid) or 2,000,003 (test),
# plus the run's seed (model/batches.py)
FRESH_SEEDS = (9_000, 9_001, 9_002)
FRESH_FRAMES = 3_000


def frame_of_tokens(seq: collision.CollisionSequence) -> np.ndarray:
    """The frame index of every token of the sequence."""
    return np.repeat(np.arange(seq.n_frames), seq.frame_len)


def token_kinds(seq: collision.CollisionSequence) -> dict[str, np.ndarray]:
    """Boolean masks over tokens: collision, ordinary, answering (a collision a later question asks about) and
    unasked (a collision no question asks about)."""
    frames = frame_of_tokens(seq)
    answering_frames = np.zeros(seq.n_frames, bool)
    answering_frames[seq.answer_frames[seq.answer_frames >= 0]] = True
    collided = seq.collisions[frames]
    answering = answering_frames[frames]
    return {"collision": collided, "ordinary": ~collided, "answering": collided & answering,
            "unasked": collided & ~answering}


def span_by_frame_kind(spans: list[np.ndarray], kinds: list[dict[str, np.ndarray]]) -> dict:
    """Per layer, the mean span of each kind of token, pooled over sequences (spans: n_layers x T each), and the
    ratios collision / ordinary and answering / unasked (None where a kind has no token)."""
    out = {}
    for kind in ("collision", "ordinary", "answering", "unasked"):
        picked = [s[:, k[kind]] for s, k in zip(spans, kinds)]
        n = sum(p.shape[1] for p in picked)
        out[f"span_{kind}"] = (np.concatenate(picked, axis=1).mean(1).astype(float).round(1).tolist() if n else None)
        out[f"tokens_{kind}"] = int(n)
    for name, a, b in (("ratio_collision_ordinary", "collision", "ordinary"),
                       ("ratio_answering_unasked", "answering", "unasked")):
        top, bottom = out[f"span_{a}"], out[f"span_{b}"]
        out[name] = ([round(x / y, 3) if y > 0 else None for x, y in zip(top, bottom)]
                     if top is not None and bottom is not None else None)
    return out


def latest_collision_answers(seq: collision.CollisionSequence) -> np.ndarray:
    """Per frame, the latest-collision rule's answer (docs/method.md 17.4): 1 + the quadrant of the most recent
    collision of any pair at or before the frame, whatever colours are asked; 0 before the first collision."""
    events = collision.collision_events(seq.config, seq.positions, seq.colours)
    last = np.searchsorted(events["frame"], np.arange(seq.n_frames), side="right") - 1
    out = np.zeros(seq.n_frames, np.int64)
    seen = last >= 0
    out[seen] = 1 + collision.quadrant(seq.config, events["row"][last[seen]], events["col"][last[seen]])
    return out


def fresh_sequences(config: collision.CollisionConfig, seeds=FRESH_SEEDS, frames: int = FRESH_FRAMES) -> list:
    """The fresh sequences: one per seed, `frames` frames each."""
    return [collision.generate(config, frames, seed) for seed in seeds]


def measure_fresh(model, config: collision.CollisionConfig, seeds=FRESH_SEEDS, frames: int = FRESH_FRAMES) -> dict:
    """Span ratios and error on the fresh sequences, each traced from frame 0 (empty memory), and the
    latest-collision rule's error on the same questions."""
    spans, kinds, kept, wrong, scored, rule_wrong = [], [], [], 0, 0, 0
    for seq in fresh_sequences(config, seeds, frames):
        t = trace(model, seq.tokens, targets=seq.targets)
        spans.append(t.spans)
        kinds.append(token_kinds(seq))
        kept.append(t.cache_size.mean(1))
        asked = seq.targets >= 0
        wrong += int((t.predictions[asked] != seq.targets[asked]).sum())
        scored += int(asked.sum())
        asked_frames = seq.labels > 0
        rule_wrong += int((latest_collision_answers(seq)[asked_frames] != seq.labels[asked_frames]).sum())
    result = {"seeds": list(seeds), "frames": frames, "error": wrong / scored if scored else None, "scored": scored,
              "latest_collision_rule_error": rule_wrong / scored if scored else None,
              "kept_per_layer": np.mean(kept, 0).astype(float).round(1).tolist()}
    result.update(span_by_frame_kind(spans, kinds))
    return result
