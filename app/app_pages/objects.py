"""Object tracking: particles on a grid; remember where each colour pair last collided. Figures measured on the
checkpoint (how often it is right on fresh sequences) come from its entry of checkpoints/results.json."""
import numpy as np
import pandas as pd
import streamlit as st
from model.collision_memory import span_by_frame_kind, token_kinds
from model.tasks import collision

from app import loading, play, settings, store, ui
from app.views import task_figures
from app.views.collision import (accuracy, accuracy_by_part, changed_after, collision_memory_words,
                                colour_legend_html, forget_collision_words, forget_rows, frame_forget, frame_story,
                                md_escape, measured_note, next_collision, parse_upload, quadrant_note, question_rows,
                                rule_words)

st.title("Object tracking: where did they collide?")
st.markdown("Particles drift on a small grid and now and then change colour. When two particles land in the "
            "same cell they **collide**. After every frame (one step of the particles) the model is asked: "
            "*in which quadrant did these two colours last collide?* The answer can lie thousands of tokens "
            "back, so a model needs the collisions long after they happen, and not the ordinary frames. Often, "
            "though, the particles meet again near where they last met, so the most recent collision alone "
            "answers many questions: below, the model's score stands beside that rule's. Whether this model's "
            "spans do keep the collision frames longer is measured below too, on the sequence shown.")
source, name, model = ui.require_model("collision", "ckpt_objects")
cfg = loading.collision_config_for(model.config.vocab_size)
if cfg is None:
    st.error(f"{md_escape(name)} has a vocabulary of {model.config.vocab_size} tokens, which matches no "
             "setting of the collision task.")
    st.stop()

kind = st.radio("Sequence", ["Generate", "Upload JSON"], key="objects_source", horizontal=True)
if kind == "Generate":
    c1, c2 = st.columns([3, 1])
    lo, hi = settings.OBJECTS_MIN_FRAMES, settings.OBJECTS_MAX_FRAMES
    ui.clamp_state("objects_frames", lo, hi)  # a link or deck may carry any number
    ui.clamp_state("objects_seed", 0, settings.MAX_SEED)
    frames = c1.slider("Frames", lo, hi, settings.OBJECTS_DEFAULT_FRAMES, step=10, key="objects_frames")
    seed = c2.number_input("Seed", 0, settings.MAX_SEED, 0, key="objects_seed",
                           help="A different seed gives a different sequence; the same seed, the same one.")
    seq = collision.generate(cfg, frames, int(seed))
else:
    st.caption("The file format is described in `assets/collision-schema.md`; `assets/collision-example.json` "
               "is an example.")
    upload = st.file_uploader("A collision sequence (.json)", type=["json"], key="objects_upload")
    if upload is None:
        st.info("Choose a JSON file.")
        st.stop()
    with ui.failures("Cannot read this file", stop=True):
        seq = parse_upload(upload.getvalue())  # capped by bytes before parsing, by tokens before tracing
    if collision.vocab_size(seq.config) != model.config.vocab_size:
        st.error(f"This sequence uses {collision.vocab_size(seq.config)} token ids (grid {seq.config.grid}, "
                 f"{seq.config.colours} colours); {md_escape(name)} reads {model.config.vocab_size}.")
        st.stop()

with ui.failures("Cannot trace this sequence", stop=True):
    tr = store.run_trace(source, seq.tokens, seq.targets)
right, n_scored = accuracy(tr, seq)
parts = accuracy_by_part(tr, seq, min(4, seq.n_frames))
rule_right = sum(p["rule right"] for p in parts)  # the latest-collision rule, read once for the chart and here
m1, m2, m3, m4 = st.columns(4)
m1.metric("Frames / tokens", f"{seq.n_frames:,} / {len(seq.tokens):,}")
m2.metric("Scored questions", f"{n_scored:,}")
m3.metric("Answered right", f"{right / n_scored:.0%}" if n_scored else "nothing scored")
m4.metric("Latest-collision rule", f"{rule_right / n_scored:.0%}" if n_scored else "nothing scored",
          help="Right answers of a rule that needs no model: the quadrant of the most recent collision, whatever "
               "colours are asked.")
st.caption(f"The model reads each frame as {seq.frame_len} tokens: for each of the {seq.config.particles} "
           "particles its row, its column and its colour, then the two colours of the question. A question counts "
           "(is scored) only once its two colours have collided. Chance is 25%: a guess among four quadrants.")
if n_scored:
    st.markdown(rule_words(right, rule_right, n_scored))

st.subheader("How often is the model right along the sequence?")
part = "quarter" if len(parts) == 4 else "part"
ui.chart(task_figures.accuracy_by_part(parts), key="accuracy_by_part")
st.dataframe(pd.DataFrame([{
    part: p["part"], "frames": f"{p['first frame']:,} to {p['last frame']:,}", "scored questions": p["scored"],
    "answered right": None if p["accuracy"] is None else f"{p['accuracy']:.0%}",
    "latest-collision rule": None if p["rule accuracy"] is None else f"{p['rule accuracy']:.0%}",
    "collision frames that answer them": p["collisions"],
    "median tokens back": p["median tokens back"]} for p in parts]),
    hide_index=True)
medians = ", ".join(f"{float(m):,.0f}" for m in np.nanmedian(tr.spans, axis=1))
st.caption("Why the start is hard: early on few collisions have happened, so a handful of them answer all the "
           "questions (the table counts them: 'collision frames that answer them'). Each collision the model gets "
           "wrong costs many answers at once, so the score of a short stretch swings with a few guesses, and it "
           "settles as more collisions come. Many answers also lie further back than most memories last (in this "
           f"sequence the median span of layers 0 to {tr.n_layers - 1} is {medians} tokens; compare the chart of "
           "spans below). 'Collision frames that answer them': how many different frames the quarter's answers "
           "come from; 'median tokens back': half of its answers lie further back than this.")
measured = measured_note(loading.results_of(source), settings.OBJECTS_DEFAULT_FRAMES)
if measured:
    st.caption(measured)

st.subheader("Frame by frame")
ui.html_block(colour_legend_html(seq.config))
st.markdown(quadrant_note(seq.config))


def _jump(step: int) -> None:
    st.session_state["frame"] = next_collision(seq, int(st.session_state.get("frame", 0)), step)


interval = play.controls("frames", "the frame")


@st.fragment(run_every=interval)
@ui.failures("This frame cannot be shown")
def frame_view():
    ui.clamp_state("frame", 0, max(0, seq.n_frames - 1))
    if interval:
        play.advance("frame", 1, 0, seq.n_frames - 1)
    b1, b2, _ = st.columns([1, 1, 3])
    b1.button("Previous collision", key="objects_prev", on_click=_jump, args=(-1,))
    b2.button("Next collision", key="objects_next", on_click=_jump, args=(1,))
    f = ui.slider("Frame", 0, seq.n_frames - 1, key="frame")  # starts at 0, the minimum
    left, right_col = st.columns([3, 2])
    with left:
        ui.chart(task_figures.collision_grid(seq, f), key="grid")
    with right_col:
        for line in frame_story(tr, seq, f):
            st.markdown(line)
    if seq.collisions[f]:
        forget_view(f)


def forget_view(f: int) -> None:
    """"Forget this collision": the sequence traced again with frame f forced out of every layer's memory, and what
    that did to the questions the collision answers."""
    shown_for = (name, loading.checkpoint_version(source), loading.digest(seq.tokens), f)
    if st.button("Forget this collision", key="objects_forget",
                 help="Trace the sequence again with every token of this frame forced out of every layer's memory "
                      "from the moment it is read, and compare the answers to the questions it answers."):
        st.session_state["objects_forgot"] = shown_for  # shown until the frame, sequence or model changes
    if st.session_state.get("objects_forgot") != shown_for:
        return
    with ui.failures("Cannot trace the sequence without this collision"):
        forgot = store.run_trace(source, seq.tokens, seq.targets, forget=frame_forget(seq, f))
        rows = forget_rows(tr, forgot, seq, f)
        st.markdown(md_escape(forget_collision_words(rows, *changed_after(tr, forgot, seq, f))))
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True)
            st.caption("One row per scored question this collision answers: quadrants 1 to 4 as on the grid; "
                       "'with it': the model's answer as it reads the sequence; 'without it': its answer when "
                       f"the {seq.frame_len} tokens of frame {f} are forced out of every layer's memory as soon as "
                       "they are read.")


frame_view()
fig = task_figures.spans_per_frame(tr, seq.frame_len, seq.collisions)
ui.chart(fig, key="spans_per_frame")
st.caption(f"A token's **span** is how many tokens later the model still remembers it; when the span runs out "
           f"the memory expires (this is what Expire-Span learns: a lifetime for every memory). Each of the "
           f"{tr.n_layers} layers keeps its own memories. A cell is the mean span of one frame's "
           f"{seq.frame_len} tokens in one layer: bright columns are frames kept long. The ticks above the "
           "heatmap mark the collision frames.")

st.subheader("Does the model keep the collision frames longer?")
memory = span_by_frame_kind([tr.spans], [token_kinds(seq)])
for sentence in collision_memory_words(memory):
    st.markdown(sentence)
if memory["tokens_collision"] and memory["tokens_ordinary"]:
    ui.chart(task_figures.spans_by_frame_kind(memory), key="spans_by_frame_kind")
    n_hit = memory["tokens_collision"] // seq.frame_len
    n_asked = memory["tokens_answering"] // seq.frame_len
    st.caption(f"Mean span of every token of this sequence's {n_hit:,} collision "
               f"frame{'s' if n_hit != 1 else ''} against that of its "
               f"{memory['tokens_ordinary'] // seq.frame_len:,} ordinary frames, layer by layer; {n_asked:,} of "
               f"the collision frames answer a later question and {n_hit - n_asked:,} answer none. A layer is "
               f"said to keep one kind longer only where its mean span is at least "
               f"{settings.COLLISION_KEEP_RATIO:g} times the other's. Few collision frames make these means "
               "noisy: another seed or length may give other ratios.")
st.subheader("Questions")
rows = question_rows(tr, seq)
if len(rows) < n_scored:
    st.caption(f"The first {len(rows):,} of {n_scored:,} scored questions.")
st.dataframe(pd.DataFrame(rows), hide_index=True)
st.caption("One row per scored question. 'asked colours': the question's two colour numbers, the lower-numbered "
           "particle's first; 'true "
           "quadrant' and 'model answer': quadrants 1 to 4 as on the grid (1 top left, 2 top right, 3 bottom "
           "left, 4 bottom right); 'right': ticked when they agree; 'collision frame': the frame of the collision "
           "that answers it; 'tokens back': how far back that is; 'memory survived in layers': the layers in which "
           "some token of that collision's frame was still remembered at the question (its span reached that "
           "far and it had not been dropped from the layer's memory), or 'none'.")
ui.export_section(tr, fig, "collision", dict(checkpoint=name, frames=seq.n_frames, seed=seq.seed,
                                            input_sha1=loading.digest(seq.tokens)), text=False)
