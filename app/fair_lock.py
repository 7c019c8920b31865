"""A lock that serves waiting threads in arrival order.

Sessions share one model. Each trace takes the model one pass (two blocks) at a time; with a plain
Lock the thread that just released it usually takes it straight back, so a 50,000-byte trace would
hold the model until it ends. Served in turn, a short trace started meanwhile runs alongside it, pass
for pass.
"""
import threading
from collections import deque


class FairLock:
    def __init__(self):
        self._cond = threading.Condition()
        self._waiting = deque()
        self._held = False

    def __enter__(self):
        ticket = object()
        with self._cond:
            self._waiting.append(ticket)
            self._cond.wait_for(lambda: not self._held and self._waiting[0] is ticket)
            self._waiting.popleft()
            self._held = True
        return self

    def __exit__(self, *exc):
        with self._cond:
            self._held = False
            self._cond.notify_all()
        return False
