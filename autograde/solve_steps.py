"""The steps of `solve`, the answer key (`autograde.course.SOLVE_STEPS` lists them).

The answer key is a copy of `book/` in which every `exercise`-tagged cell holds the
reference solution from `solutions` (see `autograde.solution_source`), with every code
output cleared: the stored ones are those of the stubs.
"""

from pathlib import Path
from typing import Any

from autograde import registry
from autograde.notebook import is_exercise_cell, top_level_names
from autograde.pipeline import Build, copy_tree, files, read_notebook, write_notebook
from autograde.solution_source import solution_source


def solve_notebooks(build: Build) -> None:
    """Solve every notebook of the book in memory (nothing is written if one fails).

    RuntimeError if an exercise cell cannot be solved.
    """
    exercises = registry.exercises()
    build.solved = {path: solved_notebook(path, exercises) for path in files(build.book, "*.ipynb")}


def copy_book(build: Build) -> None:
    """book/ as it is, data and pages included."""
    build.written += copy_tree(build.book, build.out / "book")


def write_solved_notebooks(build: Build) -> None:
    """The solved notebooks over their copies."""
    for path, nb in build.solved.items():
        write_notebook(nb, build.out / "book" / path.relative_to(build.book))


def solved_notebook(path: Path, exercises: dict[str, Any]) -> Any:
    """The notebook at `path` with each exercise cell solved and every output cleared."""
    nb = read_notebook(path)
    defined: dict[str, str] = {}  # name -> source of every definition put in this notebook
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":  # the stored outputs are the stubs'
            cell.outputs, cell.execution_count = [], None
        if not is_exercise_cell(cell):
            continue
        ids = [n for n in top_level_names(cell.source) if n in exercises]
        if len(ids) != 1:
            raise RuntimeError(f"{path.name}, cell {index}: an exercise cell must define exactly "
                               f"one exercise id at top level; it defines {ids or 'none'}")
        cell.source = _solved_cell(ids[0], exercises[ids[0]].solution, defined, path.name)
    return nb


def _solved_cell(exercise_id, module_name, defined, notebook):
    source, definitions = solution_source(exercise_id, module_name)
    for name, text in definitions.items():
        if defined.setdefault(name, text) != text:
            raise RuntimeError(f"{notebook}: two solved exercise cells define {name!r} "
                               f"differently; rename one of the helpers in solutions/")
    if exercise_id not in top_level_names(source):
        raise RuntimeError(f"the solved cell for {exercise_id} does not define it")
    return source.rstrip("\n")
