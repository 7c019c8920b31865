"""Presenter mode: large type, a chart theme, and slides stepped with Previous/Next (or PageUp/PageDown, as
clickers send), kept in the URL (never their text) and saved and opened as deck files (app.views.decks).

Streamlit drops a widget's state on a run that does not draw it (a page switch), so presenter mode, the theme
and the deck live in keys of their own ('_presenter', '_chart_theme', '_deck'), copied into the widgets each run.
A slide is applied at the start of the run that draws its page (main.py calls apply_pending), so every control
it sets exists when that page draws its widgets.
"""
import html
from pathlib import Path

import streamlit as st

from . import guard
from .views import decks
from .views.decks import PAGE_CONTROLS, Deck, DeckError, Slide
from .views.text_view_ids import VIEW_IDS, VIEW_LABELS, VIEW_OF_LABEL

# The Text page's view labels in the order shown (the one table: app.views.text_view_ids; links and decks name
# them by id, the widget holds the label).
TEXT_VIEWS = VIEW_LABELS
THEMES = {"Presentation (large)": "presentation", "Light": "plotly_white", "Dark": "plotly_dark"}
CHECKPOINT_KEYS = {"text": "ckpt_text", "teaching": "ckpt_corridor", "objects": "ckpt_objects",
                   "compare": "cmp_ckpt", "about": "ckpt_about", "policies": "pol_ckpt"}
DECKS_DIR = Path(__file__).resolve().parents[1] / "assets" / "decks"
OWN_TEXT_KINDS = ("Type or paste", "Upload a file")


def is_on() -> bool:
    return bool(st.session_state.get("_presenter"))


def deck() -> Deck:
    return st.session_state.get("_deck") or Deck()


def current(page: str) -> Slide:
    """The slide of what is on screen: the page's controls, its checkpoint and, on the Text page, the text
    when it is the visitor's own (typed, pasted or uploaded)."""
    ss = st.session_state
    own = page == "text" and ss.get("input_kind", "Example") in OWN_TEXT_KINDS
    controls = {}
    for key in PAGE_CONTROLS[page]:
        value = ss.get(key)
        if key == "view":
            value = VIEW_OF_LABEL.get(value)
        if value is None or (key == "example" and own):
            continue
        try:
            controls[key] = decks.check_control(key, value, key)
        except DeckError:
            continue
    text = ss.get("_text_now") if own else None
    checkpoint = ss.get(CHECKPOINT_KEYS[page])
    return Slide(page, controls, checkpoint if isinstance(checkpoint, str) else None, text or None)


def apply(slide: Slide) -> None:
    """Open a slide: its page now, its controls at the start of the run that draws that page."""
    st.session_state["_pending"] = slide
    st.session_state["_goto"] = slide.page


def apply_pending(page: str, checkpoints: list[str]) -> None:
    """Set the widgets of a pending slide for this page (call before the page draws them)."""
    ss = st.session_state
    slide = ss.get("_pending")
    if slide is None or slide.page != page:
        return
    del ss["_pending"]
    for key, value in slide.controls.items():
        ss[key] = VIEW_IDS[value] if key == "view" else value
    if page == "text":
        if "forget_at" in slide.controls or "forget_layer" in slide.controls:
            ss["forget_open"] = True  # made with "Forget a word" open (its controls are drawn only then)
        if slide.text is not None:
            ss["input_kind"], ss["text_input"] = "Type or paste", slide.text
        elif "example" in slide.controls:
            ss["input_kind"] = "Example"
        if slide.own_text and slide.text is None:
            ss["_notice"] = ("This slide was made on text of its own, which links never carry: the example is "
                             "shown instead. Open the deck file the slide was saved in to see its text.")
    if slide.checkpoint in checkpoints:
        ss[CHECKPOINT_KEYS[page]] = slide.checkpoint


def _go(offset: int) -> None:
    slides = deck().slides
    if slides:
        i = (st.session_state.get("slide_at", -1) + offset) % len(slides)
        st.session_state["slide_at"] = i
        apply(slides[i])


def _add(page: str) -> None:
    d = deck()
    if len(d.slides) >= decks.MAX_SLIDES:
        st.session_state["_notice"] = f"A deck holds at most {decks.MAX_SLIDES} slides; this view was not added."
        return
    st.session_state["_deck"] = Deck(d.title, d.slides + (current(page),))
    st.session_state["slide_at"] = len(d.slides)


def _open(new: Deck) -> None:
    st.session_state["_deck"] = new
    st.session_state["slide_at"] = 0
    st.session_state["_presenter"] = True
    apply(new.slides[0])


def _sync(key: str) -> None:
    st.session_state["_" + key] = st.session_state[key]


def restore_from_url() -> None:
    """On a fresh session, read ?bm=...&at=i and open that slide; a malformed link is ignored with a notice."""
    ss = st.session_state
    if "_deck" in ss:
        return
    raw = st.query_params.get("bm", "")
    parts = [p for p in raw.split("~") if p]
    slides = decks.decode_all("~".join(parts[:decks.MAX_SLIDES]))  # a link holds no more than a deck
    ss["_deck"] = Deck("Slides from a link", tuple(slides))
    if len(parts) > decks.MAX_SLIDES:
        ss["_notice"] = (f"This link carries {len(parts):,} slides; a deck holds at most {decks.MAX_SLIDES}, so "
                         f"only the first {decks.MAX_SLIDES} were read.")
    elif len(slides) < len(parts):
        ss["_notice"] = "Part of this link could not be read, so it was left out."
    at = decks.parse_index(st.query_params.get("at", ""), len(slides))
    if slides and at is not None:
        ss["slide_at"] = at
        ss["_presenter"] = True
        apply(slides[at])


def write_url() -> None:
    """The deck's slides into the URL; without slides, none (a refused link is not written back)."""
    slides = deck().slides
    if slides:
        st.query_params["bm"] = decks.encode_all(slides)
        st.query_params["at"] = str(st.session_state.get("slide_at", 0))
    else:
        for name in ("bm", "at"):
            if name in st.query_params:
                del st.query_params[name]


def notice() -> None:
    """A message left by a slide or a link (shown once, at the top of the page)."""
    text = st.session_state.pop("_notice", None)
    if text:
        st.info(text)


def sidebar(page: str) -> None:
    """The presenter controls in the sidebar, the same on every page."""
    ss = st.session_state
    ss["presenter"] = is_on()
    on = st.sidebar.toggle("Presenter mode", key="presenter", on_change=_sync, args=("presenter",))
    if not on:
        return
    ss["chart_theme"] = ss.get("_chart_theme", next(iter(THEMES)))
    st.sidebar.selectbox("Chart theme", list(THEMES), key="chart_theme", on_change=_sync, args=("chart_theme",))
    st.html("<style>.stApp .stMarkdown p, .stApp .stCaption, .es-legend {font-size: 1.3rem !important;}"
            " h1 {font-size: 3rem !important;}</style>")
    slides, at = deck().slides, ss.get("slide_at", -1)
    st.sidebar.button("Bookmark this view", on_click=_add, args=(page,), key="bm_add")
    st.sidebar.button("Next ▶", on_click=_go, args=(1,), key="bm_next", disabled=not slides, shortcut="PageDown",
                      width="stretch")
    st.sidebar.button("◀ Previous", on_click=_go, args=(-1,), key="bm_prev", disabled=not slides,
                      shortcut="PageUp", width="stretch")
    if slides and 0 <= at < len(slides):
        st.sidebar.caption(f"Slide {at + 1} of {len(slides)}. PageDown / PageUp (a clicker) step through them.")
        if slides[at].note:
            st.sidebar.html(f'<div class="es-note" style="font-size:1rem;border-left:3px solid #e4572e;'
                            f'padding-left:8px;white-space:pre-wrap">{html.escape(slides[at].note)}</div>')
    with st.sidebar.expander("Deck: save or open"):
        deck_files(page)


def deck_files(page: str) -> None:
    """Save the slides as a deck file, open one (uploaded or shipped in assets/decks/)."""
    d = deck()
    title = st.text_input("Deck title", d.title, key="deck_title", max_chars=decks.MAX_TITLE_CHARS)
    if d.slides:
        st.download_button("Save deck", lambda: Deck(title or "My talk", d.slides).to_json(),
                           file_name="deck.json", mime="application/json", key="deck_save", on_click="ignore")
        st.button("Clear slides", key="deck_clear", on_click=lambda: st.session_state.update(_deck=Deck()))
    upload = st.file_uploader("Open a deck file", type=["json"], key="deck_upload")
    if upload is not None and st.session_state.get("_deck_opened") != upload.file_id:
        opened = None
        with guard.failures("This deck cannot be opened"):  # one escaped line: the file's values are quoted short
            opened = decks.load_deck(upload.getvalue())
        if opened is not None:
            st.session_state["_deck_opened"] = upload.file_id
            _open(opened)
            st.rerun()
    shipped = sorted(p.name for p in DECKS_DIR.glob("*.json")) if DECKS_DIR.is_dir() else []
    if shipped:
        name = st.selectbox("Or a shipped deck", shipped, key="deck_shipped")
        if st.button("Open it", key="deck_open_shipped"):
            opened = None
            with guard.failures("This deck cannot be opened"):
                opened = decks.read_deck_file(DECKS_DIR / name)
            if opened is not None:
                _open(opened)
                st.rerun()


def font_size() -> int:
    """Font size of the coloured text strips."""
    return 22 if is_on() else 15


def max_ticks() -> int:
    """How many labelled ticks a chart's text axis gets: fewer in presenter mode, where the type is larger."""
    return 16 if is_on() else 30


def chart_template() -> str:
    if is_on():
        return THEMES.get(st.session_state.get("_chart_theme", ""), "presentation")
    return "plotly_white"
