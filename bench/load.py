"""The app under N concurrent browser sessions: latency, cross-talk, failures and server memory.

    python bench/load.py [--checkpoint-dir checkpoints] [--sessions 1,4,16] [--rounds 2] [--bytes 2000]
                         [--big-bytes 50000] [--timeout 300] [--json bench/results/load.json]

Starts `streamlit run app/main.py` once and one chromium; every session is its own Playwright browser
context (own cookies, own Streamlit session). For each N in --sessions, N pages load the Text page and
wait for the example's heatmap (warm-up, not timed) and switch to "Type or paste". Then, per round,
each session fills the text area with its own fresh text (a distinct slice of data/corpus/test.txt,
starting with a unique marker such as "[n4r1s03k007] "), all sessions press Ctrl+Enter at the same moment,
and each is timed from its key press until a heatmap of a benchmark text is drawn on its page.
The drawn heatmap is identified by its first 20 x labels ('position:char', as app/text_views.py
makes them), so a session that shows another session's text counts as WRONG (cross-talk), and one that
shows nothing within --timeout counts as a FAILURE. Per N: p50 / p95 / max latency, p95(N) / p50(N=1),
wrong results, failures, and the server process's VmRSS (now) and VmHWM (peak so far) from /proc.
CPU seconds per paste of the server process and of all chromium processes while the timed pastes ran.

--pretraced: before each round an extra session pastes the round's texts one by one, so the server's
trace store holds them and the timed pastes measure everything but the model (Streamlit, the figures,
the browsers): the floor that no model speed-up can lower.

Responsiveness (skip with --big-bytes 0): in two fresh sessions, the small one first pastes a --bytes
text alone (idle latency); then the big one pastes a --big-bytes text and 0.5 s later, while that one
is being traced, the small one pastes another --bytes text; both are timed and checked.
Prints a table and writes JSON.
"""
import argparse
import asyncio
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.text_views import token_labels
from bench.browser import ROOT, launch_chromium, streamlit_app

HEAD = 20  # x labels compared to identify the drawn text
# First HEAD x labels of every drawn chart whose labels are tokens ('0:...'), e.g. the span heatmap
# (HEATMAP_OF in app_speed.py looks at x[0] only); returns the first that is one of `heads`.
DRAWN_HEAD = """([heads, n]) => {
  for (const g of document.querySelectorAll('.js-plotly-plot')) {
    const x = g.data && g.data[0] && g.data[0].x;
    if (!x || typeof x[0] !== 'string' || !x[0].startsWith('0:')) continue;
    const head = Array.from(x).slice(0, n).join('\\u0001');
    if (heads.includes(head)) return head;
  }
  return null;
}"""
FIRST_PLOT = "() => { const g = document.querySelector('.js-plotly-plot'); return g && g.data; }"
FIRST_VIEW = ".es-strips"  # the Text page's default view ("What each layer kept") is HTML, not a chart


# --- texts ---------------------------------------------------------------------------------------
class Texts:
    """Fresh texts: distinct corpus slices, each starting with a unique marker; remembers every one."""

    def __init__(self):
        corpus = ROOT / "data" / "corpus" / "test.txt"
        self.source = corpus.read_text(encoding="utf-8") if corpus.exists() else (ROOT / "README.md").read_text() * 200
        self.count = 0
        self.heads = {}  # head of x labels -> marker

    def new(self, tag: str, n_bytes: int) -> tuple[str, str]:
        """(marker, text of about n_bytes UTF-8 bytes)."""
        self.count += 1
        marker = f"[{tag}k{self.count:03d}] "
        start = (self.count * 20_011) % max(1, len(self.source) - 3 * n_bytes)
        body = self.source[start: start + 3 * n_bytes].replace("\r\n", "\n")
        text = (marker + body).encode("utf-8")[:n_bytes].decode("utf-8", "ignore")
        self.heads[head_of(text)] = marker
        return marker, text


def head_of(text: str) -> str:
    """The first HEAD x labels the app draws for this text, joined as DRAWN_HEAD joins them."""
    tokens = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    return "\u0001".join(token_labels(tokens, 0, min(HEAD, len(tokens))))


def machine() -> dict:
    """platform.processor() is often empty on Linux: add /proc/cpuinfo's model name."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "")
    return {"processor": platform.processor(), "cpu_model": model, "machine": platform.machine(),
            "cpu_count": os.cpu_count()}


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


# --- one session ---------------------------------------------------------------------------------
class Session:
    """One browser context on the Text page with "Type or paste" chosen."""

    def __init__(self, browser, url: str, timeout_s: float):
        self.browser, self.url, self.timeout_ms = browser, url, timeout_s * 1000
        self.pasted = set()  # heads of the texts this session pasted before (may still be drawn: not a result)

    async def open(self):
        self.context = await self.browser.new_context(viewport={"width": 1400, "height": 1800})
        self.page = await self.context.new_page()
        await self.page.goto(self.url, wait_until="domcontentloaded")
        await self.page.wait_for_selector(FIRST_VIEW, timeout=self.timeout_ms)  # model and example traced
        await self.page.get_by_text("Span heatmap", exact=True).click()  # pastes are timed to the heatmap drawn
        await self.page.wait_for_function(FIRST_PLOT, timeout=self.timeout_ms)
        await self.page.get_by_text("Type or paste", exact=True).click()
        self.box = self.page.get_by_label("Text (Ctrl+Enter to apply)")
        await self.box.wait_for(timeout=self.timeout_ms)
        return self

    async def press(self, text: str, texts: Texts) -> dict:
        """Press Ctrl+Enter on the already filled text; time until a benchmark text's heatmap is drawn."""
        from playwright.async_api import Error as PlaywrightError

        own = head_of(text)
        others = [h for h in texts.heads if h not in self.pasted]
        start = time.perf_counter()
        await self.box.press("Control+Enter")
        try:
            drawn = await (await self.page.wait_for_function(
                DRAWN_HEAD, arg=[others, HEAD], polling=50, timeout=self.timeout_ms)).json_value()
        except PlaywrightError as e:  # a timeout (or a crashed page) is a failure
            return {"ok": False, "failed": True, "latency_s": None, "error": type(e).__name__}
        latency = time.perf_counter() - start
        self.pasted.add(own)
        result = {"ok": drawn == own, "failed": False, "latency_s": round(latency, 3)}
        if drawn != own:
            result["showed"] = texts.heads.get(drawn)
        return result

    async def close(self):
        await self.context.close()


async def open_sessions(browser, url: str, n: int, timeout_s: float) -> list[Session]:
    return list(await asyncio.gather(*(Session(browser, url, timeout_s).open() for _ in range(n))))


def cpu_seconds(server: int | None) -> dict:
    """CPU time (user + system) used so far by the server process and by all chromium processes."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {"server": 0.0, "browsers": 0.0}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            comm = (d / "comm").read_text().strip()
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        if int(d.name) == server:
            out["server"] += seconds
        elif "chrom" in comm:
            out["browsers"] += seconds
    return out


# --- scenarios -----------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    s = sorted(values)
    return s[max(0, math.ceil(q / 100 * len(s)) - 1)]


async def concurrent(browser, url: str, n: int, args, texts: Texts, pid) -> dict:
    """N sessions, --rounds rounds, all pressing Ctrl+Enter at the same moment."""
    sessions = await open_sessions(browser, url, n, args.timeout)
    warmer = (await open_sessions(browser, url, 1, args.timeout))[0] if args.pretraced else None
    results, cpu, wall = [], {"server": 0.0, "browsers": 0.0}, 0.0
    for r in range(args.rounds):
        batch = [texts.new(f"n{n}r{r}s{i:02d}", args.bytes)[1] for i in range(n)]
        if warmer:  # --pretraced: the server's trace store already holds every text of the round
            for t in batch:
                await warmer.box.fill(t)
                await warmer.press(t, texts)
        await asyncio.gather(*(s.box.fill(t) for s, t in zip(sessions, batch)))
        before, start = cpu_seconds(pid), time.perf_counter()
        results += await asyncio.gather(*(s.press(t, texts) for s, t in zip(sessions, batch)))  # same moment
        wall += time.perf_counter() - start
        after = cpu_seconds(pid)
        for k in cpu:
            cpu[k] += after[k] - before[k]
    memory = memory_mib(pid)  # with the N sessions still open
    await asyncio.gather(*(s.close() for s in sessions + ([warmer] if warmer else [])))
    lat = [x["latency_s"] for x in results if not x["failed"]]
    return {"sessions": n, "pretraced": bool(warmer), "samples": len(results),
            "p50_s": statistics.median(lat) if lat else None, "p95_s": percentile(lat, 95),
            "max_s": max(lat) if lat else None,
            "wrong": sum(1 for x in results if not x["ok"] and not x["failed"]),
            "failures": sum(1 for x in results if x["failed"]),
            # CPU seconds per paste while the rounds ran (server: streamlit and the model; browsers: chromium)
            "server_cpu_per_paste_s": round(cpu["server"] / len(results), 3),
            "browser_cpu_per_paste_s": round(cpu["browsers"] / len(results), 3),
            "rounds_wall_s": round(wall, 2),
            **memory, "results": results}


async def responsiveness(browser, url: str, args, texts: Texts) -> dict:
    """Latency of a small paste while another session's big paste is being traced, and idle."""
    big, small = await open_sessions(browser, url, 2, args.timeout)
    idle_text = texts.new("idle", args.bytes)[1]
    await small.box.fill(idle_text)
    idle = await small.press(idle_text, texts)
    big_text, small_text = texts.new("big", args.big_bytes)[1], texts.new("busy", args.bytes)[1]
    await asyncio.gather(big.box.fill(big_text), small.box.fill(small_text))

    async def small_later():
        await asyncio.sleep(0.5)
        return await small.press(small_text, texts)

    big_result, busy = await asyncio.gather(big.press(big_text, texts), small_later())
    await asyncio.gather(big.close(), small.close())
    return {"big_bytes": args.big_bytes, "small_bytes": args.bytes,
            "idle": idle, "during_big": busy, "big": big_result}


async def run(args) -> dict:
    from playwright.async_api import async_playwright

    texts = Texts()
    log = Path(tempfile.mkdtemp()) / "streamlit.log"
    out = {"machine": machine(),
           "bytes": args.bytes, "rounds": args.rounds, "checkpoint_dir": args.checkpoint_dir,
           "streamlit_log": str(log), "concurrent": []}
    with streamlit_app(log, {"EXPIRE_SPAN_CHECKPOINTS": args.checkpoint_dir}) as url:
        pid = server_pid()
        out["memory_at_start"] = memory_mib(pid)
        async with async_playwright() as p:
            browser = await launch_chromium(p)
            for n in args.sessions:
                row = await concurrent(browser, url, n, args, texts, pid)
                out["concurrent"].append(row)
                print(f"N={n}: p50 {fmt(row['p50_s'])} s, {row['wrong']} wrong, {row['failures']} failed",
                      file=sys.stderr, flush=True)
            if args.big_bytes:
                out["responsiveness"] = await responsiveness(browser, url, args, texts)
            await browser.close()
        out["memory_at_end"] = memory_mib(pid)
    return out


# --- report --------------------------------------------------------------------------------------
def fmt(x, spec=".2f") -> str:
    return "-" if x is None else format(x, spec)


def print_table(rows: list[dict]) -> None:
    """One line per N; p95(N) / p50(N=1) where N=1 was measured (also stored in the rows)."""
    base = next((r["p50_s"] for r in rows if r["sessions"] == 1), None)
    print(f"{'N':>3}{'samples':>9}{'p50 s':>8}{'p95 s':>8}{'max s':>8}{'p95/p50(1)':>12}"
          f"{'wrong':>7}{'failed':>8}{'RSS MiB':>9}{'peak MiB':>10}{'server CPU':>11}{'browser CPU':>12}")
    for row in rows:
        ratio = row["p95_s"] / base if base and row["p95_s"] is not None else None
        row["p95_over_p50_n1"] = None if ratio is None else round(ratio, 2)
        print(f"{row['sessions']:>3}{row['samples']:>9}{fmt(row['p50_s']):>8}{fmt(row['p95_s']):>8}"
              f"{fmt(row['max_s']):>8}{fmt(ratio):>12}{row['wrong']:>7}{row['failures']:>8}"
              f"{fmt(row['rss_mib'], '.0f'):>9}{fmt(row['hwm_mib'], '.0f'):>10}"
              f"{fmt(row['server_cpu_per_paste_s']):>11}{fmt(row['browser_cpu_per_paste_s']):>12}")
    print("(server / browser CPU: CPU seconds per paste spent by the streamlit process / all chromium processes)")


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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint-dir", default=str(ROOT / "checkpoints"))
    parser.add_argument("--sessions", default="1,4,16", help="comma-separated numbers of concurrent sessions")
    parser.add_argument("--rounds", type=int, default=2, help="pastes per session for each N")
    parser.add_argument("--bytes", type=int, default=2000, help="bytes of each pasted text")
    parser.add_argument("--big-bytes", type=int, default=50_000, help="big paste of the responsiveness test; 0 skips")
    parser.add_argument("--pretraced", action="store_true",
                        help="trace every text in an extra session first, so the timed pastes cost no model work")
    parser.add_argument("--timeout", type=float, default=300, help="seconds before a paste counts as failed")
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "load.json"))
    args = parser.parse_args()
    args.sessions = [int(n) for n in args.sessions.split(",")]

    out = asyncio.run(run(args))
    print_table(out["concurrent"])
    if "responsiveness" in out:
        print_responsiveness(out["responsiveness"])
    m0, m1 = out["memory_at_start"], out["memory_at_end"]
    print(f"\nserver memory: {fmt(m0['rss_mib'], '.0f')} MiB at start, {fmt(m1['rss_mib'], '.0f')} MiB at end, "
          f"peak {fmt(m1['hwm_mib'], '.0f')} MiB; {out['machine']['cpu_count']} CPUs; log {out['streamlit_log']}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
