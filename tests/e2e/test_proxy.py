"""Two replicas behind HAProxy with sticky sessions (deploy/run_local.sh), driven by two real browsers: each
browser's websocket and upload reach its own replica, no text crosses between them, and both replicas' own
logs show that they served. Skipped with a message where HAProxy or chromium cannot be installed."""
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from support import write_checkpoints

from bench.browser import CHROMIUM, ROOT, free_port, free_port_pair, launch_chromium, paste

ARTIFACTS = ROOT / "tests" / "artifacts"
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -r requirements-dev.txt")
pytestmark = [pytest.mark.skipif(shutil.which("haproxy") is None, reason="apt-get install -y haproxy"),
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="apt-get install -y chromium")]


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    """deploy/run_local.sh on free ports, with tiny checkpoints; yields (url, log folder)."""
    logs = tmp_path_factory.mktemp("replica-logs")
    folder = write_checkpoints(tmp_path_factory.mktemp("proxy-checkpoints"))
    port = free_port()
    base = free_port_pair(avoid=port)  # the replicas take base and base + 1: both must be free
    env = {**os.environ, "LOG_DIR": str(logs), "EXPIRE_SPAN_CHECKPOINTS": str(folder), "OMP_NUM_THREADS": "1",
           "PYTHON": str(Path(os.sys.executable)), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(["bash", "deploy/run_local.sh", str(port), str(base)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):  # the proxy answers health once a replica is up; wait for both
            try:
                for p in (base, base + 1):
                    urllib.request.urlopen(f"http://127.0.0.1:{p}/_stcore/health", timeout=1)
                urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("deploy/run_local.sh stopped: " + proc.stdout.read().decode()[-2000:])
                time.sleep(0.5)
        else:
            pytest.fail("the replicas or the proxy did not start")
        yield url, logs
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_two_browsers_through_the_proxy_each_stay_on_their_replica(proxy, tmp_path):
    url, logs = proxy
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = launch_chromium(p)
        pages = []
        for _ in range(2):  # two contexts: two browsers with their own cookies
            page = browser.new_context(viewport={"width": 1400, "height": 1200}).new_page()
            page.goto(url, wait_until="domcontentloaded")
            page.wait_for_selector(".es-strips", timeout=120_000)  # the websocket works through the proxy
            pages.append(page)
        paste(pages[0], "Alpha visitor writes about Varnholm.", "Varnholm")
        paste(pages[1], "Beta visitor writes about Teodor.", "Teodor")
        upload = tmp_path / "story.txt"
        upload.write_text("Gamma upload about Markoff and the ferry.", encoding="utf-8")
        pages[0].get_by_text("Upload a file", exact=True).click()
        pages[0].locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(upload))
        pages[0].wait_for_function("() => document.querySelector('.es-strips')?.innerText.includes('Markoff')",
                                   timeout=60_000)
        pages[1].wait_for_timeout(500)
        first, second = (pg.locator(".es-strips").first.inner_text() for pg in pages)
        assert "Teodor" not in first and "Varnholm" not in second and "Markoff" not in second  # no cross-talk
        replicas = [next(c["value"] for c in pg.context.cookies() if c["name"] == "ES_REPLICA") for pg in pages]
        assert sorted(replicas) == ["app1", "app2"], replicas
        pages[0].screenshot(path=str(ARTIFACTS / "50-proxy-browser-1.png"))
        browser.close()
    served = {name: (logs / f"{name}.log").read_text() for name in ("app1", "app2")}
    for name, log in served.items():
        assert f"replica {name}: new session" in log, (name, log[-1000:])
    assert "Traceback" not in served["app1"] + served["app2"]
    proxy_log = (logs / "haproxy.log").read_text()
    assert "/_stcore/stream" in proxy_log and "/_stcore/upload_file" in proxy_log  # websocket and upload


@pytest.mark.parametrize("config", ["haproxy.cfg", "haproxy-compose.cfg"])
def test_proxy_configs_are_valid(config):
    env = {**os.environ, "PROXY_BIND": "127.0.0.1:1", "REPLICA1": "127.0.0.1:2", "REPLICA2": "127.0.0.1:3"}
    r = subprocess.run(["haproxy", "-c", "-f", str(ROOT / "deploy" / config)], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and "Configuration file is valid" in r.stdout + r.stderr, r.stdout + r.stderr
    text = (ROOT / "deploy" / config).read_text()
    assert "cookie ES_REPLICA insert" in text and "timeout tunnel" in text  # sticky, and websockets stay open
