"""Forget speed (issue 35): forgetting a word re-reads the text from the word's pass only, resuming from the plain
trace's saved states (model/trace/resume.py, docs/method.md 18.6).

    python bench/forget_speed.py [--checkpoint checkpoints/text] [--bytes 10000] [--repeats 5] [--skip-app]

On a --bytes slice of held-out text (data/corpus/test.txt where it exists, else README.md repeated), with the word
nearest its middle forgotten in every layer, it times in turn, --repeats times in one process:
- the plain trace; the plain trace keeping its states (app.settings.SNAPSHOTS_PER_TRACE of them);
- the full forget trace (the model reads the whole text again); the forget resumed from the states.
It prints the medians, the ratio resumed / plain (goal: at most 0.6) and what the states cost in memory (bytes per
snapshot, and per trace). Then, unless --skip-app, the Text page in streamlit's AppTest (this process, the same
checkpoint): the text pasted, the section opened, that word chosen, and "Forget it" clicked --repeats times (the
forget trace dropped from the stores before each click), each click to its result timed against the resumed forget
alone on the app's own model and states, in turn (goal: click to result within 1.25 x that + 0.5 s). AppTest times
the server's side (the model and the page's Python), not the browser's drawing. Writes the figures as JSON.
"""
import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
GOAL_RATIO = 0.6           # resumed forget / plain trace
GOAL_SCALE, GOAL_S = 1.25, 0.5  # click to result within GOAL_SCALE x the resumed forget + GOAL_S


def held_out_text(n_bytes: int) -> str:
    """n_bytes of held-out text (whole characters), as bench/load.py picks its texts."""
    corpus = ROOT / "data" / "corpus" / "test.txt"
    source = corpus.read_text(encoding="utf-8") if corpus.exists() else (ROOT / "README.md").read_text() * 200
    return source.replace("\r\n", "\n").encode("utf-8")[:n_bytes].decode("utf-8", "ignore")


def middle_word(text: str) -> tuple[int, int, str]:
    """(start, end, word) of the word the Text page offers nearest the middle byte."""
    from app.views import forgetting
    from app.views.words import split_words
    words = split_words(np.frombuffer(text.encode(), np.uint8))
    at = forgetting.nearest_word(words, len(text.encode()) // 2)
    w = forgetting.word_index(words, at)
    return at, int(words.stop[w]), words.text[w]


def timed(work) -> tuple[float, object]:
    start = time.perf_counter()
    out = work()
    return time.perf_counter() - start, out


def model_side(model, text: str, ranges: list, repeats: int, per_trace: int) -> dict:
    """Medians of the four runs, taken in turn, and the states' memory."""
    from model import trace
    from model.trace.resume import forget_trace
    from model.trace.snapshots import Snapshots

    trace(model, text[:1024])  # warm up
    times = {"plain": [], "plain_keeping_states": [], "full_forget": [], "resumed_forget": []}
    kept = None
    for _ in range(repeats):
        times["plain"].append(timed(lambda: trace(model, text))[0])
        kept = Snapshots(per_trace)
        times["plain_keeping_states"].append(timed(lambda: trace(model, text, snapshots=kept))[0])
        full_s, full = timed(lambda: trace(model, text, forget=ranges))
        times["full_forget"].append(full_s)
        resumed_s, resumed = timed(lambda: forget_trace(model, kept, ranges))
        times["resumed_forget"].append(resumed_s)
        for name in ("bits", "spans", "dropped_at", "cache_size", "predictions"):
            assert np.array_equal(getattr(full, name), getattr(resumed, name), equal_nan=True), name
    median = {k: statistics.median(v) for k, v in times.items()}
    sizes = [s.nbytes for s in kept.kept]
    first = min(start for _, start, _ in ranges)
    return {"times_s": times, "median_s": median,
            "ratio_resumed_over_plain": median["resumed_forget"] / median["plain"],
            "ratio_full_forget_over_plain": median["full_forget"] / median["plain"],
            "tokens": len(kept.trace.tokens), "resumed_from_token": kept.before(first).n_done,
            "snapshots": len(sizes), "snapshot_bytes_mean": statistics.mean(sizes), "snapshot_bytes_max": max(sizes),
            "snapshot_bytes_per_trace": sum(sizes), "snapshot_starts": [s.n_done for s in kept.kept]}


def app_side(text: str, at: int, end: int, repeats: int) -> dict:
    """Click to result of the Text page's "Forget it", against the resumed forget alone, in turn."""
    from streamlit.testing.v1 import AppTest

    from app import store
    from model.trace.resume import forget_trace

    app = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=600)
    app.run()
    app.radio(key="input_kind").set_value("Type or paste").run()
    app.text_area(key="text_input").input(text).run()
    app.session_state["forget_open"] = True
    app.run()
    app.selectbox(key="forget_at").set_value(at).run()
    app.selectbox(key="forget_layer").set_value(-1).run()
    assert not app.exception, app.exception
    source = app.session_state["_forget_on"][0][0]
    model = store.model_and_lock(source)[0]
    kept = store.snapshot_store()[0].get(store.trace_key(source, text))
    assert kept is not None, "the app kept no states for this text"
    ranges = [(None, at, end)]
    clicks, alone = [], []
    for _ in range(repeats + 1):  # the first click warms the page's forget views up; not counted
        app.session_state["_forgotten"] = {}
        traces, lock = store.trace_store()
        with lock:
            for key in [k for k in traces if k[-1] is not None]:
                del traces[key]
        click_s, _ = timed(lambda: app.button(key="forget_go").click().run())
        assert not app.exception and "Forgetting '" in "".join(m.value for m in app.markdown), "no result shown"
        alone_s, _ = timed(lambda: forget_trace(model, kept, ranges))
        clicks.append(click_s)
        alone.append(alone_s)
    clicks, alone = clicks[1:], alone[1:]
    click, compute = statistics.median(clicks), statistics.median(alone)
    return {"click_to_result_s": clicks, "resumed_alone_s": alone, "median_click_s": click,
            "median_resumed_alone_s": compute, "goal_s": GOAL_SCALE * compute + GOAL_S,
            "store_snapshot_bytes": kept.nbytes, "store_snapshots": len(kept.kept)}


def report(out: dict, repeats: int) -> None:
    """The figures and whether each goal is met, as lines."""
    m = out["model"]
    for name, s in m["median_s"].items():
        print(f"  {name:<22}{s:>8.3f} s (median of {repeats})")
    ok = m["ratio_resumed_over_plain"] <= GOAL_RATIO
    print(f"  resumed / plain: {m['ratio_resumed_over_plain']:.2f} (goal <= {GOAL_RATIO}: {'met' if ok else 'MISSED'});"
          f" full forget / plain: {m['ratio_full_forget_over_plain']:.2f}; resumed from token "
          f"{m['resumed_from_token']:,} of {m['tokens']:,}")
    print(f"  states: {m['snapshots']} snapshots, {m['snapshot_bytes_mean'] / 2**20:.2f} MiB each on average "
          f"({m['snapshot_bytes_max'] / 2**20:.2f} at most), {m['snapshot_bytes_per_trace'] / 2**20:.1f} MiB per "
          f"trace (store budget {out['store_budget_bytes'] / 2**20:.0f} MiB)")
    a = out.get("app")
    if a:
        ok = a["median_click_s"] <= a["goal_s"]
        print(f"  Text page, 'Forget it' click to result: {a['median_click_s']:.3f} s; the resumed forget alone "
              f"{a['median_resumed_alone_s']:.3f} s; goal {a['goal_s']:.3f} s: {'met' if ok else 'MISSED'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "text"))
    parser.add_argument("--bytes", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-app", action="store_true")
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "forget_speed.json"))
    args = parser.parse_args()
    from app import settings
    from model import ExpireSpanLM

    text = held_out_text(args.bytes)
    start, end, word = middle_word(text)
    model = ExpireSpanLM.from_pretrained(args.checkpoint).eval()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}"
          f"; {len(text.encode()):,} bytes, forgetting '{word}' (bytes {start:,}-{end - 1:,}) in every layer")
    out = {"checkpoint": args.checkpoint, "bytes": len(text.encode()), "word": word, "start": start, "end": end,
           "threads": torch.get_num_threads(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
           "store_budget_bytes": settings.SNAPSHOT_BYTES,
           "model": model_side(model, text, [(None, start, end)], args.repeats, settings.SNAPSHOTS_PER_TRACE)}
    if not args.skip_app:
        out["app"] = app_side(text, start, end, args.repeats)
    report(out, args.repeats)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
