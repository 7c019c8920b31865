"""Does the object-collision model know which frames are collisions? A linear probe on each layer's input.

    python bench/collision_probe.py [--checkpoint checkpoints/object-collision] [--frames 3000]

A model can keep the collisions longer (docs/method.md section 17) only if a layer's input already says "this
frame is a collision" when the span is predicted. For each layer and a few token positions of the frame, a
logistic regression is fitted on the layer inputs of one sequence (seed 0) and scored on another (seed 9,000,
never used in training), both traced from frame 0. Printed: balanced accuracy (0.5 is chance, 1.0 perfect) for
- "this frame is a collision" (two particles in one cell), at particle 1's row and column tokens and at the
  question's last token;
- two checks of the probe itself: particle 1 is in the lower half (readable from the token: near 1.0), and
  particle 1 is in particle 0's row (needs the frame's earlier tokens).
"""
import argparse
from pathlib import Path

import numpy as np
import torch

from model import ExpireSpanLM, trace
from model.tasks import collision

ROOT = Path(__file__).resolve().parents[1]
FIT_SEED, SCORE_SEED = 0, 9_000


def layer_inputs(model, seq) -> list[np.ndarray]:
    """Every layer's input (tokens x d_model) over the whole sequence, read as trace() reads it."""
    grabbed = [[] for _ in model.layers]
    hooks = [layer.register_forward_pre_hook(lambda _, args, i=i: grabbed[i].append(args[0][0].detach().clone()))
             for i, layer in enumerate(model.layers)]
    try:
        trace(model, seq.tokens, targets=seq.targets)
    finally:
        for hook in hooks:
            hook.remove()
    return [torch.cat(blocks).numpy() for blocks in grabbed]


def probe(x_fit, y_fit, x_score, y_score, steps: int = 300) -> float:
    """Balanced accuracy on (x_score, y_score) of a class-weighted logistic regression fitted on (x_fit, y_fit)."""
    x_fit, x_score = torch.tensor(x_fit), torch.tensor(x_score)
    mean, sd = x_fit.mean(0), x_fit.std(0) + 1e-6
    x_fit, x_score = (x_fit - mean) / sd, (x_score - mean) / sd
    y = torch.tensor(y_fit, dtype=torch.float32)
    share = float(y.mean())
    if share in (0.0, 1.0):
        return float("nan")
    weight = torch.where(y > 0, 0.5 / share, 0.5 / (1 - share))
    w = torch.zeros(x_fit.shape[1], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(x_fit @ w + b, y, weight=weight)
        loss.backward()
        opt.step()
    said = ((x_score @ w + b) > 0).numpy()
    truth = np.asarray(y_score, bool)
    return float((said[truth].mean() + (~said[~truth]).mean()) / 2)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "object-collision"))
    parser.add_argument("--frames", type=int, default=3000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = ExpireSpanLM.from_pretrained(args.checkpoint).eval()
    cfg = next(c for c in (collision.SCALED, collision.DEFAULT) if collision.vocab_size(c) == model.config.vocab_size)
    fit_seq, score_seq = (collision.generate(cfg, args.frames, s) for s in (FIT_SEED, SCORE_SEED))
    fit_x, score_x = layer_inputs(model, fit_seq), layer_inputs(model, score_seq)
    L = cfg.frame_len
    labels = {
        "collision frame": lambda s: s.collisions,
        "check: particle 1 in the lower half": lambda s: s.positions[:, 1, 0] >= cfg.grid / 2,
        "check: particle 1 in particle 0's row": lambda s: s.positions[:, 1, 0] == s.positions[:, 0, 0],
    }
    where = {"collision frame": [("particle 1's row", 3), ("particle 1's column", 4), ("last question token", L - 1)],
             "check: particle 1 in the lower half": [("particle 1's row", 3)],
             "check: particle 1 in particle 0's row": [("particle 1's row", 3), ("particle 1's column", 4)]}
    print(f"{args.checkpoint}: fitted on seed {FIT_SEED}, scored on seed {SCORE_SEED:,}, {args.frames:,} frames each; "
          f"balanced accuracy per layer input (0.5 = chance)")
    for name, label in labels.items():
        for token_name, offset in where[name]:
            fit_at, score_at = np.arange(fit_seq.n_frames) * L + offset, np.arange(score_seq.n_frames) * L + offset
            row = [probe(f[fit_at], label(fit_seq), s[score_at], label(score_seq)) for f, s in zip(fit_x, score_x)]
            print(f"  {name}, at {token_name}: " + "  ".join(f"layer {i} {a:.2f}" for i, a in enumerate(row)))


if __name__ == "__main__":
    main()
