"""Widgets shared by the pages: checkpoint picker, device line, errors, presenter style, downloads."""
import html
import json

import streamlit as st
from model import ExpireSpanConfig, ExpireSpanError

from . import loading, presenter
from .export import figure_html, trace_csv, trace_json, view_html
from .state import model_and_lock

HUB_OPTION = "Hugging Face Hub repo id..."
TRAIN_HINT = {
    "text": "text", "corridor": "corridor", "collision": "collision",
}


def checkpoint_names(task: str | None) -> list[str]:
    """Names of the checkpoint folders for a task (None: all) whose config can be read."""
    names = []
    for name, path in loading.list_checkpoints().items():
        try:
            cfg = ExpireSpanConfig.from_dict(json.loads((path / "config.json").read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
        if task is None or loading.task_of(name, cfg) == task:
            names.append(name)
    return names


def pick_model(task: str | None, key: str, label: str = "Checkpoint", where=None):
    """Picker over checkpoint folders of this task plus a Hub repo id; returns (source, name, model) or
    None after telling the user what to do. Errors are shown, never raised."""
    where = where or st.sidebar
    found = loading.list_checkpoints()
    options = checkpoint_names(task)
    choice = where.selectbox(label, options + [HUB_OPTION], key=key)
    if choice == HUB_OPTION:
        repo = where.text_input("Hub repo id (loaded from the local cache, offline)", key=key + "_hub",
                                     placeholder="owner/name").strip()
        if not options:
            no_checkpoint_guidance(task or "")
        if not repo:
            st.info("Enter a Hugging Face Hub repo id in the sidebar, or add a checkpoint folder.")
            return None
        source, name = repo, repo
    else:
        source, name = str(found[choice]), choice
    try:
        model, _ = model_and_lock(source)
    except ExpireSpanError as e:
        st.error(f"Cannot load {name}: {e}")
        return None
    if task and choice == HUB_OPTION and loading.task_of(name, model.config) not in (task, "unknown"):
        st.error(f"{name} does not look like a {task} model (vocabulary of {model.config.vocab_size}).")
        return None
    return source, name, model


def no_checkpoint_guidance(task: str) -> None:
    folder = loading.checkpoints_dir()
    st.warning(
        f"No {task + ' ' if task else ''}checkpoint in `{folder}` yet. Train one with "
        f"`.venv/bin/python -m model.train --config configs/{TRAIN_HINT.get(task, 'text')}.toml` and save it as "
        f"a folder `{folder}/<name>/` (config.json + model.safetensors + README.md), point "
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


def compact_top() -> None:
    """Less empty space above the title, so a page's first screen holds more (matters on a projector)."""
    st.html("<style>[data-testid='stMainBlockContainer']{padding-top:2.5rem !important}</style>")


def device_line() -> None:
    st.caption(f"Running on **{loading.device_label()}**")


def escaped(text: str) -> str:
    return html.escape(text, quote=True)


def html_block(markup: str) -> None:
    """Our own HTML (all user text already escaped); st.html sanitises once more."""
    st.html(markup)


def download_figure(fig, name: str, key: str) -> None:
    # Built on click only: the page embeds plotly.js (about 5 MB), which every rerun would otherwise rebuild.
    st.download_button("Figure as HTML", lambda: figure_html(fig), file_name=f"{name}.html", mime="text/html",
                       key=key, on_click="ignore")


def chart(fig, key: str | None = None) -> None:
    """A Plotly chart with our colours kept (theme=None) and a PNG button in its modebar."""
    fig.update_layout(template=presenter.chart_template())
    st.plotly_chart(fig, theme=None, key=key, width="stretch",
                    config={"toImageButtonOptions": {"format": "png", "scale": 2}, "displaylogo": False})


def clamp_state(key: str, lo: int, hi: int) -> None:
    """Keep a widget's stored value inside its current range (a bookmark or a shorter input can leave
    it outside, which Streamlit refuses)."""
    value = st.session_state.get(key)
    if isinstance(value, (int, float)) and not lo <= value <= hi:
        st.session_state[key] = min(max(value, lo), hi)


def export_section(trace, fig, name: str, meta: dict, text: bool = True, page: tuple[str, str] | None = None) -> None:
    """Downloads: the trace as CSV and JSON, the figure as standalone HTML (PNG: the chart's camera button), or
    for a view drawn as HTML, page = (title, body) as a standalone HTML page."""
    with st.expander("Export"):
        c1, c2, c3 = st.columns(3)
        c1.download_button("Trace as CSV", lambda: trace_csv(trace, text=text), file_name=f"{name}-trace.csv",
                           mime="text/csv", key=f"dl_csv_{name}", on_click="ignore")
        c2.download_button("Trace as JSON", lambda: trace_json(trace, **meta), file_name=f"{name}-trace.json",
                           mime="application/json", key=f"dl_json_{name}", on_click="ignore")
        if fig is not None:
            with c3:
                download_figure(fig, name, key=f"dl_fig_{name}")
        elif page is not None:
            c3.download_button("View as HTML", lambda: view_html(*page), file_name=f"{name}.html", mime="text/html",
                               key=f"dl_page_{name}", on_click="ignore")
        st.caption("PNG: use the camera button in a chart's toolbar.")
