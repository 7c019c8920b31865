"""Plotly figures built from a Trace: plain functions, testable without a browser.

Figures that draw single tokens take a window [start, stop) so a 50,000-byte input never sends more
than a few thousand cells of hover data to the browser.
"""
import numpy as np
import plotly.graph_objects as go

from .memory import block_starts, keep_everything, steps_kept
from .text_views import BYTE_CLASSES, byte_classes, token_labels

MAX_WINDOW = 2048      # tokens drawn one by one (with hover) in one figure
OVERVIEW_BINS = 1000   # columns of the pooled overview of a long input


def colour_max(trace) -> float:
    """Top of the span colour scale: the largest span in this trace (not L), so short spans stay
    distinguishable; titles state L."""
    return max(1.0, float(np.nanmax(trace.spans)))


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


def span_heatmap(trace, start: int = 0, stop: int | None = None, value: str = "predicted",
                 text: bool = True) -> go.Figure:
    """Layers x tokens heatmap of predicted spans (or of steps actually kept), hover per cell.

    Tick labels carry the index ('12:e'); hover shows token, position, layer, span and the drop."""
    stop = min(len(trace.tokens) if stop is None else stop, start + MAX_WINDOW)
    labels = token_labels(trace.tokens, start, stop, text=text)
    spans = trace.spans[:, start:stop]
    kept = steps_kept(trace)[:, start:stop]
    z = spans if value == "predicted" else kept
    dropped = trace.dropped_at[:, start:stop]
    drop_text = np.where(dropped >= 0, np.char.add("dropped at ", dropped.astype(str)), "never dropped")
    custom = np.stack([np.round(spans, 1).astype(str), drop_text], axis=-1)
    fig = go.Figure(go.Heatmap(
        z=z.astype(np.float32), x=labels, y=[f"layer {l}" for l in range(trace.n_layers)],
        customdata=custom, colorscale="Viridis", zmin=0,
        zmax=colour_max(trace) if value == "predicted" else max(1.0, float(kept.max())),
        colorbar=dict(title="span" if value == "predicted" else "kept"),
        hovertemplate="token %{x}<br>%{y}<br>predicted span %{customdata[0]}<br>%{customdata[1]}<extra></extra>",
    ))
    _token_axis(fig, labels)
    fig.update_yaxes(autorange="reversed")
    name = "Predicted span" if value == "predicted" else "Steps actually kept (drops come in whole blocks)"
    return _layout(fig, f"{name}, tokens {start}-{stop - 1} (L = {trace.max_span})", 180 + 45 * trace.n_layers)


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
    fig.update_xaxes(title="position")
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, f"Overview: mean span over {bins} bins of the {T:,} tokens", 120 + 35 * trace.n_layers)


def lifetimes(trace, layer: int, start: int, stop: int, text: bool = True, max_bars: int = 300) -> go.Figure:
    """One bar per memory from i to i + span, the ramp R drawn fading, the actual drop marked (spec 7.4)."""
    stop = min(stop, start + max_bars, len(trace.tokens))
    pos = np.arange(start, stop)
    labels = token_labels(trace.tokens, start, stop, text=text)
    spans = trace.spans[layer, start:stop].astype(float)
    dropped = trace.dropped_at[layer, start:stop]
    fig = go.Figure()
    fig.add_bar(y=labels, x=spans, base=pos, orientation="h", name="predicted span",
                marker_color="rgba(33,145,140,0.9)",
                hovertemplate="%{y}<br>kept fully to %{x:.0f}<extra>predicted span</extra>")
    fig.add_bar(y=labels, x=np.full(len(pos), float(trace.ramp)), base=pos + spans, orientation="h",
                name=f"ramp (R = {trace.ramp}): fading", marker_color="rgba(33,145,140,0.3)",
                hovertemplate="%{y}<br>mask reaches 0 at %{x:.0f}<extra>ramp</extra>")
    gone = dropped >= 0
    fig.add_scatter(y=np.array(labels)[gone], x=dropped[gone], mode="markers", name="actually dropped",
                    marker=dict(symbol="x", size=8, color="crimson"),
                    hovertemplate="%{y}<br>dropped at %{x}<extra></extra>")
    fig.update_layout(barmode="overlay", bargap=0.15, legend=dict(orientation="h", y=1.02, x=0))
    fig.update_yaxes(type="category", autorange="reversed")
    fig.update_xaxes(title="position (query step)")
    return _layout(fig, f"Memory lifetimes, layer {layer}: predicted against actually dropped",
                   max(320, 16 * len(pos) + 120))


def memory_in_use(trace) -> go.Figure:
    """Memories each layer's queries could see, block by block, against L and against keeping everything."""
    x = block_starts(trace)
    fig = go.Figure()
    for l in range(trace.n_layers):
        fig.add_scatter(x=x, y=trace.cache_size[l], mode="lines", name=f"layer {l}",
                        hovertemplate="block at %{x}<br>%{y} memories<extra>layer " + str(l) + "</extra>")
    fig.add_scatter(x=x, y=keep_everything(trace), mode="lines", name="keep everything",
                    line=dict(dash="dot", color="grey"))
    fig.add_scatter(x=x, y=np.full(len(x), trace.max_span), mode="lines", name=f"max span L = {trace.max_span}",
                    line=dict(dash="dash", color="black"))
    fig.update_xaxes(title="position of the block's first query")
    fig.update_yaxes(title="memories in the cache")
    return _layout(fig, "Memory in use per layer", 380)


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


def bits_figure(trace, cut=None, start: int = 0, stop: int | None = None, text: bool = True) -> go.Figure:
    """Per-byte loss in bits (bits[i] predicts byte i+1) and, with a cut-L trace, how much it rose."""
    stop = min(len(trace.tokens) if stop is None else stop, start + MAX_WINDOW)
    labels = token_labels(trace.tokens, start, stop, text=text)
    fig = go.Figure()
    fig.add_scatter(x=labels, y=trace.bits[start:stop], mode="lines", name=f"bits, L = {trace.max_span}",
                    hovertemplate="%{x}<br>%{y:.2f} bits<extra>full L</extra>")
    if cut is not None:
        fig.add_scatter(x=labels, y=cut.bits[start:stop], mode="lines", name=f"bits, L = {cut.span_limit or cut.max_span}",
                        hovertemplate="%{x}<br>%{y:.2f} bits<extra>cut L</extra>")
        fig.add_bar(x=labels, y=cut.bits[start:stop] - trace.bits[start:stop], name="rise when L is cut",
                    marker_color="crimson", opacity=0.5,
                    hovertemplate="%{x}<br>+%{y:.2f} bits<extra>rise</extra>")
    _token_axis(fig, labels)
    fig.update_yaxes(title="bits")
    return _layout(fig, "Loss per byte (bits[i]: predicting byte i+1)", 380)


def diff_heatmap(trace_a, trace_b, b_to_a: np.ndarray, text: bool = True) -> go.Figure:
    """Change in every span of version B against the aligned byte of version A (NaN: inserted in B)."""
    stop = min(len(trace_b.tokens), MAX_WINDOW)
    labels = token_labels(trace_b.tokens, 0, stop, text=text)
    idx = b_to_a[:stop]
    delta = np.full((trace_b.n_layers, stop), np.nan, np.float32)
    ok = idx >= 0
    delta[:, ok] = trace_b.spans[:, :stop][:, ok] - trace_a.spans[:, idx[ok]]
    lim = float(np.nanmax(np.abs(delta))) if np.isfinite(delta).any() else 1.0
    fig = go.Figure(go.Heatmap(
        z=delta, x=labels, y=[f"layer {l}" for l in range(trace_b.n_layers)], colorscale="RdBu", zmid=0,
        zmin=-max(lim, 1e-6), zmax=max(lim, 1e-6), colorbar=dict(title="Δ span"),
        hovertemplate="token %{x} (version B)<br>%{y}<br>Δ span %{z:.1f}<extra></extra>"))
    _token_axis(fig, labels)
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, "Change in span, version B minus version A (grey: inserted)", 180 + 45 * trace_b.n_layers)


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
