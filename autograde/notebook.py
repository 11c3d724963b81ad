"""Reading a submission: its notebooks, its exercise cells and what each one may call.

- `read_notebooks(path)` reads a notebook or every notebook under a folder, and says
  what was wrong with any it could not read (not JSON, not a notebook, bad bytes).
- `locate(notebooks, exercise_ids)` finds, for each exercise id, the cell that defines
  it: the last `exercise`-tagged cell that does; else any code cell that does (tags get
  lost when cells are copied), which the feedback points out.
- `runnable(source)` is a cell's code with IPython magics and shell escapes blanked
  out, line numbers kept: the one rule for magics (grading, release and solve use it).
- `top_level_names(source)` are the names a cell binds at top level, and
  `is_exercise_cell(cell)` says whether an nbformat cell is an exercise cell.
(`autograde.tracks` says what a cell may call.)
"""

import ast
import io
import json
import re
import symtable
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from autograde.formats import clean

SKIP_FOLDERS = {".ipynb_checkpoints", "_build", "__pycache__", ".git"}
MAX_NOTEBOOK_BYTES = 50 * 2**20


@dataclass
class Cell:
    """A code cell: its position among all the notebook's cells (0-based) and its code.

    names:   the names it binds at top level (def, class, import, assignment).
    uses:    every name it reads, in functions too (what it may need from other cells).
    changes: names whose value its top-level code changes in place (x[0] = 1, x.append(2)).
    star:    it has `from ... import *` (binds names no one can list).
    """

    index: int
    source: str
    tagged: bool
    names: list[str]
    syntax_error: str = ""  # empty when the code parses
    uses: set[str] = field(default_factory=set)
    changes: set[str] = field(default_factory=set)
    star: bool = False


@dataclass
class Notebook:
    path: Path
    name: str  # as shown to the learner: relative to the submission
    cells: list[Cell] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str = ""  # why it could not be read (then it has no cells)


@dataclass
class Location:
    """Where exercise `id` is defined: notebook, cell, and anything worth saying about it."""

    notebook: Notebook
    cell: Cell
    notes: list[str]


def find_notebooks(path: str | Path) -> list[Path]:
    """The notebooks in `path` (a notebook, or a folder searched recursively), sorted."""
    path = Path(path)
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*.ipynb")
                  if not SKIP_FOLDERS & set(p.relative_to(path).parts[:-1]) and p.is_file())


def read_notebooks(path: str | Path) -> list["Notebook"]:
    """Read every notebook under `path`; one Notebook each, with `error` set if unreadable."""
    path = Path(path)
    base = path.parent if path.is_file() else path
    return [read_notebook(p, clean(p.relative_to(base), 200)) for p in find_notebooks(path)]


def read_notebook(path: str | Path, name: str) -> "Notebook":
    """One notebook. Never raises: what went wrong is in `.error` (or `.notes`)."""
    nb = Notebook(Path(path), name)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_NOTEBOOK_BYTES + 1)
    except OSError as e:
        nb.error = f"cannot be read: {e.strerror}"
        return nb
    if len(raw) > MAX_NOTEBOOK_BYTES:
        nb.error = f"is larger than {MAX_NOTEBOOK_BYTES // 2**20} MB"
        return nb
    if not raw.strip():
        nb.error = "is empty"
        return nb
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        text = raw.decode("utf-8", errors="replace")
        nb.notes.append(f"{name} is not valid UTF-8 (byte 0x{raw[e.start]:02x} at offset "
                        f"{e.start}); the bad bytes were replaced by U+FFFD")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:
        nb.error = f"is not a notebook: it is not valid JSON ({clean(e, 120)})"
        return nb
    if not isinstance(data, dict) or not ("cells" in data or "worksheets" in data):
        nb.error = "is not a notebook: its JSON has no cells"
        return nb
    try:
        import nbformat

        version = data.get("nbformat")
        parsed = nbformat.reads(text, as_version=4)
    except Exception as e:  # nbformat raises many kinds for malformed notebooks
        nb.error = f"is not a notebook nbformat can read ({type(e).__name__}: {clean(e, 120)})"
        return nb
    if version != 4:
        nb.notes.append(f"{name} is in notebook format {version}; it was converted to format 4 "
                        f"(cell tags, if any, were lost)")
    for index, cell in enumerate(parsed.get("cells", [])):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(s for s in source if isinstance(s, str))
        if not isinstance(source, str):
            nb.notes.append(f"{name}, cell {index + 1}: its source is not text; skipped")
            continue
        tags = cell.get("metadata", {}).get("tags", []) if isinstance(
            cell.get("metadata"), dict) else []
        tagged = isinstance(tags, list) and "exercise" in tags
        nb.cells.append(_cell(index, source, tagged))
    return nb


def _cell(index, source, tagged):
    code = runnable(source)
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError) as e:  # ValueError: null bytes
        line = f" (line {e.lineno})" if getattr(e, "lineno", None) else ""
        msg = getattr(e, "msg", None) or str(e)
        return Cell(index, source, tagged, _names_by_pattern(code), f"{msg}{line}")
    uses = _globals_read(code)
    changes = set()
    for stmt in tree.body:
        targets = []
        if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            targets = [stmt.value.func]  # x.append(1), model.load_state_dict(...)
        for target in targets:
            if isinstance(target, (ast.Subscript, ast.Attribute)):
                root = target
                while isinstance(root, (ast.Subscript, ast.Attribute)):
                    root = root.value
                if isinstance(root, ast.Name):
                    changes.add(root.id)
    star = any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names)
               for n in ast.walk(tree))
    return Cell(index, source, tagged, top_level_names(code), uses=uses, changes=changes,
                star=star)


def _globals_read(code):
    """The global names the code reads: at top level, or in its functions and classes
    (their parameters and local variables left out)."""
    names = set()
    todo = [symtable.symtable(code, "<cell>", "exec")]
    while todo:
        table = todo.pop()
        top = table.get_type() == "module"
        names |= {s.get_name() for s in table.get_symbols()
                  if s.is_referenced() and (top or s.is_global())}
        todo += table.get_children()
    return names


def context(cells: list["Cell"], graded: set[int]) -> list[int]:
    """The cells to run for the graded cells: those they need, and nothing else.

    cells:  a notebook's code cells, in order; graded: the indexes of the exercise cells
    to grade. A cell before a graded cell is its context when it binds a name that a
    needed cell uses (a helper, an import, another exercise it calls), or changes in
    place a variable that one uses, or star-imports; followed back from the graded
    cells. Demonstrations, plots and prints are left out: they cannot change the grade,
    only slow it down or break it. Returns the indexes, in order, graded cells included.
    """
    last = max(graded)
    before = [c for c in cells if c.index <= last and not c.syntax_error]
    variables = {n for c in before for n in c.names} - {
        n for c in before for n in _defined_as_code(c)}
    needed: set[str] = set()
    chosen: set[int] = set()
    for cell in reversed(before):
        if cell.index in graded or cell.star or needed & set(cell.names) or \
                needed & cell.changes & variables:
            chosen.add(cell.index)
            needed |= cell.uses
    return sorted(chosen)


def _defined_as_code(cell):
    """The names a cell binds with def, class or import (not data)."""
    try:
        tree = ast.parse(runnable(cell.source))
    except (SyntaxError, ValueError):
        return []
    out = []
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.append(stmt.name)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            out += [a.asname or a.name.split(".")[0] for a in stmt.names]
    return out


_DEFINES = re.compile(r"^(?:async\s+def|def|class)\s+([A-Za-z_]\w*)"
                      r"|^([A-Za-z_]\w*)\s*(?::[^=]*)?=(?!=)", re.M)


def _names_by_pattern(code):
    """For code that does not parse: the names it seems to define at top level."""
    return [a or b for a, b in _DEFINES.findall(code)]


def locate(notebooks: list["Notebook"], exercise_ids: Iterable[str], chapters: dict[str, str],
           untagged_anywhere: bool = False) -> dict[str, "Location"]:
    """Where each exercise is defined: {id: Location}; ids defined nowhere are left out.

    chapters: id -> the notebook file name the exercise belongs to, preferred when
              several notebooks define it.
    An untagged cell counts only in the exercise's own chapter notebook (another
    chapter may well use the name for something else), or anywhere when
    `untagged_anywhere` (a single notebook is graded).
    """
    found = {}
    for id in exercise_ids:
        candidates = []
        for nb in notebooks:
            tagged = [c for c in nb.cells if c.tagged and id in c.names]
            untagged = [c for c in nb.cells if not c.tagged and id in c.names]
            if not (untagged_anywhere or Path(nb.name).name == chapters.get(id)):
                untagged = []
            if tagged or untagged:
                candidates.append((nb, tagged, untagged))
        if not candidates:
            continue
        # The chapter's own notebook first, then notebooks where the cell is tagged.
        candidates.sort(key=lambda t: (Path(t[0].name).name != chapters.get(id), not t[1]))
        nb, tagged, untagged = candidates[0]
        notes = []
        if tagged:
            cell = tagged[-1]
            if len(tagged) > 1:
                notes.append(f"{id} is defined in {len(tagged)} exercise cells of {nb.name} "
                             f"(cells {', '.join(str(c.index + 1) for c in tagged)}); the last "
                             f"one was graded")
        else:
            cell = untagged[-1]
            notes.append(f"no cell tagged `exercise` defines {id}; graded the code cell "
                         f"{cell.index + 1} of {nb.name} that does (tag it `exercise`)")
        others = [t[0].name for t in candidates[1:]]
        if others:
            notes.append(f"{id} is also defined in {', '.join(others)}; graded the one in "
                         f"{nb.name}")
        found[id] = Location(nb, cell, notes)
    return found


# ---------------------------------------------------------------------------------------
# What a cell defines


def is_exercise_cell(cell) -> bool:
    """True for an nbformat code cell tagged `exercise`."""
    return cell.cell_type == "code" and "exercise" in cell.metadata.get("tags", [])


def top_level_names(source: str) -> list[str]:
    """The names a cell's code binds at top level (functions, classes, assignments).

    Magics and shell lines are blanked as `runnable` does. Code that is not valid
    Python defines nothing.
    """
    try:
        tree = ast.parse(runnable(source))
    except (SyntaxError, ValueError):  # ValueError: null bytes
        return []
    return [name for stmt in tree.body for name in bound_names(stmt)]


def bound_names(stmt: ast.stmt) -> list[str]:
    """The names a top-level statement binds (not those bound inside functions)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [stmt.name]
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return [a.asname or a.name.split(".")[0] for a in stmt.names]
    names, todo = [], list(ast.iter_child_nodes(stmt))
    while todo:
        node = todo.pop(0)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names += bound_names(node)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.append(node.id)
        elif not isinstance(node, (ast.Lambda, ast.comprehension)):
            todo.extend(ast.iter_child_nodes(node))
    return names


# ---------------------------------------------------------------------------------------
# Magics: the one rule for which lines of a cell are IPython, not Python

_CELL_MAGICS_THAT_RUN_PYTHON = {"time", "timeit", "capture", "prun"}
_MAGIC_LINE = re.compile(r"^(\s*)(?:[%!]|[\w.\[\], ]+=\s*[%!]|[\w.]+\?{1,2}\s*$)")


def runnable(source: str) -> str:
    """The cell's Python: magic and shell lines become `pass` (same indent, same line count).

    A cell that starts with a cell magic runs its body if the magic only times or
    captures it (%%time, %%capture, ...); any other cell magic (%%bash, %%writefile...)
    makes the whole cell blank. Help lines (`obj?`) are blanked too. Lines inside
    multi-line strings are left alone.
    """
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].lstrip()[2:].split()
        if not magic or magic[0] not in _CELL_MAGICS_THAT_RUN_PYTHON:
            return "\n" * (len(lines) - 1)
        lines[0] = ""
    inside_strings = _lines_inside_strings("\n".join(lines))
    out = []
    for number, line in enumerate(lines, start=1):
        if number not in inside_strings:
            m = _MAGIC_LINE.match(line)
            if m:
                line = f"{m.group(1)}pass"
        out.append(line)
    return "\n".join(out)


def _lines_inside_strings(code):
    """Line numbers (1-based) that continue a multi-line string started on an earlier line."""
    inside = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
                inside.update(range(tok.start[0] + 1, tok.end[0] + 1))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return inside
