"""Bytes as readable, escaped text: token labels, byte classes, and text strips coloured by a value.

Strips drawn with palette=True colour each piece with a class of a fixed palette (PALETTE_LEVELS steps of the same
viridis ramp, defined once per block by strips_html) instead of an inline style: the same picture to the eye (no
channel off by more than 6 of 255), with 35 to 65 bytes less HTML per piece for the browser to sanitise, parse and
style (1,400 to 8,000 pieces a view)."""
import functools
import html

import numpy as np

from ..settings import PALETTE_LEVELS
from . import scales

BYTE_CLASSES = ("space", "punctuation", "digit", "capital", "lower case", "non-ASCII")
VIRIDIS = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], float)
PALETTE_MARK = '<span class="es-p'  # opens a palette strip: strips_html adds the palette's style when it sees one
WORD_OPEN = '<span class="es-word">'  # a word of a strip, wrapped as a whole (an over-long one breaks where it must)
WORD_CSS = ".es-strips .es-word{display:inline-block;max-width:100%}"


def byte_char(tokens, i: int) -> str:
    """What byte i shows as: its character (a non-ASCII lead byte shows the whole character),
    '␣' for a space, '⏎' for a newline, '·' for a continuation or control byte."""
    b = int(tokens[i])
    if b == 32:
        return "␣"
    if b == 10:
        return "⏎"
    if 32 < b < 127:
        return chr(b)
    if b >= 0xC0:  # UTF-8 lead byte: decode the character it starts
        n = 2 if b < 0xE0 else 3 if b < 0xF0 else 4
        chunk = bytes(int(t) for t in tokens[i:i + n])
        try:
            return chunk.decode("utf-8")
        except UnicodeDecodeError:
            return "·"
    return "·"


def token_labels(tokens, start: int = 0, stop: int | None = None, text: bool = True) -> list[str]:
    """Unique axis labels 'i:c' for positions start..stop, so repeated tokens never merge.
    text=False (task vocabularies) labels with the token id instead of a character."""
    stop = len(tokens) if stop is None else stop
    if not text:
        return [f"{i}:{int(tokens[i])}" for i in range(start, stop)]
    return [f"{i}:{byte_char(tokens, i)}" for i in range(start, stop)]


def byte_class(b: int) -> str:
    if b >= 128:
        return "non-ASCII"
    c = chr(b)
    if c.isspace():
        return "space"
    if c.isdigit():
        return "digit"
    if c.isupper():
        return "capital"
    if c.islower():
        return "lower case"
    return "punctuation"


def byte_classes(tokens) -> np.ndarray:
    """Class name of every byte (array of str)."""
    table = np.array([byte_class(b) for b in range(256)], dtype=object)
    return table[np.asarray(tokens, dtype=np.int64)]


def colours(values, vmax: float) -> np.ndarray:
    """Viridis RGB (N x 3 uint8) for values in [0, vmax]; NaN maps to light grey."""
    v = np.asarray(values, float)
    x = np.clip(np.nan_to_num(v / max(vmax, 1e-9), nan=0.0), 0, 1) * (len(VIRIDIS) - 1)
    lo = np.minimum(np.floor(x).astype(int), len(VIRIDIS) - 2)
    frac = (x - lo)[:, None]
    rgb = VIRIDIS[lo] * (1 - frac) + VIRIDIS[lo + 1] * frac
    rgb[np.isnan(v)] = (220, 220, 220)
    return rgb.round().astype(np.uint8)


def text_colour(r: int, g: int, b: int) -> str:
    """Black or white, whichever reads better on background (r, g, b)."""
    return "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#fff"


def palette_index(values, vmax: float) -> np.ndarray:
    """The palette step (0 .. PALETTE_LEVELS - 1) of each value in [0, vmax]; -1 for NaN (drawn light grey)."""
    v = np.asarray(values, float)
    x = np.clip(np.nan_to_num(v / max(vmax, 1e-9), nan=0.0), 0, 1)
    return np.where(np.isnan(v), -1, np.rint(x * (PALETTE_LEVELS - 1))).astype(int)


def palette_colours() -> np.ndarray:
    """RGB (PALETTE_LEVELS x 3 uint8) of the palette's steps: colours() at their values."""
    return colours(np.linspace(0, 1, PALETTE_LEVELS), 1.0)


@functools.cache
def palette_css() -> str:
    """The palette's style rules (scoped to .es-strips): class c<k> is step k, cn is NaN (light grey),
    x is struck through (a dropped memory), and the pieces of a word strip get rounded corners."""
    rules = []
    for k, rgb in enumerate(palette_colours()):
        r, g, b = (int(c) for c in rgb)
        rules.append(f".es-strips .c{k}{{background:#{r:02x}{g:02x}{b:02x};color:{text_colour(r, g, b)}}}")
    return ("".join(rules) + ".es-strips .cn{background:#dcdcdc;color:#000}"
            ".es-strips .x{text-decoration:line-through;opacity:0.55}"
            '.es-strips .es-p.w span:not([class="es-word"]){border-radius:3px;padding:0 1px}')


def _word(run: list[str]) -> str:
    """One word of a strip: its pieces (spans) in an es-word group, or a lone piece's span marked es-word itself
    (about 20 bytes and one element less for most words of a word strip)."""
    if len(run) > 1:
        return f'{WORD_OPEN}{"".join(run)}</span>'
    if run[0].startswith('<span class="'):
        return '<span class="es-word ' + run[0][len('<span class="'):]
    return '<span class="es-word" ' + run[0][len("<span "):]


def _grouped(pieces) -> str:
    """Join (html, breaks) pieces, every run of span pieces with no space or line end between them made one
    es-word: the browser then wraps a strip only between words (WORD_CSS), never inside one ("t he")."""
    out, run = [], []
    for markup, breaks in pieces:
        if not breaks:
            run.append(markup)
            continue
        if run:
            out.append(_word(run))
            run = []
        out.append(markup)
    if run:
        out.append(_word(run))
    return "".join(out)


def _palette_class(index: int, struck: bool) -> str:
    return ("cn" if index < 0 else f"c{index}") + (" x" if struck else "")


def _char_spans(tokens, start: int, stop: int):
    """(first byte, character) for each character in tokens[start:stop] (continuation bytes skipped)."""
    out = []
    for i in range(start, stop):
        b = int(tokens[i])
        if 0x80 <= b < 0xC0:
            continue
        if b == 10:
            out.append((i, "\n"))
        elif b < 32 or b == 127:
            out.append((i, "·"))
        elif b < 128:
            out.append((i, chr(b)))
        else:
            out.append((i, byte_char(tokens, i)))
    return out


def text_strip(tokens, values, vmax: float, start: int, stop: int, title_fmt: str = "{i}: {v:.0f}",
               struck=None, title_values=None, palette: bool = False) -> str:
    """HTML of tokens[start:stop] as text, each character's background coloured by values[i].
    Every character is html-escaped; struck (bool array) draws a line through dropped memories; the hover
    title shows title_values[i] (default: values[i]). palette: colour by palette class (see the module notes;
    the strip must then be drawn by strips_html)."""
    v = np.asarray(values, float)[start:stop]
    shown = values if title_values is None else title_values
    parts = []
    index = palette_index(v, vmax) if palette else None
    rgb = None if palette else colours(v, vmax)
    for i, ch in _char_spans(tokens, start, stop):
        if ch == "\n":
            parts.append(("<br>", True))
            continue
        gone = struck is not None and bool(struck[i])
        if palette:
            look = f'class="{_palette_class(int(index[i - start]), gone)}"'
        else:
            r, g, b = (int(c) for c in rgb[i - start])
            style = f"background:rgb({r},{g},{b});color:{text_colour(r, g, b)}"
            look = f'style="{style};text-decoration:line-through;opacity:0.55"' if gone else f'style="{style}"'
        title = html.escape(title_fmt.format(i=i, v=float(shown[i])), quote=True)
        parts.append((f'<span {look} title="{title}">{html.escape(ch)}</span>', ch.isspace()))
    return f'{PALETTE_MARK}">{_grouped(parts)}</span>' if palette else _grouped(parts)


def strips_html(rows: list[tuple[str, str]], font_size: int = 15) -> str:
    """Stack labelled strips (label, strip html) into one block of monospace text, wrapped only between words;
    with the palette's style when a strip is drawn with palette classes."""
    palette = palette_css() if any(PALETTE_MARK in strip for _, strip in rows) else ""
    body = "".join(
        f'<div style="margin:4px 0"><b>{html.escape(label)}</b>'
        f'<div style="font-family:monospace;font-size:{font_size}px;line-height:1.6;white-space:pre-wrap;'
        f'overflow-wrap:anywhere">{strip}</div></div>'
        for label, strip in rows)
    return f'<div class="es-strips"><style>{WORD_CSS}{palette}</style>{body}</div>'


def word_strip(words, fraction, start: int = 0, stop: int | None = None, titles=None, struck=None,
               palette: bool = False) -> str:
    """HTML of the pieces of `words` that start in [start, stop), each word and mark coloured by its fraction
    (0..1 on viridis); spaces stay plain, newlines break the line. titles[w] is shown on hover; struck[w] draws a
    line through piece w. Every piece is html-escaped. palette: colour by palette class (see the module notes;
    the strip must then be drawn by strips_html)."""
    stop = int(words.stop[-1]) if stop is None else stop
    first, last = np.searchsorted(words.start, [start, stop])
    f = np.asarray(fraction, float)[first:last]
    if palette:
        index = palette_index(f, 1.0)

        def look(k: int, gone: bool) -> str:
            return f'class="{_palette_class(int(index[k]), gone)}"'
    else:
        rgb = colours(f, 1.0)

        def look(k: int, gone: bool) -> str:
            r, g, b = (int(c) for c in rgb[k])
            style = f"background:rgb({r},{g},{b});color:{text_colour(r, g, b)};border-radius:3px;padding:0 1px"
            return f'style="{style};text-decoration:line-through;opacity:0.55"' if gone else f'style="{style}"'
    parts = []
    for k, w in enumerate(range(first, last)):
        piece = words.text[w]
        if words.kind[w] == "space":
            parts.append((html.escape(piece).replace("\r\n", "\n").replace("\n", "<br>"), True))
            continue
        title = "" if titles is None else f' title="{html.escape(titles[w], quote=True)}"'
        gone = struck is not None and bool(struck[w])
        parts.append((f'<span {look(k, gone)}{title}>{html.escape(piece)}</span>', False))
    return f'{PALETTE_MARK} w">{_grouped(parts)}</span>' if palette else _grouped(parts)


def scale_legend(lo: float, hi: float, mode: str, label: str) -> str:
    """A small HTML legend of one colour scale (app.views.scales): coloured cells at its ticks, labelled in steps."""
    fractions, labels = scales.ticks(lo, hi, mode)
    cells = []
    for (r, g, b), text in zip(colours(fractions, 1.0), labels):
        cells.append(f'<span style="background:rgb({r},{g},{b});color:{text_colour(r, g, b)};padding:0 6px">'
                     f'{html.escape(text)}</span>')
    return f'<span class="es-legend">{html.escape(label)} {"".join(cells)}</span>'
