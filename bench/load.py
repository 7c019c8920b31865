"""The app under N concurrent browser sessions: latency, cross-talk, failures, server memory and server CPU,
the last beside the CPU time of the model's own trace of the same texts (issue 18).

    python bench/load.py [--checkpoint-dir checkpoints] [--sessions 1,4,16] [--rounds 2] [--bytes 2000]
                         [--same 16] [--same-repeats 3] [--big-bytes 50000] [--pretraced] [--timeout 300]
                         [--json bench/results/load.json]

Starts `streamlit run app/main.py` once (with EXPIRE_SPAN_COUNT_TRACES=1: app/store.py then writes one line,
"model trace <input hash> cut=<cut>", to the server's log each time the model starts a trace) and one chromium;
every session is its own Playwright browser context (own cookies, own Streamlit session). The browsers share
the machine's cores with the server, so the server is judged by its own CPU time: user + system of the
streamlit process from /proc/PID/stat, read before the pastes of a round and after every session's script run
has ended (the app idle again), so a paste's whole rerun is counted, not only the part before its view is drawn.

Concurrent sessions (--sessions): for each N, N pages load the Text page and wait for its default view ("What
each layer kept": the text strips `.es-strips` and the longest-kept table `.es-longest`; the shipped example
is traced then, not timed) and switch to "Type or paste". Then, per round, each session fills the text area
with its own fresh text (a distinct --bytes slice of data/corpus/test.txt, starting with a unique marker such
as "Mkn4r1s03k0007x"), all sessions press Ctrl+Enter at the same moment, and each is timed from its key press
until the strips show a benchmark text's marker. A session whose strips show another session's text counts as
WRONG (cross-talk); one that shows nothing within --timeout, or a Python exception, counts as a FAILURE. Per N:
p50 / p95 / max latency, max / p50 (the slowest visitor against the median one), p95(N) / p50(N=1), wrong
results, failures, the model traces the server started for the timed texts (one per paste; none with
--pretraced), the server's VmRSS (with the N sessions open) and VmHWM (peak so far), and CPU seconds per paste
of the server and of all chromium processes. Just before and just after each round, with the server and the
browsers idle, this process traces the round's texts with the model alone, as the server does
(app.store._trace_in_turns: same checkpoint, --checkpoint-dir/text, and torch.set_num_threads set to the thread
count the page reports, "Running on CPU (n threads)"), and takes each trace's CPU time (time.process_time()): the
machine's speed drifts by 30% within minutes, so the reference is taken around the pastes it is held against, the
mean of the two. The table prints the server's CPU per paste next to that trace CPU per text and their ratio
(total server CPU over the total trace CPU of the same texts).
On a GPU server process_time() misses the GPU's work: the ratio is then only meaningful on CPU.

Same text (--same N, 0 skips): first one visitor alone, in a fresh session, pastes a fresh --bytes text: its
latency, the server's CPU for it and the traces it caused. Then N fresh sessions all paste one other fresh text
of the same size at the same moment (what a class opening the same untraced example does: a pasted text and an
example go through the same app.store.run_trace, whose traces_in_flight() makes every session wait for the one
trace in progress). Printed: the traces the model ran for that text (the issue's "passes": 1 expected) and the
model passes they took (a pass: BLOCKS_PER_PASS blocks), p50 / max latency, wrong and failed sessions, and the
server's CPU for all N against the one visitor's. One more lone visitor follows on a third fresh text, and the N's CPU
is held against the mean of the two lone visitors around it; the whole is run --same-repeats times (3) and the median
of the ratios is held against the target: one visitor's CPU is a single paste, and the machine's speed drifts by 30%
within minutes.

--pretraced: before each round of the concurrent sessions an extra session pastes the round's texts one by one,
so the server's trace store holds them and the timed pastes measure everything but the model (Streamlit, the
views, the browsers): the floor that no model speed-up can lower. Its server / trace CPU ratio is that floor's
share of a trace. Kept because it still isolates the same thing now that the default view is HTML.

Responsiveness (--big-bytes, 0 skips): in two fresh sessions, the small one first pastes a --bytes text alone
(idle latency); then the big one pastes a --big-bytes text and 0.5 s later, while that one is being traced, the
small one pastes another --bytes text; both are timed to their own default view and checked. Kept: the app's
FairLock (model taken one pass at a time, in arrival order) is still what it measures.

Also the server's idle CPU (no session open, before any). Prints tables, the issue's targets, and writes JSON.
"""
import argparse
import asyncio
import json
import math
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from app import loading
from bench.browser import ROOT, launch_chromium, process_table, streamlit_app

COUNT_ENV = "EXPIRE_SPAN_COUNT_TRACES"  # app/store.py: one "model trace <hash> cut=<cut>" line per model trace
FIRST_VIEW = ".es-strips"  # the Text page's default view ("What each layer kept") is HTML, not a chart
# The first of `markers` that the default view's text strips show (textContent: no layout, cheap to poll), or
# "!exception" when the page shows a Python exception; null while neither.
VIEW_SHOWS = """(markers) => {
  if (document.querySelector('[data-testid=stException]')) return '!exception';
  const s = document.querySelector('.es-strips'), t = document.querySelector('.es-longest');
  if (!s || !t) return null;
  const text = s.textContent;
  for (const m of markers) if (text.includes(m)) return m;
  return null;
}"""
IDLE = "() => document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state') === 'notRunning'"
THREADS = "() => { const m = document.body.innerText.match(/CPU \\((\\d+) threads?\\)/); return m ? +m[1] : null; }"
TARGETS = {"cpu_ratio": 1.5, "slowest_over_median": 2.0, "same_cpu_ratio": 2.0}  # issue 18's limits


# --- texts ---------------------------------------------------------------------------------------
class Texts:
    """Fresh texts: distinct corpus slices, each starting with a unique marker; remembers every marker."""

    def __init__(self):
        corpus = ROOT / "data" / "corpus" / "test.txt"
        self.source = corpus.read_text(encoding="utf-8") if corpus.exists() else (ROOT / "README.md").read_text() * 200
        self.count = 0
        self.markers = []

    def new(self, tag: str, n_bytes: int) -> tuple[str, str]:
        """(marker, text of about n_bytes UTF-8 bytes); tag: letters and digits only."""
        self.count += 1
        marker = f"Mk{tag}k{self.count:04d}x"  # unique count and an end mark: no marker is part of another
        start = (self.count * 20_011) % max(1, len(self.source) - 3 * n_bytes)
        body = self.source[start: start + 3 * n_bytes].replace("\r\n", "\n").replace("\r", "\n")
        text = (marker + " " + body).encode("utf-8")[:n_bytes].decode("utf-8", "ignore")
        self.markers.append(marker)
        return marker, text


def machine() -> dict:
    """platform.processor() is often empty on Linux: add /proc/cpuinfo's model name."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "")
    return {"processor": platform.processor(), "cpu_model": model, "machine": platform.machine(),
            "cpu_count": os.cpu_count(), "load_average": os.getloadavg()}


# --- server process ------------------------------------------------------------------------------
def server_pid() -> int | None:
    """The `streamlit run` child of this process (bench.browser.streamlit_app does not expose it)."""
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = (d / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and b"streamlit" in cmd:
            return int(d.name)
    return None


def memory_mib(pid: int | None) -> dict:
    """VmRSS and VmHWM (peak RSS) of pid in MiB."""
    out = {"rss_mib": None, "hwm_mib": None}
    if pid is None:
        return out
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out["rss_mib" if key == "VmRSS" else "hwm_mib"] = round(int(value.split()[0]) / 1024, 1)
    return out


def cpu_seconds(server: int | None) -> dict:
    """CPU time (user + system) used so far by the server process and by all chromium processes."""
    out = {"server": 0.0, "browsers": 0.0}
    for pid, (_, comm, seconds) in process_table().items():
        if pid == server:
            out["server"] += seconds
        elif "chrom" in comm:
            out["browsers"] += seconds
    return out


def traces_in_log(log: Path, texts) -> int:
    """Model traces (full memory, cut=1) the server started for any of these texts, from its log."""
    wanted = {loading.digest(t) for t in texts}
    text = log.read_text(errors="replace")
    found = re.findall(r"model trace ([0-9a-f]+) cut=1(?!\d)", text)  # found even where two lines ran together
    return sum(1 for digest in found if digest in wanted)


# --- one session ---------------------------------------------------------------------------------
class Bench:
    """What every scenario needs: the browser, the app's URL, the options, the texts, the server and its log."""

    def __init__(self, browser, url: str, args, texts: Texts, pid: int | None, log: Path):
        self.browser, self.url, self.args, self.texts, self.pid, self.log = browser, url, args, texts, pid, log
        self.threads = None  # torch threads of the server, as its page reports them
        self._alone = None

    def alone(self) -> "ModelAlone":
        """The model in this process, with the server's torch thread count (known once a page has loaded)."""
        if self._alone is None:
            self._alone = ModelAlone(Path(self.args.checkpoint_dir) / "text", self.threads)
        return self._alone


class Session:
    """One browser context on the Text page with "Type or paste" chosen."""

    def __init__(self, b: Bench):
        self.b, self.timeout_ms = b, b.args.timeout * 1000
        self.pasted = set()  # markers of the texts this context pasted before (may still be drawn: not a result)

    async def open(self):
        self.context = await self.b.browser.new_context(viewport={"width": 1400, "height": 1800})
        self.page = await self.context.new_page()
        await self.page.goto(self.b.url, wait_until="domcontentloaded")
        await self.page.wait_for_selector(FIRST_VIEW, timeout=self.timeout_ms)  # model and example traced
        if self.b.threads is None:
            self.b.threads = await self.page.evaluate(THREADS)
        await self.page.get_by_text("Type or paste", exact=True).click()
        self.box = self.page.get_by_label("Text (Ctrl+Enter to apply)")
        await self.box.wait_for(timeout=self.timeout_ms)
        await self.idle()  # the rerun of the click is over: none of its CPU falls in a timed paste
        return self

    async def idle(self) -> bool:
        """Wait until the script run of this browser context has ended; False if it did not within --timeout."""
        from playwright.async_api import Error as PlaywrightError
        try:
            await self.page.wait_for_function(IDLE, polling=50, timeout=self.timeout_ms)
            return True
        except PlaywrightError:
            return False

    async def press(self, marker: str) -> dict:
        """Press Ctrl+Enter on the already filled text; time until the default view shows a benchmark text,
        then wait until the run has ended."""
        from playwright.async_api import Error as PlaywrightError

        candidates = [m for m in self.b.texts.markers if m not in self.pasted or m == marker]
        start = time.perf_counter()
        await self.box.press("Control+Enter")
        try:
            drawn = await (await self.page.wait_for_function(
                VIEW_SHOWS, arg=candidates, polling=50, timeout=self.timeout_ms)).json_value()
        except PlaywrightError as e:  # a timeout (or a crashed page) is a failure
            return {"ok": False, "failed": True, "latency_s": None, "error": type(e).__name__}
        latency = time.perf_counter() - start
        if drawn == "!exception":
            return {"ok": False, "failed": True, "latency_s": None, "error": "exception on the page"}
        self.pasted.add(marker)
        result = {"ok": drawn == marker, "failed": False, "latency_s": round(latency, 3)}
        if drawn != marker:
            result["showed"] = drawn
        if not await self.idle():
            result["not_idle"] = True
        return result

    async def close(self):
        await self.context.close()


async def open_sessions(b: Bench, n: int) -> list[Session]:
    return list(await asyncio.gather(*(Session(b).open() for _ in range(n))))


async def timed_round(b: Bench, sessions: list[Session], items: list[tuple[str, str]]) -> tuple[list, dict, int]:
    """Every session fills its (marker, text), then all press Ctrl+Enter at the same moment; returns the
    results, the CPU seconds of the server and the browsers from the key presses until every run has ended,
    and the model traces the server started for these texts meanwhile."""
    await asyncio.gather(*(s.box.fill(t) for s, (_, t) in zip(sessions, items)))
    texts = {t for _, t in items}
    traced = traces_in_log(b.log, texts)
    before = cpu_seconds(b.pid)
    results = await asyncio.gather(*(s.press(m) for s, (m, _) in zip(sessions, items)))  # same moment
    after = cpu_seconds(b.pid)
    return list(results), {k: after[k] - before[k] for k in before}, traces_in_log(b.log, texts) - traced


# --- scenarios -----------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    s = sorted(values)
    return s[max(0, math.ceil(q / 100 * len(s)) - 1)]


def latency_stats(results: list[dict]) -> dict:
    lat = [x["latency_s"] for x in results if not x["failed"]]
    p50 = statistics.median(lat) if lat else None
    return {"samples": len(results), "p50_s": p50, "p95_s": percentile(lat, 95), "max_s": max(lat) if lat else None,
            "slowest_over_median": round(max(lat) / p50, 2) if lat and p50 else None,
            "wrong": sum(1 for x in results if not x["ok"] and not x["failed"]),
            "failures": sum(1 for x in results if x["failed"])}


async def concurrent(b: Bench, n: int) -> dict:
    """N sessions, --rounds rounds, all pressing Ctrl+Enter at the same moment."""
    args = b.args
    sessions = await open_sessions(b, n)
    warmer = (await open_sessions(b, 1))[0] if args.pretraced else None
    results, cpu, traces, alone = [], {"server": 0.0, "browsers": 0.0}, 0, {"cpu_s": 0.0, "wall_s": 0.0}
    for r in range(args.rounds):
        batch = [b.texts.new(f"n{n}r{r}s{i:02d}", args.bytes) for i in range(n)]
        if warmer:  # --pretraced: the server's trace store already holds every text of the round
            for marker, text in batch:
                await warmer.box.fill(text)
                await warmer.press(marker)
        before = [b.alone().trace(t) for _, t in batch]  # the reference, around the round
        got, used, traced = await timed_round(b, sessions, batch)
        after = [b.alone().trace(t) for _, t in batch]
        for k in alone:
            alone[k] += sum(x[k] + y[k] for x, y in zip(before, after)) / 2
        results += got
        traces += traced
        for k in cpu:
            cpu[k] += used[k]
    memory = memory_mib(b.pid)  # with the N sessions still open
    await asyncio.gather(*(s.close() for s in sessions + ([warmer] if warmer else [])))
    return {"sessions": n, "pretraced": bool(warmer), **latency_stats(results), "traces": traces,
            # CPU seconds while the rounds ran (server: streamlit and the model; browsers: chromium)
            "server_cpu_s": round(cpu["server"], 3), "browser_cpu_s": round(cpu["browsers"], 3),
            "server_cpu_per_paste_s": round(cpu["server"] / len(results), 3),
            "browser_cpu_per_paste_s": round(cpu["browsers"] / len(results), 3),
            # the model alone on the same texts, per text (the mean of its traces before and after each round)
            "trace_cpu_per_text_s": round(alone["cpu_s"] / len(results), 3),
            "trace_wall_per_text_s": round(alone["wall_s"] / len(results), 3),
            "server_cpu_over_trace_cpu": round(cpu["server"] / alone["cpu_s"], 2) if alone["cpu_s"] else None,
            **memory, "results": results}


async def same_text(b: Bench, n: int) -> dict:
    """--same-repeats times: one visitor alone on a fresh text, then n visitors pasting one other fresh text at the
    same moment, then one visitor alone again. Each ratio is taken against the mean of its own two lone visitors
    (the machine's speed drifts by 30% within minutes), and the median of the ratios is reported."""
    async def alone(name: str) -> dict:
        solo = (await open_sessions(b, 1))[0]
        item = b.texts.new(name, b.args.bytes)
        results, cpu, traces = await timed_round(b, [solo], [item])
        await solo.close()
        return {**results[0], "traces": traces, "server_cpu_s": round(cpu["server"], 3), "_text": item[1]}

    repeats = []
    for r in range(b.args.same_repeats):
        before = await alone(f"solo{r}a")
        sessions = await open_sessions(b, n)
        item = b.texts.new(f"same{n}r{r}", b.args.bytes)
        results, cpu, traces = await timed_round(b, sessions, [item] * n)
        memory = memory_mib(b.pid)
        await asyncio.gather(*(s.close() for s in sessions))
        after = await alone(f"solo{r}b")
        one = (before["server_cpu_s"] + after["server_cpu_s"]) / 2
        repeats.append({
            "solo": before, "solo_after": after, "one_visitor_cpu_s": round(one, 3),
            "same": {**latency_stats(results), "traces": traces, "server_cpu_s": round(cpu["server"], 3),
                     "browser_cpu_s": round(cpu["browsers"], 3), "results": results, "_text": item[1], **memory},
            "server_cpu_over_solo": round(cpu["server"] / one, 2) if one > 0 else None})
    ratios = [x["server_cpu_over_solo"] for x in repeats if x["server_cpu_over_solo"] is not None]
    return {"sessions": n, "bytes": b.args.bytes, "repeats": repeats,
            "traces_each": [x["same"]["traces"] for x in repeats],
            "server_cpu_over_solo": round(statistics.median(ratios), 2) if ratios else None}


async def responsiveness(b: Bench) -> dict:
    """Latency of a small paste while another session's big paste is being traced, and idle."""
    args = b.args
    big, small = await open_sessions(b, 2)
    idle_marker, idle_text = b.texts.new("idle", args.bytes)
    await small.box.fill(idle_text)
    idle = await small.press(idle_marker)
    (big_marker, big_text), (small_marker, small_text) = b.texts.new("big", args.big_bytes), b.texts.new(
        "busy", args.bytes)
    await asyncio.gather(big.box.fill(big_text), small.box.fill(small_text))

    async def small_later():
        await asyncio.sleep(0.5)
        return await small.press(small_marker)

    big_result, busy = await asyncio.gather(big.press(big_marker), small_later())
    await asyncio.gather(big.close(), small.close())
    return {"big_bytes": args.big_bytes, "small_bytes": args.bytes,
            "idle": idle, "during_big": busy, "big": big_result}


async def idle_cpu(pid: int | None, seconds: float = 3.0) -> float:
    """Server CPU seconds per second while no session is open."""
    before = cpu_seconds(pid)["server"]
    await asyncio.sleep(seconds)
    return round((cpu_seconds(pid)["server"] - before) / seconds, 4)


async def run(args) -> dict:
    from playwright.async_api import async_playwright

    texts = Texts()
    log = Path(tempfile.mkdtemp()) / "streamlit.log"
    out = {"machine": machine(),
           "bytes": args.bytes, "rounds": args.rounds, "checkpoint_dir": args.checkpoint_dir,
           "streamlit_log": str(log), "concurrent": []}
    with streamlit_app(log, {"EXPIRE_SPAN_CHECKPOINTS": args.checkpoint_dir, COUNT_ENV: "1"}) as url:
        pid = server_pid()
        out["memory_at_start"] = memory_mib(pid)
        out["server_idle_cpu_s_per_s"] = await idle_cpu(pid)
        async with async_playwright() as p:
            b = Bench(await launch_chromium(p), url, args, texts, pid, log)
            for n in args.sessions:
                row = await concurrent(b, n)
                out["concurrent"].append(row)
                print(f"N={n}: p50 {fmt(row['p50_s'])} s, {row['wrong']} wrong, {row['failures']} failed",
                      file=sys.stderr, flush=True)
            if args.same:
                out["same_text"] = await same_text(b, args.same)
                print(f"same text x{args.same}: traces {out['same_text']['traces_each']}", file=sys.stderr, flush=True)
            if args.big_bytes:
                out["responsiveness"] = await responsiveness(b)
            await b.browser.close()
        out["memory_at_end"] = memory_mib(pid)
        out["server_threads"] = out["trace_threads"] = b.threads
    add_trace_cpu(out, b)
    return out


# --- the model alone, in this process ----------------------------------------------------------------
class ModelAlone:
    """The text model in this process, tracing as the server does (app.store._trace_in_turns) with the server's
    torch thread count: the reference a paste's server CPU is held against."""

    def __init__(self, checkpoint: Path, threads: int | None):
        import torch
        from app.fair_lock import FairLock
        from app.store import _trace_in_turns
        from model.trace import BLOCKS_PER_PASS, encode_for

        if threads:
            torch.set_num_threads(threads)
        self.model = loading.load_model(str(checkpoint))
        self.lock, self.run, self.encode = FairLock(), _trace_in_turns, encode_for
        self.step = BLOCKS_PER_PASS * self.model.config.block_size
        self.trace("warm-up " * 60)

    def trace(self, text: str) -> dict:
        """{cpu_s, wall_s, passes} of one trace of text."""
        cpu, wall = time.process_time(), time.perf_counter()
        self.run(self.model, self.lock, text, None, lambda done, total: None, None)
        return {"cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall,
                "passes": math.ceil(len(self.encode(self.model, text)) / self.step)}


def add_trace_cpu(out: dict, b: "Bench") -> None:
    """Trace the same-text test's texts here (the server closed) and put each part's trace CPU next to it."""
    same = out.get("same_text")
    if not same:
        return
    out["trace_threads"] = b.threads
    for x in same["repeats"]:
        for part in (x["solo"], x["same"], x["solo_after"]):
            t = b.alone().trace(part.pop("_text"))
            part["trace_cpu_s"], part["passes_per_trace"] = round(t["cpu_s"], 3), t["passes"]
            part["model_passes"] = part["traces"] * part["passes_per_trace"]
        for solo in (x["solo"], x["solo_after"]):
            solo["server_cpu_over_trace_cpu"] = round(solo["server_cpu_s"] / solo["trace_cpu_s"], 2) \
                if solo["trace_cpu_s"] else None


# --- report --------------------------------------------------------------------------------------
def fmt(x, spec=".2f") -> str:
    return "-" if x is None else format(x, spec)


def print_table(rows: list[dict]) -> None:
    """One line per N; p95(N) / p50(N=1) where N=1 was measured (also stored in the rows)."""
    base = next((r["p50_s"] for r in rows if r["sessions"] == 1), None)
    print(f"{'N':>3}{'pastes':>7}{'p50 s':>7}{'p95 s':>7}{'max s':>7}{'max/p50':>8}{'p95/p50(1)':>11}"
          f"{'wrong':>6}{'failed':>7}{'traces':>7}{'RSS MiB':>8}{'peak MiB':>9}"
          f"{'server CPU':>11}{'trace CPU':>10}{'ratio':>6}{'browsers':>9}")
    for row in rows:
        ratio = row["p95_s"] / base if base and row["p95_s"] is not None else None
        row["p95_over_p50_n1"] = None if ratio is None else round(ratio, 2)
        print(f"{row['sessions']:>3}{row['samples']:>7}{fmt(row['p50_s']):>7}{fmt(row['p95_s']):>7}"
              f"{fmt(row['max_s']):>7}{fmt(row['slowest_over_median']):>8}{fmt(ratio):>11}"
              f"{row['wrong']:>6}{row['failures']:>7}{row['traces']:>7}"
              f"{fmt(row['rss_mib'], '.0f'):>8}{fmt(row['hwm_mib'], '.0f'):>9}"
              f"{fmt(row['server_cpu_per_paste_s'], '.3f'):>11}{fmt(row.get('trace_cpu_per_text_s'), '.3f'):>10}"
              f"{fmt(row.get('server_cpu_over_trace_cpu')):>6}{fmt(row['browser_cpu_per_paste_s']):>9}")
    print("(server CPU: CPU seconds per paste of the streamlit process, key press to run ended; trace CPU: the model"
          "\n alone tracing the same texts in this process just before and after each round, per text; ratio: server"
          "\n CPU / trace CPU; browsers: CPU s per paste of all chromium processes; traces: model traces the server"
          "\n started for the timed texts)"
          + ("  [pretraced]" if any(r["pretraced"] for r in rows) else ""))


def print_same(s: dict) -> None:
    print(f"\nsame text: {s['sessions']} sessions paste one fresh {s['bytes']:,}-byte text at the same moment, "
          f"between two lone visitors on other fresh texts ({len(s['repeats'])} repeats)")
    for k, x in enumerate(s["repeats"], 1):
        same, lone = x["same"], [x["solo"], x["solo_after"]]
        states = ["FAILED" if v["failed"] else "ok" if v["ok"] else "WRONG" for v in lone]
        print(f"  {k}. one visitor alone, before and after: {fmt(lone[0]['latency_s'])} s {states[0]}, "
              f"{fmt(lone[1]['latency_s'])} s {states[1]}; traces {lone[0]['traces']}, {lone[1]['traces']}; server CPU "
              f"{fmt(lone[0]['server_cpu_s'], '.3f')}, {fmt(lone[1]['server_cpu_s'], '.3f')} s (their traces alone "
              f"{fmt(lone[0].get('trace_cpu_s'), '.3f')}, {fmt(lone[1].get('trace_cpu_s'), '.3f')} s CPU)")
        print(f"     {s['sessions']} visitors, one text: {same['traces']} trace(s) of the model "
              f"({fmt(same.get('model_passes'), 'd')} passes), p50 {fmt(same['p50_s'])} s, max {fmt(same['max_s'])} "
              f"s, {same['wrong']} wrong, {same['failures']} failed; server CPU for all {s['sessions']} "
              f"{fmt(same['server_cpu_s'], '.3f')} s = x{fmt(x['server_cpu_over_solo'])} one visitor's "
              f"({fmt(x['one_visitor_cpu_s'], '.3f')} s, the mean of the two)")
    print(f"  median: x{fmt(s['server_cpu_over_solo'])} one visitor's")


def print_responsiveness(r: dict) -> None:
    def line(name, x):
        state = "FAILED" if x["failed"] else "ok" if x["ok"] else f"WRONG (showed {x.get('showed')})"
        print(f"  {name:<44}{fmt(x['latency_s']):>8} s  {state}")
    print(f"\nresponsiveness: a {r['small_bytes']:,}-byte paste while a {r['big_bytes']:,}-byte one is traced")
    line(f"{r['small_bytes']:,} bytes, idle", r["idle"])
    line(f"{r['small_bytes']:,} bytes, 0.5 s after the big paste", r["during_big"])
    line(f"{r['big_bytes']:,} bytes (the big paste)", r["big"])
    if r["idle"]["latency_s"] and r["during_big"]["latency_s"]:
        print(f"  slowdown of the small paste: x{r['during_big']['latency_s'] / r['idle']['latency_s']:.1f}")


def targets(out: dict) -> list[dict]:
    """Issue 18's figures against its limits (None: not measured in this run)."""
    def check(name, value, ok):
        return {"figure": name, "value": value, "ok": None if value is None else ok}
    rows = [r for r in out["concurrent"] if not r["pretraced"]]
    found = []
    for r in rows:
        x = r.get("server_cpu_over_trace_cpu")
        found.append(check(f"N={r['sessions']}: server CPU per paste / trace CPU <= {TARGETS['cpu_ratio']}", x,
                           x is not None and x <= TARGETS["cpu_ratio"]))
    for r in rows:
        if r["sessions"] >= 16:
            found.append(check(f"N={r['sessions']}: wrong results = 0", r["wrong"], r["wrong"] == 0))
            found.append(check(f"N={r['sessions']}: failures = 0", r["failures"], r["failures"] == 0))
            x = r["slowest_over_median"]
            found.append(check(f"N={r['sessions']}: slowest / median visitor <= {TARGETS['slowest_over_median']}",
                               x, x is not None and x <= TARGETS["slowest_over_median"]))
    s = out.get("same_text")
    if s:
        n = s["sessions"]
        most = max(s["traces_each"])
        found.append(check(f"same text x{n}: model traces = 1 (each repeat)", most,
                           set(s["traces_each"]) == {1}))
        x = s["server_cpu_over_solo"]
        found.append(check(f"same text x{n}: server CPU / one visitor's <= {TARGETS['same_cpu_ratio']} (median)", x,
                           x is not None and x <= TARGETS["same_cpu_ratio"]))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint-dir", default=str(ROOT / "checkpoints"))
    parser.add_argument("--sessions", default="1,4,16", help="comma-separated numbers of concurrent sessions")
    parser.add_argument("--rounds", type=int, default=2, help="pastes per session for each N")
    parser.add_argument("--bytes", type=int, default=2000, help="bytes of each pasted text")
    parser.add_argument("--same", type=int, default=16, help="sessions pasting one same text at once; 0 skips")
    parser.add_argument("--same-repeats", type=int, default=3, help="repeats of the same-text test (median ratio)")
    parser.add_argument("--big-bytes", type=int, default=50_000, help="big paste of the responsiveness test; 0 skips")
    parser.add_argument("--pretraced", action="store_true",
                        help="trace every text in an extra session first, so the timed pastes cost no model work")
    parser.add_argument("--timeout", type=float, default=300, help="seconds before a paste counts as failed")
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "load.json"))
    args = parser.parse_args()
    args.sessions = [int(n) for n in args.sessions.split(",") if n.strip() and int(n) > 0]
    if args.same and args.same_repeats < 1:
        parser.error("--same-repeats must be at least 1")

    out = asyncio.run(run(args))
    if out["concurrent"]:
        print_table(out["concurrent"])
    if "same_text" in out:
        print_same(out["same_text"])
    if "responsiveness" in out:
        print_responsiveness(out["responsiveness"])
    out["targets"] = targets(out)
    if out["targets"]:
        print("\nissue 18 targets:")
        for t in out["targets"]:
            mark = "-" if t["ok"] is None else "ok" if t["ok"] else "NOT MET"
            print(f"  {t['figure']:<58}{fmt(t['value'], '') if isinstance(t['value'], int) else fmt(t['value'])}"
                  f"  {mark}")
    m0, m1 = out["memory_at_start"], out["memory_at_end"]
    print(f"\nserver memory: {fmt(m0['rss_mib'], '.0f')} MiB at start, {fmt(m1['rss_mib'], '.0f')} MiB at end, "
          f"peak {fmt(m1['hwm_mib'], '.0f')} MiB; server idle CPU {out['server_idle_cpu_s_per_s']:.3f} s/s; "
          f"torch threads {out.get('server_threads')}; {out['machine']['cpu_count']} CPUs, load average "
          f"{out['machine']['load_average'][0]:.1f} at start; log {out['streamlit_log']}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
