"""The corridor teaching episode: generate it, and read off whether the cue survived to the query."""
from dataclasses import dataclass

import numpy as np

from model.tasks import corridor

from ..settings import CORRIDOR_TASK
from .memory import held_at

CORRIDOR_CONFIG = corridor.CorridorConfig(**CORRIDOR_TASK)  # the episodes this page generates


@dataclass
class Episode:
    tokens: np.ndarray
    targets: np.ndarray
    cue: int
    cue_pos: int = 1

    @property
    def query_pos(self) -> int:
        return len(self.tokens) - 1


def make_episode(length: int, seed: int) -> Episode:
    """START, cue, `length` distractors, QUERY (model/tasks/corridor.py), seeded."""
    tokens, targets = corridor.episode(CORRIDOR_CONFIG, length, np.random.default_rng(seed))
    return Episode(tokens, targets, int(tokens[1]))


def cue_report(trace, ep: Episode) -> list[dict]:
    """Per layer: the cue's span, what it needs, its mask at the query, and the distractors' median span."""
    q, c = ep.query_pos, ep.cue_pos
    mask = held_at(trace, q)
    distractors = trace.spans[:, 2:q]
    rows = []
    for l in range(trace.n_layers):
        d = int(trace.dropped_at[l, c])
        rows.append({
            "layer": l, "cue span": round(float(trace.spans[l, c]), 1), "span needed": q - c,
            "cue seen at the query": round(float(mask[l, c]), 3),
            "cue dropped at": "never" if d < 0 else str(d),  # one type per column (Arrow)
            "median distractor span": round(float(np.median(distractors[l])), 1) if distractors.size else None,
        })
    return rows


def cue_spans_alone(run, config=CORRIDOR_CONFIG) -> dict[int, float]:
    """Each cue's longest span over the layers, as the model predicts it right after START. Attention is causal
    and an episode starts from an empty memory, so a cue's span depends on START and the cue alone: two tokens
    per cue are enough. run(tokens) -> Trace."""
    return {c: float(run(np.array([config.start, c], dtype=np.int64)).spans[:, 1].max())
            for c in range(config.n_cues)}


def by_elimination(ep: Episode, spans_alone: dict[int, float]) -> bool:
    """True when this episode's cue is let go before the query while every other cue is kept past it: a right
    answer then needs no memory of the cue, only the absence of the others."""
    needed = ep.query_pos - ep.cue_pos
    others = [s for c, s in spans_alone.items() if c != ep.cue]
    return spans_alone[ep.cue] < needed and bool(others) and min(others) >= needed


def answer(trace, ep: Episode) -> tuple[int, float]:
    """The model's answer at the query and its probability of the true cue."""
    return int(trace.predictions[ep.query_pos]), float(2.0 ** -trace.bits[ep.query_pos])


# --- forced forgetting (model/forgetting.py, docs/method.md section 18) ---------------------------------------------

def cue_forget(ep: Episode) -> list[tuple[None, int, int]]:
    """The range to forget for "Forget the cue": the cue's position, in every layer."""
    return [(None, ep.cue_pos, ep.cue_pos + 1)]


def forget_sentence(ep: Episode, kept: tuple[int, float], forgot: tuple[int, float], eliminated: bool) -> str:
    """What forgetting the cue did to the answer, in one plain sentence. kept and forgot: answer(trace, ep) of the
    plain run and of the run with the cue forgotten; eliminated: the page's finding that the model answers this cue
    by elimination (right, no memory of the cue at the query, every other cue kept past it). "Changes nothing"
    is said only where the answer and its probability, to the two decimals shown, are the same."""
    (g0, p0), (g1, p1) = kept, forgot
    if eliminated and g0 == g1 and f"{p0:.2f}" == f"{p1:.2f}":
        return (f"The model answers cue {ep.cue} by elimination, so forgetting the cue changes nothing: with it in "
                f"memory or without, the model answers {g1}, giving the true cue a probability of {p1:.2f}.")
    said = (f"without the cue in memory the model answers {g1}, giving the true cue {ep.cue} a probability of "
            f"{p1:.2f} (with it: answers {g0}, {p0:.2f}).")
    if eliminated:
        return f"The model answers cue {ep.cue} by elimination, yet forgetting the cue does change something: {said}"
    return said[0].upper() + said[1:]
