"""The first screen with the shipped text model, in a real browser at 1400 x 1000: a pasted story of about
800 bytes with invented names shows, without scrolling or hovering, which words each layer kept longest.
Screenshots land in tests/artifacts/ (ignored by git)."""
import json
from pathlib import Path

import numpy as np
import pytest

from bench.browser import CHROMIUM, ROOT, launch_chromium, paste, streamlit_app

ARTIFACTS = ROOT / "tests" / "artifacts"
STORY = (ROOT / "assets" / "examples" / "ferry-to-varnholm.txt").read_text(encoding="utf-8")
WRITTEN = ROOT / "assets" / "texts" / "letter-inheritance.txt"  # held out: never in any training data
CHECKPOINT = ROOT / "checkpoints" / "text"

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -r requirements-dev.txt")
pytestmark = [pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="apt-get install -y chromium"),
              pytest.mark.skipif(not (CHECKPOINT / "model.safetensors").exists(), reason="no shipped text model")]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = tmp_path_factory.mktemp("log") / "streamlit.log"
    with streamlit_app(log, {"EXPIRE_SPAN_CHECKPOINTS": str(ROOT / "checkpoints")}) as url, \
            sync_api.sync_playwright() as p:
        browser = launch_chromium(p)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        pg.goto(url, wait_until="domcontentloaded")
        yield pg
        browser.close()


def test_a_pasted_story_shows_the_longest_kept_words_on_the_first_screen(page):
    from model import ExpireSpanLM, trace

    from app.views.words import longest_kept, split_words, word_stats

    page.wait_for_selector(".es-longest", timeout=120_000)
    page.get_by_text("Type or paste", exact=True).click()
    box = page.get_by_label("Text (Ctrl+Enter to apply)")
    box.fill(STORY)
    box.press("Control+Enter")
    page.wait_for_function("() => { const s = document.querySelector('.es-strips');"
                           " return s && s.innerText.includes('Do not trust Brandt'); }", timeout=120_000)
    page.get_by_text("Where memory mattered", exact=False).first.wait_for(timeout=30_000)
    assert page.locator(".es-rises").count() == 0  # a paste costs one run of the model
    page.get_by_role("button", name="Find them").click()  # the second run, on request
    page.locator(".es-rises table").first.wait_for(timeout=120_000)
    page.evaluate("() => window.scrollTo(0, 0)")
    page.wait_for_timeout(1000)
    page.screenshot(path=str(ARTIFACTS / "40-story-first-screen.png"))

    # the table of longest-kept words: every layer has words, and its first rows are inside the first screen
    model = ExpireSpanLM.from_pretrained(CHECKPOINT)
    tr = trace(model, STORY)
    words = split_words(tr.tokens)
    stats = word_stats(tr, words)
    table = page.locator(".es-longest table")
    headers = table.locator("th").all_inner_texts()
    assert [h for h in headers if h] == [f"layer {l}" for l in range(tr.n_layers)]
    rows = table.locator("tr")
    assert rows.count() == 11  # a header and ten ranks
    for rank in range(1, 4):
        box = rows.nth(rank).bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= 1000, f"rank {rank} is below the fold"
        cells = rows.nth(rank).locator("td").all_inner_texts()[1:]
        expected = [longest_kept(words, stats, l, 10)[rank - 1].word for l in range(tr.n_layers)]
        assert [c.split()[0] for c in cells] == expected
    assert "Varnholm" in table.inner_text() or "Markoff" in table.inner_text()

    # the heatmap view names its axes and labels word starts with words
    page.get_by_text("Span heatmap", exact=True).click()
    page.wait_for_function("() => { const g = document.querySelector('.js-plotly-plot');"
                           " return g && g.layout && g.layout.xaxis.title && g.layout.xaxis.ticktext; }",
                           timeout=60_000)
    layout = page.evaluate("() => { const l = document.querySelector('.js-plotly-plot').layout;"
                           " return [l.xaxis.title.text, l.yaxis.title.text, l.xaxis.ticktext]; }")
    assert layout[0].startswith("the text") and layout[1] == "layer"
    assert set(layout[2]) <= {w if len(w) <= 14 else w[:13] + "…" for w in words.text}
    page.screenshot(path=str(ARTIFACTS / "41-story-heatmap.png"))
    assert np.isfinite(tr.spans).all() and page.get_by_text("Traceback").count() == 0


def test_a_written_text_shows_that_memory_paid_and_a_returning_name_first(page):
    """docs/method.md 16.5 on a text the model never saw: the panel's sentence reports a positive effect and the
    first row of its table is a returning invented name."""
    text = WRITTEN.read_text(encoding="utf-8")
    stored = json.loads((ROOT / "checkpoints" / "results.json").read_text())["text"]["memory_use"]
    names = stored["written_text_names"][WRITTEN.stem]
    page.goto(page.url.split("/?")[0], wait_until="domcontentloaded")
    page.wait_for_selector(".es-longest", timeout=120_000)
    page.get_by_text("Type or paste", exact=True).click()
    box = page.get_by_label("Text (Ctrl+Enter to apply)")
    box.fill(text)
    box.press("Control+Enter")
    opening = " ".join(text.split()[:4])
    page.wait_for_function("t => { const s = document.querySelector('.es-strips'); return s && "
                           "s.innerText.replace(/\\s+/g, ' ').includes(t); }", arg=opening, timeout=120_000)
    page.get_by_role("button", name="Find them").click()
    page.locator(".es-rises table").first.wait_for(timeout=120_000)
    assert page.get_by_text("The long memory paid on this text", exact=False).count() == 1
    first_row = page.locator(".es-rises table").first.locator("tr").nth(1).locator("td").all_inner_texts()
    assert first_row[0] in names and first_row[2].endswith("bytes before"), first_row
    page.screenshot(path=str(ARTIFACTS / "43-written-text-memory-paid.png"))


# while the app runs its script: every animation or transition with a running time (stale elements may dim at once)
MOVING = """() => document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state') !== 'running'
    ? null : document.getAnimations()
    .filter(a => a.playState === 'running' && a.effect.getComputedTiming().activeDuration > 0)
    .map(a => (a.animationName || a.transitionProperty) + ' on ' + (a.effect.target.getAttribute('data-testid')
    || a.effect.target.tagName))"""


def watch_while_running(page, done) -> tuple[set, int]:
    """Sample what animates in the page every 0.1 s while a script run lasts, until done() holds: (what moved,
    samples taken while the script ran)."""
    moving, samples = set(), 0
    for _ in range(300):
        page.wait_for_timeout(100)
        found = page.evaluate(MOVING)
        if found is None and done():
            break
        if found is not None:
            samples += 1
            moving.update(found)
    return moving, samples


def test_the_page_keeps_still_while_the_model_traces(page):
    """On a small server the browser often shares the model's cores: while a long paste is traced, nothing in the
    page may repaint every frame (a fade, a shimmer, an expander's border, a spinner), which would take CPU from
    the trace. The same while "Find them" runs the model again."""
    page.goto(page.url.split("/?")[0], wait_until="domcontentloaded")
    page.wait_for_selector(".es-longest", timeout=120_000)
    page.get_by_text("Type or paste", exact=True).click()
    box = page.get_by_label("Text (Ctrl+Enter to apply)")
    for n in range(2):  # about 25,000 bytes each: a few seconds' trace
        first = f"Long paste {n}."  # the strips show the first 2,048 bytes
        box.fill(first + "\n\n" + (STORY + "\n\n") * 30)
        box.press("Control+Enter")
        moving, samples = watch_while_running(page, lambda: page.locator(".es-strips", has_text=first).count())
        assert samples >= 10, "the trace ended too soon to watch the page"
        assert page.locator("[data-testid=stProgress]").count() == 0  # the progress bar is gone with the trace
        assert not moving, f"animated while the model traced: {sorted(moving)}"
    page.get_by_role("button", name="Find them").click()
    moving, samples = watch_while_running(page, lambda: page.locator(".es-rises").count())
    assert samples >= 10, "the second trace ended too soon to watch the page"
    assert page.get_by_text("Measuring: the model runs again").count() == 0  # the note is gone with the trace
    assert not moving, f"animated while the model traced again: {sorted(moving)}"


def test_memory_policies_page_with_the_shipped_model(page):
    base = page.url.split("/?")[0].rstrip("/")
    page.goto(f"{base}/policies", wait_until="domcontentloaded")
    page.get_by_role("heading", name="Memory policies").first.wait_for(timeout=120_000)
    page.wait_for_function("() => { const s = document.querySelector('.es-strips'); return s && ['expire-span:',"
                           " 'window:', 'sinks:', 'heavy-hitters:'].every(n => s.innerText.includes(n)); }",
                           timeout=180_000)
    page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=60_000)
    page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')].some(g => g.data)",
                           timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "42-memory-policies.png"))
    assert page.get_by_text("Traceback").count() == 0


def test_forgetting_a_name_shows_what_the_rest_of_the_story_lost(page):
    """The Text page's "Forget a word" on a held-out story: forgetting the heroine's name in every layer costs
    the bits of its return, and the sentence, the table of later words and the red-blue strip say so."""
    import re

    from model import ExpireSpanLM, trace

    from app.views import forgetting
    from app.views.words import split_words

    text = (ROOT / "assets" / "texts" / "story-lighthouse.txt").read_text(encoding="utf-8")
    name = "Morvessa"
    start = text.encode().index(name.encode())
    model = ExpireSpanLM.from_pretrained(CHECKPOINT)
    plain, forgot = trace(model, text), trace(model, text, forget=[(None, start, start + len(name))])
    delta = forgetting.change(plain.bits, forgot.bits)
    rows = forgetting.loss_rows(split_words(plain.tokens), delta, start, start + len(name))
    total = forgetting.extra_after(delta, start + len(name))
    assert rows[0]["word"] == name and total > 5  # its return pays for it

    origin = "/".join(page.url.split("/")[:3])  # the Text page, wherever the last test left the browser
    page.goto(origin + "/", wait_until="domcontentloaded")
    page.wait_for_selector(".es-longest", timeout=120_000)
    paste(page, text, " ".join(text.split()[:4]), timeout_ms=120_000)
    page.get_by_text("Forget a word: what the rest of the text loses", exact=False).click()
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Word to forget").first
    box.wait_for(timeout=60_000)
    box.click()
    page.keyboard.type(f"{name} · byte {start:,}")
    page.keyboard.press("Enter")
    page.get_by_text(f"with '{name}' (bytes {start:,}-", exact=False).wait_for(timeout=30_000)  # chosen
    page.get_by_role("button", name="Forget it").click()
    said = page.get_by_text(f"Forgetting '{name}' in every layer costs", exact=False).first
    said.wait_for(timeout=120_000)
    sentence = said.inner_text()
    expected = forgetting.sentence(name, forgetting.ALL_LAYERS, total, rows)
    costs = [float(x.replace(",", "")) for x in re.findall(r"([0-9][0-9,]*\.[0-9]+) ", sentence)[:2]]
    assert abs(costs[0] - total) < 0.11 and abs(costs[1] - rows[0]["extra bits"]) < 0.11, (sentence, expected)
    assert f"on its return at byte {rows[0]['at byte']:,}" in sentence
    table = page.locator(".es-rises table").first
    table.wait_for(timeout=30_000)
    first = table.locator("tr").nth(1).locator("td").all_inner_texts()
    assert first[0] == name and first[1] == f"{rows[0]['at byte']:,}", first
    strip = page.locator(".es-strips", has_text="change in loss when").first
    strip.wait_for(timeout=30_000)
    assert strip.locator("span.fw").count() == len(name)  # the forgotten word, outlined
    assert strip.locator("span[class^='fr']").count() > 0  # red where forgetting hurt
    page.locator(".es-strips", has_text="with the memory · layer ").first.wait_for(timeout=60_000)
    assert page.get_by_text("(the layer that read it most) gave", exact=False).count() == 1
    said.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "44-forget-a-word.png"))
    print("SENTENCE:", sentence)
    assert page.get_by_text("Traceback").count() == 0
