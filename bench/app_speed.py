"""The app in a real browser, warm: 10,000 pasted bytes to the drawn heatmap, and a step-slider redraw.

    python bench/app_speed.py [--checkpoint-dir checkpoints] [--bytes 10000] [--repeats 3]

Starts `streamlit run app/main.py`, loads the page once (model loaded: warm), then for each repeat pastes
a different 10,000-byte text (never cached), presses Ctrl+Enter and times until the heatmap of that text
is drawn; then times moving the "remembered at step t" slider until the recoloured text is on the page.
Prints a table and writes JSON.
"""
import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.browser import ROOT, launch_chromium, streamlit_app  # noqa: E402

HEATMAP_OF = ("(label) => [...document.querySelectorAll('.js-plotly-plot')].some("
              "g => g.data && g.data[0].x && String(g.data[0].x[0]) === label)")  # long inputs: the window chart


def texts(n_bytes: int, count: int) -> list[str]:
    corpus = ROOT / "data" / "corpus" / "test.txt"
    source = corpus.read_text(encoding="utf-8") if corpus.exists() else (ROOT / "README.md").read_text() * 50
    out = []
    for i in range(count):  # distinct slices, cut to n_bytes of ASCII-safe text
        chunk = source[i * 20_000: i * 20_000 + 3 * n_bytes].encode("utf-8")[:n_bytes].decode("utf-8", "ignore")
        out.append(f"{i}" + chunk[1:])
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint-dir", default=str(ROOT / "checkpoints"))
    parser.add_argument("--bytes", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "app_speed.json"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    paste, slide = [], []
    log = Path(tempfile.mkdtemp()) / "streamlit.log"
    with streamlit_app(log, {"EXPIRE_SPAN_CHECKPOINTS": args.checkpoint_dir}) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.goto(url, wait_until="domcontentloaded")
        page.wait_for_function("() => { const g = document.querySelector('.js-plotly-plot'); return g && g.data; }",
                               timeout=120_000)  # first load: model and example traced (not timed)
        page.get_by_text("Type or paste", exact=True).click()
        box = page.get_by_label("Text (Ctrl+Enter to apply)")
        for text in texts(args.bytes, args.repeats + 1):
            box.fill(text)
            start = time.perf_counter()
            box.press("Control+Enter")
            page.wait_for_function(HEATMAP_OF, arg=f"0:{text[0]}", timeout=120_000)
            paste.append(time.perf_counter() - start)
        paste = paste[1:]  # the first paste also warms the browser's plotly; report the rest
        page.get_by_text("Remembered at step t", exact=True).click()
        page.wait_for_selector(".es-strips", timeout=60_000)
        thumb = page.get_by_role("slider").last
        thumb.focus()
        for key in ["End", "Home", "End", "Home"][: args.repeats + 1]:
            before = page.locator(".es-strips").first.inner_html()
            start = time.perf_counter()
            thumb.press(key)
            page.wait_for_function("(old) => { const s = document.querySelector('.es-strips');"
                                   " return s && s.innerHTML !== old; }", arg=before, timeout=60_000)
            slide.append(time.perf_counter() - start)
        browser.close()
    rows = {"paste_to_heatmap_s": [round(x, 3) for x in paste], "slider_redraw_s": [round(x, 3) for x in slide],
            "bytes": args.bytes, "checkpoint_dir": args.checkpoint_dir}
    print(f"{'measure':<34}{'median s':>10}{'max s':>8}")
    print(f"{f'paste {args.bytes:,} bytes -> heatmap':<34}{statistics.median(paste):>10.2f}{max(paste):>8.2f}")
    print(f"{'step slider -> recoloured text':<34}{statistics.median(slide):>10.2f}{max(slide):>8.2f}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
