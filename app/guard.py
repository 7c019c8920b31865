"""One way for the app to fail: a model error (ExpireSpanError) shown as one escaped line, and anything else,
as a last resort, one plain line in the page with the traceback logged on the server only."""
import contextlib
import logging
import re

import streamlit as st
from model import ExpireSpanError

from .settings import MAX_MESSAGE_CHARS
from .views.collision import md_escape

LOG = logging.getLogger("expire_span.app")
UNEXPECTED = "something went wrong on the server; it has been logged. Try another input, or reload the page."
_PATH = re.compile(r"(?<![\w.])/(?:[\w.@+-]+/)+[\w.@+-]*")


def one_line(prefix: str, error: BaseException) -> str:
    """`prefix: message` as one escaped markdown line: server paths hidden, long messages cut."""
    message = " ".join(str(error).split()) or type(error).__name__
    message = _PATH.sub("<server path>", message)
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS - 3] + "..."
    return md_escape(f"{prefix}: {message}" if prefix else message)


@contextlib.contextmanager
def failures(prefix: str = "This page cannot be shown", stop: bool = False, level: str = "error"):
    """Catch failures in the block (or the decorated function). An ExpireSpanError is shown as one escaped line
    (st.error, or st.warning with level="warning") and the page goes on unless stop; any other exception is a bug:
    logged with its traceback on the server, shown as one line without details, and the page stops."""
    try:
        yield
    except ExpireSpanError as e:
        getattr(st, level)(one_line(prefix, e))
        if stop:
            st.stop()
    except Exception as e:  # the last resort: never a traceback or a server path in the browser
        LOG.error("%s: unexpected %s", prefix, type(e).__name__, exc_info=e)
        st.error(md_escape(f"{prefix}: {UNEXPECTED}"))
        st.stop()
