"""Expire-Span Explorer: entry point of the Streamlit app (`bash scripts/app.sh`)."""
import os
import sys

import streamlit as st

from app import loading, presenter, ui

st.set_page_config(page_title="Expire-Span Explorer", page_icon=":material/hourglass_bottom:", layout="wide")
PAGES = {
    "text": st.Page("app_pages/text.py", title="Text", icon=":material/article:", default=True),
    "teaching": st.Page("app_pages/teaching.py", title="Teaching: corridor", icon=":material/school:",
                        url_path="teaching"),
    "compare": st.Page("app_pages/compare.py", title="Compare", icon=":material/compare:", url_path="compare"),
    "objects": st.Page("app_pages/objects.py", title="Object tracking", icon=":material/grid_on:",
                       url_path="objects"),
    "policies": st.Page("app_pages/policies.py", title="Memory policies", icon=":material/rule:",
                        url_path="policies"),
    "about": st.Page("app_pages/about.py", title="About", icon=":material/info:", url_path="about"),
}
REPLICA = os.environ.get("EXPIRE_SPAN_REPLICA")  # set by deploy/run_local.sh: which replica serves a session
if REPLICA and "_served_by" not in st.session_state:
    st.session_state["_served_by"] = REPLICA
    print(f"replica {REPLICA}: new session", file=sys.stderr, flush=True)
# The last resort for every page: a failure nothing else caught is one line in the page, its traceback in the
# server's log (and client.showErrorDetails = "none" in .streamlit/config.toml behind it).
with ui.failures("This page cannot be shown"):
    ui.page_style()
    presenter.restore_from_url()
    page = st.navigation(list(PAGES.values()))
    goto = st.session_state.pop("_goto", None)
    if goto in PAGES and PAGES[goto].url_path != page.url_path:
        st.switch_page(PAGES[goto])
    name = next(k for k, p in PAGES.items() if p.url_path == page.url_path)
    presenter.apply_pending(name, list(loading.list_checkpoints()))
    presenter.sidebar(name)
    presenter.write_url()
    presenter.notice()
    page.run()
    ui.load_chart_library()  # once a session, after the page: its first chart needs no wait for the library
