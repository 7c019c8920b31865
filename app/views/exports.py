"""Exports: a trace as tidy CSV or JSON, a figure as a standalone HTML file (plotly.js inside)."""
import csv
import html
import io
import json

import numpy as np

from .strips import byte_char


def trace_csv(trace, text: bool = True) -> str:
    """One row per (layer, position i), every column about token i:

    layer, position, token, char (text only), span (predicted span of its memory), dropped_at (first query
    position at which the memory was gone, -1 never); bits: the loss in bits that the row's target got,
    empty where none; prediction: the model's most likely value for that target; target: what bits scored.
    Next-token mode (no task targets): the target is token i itself and the prediction the guess made at
    position i - 1 from the tokens before i (trace.predictions[i - 1]); the first token has none (bits and
    prediction empty, target -1). Task mode: the target is targets[i] (-1: none) and the prediction that
    of the output at i.
    """
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["layer", "position", "token", "char", "span", "dropped_at", "bits", "prediction", "target"])
    T = len(trace.tokens)
    chars = [byte_char(trace.tokens, i) if text else "" for i in range(T)]
    if trace.targets is not None:
        targets, predictions = trace.targets, [int(p) for p in trace.predictions]
    else:  # bits[i] scores token i, predicted at position i - 1
        targets = np.append(-1, trace.tokens[1:])
        predictions = [""] + [int(p) for p in trace.predictions[:-1]]
    for l in range(trace.n_layers):
        for i in range(T):
            bits = trace.bits[i]
            w.writerow([l, i, int(trace.tokens[i]), chars[i], round(float(trace.spans[l, i]), 3),
                        int(trace.dropped_at[l, i]), "" if np.isnan(bits) else round(float(bits), 4),
                        predictions[i], int(targets[i])])
    return out.getvalue()


def trace_json(trace, **meta) -> str:
    """trace.to_dict() as JSON, with extra metadata (checkpoint name, input hash); never the raw text."""
    d = trace.to_dict()
    d["meta"] = {**d.get("meta", {}), **meta}
    return json.dumps(d)


def figure_html(fig) -> str:
    """A self-contained HTML page of the figure that works offline, titled with the figure's title."""
    page = fig.to_html(include_plotlyjs=True, full_html=True)
    title = html.escape(str(fig.layout.title.text or "Expire-Span Explorer figure"))
    return page.replace("<head>", f"<head><title>{title}</title>", 1)


def view_html(title: str, body: str) -> str:
    """A standalone HTML page of one of the app's own HTML views (its text already escaped)."""
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
            f'<body style="font-family:sans-serif;margin:2em"><h1>{html.escape(title)}</h1>{body}</body></html>')


def change_csv(tokens, plain_bits, forgot_bits, forgotten: tuple[int, int], text: bool = True) -> str:
    """What forgetting a word changed, one row per byte i: position, token, char (text only), forgotten (1 for the
    forgotten bytes), bits (the plain run's loss of byte i), bits_forgotten (with the word forgotten), change (the
    second minus the first); empty where a loss is not scored."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["position", "token", "char", "forgotten", "bits", "bits_forgotten", "change"])

    def cell(v: float):
        return "" if np.isnan(v) else round(float(v), 4)
    for i in range(len(tokens)):
        before, after = float(plain_bits[i]), float(forgot_bits[i])
        w.writerow([i, int(tokens[i]), byte_char(tokens, i) if text else "", int(forgotten[0] <= i < forgotten[1]),
                    cell(before), cell(after), cell(after - before)])
    return out.getvalue()
