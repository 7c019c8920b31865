"""The app in a real browser: pasted text to the default view drawn, split into server and browser time, beside
the model's own trace of the same texts; and the step slider and the shipped tour.

    python bench/app_speed.py [--checkpoint-dir checkpoints] [--sizes 10000 40000] [--repeats 3]
                               [--skip-slider-tour | --paste-only]
    python bench/app_speed.py --first-paste [--sizes 10000] [--sessions 6]

Starts `streamlit run app/main.py` and times, in one run:
- loading: from the start of the server to its health check answering, and to the first page drawn (the model
  loaded and the example traced and drawn); the model's own load in this process, before the app starts;
- a warm-up paste (3,000 bytes: the first paste after the server started, reported apart);
- for each size: `--repeats` never-seen texts pasted one after the other (Ctrl+Enter to the default view, "What
  each layer kept", drawn with that text: the longest-kept table and the strips); then the same texts pasted
  again, in the same order (each then differs from the text on the page, and its trace is stored); after each
  second paste (unless --paste-only), "Find them" to its "where memory mattered" table filled in (a second trace,
  memory cut to L/4: work only that table needs, run on request after the first screen; if the page has no such
  button and fills the table by itself, from the first paste's strips drawn to the table shown);
- unless --skip-slider-tour or --paste-only: the "remembered at step t" slider to the recoloured text, and Next
  through the shipped tour (assets/decks/tour.json) in presenter mode, twice through.
Just before each first paste it traces the same text with the model alone in this process (same checkpoint, same
thread count as the server: torch's default; the app's OpenMP setting, app/__init__.py), the server and the browser
idle meanwhile; and just before each "Find them", that text's cut trace. Each paste is also held against its own
text's trace (goal met in k of n pastes).

Each paste is split with the browser's own clocks: a script in the page notes (performance.now()) the Ctrl+Enter,
the websocket send of the rerun, the moment the strips showing the text's marker enter the DOM (MutationObserver)
and the end of the next frame drawn after that (requestAnimationFrame, then a message posted from it); the
Chrome DevTools protocol gives the time each websocket frame reached the page, in the same clock. So
    server  = Ctrl+Enter -> the frame holding the strips received (the model, the page's Python, serialisation,
              and the transport; a frame received while the page's main thread is busy is noted late; a text
              pasted again gets a reference to the message the page cached, so there it is the last frame
              received before the strips entered the DOM),
    browser = that frame -> the strips drawn (decoding, sanitising, React, style, layout and paint),
The CPU seconds the server and the chromium processes used from Ctrl+Enter to the strips drawn are noted too: on
two cores, what the browser uses while the model traces slows the trace. The page's long tasks (main thread busy
over 50 ms), the bytes received and wall_s (the same paste on this process's clock) are in the JSON. The goal
beside each paste is 1.25 x the model's trace of the same texts (median) + 0.5 s (issue 18); the model's trace
runs in this process after the app has closed, so nothing else slows it.
--first-paste times instead a session's first paste against its second (first_paste_sessions): none of the
above, no warm-up paste. Prints tables and writes JSON.
"""
import argparse
import base64
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.browser import ROOT, launch_chromium, process_table, streamlit_app

IDLE_PAGE = ("() => document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state')"
             " === 'notRunning'")
IDLE = ("(k) => document.body.innerText.includes('Slide ' + k + ' of')"
        " && document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state') === 'notRunning'")
WARMUP_BYTES = 3_000

# Installed in the page before it loads: the clocks of a paste (all performance.now(), ms).
RECORDER = """
(() => {
  const es = window.__es = {sends: [], longtasks: [], watch: null};
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    es.sends.push(performance.now());
    return send.call(this, data);
  };
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && es.watch) es.watch.key = performance.now();
  }, true);
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) es.longtasks.push([e.startTime, e.duration]);
    }).observe({type: 'longtask', buffered: false});
  } catch (err) {}
  // the first page, until the first paste is watched: the strips painted, and a chart drawn (plotly.js loaded)
  const load = es.load = {strips: null, painted: null, chart: null};
  const loading = new MutationObserver(() => {
    if (load.strips === null && document.querySelector('.es-strips')) {
      load.strips = performance.now();
      requestAnimationFrame(() => {
        const ch = new MessageChannel();
        ch.port1.onmessage = () => { load.painted = performance.now(); };
        ch.port2.postMessage(0);
      });
    }
    if (load.chart === null && [...document.querySelectorAll('.js-plotly-plot')].some((g) => g._fullLayout))
      load.chart = performance.now();
    if (load.strips !== null && load.chart !== null) loading.disconnect();
  });
  loading.observe(document, {subtree: true, childList: true});
  const TABLE = ['its memory cut from', 'No word lost anything'];  // "where memory mattered" filled in
  const shown = (marker) => {
    const s = document.querySelector('.es-strips'), t = document.querySelector('.es-longest');
    return !!(s && t && s.textContent.includes(marker));
  };
  window.__esWatch = (marker, chart = false) => {  // chart: also note this text's first chart drawn
    loading.disconnect();
    const w = es.watch = {marker, key: null, dom: null, drawn: null, idle: null, table: null, chart: null,
                          waiters: []};
    for (const g of document.querySelectorAll('.js-plotly-plot')) g.__esOld = g.data;  // charts drawn before
    const settle = () => { w.waiters = w.waiters.filter((x) => w[x.field] === null || (x.resolve(), false)); };
    const check = () => {
      if (w.dom === null && w.key !== null && shown(marker)) {
        w.dom = performance.now();
        requestAnimationFrame(() => {
          const ch = new MessageChannel();
          ch.port1.onmessage = () => { w.drawn = performance.now(); settle(); };
          ch.port2.postMessage(0);
        });
      }
      if (chart && w.key !== null && w.chart === null && [...document.querySelectorAll('.js-plotly-plot')].some(
          (g) => g.data && g.data !== g.__esOld && g._fullLayout && g.querySelector('.main-svg')))
        w.chart = performance.now();
      if (w.dom !== null && w.table === null && TABLE.some((p) => document.body.textContent.includes(p)))
        w.table = performance.now();
      const app = document.querySelector('[data-testid=stApp]');
      if (w.dom !== null && w.idle === null && app && app.getAttribute('data-test-script-state') === 'notRunning')
        w.idle = performance.now();
      settle();
    };
    if (w.observer) w.observer.disconnect();
    w.observer = new MutationObserver(check);
    w.observer.observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true,
                                       attributeFilter: ['data-test-script-state']});
  };
  // a promise kept when the watch notes `field` (drawn, idle, table): the benchmark waits on it without polling
  window.__esWhen = (field, ms) => new Promise((resolve, reject) => {
    const w = es.watch;
    if (w[field] !== null) return resolve();
    w.waiters.push({field, resolve});
    setTimeout(() => reject(new Error('no ' + field + ' after ' + ms + ' ms')), ms);
  });
  window.__esRead = () => {
    const w = es.watch;
    if (!w || w.drawn === null) return null;
    const busy = es.longtasks.filter(([s, d]) => s + d > w.key && s < w.drawn);
    const sendAt = es.sends.find((t) => t >= w.key) ?? null;
    return {key: w.key, send: sendAt, dom: w.dom, drawn: w.drawn, idle: w.idle, table: w.table, chart: w.chart,
            longtask_ms: busy.reduce((a, [s, d]) => a + d, 0), longtasks: busy.length};
  };
})();
"""


def texts(n_bytes: int, count: int, tag: str = "Run") -> list[str]:
    """count distinct slices of held-out text of n_bytes UTF-8 bytes, each starting with '{tag}{i}marker '."""
    corpus = ROOT / "data" / "corpus" / "test.txt"
    source = corpus.read_text(encoding="utf-8") if corpus.exists() else (ROOT / "README.md").read_text() * 200
    out = []
    for i in range(count):
        start = (i * 20_011) % max(1, len(source) - 3 * n_bytes)
        head = f"{tag}{i}marker "
        out.append((head + source[start: start + 3 * n_bytes]).encode("utf-8")[:n_bytes].decode("utf-8", "ignore"))
    return out


def cpu_seconds() -> dict:
    """CPU seconds (user + system) used so far by this process's descendants: the streamlit server, and the
    chromium processes (others' browsers on the machine are not counted)."""
    table, me = process_table(), os.getpid()
    out = {"server": 0.0, "browser": 0.0}
    for pid, (_, comm, seconds) in table.items():
        up = pid
        while up in table and up != me:
            up = table[up][0]
        if up != me or pid == me:
            continue
        if "chrom" in comm:
            out["browser"] += seconds
        elif "python" in comm or "streamlit" in comm:
            try:
                if b"streamlit" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    out["server"] += seconds
            except OSError:
                continue
    return out


class Frames:
    """Websocket frames the page sent and received, with the DevTools protocol's timestamps (seconds)."""

    def __init__(self, page):
        self.sent, self.received = [], []
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.on("Network.webSocketFrameSent", lambda e: self.sent.append(e["timestamp"]))
        self.cdp.on("Network.webSocketFrameReceived", self._received)
        self.cdp.send("Network.enable")

    def _received(self, e):
        data = e["response"].get("payloadData", "")
        raw = base64.b64decode(data) if e["response"].get("opcode") == 2 else data.encode()
        self.received.append((e["timestamp"], len(raw), raw))

    def clear(self):
        self.sent.clear()
        self.received.clear()


def wait_for(page, field: str, timeout_ms: int = 300_000) -> None:
    """Until the page's watch notes `field` ("drawn", "idle", "table"): one call that the page answers when it
    happens. Polling from here instead (a round trip through the DevTools protocol every 20-50 ms) took CPU from
    the very trace being timed: a 40,000-byte trace inside the server took 5.28 s against 4.94 s (medians of 4,
    alternating)."""
    page.evaluate("([field, ms]) => window.__esWhen(field, ms)", [field, timeout_ms])


class Paster:
    """The Text page with "Type or paste" chosen; paste() times one paste to its default view drawn."""

    def __init__(self, page):
        self.page, self.frames = page, Frames(page)
        page.get_by_text("Type or paste", exact=True).click()
        self.box = page.get_by_label("Text (Ctrl+Enter to apply)")

    def paste(self, text: str, marker: str, chart: bool = False) -> dict:
        """chart: also wait for a chart drawn with this text (the overview of a text longer than the window)."""
        page = self.page
        self.box.fill(text)
        page.evaluate("([m, c]) => window.__esWatch(m, c)", [marker, chart])
        page.wait_for_timeout(100)  # the fill's own messages settle
        self.box.focus()
        self.frames.clear()
        cpu = cpu_seconds()
        start = time.perf_counter()
        page.keyboard.press("Control+Enter")  # not box.press: its actionability checks would come first
        wait_for(page, "drawn")
        wall = time.perf_counter() - start
        cpu = {k: v - cpu[k] for k, v in cpu_seconds().items()}
        wait_for(page, "idle")
        if chart:
            wait_for(page, "chart", 60_000)
        js = page.evaluate("() => window.__esRead()")
        out = {"wall_s": wall, "drawn_s": (js["drawn"] - js["key"]) / 1000, "idle_s": (js["idle"] - js["key"]) / 1000,
               "dom_to_drawn_s": (js["drawn"] - js["dom"]) / 1000, "longtask_s": js["longtask_ms"] / 1000,
               "longtasks": js["longtasks"], "server_cpu_s": cpu["server"], "browser_cpu_s": cpu["browser"],
               "table_after_drawn_s": None if js["table"] is None else (js["table"] - js["drawn"]) / 1000,
               "chart_s": None if js["chart"] is None else (js["chart"] - js["key"]) / 1000}
        sent = list(self.frames.sent)
        if js["send"] is None or not sent:
            return out
        offset_ms = sent[0] * 1000 - js["send"]  # the rerun's frame: the same moment on both clocks
        got = [(t * 1000 - offset_ms, n, raw) for t, n, raw in self.frames.received]
        needle = marker.encode()
        holding = [(t, n) for t, n, raw in got if b"es-strips" in raw and needle in raw]
        if not holding:  # sent before: Streamlit sends a reference to the message the page has cached
            holding = [(t, n) for t, n, _ in got if t <= js["dom"]][-1:]
        if holding:
            out.update(server_s=(holding[0][0] - js["key"]) / 1000, browser_s=(js["drawn"] - holding[0][0]) / 1000,
                       strips_frame_bytes=holding[0][1], strips_frame_cached=not holding[0][1] > 1000,
                       received_bytes=sum(n for t, n, _ in got if t <= js["drawn"]))
        return out


def slider_seconds(page, count: int) -> list[float]:
    page.get_by_text("Remembered at step t", exact=True).click()
    page.wait_for_selector(".es-strips", timeout=60_000)
    thumb = page.get_by_role("slider").last
    thumb.focus()
    out = []
    for key in (["End", "Home"] * count)[:count]:
        before = page.locator(".es-strips").first.inner_html()
        start = time.perf_counter()
        thumb.press(key)
        page.wait_for_function("(old) => { const s = document.querySelector('.es-strips');"
                               " return s && s.innerHTML !== old; }", arg=before, timeout=60_000)
        out.append(time.perf_counter() - start)
    return out


def tour_seconds(page, url: str) -> tuple[list[float], list[float]]:
    """Open the shipped tour in presenter mode and step through it twice with Next; seconds from the click to
    the slide drawn and the app idle, per slide: the first round (traces computed) and the second (cached)."""
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector(".es-strips", timeout=120_000)
    page.get_by_text("Presenter mode", exact=True).click()
    page.get_by_text("Deck: save or open").click()
    page.get_by_role("button", name="Open it").click()
    page.wait_for_function(IDLE, arg=1, timeout=120_000)
    n = int(page.evaluate("() => document.body.innerText.match(/Slide 1 of (\\d+)/)[1]"))
    rounds = []
    for _ in range(2):
        times = []
        for k in range(n):
            start = time.perf_counter()
            page.get_by_role("button", name="Next ▶").click()
            page.wait_for_function(IDLE, arg=(k + 1) % n + 1, timeout=120_000)
            page.wait_for_timeout(50)
            page.wait_for_function(IDLE, arg=(k + 1) % n + 1, timeout=120_000)  # no second run followed
            times.append(time.perf_counter() - start)
        rounds.append(times)
    return rounds[0], rounds[1]


class Alone:
    """The model alone in this process, with the app's OpenMP setting (the app package sets it when imported,
    before torch loads), so it runs as it runs in the app. It traces each text just before the app is timed on
    it, with the server and the browser idle: this machine's speed drifts by about 30% over minutes, so a
    reference taken at another time would move the ratio by as much."""

    def __init__(self, checkpoint: Path, warm_text: str):
        import app  # noqa: F401
        from model import ExpireSpanLM, trace
        start = time.perf_counter()
        self.model, self.trace = ExpireSpanLM.from_pretrained(checkpoint), trace
        self.load_s = time.perf_counter() - start
        self.trace(self.model, warm_text)  # warm-up, as long as the longest text: a first long trace is slower

    def seconds(self, text: str, cut: bool = False) -> float:
        """One trace of text (cut: with the memory cut to L/4, as "Find them" runs it)."""
        limit = self.model.config.max_span // 4 if cut else None
        start = time.perf_counter()
        self.trace(self.model, text, span_limit=limit)
        return time.perf_counter() - start


def first_paste_sessions(p, url: str, size: int, sessions: int) -> list[dict]:
    """--first-paste: sessions + 1 fresh browser sessions on one server (each a new browser context, with its own
    cache, as a new visitor), one after the other. In each: the first page drawn, then two never-seen texts of
    `size` bytes pasted (the session's first paste and its second), which of the pair goes first alternating from
    session to session. Session 0 (of the first size: the first visitor after the server starts) is reported
    apart. Each paste is timed as Paster.paste times it, and also to its first chart drawn (chart_s: the overview
    of a text longer than the window)."""
    from app.settings import MAX_WINDOW
    pairs = texts(size, 2 * (sessions + 1), tag=f"F{size}t")
    browser, out = launch_chromium(p), []
    for k in range(sessions + 1):
        order = [2 * k, 2 * k + 1] if k % 2 == 0 else [2 * k + 1, 2 * k]
        context = browser.new_context(viewport={"width": 1400, "height": 1800})
        page = context.new_page()
        page.add_init_script(RECORDER)
        start = time.perf_counter()
        page.goto(url, wait_until="domcontentloaded")
        page.wait_for_selector(".es-strips", timeout=300_000)
        first_page = time.perf_counter() - start
        page.wait_for_function(IDLE_PAGE, timeout=120_000)
        paster = Paster(page)
        load = page.evaluate("() => window.__es.load")  # just before the first paste
        first, second = (paster.paste(pairs[i], f"F{size}t{i}marker", chart=size > MAX_WINDOW) for i in order)
        out.append({"session": k, "first_page_s": first_page, "first_page_painted_s": load["painted"] / 1000,
                    "chart_library_s": None if load["chart"] is None else load["chart"] / 1000,
                    "first": first, "second": second})
        context.close()
    browser.close()
    return out


def report_first_paste(size: int, sessions: list[dict]) -> dict:
    """Print the --first-paste table (medians over the sessions after the server's first) and return its rows."""
    def r(x):
        return round(x, 3) if isinstance(x, float) else x

    timed = sessions[1:]
    print(f"{size:,} bytes, {len(timed)} fresh sessions (session 0, the server's first, apart); seconds from "
          "Ctrl+Enter, medians (max)")
    print(f"{'':<34}{'first paste':>15}{'second paste':>15}{'first - second':>16}")
    rows = {}
    for name, key in [("default view drawn", "drawn_s"), ("first chart drawn", "chart_s"),
                      ("strips frame received", "server_s"), ("frame -> drawn", "browser_s")]:
        a, b = [s["first"].get(key) for s in timed], [s["second"].get(key) for s in timed]
        if any(x is None for x in a + b):
            continue
        diff = [x - y for x, y in zip(a, b)]
        rows[key] = {"first": med(a), "second": med(b), "difference": med(diff)}
        print(f"{name:<34}{med(a):>8.2f} ({max(a):4.2f}){med(b):>8.2f} ({max(b):4.2f}){med(diff):>+9.2f} "
              f"({max(diff):+4.2f})")
    s0, library = sessions[0], [s["chart_library_s"] for s in timed]
    print(f"session 0 (the server's first): first page {s0['first_page_s']:.2f} s, first paste drawn "
          f"{s0['first']['drawn_s']:.2f} s, second {s0['second']['drawn_s']:.2f} s")
    painted = med(s["first_page_painted_s"] for s in timed)
    print(f"the first page, from navigation (medians): strips painted {painted:.2f} s (page clock), found by "
          f"Playwright {med(s['first_page_s'] for s in timed):.2f} s; a chart drawn "
          + (f"(the chart library loaded) {med(library):.2f} s" if None not in library else
             f"before the first paste in {sum(x is not None for x in library)} of {len(library)} sessions"))
    return {"bytes": size, "medians": rows,
            "sessions": [{k: ({kk: r(vv) for kk, vv in v.items()} if isinstance(v, dict) else r(v))
                          for k, v in s.items()} for s in sessions]}


def paste_goal(trace_s: float) -> float:
    """Issue 18's goal for a paste to its first screen: 1.25 x the model's trace of the same text + 0.5 s."""
    return 1.25 * trace_s + 0.5


def med(values) -> float:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint-dir", default=str(ROOT / "checkpoints"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 40_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-slider-tour", action="store_true", help="skip the step slider and the tour")
    parser.add_argument("--paste-only", action="store_true",
                        help="skip 'Find them', the step slider and the tour (pastes, loading and the model only)")
    parser.add_argument("--first-paste", action="store_true",
                        help="only a session's first paste against its second, in --sessions fresh sessions")
    parser.add_argument("--sessions", type=int, default=6, help="--first-paste: fresh sessions timed")
    parser.add_argument("--json", default=None, help="default: bench/results/app_speed.json (--first-paste: "
                        "app_speed_first_paste.json)")
    args = parser.parse_args()
    name = "app_speed_first_paste.json" if args.first_paste else "app_speed.json"
    args.json = args.json or str(ROOT / "bench" / "results" / name)
    from playwright.sync_api import sync_playwright

    if args.first_paste:
        log = Path(tempfile.mkdtemp()) / "streamlit.log"
        with streamlit_app(log, {"EXPIRE_SPAN_CHECKPOINTS": args.checkpoint_dir}) as url, sync_playwright() as p:
            found = {size: first_paste_sessions(p, url, size, args.sessions) for size in args.sizes}
        rows = [report_first_paste(size, sessions) for size, sessions in found.items()]
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"first_paste": rows, "checkpoint_dir": args.checkpoint_dir}, indent=2))
        return

    samples = {size: texts(size, args.repeats, tag=f"S{size}r") for size in args.sizes}
    warm_text = texts(WARMUP_BYTES, 1, tag="Warm")[0]
    first, again, mattered, slide, tour_first, tour_again = {}, {}, {}, [], [], []
    alone = Alone(Path(args.checkpoint_dir) / "text", texts(max(args.sizes), 1, tag="Warm")[0])
    traced = {size: [] for size in args.sizes}  # the model alone on each text, just before its first paste
    cut_traced = {size: [] for size in args.sizes}  # ... its cut trace, just before "Find them"
    log = Path(tempfile.mkdtemp()) / "streamlit.log"
    launched = time.perf_counter()
    with streamlit_app(log, {"EXPIRE_SPAN_CHECKPOINTS": args.checkpoint_dir}) as url, sync_playwright() as p:
        healthy = time.perf_counter() - launched
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.add_init_script(RECORDER)
        page.goto(url, wait_until="domcontentloaded")
        page.wait_for_selector(".es-strips", timeout=300_000)  # the model loaded, the example traced and drawn
        first_page = time.perf_counter() - launched
        paster = Paster(page)
        warm = paster.paste(warm_text, "Warm0marker")
        for size, group in samples.items():
            first[size] = []
            for k, text in enumerate(group):
                traced[size].append(alone.seconds(text))
                first[size].append(paster.paste(text, f"S{size}r{k}marker"))
            again[size], mattered[size] = [], []
            for k, text in enumerate(group):
                if len(group) == 1:  # the page shows this very text: show another first (stored, not timed)
                    paster.paste(warm_text, "Warm0marker")
                again[size].append(paster.paste(text, f"S{size}r{k}marker"))
                if not args.paste_only:
                    button = page.get_by_role("button", name="Find them")
                    if button.count():  # on request: from the click
                        cut_traced[size].append(alone.seconds(text, cut=True))
                        page.evaluate("() => { window.__es.watch.table = null; }")  # the table of this click
                        start = time.perf_counter()
                        button.click()
                        wait_for(page, "table")
                        mattered[size].append(time.perf_counter() - start)
                    elif first[size][k]["table_after_drawn_s"] is not None:  # run by itself after the first screen
                        mattered[size].append(first[size][k]["table_after_drawn_s"])
        if not (args.paste_only or args.skip_slider_tour):
            slide = slider_seconds(page, args.repeats + 1)
            tour_first, tour_again = tour_seconds(page, url)
        browser.close()

    def r(x):
        return round(x, 3) if isinstance(x, float) else x

    rows = {"loading": {"server_healthy_s": r(healthy), "first_page_drawn_s": r(first_page),
                        "model_alone_load_s": r(alone.load_s)},
            "warmup_paste": {"bytes": WARMUP_BYTES, **{k: r(v) for k, v in warm.items()}},
            "sizes": {}, "model_cut_trace_s": [r(x) for size in args.sizes for x in cut_traced[size]],
            "slider_redraw_s": [r(x) for x in slide], "tour_first_round_s": [r(x) for x in tour_first],
            "tour_second_round_s": [r(x) for x in tour_again], "checkpoint_dir": args.checkpoint_dir}
    for size in args.sizes:
        rows["sizes"][size] = {
            "model_trace_s": [r(x) for x in traced[size]], "goal_s": r(paste_goal(med(traced[size]))),
            "model_cut_trace_s": [r(x) for x in cut_traced[size]],
            "first_paste": [{k: r(v) for k, v in m.items()} for m in first[size]],
            "same_text_again": [{k: r(v) for k, v in m.items()} for m in again[size]],
            "click_to_where_memory_mattered_s": [r(x) for x in mattered[size]]}

    print(f"loading: server answering {healthy:.2f} s after start; first page drawn (model loaded, example traced) "
          f"{first_page:.2f} s; the model alone loads in {alone.load_s:.2f} s")
    print(f"warm-up paste ({WARMUP_BYTES:,} bytes, the first after start): drawn {warm['drawn_s']:.2f} s")
    print(f"{'median of ' + str(args.repeats) + ' (max), seconds':<40}{'drawn':>13}{'server':>8}{'browser':>8}"
          f"{'srv CPU':>8}{'brw CPU':>8}{'trace':>7}{'goal':>7}{'x trace':>8}  each met")
    for size in args.sizes:
        trace_s = med(traced[size])
        goal = paste_goal(trace_s)
        for name, group in [("first paste", first[size]), ("same text again", again[size])]:
            drawn = [m["drawn_s"] for m in group]
            cols = [med(m.get(k) for m in group) for k in ("server_s", "browser_s", "server_cpu_s", "browser_cpu_s")]
            print(f"{f'{size:,} bytes, {name} -> drawn':<40}{med(drawn):>6.2f} ({max(drawn):4.2f})"
                  + "".join(f"{c:>8.2f}" for c in cols) + f"{trace_s:>7.2f}{goal:>7.2f}{med(drawn) / trace_s:>8.2f}"
                  + f"{sum(d <= paste_goal(t) for d, t in zip(drawn, traced[size])):>5} of {len(drawn)}")
        if mattered[size]:
            print(f"{f'{size:,} bytes, Find them -> table':<40}{med(mattered[size]):>6.2f} "
                  f"({max(mattered[size]):4.2f}){'':>32}{med(cut_traced[size]):>7.2f}{1.25 * trace_s:>7.2f}"
                  f"{med(mattered[size]) / trace_s:>8.2f}"
                  f"{sum(d <= 1.25 * t for d, t in zip(mattered[size], traced[size])):>5} of {len(mattered[size])}")
    print("drawn: Ctrl+Enter -> the strips drawn (page clock); server: -> the websocket frame with the strips "
          "received;\nbrowser: that frame -> the strips drawn; srv / brw CPU: CPU seconds the server / chromium "
          "used meanwhile;\ntrace: the model alone (for 'Find them': its cut trace); goal: 1.25 x trace + 0.5 s "
          "(for 'Find them': 1.25 x the full trace); x trace: drawn / trace;\n"
          "each met: pastes within the goal of their own text's trace")
    if slide:
        print(f"step slider -> recoloured text: median {med(slide):.2f} s, max {max(slide):.2f} s")
    if tour_first:
        print(f"tour, a slide: first time through median {med(tour_first):.2f} s (max {max(tour_first):.2f}); "
              f"second (traces cached) {med(tour_again):.2f} s (max {max(tour_again):.2f})")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
