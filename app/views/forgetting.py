"""Forget a word: the Text page's experiment of docs/method.md section 18 as plain functions.

The model reads the text again with one word's bytes forced out of the memory of one layer (or of every layer,
model/forgetting.py); what the rest of the text loses is the change in loss, byte by byte (forgotten minus plain,
in bits). Here: the words offered, the sentence with the verdict, the later words that lost most, the text
coloured by the change on one symmetric scale (red where forgetting hurt, blue where it helped), and the share of
one step's attention that went to the word. No Streamlit; every text shown is escaped.
"""
import html

import numpy as np

from ..settings import FORGET_NOTHING_BITS, FORGET_ROWS
from .attention import percent, word_shares
from .strips import _char_spans, _grouped, strips_html, text_colour
from .words import Words, WordStats, longest_kept

ALL_LAYERS = -1  # the layer picker's value (and a link's) for every layer at once
BLUE, WHITE, RED = np.array([33, 102, 172.0]), np.array([247, 247, 247.0]), np.array([178, 24, 43.0])
DIFF_LEVELS = 16  # palette steps on each side of 0
DIFF_MARK = '<span class="es-f">'  # opens a strip drawn with the diverging palette


def layer_name(layer: int) -> str:
    return "every layer" if layer == ALL_LAYERS else f"layer {layer}"


def forget_ranges(layer: int, start: int, end: int) -> list[tuple[int | None, int, int]]:
    """The model's forget argument for bytes start..end-1 in one layer (ALL_LAYERS: in every layer)."""
    return [(None if layer == ALL_LAYERS else int(layer), int(start), int(end))]


# --- the word picker ---------------------------------------------------------------------------------------------

def word_labels(words: Words) -> dict[int, str]:
    """{first byte: 'word · byte N'} of every word of the text (marks and spaces left out), in order."""
    return {int(words.start[w]): f"{words.text[w]} · byte {int(words.start[w]):,}"
            for w in np.flatnonzero(words.kind == "word")}


def default_word(words: Words, stats: WordStats) -> int | None:
    """The first byte of the word kept longest in any layer (the top of the "What each layer kept" table; the
    earlier and the lower layer among equals), None for a text without words."""
    best = None
    for layer in range(stats.span.shape[0]):
        top = longest_kept(words, stats, layer, 1)
        if top and (best is None or (top[0].span, -top[0].position) > (best.span, -best.position)):
            best = top[0]
    return None if best is None else best.position


def nearest_word(words: Words, position: int) -> int | None:
    """The first byte of the word nearest to a byte position (the one holding it, else the closest start, the
    earlier among equals), None for a text without words."""
    found = np.flatnonzero(words.kind == "word")
    if not found.size:
        return None
    holds = found[(words.start[found] <= position) & (position < words.stop[found])]
    if holds.size:
        return int(words.start[holds[0]])
    return int(words.start[found[np.argmin(np.abs(words.start[found] - position))]])


def word_index(words: Words, start: int) -> int | None:
    """The piece that is a word starting at byte start, or None."""
    w = int(np.searchsorted(words.start, start))
    return w if w < len(words) and words.start[w] == start and words.kind[w] == "word" else None


# --- what forgetting changed -------------------------------------------------------------------------------------

def change(plain_bits, forgot_bits) -> np.ndarray:
    """The change in loss of every byte, forgotten minus plain, in bits; NaN where either is not scored."""
    return np.asarray(forgot_bits, float) - np.asarray(plain_bits, float)


def extra_after(delta, end: int) -> float:
    """The extra bits of every byte from `end` on (after the forgotten word), NaN-safe: 0 when none is scored."""
    after = np.asarray(delta, float)[end:]
    return float(np.nansum(after)) if after.size else 0.0


def loss_rows(words: Words, delta, start: int, end: int, n: int = FORGET_ROWS, at_least: float = 0.01) -> list[dict]:
    """The n later words (starting at `end` or after) that lost most, most first (the earlier among equals): the
    word, where it is, its extra bits (summed over its bytes) and how far back the forgotten word was. Words that
    lost under `at_least` bits are left out."""
    d = np.asarray(delta, float)
    first = int(np.searchsorted(words.start, end))
    later = [w for w in range(first, len(words)) if words.kind[w] == "word"]
    if not later:
        return []
    sums = np.add.reduceat(np.nan_to_num(d), words.start[first:])[np.array(later) - first]
    rows = []
    for k in sorted(range(len(later)), key=lambda k: (-float(sums[k]), later[k]))[:n]:
        if sums[k] < at_least:
            break
        w = later[k]
        rows.append({"word": words.text[w], "at byte": int(words.start[w]), "extra bits": round(float(sums[k]), 2),
                     "forgotten word": f"{int(words.start[w]) - start:,} bytes before"})
    return rows


def peak_byte(words: Words, delta, w: int) -> int:
    """The byte of piece w whose loss rose most (the first among equals)."""
    a, b = int(words.start[w]), int(words.stop[w])
    return a + int(np.argmax(np.nan_to_num(np.asarray(delta, float)[a:b], nan=-np.inf)))


def _bits(v: float) -> str:
    return f"{v:,.1f}" if abs(v) >= 1 else f"{v:.2f}"


def sentence(word: str, layer: int, total: float, rows: list[dict]) -> str:
    """One plain sentence with the verdict on this text. Never that the model did not use the word: its other
    layers and the bytes around it may still carry it (the page says so beside it)."""
    where = f"in {layer_name(layer)}"
    if abs(total) < FORGET_NOTHING_BITS:
        amount = f"{total:+.2f}" if round(total, 2) else "0.00"  # never '-0.00'
        return f"Forgetting '{word}' {where} changes almost nothing later in the text ({amount} bits)."
    if total < 0:
        return (f"Forgetting '{word}' {where} saves {_bits(-total)} bits later in the text: the model predicts the "
                "rest better without it.")
    head = f"Forgetting '{word}' {where} costs {_bits(total)} bits later in the text"
    if not rows:
        return head + ", spread thinly over many bytes."
    top = rows[0]
    on = "its return" if top["word"] == word else f"'{top['word']}'"
    on += f" at byte {top['at byte']:,}"
    if top["extra bits"] > total:
        return f"{head}: {_bits(top['extra bits'])} on {on} alone, while other bytes gained."
    if top["extra bits"] >= total / 2:
        return f"{head}, {_bits(top['extra bits'])} of them on {on}."
    return f"{head}, spread over many bytes: the most on one word is {_bits(top['extra bits'])}, on {on}."


# --- the strip: red where forgetting hurt, blue where it helped ------------------------------------------------

def symmetric_scale(delta) -> float:
    """The one scale's reach: the largest change either way (at least 0.01 bits), drawn from -it to +it."""
    d = np.abs(np.asarray(delta, float))
    return max(0.01, float(np.nanmax(d))) if d.size and not np.isnan(d).all() else 0.01


def diff_colours(values, vmax: float) -> np.ndarray:
    """RGB (N x 3 uint8): white at 0, to red at +vmax (forgetting hurt) and blue at -vmax (it helped); light grey
    for NaN. Symmetric: -x and +x are as far from white."""
    v = np.asarray(values, float)
    x = np.clip(np.nan_to_num(v / max(vmax, 1e-9)), -1, 1)[:, None]
    rgb = WHITE + np.where(x >= 0, x * (RED - WHITE), -x * (BLUE - WHITE))
    rgb[np.isnan(v)] = (220, 220, 220)
    return rgb.round().astype(np.uint8)


def diff_index(values, vmax: float) -> np.ndarray:
    """The palette step of each value: -DIFF_LEVELS (blue, -vmax) .. 0 (white) .. DIFF_LEVELS (red, +vmax)."""
    v = np.asarray(values, float)
    return np.rint(np.clip(np.nan_to_num(v / max(vmax, 1e-9)), -1, 1) * DIFF_LEVELS).astype(int)


def _class(k: int) -> str:
    return "fz" if k == 0 else f"fr{k}" if k > 0 else f"fb{-k}"


def diff_css() -> str:
    """The diverging palette's style rules (scoped to .es-strips): fr<k> red steps, fb<k> blue, fz white, fn grey
    (not scored), and the outline of the forgotten word."""
    steps = np.arange(-DIFF_LEVELS, DIFF_LEVELS + 1)
    rules = []
    for k, (r, g, b) in zip(steps, diff_colours(steps / DIFF_LEVELS, 1.0)):
        rules.append(f".es-strips .{_class(int(k))}{{background:#{r:02x}{g:02x}{b:02x};"
                     f"color:{text_colour(int(r), int(g), int(b))}}}")
    return ("".join(rules) + ".es-strips .fn{background:#dcdcdc;color:#000}"
            ".es-strips .fw{outline:2px solid #222;border-radius:2px}")


def diff_strip(tokens, delta, vmax: float, start: int, stop: int, forgotten: tuple[int, int]) -> str:
    """HTML of tokens[start:stop], each character's background its change in loss on the symmetric scale (hover:
    the byte and its change), the forgotten bytes outlined. Every character escaped; draw with diff_strips_html."""
    d = np.asarray(delta, float)
    index = diff_index(d[start:stop], vmax)
    parts = []
    for i, ch in _char_spans(tokens, start, stop):
        if ch == "\n":
            parts.append(("<br>", True))
            continue
        look = "fn" if np.isnan(d[i]) else _class(int(index[i - start]))
        if forgotten[0] <= i < forgotten[1]:
            look += " fw"
        title = f"byte {i:,}: not scored" if np.isnan(d[i]) else f"byte {i:,}: {d[i]:+.2f} bits"
        parts.append((f'<span class="{look}" title="{title}">{html.escape(ch)}</span>', ch.isspace()))
    return f"{DIFF_MARK}{_grouped(parts)}</span>"


def diff_legend(vmax: float) -> str:
    """The symmetric scale's legend: five cells from -vmax (blue) through 0 to +vmax (red), in bits."""
    ticks = np.array([-1, -0.5, 0, 0.5, 1.0])
    cells = []
    for (r, g, b), t in zip(diff_colours(ticks, 1.0), ticks):
        cells.append(f'<span style="background:rgb({r},{g},{b});color:{text_colour(int(r), int(g), int(b))};'
                     f'padding:0 6px">{t * vmax:+.2f}</span>')
    return ('<span class="es-legend">change in loss, bits (red: forgetting hurt, blue: it helped): '
            f'{"".join(cells)}</span>')


def diff_strips_html(rows: list[tuple[str, str]], font_size: int = 15) -> str:
    """strips.strips_html with the diverging palette's style added."""
    return strips_html(rows, font_size).replace("<style>", f"<style>{diff_css()}", 1)


# --- where one step's attention went, with and without the memory -----------------------------------------------

def share_on(words: Words, row, start: int) -> float:
    """The share of one step's attention row (app.views.attention.read_by) on the word starting at `start`."""
    shares = word_shares(words, row)
    w = int(np.searchsorted(words.start, start))
    return float(shares[w]) if w < len(shares) and words.start[w] == start else 0.0


def attention_note(word: str, layer: int, t: int, share: float, most: bool = False) -> str:
    """One line: the share of layer `layer`'s attention that the step at byte t put on the word with the memory
    (most: the layer, of all, that read it most); without it, none can go there."""
    which = f"layer {layer}" + (" (the layer that read it most)" if most else "")
    return (f"At byte {t:,}, predicting byte {t + 1:,}, {which} gave {percent(share)} of its attention to "
            f"'{word}' with the memory; without it none can go there. Where it went instead:")
