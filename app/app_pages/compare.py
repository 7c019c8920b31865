"""Compare: two layers of one checkpoint, or two checkpoints, side by side on the same text."""
import numpy as np
import streamlit as st
from app import baselines, loading, presenter, settings, store, ui
from app.views import figures, kept
from app.views.scales import SCALE_HELP, SCALES
from app.views.strips import strips_html
from app.views.words import split_words, word_stats

BASELINE_MODE = "Expire-Span against its Transformer-XL baseline"

st.title("Compare")
available = loading.list_checkpoints()
text_names = ui.checkpoint_names("text")
with_baseline = baselines.pairs(text_names, available)
modes = ["Two layers", "Two checkpoints"] + ([BASELINE_MODE] if with_baseline else [])
ui.clamp_choice("cmp_mode", modes)
mode = st.radio("Compare", modes, key="cmp_mode", horizontal=True)
text = ui.example_or_pasted("cmp", settings.MAX_INPUT_BYTES)


def traced(source: str):
    with ui.failures("Cannot trace this input"):
        return store.run_trace(source, text)
    return None


if mode == "Two layers":
    picked = ui.require_model("text", "cmp_ckpt")
    tr = traced(picked[0])
    if tr is None:
        st.stop()
    layers = list(range(tr.n_layers))
    cols = st.columns(2)
    ui.clamp_state("cmp_layer_a", 0, len(layers) - 1)
    ui.clamp_state("cmp_layer_b", 0, len(layers) - 1)
    chosen = [cols[0].selectbox("Left layer", layers, 0, key="cmp_layer_a"),
              cols[1].selectbox("Right layer", layers, len(layers) - 1, key="cmp_layer_b")]
    stop = min(len(tr.tokens), settings.MAX_WINDOW)
    c1, c2 = st.columns([2, 3])  # the scale and its legend, as on the Text page
    scale = c1.radio("Colour scale", SCALES, key="cmp_scale", horizontal=True,
                     help="\n\n".join(f"**{k}**: {v}" for k, v in SCALE_HELP.items()))
    words = split_words(tr.tokens)  # coloured word by word, as on the Text page
    legend, rows = kept.span_strips(words, word_stats(tr, words), scale, 0, stop, layers=chosen)
    with c2:
        ui.html_block(legend + kept.STRIP_NOTE)
    for col, row in zip(st.columns(2), rows):  # under the legend, each layer below its own choice
        with col:
            ui.html_block(strips_html([row], presenter.font_size()))
    ui.chart(figures.layer_scatter(tr, *chosen), key="cmp_scatter")
else:
    names = text_names
    if mode == BASELINE_MODE:
        model_name = st.selectbox("Expire-Span checkpoint", list(with_baseline), key="cmp_ckpt_expire")
        pair = [model_name, with_baseline[model_name]]
    elif len(names) < 2:
        if not names:
            ui.no_checkpoint_guidance("text")
        else:
            st.info(f"Comparing two checkpoints needs two text checkpoints; the checkpoints folder has one "
                    f"({ui.plain(names[0])}). Compare two layers of it instead, or add a second text checkpoint, "
                    "for example the Transformer-XL baseline trained by `python -m model.train --config "
                    "configs/text-txl.toml`.")
        st.stop()
    else:
        pair = [st.columns(2)[i].selectbox(f"Checkpoint {'AB'[i]}", names, i, key=f"cmp_ckpt_{i}") for i in (0, 1)]
    cols = st.columns(2)
    for i, (col, name) in enumerate(zip(cols, pair)):
        with col:
            tr = traced(str(available[name]))
            if tr is not None:
                kind = "Expire-Span" if tr.expire_span else "Transformer-XL (no expiry)"
                st.markdown(f"**{ui.plain(name)}**: {kind}; {tr.mean_kept:,.0f} memories in use a layer on average; "
                            f"{float(np.nanmean(tr.bits)):.2f} bits per byte")
                ui.chart(figures.span_heatmap(tr, 0, len(tr.tokens)), key=f"cmp_heat_{i}")
                ui.chart(figures.memory_in_use(tr), key=f"cmp_use_{i}")
    ui.device_line()
