"""Widgets shared by the pages: checkpoint picker, device line, errors, presenter style, downloads."""
import functools
import os
import re
from pathlib import Path

import streamlit as st
from model import ExpireSpanError
from model.hub import read_config

from . import loading, presenter
from .views import figures
from .views.collision import md_escape
from .views.examples import EXAMPLES, example_text
from .views.exports import figure_html, trace_csv, trace_json, view_html
from .guard import failures  # noqa: F401  (the pages' one way to fail: ui.failures)
from .store import model_and_lock

HUB_OPTION = "Hugging Face Hub repo id..."
TRAIN_HINT = {
    "text": "text", "corridor": "corridor", "collision": "collision",
}


def checkpoint_names(task: str | None, found: dict | None = None) -> list[str]:
    """Names of the checkpoint folders for a task (None: all) whose config can be read; the task as
    loading.task_of says (the folder's run_config.json, else a guess). Each folder is looked at again only when its
    config.json, run_config.json or vocab.json changes. found: loading.list_checkpoints() when the caller has it
    already."""
    found = loading.list_checkpoints() if found is None else found
    folders = tuple((name, str(path), _stamp(os.path.join(path, "config.json")),
                     _stamp(os.path.join(path, loading.RUN_CONFIG)),
                     os.path.isfile(os.path.join(path, loading.VOCAB_FILE))) for name, path in found.items())
    return list(_checkpoint_names(task, folders))


def _stamp(path: str) -> tuple[int, int]:
    """When a file last changed, and its size ((0, 0): gone)."""
    try:
        stat = os.stat(path)
    except OSError:
        return 0, 0
    return stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=64)
def _checkpoint_names(task: str | None, folders: tuple) -> tuple[str, ...]:
    names = []
    for name, path, *_ in folders:
        try:
            cfg = read_config(Path(path) / "config.json", name)  # size-capped, never a traceback
        except ExpireSpanError:
            continue
        if task is None or loading.task_of(name, cfg, path) == task:
            names.append(name)
    return tuple(names)


def plain(text) -> str:
    """User- or file-supplied text for st.error/st.info/...: every markdown character escaped, so it shows as
    typed (a ![](http://host/x.png) in a repo id, folder name or config key never loads anything)."""
    return md_escape(text)


def pick_model(task: str | None, key: str, label: str = "Checkpoint", where=None):
    """Picker over checkpoint folders of this task plus a Hub repo id; returns (source, name, model) or
    None after telling the user what to do. Errors are shown, never raised. The Hub field takes repo ids
    only (never a path on the server), and no message names a server path."""
    where = where or st.sidebar
    found = loading.list_checkpoints()
    options = checkpoint_names(task, found)
    choice = where.selectbox(label, options + [HUB_OPTION], key=key)
    if choice == HUB_OPTION:
        repo = where.text_input("Hub repo id (loaded from the local cache, offline)", key=key + "_hub",
                                placeholder="owner/name").strip()
        if not options:
            no_checkpoint_guidance(task or "")
        if not repo:
            st.info("Enter a Hugging Face Hub repo id in the sidebar, or add a checkpoint folder.")
            return None
        try:
            source = loading.hub_source(repo)
        except ExpireSpanError as e:
            st.error(plain(f"Cannot load it: {e}"))  # the typed text is not echoed
            return None
        name = repo
    else:
        source, name = str(found[choice]), choice
    try:
        model, _ = model_and_lock(source)
    except ExpireSpanError as e:
        st.error(plain(f"Cannot load {name}: {loading.public_message(str(e), source, name)}"))
        return None
    if task and choice == HUB_OPTION and loading.task_of(name, model.config) not in (task, "unknown"):
        st.error(plain(f"{name} does not look like a {task} model (vocabulary of {model.config.vocab_size})."))
        return None
    return source, name, model


def no_checkpoint_guidance(task: str) -> None:
    st.warning(
        f"No {task + ' ' if task else ''}checkpoint in the checkpoints folder yet. Train one with "
        f"`.venv/bin/python -m model.train --config configs/{TRAIN_HINT.get(task, 'text')}.toml` and save it as "
        f"a folder `checkpoints/<name>/` (config.json + model.safetensors + README.md), point "
        f"`{loading.CHECKPOINTS_ENV}` at a folder of checkpoints, or enter a Hugging Face Hub repo id "
        "that is in the local cache.")


def require_model(task: str, key: str):
    """pick_model for a page that cannot go on without one: stops the page (the picker has said why)
    when there is none, else shows the device and returns (source, name, model)."""
    picked = pick_model(task, key)
    if picked is None:
        st.stop()
    device_line()
    return picked


CHART_PRELOAD_KEY = "es_chart_preload"
CHART_PRELOAD = {"data": [{"type": "heatmap", "z": [[0.0]], "hoverinfo": "skip"}],  # as a long text's overview is
                 "layout": {"width": 40, "height": 40, "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
                            "xaxis": {"visible": False}, "yaxis": {"visible": False},
                            "meta": CHART_PRELOAD_KEY}}  # meta: how tests tell it from the page's own charts


def page_style() -> None:
    """The app's own CSS, in one element of every page run (each element is a message the server sends)."""
    st.html(f"<style>{no_fade_animation()}{compact_top()}{out_of_sight(CHART_PRELOAD_KEY)}</style>")


def load_chart_library() -> None:
    """A one-point chart, unseen and taking no room (page_style's CSS), in a session's first run only: the page
    loads the chart library (plotly.js, which Streamlit fetches when a page first draws a chart) with the first
    page instead of with the visitor's first chart, which came about a second later on a first paste than on
    later ones (bench/README.md, "A session's first paste"). Drawn after the page's own elements; the next run
    removes it, the library stays loaded."""
    if st.session_state.get("_chart_library_loaded"):
        return
    st.plotly_chart(CHART_PRELOAD, theme=None, key=CHART_PRELOAD_KEY, width="content",
                    config={"staticPlot": True, "displayModeBar": False})
    st.session_state["_chart_library_loaded"] = True


def no_fade_animation() -> str:
    """CSS that stops what the browser would repaint every frame while the server traces, on a small machine
    taking CPU the model needs: every transition in the page ends at once (the 1 s fade of a rerun's stale elements,
    which still dim after Streamlit's 0.5 s delay; an expander's 1 s border and title fade; the progress bar's
    slide), and the grey skeleton Streamlit draws for each empty placeholder (the progress bar's, the overview
    chart's) stays still instead of shimmering. On 2 cores, ending every transition, the expander's too, draws a
    paste sooner (measured in bench/README.md, "Where the server's time went")."""
    return "*{transition-duration:0s !important}[data-testid='stSkeleton']{animation:none !important}"


def compact_top() -> str:
    """CSS for less empty space above a page's title, so its first screen holds more (matters on a projector)."""
    return "[data-testid='stMainBlockContainer']{padding-top:2.5rem !important}"


def out_of_sight(key: str) -> str:
    """CSS for the element of key `key`: drawn, but unseen, unread by screen readers, and taking no room
    (out of the page's flow, so no gap either)."""
    return (f".st-key-{key}{{position:absolute !important;top:0;left:0;width:1px;height:1px;overflow:hidden;"
            "visibility:hidden;pointer-events:none}")


def device_line() -> None:
    st.caption(f"Running on **{loading.device_label()}**")


class _Markup:
    """HTML handed to st.html as it is, through its `_repr_html_` path: a plain string is first dedented and
    checked for being a file name, about 4 ms for the 180 kB of strips, in every session that shows them."""

    def __init__(self, markup: str):
        self.markup = markup

    def _repr_html_(self) -> str:
        return self.markup


def html_block(markup: str) -> None:
    """Our own HTML (all user text already escaped); st.html sanitises once more."""
    st.html(_Markup(markup))


def download_figure(fig, name: str, key: str, label: str = "Figure as HTML") -> None:
    """fig: a figure, or a function that builds one. Built on click only: the page embeds plotly.js (about
    5 MB), which every rerun would otherwise rebuild."""
    st.download_button(label, lambda: figure_html(fig() if callable(fig) else fig), file_name=f"{name}.html",
                       mime="text/html", key=key, on_click="ignore")


def file_stem(view: str, meta: dict) -> str:
    """An export's file name without extension: the view, the checkpoint and a short hash of the input."""
    parts = [view, str(meta.get("checkpoint") or "model"), str(meta.get("input_sha1") or "")[:8]]
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", "-".join(p for p in parts if p)).strip("-.")


def chart(fig, key: str | None = None) -> None:
    """A Plotly chart with our colours kept (theme=None), numbers written as people write them, and a PNG button
    in its modebar."""
    figures.readable_numbers(fig).update_layout(template=presenter.chart_template())
    st.plotly_chart(fig, theme=None, key=key, width="stretch",
                    config={"toImageButtonOptions": {"format": "png", "scale": 2}, "displaylogo": False})


def example_or_pasted(prefix: str, max_bytes: int, why: str = "") -> str:
    """An example or pasted text for a page (widget keys prefix_input, prefix_example, prefix_text); stops the
    page with a message when it is empty, and cuts it to max_bytes with a note."""
    kind = st.radio("Input", ["Example", "Type or paste"], key=f"{prefix}_input", horizontal=True)
    if kind == "Example":
        text = example_text(st.selectbox("Example", list(EXAMPLES), key=f"{prefix}_example"))
    else:
        text = st.text_area("Text (Ctrl+Enter to apply)", key=f"{prefix}_text", height=120)
    if not text:
        st.warning("The text is empty: type or paste some text, or choose an example.")
        st.stop()
    if len(text.encode("utf-8")) > max_bytes:
        st.info(f"Only the first {max_bytes:,} bytes are used{why}.")
        text = loading.cut_text(text, max_bytes)
    return text


def clamp_choice(key: str, options: list) -> None:
    """Forget a widget's stored choice when it is no longer offered (a link or deck may name one that this
    installation lacks), so the widget falls back to its first option."""
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]


def slider(label: str, lo: int, hi: int, value: int | None = None, *, key: str, where=None, **kwargs) -> int:
    """st.slider over lo..hi, or, when the range holds one value (a one-byte text, a one-frame sequence), that
    value as a caption: Streamlit refuses a slider whose minimum is its maximum."""
    where = where or st
    if hi <= lo:
        where.caption(f"{label}: {lo:,} (the only value for this input)")
        return lo
    clamp_state(key, lo, hi)
    return where.slider(label, lo, hi, value, key=key, **kwargs)


def clamp_state(key: str, lo: int, hi: int) -> None:
    """Keep a widget's stored value inside its current range (a bookmark or a shorter input can leave
    it outside, which Streamlit refuses)."""
    value = st.session_state.get(key)
    if isinstance(value, (int, float)) and not lo <= value <= hi:
        st.session_state[key] = min(max(value, lo), hi)


def download_view(title: str, body: str, meta: dict, name: str, label: str = "View as HTML") -> None:
    """A download of one of the app's HTML views as a standalone page titled with the view, the checkpoint and
    the input's hash (works inside a fragment, so a slider's current state is what is saved)."""
    title = f"{title} ({meta.get('checkpoint') or 'model'}, input {str(meta.get('input_sha1', ''))[:8]})"
    st.download_button(label, lambda: view_html(title, body), file_name=f"{file_stem(name, meta)}.html",
                       mime="text/html", key=f"dl_page_{name}", on_click="ignore")


def export_section(trace, fig, name: str, meta: dict, text: bool = True, page: tuple[str, str] | None = None,
                   animation=None) -> None:
    """Downloads, each file named by the view, the checkpoint and a hash of the input: the trace as CSV and
    JSON; the figure (a figure or a function that builds one) as standalone HTML (PNG: the chart's camera
    button); for a view drawn as HTML, page = (title, body) as a standalone HTML page; animation: a function
    that builds an animated figure. The buttons are made only while the section is open (opening it reruns the
    page): closed, it is one element of every page run instead of nine, which is what a class of visitors on one
    text costs the server apart from the model (bench/README.md, "The app under load")."""
    section = st.expander("Export", key="export", on_change="rerun")
    if not section.open:
        return
    stem = file_stem(name, meta)
    with section:
        c1, c2, c3 = st.columns(3)
        c1.download_button("Trace as CSV", lambda: trace_csv(trace, text=text), file_name=f"{stem}-trace.csv",
                           mime="text/csv", key=f"dl_csv_{name}", on_click="ignore")
        c2.download_button("Trace as JSON", lambda: trace_json(trace, **meta), file_name=f"{stem}-trace.json",
                           mime="application/json", key=f"dl_json_{name}", on_click="ignore")
        with c3:
            if fig is not None:
                download_figure(fig, stem, key=f"dl_fig_{name}")
            elif page is not None:
                download_view(*page, meta, name)
            if animation is not None:
                download_figure(animation, f"{stem}-animation", key=f"dl_anim_{name}", label="Animation as HTML")
        st.caption("PNG: use the camera button in a chart's toolbar.")
