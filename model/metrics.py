"""The evaluation loops shared by training (model/train.py), evaluation (model/evaluate.py) and the memory
policies (model/policy_eval.py): how many blocks make an evaluation, and the no-grad loss, error and kept-memory
loop over them. Free of the training loop, so evaluating or writing a card does not import torch.distributed."""
import math

import numpy as np
import torch

from .batches import EpisodeWalker
from .expire_span import ExpireSpanLM

LN2 = math.log(2)


def eval_blocks(walker, n_tokens: int, batch_size: int, block_size: int) -> int:
    """How many blocks of `walker` make about n_tokens (whole episodes for the corridor)."""
    if isinstance(walker, EpisodeWalker):
        per_episode = walker.episode_blocks(0)
        return max(1, n_tokens // (batch_size * block_size * per_episode)) * per_episode
    return max(1, min(n_tokens // (batch_size * block_size), walker.blocks_per_pass))


@torch.no_grad()
def evaluate(model: ExpireSpanLM, walker, n_blocks: int, span_limit: int | None = None) -> dict:
    """Loss (bits per scored token), error rate and mean kept memory over n_blocks of a walker."""
    was_training = model.training
    model.eval()
    memory, nll, scored, wrong, kept = None, 0.0, 0, 0, []
    for _ in range(n_blocks):
        x, y, reset = walker.next()
        if reset:
            memory = None
        x, y = torch.from_numpy(x).to(model.device), torch.from_numpy(y).to(model.device)
        out = model(x, memory, span_limit=span_limit)
        memory = out.memory
        mask = y >= 0
        lp = out.log_probs.gather(-1, y.clamp(min=0)[..., None])[..., 0]
        nll -= float(lp[mask].sum())
        scored += int(mask.sum())
        wrong += int((out.log_probs.argmax(-1) != y)[mask].sum())
        kept.append(np.mean([d.key_position.shape[1] - x.shape[1] for d in out.details]))
    model.train(was_training)
    return {"bits": nll / max(scored, 1) / LN2, "error": wrong / max(scored, 1), "scored": scored,
            "kept": float(np.mean(kept))}
