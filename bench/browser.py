"""Start the app with `streamlit run` on 127.0.0.1 and drive Debian's chromium with Playwright.
Shared by the browser test and the app speed benchmark."""
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_pair(avoid: int | None = None) -> int:
    """A port p such that p and p + 1 are both free now (and neither is `avoid`): for two replicas side by side."""
    for _ in range(100):
        base = free_port()
        if avoid in (base, base + 1):
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", base + 1))
            except OSError:
                continue
        return base
    raise RuntimeError("found no two free ports side by side")


@contextlib.contextmanager
def streamlit_app(log_path: Path, env: dict | None = None):
    """Run app/main.py until the block ends; yields its URL once /_stcore/health answers."""
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", **(env or {})}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(240):
                try:
                    urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.5)
            else:
                raise RuntimeError("streamlit did not start: " + Path(log_path).read_text()[-2000:])
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def paste(page, text: str, marker: str, timeout_ms: int = 60_000) -> None:
    """On the Text page: choose "Type or paste", paste text, apply it (Ctrl+Enter) and wait until the text
    strips show `marker`."""
    page.get_by_text("Type or paste", exact=True).click()
    box = page.get_by_label("Text (Ctrl+Enter to apply)")
    box.fill(text)
    box.press("Control+Enter")
    page.wait_for_function("(m) => document.querySelector('.es-strips')?.innerText.includes(m)", arg=marker,
                           timeout=timeout_ms)


def process_table() -> dict[int, tuple[int, str, float]]:
    """Every process now: pid -> (parent pid, command name, CPU seconds used so far, user + system)."""
    tick, table = os.sysconf("SC_CLK_TCK"), {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            comm = (d / "comm").read_text().strip()
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(d.name)] = (int(fields[1]), comm, (int(fields[11]) + int(fields[12])) / tick)  # ppid; utime + stime
    return table
