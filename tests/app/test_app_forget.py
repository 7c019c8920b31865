"""Forget a word (the Text page's section; docs/method.md 18): the pure functions of app/views/forgetting.py, the
section on the tiny checkpoints, its CSV, and its link and deck fields."""
import csv
import io
import re

import numpy as np
import pytest
from support import app_checkpoints, errors, new_app, page_text, single_thread  # noqa: F401

from app import store
from app.views import decks, exports, forgetting, kept
from app.views.examples import EXAMPLES, example_text
from app.views.decks import DeckError, Slide, decode, encode, slide_from_dict
from app.views.words import Words, WordStats, split_words, word_stats
from model import ExpireSpanLM, trace

TEXT = ("The keeper Quillan locked the gate at dusk. The river ran high and the boats stayed in. "
        "At dawn Quillan opened it again.")
FIRST = TEXT.index("Quillan")
AGAIN = TEXT.index("Quillan", FIRST + 1)


def unescaped(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


def visible(body: str) -> str:
    import html
    return html.unescape(re.sub(r"<[^>]+>", "", body))


# --- pure functions ---------------------------------------------------------------------------------------------

def test_the_sentence_for_a_big_effect_names_the_cost_and_where_it_fell():
    rows = [{"word": "Quillan", "at byte": 1442, "extra bits": 5.9, "forgotten word": "1,400 bytes before"},
            {"word": "gate", "at byte": 1500, "extra bits": 0.2, "forgotten word": "1,458 bytes before"}]
    assert (forgetting.sentence("Quillan", 0, 6.2, rows)
            == "Forgetting 'Quillan' in layer 0 costs 6.2 bits later in the text, 5.9 of them on its return at "
               "byte 1,442.")
    other = forgetting.sentence("Quillan", forgetting.ALL_LAYERS, 6.2, rows[1:])
    assert other.startswith("Forgetting 'Quillan' in every layer costs 6.2 bits") and "on 'gate' at byte 1,500" in other
    alone = forgetting.sentence("Quillan", 1, 4.0, rows)  # the top word lost more than the whole: others gained
    assert "5.9 on its return at byte 1,442 alone" in alone
    spread = forgetting.sentence("Quillan", 1, 12.4, rows)  # the top word holds less than half of it
    assert spread.endswith("costs 12.4 bits later in the text, spread over many bytes: the most on one word is 5.9, "
                           "on its return at byte 1,442.")


def test_the_sentence_for_almost_nothing_never_claims_the_word_was_unused():
    said = forgetting.sentence("it", forgetting.ALL_LAYERS, 0.03, [])
    assert said == "Forgetting 'it' in every layer changes almost nothing later in the text (+0.03 bits)."
    assert "(0.00 bits)" in forgetting.sentence("it", 0, -0.001, []) and "(-0.05 bits)" in forgetting.sentence(
        "it", 0, -0.05, [])
    helped = forgetting.sentence("it", 2, -1.5, [])
    assert "saves 1.5 bits" in helped and "layer 2" in helped
    for text in (said, helped, forgetting.sentence("x", 0, 3.0, [])):
        assert "not use" not in text and "never used" not in text and "ignore" not in text


def toy(text: str) -> Words:
    return split_words(np.frombuffer(text.encode(), np.uint8))


def test_rows_are_the_later_words_sorted_by_their_loss():
    words = toy(TEXT)
    delta = np.zeros(len(TEXT.encode()))
    delta[:FIRST + 7] = np.nan  # unscored or unchanged before: neither counts
    gains = {"gate": 0.5, "river": 0.05, "Quillan": 3.0, "dawn": -0.4, "boats": 0.005}
    for w in range(len(words)):
        if words.text[w] in gains and words.start[w] > FIRST:
            delta[words.start[w]] = gains[words.text[w]]
    rows = forgetting.loss_rows(words, delta, FIRST, FIRST + 7)
    assert [r["word"] for r in rows] == ["Quillan", "gate", "river"]  # most first; under 0.01 and gains left out
    assert [r["extra bits"] for r in rows] == [3.0, 0.5, 0.05]
    assert rows[0]["at byte"] == AGAIN and rows[0]["forgotten word"] == f"{AGAIN - FIRST:,} bytes before"
    assert forgetting.loss_rows(words, delta, FIRST, FIRST + 7, n=1) == rows[:1]
    assert forgetting.extra_after(delta, FIRST + 7) == pytest.approx(3.0 + 0.5 + 0.05 - 0.4 + 0.005)
    assert forgetting.extra_after(np.full(5, np.nan), 2) == 0.0 and forgetting.extra_after(delta, 10_000) == 0.0
    peak = np.zeros_like(delta)
    peak[AGAIN + 3] = 2.0
    assert forgetting.peak_byte(words, peak, forgetting.word_index(words, AGAIN)) == AGAIN + 3


def test_the_word_picker_offers_words_and_moves_a_position_to_the_nearest():
    words = toy(TEXT)
    labels = forgetting.word_labels(words)
    assert labels[FIRST] == "Quillan · byte 11" and 0 in labels and TEXT.index(".") not in labels
    assert forgetting.nearest_word(words, FIRST + 3) == FIRST  # inside a word: that word
    assert forgetting.nearest_word(words, TEXT.index(".")) == TEXT.index(". The") + 2  # the closer start
    assert forgetting.nearest_word(words, 10_000) == TEXT.index("again")
    assert forgetting.nearest_word(toy(" .. "), 1) is None
    assert forgetting.word_index(words, FIRST) is not None and forgetting.word_index(words, FIRST + 1) is None
    assert forgetting.forget_ranges(-1, 3, 9) == [(None, 3, 9)] and forgetting.forget_ranges(1, 3, 9) == [(1, 3, 9)]


def test_the_default_word_is_the_longest_kept():
    words = toy("aa bbb cc")
    span = np.array([[1.0, 0, 5, 0, 2], [3.0, 0, 4, 0, 9]])
    stats = WordStats(span, span, np.full_like(span, -1), span, np.zeros(5))
    assert forgetting.default_word(words, stats) == 7  # 'cc', span 9 in layer 1
    assert forgetting.default_word(toy(" . "), WordStats(*(np.zeros((1, 3)),) * 4, np.zeros(3))) is None


def test_a_word_with_markup_is_escaped_in_the_table_and_the_strip():
    evil = "<b>x</b>"
    words = Words(np.array([0, 8, 9]), np.array([8, 9, 17]), [evil, " ", evil],
                  np.array(["word", "space", "word"], dtype=object))
    delta = np.array([0.0] * 9 + [1.0] * 8)
    rows = forgetting.loss_rows(words, delta, 0, 8)
    table = kept.rises_table_html(rows)
    assert rows[0]["word"] == evil and "<b>x</b>" not in table and "&lt;b&gt;x&lt;/b&gt;" in table
    tokens = np.frombuffer((evil + " " + evil).encode(), np.uint8)
    strip = forgetting.diff_strips_html([("a <i>label</i>", forgetting.diff_strip(tokens, delta, 1.0, 0, 17, (0, 8)))])
    assert "<b>" not in strip.replace("<b>a &lt;i&gt;", "") and "<i>" not in strip
    assert visible(strip).count(evil) == 2 and "&lt;" in strip
    assert strip.count(' fw"') == 8  # the forgotten bytes outlined
    assert not re.search(r"\son\w+\s*=", strip)  # no event attribute anywhere


def test_the_scale_is_symmetric_red_for_hurt_blue_for_helped():
    delta = np.array([np.nan, 0.0, 0.5, -2.0, 1.0])
    vmax = forgetting.symmetric_scale(delta)
    assert vmax == 2.0 and forgetting.symmetric_scale(np.zeros(3)) == 0.01
    rgb = forgetting.diff_colours(np.array([-1.0, 1.0, 0.0, np.nan, -0.3, 0.3]), 1.0).astype(int)
    assert tuple(rgb[2]) == (247, 247, 247) and tuple(rgb[3]) == (220, 220, 220)
    assert rgb[1][0] > rgb[1][2] and rgb[0][2] > rgb[0][0]  # +: red, -: blue
    white, red, blue = forgetting.WHITE, forgetting.RED, forgetting.BLUE
    for x, (helped, hurt) in ((1.0, rgb[[0, 1]]), (0.3, rgb[[4, 5]])):  # as far along the scale either way
        assert np.allclose((hurt - white) / (red - white), x, atol=0.01)
        assert np.allclose((helped - white) / (blue - white), x, atol=0.01)
    index = forgetting.diff_index(np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 5.0]), 2.0)
    assert list(index) == [-16, -8, 0, 8, 16, 16]
    legend = forgetting.diff_legend(vmax)
    assert re.findall(r">([+-][0-9.]+)<", legend) == ["-2.00", "-1.00", "+0.00", "+1.00", "+2.00"]
    css = forgetting.diff_css()
    assert ".fr16{background:#b2182b" in css and ".fb16{background:#2166ac" in css and ".fz{background:#f7f7f7" in css


def test_the_attention_note_says_which_layer_and_how_much():
    note = forgetting.attention_note("Quillan", 3, 811, 0.4567, most=True)
    assert note.startswith("At byte 811, predicting byte 812, layer 3 (the layer that read it most) gave 46% of "
                           "its attention to 'Quillan' with the memory; without it none can go there.")
    assert "read it most" not in forgetting.attention_note("Quillan", 0, 5, 0.0) and "gave 0%" in \
        forgetting.attention_note("Quillan", 0, 5, 0.0)
    words = toy(TEXT)
    row = np.zeros(AGAIN)
    row[FIRST:FIRST + 7] = 0.1
    row[0] = 0.2
    assert forgetting.share_on(words, row, FIRST) == pytest.approx(0.7) and forgetting.share_on(words, row, 0) == 0.2
    assert forgetting.share_on(words, row, AGAIN) == 0.0  # not read yet


def test_the_change_csv_has_a_row_per_byte():
    tokens = np.frombuffer(b"ab c", np.uint8)
    plain, forgot = np.array([np.nan, 1.0, 2.0, 3.0]), np.array([np.nan, 1.0, 2.5, 2.0])
    rows = list(csv.reader(io.StringIO(exports.change_csv(tokens, plain, forgot, (0, 2)))))
    assert rows[0] == ["position", "token", "char", "forgotten", "bits", "bits_forgotten", "change"]
    assert rows[1] == ["0", "97", "a", "1", "", "", ""] and rows[3] == ["2", "32", "␣", "0", "2.0", "2.5", "0.5"]
    assert rows[4][-1] == "-1.0" and len(rows) == 5


# --- the section on the tiny checkpoints --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def model(app_checkpoints):
    return ExpireSpanLM.from_pretrained(app_checkpoints / "text")


def table_cells(body: str) -> list[list[str]]:
    return [[visible(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", body)]


def forget_app(text: str = TEXT):
    at = new_app()
    at.radio(key="input_kind").set_value("Type or paste").run()
    at.text_area(key="text_input").input(text).run()
    at.session_state["forget_open"] = True  # what opening the section does (it reruns the page)
    at.run()
    assert not at.exception and not errors(at), (at.exception, errors(at))
    return at


def test_the_forget_control_forgets_a_word_and_shows_what_it_cost(app_checkpoints, model, monkeypatch):
    real = forgetting.loss_rows  # a random tiny model's losses barely move: list every later word, to see the table
    monkeypatch.setattr(forgetting, "loss_rows", lambda *a, **k: real(*a, **{**k, "at_least": -np.inf}))
    at = forget_app()
    plain = trace(model, TEXT)
    words = split_words(plain.tokens)
    default = forgetting.default_word(words, word_stats(plain, words))
    assert at.selectbox(key="forget_at").value == default and at.selectbox(key="forget_layer").value == -1
    assert "Press **Forget it**" in page_text(at) and not any("es-f" in h.proto.body for h in at.html)
    at.selectbox(key="forget_at").set_value(FIRST).run()
    at.selectbox(key="forget_layer").set_value(0).run()
    at.button(key="forget_go").click().run()
    assert not at.exception and not errors(at), errors(at)
    forgot = trace(model, TEXT, forget=[(0, FIRST, FIRST + 7)])
    delta = forgetting.change(plain.bits, forgot.bits)
    rows = forgetting.loss_rows(words, delta, FIRST, FIRST + 7)
    said = forgetting.sentence("Quillan", 0, forgetting.extra_after(delta, FIRST + 7), rows)
    shown = unescaped(page_text(at))
    assert said in shown and "in layer 0" in said and "may still carry" in shown
    strip = next(h.proto.body for h in at.html if "es-f" in h.proto.body)
    assert "Quillan" in visible(strip) and strip.count(' fw"') == 7 and "change in loss" in strip
    table = next(h.proto.body for h in at.html if "es-rises" in h.proto.body)  # the later words that lost most
    assert [r[0] for r in table_cells(table)[1:]] == [r["word"] for r in rows] and len(rows) == 10
    assert table_cells(table)[0] == ["word", "at byte", "extra bits", "forgotten word"]
    # where the step that lost most looked, with and without the memory: the word struck through without it
    looked = next(h.proto.body for h in at.html if "with the memory · layer 0" in h.proto.body)
    assert "without it · layer 0" in looked and "line-through" in looked.split("without it · layer 0")[1]
    assert "gave" in shown and "of its attention to 'Quillan' with the memory" in shown
    trace_key = at.session_state["_forget_on"][0]
    assert trace_key == store.trace_key(trace_key[0], TEXT)
    assert (trace_key, FIRST, FIRST + 7, 0) in at.session_state["_forgotten"]
    at.radio(key="view").set_value("Span heatmap").run()  # another view: the result stays, without a click
    assert said in unescaped(page_text(at)) and not errors(at)
    at.selectbox(key="forget_layer").set_value(-1).run()  # every layer: attention of the layer that read it most
    at.button(key="forget_go").click().run()
    assert not at.exception and not errors(at), errors(at)
    shown = unescaped(page_text(at))
    assert "Forgetting 'Quillan' in every layer" in shown and "(the layer that read it most) gave" in shown
    assert len(at.session_state["_forgotten"]) == 2


def test_a_text_without_words_has_nothing_to_forget(app_checkpoints):
    at = forget_app("... !!! ...")
    assert "no words to forget" in page_text(at)


# --- link and deck fields -----------------------------------------------------------------------------------------

def test_the_forget_fields_round_trip_in_links_and_decks():
    slide = Slide("text", {"example": decks.BY_KEY["example"].options[0], "forget_at": 1442, "forget_layer": -1})
    assert encode(slide) == "text.ex=0.fa=1442.fl=-1" and decode(encode(slide)) == slide
    for layer in (0, 3, decks.MAX_LAYERS):
        assert decode(f"text.fa=0.fl={layer}") == Slide("text", {"forget_at": 0, "forget_layer": layer})
    assert decode(f"text.fa={decks.MAX_TEXT_BYTES}").controls["forget_at"] == decks.MAX_TEXT_BYTES
    assert slide_from_dict(slide.to_dict()) == slide  # a deck file keeps the word's position, never its text


@pytest.mark.parametrize("junk", [
    "text.fl=-2", "text.fl=--1", "text.fl=-0", "text.fl=-", "text.fl=+1", f"text.fl={decks.MAX_LAYERS + 1}",
    "text.fa=-1", f"text.fa={decks.MAX_TEXT_BYTES + 1}", "text.fa=²", "text.l=-1", "text.st=-5", "teaching.fa=1",
    "text.fl=-1" + "0" * 9])
def test_bad_forget_fields_are_refused(junk):
    assert decode(junk) is None


@pytest.mark.parametrize("value", [-2, decks.MAX_LAYERS + 1, True, 1.0, "0", None])
def test_a_deck_refuses_a_bad_forget_layer(value):
    with pytest.raises(DeckError, match="forget_layer"):
        slide_from_dict({"page": "text", "controls": {"forget_layer": value}})


def test_a_link_naming_no_word_and_no_such_layer_is_moved_with_a_notice(app_checkpoints):
    from streamlit.testing.v1 import AppTest
    from support import MAIN
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params["bm"], at.query_params["at"] = "text.ex=0.fa=2.fl=7", "0"
    at.run()
    assert not at.exception and not errors(at)
    notes = " ".join(i.value for i in at.info)
    assert "Byte 2 starts no word of this text: the nearest word is chosen" in unescaped(notes)
    assert "not layer 7: layer 1 is chosen" in notes
    words = split_words(np.frombuffer(example_text(list(EXAMPLES)[0]).encode(), np.uint8))
    assert at.selectbox(key="forget_layer").value == 1
    assert at.selectbox(key="forget_at").value == forgetting.nearest_word(words, 2) != 2


def test_bookmarking_the_section_keeps_the_word_and_layer(app_checkpoints):
    at = forget_app()
    at.toggle(key="presenter").set_value(True).run()
    at.selectbox(key="forget_at").set_value(AGAIN).run()
    at.button(key="bm_add").click().run()
    assert not at.exception
    bm = at.query_params["bm"]
    assert f"fa={AGAIN}" in bm and "fl=-1" in bm and "t=1" in bm and "Quillan" not in bm
