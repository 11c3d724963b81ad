"""A solution's source, with what it needs from its module: the code of a solved cell.

`solution_source(exercise_id, module_name)` reads the `solutions` module's source file
(never runs it: that would import torch or TensorFlow) and returns the imports the
solution needs, the module-level helpers it uses (followed through other `solutions`
modules, so the cell never imports `solutions`), then the solution itself.
"""

import ast
import functools
import importlib.util
import sys
from pathlib import Path

from autograde.notebook import bound_names


def solution_source(exercise_id: str, module_name: str) -> tuple[str, dict[str, str]]:
    """The source of a cell that defines `exercise_id` as `solutions` does.

    Returns (source, definitions): the cell's code, and name -> source of each
    definition in it (for spotting two cells of one notebook that define the same
    helper differently).
    """
    imports: dict[tuple[str, str], set[tuple[str, str | None]]] = {}
    definitions: dict[str, str] = {}
    _need(_module(module_name), exercise_id, imports, definitions, set())
    if exercise_id not in definitions:
        raise RuntimeError(f"{module_name} does not define {exercise_id!r}")
    header = f"# Reference solution: {module_name}.{exercise_id} (`python -m autograde solve`)."
    source, previous = header, ""
    for stdlib in (True, False):  # as isort does: the standard library, then the others
        group = {k: v for k, v in imports.items()
                 if (k[1].split(".")[0] in sys.stdlib_module_names) == stdlib}
        lines = sorted(_import_line(k, v) for k, v in group.items() if k[0] == "import")
        lines += sorted(_import_line(k, v) for k, v in group.items() if k[0] == "from")
        if lines:
            source += ("\n" if source == header else "\n\n") + "\n".join(lines)
    for part in dict.fromkeys(definitions.values()):
        # PEP 8: two blank lines around functions and classes, one between statements.
        source += ("\n\n\n" if _is_block(part) or _is_block(previous) else "\n\n") + part
        previous = part
    return source + "\n", definitions


def _is_block(text):
    """True if the code is a function or class definition (perhaps under comments)."""
    code = [line for line in text.splitlines() if not line.startswith("#")]
    return bool(code) and code[0].startswith(("def ", "async def ", "class ", "@"))


@functools.cache
def _module(name):
    return _Module(name)


class _Module:
    """A module's source, its top-level statements and the names each one binds."""

    def __init__(self, name):
        self.name = name
        # The source file only: running the module would import torch or TensorFlow.
        try:
            spec = importlib.util.find_spec(name)
        except ModuleNotFoundError:
            spec = None
        if spec is None or not spec.has_location:
            raise RuntimeError(f"solve needs the module {name}, from the course's full "
                               f"repository (a learner's copy has no solutions)")
        self.lines = Path(spec.origin).read_text().splitlines()
        self.binder = {}  # name -> the top-level statement that binds it
        for stmt in ast.parse("\n".join(self.lines)).body:
            for bound in bound_names(stmt):
                self.binder[bound] = stmt

    def text(self, stmt):
        """The statement's source with its decorators and the comment lines just above it."""
        first = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])
        while first > 1 and self.lines[first - 2].lstrip().startswith("#"):
            first -= 1
        return "\n".join(self.lines[first - 1:stmt.end_lineno])


def _need(module, name, imports, definitions, seen):
    """Add the code that defines `name` in `module` to the cell, after all it needs."""
    stmt = module.binder.get(name)
    if stmt is None or (module.name, name) in seen:
        return  # a builtin, a local name, or already there
    seen.add((module.name, name))
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        alias = next(a for a in stmt.names if (a.asname or a.name.split(".")[0]) == name)
        source = _solutions_module(module.name, stmt)
        if source is None:  # a library: keep the import
            key = ("import", alias.name) if isinstance(stmt, ast.Import) else ("from", stmt.module)
            imports.setdefault(key, set()).add((alias.name, alias.asname))
            return
        _need(_module(source), alias.name, imports, definitions, seen)
        if alias.asname and alias.asname != alias.name:
            definitions[alias.asname] = f"{alias.asname} = {alias.name}"
        return
    # Dependencies first, in the order the module defines them.
    used = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)} - {name}
    for dep in sorted(used, key=lambda n: getattr(module.binder.get(n), "lineno", 0)):
        _need(module, dep, imports, definitions, seen)
    definitions[name] = module.text(stmt)


def _solutions_module(importer, stmt):
    """The `solutions` module an import reads from, or None for any other library."""
    if isinstance(stmt, ast.ImportFrom) and stmt.level:
        package = importer.rsplit(".", stmt.level)[0]
        return f"{package}.{stmt.module}" if stmt.module else package
    module = stmt.module if isinstance(stmt, ast.ImportFrom) else None
    if module and (module == "solutions" or module.startswith("solutions.")):
        return module
    return None


def _import_line(key, aliases):
    kind, module = key
    names = ", ".join(f"{n} as {a}" if a else n for n, a in sorted(aliases, key=str))
    return f"import {names}" if kind == "import" else f"from {module} import {names}"
