"""Forced forgetting on the task pages (issue 35): "Forget the cue" on the Teaching page and "Forget this collision"
on the Object tracking page. The plain helpers behind their words first, then each page's control through AppTest on
the tiny checkpoints."""
from types import SimpleNamespace

import numpy as np
from streamlit.testing.v1 import AppTest
from support import MAIN, app_checkpoints, errors, page_text, single_thread  # noqa: F401

from app.views import collision as cv, corridor
from model import ExpireSpanLM, trace
from model.tasks import collision


# --- the corridor: what forgetting the cue did --------------------------------------------------------------------

def episode(cue: int = 2) -> corridor.Episode:
    return corridor.Episode(np.zeros(103, np.int64), np.zeros(103, np.int64), cue=cue)


def test_the_cue_is_forgotten_at_its_position_in_every_layer():
    assert corridor.cue_forget(episode()) == [(None, 1, 2)]


def test_forgetting_a_kept_cue_says_both_answers_and_probabilities():
    said = corridor.forget_sentence(episode(3), (3, 0.99996), (2, 0.00002), eliminated=False)
    assert said == ("Without the cue in memory the model answers 2, giving the true cue 3 a probability of 0.00 "
                    "(with it: answers 3, 1.00).")


def test_a_cue_answered_by_elimination_loses_nothing_when_forgotten():
    said = corridor.forget_sentence(episode(3), (3, 0.999943), (3, 0.999944), eliminated=True)
    assert said.startswith("The model answers cue 3 by elimination, so forgetting the cue changes nothing")
    assert "answers 3, giving the true cue a probability of 1.00" in said


def test_elimination_is_claimed_to_change_nothing_only_where_nothing_changes():
    """The page's elimination finding comes from the spans alone; where the run without the cue still differs (to
    the two decimals shown), the sentence says so and gives both answers."""
    said = corridor.forget_sentence(episode(3), (3, 0.97), (3, 0.61), eliminated=True)
    assert "changes nothing" not in said and "does change something" in said
    assert said.endswith("without the cue in memory the model answers 3, giving the true cue 3 a probability of "
                         "0.61 (with it: answers 3, 0.97).")
    said = corridor.forget_sentence(episode(3), (3, 0.97), (3, 0.97), eliminated=False)
    assert said.startswith("Without the cue in memory") and "elimination" not in said


# --- the collision task: what forgetting a collision did -----------------------------------------------------------

def answered_by(seq, frame: int) -> np.ndarray:
    return np.flatnonzero((seq.labels > 0) & (seq.answer_frames == frame))


def test_a_collision_is_forgotten_as_its_whole_frame_in_every_layer():
    seq = collision.generate(collision.SCALED, 20, 0)
    assert cv.frame_forget(seq, 3) == [(None, 24, 32)]


def test_forget_rows_and_changes_count_what_the_predictions_say():
    seq = collision.generate(collision.SCALED, 120, 0)
    frame = 2  # the first collision: it answers 52 questions
    asked = answered_by(seq, frame)
    frames = np.flatnonzero(seq.labels > 0)
    plain = np.zeros(len(seq.tokens), np.int64)
    plain[frames * 8 + 7] = seq.labels[frames]  # right everywhere
    forgot = plain.copy()
    q = asked[:3] * 8 + 7
    forgot[q] = seq.labels[asked[:3]] % 4 + 1  # three of its questions go wrong
    other = [f for f in frames if f > frame and f not in asked][:2]
    forgot[np.array(other) * 8 + 7] = seq.labels[other] % 4 + 1  # and two answers it does not give change
    before = frames[frames < frame]
    forgot[before * 8 + 7] = 0  # before the collision: never counted (the page's traces agree there)
    rows = cv.forget_rows(SimpleNamespace(predictions=plain), SimpleNamespace(predictions=forgot), seq, frame)
    assert [r["question at frame"] for r in rows] == asked.tolist() and len(rows) == 52
    r = rows[0]
    assert r["true quadrant"] == seq.labels[asked[0]] == r["answer with it"] and r["right with it"]
    assert r["answer without it"] == seq.labels[asked[0]] % 4 + 1 and not r["right without it"]
    assert r["asked colours"] == tuple(int(c) for c in seq.questions[asked[0]])
    assert sum(not r["right without it"] for r in rows) == 3
    changed, later = cv.changed_after(SimpleNamespace(predictions=plain), SimpleNamespace(predictions=forgot), seq,
                                      frame)
    assert (changed, later) == (5, int((frames >= frame).sum()))
    said = cv.forget_collision_words(rows, changed, later)
    assert said == ("This collision answered 52 later questions (all of them right with it in memory); without it "
                    "3 of them go wrong. 2 other scored answers after it change too.")


def row(with_it: bool, without: bool) -> dict:
    return {"answer with it": 1 if with_it else 2, "answer without it": 1 if without else 3,
            "right with it": with_it, "right without it": without}


def test_collision_words_for_one_or_many_questions():
    assert cv.forget_collision_words([row(True, False)], 1, 9) == (
        "This collision answered 1 later question; without it the answer goes wrong.")
    assert cv.forget_collision_words([row(True, True)], 0, 9).endswith("the answer stays right.")
    assert cv.forget_collision_words([row(False, True)], 1, 9).endswith("the answer goes right.")
    assert cv.forget_collision_words([row(False, False)], 2, 9) == (
        "This collision answered 1 later question; without it the answer stays wrong. 1 other scored answer after "
        "it changes too.")
    rows = [row(True, False), row(True, False), row(True, True), row(False, True), row(False, False)]
    assert cv.forget_collision_words(rows, 4, 40) == (
        "This collision answered 5 later questions (3 of them right with it in memory); without it 2 of them go "
        "wrong and 1 goes right.")
    assert cv.forget_collision_words([row(True, True)] * 3, 0, 40) == (
        "This collision answered 3 later questions (all of them right with it in memory); without it none of them "
        "goes wrong.")
    assert cv.forget_collision_words([row(False, False)] * 4, 0, 40) == (
        "This collision answered 4 later questions, none of them right even with it in memory.")
    assert cv.forget_collision_words([row(False, True), row(False, False)], 1, 40) == (
        "This collision answered 2 later questions, none of them right even with it in memory; without it 1 goes "
        "right.")


def test_collision_words_when_it_answers_nothing():
    """Forgetting a collision no question asks about can still change other answers: the words count them."""
    assert cv.forget_collision_words([], 0, 0) == (
        "This collision answered no question, and no scored question comes after it.")
    assert cv.forget_collision_words([], 3, 2746) == (
        "This collision answered no later question; forgetting it still changes 3 of the 2,746 scored answers "
        "after it.")
    assert cv.forget_collision_words([], 0, 2859).endswith("forgetting it changes none of the 2,859 scored answers "
                                                            "after it.")
    assert cv.forget_collision_words([], 1, 1).endswith("forgetting it still changes the one scored answer after it.")
    assert cv.forget_collision_words([], 0, 1).endswith("leaves unchanged the one scored answer after it.")


# --- the pages ---------------------------------------------------------------------------------------------------

def page(name: str, **state) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=240)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(f"app_pages/{name}.py").run()
    assert not at.exception, at.exception
    return at


def test_teaching_page_forgets_the_cue(app_checkpoints):
    at = page("teaching", corridor_length=30, corridor_seed=4)
    assert not errors(at) and "Forget the cue" in [b.label for b in at.button]
    assert "cue forgotten" not in page_text(at)  # nothing shown before the click
    ep = corridor.make_episode(30, 4)
    model = ExpireSpanLM.from_pretrained(app_checkpoints / "corridor")
    kept = corridor.answer(trace(model, ep.tokens, targets=ep.targets), ep)
    forgot = corridor.answer(trace(model, ep.tokens, targets=ep.targets, forget=corridor.cue_forget(ep)), ep)
    assert forgot != kept  # the tiny model reads the cue: forgetting it moves the answer's probability
    at.button(key="corridor_forget").click().run()
    assert not at.exception and not errors(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Probability of the true cue, cue in memory"] == f"{kept[1]:.2f}"
    assert metrics["Probability of the true cue, cue forgotten"] == f"{forgot[1]:.2f}"
    said = [m.value for m in at.markdown if m.value.startswith(("Without the cue", "The model answers cue"))]
    assert said == [corridor.forget_sentence(ep, kept, forgot, eliminated=False)]
    at.run()  # the result stays through other reruns of the same episode, and goes with it
    assert "Probability of the true cue, cue forgotten" in [m.label for m in at.metric]
    at.number_input(key="corridor_seed").set_value(5).run()
    assert "Probability of the true cue, cue forgotten" not in [m.label for m in at.metric]


def test_objects_page_forgets_a_collision(app_checkpoints):
    at = page("objects", objects_frames=120, objects_seed=0)
    seq = collision.generate(collision.SCALED, 120, 0)
    assert not seq.collisions[0] and "objects_forget" not in [b.key for b in at.button]  # no collision at frame 0
    at.button(key="objects_next").click().run()
    f = at.slider(key="frame").value
    assert f == 2 and seq.collisions[f]
    at.button(key="objects_forget").click().run()
    assert not at.exception and not errors(at)
    model = ExpireSpanLM.from_pretrained(app_checkpoints / "object-collision")
    plain = trace(model, seq.tokens, targets=seq.targets)
    forgot = trace(model, seq.tokens, targets=seq.targets, forget=cv.frame_forget(seq, f))
    rows = cv.forget_rows(plain, forgot, seq, f)
    assert len(rows) == len(answered_by(seq, f)) == 52
    said = cv.forget_collision_words(rows, *cv.changed_after(plain, forgot, seq, f))
    assert said.startswith("This collision answered 52 later questions")
    assert cv.md_escape(said) in page_text(at)  # escaped as all the page's markdown
    table = at.dataframe[1].value  # [0]: accuracy by quarter, [1]: this table, [2]: every question
    assert table["question at frame"].tolist() == [r["question at frame"] for r in rows]
    assert table["answer without it"].tolist() == [r["answer without it"] for r in rows]
    assert table["right with it"].tolist() == [r["right with it"] for r in rows]
    at.button(key="objects_next").click().run()  # another collision: its own button, nothing shown yet
    assert at.slider(key="frame").value == 103 and cv.md_escape(said) not in page_text(at)
    at.button(key="objects_forget").click().run()
    assert not at.exception and "This collision answered 1 later question" in page_text(at).replace("\\", "")
