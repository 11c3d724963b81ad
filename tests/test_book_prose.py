"""The book's Markdown renders as written: no wrapped line turns into a list or a heading.

In Markdown a line that starts with `1.` or `1)`, or with `-`, `+` or `*` and a space,
starts a list even in the middle of a paragraph (and `# ` a heading). When prose is
re-wrapped so that a number lands at the start of a line ("walks from t = T down to" /
"1. Now two states ..."), the paragraph silently splits into text and a one-item list.
This test reads every Markdown cell of every chapter and every Markdown page of the book
and fails on such a line unless the paragraph it is in is itself a list.
"""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
PAGES = sorted(BOOK.glob("*.ipynb")) + sorted(BOOK.glob("*.md"))

# A line that Markdown reads as the start of a list item or a heading.
BLOCK_START = re.compile(r"^ {0,3}(?:\d{1,9}[.)]|[-+*]|#{1,6})(?:\s|$)")
LIST_ITEM = re.compile(r"^\s*(?:\d{1,9}[.)]|[-+*])(?:\s|$)")
FENCE = re.compile(r"^\s*(?P<fence>`{3,}|~{3,}|:{3,})\s*(?P<info>.*)$")
# Fenced blocks whose content is not Markdown prose.
NOT_PROSE = re.compile(r"^(?!\{)|^\{(?:code|code-block|code-cell|literalinclude|math|glossary|"
                       r"bibliography|raw)\}")


def accidental_blocks(text):
    """[(line number, line)] of the lines of `text` that start a list or heading by accident.

    Such a line follows another line of the same paragraph, and that paragraph does not
    itself start with a list item. Code and math blocks are skipped.
    """
    found, fences, paragraph_start, in_math = [], [], None, False
    for number, line in enumerate(text.splitlines(), 1):
        fence = FENCE.match(line)
        if fence and not in_math:
            mark = fence["fence"]
            if fences and mark[0] == fences[-1][0] and len(mark) >= len(fences[-1]) \
                    and not fence["info"].strip():
                fences.pop()  # the closing fence of the innermost block
            else:
                fences.append(mark if not NOT_PROSE.match(fence["info"].strip()) else mark + "#")
            paragraph_start = None
            continue
        if fences and fences[-1].endswith("#"):
            continue  # inside code, math or another block that is not prose
        if line.strip().startswith("$$"):
            # A $$ line opens or closes display math (or is a one-line display).
            if not (line.strip() != "$$" and line.strip().endswith("$$") and len(line.strip()) > 4):
                in_math = not in_math
            paragraph_start = None
            continue
        if in_math:
            continue
        if not line.strip():
            paragraph_start = None
            continue
        if paragraph_start is None:
            paragraph_start = line
        elif BLOCK_START.match(line) and not LIST_ITEM.match(paragraph_start):
            found.append((number, line))
    return found


def markdown_sources(path):
    """[(where, text)] for the Markdown of a page: each Markdown cell, or the whole file."""
    if path.suffix == ".md":
        return [(path.name, path.read_text())]
    cells = nbformat.read(path, as_version=4).cells
    return [(f"{path.name}, cell {i}", c.source) for i, c in enumerate(cells)
            if c.cell_type == "markdown"]


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_no_wrapped_line_starts_a_list_or_heading(path):
    problems = [f"{where}, line {n}: {line.strip()[:70]!r}"
                for where, text in markdown_sources(path)
                for n, line in accidental_blocks(text)]
    assert not problems, (
        "these lines start a list or heading in the middle of a paragraph (re-wrap the "
        "paragraph so no line starts with a number and '.' or ')', or with '- ', '+ ', "
        "'* ' or '# '; or put a blank line before a list that is meant):\n"
        + "\n".join(problems))


@pytest.mark.parametrize("text, expected", [
    ("walks from $t = T$ down to\n1. Now two states carry gradient", [2]),
    ("a stored forget bias of\n1) moves into a TF1 graph", [2]),
    ("the sum of the two terms\n+ the carried gradient", [2]),
    ("text\n# not a heading", [2]),
    ("Steps:\n\n1. one\n2. two,\n   wrapped\n3. three", []),        # a real list
    ("- a bullet that wraps\n  over two lines\n- another", []),
    ("$$\na\n+ b\n$$", []),                                          # display math
    ("```python\nx = 1\n- 2\n```", []),                              # code
    ("```{exercise} T\n:label: ex-a\n\nWrite it so that\n1. fails\n```", [5]),  # prose in a directive
    ("2020 was the year\nof MNIST-1D", []),                           # a number, no full stop
])
def test_the_rule_catches_accidents_and_spares_real_lists(text, expected):
    assert [n for n, _ in accidental_blocks(text)] == expected


# The reading page (book/00_how_to_read.md) lists every exercise with a difficulty and a time.
EXERCISE_ROW = re.compile(r"^\| \{ref\}`(\w+) <ex-(\w+)>` \| (\d+) \| (\S+) \| ([^|]+) \|$", re.M)


def test_the_reading_page_lists_every_exercise_once_with_difficulty_and_time():
    from autograde.registry import exercises

    registered = exercises()
    rows = EXERCISE_ROW.findall((BOOK / "00_how_to_read.md").read_text())
    ids = [label for _, label, _, _, _ in rows]
    assert sorted(ids) == sorted(registered), (
        f"missing: {sorted(set(registered) - set(ids))}; not registered: "
        f"{sorted(set(ids) - set(registered))}; twice: {sorted({i for i in ids if ids.count(i) > 1})}")
    for shown, label, chapter, difficulty, time in rows:
        assert shown == label, f"the row of {label} shows {shown}"
        assert registered[label].chapter.startswith(f"{int(chapter):02d}_"), (
            f"{label} is in {registered[label].chapter}, the table says chapter {chapter}")
        assert difficulty in ("1", "2", "3"), f"{label}: difficulty {difficulty!r} is not 1-3"
        assert re.fullmatch(r"\d+(-\d+)? (min|h)", time.strip()), f"{label}: time {time!r}"


# The harness a reader should not see: each chapter's first code cell (the Colab bootstrap
# and imports) and the cells that assert the prose's claims (the code cell after one whose
# output nbval ignores). They stay in the notebook and nbval runs them; the rendered book
# leaves them out: `remove-cell` where they print nothing, `remove-input` where the printed
# verdict is worth showing. tests/test_book_browser.py checks the rendered pages.
HIDDEN = {"remove-cell", "remove-input"}
def harness_cells(path):
    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    found = [("the bootstrap cell", cells[0])]
    for n, cell in enumerate(cells[1:], 1):
        if "nbval-ignore-output" in cells[n - 1].metadata.get("tags", []) and "assert " in cell.source:
            found.append((f"code cell {n}, a claim", cell))
    return found


@pytest.mark.parametrize("path", sorted(BOOK.glob("*.ipynb")), ids=lambda p: p.name)
def test_harness_cells_are_hidden_in_the_book(path):
    shown = [what for what, cell in harness_cells(path)
             if not HIDDEN & set(cell.metadata.get("tags", []))]
    assert not shown, f"{path.name}: tag these remove-cell (or remove-input if they print): {shown}"
