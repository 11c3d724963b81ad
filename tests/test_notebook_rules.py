"""Rules every chapter keeps so that its stored outputs hold wherever it runs (CONTRIBUTING.md).

- Figures appear whatever `MPLBACKEND` the reader's shell sets: a chapter that draws
  starts its first code cell with `%matplotlib inline` (with `MPLBACKEND=Agg` and no such
  line, `plt.show()` shows nothing and every figure cell's stored output is "missing").
- A cell whose printed output nbval ignores (float32 training prints numbers that differ
  from CPU to CPU) is followed by a cell that asserts the claim the text draws from it,
  so the test still fails when the claim breaks. (Cells that only display a table of
  committed results print nothing and are exempt.)
"""

from pathlib import Path

import nbformat
import pytest

BOOK = Path(__file__).resolve().parent.parent / "book"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))


def code_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_chapter_that_draws_sets_the_inline_backend_first(path):
    cells = code_cells(path)
    if not any("plt." in c.source or "matplotlib" in c.source for c in cells):
        return
    assert cells[0].source.startswith("%matplotlib inline\n"), cells[0].source[:200]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_ignored_output_is_followed_by_an_asserted_claim(path):
    cells = code_cells(path)
    for n, cell in enumerate(cells):
        printed = any(o.get("output_type") == "stream" for o in cell.get("outputs", []))
        if printed and "nbval-ignore-output" in cell.metadata.get("tags", []):
            claim = cells[n + 1] if n + 1 < len(cells) else None
            assert claim is not None and "assert " in claim.source, (
                f"code cell {n} of {path.name} has its output ignored by nbval, but the next "
                "code cell asserts nothing: put the claim the text draws from it there")
            assert "nbval-ignore-output" not in claim.metadata.get("tags", [])
