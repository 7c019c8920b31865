"""Text page: trace any text through a byte-level model and see what each layer kept, word by word."""
import numpy as np
import streamlit as st

from app import familiarity, loading, store, ui
from app.text_page import VIEWS, Context, forget_section
from app.views import figures, kept
from app.views.examples import EXAMPLES, example_text
from app.views.text_view_ids import VIEW_OF_LABEL
from app.views.words import split_words, word_stats

INPUT_KINDS = ["Example", "Type or paste", "Upload a file"]

st.title("Text: what each layer remembers")
source, name, model = ui.require_model("text", "ckpt_text")

# --- input -------------------------------------------------------------------------------------
left, right = st.columns(2, gap="medium")  # the input, and what the model made of it
with left:
    kind = st.radio("Input", INPUT_KINDS, key="input_kind", horizontal=True, label_visibility="collapsed")
    example = None
    if kind == "Example":
        example = st.selectbox("Example", list(EXAMPLES), key="example")
        text = example_text(example)
    elif kind == "Type or paste":
        text = st.text_area("Text (Ctrl+Enter to apply)", key="text_input", height=120,
                            placeholder="Paste any text: its UTF-8 bytes are what the model reads.")
    else:
        upload = st.file_uploader("A UTF-8 text file", key="upload")
        if upload is None:
            st.info("Choose a text file to upload.")
            st.stop()
        with ui.failures("Cannot read this file", stop=True):
            text = loading.decode_upload(upload.getvalue())

if not text:
    st.warning("The text is empty: type or paste some text, or choose an example.")
    st.stop()
n_bytes = len(text.encode("utf-8"))
if n_bytes > loading.MAX_INPUT_BYTES:
    st.error(f"The input is {n_bytes:,} bytes; the app traces at most {loading.MAX_INPUT_BYTES:,} bytes at once.")
    if not st.checkbox(f"Cut it to the first {loading.MAX_INPUT_BYTES:,} bytes and trace that", key="cut_long"):
        st.stop()
    text = loading.cut_text(text)
st.session_state["_text_now"] = text  # a slide made of this view carries the visitor's own text (never the URL)

with ui.failures("Cannot trace this input", stop=True):
    tr = store.run_trace(source, text)

view_key = store.trace_key(source, text)


def words_and_stats():
    pieces = split_words(tr.tokens)
    return pieces, word_stats(tr, pieces)


T = len(tr.tokens)
words, stats = store.shared_view((view_key, "words"), words_and_stats)  # built once for every session
text_bits = float(np.nanmean(tr.bits)) if not np.isnan(tr.bits).all() else None
held_out_bits = familiarity.held_out_bits_from_card(loading.read_model_card(source))
known = familiarity.familiarity(text_bits, held_out_bits) if text_bits is not None and held_out_bits else None
with right:
    summary = [f"**{T:,}** bytes", f"**{tr.n_layers}** layers",
               f"memories in use: **{tr.mean_kept:,.0f}** of {tr.max_span:,} "
               f"({tr.mean_kept / tr.max_span:.0%}) a layer on average"]
    if text_bits is not None:
        summary.append(f"**{text_bits:.2f}** bits per byte")
    familiar = known is not None and known.level == familiarity.FAMILIAR  # a note under the numbers, else a warning
    st.markdown(" · ".join(summary) + (f"\n\n:small[:gray[{known.message}]]" if familiar else ""),
                help="A memory is one byte's state in one layer. A fixed-memory model (Transformer-XL) with the same "
                f"limit would keep {tr.max_span:,} in every layer. Bits per byte: the model's average surprise at each "
                "byte of this text (lower is better).")
    vocab_note = loading.byte_vocab_note(model, text)  # a model converted from the authors' code
    if vocab_note:
        st.caption(vocab_note)
    if known is not None and not familiar:
        st.warning(known.message)
# Open on a visitor's first screen, folded after (`expanded` is part of its identity). Built only while open:
# one element less in each visitor's run (bench/README.md, "Less per page run, again"). Full width, under the
# input: in a column beside it, the open note stood taller than the input and left an empty gap above the views.
howto = st.expander("How to read this", expanded=not st.session_state.get("_read_howto"), key="howto",
                    on_change="rerun")
if howto.open:
    with howto:
        st.markdown(kept.how_to_read(tr))
st.session_state["_read_howto"] = True

# --- window over long inputs -------------------------------------------------------------------
start, stop = 0, T
# drawn last: the browser draws the first screen without waiting for this chart (a text that fits needs none)
overview = st.empty() if T > figures.MAX_WINDOW else None
if T > figures.MAX_WINDOW:
    ui.clamp_state("window", 0, T - 1)
    start = st.slider(f"Window start (the detailed views show {figures.MAX_WINDOW:,} bytes from here)", 0, T - 1, 0,
                      step=64, key="window")
    stop = min(T, start + figures.MAX_WINDOW)

# --- the view: one registry, view id -> (label, render) (app/text_page.py) -------------------------
view = st.radio("View", [v.label for v in VIEWS.values()], key="view", horizontal=True,
                label_visibility="collapsed")
meta = dict(checkpoint=name, input_sha1=loading.digest(text))
ctx = Context(tr=tr, text=text, source=source, example=example, words=words, stats=stats, start=start, stop=stop,
              meta=meta, text_bits=text_bits, key=view_key)
fig, page, animation = VIEWS[VIEW_OF_LABEL[view]].render(ctx)
forget_section(ctx)  # under every view: forget a word (folded until opened)

if T > figures.MAX_WINDOW:
    with overview.container():
        ui.chart(figures.span_overview(tr), key="overview")

# --- export ------------------------------------------------------------------------------------
ui.export_section(tr, fig, view.lower().replace(" ", "-"), meta, page=page, animation=animation)
