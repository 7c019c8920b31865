"""About: the loaded checkpoint's model card and how Expire-Span works."""
from pathlib import Path

import streamlit as st

from app import loading, ui

HOW_IT_WORKS = """
**How Expire-Span works.** The model reads its input a block at a time. In every layer it keeps a memory of
each earlier token (that token's hidden state), so later tokens can look back at it. Expire-Span (Sukhbaatar
et al., ICML 2021) adds one small predictor per layer that decides, for every memory, how long to keep it:
its **span**, in steps (tokens), up to a maximum for the model. While a memory is younger than its span, later
tokens see it fully; past its span it fades out over a short ramp (a fixed number of steps), and once it has
faded completely it is thrown out of the cache, in whole blocks. During training a small penalty on long spans
teaches the model to keep only what later predictions need: a rare name or a cue lives long, most of the rest
fades quickly, and the cache stays small.

*In symbols (docs/method.md sections 2 and 3):* memory i gets span e = L · sigmoid(w·h + b), where h is its
hidden state and L the maximum span; a query at step t sees it with weight m = clamp(1 + (e − (t − i)) / R, 0, 1),
where t − i is the memory's age and R the length of the ramp.
"""

METHOD = Path(__file__).resolve().parents[2] / "docs" / "method.md"
PRIVACY = """
**What happens to your text.** Text you paste or upload is traced in this server's memory. Its trace is kept
in a bounded in-memory cache of recent traces, keyed by a hash of the text, so someone else
sees that trace only by pasting the identical text. Your text is never written to disk, never put in a URL
(shared links hold only the page and the view's controls; a deck file you save holds the text of its slides,
and stays with you) and never sent anywhere else; it is gone when the server restarts or the cache drops it.
"""

st.title("About the model")
picked = ui.pick_model(None, "ckpt_about")
st.markdown(HOW_IT_WORKS)
with st.expander("The method as implemented here, section by section (docs/method.md)"):
    st.markdown(METHOD.read_text(encoding="utf-8") if METHOD.is_file() else "docs/method.md is missing.")
st.markdown(PRIVACY)
if picked is not None:
    source, name, model = picked
    ui.device_line()
    st.subheader(f"Model card: {ui.plain(name)}")
    card = loading.read_model_card(source)
    if card:
        with st.container(border=True):
            st.markdown(card)  # markdown only: raw HTML is not rendered, images are links (loading.without_images)
    else:
        st.info("This checkpoint has no README.md model card.")
    with st.expander("Configuration (config.json)"):
        st.json(model.config.to_dict())
