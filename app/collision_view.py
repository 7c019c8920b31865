"""Object collision: the model's answer to each question and whether the answering collision's memory
survived until the question was asked."""
import numpy as np


def question_position(seq, frame: int) -> int:
    """The frame's last token: where the label sits and the answer is read."""
    return frame * seq.frame_len + seq.frame_len - 1


def survived(trace, seq, frame: int, answer_frame: int) -> list[bool]:
    """Per layer: does any token of the collision frame still have a non-zero mask at the question
    (spans, spec 3.2) and not yet left the cache (dropped_at)?"""
    q = question_position(seq, frame)
    pos = np.arange(answer_frame * seq.frame_len, (answer_frame + 1) * seq.frame_len)
    mask = np.clip(1 + (trace.spans[:, pos] - (q - pos)) / trace.ramp, 0, 1)
    gone = (trace.dropped_at[:, pos] >= 0) & (trace.dropped_at[:, pos] <= q)
    return [bool(x) for x in ((mask > 0) & ~gone).any(axis=1)]


def question_rows(trace, seq, limit: int = 500) -> list[dict]:
    """One row per scored question: true answer, model answer, distance back, survival per layer."""
    rows = []
    for f in np.flatnonzero(seq.labels > 0)[:limit]:
        f, af = int(f), int(seq.answer_frames[f])
        q = question_position(seq, f)
        alive = survived(trace, seq, f, af)
        rows.append({"frame": f, "asked colours": tuple(int(c) for c in seq.questions[f]),
                     "true quadrant": int(seq.labels[f]), "model answer": int(trace.predictions[q]),
                     "right": int(trace.predictions[q]) == int(seq.labels[f]), "collision frame": af,
                     "tokens back": (f - af) * seq.frame_len,
                     "memory survived in layers": ", ".join(str(l) for l, a in enumerate(alive) if a) or "none"})
    return rows
