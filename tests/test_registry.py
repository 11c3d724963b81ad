"""The registry and the book agree: every exercise has exactly one stub cell, checked below it.

The convention (book/91_conventions.ipynb): an exercise is a code cell tagged `exercise` that
defines the exercise id at top level and raises NotImplementedError in the committed
notebook; the next cell is `check(<id>)`.
"""

import ast
from pathlib import Path

import nbformat
import pytest

from autograde.notebook import runnable
from autograde.registry import exercises

BOOK = Path(__file__).resolve().parent.parent / "book"
EXERCISES = exercises()
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))


def parse(source):
    """The cell's code as an AST, with IPython magics and shell lines blanked out."""
    return ast.parse(runnable(source))


def defined_at_top_level(tree):
    """{name: node} for the functions, classes and assigned names of a module's body."""
    names = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        names[name.id] = node
    return names


def exercise_cells():
    """(notebook, index, cells, tree) for every code cell tagged `exercise` in book/."""
    found = []
    for path in NOTEBOOKS:
        cells = nbformat.read(path, as_version=4).cells
        for index, cell in enumerate(cells):
            if cell.cell_type == "code" and "exercise" in cell.metadata.get("tags", []):
                found.append((path.name, index, cells, parse(cell.source)))
    return found


CELLS = exercise_cells()
CELL_IDS = [f"{name}#{index}" for name, index, _, _ in CELLS]


def registered_ids(tree):
    return [name for name in defined_at_top_level(tree) if name in EXERCISES]


def raises_not_implemented(node):
    return any(isinstance(n, ast.Raise) and n.exc is not None and "NotImplementedError" in
               {x.id for x in ast.walk(n.exc) if isinstance(x, ast.Name)} for n in ast.walk(node))


def test_points_are_positive_ints_and_chapters_exist():
    assert EXERCISES, "no exercise is registered"
    for id, exercise in EXERCISES.items():
        assert exercise.id == id
        assert type(exercise.points) is int and exercise.points > 0, (id, exercise.points)
        assert (BOOK / exercise.chapter).is_file(), f"{id}: chapter {exercise.chapter} is missing"


@pytest.mark.parametrize("notebook, index, cells, tree", CELLS, ids=CELL_IDS)
def test_an_exercise_cell_is_a_stub_checked_by_the_next_cell(notebook, index, cells, tree):
    ids = registered_ids(tree)
    assert len(ids) == 1, f"{notebook} cell {index} must define exactly one exercise; defines {ids}"
    id = ids[0]
    assert EXERCISES[id].chapter == notebook, f"{id} is registered in {EXERCISES[id].chapter}"
    assert raises_not_implemented(defined_at_top_level(tree)[id]), \
        f"{notebook} cell {index}: the stub {id} must raise NotImplementedError"
    after = cells[index + 1] if index + 1 < len(cells) else None
    assert after is not None and after.cell_type == "code", \
        f"{notebook} cell {index}: the next cell must be the code cell check({id})"
    calls = [n for n in ast.walk(parse(after.source))
             if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "check"]
    assert [ast.unparse(c) for c in calls] == [f"check({id})"], \
        f"{notebook} cell {index + 1} must call check({id}); it has {after.source!r}"
    # nbval proves the stored output is what the cell prints today.
    printed = "".join(o.get("text", "") for o in after.get("outputs", []))
    assert printed.startswith(f"{id}: not implemented yet"), printed


@pytest.mark.parametrize("id", list(EXERCISES))
def test_every_exercise_has_exactly_one_cell_in_its_chapter(id):
    where = [(name, index) for name, index, _, tree in CELLS if id in registered_ids(tree)]
    assert where and {name for name, _ in where} == {EXERCISES[id].chapter} and len(where) == 1, \
        f"{id} must be defined by one exercise cell in {EXERCISES[id].chapter}; found {where}"


def test_exercises_come_in_the_order_of_the_books_chapters():
    """Reports, gradebooks and the Classroom runners list exercises as the registry does:
    in the order of `_toc.yml`, and within a chapter in the order of its cells."""
    import yaml

    toc = yaml.safe_load((BOOK.parent / "_toc.yml").read_text())
    chapters = [Path(c["file"]).name + ".ipynb" for part in toc["parts"]
                for c in part["chapters"]]
    registered = list(exercises().values())
    ranks = [chapters.index(e.chapter) for e in registered]
    assert ranks == sorted(ranks), [e.id for e in registered]
    for chapter in {e.chapter for e in registered}:
        source = (BOOK / chapter).read_text()
        ids = [e.id for e in registered if e.chapter == chapter]
        positions = [source.index(f"def {i}(") if f"def {i}(" in source
                     else source.index(f"class {i}(") for i in ids]
        assert positions == sorted(positions), (chapter, ids)
