"""Forget speed (issue 35): forgetting a word re-reads the text from the word's pass only, resuming from the plain
trace's saved states (model/trace/resume.py, docs/method.md 18.6).

    python bench/forget_speed.py [--checkpoint checkpoints/text] [--bytes 10000] [--repeats 5] [--skip-app]
    python bench/forget_speed.py --browser [--bytes 10000] [--repeats 5]

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

--browser (instead of all the above): `streamlit run app/main.py` and Debian's chromium (bench/browser.py). A
warm-up round (reported apart), then --repeats rounds, each on a never-seen text of --bytes (held-out slices as
bench/app_speed.py picks them, a different one each round): the text pasted and its default view drawn; the
"Forget a word" section opened, the word nearest the middle and "all layers" chosen; then, the server and the
browser idle, the resumed forget alone in this process (the same checkpoint, states from this process's own plain
trace of the text, the app's OpenMP setting), and at once "Forget it" clicked. Click to result is on the page's
clock: from the click event to the end of the frame drawn after the forget's strip (the last of the sentence, the
table and the strip) entered the page, found by its outlined word (span.fw titled with the word's first byte);
the wall clock of this process (Playwright's click to that frame) beside it. Goal: 1.25 x the resumed forget + 0.5 s.
"""
import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

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


# Installed in the page before it loads: when "Forget it" is clicked, and when that forget's strip is drawn.
RECORDER = """
(() => {
  const es = window.__esForget = {watch: null};
  document.addEventListener('click', (e) => {
    const w = es.watch, button = e.target.closest('button');
    if (w && w.click === null && button?.innerText.trim() === 'Forget it') w.click = performance.now();
  }, true);
  window.__esForgetWatch = (selector) => {
    const w = es.watch = {selector, click: null, dom: null, drawn: null, waiters: []};
    const settle = () => { w.waiters = w.waiters.filter((x) => w.drawn === null || (x(), false)); };
    const check = () => {
      if (w.dom !== null || w.click === null || !document.querySelector(selector)) return;
      w.dom = performance.now();
      observer.disconnect();
      requestAnimationFrame(() => {
        const ch = new MessageChannel();
        ch.port1.onmessage = () => { w.drawn = performance.now(); settle(); };
        ch.port2.postMessage(0);
      });
    };
    const observer = new MutationObserver(check);
    observer.observe(document.body, {subtree: true, childList: true});
  };
  window.__esForgetDrawn = (ms) => new Promise((resolve, reject) => {
    const w = es.watch, done = () => resolve({click: w.click, dom: w.dom, drawn: w.drawn});
    if (w.drawn !== null) return done();
    w.waiters.push(done);
    setTimeout(() => reject(new Error('no forget strip after ' + ms + ' ms')), ms);
  });
})();
"""


def choose(page, label: str, option: str) -> None:
    """Pick `option` (its shown text) in the selectbox labelled `label`, and wait for the page's rerun (the caller
    checks what the page then says)."""
    from bench.app_speed import IDLE_PAGE
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    box.wait_for(timeout=60_000)
    box.click()
    page.keyboard.type(option)
    page.keyboard.press("Enter")
    page.wait_for_timeout(100)
    page.wait_for_function(IDLE_PAGE, timeout=120_000)


def browser_round(page, model, text: str, marker: str, per_trace: int) -> dict:
    """One round of --browser (the page on the Text page, "Type or paste" chosen): paste, choose, time."""
    from app import settings
    from bench.app_speed import IDLE_PAGE
    from bench.browser import paste
    from model import trace
    from model.trace.resume import forget_trace
    from model.trace.snapshots import Snapshots

    at, end, word = middle_word(text)
    paste(page, text, marker, timeout_ms=300_000)
    page.wait_for_function(IDLE_PAGE, timeout=120_000)
    kept = Snapshots(per_trace, max_bytes=settings.SNAPSHOT_BYTES)  # as the app keeps them
    plain_s, _ = timed(lambda: trace(model, text, snapshots=kept))
    section = page.locator("details", has_text="Forget a word: what the rest of the text loses")
    if section.get_attribute("open") is None:
        page.get_by_text("Forget a word: what the rest of the text loses", exact=False).click()
        page.wait_for_timeout(100)
        page.wait_for_function(IDLE_PAGE, timeout=120_000)
    choose(page, "Word to forget", f"{word} · byte {at:,}")
    choose(page, "Forget it in", "all layers")
    page.get_by_text(f"with '{word}' (bytes {at:,}-{end - 1:,}) gone from the memory of every layer",
                     exact=False).wait_for(timeout=30_000)
    assert page.locator(".es-strips span.fw").count() == 0, "a forget strip is on the page before the click"
    button = page.get_by_role("button", name="Forget it")
    selector = f'.es-strips span.fw[title^="byte {at:,}:"]'  # the forgotten word's first byte, outlined
    page.evaluate("(s) => window.__esForgetWatch(s)", selector)
    alone_s, _ = timed(lambda: forget_trace(model, kept, [(None, at, end)]))  # just before the click
    start = time.perf_counter()
    button.click()
    js = page.evaluate("() => window.__esForgetDrawn(300000)")
    wall = time.perf_counter() - start
    said = f"Forgetting '{word}' in every layer"
    assert page.get_by_text(said, exact=False).count() >= 1, "no sentence"
    assert page.locator(".es-strips", has_text=f"change in loss when '{word}'").count() == 1, "no strip"
    rows = page.locator(".es-rises table", has_text="bytes before").count()  # the later words that lost most
    page.wait_for_timeout(100)
    page.wait_for_function(IDLE_PAGE, timeout=300_000)  # the attention below it, before the next round
    assert page.get_by_text("Traceback").count() == 0
    click = (js["drawn"] - js["click"]) / 1000
    return {"word": word, "start": at, "end": end, "click_to_result_s": click,
            "click_to_strip_in_dom_s": (js["dom"] - js["click"]) / 1000, "wall_click_to_result_s": wall,
            "resumed_alone_s": alone_s, "plain_keeping_states_s": plain_s, "table_shown": rows > 0,
            "resumed_from_token": kept.before(at).n_done, "goal_s": GOAL_SCALE * alone_s + GOAL_S}


def browser_side(checkpoint: str, n_bytes: int, repeats: int) -> dict:
    """--browser: a warm-up round, then `repeats` rounds, each on a never-seen text."""
    import tempfile

    from playwright.sync_api import sync_playwright

    from app import settings
    from bench.app_speed import IDLE_PAGE, texts
    from bench.browser import launch_chromium, streamlit_app
    from model import ExpireSpanLM

    model = ExpireSpanLM.from_pretrained(checkpoint).eval()
    samples = texts(n_bytes, repeats + 1, tag="Forget")
    log = Path(tempfile.mkdtemp()) / "streamlit.log"
    rounds = []
    with streamlit_app(log, {"EXPIRE_SPAN_CHECKPOINTS": str(Path(checkpoint).parent)}) as url, \
            sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.add_init_script(RECORDER)
        page.goto(url, wait_until="domcontentloaded")
        page.wait_for_selector(".es-strips", timeout=300_000)
        page.wait_for_function(IDLE_PAGE, timeout=120_000)
        page.get_by_text("Type or paste", exact=True).click()
        for k, text in enumerate(samples):
            rounds.append(browser_round(page, model, text, f"Forget{k}marker", settings.SNAPSHOTS_PER_TRACE))
            r = rounds[-1]
            print(f"  {'warm-up' if k == 0 else f'round {k}':<9}'{r['word']}' at byte {r['start']:,}: click to "
                  f"result {r['click_to_result_s']:.3f} s (wall {r['wall_click_to_result_s']:.3f}); resumed "
                  f"forget alone {r['resumed_alone_s']:.3f} s (plain trace {r['plain_keeping_states_s']:.3f}); "
                  f"goal {r['goal_s']:.3f} s: {'met' if r['click_to_result_s'] <= r['goal_s'] else 'MISSED'}",
                  flush=True)
        browser.close()
    timed_rounds = rounds[1:]
    click = statistics.median(r["click_to_result_s"] for r in timed_rounds)
    compute = statistics.median(r["resumed_alone_s"] for r in timed_rounds)
    return {"warm_up": rounds[0], "rounds": timed_rounds, "median_click_s": click,
            "median_wall_click_s": statistics.median(r["wall_click_to_result_s"] for r in timed_rounds),
            "median_resumed_alone_s": compute,
            "median_plain_keeping_states_s": statistics.median(r["plain_keeping_states_s"] for r in timed_rounds),
            "goal_s": GOAL_SCALE * compute + GOAL_S,
            "met": sum(r["click_to_result_s"] <= r["goal_s"] for r in timed_rounds)}


def report_browser(b: dict, repeats: int) -> None:
    ok = b["median_click_s"] <= b["goal_s"]
    print(f"  medians of {repeats}: click to result {b['median_click_s']:.3f} s (wall "
          f"{b['median_wall_click_s']:.3f}); resumed forget alone {b['median_resumed_alone_s']:.3f} s (plain "
          f"trace {b['median_plain_keeping_states_s']:.3f}); goal 1.25 x {b['median_resumed_alone_s']:.3f} + 0.5 = "
          f"{b['goal_s']:.3f} s: {'met' if ok else 'MISSED'}; each round within its own goal: {b['met']} of {repeats}")


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
    parser.add_argument("--browser", action="store_true", help="only the Text page in a real browser")
    parser.add_argument("--json", default=None, help="default: bench/results/forget_speed.json (--browser: "
                        "forget_speed_browser.json)")
    args = parser.parse_args()
    args.json = args.json or str(ROOT / "bench" / "results" / (
        "forget_speed_browser.json" if args.browser else "forget_speed.json"))
    import app  # noqa: F401  (its OpenMP setting, before torch loads: the model runs here as it runs in the app)
    import torch

    from app import settings
    from model import ExpireSpanLM

    if args.browser:
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
              f"{platform.processor() or platform.machine()}; {args.bytes:,}-byte texts, the word nearest the "
              "middle forgotten in every layer")
        out = {"checkpoint": args.checkpoint, "bytes": args.bytes, "threads": torch.get_num_threads(),
               "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
               "browser": browser_side(args.checkpoint, args.bytes, args.repeats)}
        report_browser(out["browser"], args.repeats)
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2))
        return

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
