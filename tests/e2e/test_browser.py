"""Real-browser test: `streamlit run app/main.py` against a tiny checkpoint, driven by Playwright with
Debian's chromium. Screenshots land in tests/artifacts/ (ignored by git)."""
import re
from pathlib import Path

import pytest
from support import write_checkpoints

from bench.browser import CHROMIUM, ROOT, launch_chromium, paste, streamlit_app

ARTIFACTS = ROOT / "tests" / "artifacts"
EVIL = "<script>alert(1)</script> <img src=x onerror=alert(1)> hello"
# the page's own charts: not the unseen one that loads the chart library in a session's first run (ui.CHART_PRELOAD_KEY)
PLOTS = "[...document.querySelectorAll('.js-plotly-plot')].filter(g => !g.closest('.st-key-es_chart_preload'))"

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -r requirements-dev.txt")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="apt-get install -y chromium")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = write_checkpoints(tmp_path_factory.mktemp("browser-checkpoints"))
    log = tmp_path_factory.mktemp("log") / "streamlit.log"
    with streamlit_app(log, {"EXPIRE_SPAN_CHECKPOINTS": str(folder), "OMP_NUM_THREADS": "1"}) as url:
        yield url


@pytest.fixture(scope="module")
def page(server):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = launch_chromium(p)
        pg = browser.new_page(viewport={"width": 1400, "height": 1800})
        pg.dialogs = []
        pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
        pg.goto(server, wait_until="domcontentloaded")
        yield pg
        browser.close()


def pick(page, label: str, option: str) -> None:
    """Choose an option of a Streamlit selectbox by its label."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    box.click()
    page.keyboard.type(option)
    page.keyboard.press("Enter")


def test_text_page_in_a_real_browser(page):
    page.wait_for_selector(".es-longest", timeout=60_000)  # the default view: what each layer kept
    page.wait_for_selector(".es-strips", timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "01-what-each-layer-kept-example.png"))

    # paste text, commit with Ctrl+Enter, wait for its strips: the literal characters show, nothing runs
    page.get_by_text("Type or paste", exact=True).click()
    box = page.get_by_label("Text (Ctrl+Enter to apply)")
    box.fill(EVIL)
    box.press("Control+Enter")
    page.wait_for_function("() => { const s = document.querySelector('.es-strips');"
                           " return s && s.innerText.includes('hello'); }", timeout=60_000)
    strips = page.locator(".es-strips").first
    assert EVIL in strips.inner_text().replace("\n", "")
    assert page.locator(".es-strips img, .es-strips script, .es-longest img, .es-longest script").count() == 0

    page.get_by_text("Span heatmap", exact=True).click()
    page.wait_for_function(f"() => {{ const g = {PLOTS}[0];"
                           " return g && g.data && g.data[0].x[0] === '0:<'; }", timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "02-heatmap-pasted.png"))

    # text coloured by span: the literal characters show, nothing runs
    page.get_by_text("Text by span", exact=True).click()
    page.wait_for_selector(".es-strips span[title^='byte 0:']", timeout=30_000)  # byte by byte
    strips = page.locator(".es-strips").first
    assert EVIL in strips.inner_text().replace("\n", "")
    assert page.locator(".es-strips img, .es-strips script").count() == 0
    strips.screenshot(path=str(ARTIFACTS / "03-text-by-span.png"))

    # remembered at step t: move the slider, the fragment redraws
    page.get_by_text("Remembered at step t", exact=True).click()
    page.wait_for_function("() => { const s = document.querySelector('.es-strips');"
                           " return s && s.innerText.includes('fading') && s.innerText.includes('hello'); }",
                           timeout=30_000)
    thumb = page.get_by_role("slider").last
    thumb.focus()
    thumb.press("Home")  # t = 1: only the first byte is behind the query
    page.wait_for_function("() => { const s = document.querySelector('.es-strips');"
                           " return s && s.innerText.includes('fading') && !s.innerText.includes('hello'); }",
                           timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "04-remembered-at-step.png"))

    # lifetimes: change the layer
    page.get_by_text("Memory lifetimes", exact=True).click()
    page.wait_for_function(f"() => {PLOTS}.some("
                           "g => g.layout && String(g.layout.title.text).includes('layer 0'))", timeout=30_000)
    pick(page, "Layer", "1")
    page.wait_for_function(f"() => {PLOTS}.some("
                           "g => g.layout && String(g.layout.title.text).includes('layer 1'))", timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "05-lifetimes-layer-1.png"))

    assert page.dialogs == []
    assert page.evaluate("() => window.__xss === undefined")


def _wait_for_charts(page, n: int = 1) -> None:
    page.wait_for_function(f"() => {PLOTS}.filter(g => g.data).length >= {n}", timeout=60_000)


def test_other_pages_render(page, server):
    for path, title, charts in [("teaching", "Teaching: the corridor", 1), ("objects", "Object tracking", 2),
                                ("compare", "Compare", 1), ("about", "About the model", 0)]:
        page.goto(f"{server}/{path}", wait_until="domcontentloaded")
        page.get_by_role("heading", name=title).first.wait_for(timeout=60_000)
        if charts:
            _wait_for_charts(page, charts)
        page.wait_for_timeout(500)
        assert page.get_by_text("Traceback").count() == 0
        page.screenshot(path=str(ARTIFACTS / f"10-{path}.png"))
    assert page.dialogs == []


PRESENTATION_FONT = (f"() => {{ const g = {PLOTS}.filter(g => g.layout);"
                     " return g.length > 0 && g.every(g => g._fullLayout.font.size === 18); }")


def _presenter_controls_present(page) -> None:
    page.get_by_role("button", name="Bookmark this view").wait_for(timeout=30_000)
    page.get_by_role("button", name="Next ▶").wait_for(timeout=30_000)
    page.get_by_text("Chart theme", exact=True).wait_for(timeout=30_000)


def test_presenter_mode_holds_across_pages(page, server):
    page.goto(server, wait_until="domcontentloaded")
    page.wait_for_selector(".es-longest", timeout=60_000)
    page.get_by_text("Presenter mode", exact=True).click()
    _presenter_controls_present(page)
    page.get_by_role("link", name="Teaching: corridor").click()
    page.get_by_role("heading", name="Teaching: the corridor").first.wait_for(timeout=60_000)
    _wait_for_charts(page)
    page.get_by_role("button", name="Bookmark this view").click()
    page.wait_for_url("**bm=teaching**", timeout=30_000)
    page.get_by_role("link", name="Text", exact=True).click()
    page.wait_for_selector(".es-longest", timeout=60_000)
    page.get_by_role("button", name="Bookmark this view").click()
    page.wait_for_url("**at=1**", timeout=30_000)
    heading = {"teaching": "Teaching: the corridor", "text": "Text: what each layer remembers"}
    for i, (press, shows) in enumerate([("Next ▶", "teaching"), ("PageDown", "text"), ("◀ Previous", "teaching"),
                                        ("PageUp", "text")]):
        if press.startswith("Page"):
            page.locator("body").press(press)  # what a clicker sends
        else:
            page.get_by_role("button", name=press).click()
        page.get_by_role("heading", name=heading[shows]).first.wait_for(timeout=60_000)
        _presenter_controls_present(page)
        if shows == "teaching":
            _wait_for_charts(page)
            page.wait_for_function(PRESENTATION_FONT, timeout=30_000)  # the presentation theme, still
        else:
            page.wait_for_selector(".es-longest", timeout=60_000)
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / f"2{i}-presenter-step-{i + 1}-{shows}.png"))
    assert page.get_by_text("Traceback").count() == 0 and page.dialogs == []


def test_a_deck_carries_pasted_text_through_a_reload(page, server, tmp_path):
    text = "Ilse met Teodor at the pier of Varnholm, and Teodor waved."
    page.goto(server, wait_until="domcontentloaded")
    page.wait_for_selector(".es-longest", timeout=60_000)
    page.get_by_text("Presenter mode", exact=True).click()
    paste(page, text, "Varnholm")
    page.get_by_text("Text by span", exact=True).click()
    page.get_by_text("one layer", exact=True).click()
    pick(page, "Layer", "1")
    page.wait_for_function("() => document.querySelector('.es-strips')?.innerText.includes('layer 1')",
                           timeout=30_000)
    page.get_by_role("button", name="Bookmark this view").click()
    page.wait_for_url("**t%3D1**", timeout=30_000)  # the slide says it had text of its own
    assert "Varnholm" not in page.url
    page.get_by_text("Deck: save or open").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Save deck").click()
    deck = tmp_path / "deck.json"
    download.value.save_as(deck)
    assert text in deck.read_text()

    page.goto(server, wait_until="domcontentloaded")  # a fresh session: nothing of the old one
    page.wait_for_selector(".es-longest", timeout=60_000)
    page.get_by_text("Presenter mode", exact=True).click()
    page.get_by_text("Deck: save or open").click()
    page.locator("[data-testid='stFileUploaderDropzoneInput']").last.set_input_files(str(deck))
    page.wait_for_function("(t) => [...document.querySelectorAll('textarea')].some(a => a.value === t)", arg=text,
                           timeout=60_000)
    page.wait_for_function("() => document.querySelector('.es-strips')?.innerText.includes('layer 1')"
                           " && !document.querySelector('.es-strips')?.innerText.includes('layer 0')",
                           timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "25-deck-reopened.png"))
    assert page.get_by_text("Traceback").count() == 0


def test_object_tracking_plays_frames(page, server):
    page.goto(f"{server}/objects", wait_until="domcontentloaded")
    _wait_for_charts(page, 2)
    # the model's share right stands beside a rule that needs no model, in the chart and in one sentence
    rule = page.get_by_text(re.compile(r"A rule that needs no model, the latest-collision rule, answers")).first
    rule.wait_for(timeout=60_000)
    names = page.evaluate(f"() => {PLOTS}.filter(g => g.layout && String(g.layout.title.text)"
                          ".startsWith('Share of the scored')).map(g => g.data.map(t => t.name))")
    assert names == [["the model", "latest-collision rule"]]
    bars = page.locator(".js-plotly-plot").filter(has_text="Share of the scored").first
    bars.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "29-objects-model-and-rule.png"))
    page.evaluate("() => window.scrollTo(0, 0)")
    title = (f"(f) => {PLOTS}.some("
             "g => g.layout && String(g.layout.title.text).startsWith('Frame ' + f + ':'))")
    page.wait_for_function(title, arg=0, timeout=30_000)
    thumb = page.get_by_role("slider").last
    thumb.focus()
    for frame in (1, 2, 3):  # step through frames with the keyboard, as a presenter would
        thumb.press("ArrowRight")
        page.wait_for_function(title, arg=frame, timeout=30_000)
    page.get_by_text("Question at frame 3:").first.wait_for(timeout=30_000)  # the text beside the grid follows it
    page.screenshot(path=str(ARTIFACTS / "30-objects-frame-3.png"))
    # the sentence on collision against ordinary frames, whichever way this sequence's numbers go, and its chart
    said = page.get_by_text(re.compile(r"^(Layer \d+ keeps collision frames [\d.]+x as long as ordinary frames \("
                                       r"|No layer keeps collision frames much longer than ordinary frames: )")).first
    said.wait_for(timeout=60_000)
    page.wait_for_function(f"() => {PLOTS}.some(g => g.layout"
                           " && String(g.layout.title.text).startsWith('Mean span per layer'))", timeout=30_000)
    assert said.is_visible()
    heat = page.locator(".js-plotly-plot").filter(has_text="How long each frame is remembered").first
    heat.evaluate("e => e.scrollIntoView({block: 'start'})")  # the heatmap, the sentence and the bars in one view
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "31-objects-collision-spans.png"))
    assert page.get_by_text("Traceback").count() == 0 and page.dialogs == []


# every strip row: each word is one es-word (as many as the row has words), and none spans two lines
WORDS_WHOLE = """() => [...document.querySelectorAll('.es-strips > div > div')].map(row => {
    const words = [...row.querySelectorAll('.es-word')];
    const broken = words.filter(w => w.getClientRects().length !== 1 || [...w.querySelectorAll('span')].concat([w])
        .some(s => Math.abs(s.getBoundingClientRect().top - w.getBoundingClientRect().top) > 2));
    return [row.innerText.split(/\\s+/).filter(Boolean).length, words.length,
            new Set(words.map(w => Math.round(w.getBoundingClientRect().top))).size,
            broken.map(w => w.textContent).slice(0, 5)];
})"""
# how far each column of the input row stops short of the row's bottom (empty space under it)
COLUMN_GAPS = """() => {
    const row = document.querySelector('[data-testid=stMainBlockContainer] [data-testid=stHorizontalBlock]');
    const bottom = row.getBoundingClientRect().bottom;
    return [...row.querySelectorAll(':scope > [data-testid=stColumn]')].map(c => bottom - Math.max(...[...c
        .querySelectorAll('[data-testid=stElementContainer]')].map(e => e.getBoundingClientRect())
        .filter(r => r.height > 0).map(r => r.bottom))); }"""


def _words_whole(page) -> None:
    rows = page.evaluate(WORDS_WHOLE)
    assert rows and any(lines > 1 for _, _, lines, _ in rows), "the strips should wrap for this check to mean much"
    for n_words, n_groups, _, broken in rows:
        assert n_groups == n_words and not broken, (n_words, n_groups, broken)


def test_screen_polish(page, server):
    """Issue 33, item 7: no strip breaks a word across lines (Text page: its first view, byte by byte, and Compare);
    no empty gap above the views with "How to read this" open; Compare's legend writes numbers as people do."""
    page.goto(server, wait_until="domcontentloaded")  # a new session: "How to read this" is open
    page.wait_for_selector(".es-strips .es-word", timeout=60_000)
    page.get_by_text("Every byte the model reads becomes a memory", exact=False).wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    gaps = page.evaluate(COLUMN_GAPS)
    howto = page.locator(".st-key-howto").bounding_box()
    views = page.locator("[data-testid=stRadio]").filter(has_text="What each layer kept").bounding_box()
    page.screenshot(path=str(ARTIFACTS / "50-landing-how-to-read-open.png"))
    assert len(gaps) == 2 and max(gaps) < 120, gaps
    assert howto["height"] > 150 and 0 <= views["y"] - (howto["y"] + howto["height"]) < 40
    _words_whole(page)
    page.get_by_text("Text by span", exact=True).click()
    page.wait_for_selector(".es-strips span[title^='byte 0:']", timeout=30_000)
    _words_whole(page)

    page.goto(f"{server}/compare", wait_until="domcontentloaded")
    page.wait_for_selector(".es-strips .es-word", timeout=60_000)
    _wait_for_charts(page)
    legend = page.locator(".es-legend").first.inner_text()
    ticks = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot .xtick text, .js-plotly-plot "
                          ".ytick text')].map(t => t.textContent)")
    page.screenshot(path=str(ARTIFACTS / "51-compare-words.png"))
    assert legend.startswith("span in steps:") and "e+" not in legend and ticks and not any("e+" in t for t in ticks)
    _words_whole(page)
    assert page.get_by_text("Traceback").count() == 0 and page.dialogs == []


def test_the_chart_library_loads_with_the_first_page(page, server):
    """Issue 33, item 7: a session's first page loads the chart library (plotly.js) though it shows no chart, so
    a first paste's chart waits for it no longer than a later paste's (timed by bench/app_speed.py --first-paste).
    The chart that loads it is unseen and takes no room, and the session's next run removes it."""
    context = page.context.browser.new_context(viewport={"width": 1400, "height": 1800})  # a new visitor
    try:
        pg = context.new_page()
        pg.goto(server, wait_until="domcontentloaded")
        pg.wait_for_selector(".es-strips", timeout=60_000)
        pg.wait_for_function("() => document.querySelector('.st-key-es_chart_preload .js-plotly-plot')?._fullLayout",
                             timeout=30_000)  # plotly.js loaded and drew it
        assert pg.evaluate(f"() => {PLOTS}.length") == 0  # nothing else on this page needed the library
        assert pg.evaluate("() => performance.getEntriesByType('resource').some(e => /plotly/i.test(e.name))")
        style = pg.evaluate("() => { const e = document.querySelector('.st-key-es_chart_preload'),"
                            " s = getComputedStyle(e); return [s.visibility, s.position, e.offsetHeight]; }")
        assert style == ["hidden", "absolute", 1], style  # unseen, and out of the page's flow: no gap
        paste(pg, "The next run: the chart that loaded the library is gone.", "library")
        pg.wait_for_function("() => !document.querySelector('.st-key-es_chart_preload')", timeout=30_000)
        assert pg.evaluate("() => typeof window.Plotly") == "object"  # the library stays loaded
        assert pg.get_by_text("Traceback").count() == 0
    finally:
        context.close()
