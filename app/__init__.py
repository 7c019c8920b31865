"""Expire-Span Explorer: the Streamlit front end. Pages in app_pages/ stay thin over the plain modules here."""
