"""The app in a real browser, warm: 10,000 pasted bytes to the default view drawn, and a step-slider redraw,
beside the model's own trace of the same texts.

    python bench/app_speed.py [--checkpoint-dir checkpoints] [--bytes 10000] [--repeats 3]

Starts `streamlit run app/main.py`, loads the page once (model loaded: warm), then for each repeat pastes a
different 10,000-byte text (never cached), presses Ctrl+Enter and times until the default view ("What each layer
kept": the longest-kept table and the text once per layer) shows that text, then clicks "Find them" and times until
its "where memory mattered" table (a second trace, memory cut to L/4, run on request) has filled in; then times
moving the "remembered at step t" slider until the recoloured text is on the page. Then opens the shipped tour
(assets/decks/tour.json) in presenter mode and times Next to each slide drawn, twice through. After the browser
closes it traces the same texts with the model alone in this process (same checkpoint, same thread count as the
server), so both are printed side by side. Prints a table and writes JSON.
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

VIEW_OF = ("(marker) => { const s = document.querySelector('.es-strips'), t = document.querySelector('.es-longest');"
           " return s && t && s.innerText.includes(marker); }")
MATTERED = ("() => document.body.innerText.includes('its memory cut from')"
            " || document.body.innerText.includes('No word lost anything')")


def texts(n_bytes: int, count: int) -> list[str]:
    corpus = ROOT / "data" / "corpus" / "test.txt"
    source = corpus.read_text(encoding="utf-8") if corpus.exists() else (ROOT / "README.md").read_text() * 50
    out = []
    for i in range(count):  # distinct slices, cut to n_bytes of ASCII-safe text
        chunk = source[i * 20_000: i * 20_000 + 3 * n_bytes].encode("utf-8")[:n_bytes].decode("utf-8", "ignore")
        out.append(f"Run{i}marker " + chunk[len(f"Run{i}marker "):])
    return out


IDLE = ("(k) => document.body.innerText.includes('Slide ' + k + ' of')"
        " && document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state') === 'notRunning'")


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


def model_trace_seconds(checkpoint: Path, samples: list[str]) -> list[float]:
    """Seconds the model alone takes to trace each text, in this process (the browser and app are closed)."""
    from model import ExpireSpanLM, trace
    model = ExpireSpanLM.from_pretrained(checkpoint)
    trace(model, samples[0][:500])  # warm-up
    out = []
    for text in samples:
        start = time.perf_counter()
        trace(model, text)
        out.append(time.perf_counter() - start)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint-dir", default=str(ROOT / "checkpoints"))
    parser.add_argument("--bytes", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "app_speed.json"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    paste, mattered, slide = [], [], []
    log = Path(tempfile.mkdtemp()) / "streamlit.log"
    with streamlit_app(log, {"EXPIRE_SPAN_CHECKPOINTS": args.checkpoint_dir}) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.goto(url, wait_until="domcontentloaded")
        page.wait_for_selector(".es-strips", timeout=120_000)  # first load: model and example traced (not timed)
        page.get_by_text("Type or paste", exact=True).click()
        box = page.get_by_label("Text (Ctrl+Enter to apply)")
        for k, text in enumerate(texts(args.bytes, args.repeats + 1)):
            box.fill(text)
            start = time.perf_counter()
            box.press("Control+Enter")
            page.wait_for_function(VIEW_OF, arg=f"Run{k}marker", timeout=120_000)
            paste.append(time.perf_counter() - start)
            start = time.perf_counter()
            page.get_by_role("button", name="Find them").click()
            page.wait_for_function(MATTERED, timeout=120_000)
            mattered.append(time.perf_counter() - start)
        paste, mattered = paste[1:], mattered[1:]  # the first paste also warms the browser; report the rest
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
        tour_first, tour_again = tour_seconds(page, url)
        browser.close()
    traced = model_trace_seconds(Path(args.checkpoint_dir) / "text", texts(args.bytes, args.repeats + 1)[1:])
    rows = {"paste_to_default_view_s": [round(x, 3) for x in paste],
            "click_to_where_memory_mattered_s": [round(x, 3) for x in mattered],
            "slider_redraw_s": [round(x, 3) for x in slide], "model_trace_s": [round(x, 3) for x in traced],
            "tour_first_round_s": [round(x, 3) for x in tour_first],
            "tour_second_round_s": [round(x, 3) for x in tour_again],
            "bytes": args.bytes, "checkpoint_dir": args.checkpoint_dir}
    print(f"{'measure':<44}{'median s':>10}{'max s':>8}")
    for name, values in [(f"paste {args.bytes:,} bytes -> default view drawn", paste),
                         ("'Find them' -> 'where memory mattered' drawn", mattered),
                         ("step slider -> recoloured text", slide),
                         (f"model alone: trace of the same {args.bytes:,} bytes", traced),
                         ("tour, a slide (first time through)", tour_first),
                         ("tour, a slide (second time, traces cached)", tour_again)]:
        print(f"{name:<44}{statistics.median(values):>10.2f}{max(values):>8.2f}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
