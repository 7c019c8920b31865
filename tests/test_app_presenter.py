"""Presenter mode and bookmarks in the URL (never the user's text)."""
import plotly.io as pio
import pytest
from test_app_support import app_checkpoints, chart_specs, errors, new_app, single_thread  # noqa: F401
from streamlit.testing.v1 import AppTest
from test_app_support import MAIN

from app import presenter
from app.bookmarks import Bookmark, decode, decode_all, encode_all
from app.examples import EXAMPLES


def test_bookmark_strings_round_trip_and_refuse_junk():
    marks = [Bookmark("text", 1, 2, 1, 120), Bookmark("about"), Bookmark("teaching", None, None, None, 5)]
    assert decode_all(encode_all(marks)) == marks
    assert encode_all(marks[:1]) == "text.1.2.1.120"
    for junk in ("", "nope.1.2.3.4", "text.1.2", "text.a.b.c.d", "text.-1....", "text..." + "9" * 30 + "."):
        assert decode(junk) is None
    assert decode_all("text.1.2.1.120~garbage~about....") == [marks[0], Bookmark("about")]


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
    assert at.query_params["bm"] == "text.0.2..50" and at.query_params["at"] == "0"
    at.selectbox(key="example").set_value(list(EXAMPLES)[2]).run()
    at.radio(key="view").set_value("Memory lifetimes").run()
    at.selectbox(key="layer").set_value(1).run()
    at.button(key="bm_add").click().run()
    assert at.query_params["bm"] == "text.0.2..50~text.2.3.1."  # no step: that view has no slider
    at.button(key="bm_prev").click().run()
    assert not at.exception
    assert at.radio(key="view").value == "Remembered at step t" and at.slider(key="step").value == 50
    assert at.selectbox(key="example").value == list(EXAMPLES)[0] and at.query_params["at"] == "0"
    at.button(key="bm_next").click().run()
    assert at.radio(key="view").value == "Memory lifetimes" and at.selectbox(key="layer").value == 1
    assert at.selectbox(key="example").value == list(EXAMPLES)[2]


def test_user_text_never_enters_the_url(app_checkpoints):
    at = presenter_app()
    at.radio(key="input_kind").set_value("Type or paste").run()
    at.text_area(key="text_input").input("my private note").run()
    at.button(key="bm_add").click().run()
    url = str(dict(at.query_params))
    assert "private" not in url and at.query_params["bm"] == "text..8.."  # 8: "What each layer kept"


def test_a_link_opens_the_bookmarked_view(app_checkpoints):
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.query_params["bm"] = "about....~text.2.3.1.999999"
    at.query_params["at"] = "1"
    at.run()
    assert not at.exception and not errors(at)
    assert at.radio(key="view").value == "Memory lifetimes" and at.selectbox(key="layer").value == 1
    assert at.selectbox(key="example").value == list(EXAMPLES)[2]
    assert at.toggle(key="presenter").value is True


def test_bookmarks_keep_the_views_they_were_made_with():
    """A view's number in a link never changes when the page shows its views in another order."""
    assert presenter.BOOKMARK_VIEWS[:8] == ["Span heatmap", "Text by span", "Remembered at step t", "Memory lifetimes",
                                            "Memory in use", "Span by byte class", "Loss in bits", "Edit and compare"]
    assert sorted(presenter.BOOKMARK_VIEWS) == sorted(presenter.TEXT_VIEWS)


def test_a_link_can_switch_page(app_checkpoints):
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.query_params["bm"] = "about...."
    at.query_params["at"] = "0"
    at.run()
    assert not at.exception
    assert any(t.value == "About the model" for t in at.title)


@pytest.mark.parametrize("theme, template", [("Dark", "plotly_dark"), ("Light", "plotly_white")])
def test_presenter_chart_theme(app_checkpoints, theme, template):
    at = presenter_app()
    at.selectbox(key="chart_theme").set_value(theme).run()
    at.radio(key="view").set_value("Span heatmap").run()
    assert not at.exception
    layout = chart_specs(at)[0]["layout"]["template"]["layout"]
    assert layout["paper_bgcolor"] == pio.templates[template].layout.paper_bgcolor
