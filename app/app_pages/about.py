"""About: the loaded checkpoint's model card and how Expire-Span works."""
import streamlit as st

from app import loading, ui

HOW_IT_WORKS = """
**How Expire-Span works.** A Transformer-XL-style model reads its input block by block and keeps, in
every layer, a cache of the hidden states of earlier tokens so later tokens can attend to them.
Expire-Span (Sukhbaatar et al., ICML 2021) adds one small linear predictor per layer that gives each
memory a span e = L · sigmoid(w·h + b), up to a maximum L. A query t can see memory i only while its
age t − i is within the span; past it, a soft mask fades the memory out over a ramp of R steps,
m = clamp(1 + (e − (t − i)) / R, 0, 1), so the span stays differentiable. An auxiliary loss on the
ramp pushes spans down, so the model learns to keep only what later predictions need, and memories
whose mask has reached zero are dropped from the cache in whole blocks. The result: long memory for
the few tokens that matter (a rare name, a cue), short memory for the rest, and a much smaller cache.
"""

st.title("About the model")
picked = ui.pick_model(None, "ckpt_about")
st.markdown(HOW_IT_WORKS)
if picked is not None:
    source, name, model = picked
    ui.device_line()
    st.subheader(f"Model card: {name}")
    card = loading.read_model_card(source)
    if card:
        with st.container(border=True):
            st.markdown(card)  # markdown only: raw HTML in a card is not rendered
    else:
        st.info("This checkpoint has no README.md model card.")
    with st.expander("Configuration (config.json)"):
        st.json(model.config.to_dict())
