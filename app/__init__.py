"""Expire-Span Explorer: the Streamlit front end. Pages in app_pages/ stay thin over the plain modules here.

Importing the package sets OMP_WAIT_POLICY=PASSIVE (unless it is set already), before torch is loaded: torch's
OpenMP threads then sleep between operations instead of spinning. On 2 cores with the browser beside the server,
a paste is drawn as fast for less server CPU, while the model traced alone, with nothing beside it, is somewhat
slower (the figures: bench/README.md, "Where the server's time went"). Set OMP_WAIT_POLICY=ACTIVE for a server
that traces alone on cores of its own.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
