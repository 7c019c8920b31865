"""Object collision: the model's answer to each question, how often it is right along the sequence, and
whether the answering collision's memory survived until the question was asked. Plain functions (no
Streamlit), shared by the page and by bench/collision_accuracy.py."""
import html
import json
import math
import re

import numpy as np

from model.collision_memory import latest_collision_answers
from model.errors import InputError
from model.tasks import collision

from ..settings import COLLISION_KEEP_RATIO, MAX_UPLOAD_BYTES, MAX_UPLOAD_TOKENS

QUADRANTS = {1: "top left", 2: "top right", 3: "bottom left", 4: "bottom right"}
CHANCE = 0.25  # four quadrants; the model is scored only where the pair has collided before
# Colour k of the task is drawn as PALETTE[k] and named COLOUR_NAMES[k]: the first eight are the Okabe-Ito
# colours (told apart with the common colour-vision deficiencies); numbers on the markers settle the rest.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
           "#911EB4", "#9A6324", "#808080", "#800000", "#808000", "#000075", "#AAFFC3", "#FABED4"]
COLOUR_NAMES = ["blue", "orange", "green", "pink", "sky blue", "red", "yellow", "black",
                "purple", "brown", "grey", "maroon", "olive", "navy", "mint", "light pink"]
# Uploads are capped before parsing (bytes) and before tracing (tokens), as the Text page caps its input
# (app/settings.py): MAX_UPLOAD_TOKENS is the longest sequence the page generates (OBJECTS_MAX_FRAMES of 8 tokens).
_INT_FIELDS = ("grid", "particles", "colours")
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:&])")


def md_escape(text) -> str:
    """Any text (a file's contents, a typed name) made safe to show in Streamlit markdown: every markdown
    character backslash-escaped and line breaks turned into spaces, so it shows as typed."""
    return _MARKDOWN.sub(r"\\\1", " ".join(str(text).splitlines()))


def parse_upload(data: bytes, max_bytes: int = MAX_UPLOAD_BYTES, max_tokens: int = MAX_UPLOAD_TOKENS):
    """An uploaded collision sequence, or an InputError with a one-line reason: too many bytes (checked before
    parsing), not JSON, nested too deeply, config values of the wrong type, or too many tokens (before tracing)."""
    if len(data) > max_bytes:
        raise InputError(f"the file has {len(data):,} bytes; uploads are limited to {max_bytes:,} bytes "
                         f"(about {max_tokens // 8:,} frames)")
    try:
        d = json.loads(data)
    except RecursionError:
        raise InputError("it is nested too deeply to be a collision sequence") from None
    except UnicodeDecodeError:
        raise InputError("it is not UTF-8 text") from None
    except ValueError as e:  # JSONDecodeError, and integers of more digits than Python converts
        if "digits" in str(e):
            raise InputError("it holds a number of thousands of digits") from None
        raise InputError(f"not valid JSON: {str(e)[:120]}") from None
    if isinstance(d, dict) and isinstance(d.get("config"), dict):
        for name in _INT_FIELDS:
            value = d["config"].get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise InputError(f"bad config: {name} must be a whole number (got {str(value)[:40]})")
        for name, value in d["config"].items():
            if isinstance(value, float) and not math.isfinite(value):
                raise InputError(f"bad config: {str(name)[:40]} must be a finite number")
        if isinstance(d.get("positions"), list) and len(d["positions"]) > collision.MAX_FRAMES:
            raise InputError(f"positions must have at most {collision.MAX_FRAMES:,} frames")
    try:
        seq = collision.from_json(d)
    except RecursionError:
        raise InputError("it is nested too deeply to be a collision sequence") from None
    except (TypeError, IndexError, OverflowError) as e:  # anything the task's own checks did not foresee
        raise InputError(f"it does not describe a collision sequence ({type(e).__name__})") from None
    except ValueError as e:  # the task's own checks: one line, the file's values quoted short
        message = " ".join(str(e).split())
        raise InputError(message if len(message) <= 200 else message[:197] + "...") from None
    if len(seq.tokens) > max_tokens:
        raise InputError(f"the sequence has {len(seq.tokens):,} tokens ({seq.n_frames:,} frames); the page traces "
                         f"at most {max_tokens:,} tokens ({max_tokens // seq.frame_len:,} frames of this setting)")
    return seq


def colour_hex(c: int) -> str:
    return PALETTE[int(c) % len(PALETTE)]


def colour_name(c: int) -> str:
    return COLOUR_NAMES[int(c) % len(COLOUR_NAMES)]


def text_colour(c: int) -> str:
    """Black or white, whichever reads better on colour c's marker."""
    r, g, b = (int(colour_hex(c)[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return "black" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.5 else "white"


def quadrant_cells(config) -> dict[int, tuple[range, range]]:
    """Answer 1..4 -> (rows, columns) of that quadrant, read off the task's own quadrant rule."""
    rows = {h: [r for r in range(config.grid) if int(collision.quadrant(config, r, 0)) // 2 == h] for h in (0, 1)}
    cols = {h: [c for c in range(config.grid) if int(collision.quadrant(config, 0, c)) % 2 == h] for h in (0, 1)}
    return {1 + 2 * h + v: (range(rows[h][0], rows[h][-1] + 1), range(cols[v][0], cols[v][-1] + 1))
            for h in (0, 1) for v in (0, 1)}


def _span(r: range) -> str:
    return f"{r.start}" if len(r) == 1 else f"{r.start}–{r.stop - 1}"


def quadrant_note(config) -> str:
    """The quadrants in words (markdown), numbered as the answers are."""
    parts = [f"**{q}** {QUADRANTS[q]} (rows {_span(rows)}, columns {_span(cols)})"
             for q, (rows, cols) in quadrant_cells(config).items()]
    return ("**Quadrants.** The grid is cut into four quadrants, numbered as the answers are: "
            + ", ".join(parts) + ". Row 0 is the top row and column 0 the left one; the dashed lines are the "
            "borders.")


def colour_legend_html(config) -> str:
    """A row of swatches, one per colour of the task: the marker as drawn, its number and its name."""
    items = []
    for c in range(config.colours):
        items.append(
            f'<span style="display:inline-flex;align-items:center;margin-right:1.2em">'
            f'<span style="display:inline-block;width:1.6em;height:1.6em;line-height:1.6em;border-radius:50%;'
            f'text-align:center;font-weight:bold;background:{colour_hex(c)};color:{text_colour(c)};'
            f'border:1px solid black">{c}</span>&nbsp;colour {c} ({html.escape(colour_name(c))})</span>')
    return ('<div><b>Colours.</b> Each particle is drawn in its colour with the colour\'s number on it, the '
            'same numbers the questions use: ' + "".join(items) + '<span style="display:inline-flex;'
            'align-items:center"><span style="display:inline-block;width:1.6em;height:1.6em;'
            'border:3px solid black"></span>&nbsp;a black square around a cell: two particles in it, a collision'
            '</span>'
            '<br><b>p0, p1, ...</b> beside a disc: the particle\'s number. Order counts in a question: its first '
            'colour is the lower-numbered particle\'s, so "p0 in colour 0 and p1 in colour 1" is a different '
            'question from "p0 in colour 1 and p1 in colour 0".</div>')


def pair_words(config, a: int, b: int, names: bool = True) -> str:
    """The asked pair in words. Order counts: the first colour is the lower-numbered particle's."""
    def say(c):
        return f"colour {c} ({colour_name(c)})" if names else f"colour {c}"
    if config.particles == 2:
        return f"p0 in {say(a)} and p1 in {say(b)}"
    return f"a particle in {say(a)} and a higher-numbered particle in {say(b)}"


def frame_story(trace, seq, frame: int) -> list[str]:
    """What happens at a frame, in words (markdown lines): the question, the true answer and the model's."""
    a, b = (int(c) for c in seq.questions[frame])
    lines = [f"**Question at frame {frame}:** where did {pair_words(seq.config, a, b)} last collide?"]
    if seq.labels[frame] > 0:
        guess, truth = int(trace.predictions[question_position(seq, frame)]), int(seq.labels[frame])
        back = frame - int(seq.answer_frames[frame])
        when = ("in this very frame" if back == 0 else
                f"at frame {int(seq.answer_frames[frame])}, {back * seq.frame_len:,} tokens back")
        lines.append(f"True answer: quadrant **{quadrant_name(truth)}** (their last collision: {when}).")
        lines.append(f"Model's answer: quadrant **{quadrant_name(guess)}**, "
                     + (":green[**right**]." if guess == truth else ":red[**wrong**]."))
    else:
        lines.append("They have not collided yet, so there is no answer: this question is not scored.")
    if seq.collisions[frame]:
        lines.append("**A collision happens in this frame** (the black square on the grid).")
    return lines


def question_position(seq, frame: int) -> int:
    """The frame's last token: where the label sits and the answer is read."""
    return frame * seq.frame_len + seq.frame_len - 1


def quadrant_name(label: int) -> str:
    """'2 (top right)' for a label 1..4; the bare number for anything else (a model may answer another id)."""
    label = int(label)
    return f"{label} ({QUADRANTS[label]})" if label in QUADRANTS else str(label)


def scored(trace, seq) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every scored question: (frame, true quadrant 1..4, model's answer), as int64 arrays."""
    frames = np.flatnonzero(seq.labels > 0)
    guess = trace.predictions[frames * seq.frame_len + seq.frame_len - 1]
    return frames.astype(np.int64), seq.labels[frames].astype(np.int64), np.asarray(guess, dtype=np.int64)


def accuracy(trace, seq) -> tuple[int, int]:
    """(answered right, scored questions) over the whole sequence."""
    _, truth, guess = scored(trace, seq)
    return int((truth == guess).sum()), len(truth)


def rule_accuracy(seq) -> tuple[int, int]:
    """(right, scored questions) of the latest-collision rule (docs/method.md 17.4) over the whole sequence."""
    frames = np.flatnonzero(seq.labels > 0)
    return int((latest_collision_answers(seq)[frames] == seq.labels[frames]).sum()), len(frames)


def rule_words(right: int, rule_right: int, n: int) -> str:
    """One sentence setting the model's share right beside the latest-collision rule's, on this sequence."""
    if not n:
        return ""
    model, rule = f"{right / n:.0%}", f"{rule_right / n:.0%}"
    rule_says = ("A rule that needs no model, the **latest-collision rule**, answers every question with the quadrant "
                 "of the most recent collision, whatever colours are asked")
    if rule_right > right:
        most = (" So most questions here need only the latest collision, and the model does not answer them as well "
                "as that rule." if rule_right > n / 2 else "")
        return (f"{rule_says}. On this sequence it is right more often than the model: {rule} of the questions "
                f"against {model}.{most}")
    if rule_right == right:
        return f"{rule_says}. On this sequence it is right exactly as often as the model: {model} of the questions."
    return f"{rule_says}. On this sequence the model is right more often than that rule: {model} against {rule}."


def accuracy_by_part(trace, seq, parts: int = 4) -> list[dict]:
    """The sequence cut into `parts` equal runs of frames (the last takes the remainder); per run: its first
    and last frame, scored questions, right answers, the share right (None when nothing is scored), the same two
    for the latest-collision rule (docs/method.md 17.4), how many different collision frames answer its questions
    and the median distance back to them in tokens."""
    frames, truth, guess = scored(trace, seq)
    rule = latest_collision_answers(seq)[frames]
    edges = [seq.n_frames * k // parts for k in range(parts + 1)]
    out = []
    for k in range(parts):
        lo, hi = edges[k], edges[k + 1]
        inside = (frames >= lo) & (frames < hi)
        n, right = int(inside.sum()), int((truth[inside] == guess[inside]).sum())
        rule_right = int((truth[inside] == rule[inside]).sum())
        back = (frames[inside] - seq.answer_frames[frames[inside]]) * seq.frame_len
        out.append({"part": k + 1, "first frame": lo, "last frame": hi - 1, "scored": n, "right": right,
                    "accuracy": right / n if n else None, "rule right": rule_right,
                    "rule accuracy": rule_right / n if n else None,
                    "collisions": len(np.unique(seq.answer_frames[frames[inside]])),
                    "median tokens back": int(np.median(back)) if n else None})
    return out


def next_collision(seq, frame: int, step: int) -> int:
    """The nearest collision frame after (step 1) or before (step -1) `frame`; `frame` itself if none."""
    hits = np.flatnonzero(seq.collisions)
    later = hits[hits > frame] if step > 0 else hits[hits < frame][::-1]
    return int(later[0]) if len(later) else int(frame)


def survived(trace, seq, frame: int, answer_frame: int) -> list[bool]:
    """Per layer: does any token of the collision frame still have a non-zero memory mask at the question
    (its span reaches that far, the ramp included) and not yet left the cache (dropped_at)?"""
    q = question_position(seq, frame)
    pos = np.arange(answer_frame * seq.frame_len, (answer_frame + 1) * seq.frame_len)
    mask = np.clip(1 + (trace.spans[:, pos] - (q - pos)) / trace.ramp, 0, 1)
    gone = (trace.dropped_at[:, pos] >= 0) & (trace.dropped_at[:, pos] <= q)
    return [bool(x) for x in ((mask > 0) & ~gone).any(axis=1)]


def question_rows(trace, seq, limit: int = 5000) -> list[dict]:
    """One row per scored question (the first `limit`): colours asked, true quadrant, model answer,
    distance back, survival per layer."""
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


# --- forced forgetting of a collision (model/forgetting.py, docs/method.md section 18) -------------------------------

def frame_forget(seq, frame: int) -> list[tuple[None, int, int]]:
    """The range to forget for "Forget this collision": every token of the frame, in every layer."""
    return [(None, frame * seq.frame_len, (frame + 1) * seq.frame_len)]


def forget_rows(plain, forgot, seq, frame: int) -> list[dict]:
    """One row per scored question that the collision of `frame` answers: its true quadrant and the model's answer
    with the frame in memory (plain trace) and without it (forgot), each right or not."""
    rows = []
    for f in np.flatnonzero((seq.labels > 0) & (seq.answer_frames == frame)):
        q, truth = question_position(seq, int(f)), int(seq.labels[f])
        with_it, without = int(plain.predictions[q]), int(forgot.predictions[q])
        rows.append({"question at frame": int(f), "asked colours": tuple(int(c) for c in seq.questions[f]),
                     "true quadrant": truth, "answer with it": with_it, "answer without it": without,
                     "right with it": with_it == truth, "right without it": without == truth})
    return rows


def changed_after(plain, forgot, seq, frame: int) -> tuple[int, int]:
    """(scored answers from `frame` on that forgetting it changed, scored questions from `frame` on): the
    question of the frame itself comes after its particles' tokens."""
    frames, _, guess = scored(plain, seq)
    later = frames >= frame
    moved = guess[later] != forgot.predictions[question_position(seq, frames[later])]
    return int(moved.sum()), int(later.sum())


def _n(k: int, one: str, many: str) -> str:
    return f"{k:,} {one if k == 1 else many}"


def forget_collision_words(rows: list[dict], changed: int, later: int) -> str:
    """What forgetting a collision did, in plain words: how many questions it answered and how many of them go
    wrong (or right) without it; when it answered none, how many scored answers after it changed anyway.
    rows: forget_rows; changed, later: changed_after."""
    if not rows:
        if not later:
            return "This collision answered no question, and no scored question comes after it."
        if later == 1:
            effect = "still changes" if changed else "leaves unchanged"
            answers = "the one scored answer"
        else:
            effect = f"still changes {changed:,} of" if changed else "changes none of"
            answers = f"the {later:,} scored answers"
        return f"This collision answered no later question; forgetting it {effect} {answers} after it."
    n, right = len(rows), sum(r["right with it"] for r in rows)
    lost = sum(r["right with it"] and not r["right without it"] for r in rows)
    gained = sum(r["right without it"] and not r["right with it"] for r in rows)
    if n == 1:
        was, now = rows[0]["right with it"], rows[0]["right without it"]
        said = ("This collision answered 1 later question; without it the answer "
                + ("stays right" if was and now else "goes wrong" if was else "goes right" if now else "stays wrong"))
    elif not right:
        said = f"This collision answered {n:,} later questions, none of them right even with it in memory"
        if gained:
            said += f"; without it {gained:,} {'goes' if gained == 1 else 'go'} right"
    else:
        said = (f"This collision answered {n:,} later questions ({'all' if right == n else f'{right:,}'} of them "
                "right with it in memory); without it "
                + (f"{lost:,} of them {'goes' if lost == 1 else 'go'} wrong" if lost else "none of them goes wrong"))
        if gained:
            said += f" and {gained:,} {'goes' if gained == 1 else 'go'} right"
    said += "."
    others = changed - sum(r["answer with it"] != r["answer without it"] for r in rows)
    if others > 0:
        said += f" {_n(others, 'other scored answer', 'other scored answers')} after it "
        said += f"change{'s' if others == 1 else ''} too."
    return said


def _pct(x) -> str:
    return f"{float(x):.0%}"


def measured_note(entry: dict | None, default_frames: int) -> str | None:
    """The page's note on how often this checkpoint is right on fresh sequences, in words, from its entry of
    checkpoints/results.json (loading.results_of): the "fresh_sequences" figures (bench/collision_accuracy.py),
    with the latest-collision rule's where they are given, and the held-out test error. None when the entry holds
    no such figures or they are not in the expected shape (a results file edited by hand): the page then quotes
    nothing."""
    try:
        fresh = entry["fresh_sequences"]
        seeds = int(fresh["seeds"])
        parts = []
        for row in fresh["lengths"]:
            frames = int(row["frames"])
            said = f"{frames:,} frames{' (the default here)' if frames == default_frames else ''} "
            said += (f"were answered {_pct(row['mean'])} right on average, anywhere from {_pct(row['min'])} to "
                     f"{_pct(row['max'])}" if not parts else
                     f"{_pct(row['mean'])}, from {_pct(row['min'])} to {_pct(row['max'])}")
            if row.get("sd") is not None:
                said += f" (standard deviation {100 * float(row['sd']):.0f} points)"
            if row.get("quarters"):
                qs = [_pct(q) for q in row["quarters"]]
                said += f", by quarter {', '.join(qs[:-1])} and {qs[-1]}" if len(qs) > 1 else ""
            if row.get("rule_mean") is not None:
                said += f" (the latest-collision rule: {_pct(row['rule_mean'])})"
            parts.append(said)
        note = (f"Measured on this checkpoint over {seeds} seeds (0 to {seeds - 1}) on {fresh['measured_on']} "
                f"(script: {fresh['script']}), counting every scored question of a fresh sequence: "
                + "; ".join(parts) + ".")
        test = fresh.get("test_stream")
        error = entry.get("expire_span", {}).get("error")
        if test and error is not None:
            qs = [float(q) for q in test["quarters"]]
            rest = f"{_pct(min(qs[1:]))} to {_pct(max(qs[1:]))}" if len(qs) > 1 else ""
            note += (f" The held-out test sequence ({int(test['frames']):,} frames) scores {_pct(1 - float(error))} "
                     f"({_pct(test['accuracy'])} read from its first frame in one pass, as here): "
                     f"{_pct(qs[0])} in its first quarter" + (f" and {rest} in the others." if rest else "."))
            if test.get("rule_accuracy") is not None:
                note += f" The latest-collision rule gets {_pct(test['rule_accuracy'])} of it right."
        return note
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return None


# --- does the model keep the collisions? (model/collision_memory.py, docs/method.md section 17) --------------------

def times(ratio: float) -> str:
    """A ratio as people write it: two decimals, a trailing zero dropped, then x (4.1x, 1.26x, 0.99x, 1.0x)."""
    text = f"{float(ratio):,.2f}"
    return (text[:-1] if text.endswith("0") else text) + "x"


def tokens(x: float) -> str:
    """A span or count in tokens as people write it: 1,110."""
    return f"{float(x):,.0f}"


def _layers(ls: list[int]) -> str:
    names = [str(l) for l in ls]
    return ("layer " if len(ls) == 1 else "layers ") + (
        names[0] if len(ls) == 1 else ", ".join(names[:-1]) + " and " + names[-1])


def _ratio_sentence(top: list, bottom: list, ratios: list, longer: str, shorter: str, than: str,
                    threshold: float) -> str:
    """One sentence on per-layer ratios top / bottom: the best layer with its two spans when it reaches
    `threshold`, else the range of the ratios, and the layers that keep `longer` clearly shorter (at most
    1 / threshold)."""
    known = [(l, r) for l, r in enumerate(ratios) if r is not None]
    if not known:
        return f"Every layer gives {than} a mean span of 0 tokens, so no ratio can be given."
    best, ratio = max(known, key=lambda lr: lr[1])
    rest = [r for l, r in known if l != best]
    if ratio >= threshold:
        said = (f"Layer {best} keeps {longer} {times(ratio)} as long as {than} "
                f"({tokens(top[best])} against {tokens(bottom[best])} tokens)")
        if rest:
            lo, hi = min(rest), max(rest)
            said += (f"; in the other layer the ratio is {times(lo)}" if len(rest) == 1 else
                     f"; in each of the other layers it is {times(lo)}" if times(lo) == times(hi) else
                     f"; in the other layers the ratio runs from {times(lo)} to {times(hi)}")
        return said + "."
    lo = min(r for _, r in known)
    said = f"No layer keeps {longer} much longer than {than}: "
    said += (f"the ratio of their mean spans is {times(ratio)}" if len(known) == 1 else
             f"the ratio of their mean spans is {times(ratio)} in every layer" if times(lo) == times(ratio) else
             f"the ratio of their mean spans runs from {times(lo)} to {times(ratio)} across the layers")
    less = [l for l, r in known if r <= 1 / threshold]
    if less:
        said += f", and {_layers(less)} {'keeps' if len(less) == 1 else 'keep'} {shorter} shorter"
    return said + "."


def collision_memory_words(measure: dict, threshold: float = COLLISION_KEEP_RATIO) -> list[str]:
    """What the spans of one sequence say about keeping the collisions, in plain sentences computed from its
    numbers (model.collision_memory.span_by_frame_kind of its trace): collision frames against ordinary ones,
    then, where the sequence has both, collisions a later question asks about against those none asks about. A
    layer is said to keep one kind longer only where the ratio of mean spans reaches `threshold`."""
    if not measure["tokens_collision"]:
        return ["This sequence has no collision frame, so there is nothing to compare the ordinary frames with."]
    if not measure["tokens_ordinary"]:
        return ["Every frame of this sequence is a collision frame, so there are no ordinary frames to compare."]
    words = [_ratio_sentence(measure["span_collision"], measure["span_ordinary"],
                             measure["ratio_collision_ordinary"], "collision frames", "them", "ordinary frames",
                             threshold)]
    if measure["tokens_answering"] and measure["tokens_unasked"]:
        words.append(_ratio_sentence(measure["span_answering"], measure["span_unasked"],
                                     measure["ratio_answering_unasked"],
                                     "the collisions a later question asks about", "them",
                                     "those no question asks about", threshold))
    return words
