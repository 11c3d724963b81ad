"""The whole book builds with Sphinx warnings as errors (the command in the README, -W -n),
in both editions: the self-study one with the solutions, and the course one without.

The self-study build is the `built_book` fixture (tests/conftest.py), which the browser
test (tests/test_book_browser.py) also opens, page by page.
"""

import ast
import html
import re
import sys

import nbformat
import pytest
import yaml
from bookbuild import ROOT, build_book

pytestmark = pytest.mark.slow  # builds the book, both editions

sys.path.insert(0, str(ROOT / "book" / "_ext"))  # the book's Sphinx extensions (edition.py)


def toc_pages():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [c["file"] for part in toc.get("parts", []) for c in part["chapters"]]


@pytest.mark.early  # the slowest test: start it first (tests/conftest.py)
def test_the_book_builds_without_warnings(built_book):
    assert built_book.returncode == 0, built_book.problems
    missing = [p for p in toc_pages() if not (built_book.html / f"{p}.html").is_file()]
    assert not missing, f"pages in _toc.yml that were not built: {missing}"


def solution_bodies():
    """{(file, name): the code of that reference solution after its docstring} for every
    solution the chapters show in a dropdown (the stubs share only the def and docstring)."""
    shown = {}
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown" and "{solution-start}" in cell.source:
                for file, name in re.findall(
                        r"\{literalinclude\} \.\./(solutions/\S+)\n(?::\w+:.*\n)*?:pyobject: (\S+)",
                        cell.source):
                    shown[file, name] = normalized(_body(ROOT / file, name))
    return shown


def _body(path, dotted):
    source = path.read_text()
    body = ast.parse(source).body
    for part in dotted.split("."):
        node = next(n for n in body if getattr(n, "name", None) == part)
        body = node.body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    return "\n".join(source.splitlines()[body[0].lineno - 1:node.end_lineno])


def normalized(text):
    """Text with each line stripped and blank lines dropped (HTML keeps code's lines)."""
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def site_text(site):
    """The text of every page of a built site (tags removed) and of its search index."""
    files = [p for p in site.rglob("*") if p.is_file() and "_static" not in p.parts
             and p.suffix in (".html", ".js")]
    return normalized("\n".join(html.unescape(re.sub(r"<[^>]+>", "", p.read_text(errors="replace")))
                                for p in files))


@pytest.mark.early
def test_the_course_edition_has_no_solutions(built_book, tmp_path):
    """BOOK_EDITION=course, the edition the publishing workflow deploys by default, builds
    with -W -n, and no page shows a solution: no dropdown, none of its code."""
    course = build_book(tmp_path, edition="course")
    assert course.returncode == 0, course.problems
    shown = solution_bodies()
    assert len(shown) >= 20, f"expected the chapters' solution dropdowns; found {sorted(shown)}"
    with_solutions, without = site_text(built_book.html), site_text(course.html)
    assert "Solution to" in with_solutions and "Solution to" not in without
    for (file, name), body in shown.items():
        assert body in with_solutions, f"{file}:{name} is not in the self-study book"
        assert body not in without, f"the course edition shows {file}:{name}"


def test_the_publishing_workflow_deploys_the_course_edition_by_default():
    """.github/workflows/publish.yml: -W -n, GitHub Pages, no solutions unless asked."""
    from edition import EDITIONS

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "publish.yml").read_text())
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    assert build["env"]["BOOK_EDITION"].endswith("|| 'course' }}")
    choice = workflow[True]["workflow_dispatch"]["inputs"]["edition"]  # YAML reads `on` as True
    assert choice["default"] == "course" and set(choice["options"]) == set(EDITIONS)
    runs = [step.get("run", "") for step in build["steps"]]
    assert any("jupyter-book build ." in r and "-W" in r and "-n" in r for r in runs), runs
    uses = [step.get("uses", "") for job in (build, deploy) for step in job["steps"]]
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    assert any(u.startswith("actions/deploy-pages@") for u in uses)


def test_an_unknown_edition_is_refused(monkeypatch):
    from edition import edition_from_environment

    monkeypatch.setenv("BOOK_EDITION", "teacher")
    with pytest.raises(ValueError, match=r"one of self-study, course; got 'teacher'"):
        edition_from_environment()
    monkeypatch.delenv("BOOK_EDITION")
    assert edition_from_environment() == "self-study"


def test_every_chapter_fetches_the_course_from_the_configured_repository():
    """On Colab a chapter's first code cell clones the repository that _config.yml names
    (the launch buttons' target), so a course that edits one must edit both."""
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    wrong = {}
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        first = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        clones = re.findall(r"!git clone .*? (\S+) lstm-from-scratch$", first.source, re.M)
        if clones != [url] or "except ImportError:" not in first.source:
            wrong[path.name] = clones
    assert not wrong, f"first code cells that do not clone {url} when autograde is missing: {wrong}"
