"""Figures for the task models: the corridor (teaching) and the object-collision grid."""
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .figures import _layout

PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
           "#fabed4", "#469990", "#dcbeff", "#9a6324", "#800000", "#aaffc3", "#808000", "#000075"]


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


def collision_grid(seq, frame: int, held=None) -> go.Figure:
    """The grid at one frame: particles in their colours (numbered), a ring where two collide."""
    G = seq.config.grid
    pos, col = seq.positions[frame], seq.colours[frame]
    fig = go.Figure()
    fig.add_scatter(x=pos[:, 1], y=pos[:, 0], mode="markers+text", text=[str(p) for p in range(len(pos))],
                    textposition="middle center", textfont=dict(color="white"), name="particles",
                    marker=dict(size=28, color=[PALETTE[c % len(PALETTE)] for c in col],
                                line=dict(width=1, color="black")),
                    customdata=col, hovertemplate="particle %{text}<br>row %{y}, col %{x}<br>colour %{customdata}"
                                                  "<extra></extra>")
    cells, counts = np.unique(pos, axis=0, return_counts=True)
    hit = cells[counts > 1]
    if len(hit):
        fig.add_scatter(x=hit[:, 1], y=hit[:, 0], mode="markers", name="collision",
                        marker=dict(size=44, color="rgba(0,0,0,0)", line=dict(width=3, color="black")))
    fig.update_xaxes(range=[-0.5, G - 0.5], dtick=1, title="col", showgrid=True)
    fig.update_yaxes(range=[G - 0.5, -0.5], dtick=1, title="row", scaleanchor="x")
    q = seq.questions[frame]
    return _layout(fig, f"Frame {frame}: question colours ({q[0]}, {q[1]})", 460)


def spans_per_frame(trace, frame_len: int) -> go.Figure:
    """Layers x frames: mean span of each frame's tokens."""
    n = len(trace.tokens) // frame_len
    z = trace.spans[:, :n * frame_len].reshape(trace.n_layers, n, frame_len).mean(-1)
    fig = go.Figure(go.Heatmap(z=z.astype(np.float32), x=np.arange(n), y=[f"layer {l}" for l in range(trace.n_layers)],
                               colorscale="Viridis", zmin=0, zmax=trace.max_span, colorbar=dict(title="span"),
                               hovertemplate="frame %{x}<br>%{y}<br>mean span %{z:.0f}<extra></extra>"))
    fig.update_xaxes(title="frame")
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, "Mean span of each frame's tokens", 180 + 45 * trace.n_layers)
