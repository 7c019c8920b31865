"""app.fair_lock: sessions sharing one model are served in arrival order (so a long trace cannot starve a
short one), and the lock excludes."""
import threading
import time

from app.fair_lock import FairLock


def wait_until(condition, timeout=10.0):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.001)


def test_waiting_threads_are_served_in_arrival_order():
    lock, order = FairLock(), []

    def worker(name):
        with lock:
            order.append(name)

    with lock:  # held while the others queue up, one after another
        threads = []
        for i, name in enumerate("abcde"):
            threads.append(threading.Thread(target=worker, args=(name,)))
            threads[-1].start()
            wait_until(lambda: len(lock._waiting) == i + 1)
    for t in threads:
        t.join(10)
    assert order == list("abcde")


def test_a_thread_that_takes_turns_lets_a_newcomer_in_between():
    """A long trace takes the lock block after block; a short one arriving meanwhile gets the very next turn."""
    lock, log = FairLock(), []

    def short_trace():
        with lock:
            log.append("short")

    short = threading.Thread(target=short_trace)

    def long_trace():
        for i in range(50):
            with lock:
                log.append("long")
                if i == 0:  # the short trace arrives during the long one's first turn
                    short.start()
                    wait_until(lambda: len(lock._waiting) == 1)

    t = threading.Thread(target=long_trace)
    t.start()
    t.join(10)
    short.join(10)
    assert log[:3] == ["long", "short", "long"]
    assert log.count("long") == 50


def test_only_one_holder_at_a_time():
    lock, inside, most = FairLock(), [0], [0]

    def worker():
        for _ in range(50):
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
                inside[0] -= 1

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert most[0] == 1
