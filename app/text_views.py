"""Bytes as readable, escaped text: token labels, byte classes, and text strips coloured by a value."""
import html

import numpy as np

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
               struck=None) -> str:
    """HTML of tokens[start:stop] as text, each character's background coloured by values[i].
    Every character is html-escaped; struck (bool array) draws a line through dropped memories."""
    rgb = colours(np.asarray(values, float)[start:stop], vmax)
    parts = []
    for i, ch in _char_spans(tokens, start, stop):
        if ch == "\n":
            parts.append("<br>")
            continue
        r, g, b = (int(c) for c in rgb[i - start])
        fg = "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#fff"
        v = float(values[i])
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


def largest_rises(full, cut, n: int = 10, context: int = 24, at_least: float = 0.005) -> list[dict]:
    """The n bytes whose loss rose most when L was cut (paper Figure 9): each with the text before it, so a
    reader sees which word needed the long memory. bits[i] is the loss of predicting byte i + 1. Rises
    under `at_least` bits (float noise between two runs that saw the same memories) are left out."""
    rise = cut.bits - full.bits
    order = [int(i) for i in np.argsort(np.nan_to_num(rise, nan=-np.inf))[::-1][:n] if rise[i] >= at_least]
    tokens = full.tokens
    rows = []
    for i in order:
        target = i + 1
        before = bytes(int(t) for t in tokens[max(0, target - context):target])
        before = before.decode("utf-8", "replace").lstrip("\ufffd").replace("\n", "⏎")  # may start mid-character
        rows.append({"byte": target, "text before it": before, "byte predicted": byte_char(tokens, target),
                     f"bits, L = {full.max_span}": round(float(full.bits[i]), 2),
                     f"bits, L = {cut.span_limit or cut.max_span}": round(float(cut.bits[i]), 2),
                     "rise": round(float(rise[i]), 2)})
    return rows
