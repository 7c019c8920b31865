"""Text page: trace any text through a byte-level model and look at what each layer keeps."""
import numpy as np
import pandas as pd
import streamlit as st
from model import ExpireSpanError

from app import compare, figures, loading, presenter, state, ui
from app.examples import EXAMPLES, example_text, partner_text
from app.memory import dropped_by, held_at
from app.text_views import largest_rises, legend, strips_html, text_strip, token_labels

VIEWS = presenter.TEXT_VIEWS
TEXT_WINDOW = 2048  # characters drawn as coloured text at once
INPUT_KINDS = ["Example", "Type or paste", "Upload a file"]

st.title("Text: what each layer remembers")
source, name, model = ui.require_model("text", "ckpt_text")

# --- input -------------------------------------------------------------------------------------
kind = st.radio("Input", INPUT_KINDS, key="input_kind", horizontal=True)
example = None
if kind == "Example":
    example = st.selectbox("Example", list(EXAMPLES), key="example")
    text = example_text(example)
elif kind == "Type or paste":
    text = st.text_area("Text (Ctrl+Enter to apply)", key="text_input", height=150,
                        placeholder="Paste any text: its UTF-8 bytes are the tokens.")
else:
    upload = st.file_uploader("A UTF-8 text file", key="upload")
    if upload is None:
        st.info("Choose a text file to upload.")
        st.stop()
    try:
        text = loading.decode_upload(upload.getvalue())
    except ExpireSpanError as e:
        st.error(str(e))
        st.stop()

if not text:
    st.warning("The text is empty: type or paste some text, or choose an example.")
    st.stop()
n_bytes = len(text.encode("utf-8"))
if n_bytes > loading.MAX_INPUT_BYTES:
    st.error(f"The input is {n_bytes:,} bytes; the app traces at most {loading.MAX_INPUT_BYTES:,} bytes at once.")
    if not st.checkbox(f"Cut it to the first {loading.MAX_INPUT_BYTES:,} bytes and trace that", key="cut_long"):
        st.stop()
    text = loading.cut_text(text)

try:
    tr = state.run_trace(source, text)
except (ExpireSpanError, ValueError) as e:
    st.error(f"Cannot trace this input: {e}")
    st.stop()

T = len(tr.tokens)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Bytes (tokens)", f"{T:,}")
c2.metric("Layers", tr.n_layers)
c3.metric("Max span L / ramp R / block M", f"{tr.max_span} / {tr.ramp} / {tr.block_size}")
c4.metric("Memories in use (mean)", f"{tr.mean_kept:,.0f}")

# --- window over long inputs -------------------------------------------------------------------
start, stop = 0, T
if T > figures.MAX_WINDOW:
    ui.chart(figures.span_overview(tr), key="overview")
    ui.clamp_state("window", 0, T - 1)
    start = st.slider("Window start (the detailed views show 2,048 bytes from here)", 0, T - 1, 0,
                      step=64, key="window")
    stop = min(T, start + figures.MAX_WINDOW)

view = st.radio("View", VIEWS, key="view", horizontal=True)
fig = None


def pick_layer() -> int:
    ui.clamp_state("layer", 0, tr.n_layers - 1)
    return st.selectbox("Layer", list(range(tr.n_layers)), key="layer")



if view == "Span heatmap":
    value = st.radio("Colour by", ["predicted", "kept"], key="heat_value", horizontal=True,
                     format_func={"predicted": "predicted span e_i", "kept": "steps actually kept"}.get)
    fig = figures.span_heatmap(tr, start, stop, value=value)
    ui.chart(fig, key="span_heatmap")
    st.caption("Hover a cell: token, position, layer, predicted span, and where the memory actually left the "
               "cache. Drops happen in whole blocks of M (spec 7.3), so memories often stay longer than predicted.")

elif view == "Text by span":
    mode = st.radio("Strips", ["every layer", "one layer", "mean over layers", "max over layers"],
                    key="strip_mode", horizontal=True)
    layer = pick_layer() if mode == "one layer" else 0
    hi = min(stop, start + TEXT_WINDOW)
    vmax = figures.colour_max(tr)
    if mode == "every layer":
        rows = [(f"layer {l}", text_strip(tr.tokens, tr.spans[l], vmax, start, hi)) for l in range(tr.n_layers)]
    elif mode == "one layer":
        rows = [(f"layer {layer}", text_strip(tr.tokens, tr.spans[layer], vmax, start, hi))]
    else:
        agg = tr.spans.mean(0) if mode.startswith("mean") else tr.spans.max(0)
        rows = [(mode, text_strip(tr.tokens, agg, vmax, start, hi))]
    ui.html_block(legend(vmax, f"predicted span (steps; L = {tr.max_span})") + strips_html(rows, presenter.font_size()))

elif view == "Remembered at step t":
    @st.fragment
    def remembered():
        if T < 2:
            st.info("Give at least two bytes: a step needs something before it.")
            return
        ui.clamp_state("step", 1, T)
        t = st.slider("Step t (the query at position t looks back)", 1, T, min(T, start + 200), key="step")
        lo = max(0, t - TEXT_WINDOW)
        held, gone = held_at(tr, t), dropped_by(tr, t)
        rows = []
        for l in range(tr.n_layers):
            full = int((held[l] >= 1).sum())
            ramp = int(((held[l] > 0) & (held[l] < 1)).sum())
            label = f"layer {l}: {full} held, {ramp} fading, {int(gone[l].sum())} dropped"
            rows.append((label, text_strip(tr.tokens, held[l], 1.0, lo, t, "{i}: mask {v:.2f}", struck=gone[l])))
        ui.html_block(legend(1.0, "soft mask m = clamp(1 + (span - (t - i)) / R, 0, 1)") +
                      strips_html(rows, presenter.font_size()))
        st.caption("Struck-through characters were actually dropped from the cache by step t (dropped_at <= t). "
                   "Moving the slider redraws this part only; the model does not run again.")
    remembered()

elif view == "Memory lifetimes":
    layer = pick_layer()
    ui.clamp_state("life_start", start, max(start, stop - 1))
    first = st.slider("First memory", start, max(start, stop - 1), start, key="life_start")
    fig = figures.lifetimes(tr, layer, first, min(stop, first + 150))
    ui.chart(fig, key="lifetimes")
    st.caption("Solid: the predicted span e_i (mask 1). Faded: the ramp R over which the mask falls to 0. "
               "Red x: where the memory actually left the cache (spec 7.4: coarser than predicted).")

elif view == "Memory in use":
    fig = figures.memory_in_use(tr)
    ui.chart(fig, key="memory_in_use")
    st.caption(f"A Transformer-XL with the same L would keep {tr.max_span:,} memories per layer; keeping "
               "everything grows with the input. Expire-Span keeps what its spans ask for, in whole blocks.")

elif view == "Span by byte class":
    fig = figures.span_by_class(tr)
    ui.chart(fig, key="span_by_class")

elif view == "Loss in bits":
    st.caption(f"Cutting L: the same model run with its maximum span cut to L/4 = {tr.max_span // 4} at "
               "inference. Spans longer than that are clipped to it and those memories are dropped sooner; "
               "shorter spans are untouched. Bytes whose loss rises needed long context (paper, Figure 9).")
    try:
        cut = state.run_trace(source, text, cut=4)
    except (ExpireSpanError, ValueError) as e:
        st.warning(f"Cannot cut L for this model: {e}")
        cut = None
    fig = figures.bits_figure(tr, cut, start, stop)
    ui.chart(fig, key="bits")
    scored = ~np.isnan(tr.bits)
    if scored.any():
        m1, m2 = st.columns(2)
        m1.metric(f"Mean bits per byte, L = {tr.max_span}", f"{np.nanmean(tr.bits):.3f}")
        if cut is not None:
            m2.metric(f"Mean bits per byte, L = {cut.span_limit}", f"{np.nanmean(cut.bits):.3f}",
                      delta=f"{np.nanmean(cut.bits) - np.nanmean(tr.bits):+.3f}", delta_color="inverse")
    if cut is not None:
        rows = largest_rises(tr, cut)
        if rows:
            st.markdown("**Where the extra loss sits**: the bytes that lost most when L was cut, with the text "
                        "before them (a name last seen more than L/4 bytes back is the paper's case).")
            st.dataframe(pd.DataFrame(rows), hide_index=True)
        else:
            st.caption("No byte lost anything when L was cut: this text never needed a memory older than L/4.")

elif view == "Edit and compare":
    default_b = (partner_text(example) if example else None) or text
    if st.session_state.get("text_b_for") != loading.digest(text):
        st.session_state["text_b"] = default_b
        st.session_state["text_b_for"] = loading.digest(text)
    text_b = st.text_area("Version B (edit a word; Ctrl+Enter to apply)", key="text_b", height=120)
    a, b = text.encode("utf-8"), text_b.encode("utf-8")
    if not b:
        st.warning("Version B is empty: type the edited text.")
    elif max(len(a), len(b)) > compare.MAX_COMPARE_BYTES:
        st.warning(f"Compare works on texts up to {compare.MAX_COMPARE_BYTES:,} bytes; cut the text first.")
    else:
        try:
            tr_b = state.run_trace(source, text_b)
        except (ExpireSpanError, ValueError) as e:
            st.error(f"Cannot trace version B: {e}")
        else:
            b_to_a = compare.align(a, b)
            fig = figures.diff_heatmap(tr, tr_b, b_to_a)
            ui.chart(fig, key="diff")
            rows = compare.biggest_changes(tr, tr_b, b_to_a, token_labels(tr_b.tokens))
            st.write("Largest changes of memories present in both versions:")
            st.dataframe(pd.DataFrame(rows), hide_index=True)

# --- export ------------------------------------------------------------------------------------
ui.export_section(tr, fig, view.lower().replace(" ", "-"), dict(checkpoint=name, input_sha1=loading.digest(text)))
