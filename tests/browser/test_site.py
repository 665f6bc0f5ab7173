"""The built site in a real browser (headless Chromium via Playwright), offline.

Run after a site build (``make site-smoke`` runs it on ``_build/smoke``): the pages are served on
127.0.0.1 and every other host is blocked. Each page must load without a console error or an
outside request; Mapper graphs draw their nodes inside the frame, plotly figures draw, no raw TeX
is left, figures are not shrunk below their size, wide tables scroll inside the column, the
report-card verdicts are in view at 1400 and 400 px, and every local link and anchor resolves.
Screenshots land in ``<site>/../screenshots``.

Where Chromium or Playwright is missing the tests are skipped with the command that installs
them, unless ``TOPO_REQUIRE_BROWSER=1`` (CI), where that is a failure.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("TOPO_SITE", ROOT / "_build" / "smoke" / "_build" / "html"))
WIDTHS = (1400, 1920, 400)
INSTALL = (
    "install a headless Chromium (Debian/Ubuntu: `apt-get install chromium-headless-shell`, "
    "or `chromium`; elsewhere any Chrome/Chromium) and point TOPO_CHROMIUM at it if it is not "
    "on PATH; Playwright itself comes with `make .venv/.installed`"
)
CHROMIUM_NAMES = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")


def pages():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for p in toc.get("parts", []) for c in p["chapters"]]
    return [f + ".html" for f in files]


def _unavailable(why: str):
    if os.environ.get("TOPO_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{why}: {INSTALL}.")
    pytest.skip(f"{why}: {INSTALL}.")


def chromium_path() -> str | None:
    if os.environ.get("TOPO_CHROMIUM"):
        return os.environ["TOPO_CHROMIUM"]
    for name in CHROMIUM_NAMES:
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="module")
def site():
    if not (SITE / "index.html").exists():
        pytest.fail(f"no built site at {SITE}: run `make site-smoke` first (or set TOPO_SITE).")
    return SITE


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed")
    path = chromium_path()
    if path is None:
        _unavailable(f"no Chromium found ({', '.join(CHROMIUM_NAMES)} or TOPO_CHROMIUM)")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=path,
            args=["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"],
        )
        yield b
        b.close()


@pytest.fixture(scope="module")
def screenshots(site):
    folder = site.parents[1] / "screenshots"  # _build/smoke/screenshots
    folder.mkdir(exist_ok=True)
    return folder


class Visit:
    """One page at one width: its console errors and the requests that left 127.0.0.1."""

    def __init__(self, browser, url: str, width: int):
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.outside, self.errors = [], []
        self.context.route("**/*", self._route)
        self.context.set_default_timeout(120_000)  # a page carries up to ≈ 5 MB (plotly.js)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url, wait_until="load")
        self.page.evaluate(
            "() => (window.MathJax && MathJax.startup && MathJax.startup.promise) || null"
        )

    def _route(self, route):
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:", "about:")) or host == "127.0.0.1":
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def close(self):
        self.context.close()


@pytest.fixture(scope="module")
def visits(browser, server):
    """Every page at every width, visited once and shared by the checks below."""
    cache = {}

    def visit(page: str, width: int) -> Visit:
        if (page, width) not in cache:
            cache[(page, width)] = Visit(browser, server + page, width)
        return cache[(page, width)]

    yield visit
    for v in cache.values():
        v.close()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", pages())
def test_page_loads_offline_without_errors(visits, page, width):
    v = visits(page, width)
    assert not v.outside, f"{page} at {width} px asks for outside resources: {v.outside[:5]}"
    assert not v.errors, f"{page} at {width} px logs console errors: {v.errors[:5]}"


@pytest.mark.parametrize("width", WIDTHS)
def test_one_search_box(visits, width):
    n = visits("notebooks/02_mnist_circles.html", width).page.evaluate(
        """() => [...document.querySelectorAll('.search-button__button, form.bd-search')]
              .filter(e => e.offsetParent !== null && getComputedStyle(e).display !== 'none')
              .length"""
    )
    assert n == 1, f"{n} search boxes at {width} px"


@pytest.mark.parametrize("page", pages())
def test_no_raw_tex_is_left(visits, page):
    raw = visits(page, 1400).page.evaluate(
        """() => [...document.querySelectorAll('.math, .MathJax_Preview')]
              .filter(e => !e.querySelector('mjx-container'))
              .filter(e => /\\\\[(\\[]|\\$\\$/.test(e.textContent))
              .map(e => e.textContent.slice(0, 60))"""
    )
    assert not raw, f"{page}: {len(raw)} formulas left as TeX, e.g. {raw[:3]}"


def _calls(page: str, name: str) -> bool:
    """Whether the page's source (its .md) calls ``name``."""
    source = ROOT / page.replace(".html", ".md")
    return source.exists() and name in source.read_text()


def _frames(v, page: str, marker: str, source_marker: str, call: str):
    """The iframes of the page whose page source holds ``source_marker``, each scrolled into
    view (they load lazily) and loaded, checked to show ``marker``; there must be one if the
    page's source calls ``call``."""
    frames = []
    for el in v.page.query_selector_all("iframe[srcdoc]"):
        if source_marker not in (el.get_attribute("srcdoc") or ""):
            continue
        el.scroll_into_view_if_needed()
        frame = el.content_frame()
        frame.wait_for_load_state("load")
        assert frame.query_selector(marker), f"{page}: an embedded page does not show {marker}"
        frames.append(frame)
    assert frames or not _calls(page, call), f"{page} calls {call} but shows no {marker}"
    return frames


@pytest.mark.parametrize("page", pages())
def test_mapper_graphs_draw_inside_their_frame(visits, page):
    v = visits(page, 1400)
    for frame in _frames(v, page, "svg#g", '<svg id="g"', "mapper_html("):
        out = frame.evaluate(
            """() => { const box = document.querySelector('svg#g').getBoundingClientRect();
                 const cs = [...document.querySelectorAll('svg#g circle')];
                 const outside = cs.filter(c => { const r = c.getBoundingClientRect();
                   return r.left < box.left - 1 || r.right > box.right + 1 ||
                          r.top < box.top - 1 || r.bottom > box.bottom + 1; }).length;
                 return {n: cs.length, outside, right: box.right, width: window.innerWidth}; }"""
        )
        assert out["n"] > 0, f"{page}: a Mapper graph has no nodes"
        assert out["outside"] == 0, f"{page}: {out['outside']} of {out['n']} nodes outside"
        assert out["right"] <= out["width"] + 1, f"{page}: the graph is wider than its frame"
        first = frame.query_selector("svg#g circle")
        first.dispatch_event("click")
        assert frame.query_selector_all("#info img"), f"{page}: a node's filters do not show"


@pytest.mark.parametrize("page", pages())
def test_plotly_figures_draw(visits, page):
    v = visits(page, 1400)
    for frame in _frames(v, page, ".js-plotly-plot", "Plotly.newPlot", "trajectories_3d("):
        frame.wait_for_selector(".js-plotly-plot .main-svg", timeout=15_000)
        drawn = frame.evaluate("() => document.querySelector('.js-plotly-plot')._fullData.length")
        assert drawn > 0, f"{page}: a plotly figure has no traces"


@pytest.mark.parametrize("width", (1400, 1920))
@pytest.mark.parametrize("page", pages())
def test_figures_are_not_shrunk(visits, page, width):
    shrunk = visits(page, width).page.evaluate(
        """() => [...document.querySelectorAll('article img')]
              .filter(i => i.naturalWidth > 0 && i.width < 0.9 * i.naturalWidth)
              .map(i => `${i.src.split('/').pop()}: ${i.width} of ${i.naturalWidth} px`)"""
    )
    assert not shrunk, f"{page} at {width} px shrinks figures (their text gets tiny): {shrunk}"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", pages())
def test_wide_tables_scroll_inside_the_column(visits, page, width):
    over = visits(page, width).page.evaluate(
        """() => { const col = document.querySelector('article').getBoundingClientRect();
              return [...document.querySelectorAll('article table')].filter(t => {
                const r = t.getBoundingClientRect();
                if (r.right <= col.right + 1) return false;
                for (let p = t.parentElement; p && p.tagName !== 'ARTICLE'; p = p.parentElement) {
                  const s = getComputedStyle(p);
                  if (['auto', 'scroll'].includes(s.overflowX) &&
                      p.getBoundingClientRect().right <= col.right + 1) return false; }
                return true; }).map(t => (t.className || 'table') + ' ' + Math.round(
                  t.getBoundingClientRect().width) + ' px'); }"""
    )
    assert not over, f"{page} at {width} px: tables overflow the column: {over}"


@pytest.mark.parametrize("width", WIDTHS)
def test_report_card_verdicts_are_in_view(visits, screenshots, width):
    v = visits("book/intro.html", width)
    cells = v.page.evaluate(
        """() => [...document.querySelectorAll('table.reportcard-counts th[class^=verdict]')]
              .map(e => { const r = e.getBoundingClientRect();
                          return [e.textContent, r.left, r.right, window.innerWidth]; })"""
    )
    assert len(cells) == 4, f"the report-card index shows {len(cells)} verdict columns, not 4"
    hidden = [c[0] for c in cells if c[1] < 0 or c[2] > c[3] + 1]
    assert not hidden, f"at {width} px the verdict columns {hidden} are out of view"
    v.page.locator("table.reportcard-counts").scroll_into_view_if_needed()
    v.page.screenshot(path=str(screenshots / f"intro-{width}.png"), full_page=False)


@pytest.mark.parametrize("page", [p for p in pages() if p.startswith("notebooks/")])
def test_chapter_report_card_verdicts_are_in_view(visits, screenshots, page):
    v = visits(page, 400)
    cells = v.page.evaluate(
        """() => [...document.querySelectorAll('table.reportcard')].map(t => {
              const i = [...t.querySelectorAll('thead th')].findIndex(
                h => h.textContent.trim() === 'verdict');
              const row = t.querySelector('tbody tr'); if (i < 0 || !row) return ['no verdict', -1];
              const r = row.children[i].getBoundingClientRect();
              return [row.children[i].textContent.slice(0, 20), r.left, r.right,
                      window.innerWidth]; })"""
    )
    assert cells, f"{page} shows no report-card table"
    for cell in cells:
        assert cell[1] >= 0 and cell[2] <= cell[3] + 1, f"{page} at 400 px hides {cell[0]!r}"
    if page.startswith("notebooks/02"):
        big = visits(page, 1400).page
        big.locator("table.reportcard").last.scroll_into_view_if_needed()
        big.screenshot(path=str(screenshots / "chapter2-card-1400.png"))


LINK = re.compile(r'(?:href|src)="([^"#][^"]*|#[^"]*)"')


def test_local_links_and_anchors_resolve(site):
    ids = {}

    def anchors(path: Path):
        if path not in ids:
            ids[path] = set(re.findall(r'id="([^"]+)"', path.read_text(errors="replace")))
        return ids[path]

    broken = []
    for page in sorted(site.rglob("*.html")):
        if "_static" in page.parts or "_sources" in page.parts:
            continue
        text = page.read_text(errors="replace")
        text = re.sub(r'<iframe srcdoc="[^"]*"', "<iframe", text)  # inner pages: their own ids
        for ref in LINK.findall(text):
            if re.match(r"^[a-z][a-z0-9+.-]*:", ref):  # http:, data:, mailto:, javascript:
                continue
            url, frag = urldefrag(unquote(ref))
            target = (page.parent / url.split("?")[0]).resolve() if url else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(site)} -> {ref}")
            elif frag and target.suffix == ".html" and frag not in anchors(target):
                broken.append(f"{page.relative_to(site)} -> {ref} (no such anchor)")
    assert not broken, f"{len(broken)} broken local links, e.g. {broken[:8]}"


@pytest.mark.parametrize("page", pages())
def test_outputs_hold_no_warnings(site, page):
    text = (site / page).read_text(errors="replace")
    stderr = re.findall(r'<div class="output stderr[^"]*">(.{0,300})', text, re.S)
    assert not stderr, (
        f"{page} prints to stderr: {[re.sub('<[^>]+>', '', e)[:120] for e in stderr]}"
    )
    outputs = re.findall(r'<div class="cell_output[^"]*">(.*?)</div>\s*</div>\s*</div>', text, re.S)
    warned = [o for o in outputs if re.search(r"\b\w*Warning\b|WARNING", re.sub("<[^>]+>", "", o))]
    assert not warned, f"{page} shows warnings: {[re.sub('<[^>]+>', '', w)[:160] for w in warned]}"
