"""The Text page's first view, "What each layer kept", as plain functions: the longest-kept words of every
layer, the text once per layer coloured word by word, a "how to read this" note in this text's own numbers,
and the words whose loss rose most when the memory was cut (the paper's Figure 9 on the visitor's text)."""
import html

import numpy as np

from ..settings import NO_EFFECT_BITS
from .scales import Scaled, scale_values
from .strips import scale_legend, word_strip
from .words import Words, WordStats, longest_kept, word_stats


def left_label(left_at: int, short: bool = False) -> str:
    if short:
        return "held to the end" if left_at < 0 else f"gone at {left_at:,}"
    return "still held at the end" if left_at < 0 else f"gone at byte {left_at:,}"


def steps(v: float) -> str:
    """A span in steps as a person reads it: whole steps from 10 on, one decimal below."""
    return f"{v:,.0f}" if v >= 10 else f"{v:.1f}"


def table_style(cls: str, font_size: int) -> str:
    """The style of the page's HTML tables (class `cls`): light rules, the text at the presenter's font size."""
    return (f"<style>.{cls} table{{border-collapse:collapse;font-size:{font_size}px;width:100%}}"
            f".{cls} th{{text-align:left;border-bottom:2px solid #888;padding:2px 6px}}"
            f".{cls} td{{vertical-align:top;padding:2px 6px;border-bottom:1px solid #ddd;word-break:break-word}}"
            f".{cls} .es-detail{{font-size:{max(10, font_size - 4)}px;color:#666}}"
            f".{cls} .es-rank{{color:#888}}</style>")


def longest_table_html(words: Words, stats: WordStats, n: int = 10, font_size: int = 15) -> str:
    """An HTML table, one column per layer, of its n longest-kept distinct words: the word, its span in steps,
    and (smaller) where it stands and when it left the cache. All text escaped."""
    n_layers = stats.span.shape[0]
    columns = [longest_kept(words, stats, layer, n) for layer in range(n_layers)]
    head = "".join(f"<th>layer {layer}</th>" for layer in range(n_layers))
    rows = []
    for rank in range(max((len(c) for c in columns), default=0)):
        cells = []
        for col in columns:
            if rank >= len(col):
                cells.append("<td></td>")
                continue
            k = col[rank]
            detail = f"byte {k.position:,} · {left_label(k.left_at, short=True)}"
            if k.occurrences > 1:
                detail += f" · {k.occurrences}x"
            cells.append(f'<td><b>{html.escape(k.word)}</b> {steps(k.span)}'
                         f'<div class="es-detail">{html.escape(detail)}</div></td>')
        rows.append(f"<tr><td class='es-rank'>{rank + 1}</td>{''.join(cells)}</tr>")
    if not rows:
        return '<div class="es-longest">No words in this text (only spaces and marks).</div>'
    style = table_style("es-longest", font_size)
    return (f'<div class="es-longest">{style}<table><tr><th></th>{head}</tr>{"".join(rows)}</table>'
            '<div class="es-detail">Span: how many steps (bytes) the model keeps the word, the longest over its '
            "bytes. Each word is listed once, at its longest-kept place: where it starts, when it left the cache, "
            "and how often it occurs.</div></div>")


def coloured_spans(words: Words, stats: WordStats) -> np.ndarray:
    """Layers x W spans of the pieces a strip colours (words and marks); NaN for spaces, which stay plain, so a
    colour scale runs over what is drawn."""
    return np.where(words.kind != "space", stats.span, np.nan)


def word_titles(words: Words, stats: WordStats, layer: int, start: int = 0, stop: int | None = None) -> dict:
    """Hover text of the pieces starting in [start, stop) in one layer, by piece index: where it starts, its span
    (the longest over its bytes), the steps it was kept and when it left, its loss. Short: a hover is an extra (the
    strip and the table say what matters), and the page carries one per piece and layer."""
    stop = int(words.stop[-1]) if stop is None and len(words) else (stop or 0)
    first, last = np.searchsorted(words.start, [start, stop])
    out = {}
    for w in range(first, last):
        bits = "" if np.isnan(stats.bits[w]) else f", {stats.bits[w]:.1f} bits"
        out[w] = (f"byte {words.start[w]:,}: span {steps(stats.span[layer, w])}, kept {stats.kept[layer, w]:,}, "
                  f"{left_label(int(stats.left_at[layer, w]), short=True)}{bits}")
    return out


def layer_rows(words: Words, stats: WordStats, scaled: Scaled, start: int, stop: int,
               layers=None) -> list[tuple[str, str]]:
    """(label, strip html) per layer (default: every layer): the text between bytes start and stop, each word
    coloured by its span on the chosen scale (palette classes: draw the rows with strips.strips_html);
    per-layer scales name their range in the label."""
    rows = []
    for layer in range(stats.span.shape[0]) if layers is None else layers:
        label = f"layer {layer}"
        if scaled.mode == "per layer":
            label += f" (colours from {steps(scaled.lo[layer])} to {steps(scaled.hi[layer])} steps)"
        rows.append((label, word_strip(words, scaled.fraction[layer], start, stop,
                                       word_titles(words, stats, layer, start, stop), palette=True)))
    return rows


STRIP_NOTE = ('<span class="es-legend"> &nbsp;A word\'s colour is its span, the longest over its bytes; spaces are '
              "not coloured. Hover a word for its numbers.</span>")


def span_strips(words: Words, stats: WordStats, scale: str, start: int, stop: int,
                layers=None) -> tuple[str, list[tuple[str, str]]]:
    """The colour scale's legend ('' for per-layer scales: each row names its range) and layer_rows on that scale,
    as the Text page's first view and the Compare page draw them."""
    scaled = scale_values(coloured_spans(words, stats), scale)
    legend = "" if scale == "per layer" else scale_legend(0, float(scaled.hi[0]), scale, "span in steps:")
    return legend, layer_rows(words, stats, scaled, start, stop, layers=layers)


def how_to_read(trace) -> str:
    """Markdown: what a span is, the fade, whole-block drops, and why a layer can look dark, in this trace's
    own numbers (median span of each layer over the bytes of this text)."""
    med = np.median(trace.spans, axis=1)
    top = trace.spans.max(axis=1)
    medians = ", ".join(f"layer {layer} {steps(m)}" for layer, m in enumerate(med))
    text = (
        "Every byte the model reads becomes a memory in each layer. For each memory the model predicts how long "
        f"to keep it: its **span**, in steps (one step = one byte further on). Past its span a memory fades out "
        f"over the next {trace.ramp} steps, then it is gone. The model throws gone memories out only every "
        f"{trace.block_size} bytes, in whole blocks, so a memory often stays longer than its span. No span is "
        f"longer than {trace.max_span:,} steps.\n\n"
        f"On this text a typical byte (the median) is kept: {medians} steps. A word's span is the longest over "
        "its bytes.")
    quiet = [layer for layer in range(trace.n_layers) if top[layer] < 0.1 * top.max()]
    if quiet:
        names = " and ".join(f"layer {layer}" for layer in quiet)
        verb = "keeps" if len(quiet) == 1 else "keep"
        text += (f"\n\n{names} {verb} almost nothing for long here (longest span "
                 f"{', '.join(steps(top[layer]) for layer in quiet)} steps against {steps(top.max())}), so on the "
                 "shared colour scale they look dark: choose **per layer** to see what they prefer.")
    return text


def previous_mention(words: Words, w: int) -> int | None:
    """Bytes between piece w and the last earlier occurrence of the same word (case as written), or None."""
    for v in range(w - 1, -1, -1):
        if words.kind[v] == "word" and words.text[v] == words.text[w]:
            return int(words.start[w] - words.start[v])
    return None


def word_rises(full, cut, words: Words, n: int = 10, at_least: float = 0.05) -> list[dict]:
    """The n words whose loss (bits summed over their bytes) rose most when the memory was cut to L/4 (paper
    Figure 9), with how far back the same word was last seen. Rises under `at_least` bits are left out."""
    bits_full, bits_cut = word_stats(full, words).bits, word_stats(cut, words).bits
    rise = np.nan_to_num(bits_cut - bits_full, nan=-np.inf)
    rise[words.kind != "word"] = -np.inf
    rows = []
    for w in np.argsort(-rise, kind="stable")[:n]:
        if rise[w] < at_least:
            break
        back = previous_mention(words, int(w))
        rows.append({"word": words.text[w], "at byte": int(words.start[w]),
                     "extra bits": round(float(rise[w]), 2),
                     f"bits, memory {full.max_span:,}": round(float(bits_full[w]), 2),
                     f"bits, memory {cut.span_limit or cut.max_span:,}": round(float(bits_cut[w]), 2),
                     "last seen": "first mention" if back is None else f"{back:,} bytes before"})
    return rows


RISE_COLUMNS = ["word", "extra bits", "last seen", "at byte"]  # the first screen's "where memory mattered"


def memory_effect(full, cut) -> tuple[float, float]:
    """Bits per byte of the text with the full memory and with it cut (docs/method.md 16.1, net rise)."""
    return float(np.nanmean(full.bits)), float(np.nanmean(cut.bits))


def effect_sentence(full, cut) -> str:
    """One plain sentence: did the long memory pay on this text? (docs/method.md 16.1)"""
    with_all, with_cut = memory_effect(full, cut)
    limit = cut.span_limit or cut.max_span
    numbers = (f"{with_all:.3f} bits per byte with all {full.max_span:,} steps of memory, {with_cut:.3f} with "
               f"{limit:,}")
    if with_cut - with_all > NO_EFFECT_BITS:
        return f"The long memory paid on this text: {numbers} ({with_cut - with_all:+.3f} when cut)."
    return (f"The long memory did not pay on this text: {numbers}. What the model kept from long ago did not "
            "help it here.")


def split_rises(full, cut, words: Words, n: int = 8) -> tuple[list[dict], list[dict]]:
    """word_rises parted into returning words (seen before, with how far back) and first mentions; no first
    mentions when the long memory did not pay (then their rises are not evidence of anything)."""
    rows = word_rises(full, cut, words, n=4 * n)
    returning = [r for r in rows if r["last seen"] != "first mention"][:n]
    with_all, with_cut = memory_effect(full, cut)
    paid = with_cut - with_all > NO_EFFECT_BITS
    first = [r for r in rows if r["last seen"] == "first mention"][:n // 2] if paid else []
    return returning, first


def cell(value) -> str:
    """A table cell as a person reads it: thousands separated, bits to two decimals."""
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def rises_table_html(rows: list[dict], columns: list[str] | None = None, font_size: int = 15) -> str:
    """word_rises rows as an HTML table with the given columns (default: all of them), in the page's font size
    (a projector can read it, and the browser draws it at once). All text escaped."""
    columns = columns or (list(rows[0]) if rows else [])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell(r[c]))}</td>" for c in columns) + "</tr>" for r in rows)
    return f'<div class="es-rises">{table_style("es-rises", font_size)}<table><tr>{head}</tr>{body}</table></div>'
