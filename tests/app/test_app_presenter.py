"""Presenter mode, slides in the URL (never the user's text) and deck files."""
import json

import plotly.io as pio
import pytest
from streamlit.testing.v1 import AppTest
from support import MAIN, app_checkpoints, chart_specs, errors, new_app, page_text, single_thread  # noqa: F401

from app import presenter
from app.views.decks import DeckError, Slide, decode, decode_all, encode_all, load_deck
from app.views.examples import EXAMPLES
from app.views.text_view_ids import LEGACY_VIEWS, VIEW_IDS

FIRST, THIRD = list(EXAMPLES)[0], list(EXAMPLES)[2]


def test_slide_links_round_trip_and_refuse_junk():
    marks = [Slide("text", {"example": THIRD, "view": "step", "layer": 1, "step": 120, "strip_mode": "one layer"}),
             Slide("about"), Slide("teaching", {"corridor_length": 500}), Slide("text", {"view": "kept"},
                                                                                 own_text=True)]
    assert decode_all(encode_all(marks)) == marks
    assert encode_all(marks[:1]) == "text.ex=2.v=3.l=1.st=120.sm=1"
    for junk in ("", "nope.v=1", "text.v=99", "text.l=²", "text.l=-1", "text.zz=1", "text.cl=5", "text.l=" + "9" * 30,
                 "text.1.2", "text.a.b.c.d", "text.99...."):
        assert decode(junk) is None, junk
    assert decode_all("text.ex=1~garbage~about") == [Slide("text", {"example": list(EXAMPLES)[1]}), Slide("about")]


def test_links_made_before_views_had_names_open_the_same_views():
    assert decode("text.0.2..50") == Slide("text", {"example": FIRST, "view": "step", "step": 50})
    assert decode("text.2.3.1.") == Slide("text", {"example": THIRD, "view": "lifetimes", "layer": 1})
    assert decode("about....") == Slide("about")
    assert LEGACY_VIEWS[:8] == ["heatmap", "bytes", "step", "lifetimes", "in-use", "classes", "bits", "edit"]
    assert list(VIEW_IDS.values()) == presenter.TEXT_VIEWS  # one table (tests/app/test_app_view_registry.py)


def presenter_app():
    at = new_app()
    at.toggle(key="presenter").set_value(True).run()
    return at


def test_bookmark_next_and_previous(app_checkpoints):
    at = presenter_app()
    assert not at.exception
    at.radio(key="view").set_value("Remembered at step t").run()
    at.slider(key="step").set_value(50).run()
    at.button(key="bm_add").click().run()
    assert at.query_params["bm"].startswith("text.ex=0.v=3.") and "st=50" in at.query_params["bm"]
    at.selectbox(key="example").set_value(THIRD).run()
    at.radio(key="view").set_value("Text by span").run()
    at.radio(key="strip_mode").set_value("one layer").run()
    at.selectbox(key="layer").set_value(1).run()
    at.button(key="bm_add").click().run()
    assert at.query_params["at"] == "1"
    at.button(key="bm_prev").click().run()
    assert not at.exception
    assert at.radio(key="view").value == "Remembered at step t" and at.slider(key="step").value == 50
    assert at.selectbox(key="example").value == FIRST and at.query_params["at"] == "0"
    at.button(key="bm_next").click().run()
    assert at.radio(key="view").value == "Text by span" and at.radio(key="strip_mode").value == "one layer"
    assert at.selectbox(key="layer").value == 1 and at.selectbox(key="example").value == THIRD


def test_user_text_never_enters_the_url_and_a_link_says_so(app_checkpoints):
    at = presenter_app()
    at.radio(key="input_kind").set_value("Type or paste").run()
    at.text_area(key="text_input").input("my private note").run()
    at.button(key="bm_add").click().run()
    url = at.query_params["bm"]
    assert "private" not in str(dict(at.query_params)) and url.endswith(".t=1") and "ex=" not in url
    opened = AppTest.from_file(MAIN, default_timeout=60)
    opened.query_params["bm"], opened.query_params["at"] = url, "0"
    opened.run()
    assert not opened.exception and "made on text of its own" in page_text(opened)


@pytest.mark.parametrize("at_value", ["²", "-1", "7", "x", ""])
def test_a_bad_link_is_ignored(app_checkpoints, at_value):
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.query_params["bm"] = "text.0.0.0.0~not-a-slide"
    at.query_params["at"] = at_value
    at.run()
    assert not at.exception and not errors(at)
    assert "could not be read" in page_text(at)


def test_a_link_opens_the_bookmarked_view(app_checkpoints):
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.query_params["bm"] = "about~text.ex=2.v=2.sm=1.l=1"
    at.query_params["at"] = "1"
    at.run()
    assert not at.exception and not errors(at)
    assert at.radio(key="view").value == "Text by span" and at.radio(key="strip_mode").value == "one layer"
    assert at.selectbox(key="layer").value == 1 and at.selectbox(key="example").value == THIRD
    assert at.toggle(key="presenter").value is True


def test_a_link_can_switch_page(app_checkpoints):
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.query_params["bm"] = "about"
    at.query_params["at"] = "0"
    at.run()
    assert not at.exception
    assert any(t.value == "About the model" for t in at.title)


def assert_presenter_controls(at):
    assert at.toggle(key="presenter").value is True
    assert at.selectbox(key="chart_theme").value == "Presentation (large)"
    assert at.button(key="bm_add") and at.button(key="bm_next") and at.button(key="bm_prev")


def test_presenter_mode_holds_across_pages(app_checkpoints):
    at = presenter_app()
    at.switch_page("app_pages/teaching.py").run()
    assert_presenter_controls(at)
    at.number_input(key="corridor_seed").set_value(3).run()
    at.button(key="bm_add").click().run()
    at.switch_page("app_pages/text.py").run()
    at.radio(key="view").set_value("Span heatmap").run()
    at.button(key="bm_add").click().run()
    for i, (button, title) in enumerate([("bm_next", "Teaching: the corridor"), ("bm_next", "Text: what each layer"),
                                         ("bm_prev", "Teaching: the corridor"), ("bm_prev", "Text: what each layer")]):
        at.button(key=button).click().run()
        assert not at.exception, i
        assert any(t.value.startswith(title) for t in at.title), (i, [t.value for t in at.title])
        assert_presenter_controls(at)
        layout = chart_specs(at)[0]["layout"]["template"]["layout"]
        assert layout["font"]["size"] == pio.templates["presentation"].layout.font.size
        if title.startswith("Teaching"):
            assert at.number_input(key="corridor_seed").value == 3  # the slide's own controls came back
        else:
            assert at.radio(key="view").value == "Span heatmap"


@pytest.mark.parametrize("theme, template", [("Dark", "plotly_dark"), ("Light", "plotly_white")])
def test_presenter_chart_theme(app_checkpoints, theme, template):
    at = presenter_app()
    at.selectbox(key="chart_theme").set_value(theme).run()
    at.radio(key="view").set_value("Span heatmap").run()
    assert not at.exception
    layout = chart_specs(at)[0]["layout"]["template"]["layout"]
    assert layout["paper_bgcolor"] == pio.templates[template].layout.paper_bgcolor


def test_deck_round_trip_carries_the_text(app_checkpoints):
    at = presenter_app()
    at.radio(key="input_kind").set_value("Type or paste").run()
    at.text_area(key="text_input").input("Ilse met Teodor at the pier of Varnholm.").run()
    at.radio(key="view").set_value("Text by span").run()
    at.radio(key="strip_mode").set_value("one layer").run()
    at.selectbox(key="layer").set_value(1).run()
    at.button(key="bm_add").click().run()
    saved = at.session_state["_deck"].to_json()
    assert json.loads(saved)["slides"][0]["text"] == "Ilse met Teodor at the pier of Varnholm."
    fresh = new_app()
    fresh.toggle(key="presenter").set_value(True).run()
    fresh.file_uploader(key="deck_upload").upload("deck.json", saved.encode()).run()
    fresh.run()
    assert not fresh.exception and not errors(fresh)
    assert fresh.radio(key="input_kind").value == "Type or paste"
    assert fresh.text_area(key="text_input").value == "Ilse met Teodor at the pier of Varnholm."
    assert fresh.radio(key="view").value == "Text by span" and fresh.radio(key="strip_mode").value == "one layer"
    assert fresh.selectbox(key="layer").value == 1


GOOD = {"format": "expire-span-deck", "version": 1, "title": "T", "slides": [{"page": "text"}]}


@pytest.mark.parametrize("change, field", [
    ({"version": 2}, "version"), ({"format": "pptx"}, "format"), ({"slides": []}, "slides"),
    ({"title": 5}, "title"), ({"title": "x" * 500}, "title"),
    ({"slides": [{"page": "home"}]}, "slides[0].page"),
    ({"slides": [{"page": "text", "controls": {"layer": "3"}}]}, "slides[0].controls.layer"),
    ({"slides": [{"page": "text", "controls": {"view": "Span heatmap"}}]}, "slides[0].controls.view"),
    ({"slides": [{"page": "text", "text": "x" * 60_000}]}, "slides[0].text"),
    ({"slides": [{"page": "teaching", "controls": {"layer": 1}}]}, "slides[0].controls"),
    ({"slides": [{"page": "text", "note": ["<b>"]}]}, "slides[0].note"),
    ({"slides": [{"page": "text", "extra": 1}]}, "slides[0]"),
    ({"slides": [{"page": "text", "controls": {"layer": True}}]}, "slides[0].controls.layer"),
])
def test_malformed_decks_are_refused_by_field(change, field):
    with pytest.raises(DeckError) as e:
        load_deck(json.dumps({**GOOD, **change}))
    assert str(e.value).startswith(field)


@pytest.mark.parametrize("raw, says", [(b"{", "not valid JSON"), (b"\xff\xfe", "not UTF-8"),
                                       (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
                                       (b" " * 2_000_001, "bytes")])
def test_broken_deck_files_get_one_message(raw, says):
    with pytest.raises(DeckError, match=says):
        load_deck(raw)


def test_markup_in_a_deck_is_shown_as_text(app_checkpoints):
    evil = {**GOOD, "title": "<script>alert(1)</script>", "slides": [
        {"page": "text", "note": "<img src=x onerror=alert(1)> ![x](http://example.invalid/x.png)"}]}
    at = presenter_app()
    at.file_uploader(key="deck_upload").upload("deck.json", json.dumps(evil).encode()).run()
    at.run()
    assert not at.exception
    notes = [h.proto.body for h in at.get("html") if "es-note" in h.proto.body]
    assert notes and "<img" not in notes[0] and "&lt;img" in notes[0]


def test_a_bad_deck_upload_shows_a_message(app_checkpoints):
    at = presenter_app()
    at.file_uploader(key="deck_upload").upload("deck.json", json.dumps({**GOOD, "version": 9}).encode()).run()
    assert not at.exception and any("version" in e for e in errors(at))


def test_the_shipped_tour_opens_and_every_slide_renders(app_checkpoints):
    tour = load_deck((presenter.DECKS_DIR / "tour.json").read_bytes())
    assert tour.title == "Expire-Span in ten minutes" and len(tour.slides) >= 6
    for slide in tour.slides:  # the note says what the slide shows
        shown = VIEW_IDS[slide.controls["view"]] if slide.page == "text" else slide.page
        assert shown.lower().split(":")[0] in slide.note.lower(), slide
    at = presenter_app()
    at.selectbox(key="deck_shipped").set_value("tour.json").run()
    at.button(key="deck_open_shipped").click().run()
    for i, slide in enumerate(tour.slides):
        if i:
            at.button(key="bm_next").click().run()
        assert not at.exception and not errors(at), i
        assert at.session_state["slide_at"] == i
        if slide.page == "text":
            assert at.radio(key="view").value == VIEW_IDS[slide.controls["view"]]
