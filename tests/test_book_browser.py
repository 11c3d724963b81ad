"""The built book as a reader sees it: every page opened in headless Chromium.

The book (the `built_book` fixture, built once per test run) is served from
127.0.0.1 and every page of it is opened in Debian's Chromium, driven by Playwright.
Nothing may come from another host (the book must work offline and tell no third party
who reads what), so every request to another host is refused and recorded. The tests
then check, on every page: no console errors, every equation typeset by the bundled
MathJax (no raw TeX left), every image loaded, every internal link and anchor present;
and on single pages: a solution dropdown opens, and the glossary's Chinese characters
are drawn with real glyphs. Every page is also laid out at a desktop width (1280 px) and
a phone's (390 px) and measured (LAYOUT_JS): no display equation wider than its column
at 1280 px, none cut off at 390 px (one that scrolls in its own box, with a shadow at the
edge that says so, is fine on a phone),
no Markdown table left as raw `|---|` text, no line of cell output wider than the column
(check()'s verdicts must wrap), and no harness cell (the Colab bootstrap, the cells that
assert the prose's claims) shown to the reader. Screenshots of a few pages go to
_build/screenshots/.

Chromium comes from Debian's `chromium` package (`.ci/run` installs it, and the CJK font
`fonts-noto-cjk`, when missing); Playwright is only the driver (`playwright install` is
never needed). Without Chromium the tests skip and say why.
"""

import functools
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from bookbuild import ROOT

pytestmark = pytest.mark.slow  # builds the book and opens every page in Chromium

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHINESE = "遗忘门细胞状态隐藏状态"  # glossary terms: forget gate, cell state, hidden state


@dataclass
class Visit:
    """What the browser saw on one page."""
    console_errors: list = field(default_factory=list)
    foreign_requests: list = field(default_factory=list)  # refused: another host
    bad_responses: list = field(default_factory=list)     # local, status >= 400
    math: dict = field(default_factory=dict)              # counts, see MATH_JS
    images: list = field(default_factory=list)            # [(src, loaded)]
    links: list = field(default_factory=list)             # absolute hrefs
    ids: set = field(default_factory=set)                 # anchors on the page


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(built_book):
    """(base URL, folder) of the built book, served on 127.0.0.1 for this module."""
    assert built_book.returncode == 0, f"the book did not build:\n{built_book.problems}"
    handler = functools.partial(QuietHandler, directory=str(built_book.html))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", built_book.html
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: `apt-get install chromium fonts-noto-cjk` "
                    f"(.ci/run does this when it runs as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(browser, base, visit=None, width=1280):
    """A new page whose requests to any host but `base` are refused (and recorded)."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    visit = visit if visit is not None else Visit()

    def route(r):
        if r.request.url.startswith(base):
            r.continue_()
        else:
            visit.foreign_requests.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page.on("console", lambda m: m.type == "error" and visit.console_errors.append(m.text))
    page.on("pageerror", lambda e: visit.console_errors.append(f"uncaught: {e}"))
    page.on("response", lambda r: r.status >= 400 and visit.bad_responses.append(
        f"{r.status} {r.url}"))
    return page, visit


# Waits for MathJax's first typesetting, then counts: Sphinx's math elements, those that
# hold MathJax's output, TeX errors, and raw TeX left in the page's text (code excepted).
MATH_JS = r"""
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const math = Array.from(document.querySelectorAll('.math'));
  const body = document.body.cloneNode(true);
  body.querySelectorAll('pre, code, script, style, textarea, mjx-container, .highlight')
      .forEach(e => e.remove());
  const text = body.textContent;
  const raw = [];
  for (const pattern of [/\\\(/, /\\\)/, /\\\[/, /\\\]/, /\$\$/, /\\begin\{/,
                         /\$[^$\s][^$\n]{0,60}\\[a-zA-Z]+[^$\n]{0,60}\$/]) {
    const m = text.match(pattern);
    if (m) raw.push(text.slice(Math.max(0, m.index - 40), m.index + 40));
  }
  return {
    total: math.length,
    rendered: math.filter(e => e.querySelector('mjx-container')).length,
    errors: document.querySelectorAll('mjx-merror').length,
    raw: raw,
  };
}
"""

IMAGES_JS = """
async () => Promise.all(Array.from(document.images).map(async img => {
  img.loading = 'eager';
  try { await img.decode(); } catch (e) {}
  return [img.currentSrc || img.src, img.complete && img.naturalWidth > 0];
}))
"""

LINKS_JS = """
() => ({
  links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  ids: Array.from(document.querySelectorAll('[id], a[name]')).map(e => e.id || e.name),
})
"""


@pytest.fixture(scope="module")
def visits(site, browser):
    """{page path: Visit} for every HTML page of the site."""
    base, html = site
    pages = sorted(str(p.relative_to(html)) for p in html.rglob("*.html")
                   if not {"_static", "_sources", "_images"} & set(p.relative_to(html).parts))
    seen = {}
    for path in pages:
        page, visit = open_page(browser, base)
        page.goto(base + path, wait_until="load")
        if 'http-equiv="Refresh"' in (html / path).read_text():  # index.html: a redirect
            page.wait_for_url(lambda url, start=base + path: url != start)
            page.wait_for_load_state("load")
        visit.math = page.evaluate(MATH_JS)
        visit.images = [tuple(i) for i in page.evaluate(IMAGES_JS)]
        found = page.evaluate(LINKS_JS)
        visit.links, visit.ids = found["links"], set(found["ids"])
        if path in ("book/intro.html", "book/03_lstm_cell.html", "book/91_conventions.html"):
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=SCREENSHOTS / path.replace("/", "_").replace(".html", ".png"))
        page.context.close()
        seen[path] = visit
    _write_summary(seen, base)
    return seen


def _write_summary(seen, base):
    internal = {urllib.parse.urldefrag(u)[0] for v in seen.values() for u in v.links
                if u.startswith(base)}
    summary = {
        "pages": len(seen),
        "equations": sum(v.math["total"] for v in seen.values()),
        "images": sum(len(v.images) for v in seen.values()),
        "links": sum(len(v.links) for v in seen.values()),
        "internal links": sum(u.startswith(base) for v in seen.values() for u in v.links),
        "internal targets": len(internal),
        "screenshots": str(SCREENSHOTS),
    }
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print("browser test:", json.dumps(summary))


def test_every_page_loads_without_console_errors(visits):
    errors = {page: v.console_errors + v.bad_responses for page, v in visits.items()
              if v.console_errors or v.bad_responses}
    assert len(visits) >= 20, f"expected every page of the book; opened {sorted(visits)}"
    assert not errors, errors


def test_no_page_loads_anything_from_another_host(visits):
    foreign = {page: v.foreign_requests for page, v in visits.items() if v.foreign_requests}
    assert not foreign, f"pages that load from other hosts (a CDN?): {foreign}"


def test_every_equation_is_typeset(visits):
    problems = {page: v.math for page, v in visits.items()
                if v.math["rendered"] != v.math["total"] or v.math["errors"] or v.math["raw"]}
    assert not problems, problems
    assert sum(v.math["total"] for v in visits.values()) > 500, "expected the book's equations"


def test_every_image_loads(visits):
    broken = {page: [src for src, ok in v.images if not ok] for page, v in visits.items()}
    broken = {page: srcs for page, srcs in broken.items() if srcs}
    assert not broken, broken
    assert sum(len(v.images) for v in visits.values()) >= 10, "expected the chapters' figures"


def test_every_internal_link_resolves(site, visits):
    base, _ = site
    ids = {base + page: v.ids for page, v in visits.items()}
    status, broken = {}, []
    for page, v in visits.items():
        for href in v.links:
            if not href.startswith(base):
                continue  # another site: a launch button, a DOI; not followed
            target, anchor = urllib.parse.urldefrag(href)
            if target not in status:
                try:
                    with urllib.request.urlopen(target, timeout=10) as response:
                        status[target] = response.status
                except urllib.error.HTTPError as e:
                    status[target] = e.code
            if status[target] != 200:
                broken.append(f"{page}: {href} ({status[target]})")
            elif anchor and urllib.parse.unquote(anchor) not in ids.get(target, set()):
                broken.append(f"{page}: {href} (no such anchor)")
    assert not broken, "\n".join(broken)
    assert len(status) >= 25, f"expected links between the book's pages; found {len(status)}"


def test_a_solution_dropdown_expands(site, browser):
    base, _ = site
    page, visit = open_page(browser, base)
    page.goto(base + "book/01_rnn_cell.html", wait_until="load")
    solution = page.locator(".solution.dropdown").first
    code = solution.locator("pre").first
    assert code.is_hidden(), "the solution should start folded"
    solution.locator("button.toggle-button").click()  # the title's link goes to the exercise
    code.wait_for(state="visible", timeout=5000)
    assert "def rnn_step" in code.inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    solution.screenshot(path=SCREENSHOTS / "solution_dropdown.png")
    page.context.close()
    assert not visit.console_errors and not visit.foreign_requests


# Draws each character on a canvas in the glossary's own font and compares the pixels:
# a character without a glyph in any font is drawn as the same empty "tofu" box as a
# private-use character, and two different characters would look the same.
GLYPHS_JS = """
(chars) => {
  const dt = Array.from(document.querySelectorAll('dl.glossary dt'))
      .find(e => e.textContent.includes(chars[0]));
  if (!dt) return null;
  const style = getComputedStyle(dt);
  const draw = ch => {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 64;
    const ctx = canvas.getContext('2d');
    ctx.font = `${style.fontWeight} 48px ${style.fontFamily}`;
    ctx.fillText(ch, 4, 52);
    return canvas.toDataURL();
  };
  const glyphs = Array.from(chars).map(draw);
  return {
    distinct: new Set(glyphs).size,
    chars: new Set(Array.from(chars)).size,
    tofu: glyphs.filter(g => g === draw('\\uE000')).length,
    blank: glyphs.filter(g => g === draw(' ')).length,
    font: style.fontFamily,
  };
}
"""


def test_the_glossary_shows_chinese_characters(site, browser):
    base, _ = site
    page, visit = open_page(browser, base)
    page.goto(base + "book/glossary.html", wait_until="load")
    page.evaluate("document.fonts.ready.then(() => true)")
    glyphs = page.evaluate(GLYPHS_JS, CHINESE)
    assert glyphs is not None, f"no glossary term contains {CHINESE[0]!r}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("dl.glossary").first.scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOTS / "glossary.png")  # the first entries, as a reader sees them
    page.context.close()
    assert glyphs["tofu"] == 0 and glyphs["blank"] == 0 and glyphs["distinct"] == glyphs["chars"], (
        f"Chinese characters are not drawn ({glyphs}): install a CJK font, e.g. Debian's "
        f"fonts-noto-cjk (.ci/run does)")
    assert not visit.console_errors and not visit.foreign_requests


# ---------------------------------------------------------------------------------------
# Layout at two widths. For every display equation: how wide it is against the room its
# column leaves it, and whether it sits in a box that scrolls sideways. For every line
# of cell output: whether its <pre> is wider than it shows. Raw table rows and harness
# cells are found in the visible text.
WIDTHS = (1280, 390)
LAYOUT_JS = r"""
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  // The article's own column (querySelector with a list would return <main>, its ancestor).
  const column = document.querySelector('article.bd-article') ||
      document.querySelector('main') || document.body;
  const style = getComputedStyle(column);
  const right = column.getBoundingClientRect().right - parseFloat(style.paddingRight || 0);
  // The box that scrolls an equation sideways within the column, if any.
  const scroller = (el) => {
    for (let e = el; e && e !== column; e = e.parentElement) {
      const o = getComputedStyle(e).overflowX;
      if ((o === 'auto' || o === 'scroll') && e.getBoundingClientRect().right <= right + 1) {
        return e;
      }
    }
    return null;
  };
  const equations = [];
  for (const eq of document.querySelectorAll('mjx-container[display="true"]')) {
    const inner = eq.querySelector('mjx-math') || eq;
    const left = eq.getBoundingClientRect().left;
    const width = inner.getBoundingClientRect().width;
    const room = right - left;
    if (width > room + 1) {
      const box = scroller(eq);
      equations.push({tex: (eq.closest('.math') || eq).textContent.slice(0, 60),
                      width: Math.round(width), room: Math.round(room),
                      scrollable: box !== null,
                      // book.css's scroll shadows: a reader sees there is more to the right
                      cue: box !== null && getComputedStyle(box).backgroundImage.includes('gradient')});
    }
  }
  const wideOutput = [];
  for (const pre of document.querySelectorAll('.cell_output pre, .output pre')) {
    if (pre.scrollWidth > pre.clientWidth + 1) {
      const line = pre.textContent.split('\n').reduce((a, b) => (b.length > a.length ? b : a), '');
      wideOutput.push(line.slice(0, 80));
    }
  }
  const body = document.body.cloneNode(true);
  body.querySelectorAll('pre, code, script, style, textarea, .highlight').forEach(e => e.remove());
  // A table Markdown did not render: a paragraph of rows `| a | b |`, whose `|---|` line
  // smart quotes may have turned into `|—|`.
  const rawTables = Array.from(body.querySelectorAll('p')).filter(p =>
      /\|\s*:?(?:-{3,}|[\u2013\u2014]+):?\s*\|/.test(p.textContent) ||
      p.textContent.split('\n').filter(l => /^\s*\|.*\|.*\|\s*$/.test(l)).length >= 2).length;
  const harness = [];
  for (const input of document.querySelectorAll('.cell_input, .cell .input')) {
    if (input.offsetParent === null) continue;  // not shown
    const text = input.innerText;
    if (text.includes('fetch and install the course') ||
        /^\s*assert /m.test(text)) {
      harness.push(text.trim().split('\n')[0].slice(0, 80));
    }
  }
  return {equations, wideOutput, rawTables, harness};
}
"""


@pytest.fixture(scope="module")
def layouts(site, browser):
    """{(page path, width): what LAYOUT_JS measured} for every page at every width."""
    base, html = site
    pages = sorted(str(p.relative_to(html)) for p in html.rglob("*.html")
                   if not {"_static", "_sources", "_images"} & set(p.relative_to(html).parts)
                   and 'http-equiv="Refresh"' not in p.read_text())
    seen = {}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        for path in pages:
            page, _ = open_page(browser, base, width=width)
            page.goto(base + path, wait_until="load")
            seen[path, width] = page.evaluate(LAYOUT_JS)
            _layout_screenshots(page, path, width)
            page.context.close()
    summary = {f"{w}px": {"pages": sum(1 for (_, x) in seen if x == w),
                          "overflowing equations": sum(len(m["equations"]) for (p, x), m in
                                                       seen.items() if x == w),
                          "of which scrollable": sum(sum(e["scrollable"] for e in m["equations"])
                                                     for (p, x), m in seen.items() if x == w)}
               for w in WIDTHS}
    (SCREENSHOTS / "layout.json").write_text(json.dumps(
        {"summary": summary, "pages": {f"{p} @{w}": m for (p, w), m in seen.items()}}, indent=1))
    print("layout:", json.dumps(summary))
    return seen


def _layout_screenshots(page, path, width):
    """The views the book's readers complained about, as they look now."""
    name = path.replace("/", "_").replace(".html", "")
    if path == "book/03_lstm_cell.html":
        figure = page.locator("figure:has(img[src*='lstm_cell'])").first
        if width == 1280 and figure.count():
            figure.scroll_into_view_if_needed()
            figure.screenshot(path=SCREENSHOTS / "lstm_cell_diagram_1280.png")
        equations = page.locator("mjx-container[display='true']").first
        if equations.count():
            equations.scroll_into_view_if_needed()
            page.screenshot(path=SCREENSHOTS / f"{name}_equations_{width}.png")
    if path == "book/51_bug_clinic.html":
        output = page.locator(".cell_output pre").nth(1)
        if output.count():
            output.scroll_into_view_if_needed()
            page.screenshot(path=SCREENSHOTS / f"{name}_output_{width}.png")


def test_no_equation_overflows_its_column_on_a_desktop(layouts):
    wide = {page: m["equations"] for (page, width), m in layouts.items()
            if width == 1280 and m["equations"]}
    assert not wide, f"display equations wider than the column at 1280 px (split them): {wide}"


def test_no_equation_is_cut_off_on_a_phone(layouts):
    cut = {page: [e for e in m["equations"] if not (e["scrollable"] and e["cue"])]
           for (page, width), m in layouts.items() if width == 390}
    cut = {page: eqs for page, eqs in cut.items() if eqs}
    assert not cut, (f"display equations cut off at 390 px (neither split nor scrollable with "
                     f"a cue, book.css's scroll shadows): {cut}")


def test_no_markdown_table_is_left_as_text(layouts):
    raw = {f"{page} @{width}": m["rawTables"] for (page, width), m in layouts.items()
           if m["rawTables"]}
    assert not raw, f"pages showing raw `|---|` table rows (set the GFM renderer): {raw}"


def test_cell_output_wraps_to_the_column(layouts):
    wide = {f"{page} @{width}": m["wideOutput"] for (page, width), m in layouts.items()
            if m["wideOutput"]}
    assert not wide, f"cell output lines wider than the column: {wide}"


def test_no_harness_cell_is_shown(layouts):
    shown = {f"{page} @{width}": m["harness"] for (page, width), m in layouts.items()
             if m["harness"]}
    assert not shown, (f"bootstrap or claim cells shown to the reader (tag them remove-cell or "
                       f"remove-input): {shown}")
