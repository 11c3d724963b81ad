"""The answer key: `solve` puts the reference solution in every exercise cell, and the
solved notebooks run top to bottom with every check passing. (That the grader gives
the key full marks is tests/test_grader_book.py.)"""

import ast
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from autograde.course import is_exercise_cell, solve, top_level_names
from autograde.notebook import runnable
from autograde.registry import exercises

pytestmark = [pytest.mark.early, pytest.mark.slow]  # runs whole notebooks: start it first

BOOK = Path(__file__).resolve().parent.parent / "book"
SKIP = {"_build", ".ipynb_checkpoints", "__pycache__"}
# Notebooks without exercises are copied unchanged, and nbval already runs them.
WITH_EXERCISES = [p.name for p in sorted(BOOK.glob("*.ipynb"))
                  if any(is_exercise_cell(c) for c in nbformat.read(p, as_version=4).cells)]


@pytest.fixture(scope="module")
def answer_key(tmp_path_factory):
    out = tmp_path_factory.mktemp("answer-key")
    return out, solve(out)


def book_files():
    return {p.relative_to(BOOK) for p in BOOK.rglob("*")
            if p.is_file() and not SKIP & set(p.relative_to(BOOK).parts) and p.suffix != ".pyc"}


def test_solve_copies_the_book_and_refuses_a_non_empty_folder(answer_key, tmp_path):
    out, written = answer_key
    assert {p.relative_to(out / "book") for p in written} == book_files()  # as release lays it out
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty"):
        solve(tmp_path)


def check_calls(source):
    return [n for n in ast.walk(ast.parse(runnable(source)))  # magics blanked out
            if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "check"]


class SolvedNotebook:
    """The tests of one solved notebook. Each notebook gets a subclass (below): with
    `--dist loadscope` a class is one unit of work, so the notebooks, which take a while
    to run, are shared among the xdist workers."""

    notebook = ""

    def test_solved_cells_hold_the_solution_and_nothing_else_changes(self, answer_key):
        out, _ = answer_key
        book = nbformat.read(BOOK / self.notebook, as_version=4).cells
        solved = nbformat.read(out / "book" / self.notebook, as_version=4).cells
        assert len(book) == len(solved)
        registered = exercises()
        for before, after in zip(book, solved, strict=True):
            assert after.metadata == before.metadata
            assert not after.get("outputs")  # the stubs' outputs are cleared
            if not is_exercise_cell(before):
                assert after.source == before.source
                continue
            [id] = [n for n in top_level_names(before.source) if n in registered]
            assert id in top_level_names(after.source)
            tree = ast.parse(after.source)
            imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
            imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
                         for a in n.names}
            assert not {m for m in imported if m.split(".")[0] == "solutions"}, after.source
            assert "NotImplementedError" not in after.source

    def test_the_solved_notebook_passes_every_check(self, answer_key):
        out, _ = answer_key
        nb = nbformat.read(out / "book" / self.notebook, as_version=4)
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(out / "book")}}).execute()
        checked = 0
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            printed = "".join(o.get("text", "") for o in cell.outputs)
            assert "Using the reference" not in printed, printed  # use_working took the solution
            if check_calls(cell.source) and "bug-demo" in cell.metadata.get("tags", []):
                # The bug clinic checks code that is broken on purpose, in the key too.
                assert "checks passed." in printed and "passed all" not in printed, printed
                continue
            if check_calls(cell.source):
                checked += 1
                assert "passed all" in printed, f"{cell.source}\n{printed}"
                assert not any(bad in printed for bad in ("not implemented", "checks passed.",
                                                          "check():")), printed
        assert checked == sum(map(is_exercise_cell, nb.cells))


for _name in WITH_EXERCISES:
    _class = "TestSolved_" + Path(_name).stem
    globals()[_class] = type(_class, (SolvedNotebook,), {"notebook": _name})
