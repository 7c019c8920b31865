"""Object tracking: particles on a grid; remember where each colour pair last collided."""
import pandas as pd
import streamlit as st
from model import ExpireSpanError
from model.tasks import collision

from app import loading, state, task_figures, ui
from app.collision_view import question_position, question_rows

st.title("Object tracking: where did they collide?")
st.markdown("Particles drift on a grid and change colour now and then. Each frame ends with a question: "
            "*in which quadrant did these two colours last collide?* The answer can lie thousands of tokens "
            "back, so the model must keep collisions and may forget the ordinary frames.")
source, name, model = ui.require_model("collision", "ckpt_objects")
cfg = loading.collision_config_for(model.config.vocab_size)
if cfg is None:
    st.error(f"{name} has a vocabulary of {model.config.vocab_size}, which matches no collision task setting.")
    st.stop()

kind = st.radio("Sequence", ["Generate", "Upload JSON"], key="objects_source", horizontal=True)
if kind == "Generate":
    c1, c2 = st.columns([3, 1])
    frames = c1.slider("Frames", 10, 2000, 300, step=10, key="objects_frames")
    seed = c2.number_input("Seed", 0, 10_000, 0, key="objects_seed")
    seq = collision.generate(cfg, frames, int(seed))
else:
    st.caption("Schema: see `assets/collision-schema.md`; example: `assets/collision-example.json`.")
    upload = st.file_uploader("A collision sequence (.json)", type=["json"], key="objects_upload")
    if upload is None:
        st.info("Choose a JSON file.")
        st.stop()
    try:
        seq = collision.from_json(upload.getvalue())
    except ValueError as e:
        st.error(f"Cannot read this file: {e}")
        st.stop()
    if collision.vocab_size(seq.config) != model.config.vocab_size:
        st.error(f"This sequence uses {collision.vocab_size(seq.config)} token ids (grid {seq.config.grid}, "
                 f"{seq.config.colours} colours); {name} reads {model.config.vocab_size}.")
        st.stop()

try:
    tr = state.run_trace(source, seq.tokens, seq.targets)
except (ExpireSpanError, ValueError) as e:
    st.error(f"Cannot trace this sequence: {e}")
    st.stop()
rows = question_rows(tr, seq)
m1, m2, m3 = st.columns(3)
m1.metric("Frames / tokens", f"{seq.n_frames:,} / {len(seq.tokens):,}")
m2.metric("Scored questions", len(rows))
m3.metric("Answered right", f"{sum(r['right'] for r in rows) / max(1, len(rows)):.0%}")
st.caption("Chance is about 25%. The first few hundred frames of a sequence are the hardest part: few colour pairs "
           "have collided yet, so most questions ask about one collision far back, often beyond the spans. "
           "Long sequences score better (see the checkpoint's card and `checkpoints/README.md`).")


@st.fragment
def frame_view():
    ui.clamp_state("frame", 0, seq.n_frames - 1)
    f = st.slider("Frame", 0, seq.n_frames - 1, 0, key="frame")
    left, right = st.columns([1, 1])
    with left:
        ui.chart(task_figures.collision_grid(seq, f), key="grid")
    with right:
        q = question_position(seq, f)
        a, b = (int(c) for c in seq.questions[f])
        st.markdown(f"**Question at frame {f}:** where did colours {a} and {b} last collide?")
        if seq.labels[f] > 0:
            guess, truth = int(tr.predictions[q]), int(seq.labels[f])
            st.markdown(f"True quadrant: **{truth}** (collision at frame {int(seq.answer_frames[f])}). "
                        f"Model: **{guess}** {'✅' if guess == truth else '❌'}")
        else:
            st.markdown("That pair has not collided yet: the question is not scored.")
        if seq.collisions[f]:
            st.markdown("**A collision happens in this frame.**")


frame_view()
fig = task_figures.spans_per_frame(tr, seq.frame_len)
ui.chart(fig, key="spans_per_frame")
st.subheader("Questions")
st.dataframe(pd.DataFrame(rows), hide_index=True)
st.caption("'Memory survived': some token of the answering collision's frame still had a non-zero mask at the "
           "question and had not been dropped from that layer's cache.")
ui.export_section(tr, fig, "collision", dict(checkpoint=name, frames=seq.n_frames, seed=seq.seed), text=False)
