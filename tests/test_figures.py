"""The book's diagrams (book/figures/*.svg) are what book/_figures/draw.py draws.

Each committed SVG must equal a fresh rendering (so an edit to the source is never left
unrendered, and nobody edits an SVG by hand), parse as XML, carry a <title> and <desc>
(what a screen reader announces), have an opaque background (the dark theme must not show
through) and be shown by some chapter.
"""

import importlib.util
import xml.etree.ElementTree as ET

import pytest
from bookbuild import ROOT

SVG = "{http://www.w3.org/2000/svg}"
FIGURES = ROOT / "book" / "figures"


def load_draw():
    spec = importlib.util.spec_from_file_location("draw", ROOT / "book" / "_figures" / "draw.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RENDERED = load_draw().render()


def test_there_are_at_least_eight_diagrams():
    assert len(RENDERED) >= 8, sorted(RENDERED)
    committed = sorted(p.name for p in FIGURES.glob("*.svg"))
    assert committed == sorted(RENDERED), (
        f"book/figures holds {committed}, draw.py draws {sorted(RENDERED)}: "
        "run `python book/_figures/draw.py` and commit")


@pytest.mark.parametrize("name", sorted(RENDERED))
def test_the_committed_svg_is_up_to_date(name):
    path = FIGURES / name
    assert path.is_file() and path.read_text() == RENDERED[name], (
        f"{path} differs from what book/_figures/draw.py draws: run it and commit the SVGs")


@pytest.mark.parametrize("name", sorted(RENDERED))
def test_the_svg_parses_and_says_what_it_shows(name):
    root = ET.fromstring(RENDERED[name])
    assert root.tag == SVG + "svg"
    title, desc = root.find(SVG + "title"), root.find(SVG + "desc")
    assert title is not None and len(title.text.strip()) > 10, f"{name}: no <title>"
    assert desc is not None and len(desc.text.split()) > 20, f"{name}: no useful <desc>"
    background = root.find(SVG + "rect")
    assert background is not None and background.get("width") == "100%" and \
        background.get("fill") == "#ffffff", f"{name}: the first shape must be a white background"


@pytest.mark.parametrize("name", sorted(RENDERED))
def test_a_chapter_shows_the_diagram_with_alt_text(name):
    pages = [p for p in ROOT.glob("book/*") if p.suffix in (".ipynb", ".md")]
    shown = [p for p in pages if f"figures/{name}" in p.read_text()]
    assert shown, f"no page of the book shows figures/{name}"
    for page in shown:
        text = page.read_text()
        at = text.index(f"figures/{name}")
        assert ":alt:" in text[at:at + 400], f"{page.name} shows {name} without :alt:"
