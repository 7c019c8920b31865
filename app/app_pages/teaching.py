"""Teaching: the corridor task. A cue, a corridor of distractors, a query: the cue lives, the rest fades."""
import pandas as pd
import streamlit as st
from model.tasks import corridor

from app import loading, settings, store, ui
from app.views import task_figures
from app.views.corridor import (CORRIDOR_CONFIG, answer, by_elimination, cue_forget, cue_report, cue_spans_alone,
                                forget_sentence, make_episode)

st.title("Teaching: the corridor")
st.markdown("An episode is **START, a cue, a corridor of distractors, QUERY**. At the query the model must "
            "name the cue. To answer it must keep the cue in memory all the way down the corridor, and it can "
            "let every distractor expire: *the cue lives, the rest fades*.")
source, name, model = ui.require_model("corridor", "ckpt_corridor")
if model.config.vocab_size != corridor.vocab_size(CORRIDOR_CONFIG):
    st.error(f"{ui.plain(name)} has a vocabulary of {model.config.vocab_size}; the corridor task uses "
             f"{corridor.vocab_size(CORRIDOR_CONFIG)} tokens.")
    st.stop()

c1, c2 = st.columns([3, 1])
ui.clamp_state("corridor_length", 1, CORRIDOR_CONFIG.max_length)  # a link or deck may carry any number
ui.clamp_state("corridor_seed", 0, settings.MAX_SEED)
length = c1.slider("Corridor length (distractors)", 1, CORRIDOR_CONFIG.max_length, settings.CORRIDOR_DEFAULT_LENGTH,
                   key="corridor_length")
seed = c2.number_input("Seed", 0, settings.MAX_SEED, 0, key="corridor_seed")
ep = make_episode(length, int(seed))
with ui.failures("Cannot trace this episode", stop=True):
    tr = store.run_trace(source, ep.tokens, ep.targets)

guess, p_true = answer(tr, ep)
ok = guess == ep.cue
m1, m2, m3 = st.columns(3)
m1.metric("Cue", ep.cue)
m2.metric("Model's answer at the query", guess, delta="right" if ok else "wrong",
          delta_color="green" if ok else "red", delta_arrow="off")
m3.metric("Probability of the true cue", f"{p_true:.2f}")
rows = cue_report(tr, ep)
kept = [r["layer"] for r in rows if r["cue seen at the query"] > 0]
st.markdown(f"The cue is **{'still held' if kept else 'gone'}** at the query"
            + (f" in layer(s) {', '.join(map(str, kept))}." if kept else "."))
spans_alone = cue_spans_alone(lambda tokens: store.run_trace(source, tokens))
eliminated = ok and not kept and by_elimination(ep, spans_alone)
if eliminated:
    others = ", ".join(f"cue {c}: {s:,.0f}" for c, s in spans_alone.items() if c != ep.cue)
    st.info(f"The answer is right with no memory of the cue: the model answers cue {ep.cue} by elimination. It "
            f"keeps every other cue past the query (longest spans: {others} steps) and lets cue {ep.cue} go at once "
            f"(span {spans_alone[ep.cue]:,.0f}). When no cue is left in memory, the answer can only be {ep.cue}.")
elif ok and not kept:
    st.info("The answer is right although the cue's own memory has expired: before it went, later tokens "
            "attended to it and carried the cue forward in their own memories (look for the distractors with "
            "long spans).")

shown_for = (name, loading.checkpoint_version(source), loading.digest(ep.tokens))  # this model, this episode
if st.button("Forget the cue", key="corridor_forget",
             help="Run this episode again with the cue forced out of every layer's memory from the moment it is "
                  "read, and compare the answers."):
    st.session_state["corridor_forgot"] = shown_for  # shown until the episode or the model changes
if st.session_state.get("corridor_forgot") == shown_for:
    with ui.failures("Cannot trace this episode without the cue"):
        without = answer(store.run_trace(source, ep.tokens, ep.targets, forget=cue_forget(ep)), ep)
        f1, f2 = st.columns(2)
        f1.metric("Probability of the true cue, cue in memory", f"{p_true:.2f}")
        f2.metric("Probability of the true cue, cue forgotten", f"{without[1]:.2f}")
        st.markdown(forget_sentence(ep, (guess, p_true), without, eliminated))
fig = task_figures.corridor_spans(tr, ep.cue_pos, ep.query_pos)
ui.chart(fig, key="corridor_spans")
st.dataframe(pd.DataFrame(rows), hide_index=True)
st.caption(f"Span: how many steps the model keeps a memory (at most {tr.max_span:,} for this model); past its span "
           f"a memory fades out over {tr.ramp} steps. The query still sees the cue while the cue's span covers the "
           "distance between them, and partly while it fades: \"seen at the query\" is how much (1 = fully).")
ui.export_section(tr, fig, "corridor", dict(checkpoint=name, length=length, seed=int(seed),
                                           input_sha1=loading.digest(ep.tokens)), text=False)
