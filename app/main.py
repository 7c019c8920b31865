"""Expire-Span Explorer: entry point of the Streamlit app (started by `bash scripts/app.sh`)."""
import streamlit as st

st.set_page_config(page_title="Expire-Span Explorer", layout="wide")
st.title("Expire-Span Explorer")
st.write(
    "See what an Expire-Span transformer chose to remember and to forget. The model core and its trace "
    "are in place (`python -m model.trace`); the interactive pages come next."
)
