"""Figures for the task models: the corridor (teaching), and the object-collision grid, accuracy along a
sequence and spans per frame."""
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import collision
from .figures import _layout, legend_on_top

PALETTE = collision.PALETTE  # colour k of the object-collision task is drawn as PALETTE[k]


def corridor_spans(trace, cue_pos: int, query_pos: int) -> go.Figure:
    """Per layer: each token's span against its position; the cue stands out, and the dashed line is the
    span the cue needs to still be there at the query."""
    fig = make_subplots(rows=trace.n_layers, cols=1, shared_xaxes=True,
                        subplot_titles=[f"layer {l}" for l in range(trace.n_layers)])
    pos = np.arange(len(trace.tokens))
    other = (pos != cue_pos)
    need = query_pos - cue_pos
    for l in range(trace.n_layers):
        row = l + 1
        fig.add_scatter(x=pos[other], y=trace.spans[l][other], mode="markers", name="distractors and markers",
                        marker=dict(size=4, color="grey"), showlegend=l == 0, row=row, col=1,
                        hovertemplate="position %{x}<br>span %{y:.0f}<extra></extra>")
        fig.add_scatter(x=[cue_pos], y=[trace.spans[l][cue_pos]], mode="markers", name="cue",
                        marker=dict(size=14, color="crimson", symbol="star"), showlegend=l == 0, row=row, col=1,
                        hovertemplate="cue<br>span %{y:.0f}<extra></extra>")
        fig.add_scatter(x=[pos[0], pos[-1]], y=[need, need], mode="lines", name="span the cue needs",
                        line=dict(dash="dash", color="crimson"), showlegend=l == 0, row=row, col=1)
    fig.update_xaxes(title="position", row=trace.n_layers, col=1)
    fig.update_yaxes(title="span")
    return _layout(fig, "Corridor: the cue lives, the rest fades", 200 + 220 * trace.n_layers)


def _spread(pos: np.ndarray, step: float = 0.3) -> np.ndarray:
    """Column offsets that set particles sharing a cell side by side (0 for a particle alone in its cell)."""
    off = np.zeros(len(pos))
    for cell in np.unique(pos, axis=0):
        same = np.flatnonzero((pos == cell).all(axis=1))
        off[same] = (np.arange(len(same)) - (len(same) - 1) / 2) * step
    return off


def collision_grid(seq, frame: int, held=None) -> go.Figure:
    """The grid at one frame. Each particle is a disc in its colour with the colour's number on it (the
    numbers the questions use), one legend entry per colour of the task, and its number (p0, p1, ...) beside
    it; particles sharing a cell sit side by side inside a black square (a collision). Dashed lines split the
    quadrants, each labelled with its answer."""
    cfg = seq.config
    G = cfg.grid
    pos, col = seq.positions[frame], seq.colours[frame]
    size = max(12, min(34, 300 // G))
    fig = go.Figure()
    cells = collision.quadrant_cells(cfg)
    for q, (rows, cols) in cells.items():  # quadrants 1 and 4 lightly shaded: a checkerboard of four
        fig.add_shape(type="rect", x0=cols.start - 0.5, x1=cols.stop - 0.5, y0=rows.start - 0.5,
                      y1=rows.stop - 0.5, layer="below", line_width=0,
                      fillcolor="rgba(0,0,0,0.06)" if q in (1, 4) else "rgba(0,0,0,0)")
    corner = {1: (-0.45, -0.45, "bottom right"), 2: (G - 0.55, -0.45, "bottom left"),
              3: (-0.45, G - 0.55, "top right"), 4: (G - 0.55, G - 0.55, "top left")}
    fig.add_scatter(x=[corner[q][0] for q in cells], y=[corner[q][1] for q in cells], mode="text", name="quadrants",
                    text=[f"{q} {collision.QUADRANTS[q]}" for q in cells],
                    textposition=[corner[q][2] for q in cells], showlegend=False, hoverinfo="skip",
                    textfont=dict(size=max(11, size // 2 + 2), color="rgba(0,0,0,0.45)"))
    x = pos[:, 1] + _spread(pos)
    for c in range(cfg.colours):  # one trace per colour (all of them, so the legend always shows every colour)
        idx = np.flatnonzero(col == c)
        fig.add_scatter(
            x=x[idx] if len(idx) else [None], y=pos[idx, 0] if len(idx) else [None], mode="markers+text",
            name=f"colour {c} ({collision.colour_name(c)})", text=[str(c)] * len(idx),
            textposition="middle center", textfont=dict(color=collision.text_colour(c), size=size // 2 + 2),
            marker=dict(size=size, color=collision.colour_hex(c), line=dict(width=1, color="black")),
            customdata=np.stack([idx, pos[idx, 0], pos[idx, 1]], axis=1) if len(idx) else None,
            hovertemplate=f"particle %{{customdata[0]}}, colour {c}<br>row %{{customdata[1]}}, "
                          "column %{customdata[2]}<extra></extra>")
    first = np.array([not (pos[:i] == pos[i]).all(axis=1).any() for i in range(len(pos))])
    fig.add_scatter(x=x, y=pos[:, 0] + np.where(first, -0.33, 0.33), mode="text", name="particle numbers",
                    text=[f"p{i}" for i in range(len(pos))], showlegend=False, hoverinfo="skip",
                    textfont=dict(size=max(10, size // 2), color="black"), cliponaxis=False)
    found, counts = np.unique(pos, axis=0, return_counts=True)
    sx, sy = [], []  # a black square around every cell holding two or more particles
    for r, c in found[counts > 1]:
        sx += [c - 0.47, c + 0.47, c + 0.47, c - 0.47, c - 0.47, None]
        sy += [r - 0.47, r - 0.47, r + 0.47, r + 0.47, r - 0.47, None]
    fig.add_scatter(x=sx or [None], y=sy or [None], mode="lines", name="collision: two particles in one cell",
                    line=dict(width=4, color="black"), hoverinfo="skip")
    fig.add_hline(y=cells[1][0].stop - 0.5, line=dict(dash="dash", color="black", width=1))  # quadrant borders
    fig.add_vline(x=cells[1][1].stop - 0.5, line=dict(dash="dash", color="black", width=1))
    fig.update_xaxes(range=[-0.5, G - 0.5], dtick=1, title="column", showgrid=False, zeroline=False,
                     constrain="domain")
    fig.update_yaxes(range=[G - 0.5, -0.5], dtick=1, title="row", showgrid=False, zeroline=False,
                     scaleanchor="x", constrain="domain")
    for k in range(G + 1):  # cell borders
        fig.add_shape(type="line", x0=k - 0.5, x1=k - 0.5, y0=-0.5, y1=G - 0.5, layer="below",
                      line=dict(color="rgba(0,0,0,0.15)", width=1))
        fig.add_shape(type="line", y0=k - 0.5, y1=k - 0.5, x0=-0.5, x1=G - 0.5, layer="below",
                      line=dict(color="rgba(0,0,0,0.15)", width=1))
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.12, x=0))
    a, b = (int(c) for c in seq.questions[frame])
    return _layout(fig, f"Frame {frame}: where did {collision.pair_words(cfg, a, b, names=False)} last collide?",
                   520)


def accuracy_by_part(parts: list[dict], chance: float = collision.CHANCE) -> go.Figure:
    """Share of scored questions answered right in each part of the sequence (collision.accuracy_by_part): the
    model's bars beside the latest-collision rule's, with the number behind each bar and a dashed line at
    chance."""
    names = [("quarter" if len(parts) == 4 else "part") + f" {p['part']}<br>frames {p['first frame']:,}–"
             f"{p['last frame']:,}" for p in parts]
    fig = go.Figure()
    for key, right, name, colour in (("accuracy", "right", "the model", "#0072B2"),
                                     ("rule accuracy", "rule right", "latest-collision rule", "#999999")):
        y = [0.0 if p[key] is None else 100 * p[key] for p in parts]
        text = ["nothing scored" if p[key] is None else f"{p[key]:.0%}" for p in parts]
        counts = [f"{p[right]:,} of {p['scored']:,} right" for p in parts]
        fig.add_trace(go.Bar(x=names, y=y, text=text, textposition="outside", name=name, marker_color=colour,
                             hovertext=counts, hovertemplate=f"{name}<br>%{{x}}<br>%{{text}}: %{{hovertext}}"
                                                             "<extra></extra>"))
    fig.add_hline(y=100 * chance, line=dict(dash="dash", color="crimson", width=2),
                  annotation_text=f"chance: {chance:.0%} (a guess among four quadrants)",
                  annotation_position="top left", annotation_font_color="crimson",
                  annotation_bgcolor="rgba(255,255,255,0.85)")
    fig.update_yaxes(range=[0, 115], title="answered right (%)", ticksuffix="%")
    fig.update_layout(barmode="group")
    return legend_on_top(fig, "Share of the scored questions answered right, by " + (
        "quarter" if len(parts) == 4 else "part") + " of the sequence", 400)


def spans_per_frame(trace, frame_len: int, collisions=None) -> go.Figure:
    """Layers x frames: mean span of each frame's tokens (how many tokens later they are still remembered). With
    `collisions` (a boolean per frame), a row of ticks above the heatmap marks the collision frames: one marker
    trace, legend entry "collision frame", however many there are."""
    n = len(trace.tokens) // frame_len
    z = trace.spans[:, :n * frame_len].reshape(trace.n_layers, n, frame_len).mean(-1)
    heat = go.Heatmap(z=z.astype(np.float32), x=np.arange(n), y=[f"layer {l}" for l in range(trace.n_layers)],
                      colorscale="Viridis", zmin=0, zmax=trace.max_span, colorbar=dict(title="span<br>(tokens)"),
                      hovertemplate="frame %{x}<br>%{y}<br>mean span %{z:.0f} tokens<extra></extra>")
    title = "How long each frame is remembered: mean span of its tokens, per layer"
    height = 180 + 45 * trace.n_layers
    if collisions is None:
        fig = go.Figure(heat)
        fig.update_xaxes(title="frame")
        fig.update_yaxes(autorange="reversed")
        return _layout(fig, title, height)
    rug = 34  # pixels of the row of ticks
    height += rug + 40
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.02,
                        row_heights=[rug / (height - 130), 1 - rug / (height - 130)])
    fig.add_trace(heat, row=2, col=1)  # first: data[0] is the heatmap, as without collisions
    hits = np.flatnonzero(np.asarray(collisions[:n], bool))
    fig.add_scatter(x=hits, y=np.zeros(len(hits)), mode="markers", name="collision frame", row=1, col=1,
                    marker=dict(symbol="line-ns", size=rug - 10, line=dict(width=1.5, color="#D55E00")),
                    hovertemplate="collision in frame %{x}<extra></extra>", showlegend=True)
    y0, y1 = fig.layout.yaxis2.domain
    fig.data[0].colorbar.update(y=y0, yanchor="bottom", len=y1 - y0)
    fig.update_xaxes(range=[-0.5, n - 0.5])
    fig.update_xaxes(title="frame", row=2, col=1)
    fig.update_yaxes(autorange="reversed", row=2, col=1)
    fig.update_yaxes(range=[-1, 1], tickvals=[0], ticktext=["collisions"], showgrid=False, zeroline=False,
                     fixedrange=True, row=1, col=1)
    return legend_on_top(fig, title, height, top=90)


KIND_COLOURS = {"collision": "#D55E00", "ordinary": "#0072B2"}  # Okabe-Ito vermilion and blue


def spans_by_frame_kind(measure: dict) -> go.Figure:
    """Per layer, the mean span of the tokens of collision frames beside that of ordinary frames (one bar each),
    from model.collision_memory.span_by_frame_kind of one sequence; hover gives the spans, the ratio and how many
    tokens each mean is over."""
    n = len(measure["span_collision"])
    layers = [f"layer {l}" for l in range(n)]
    ratios = measure["ratio_collision_ordinary"] or [None] * n
    fig = go.Figure()
    for kind, name in (("collision", "collision frames"), ("ordinary", "ordinary frames")):
        spans, count = measure[f"span_{kind}"], measure[f"tokens_{kind}"]
        ratio = ["no ratio (a mean of 0)" if r is None else collision.times(r) for r in ratios]
        fig.add_bar(x=layers, y=spans, name=name, marker_color=KIND_COLOURS[kind],
                    text=[collision.tokens(s) for s in spans], textposition="outside",
                    customdata=[[r] for r in ratio],
                    hovertemplate=f"%{{x}}, {name}<br>mean span %{{y:,.0f}} tokens, over {count:,} tokens"
                                  "<br>collision / ordinary: %{customdata[0]}<extra></extra>")
    top = max(max(measure["span_collision"]), max(measure["span_ordinary"]), 1)
    fig.update_layout(barmode="group")
    fig.update_yaxes(title="mean span (tokens)", range=[0, 1.15 * top])
    return legend_on_top(fig, "Mean span per layer: collision frames and ordinary frames of this sequence", 400,
                         top=90)
