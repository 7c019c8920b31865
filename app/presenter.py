"""Presenter mode: large type, a chart theme, and bookmarks stepped with next/previous.

Bookmarks live in session_state['bookmarks'] and in the URL (?bm=...&at=i) so a link opens the same
view; applying one sets the widgets' session_state before the page draws them.
"""
import streamlit as st

from . import bookmarks
from .examples import EXAMPLES

# The Text page's views in the order shown; the first is the default.
TEXT_VIEWS = ["What each layer kept", "Span heatmap", "Text by span", "Remembered at step t", "Attention at step t",
              "Memory lifetimes", "Memory in use", "Span by byte class", "Loss in bits", "Edit and compare"]
# The same views in the order bookmarks number them: appended to, never reordered, so shared links keep working.
BOOKMARK_VIEWS = ["Span heatmap", "Text by span", "Remembered at step t", "Memory lifetimes", "Memory in use",
                  "Span by byte class", "Loss in bits", "Edit and compare", "What each layer kept",
                  "Attention at step t"]
THEMES = {"Presentation (large)": "presentation", "Light": "plotly_white", "Dark": "plotly_dark"}


def current(page: str) -> bookmarks.Bookmark:
    """The bookmark of what is on screen (the example only when the input is an example)."""
    ss = st.session_state
    example = list(EXAMPLES).index(ss["example"]) if ss.get("input_kind", "Example") == "Example" and \
        ss.get("example") in EXAMPLES else None
    view = BOOKMARK_VIEWS.index(ss["view"]) if ss.get("view") in BOOKMARK_VIEWS else None
    layer = ss.get("layer") if isinstance(ss.get("layer"), int) else None
    step = ss.get("step") if isinstance(ss.get("step"), int) else None
    return bookmarks.Bookmark(page, example, view, layer, step)


def apply(mark: bookmarks.Bookmark) -> None:
    """Set the widgets' state to a bookmark (call before the page draws them)."""
    ss = st.session_state
    if mark.example is not None and mark.example < len(EXAMPLES):
        ss["input_kind"] = "Example"
        ss["example"] = list(EXAMPLES)[mark.example]
    if mark.view is not None and mark.view < len(BOOKMARK_VIEWS):
        ss["view"] = BOOKMARK_VIEWS[mark.view]
    for key in ("layer", "step"):
        value = getattr(mark, key)
        if value is not None:
            ss[key] = value
    ss["_goto"] = mark.page


def _go(offset: int) -> None:
    marks = st.session_state.get("bookmarks", [])
    if marks:
        i = (st.session_state.get("bookmark_at", -1) + offset) % len(marks)
        st.session_state["bookmark_at"] = i
        apply(marks[i])


def _add(page: str) -> None:
    marks = st.session_state.setdefault("bookmarks", [])
    marks.append(current(page))
    st.session_state["bookmark_at"] = len(marks) - 1


def restore_from_url() -> None:
    """On a fresh session, read ?bm=...&at=i and open that bookmark."""
    ss = st.session_state
    if "bookmarks" in ss:
        return
    ss["bookmarks"] = bookmarks.decode_all(st.query_params.get("bm", ""))
    at = st.query_params.get("at", "")
    if ss["bookmarks"] and at.isdigit() and int(at) < len(ss["bookmarks"]):
        ss["bookmark_at"] = int(at)
        ss["presenter"] = True
        apply(ss["bookmarks"][int(at)])


def write_url() -> None:
    marks = st.session_state.get("bookmarks", [])
    if marks:
        st.query_params["bm"] = bookmarks.encode_all(marks)
        st.query_params["at"] = str(st.session_state.get("bookmark_at", 0))


def sidebar(page: str) -> None:
    """The presenter controls in the sidebar."""
    on = st.sidebar.toggle("Presenter mode", key="presenter")
    if not on:
        return
    st.sidebar.selectbox("Chart theme", list(THEMES), key="chart_theme")
    st.html("<style>.stApp .stMarkdown p, .stApp .stCaption, .es-legend {font-size: 1.3rem !important;}"
            " h1 {font-size: 3rem !important;}</style>")
    marks = st.session_state.get("bookmarks", [])
    at = st.session_state.get("bookmark_at", -1)
    st.sidebar.button("Bookmark this view", on_click=_add, args=(page,), key="bm_add")
    c1, c2 = st.sidebar.columns(2)
    c1.button("◀ Previous", on_click=_go, args=(-1,), key="bm_prev", disabled=not marks)
    c2.button("Next ▶", on_click=_go, args=(1,), key="bm_next", disabled=not marks)
    if marks:
        st.sidebar.caption(f"Bookmark {at + 1} of {len(marks)}. The link in the address bar opens them.")


def font_size() -> int:
    """Font size of the coloured text strips."""
    return 22 if st.session_state.get("presenter") else 15


def max_ticks() -> int:
    """How many labelled ticks a chart's text axis gets: fewer in presenter mode, where the type is larger."""
    return 16 if st.session_state.get("presenter") else 30


def chart_template() -> str:
    if st.session_state.get("presenter"):
        return THEMES.get(st.session_state.get("chart_theme", ""), "presentation")
    return "plotly_white"
