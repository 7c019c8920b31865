"""Pure views: functions from traces to figures, HTML and files. Nothing here imports Streamlit."""
