"""Exports: a trace as tidy CSV or JSON, a figure as a standalone HTML file (plotly.js inside)."""
import csv
import io
import json

import numpy as np

from .text_views import byte_char


def trace_csv(trace, text: bool = True) -> str:
    """One row per (layer, position): token, character, predicted span, dropped_at, steps kept, bits."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["layer", "position", "token", "char", "span", "dropped_at", "bits", "prediction", "target"])
    T = len(trace.tokens)
    chars = [byte_char(trace.tokens, i) if text else "" for i in range(T)]
    targets = trace.targets if trace.targets is not None else np.append(trace.tokens[1:], -1)
    for l in range(trace.n_layers):
        for i in range(T):
            bits = trace.bits[i]
            w.writerow([l, i, int(trace.tokens[i]), chars[i], round(float(trace.spans[l, i]), 3),
                        int(trace.dropped_at[l, i]), "" if np.isnan(bits) else round(float(bits), 4),
                        int(trace.predictions[i]), int(targets[i])])
    return out.getvalue()


def trace_json(trace, **meta) -> str:
    """trace.to_dict() as JSON, with extra metadata (checkpoint name, input hash); never the raw text."""
    d = trace.to_dict()
    d["meta"] = {**d.get("meta", {}), **meta}
    return json.dumps(d)


def figure_html(fig) -> str:
    """A self-contained HTML page of the figure that works offline."""
    return fig.to_html(include_plotlyjs=True, full_html=True)
