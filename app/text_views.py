"""Bytes as readable, escaped text: token labels, byte classes, and text strips coloured by a value."""
import html

import numpy as np

from . import scales

BYTE_CLASSES = ("space", "punctuation", "digit", "capital", "lower case", "non-ASCII")
VIRIDIS = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], float)


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
               struck=None, title_values=None) -> str:
    """HTML of tokens[start:stop] as text, each character's background coloured by values[i].
    Every character is html-escaped; struck (bool array) draws a line through dropped memories; the hover
    title shows title_values[i] (default: values[i])."""
    rgb = colours(np.asarray(values, float)[start:stop], vmax)
    parts = []
    for i, ch in _char_spans(tokens, start, stop):
        if ch == "\n":
            parts.append("<br>")
            continue
        r, g, b = (int(c) for c in rgb[i - start])
        fg = "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#fff"
        v = float(values[i] if title_values is None else title_values[i])
        title = html.escape(title_fmt.format(i=i, v=v), quote=True)
        style = f"background:rgb({r},{g},{b});color:{fg}"
        if struck is not None and struck[i]:
            style += ";text-decoration:line-through;opacity:0.55"
        parts.append(f'<span style="{style}" title="{title}">{html.escape(ch)}</span>')
    return "".join(parts)


def legend(vmax: float, label: str, steps: int = 6) -> str:
    """A small HTML colour legend from 0 to vmax."""
    values = np.linspace(0, vmax, steps)
    cells = []
    for v, (r, g, b) in zip(values, colours(values, vmax)):
        fg = "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#fff"
        cells.append(f'<span style="background:rgb({r},{g},{b});color:{fg};padding:0 6px">{v:.3g}</span>')
    return f'<div class="es-legend">{html.escape(label)}: {"".join(cells)}</div>'


def strips_html(rows: list[tuple[str, str]], font_size: int = 15) -> str:
    """Stack labelled strips (label, strip html) into one block of monospace text."""
    body = "".join(
        f'<div style="margin:4px 0"><b>{html.escape(label)}</b>'
        f'<div style="font-family:monospace;font-size:{font_size}px;line-height:1.6;white-space:pre-wrap;'
        f'word-break:break-all">{strip}</div></div>'
        for label, strip in rows)
    return f'<div class="es-strips">{body}</div>'


def word_strip(words, fraction, start: int = 0, stop: int | None = None, titles=None, struck=None) -> str:
    """HTML of the pieces of `words` that start in [start, stop), each word and mark coloured by its fraction
    (0..1 on viridis); spaces stay plain, newlines break the line. titles[w] is shown on hover; struck[w] draws a
    line through piece w. Every piece is html-escaped."""
    stop = int(words.stop[-1]) if stop is None else stop
    first, last = np.searchsorted(words.start, [start, stop])
    rgb = colours(np.asarray(fraction, float)[first:last], 1.0)
    parts = []
    for k, w in enumerate(range(first, last)):
        piece = words.text[w]
        if words.kind[w] == "space":
            parts.append(html.escape(piece).replace("\r\n", "\n").replace("\n", "<br>"))
            continue
        r, g, b = (int(c) for c in rgb[k])
        fg = "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#fff"
        style = f"background:rgb({r},{g},{b});color:{fg};border-radius:3px;padding:0 1px"
        if struck is not None and struck[w]:
            style += ";text-decoration:line-through;opacity:0.55"
        title = "" if titles is None else f' title="{html.escape(titles[w], quote=True)}"'
        parts.append(f'<span style="{style}"{title}>{html.escape(piece)}</span>')
    return "".join(parts)


def scale_legend(lo: float, hi: float, mode: str, label: str) -> str:
    """A small HTML legend of one colour scale (app.scales): coloured cells at its ticks, labelled in steps."""
    fractions, labels = scales.ticks(lo, hi, mode)
    cells = []
    for (r, g, b), text in zip(colours(fractions, 1.0), labels):
        fg = "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#fff"
        cells.append(f'<span style="background:rgb({r},{g},{b});color:{fg};padding:0 6px">{html.escape(text)}</span>')
    return f'<span class="es-legend">{html.escape(label)} {"".join(cells)}</span>'
