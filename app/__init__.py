"""Expire-Span Explorer: the Streamlit front end. Pages in app_pages/ stay thin over the plain modules here.

Importing the package sets OMP_WAIT_POLICY=PASSIVE (unless it is set already), before torch is loaded: torch's
OpenMP threads then sleep between operations instead of spinning. Measured on 2 cores with the browser beside the
server, a 2,000-byte paste was drawn as fast (0.61 s either way) for 26% less server CPU (0.39 against 0.53 s);
the model traced alone, with nothing beside it, was up to 15% slower (bench/README.md, "Where the server's time
went"). Set OMP_WAIT_POLICY=ACTIVE for a server that traces alone on cores of its own.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
