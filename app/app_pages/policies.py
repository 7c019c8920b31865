"""Memory policies: the same text under learned expiry and under the eviction rules in use today, at equal memory."""
import pandas as pd
import streamlit as st
from model.policies import NAMES, Policy, default_budget

from app import presenter, settings, store, ui
from app.views import memory_policies
from app.views.strips import scale_legend, strips_html
from app.views.words import split_words

SCALES = {"half": 0.5, "equal": 1.0, "twice": 2.0}

st.title("Memory policies: learned expiry against eviction rules")
st.markdown("Expire-Span *learns* what to forget. Long-context systems today mostly evict by a *rule*. Here the "
            "same model reads the same text with its memory governed by each rule in turn, every layer allowed as "
            "many memories as Expire-Span itself used on average on this text (equal memory).")
source, name, model = ui.require_model("text", "pol_ckpt")
text = ui.example_or_pasted("pol", settings.POLICIES_MAX_BYTES, " (each rule traces the text block by block)")

c1, c2 = st.columns([3, 1])
chosen = c1.multiselect("Policies", list(NAMES), default=["expire-span", "window", "sinks", "heavy-hitters"],
                        key="pol_names", max_selections=4,
                        help="\n\n".join(f"**{k}**: {v}" for k, v in memory_policies.PLAIN.items()))
size = c2.radio("Memory", list(SCALES), index=1, key="pol_size", horizontal=True,
                help="Each layer's budget against Expire-Span's own mean memory on this text.")
if not chosen:
    st.info("Choose at least one policy.")
    st.stop()
with ui.failures("Cannot trace this input", stop=True):
    plain = store.run_trace(source, text)
    base = default_budget(plain)
    budget = tuple(max(1, round(k * SCALES[size])) for k in base)
    traces = {}
    for policy in chosen:
        if policy == "expire-span":
            traces[policy] = plain
        elif policy == "keep-all":
            traces[policy] = store.run_trace(source, text, policy=Policy(policy))
        else:
            traces[policy] = store.run_trace(source, text, policy=Policy(policy, budget=budget))

st.caption(f"Budget per layer (memories): {', '.join(f'layer {l} {k}' for l, k in enumerate(budget))} "
           f"({size} Expire-Span's own mean on this text). Keep-everything has none: it keeps up to "
           f"{plain.max_span:,}.")
st.dataframe(pd.DataFrame(memory_policies.summary_rows(traces)), hide_index=True)
ui.chart(memory_policies.memory_figure(traces), key="pol_memory")

st.subheader("What each policy kept at step t")
T = len(plain.tokens)
words = split_words(plain.tokens)
c1, c2 = st.columns([3, 1])
ui.clamp_state("pol_step", 1, T)
t = c1.slider("Step t", 1, T, min(T, settings.POLICIES_DEFAULT_STEP), key="pol_step")
ui.clamp_state("pol_layer", 0, plain.n_layers - 1)
layer = c2.selectbox("Layer", list(range(plain.n_layers)), index=plain.n_layers - 1, key="pol_layer")
rows = memory_policies.kept_rows(words, traces, layer, t, lo=max(0, t - settings.POLICIES_STRIP_BYTES))
ui.html_block(scale_legend(0, 1, "shared", "share of a word step t still sees:") +
              strips_html(rows, presenter.font_size()))
st.caption("Bright words are still in memory at step t, struck-through words were evicted (or expired). Under "
           "Expire-Span a memory fades out after its span; under a rule it is either kept whole or gone.")

if len(traces) >= 2:
    st.subheader("Where the policies disagree")
    names = list(traces)
    c1, c2 = st.columns(2)
    a = c1.selectbox("Policy A", names, 0, key="pol_a")
    b = c2.selectbox("Policy B", names, 1, key="pol_b")
    diff = memory_policies.loss_differences(traces[a], traces[b], words, a, b)
    if diff:
        st.dataframe(pd.DataFrame(diff), hide_index=True)
        st.caption("The words whose loss (bits summed over their letters) differs most between the two policies: "
                   "positive when B predicts the word worse.")
    else:
        st.caption("The two policies predict every word about equally well on this text.")
