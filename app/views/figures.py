"""Plotly figures built from a Trace: plain functions, testable without a browser.

Figures that draw single tokens take a window [start, stop) so a 50,000-byte input never sends more
than a few thousand cells of hover data to the browser.
"""
import numpy as np
import plotly.graph_objects as go

from ..settings import ANIMATION_BYTES, MAX_WINDOW, OVERVIEW_BINS
from .memory import block_starts, held_at, keep_everything, steps_kept
from .scales import scale_values, ticks
from .strips import BYTE_CLASSES, byte_classes, token_labels
from .words import word_stats


def colour_max(trace) -> float:
    """Top of the span colour scale: the largest span in this trace (not L), so short spans stay
    distinguishable; titles state L."""
    return max(1.0, float(np.nanmax(trace.spans)))


def readable_numbers(fig: go.Figure) -> go.Figure:
    """Tick labels of every axis and colour bar as people write numbers: 1,110, never 1.11e+03 or 1.11k."""
    numbers = dict(separatethousands=True, exponentformat="none")
    fig.update_xaxes(**numbers)
    fig.update_yaxes(**numbers)
    for trace in fig.data:
        if "colorbar" in trace:
            trace.colorbar.update(numbers)
        elif "marker" in trace and "showscale" in trace.marker and trace.marker.showscale:
            trace.marker.colorbar.update(numbers)
    return fig


def _token_axis(fig: go.Figure, labels: list[str], axis: str = "x") -> None:
    """A category axis of token labels showing about 40 of them, so they never overprint."""
    step = max(1, -(-len(labels) // 40))
    getattr(fig, f"update_{axis}axes")(type="category", tickmode="array", tickvals=labels[::step],
                                       ticktext=labels[::step], tickangle=-45)


def _layout(fig: go.Figure, title: str, height: int = 360) -> go.Figure:
    fig.update_layout(title=title, height=height, margin=dict(l=60, r=20, t=50, b=40), template="plotly_white")
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def legend_on_top(fig: go.Figure, title: str, height: int, top: int = 100) -> go.Figure:
    """_layout with the legend in a row under the title, clear of it and of the plot."""
    fig.update_layout(legend=dict(orientation="h", x=0, y=1.0, xanchor="left", yanchor="bottom"),
                      title=dict(y=0.99, yanchor="top"))
    fig = _layout(fig, title, height)
    fig.update_layout(margin=dict(t=top))
    return fig


def word_ticks(words, labels: list[str], start: int, stop: int, max_ticks: int = 30, weight=None) -> dict:
    """Ticks at word starts in [start, stop), labelled with the word, on a category axis of byte labels.
    The window is cut into max_ticks equal parts and each part labels its heaviest word (weight per piece,
    e.g. its longest span; default: the first word); labels at least half a part apart never overprint."""
    parts = max(1, max_ticks)
    gap = (stop - start) / parts
    lo, hi = np.searchsorted(words.start, [start, stop])
    chosen = {}
    for w in range(lo, hi):
        if words.kind[w] != "word":
            continue
        part = int((words.start[w] - start) / gap)
        best = chosen.get(part)
        if best is None or (weight is not None and weight[w] > weight[best]):
            chosen[part] = w
    vals, text, last = [], [], -np.inf
    for part in sorted(chosen):
        w = chosen[part]
        if words.start[w] - last < gap / 2:
            continue
        last = int(words.start[w])
        word = words.text[w]
        vals.append(labels[last - start])
        text.append(word if len(word) <= 14 else word[:13] + "…")
    return dict(type="category", tickmode="array", tickvals=vals, ticktext=text, tickangle=-45)


def span_heatmap(trace, start: int = 0, stop: int | None = None, value: str = "predicted",
                 text: bool = True, scale: str = "shared", words=None, max_ticks: int = 30) -> go.Figure:
    """Layers x tokens heatmap of predicted spans (or of steps actually kept), hover per cell.

    scale: 'shared', 'per layer' or 'log' (app.views.scales). With `words` (app.views.words.split_words of a text), x
    ticks sit at word starts labelled with the word; categories stay 'i:c' byte labels. Hover shows the
    token, position, layer, span and the drop."""
    stop = min(len(trace.tokens) if stop is None else stop, start + MAX_WINDOW)
    labels = token_labels(trace.tokens, start, stop, text=text)
    spans = trace.spans[:, start:stop]
    kept = steps_kept(trace)[:, start:stop]
    z = spans if value == "predicted" else kept
    scaled = scale_values(z, scale)
    dropped = trace.dropped_at[:, start:stop]
    drop_text = np.where(dropped >= 0, np.char.add("left the cache at ", dropped.astype(str)), "still held at the end")
    custom = np.stack([np.round(spans, 1).astype(str), drop_text, kept.astype(str)], axis=-1)
    what = "predicted span (steps)" if value == "predicted" else "steps actually kept"
    rows = [f"layer {l}" for l in range(trace.n_layers)]
    if scale == "per layer":
        rows = [f"{r} ({scaled.lo[l]:,.0f}-{scaled.hi[l]:,.0f})" for l, r in enumerate(rows)]
        colorbar = dict(title=dict(text=f"{what},<br>each layer<br>on its own scale", side="top"), tickvals=[0, 1],
                        ticktext=["its shortest", "its longest"])
        zz, zmax = scaled.fraction, 1.0
    elif scale == "log":
        tickvals, ticktext = ticks(0.0, float(scaled.hi[0]), "log")
        colorbar = dict(title=dict(text=f"{what}<br>(log scale)", side="top"), tickvals=tickvals, ticktext=ticktext)
        zz, zmax = scaled.fraction, 1.0
    else:
        colorbar = dict(title=dict(text=what, side="top"))
        zz, zmax = z, float(scaled.hi[0])
    fig = go.Figure(go.Heatmap(
        z=zz.astype(np.float32), x=labels, y=rows, customdata=custom, colorscale="Viridis", zmin=0, zmax=zmax,
        colorbar=colorbar,
        hovertemplate="byte %{x}<br>%{y}<br>predicted span %{customdata[0]} steps<br>kept %{customdata[2]} steps, "
                      "%{customdata[1]}<extra></extra>",
    ))
    if words is not None and text:
        weight = np.maximum.reduceat(trace.spans, words.start, axis=1).max(0)
        fig.update_xaxes(**word_ticks(words, labels, start, stop, max_ticks, weight))
    else:
        _token_axis(fig, labels)
    fig.update_xaxes(title="the text, byte by byte" + (" (ticks at word starts)" if words is not None else ""))
    fig.update_yaxes(autorange="reversed", title="layer" if scale != "per layer" else "layer (its span range)")
    name = "Predicted span" if value == "predicted" else "Steps actually kept (drops come in whole blocks)"
    return _layout(fig, f"{name} of bytes {start:,}-{stop - 1:,} (longest allowed: {trace.max_span:,} steps)",
                   220 + 45 * trace.n_layers)


def span_overview(trace, bins: int = OVERVIEW_BINS) -> go.Figure:
    """The whole input at a glance: mean span per layer over equal bins of positions."""
    T = len(trace.tokens)
    bins = max(1, min(bins, T))
    edges = np.linspace(0, T, bins + 1).astype(int)
    z = np.stack([np.add.reduceat(trace.spans[l], edges[:-1]) / np.diff(edges) for l in range(trace.n_layers)])
    fig = go.Figure(go.Heatmap(
        z=z.astype(np.float32), x=edges[:-1], y=[f"layer {l}" for l in range(trace.n_layers)],
        colorscale="Viridis", zmin=0, zmax=colour_max(trace), colorbar=dict(title="mean span"),
        hovertemplate="from position %{x}<br>%{y}<br>mean span %{z:.0f}<extra></extra>"))
    fig.update_xaxes(title="position in the text (bytes)")
    fig.update_yaxes(autorange="reversed", title="layer")
    return _layout(fig, f"Overview: mean span over {bins:,} stretches of the {T:,} bytes", 150 + 35 * trace.n_layers)


def lifetimes(trace, layer: int, start: int, stop: int, text: bool = True, max_bars: int = 40,
              words=None) -> go.Figure:
    """One bar per memory from where it was read to where its mask starts to fall, the fade (ramp R) drawn
    lighter, the actual drop marked. With `words` (text), one bar per word starting in [start, stop): from its
    last byte to the furthest point any of its bytes is fully kept; else one bar per token. At most max_bars
    bars, so the chart stays under about 900 px."""
    if words is not None:
        first, last = np.searchsorted(words.start, [start, stop])
        chosen = [w for w in range(first, last) if words.kind[w] == "word"][:max_bars]
        idx = np.array(chosen, np.int64)
        ends = np.maximum.reduceat(trace.spans[layer] + np.arange(len(trace.tokens)), words.start)[idx]
        pos = (words.stop[idx] - 1).astype(float)
        labels = [f"{words.text[w][:20]} ({words.start[w]:,})" for w in chosen]
        spans = np.maximum(ends - pos, 0.0)
        gone_at = word_stats(trace, words).left_at[layer, idx]
        unit = "word"
    else:
        stop = min(stop, start + max_bars, len(trace.tokens))
        pos = np.arange(start, stop).astype(float)
        labels = token_labels(trace.tokens, start, stop, text=text)
        spans = trace.spans[layer, start:stop].astype(float)
        gone_at = trace.dropped_at[layer, start:stop]
        unit = "memory"
    fig = go.Figure()
    fig.add_bar(y=labels, x=spans, base=pos, orientation="h", name="kept fully (its span)",
                marker_color="rgba(33,145,140,0.9)",
                hovertemplate="%{y}<br>kept fully to %{x:.0f}<extra>span</extra>")
    fig.add_bar(y=labels, x=np.full(len(pos), float(trace.ramp)), base=pos + spans, orientation="h",
                name=f"fading ({trace.ramp} steps)", marker_color="rgba(33,145,140,0.3)",
                hovertemplate="%{y}<br>fully faded at %{x:.0f}<extra>fade</extra>")
    gone = gone_at >= 0
    fig.add_scatter(y=np.array(labels)[gone], x=gone_at[gone], mode="markers", name="left the cache",
                    marker=dict(symbol="x", size=9, color="crimson"),
                    hovertemplate="%{y}<br>left the cache at %{x}<extra></extra>")
    fig.update_layout(barmode="overlay", bargap=0.15)
    fig.update_yaxes(type="category", autorange="reversed", title=unit + " (where it starts)")
    fig.update_xaxes(title="position in the text (bytes)")
    return legend_on_top(fig, f"How long each {unit} was kept, layer {layer}: predicted against actual",
                         min(900, max(320, 18 * len(pos) + 190)), top=110)


def memory_in_use(trace) -> go.Figure:
    """Memories each layer's queries could see, block by block, against L and against keeping everything.
    Each layer has its own dash and marker, so a line hidden under another still shows."""
    x = block_starts(trace)
    fig = go.Figure()
    dashes = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"]
    symbols = ["circle", "square", "diamond", "triangle-up", "x", "star", "cross", "triangle-down"]
    for l in range(trace.n_layers):
        fig.add_scatter(x=x, y=trace.cache_size[l], mode="lines+markers", name=f"layer {l}",
                        line=dict(dash=dashes[l % len(dashes)], width=2.5),
                        marker=dict(symbol=symbols[l % len(symbols)], size=8 if len(x) <= 60 else 4),
                        hovertemplate="block at %{x}<br>%{y} memories<extra>layer " + str(l) + "</extra>")
    fig.add_scatter(x=x, y=keep_everything(trace), mode="lines", name="keeping everything",
                    line=dict(dash="dot", color="grey"))
    fig.add_scatter(x=x, y=np.full(len(x), trace.max_span), mode="lines",
                    name=f"fixed memory of {trace.max_span:,} (Transformer-XL)", line=dict(dash="dash", color="black"))
    fig.update_xaxes(title="position in the text (first byte of each block)")
    fig.update_yaxes(title="memories a query can see")
    return _layout(fig, "Memory in use per layer", 420)


def class_stats(trace) -> dict:
    """{(layer, class): (q1, median, q3, low, high, mean, n)} of spans for every byte class present."""
    classes = byte_classes(trace.tokens)
    out = {}
    for l in range(trace.n_layers):
        for name in BYTE_CLASSES:
            v = trace.spans[l][classes == name]
            if v.size:
                q1, med, q3 = np.percentile(v, [25, 50, 75])
                out[(l, name)] = (q1, med, q3, float(v.min()), float(v.max()), float(v.mean()), int(v.size))
    return out


def span_by_class(trace) -> go.Figure:
    """Box plots of span by byte class, one colour per layer (statistics computed here, not in the browser)."""
    stats = class_stats(trace)
    fig = go.Figure()
    for l in range(trace.n_layers):
        names = [c for c in BYTE_CLASSES if (l, c) in stats]
        s = np.array([stats[(l, c)] for c in names], float).reshape(-1, 7)
        fig.add_box(x=names, q1=s[:, 0], median=s[:, 1], q3=s[:, 2], lowerfence=s[:, 3], upperfence=s[:, 4],
                    mean=s[:, 5], name=f"layer {l}")
    fig.update_layout(boxmode="group")
    fig.update_yaxes(title="predicted span")
    return _layout(fig, "Span by byte class", 400)


def bits_figure(trace, cut=None, start: int = 0, stop: int | None = None, text: bool = True, words=None,
                max_ticks: int = 30) -> go.Figure:
    """Per-byte loss in bits (bits[i]: how surprised the model was by byte i) and, with a cut-L trace, how much
    it rose. With `words`, x ticks at word starts."""
    stop = min(len(trace.tokens) if stop is None else stop, start + MAX_WINDOW)
    labels = token_labels(trace.tokens, start, stop, text=text)
    fig = go.Figure()
    fig.add_scatter(x=labels, y=trace.bits[start:stop], mode="lines", name=f"memory up to {trace.max_span:,}",
                    hovertemplate="%{x}<br>%{y:.2f} bits<extra>full memory</extra>")
    if cut is not None:
        fig.add_scatter(x=labels, y=cut.bits[start:stop], mode="lines",
                        name=f"memory cut to {cut.span_limit or cut.max_span:,}",
                        hovertemplate="%{x}<br>%{y:.2f} bits<extra>cut memory</extra>")
        fig.add_bar(x=labels, y=cut.bits[start:stop] - trace.bits[start:stop], name="extra loss when cut",
                    marker_color="crimson", opacity=0.5,
                    hovertemplate="%{x}<br>+%{y:.2f} bits<extra>extra</extra>")
    if words is not None and text:
        fig.update_xaxes(**word_ticks(words, labels, start, stop, max_ticks))
    else:
        _token_axis(fig, labels)
    fig.update_xaxes(title="the text, byte by byte")
    fig.update_yaxes(title="loss on the byte (bits)")
    return legend_on_top(fig, "Loss on each byte: how surprised the model was by it", 420)


def diff_heatmap(trace_a, trace_b, b_to_a: np.ndarray, text: bool = True, words_b=None,
                 max_ticks: int = 30) -> go.Figure:
    """Change in every span of version B against the aligned byte of version A (NaN: inserted in B).
    The page draws it only when some span changed (never an all-zero chart)."""
    stop = min(len(trace_b.tokens), MAX_WINDOW)
    labels = token_labels(trace_b.tokens, 0, stop, text=text)
    idx = b_to_a[:stop]
    delta = np.full((trace_b.n_layers, stop), np.nan, np.float32)
    ok = idx >= 0
    delta[:, ok] = trace_b.spans[:, :stop][:, ok] - trace_a.spans[:, idx[ok]]
    lim = float(np.nanmax(np.abs(delta))) if np.isfinite(delta).any() else 1.0
    lim = max(lim, 1.0)
    fig = go.Figure(go.Heatmap(
        z=delta, x=labels, y=[f"layer {l}" for l in range(trace_b.n_layers)], colorscale="RdBu", zmid=0,
        zmin=-lim, zmax=lim, colorbar=dict(title=dict(text="change in span<br>(steps; blue: longer)", side="top")),
        hovertemplate="byte %{x} (version B)<br>%{y}<br>span changed by %{z:.1f} steps<extra></extra>"))
    if words_b is not None and text:
        fig.update_xaxes(**word_ticks(words_b, labels, 0, stop, max_ticks))
    else:
        _token_axis(fig, labels)
    fig.update_xaxes(title="version B, byte by byte")
    fig.update_yaxes(autorange="reversed", title="layer")
    return _layout(fig, "Change in span, version B minus version A (grey: new in B)", 220 + 45 * trace_b.n_layers)


def layer_scatter(trace, a: int, b: int, text: bool = True) -> go.Figure:
    """Span in layer a against span in layer b, one point per token (first MAX_WINDOW tokens)."""
    stop = min(len(trace.tokens), MAX_WINDOW)
    labels = token_labels(trace.tokens, 0, stop, text=text)
    fig = go.Figure(go.Scatter(x=trace.spans[a, :stop], y=trace.spans[b, :stop], mode="markers", text=labels,
                               showlegend=False,
                               marker=dict(size=6, opacity=0.6),
                               hovertemplate="%{text}<br>layer " + f"{a}: " + "%{x:.0f}<br>layer " + f"{b}: "
                                             + "%{y:.0f}<extra></extra>"))
    fig.add_scatter(x=[0, trace.max_span], y=[0, trace.max_span], mode="lines", line=dict(dash="dot", color="grey"),
                    showlegend=False, hoverinfo="skip")
    fig.update_xaxes(title=f"span in layer {a}", range=[0, trace.max_span])
    fig.update_yaxes(title=f"span in layer {b}", range=[0, trace.max_span])
    return _layout(fig, f"Each token's span: layer {a} against layer {b}", 460)


VIRIDIS_STOPS = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"]


def step_animation(trace, lo: int, hi: int, text: bool = True) -> go.Figure:
    """What each layer still holds as step t moves through bytes [lo, hi): one frame per block of M steps and
    a play button, for a standalone file. A cell is how much of that memory step t sees (0-100%); bytes not yet
    read are light grey. Values are stored as bytes, so ANIMATION_BYTES bytes (app/settings.py) and 4 layers stay
    under 5 MB with plotly.js inside."""
    hi = min(hi, lo + ANIMATION_BYTES, len(trace.tokens))
    labels = token_labels(trace.tokens, lo, hi, text=text)
    steps = list(range(lo + trace.block_size, hi, trace.block_size)) + [hi]
    top = 100 / 101  # 0-100: seen (%); 101: not read yet, drawn light grey above the top of the scale
    scale = [[top * k / (len(VIRIDIS_STOPS) - 1), c] for k, c in enumerate(VIRIDIS_STOPS)]
    scale += [[top + 0.001, "#eeeeee"], [1.0, "#eeeeee"]]

    def held(t: int) -> np.ndarray:
        z = np.full((trace.n_layers, hi - lo), 101, np.uint8)
        seen = held_at(trace, t)[:, lo:min(t, hi)]
        z[:, :seen.shape[1]] = np.round(seen * 100).astype(np.uint8)
        return z

    rows = [f"layer {l}" for l in range(trace.n_layers)]
    heat = dict(type="heatmap", x=labels, y=rows, colorscale=scale, zmin=0, zmax=101,
                colorbar=dict(title=dict(text="seen at step t (%)", side="top"), tickvals=[0, 50, 100]),
                hovertemplate="byte %{x}<br>%{y}<br>seen %{z}%<extra></extra>")
    fig = go.Figure(go.Heatmap(z=held(steps[0]), **heat))
    fig.frames = [go.Frame(data=[go.Heatmap(z=held(t))], name=str(t)) for t in steps]
    play = dict(label="▶ Play", method="animate",
                args=[None, dict(frame=dict(duration=700, redraw=True), fromcurrent=True)])
    pause = dict(label="❚❚ Pause", method="animate", args=[[None], dict(mode="immediate", frame=dict(duration=0))])
    fig.update_layout(
        updatemenus=[dict(type="buttons", direction="left", x=0, y=-0.25, xanchor="left", buttons=[play, pause])],
        sliders=[dict(x=0.2, len=0.8, y=-0.2, currentvalue=dict(prefix="step t = "),
                      steps=[dict(label=str(t), method="animate", args=[[str(t)], dict(mode="immediate")])
                             for t in steps])])
    _token_axis(fig, labels)
    fig.update_yaxes(autorange="reversed", title="layer")
    fig = _layout(fig, f"What each layer still holds as step t moves from byte {lo:,} to {hi - 1:,}",
                  260 + 45 * trace.n_layers)
    fig.update_layout(margin=dict(b=150))
    return fig
