"""The instructor's answer key and the learner's copy of the course.

- `solve(out_dir)` (`python -m autograde solve OUT_DIR`): a copy of `book/`, written to
  `OUT_DIR/book/` as in the learner's copy (so the same commands work on both), in which
  every `exercise`-tagged cell holds the reference solution from `solutions`. The cell
  is built from the solution module's own source: the imports it needs, the
  module-level helpers the solution uses (followed through other `solutions` modules,
  so the cell never imports `solutions`), then the solution itself. Code outputs are
  cleared: the stored ones are those of the stubs.
- `release(out_dir)` (`python -m autograde release OUT_DIR`): the course a learner
  gets: the book (stubs as committed, solution dropdowns removed, other code the text
  includes from `solutions/` written into the page), `autograde/`, the book's
  configuration, README, requirements and a `pyproject.toml` that installs `autograde`
  only. No `solutions/`, no `tests/`.

Both return the list of files they wrote and refuse to write into a folder that
already holds something. Nothing heavy is imported: `solve` reads the solutions'
source files without running them, and `nbformat` is imported when a notebook is read.
"""

import ast
import functools
import importlib.util
import json
import re
import shutil
import sys
import textwrap
import zipfile
from pathlib import Path

from autograde import registry

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
_SKIP = shutil.ignore_patterns("_build", ".ipynb_checkpoints", "__pycache__", "*.pyc")

# What a learner's copy holds besides book/ and autograde/, when it exists here.
# (The workflow is written by autograde.workflow, not copied.)
# (README.md is written for the learner: LEARNER_README.)
RELEASE_FILES = ["_config.yml", "_toc.yml", "requirements.txt", "requirements-nodeps.txt",
                 ".gitignore"]
# The learner's README: only what the copy has. {title} is the course README's title.
LEARNER_README = """{title}

This is your copy of the course: the chapters with their exercises and the grader that
checks them. (The reference solutions and the course's own tests stay with your
instructor.)

## What is here

{files}

## Set up

    python -m pip install --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt
    python -m pip install --no-deps -r requirements-nodeps.txt

## Work through the exercises

    jupyter lab book/

Each exercise is a code cell tagged `exercise` with a stub that raises
`NotImplementedError`. Write your answer there and run the cell below it, `check(name)`:
it tells you whether your function passes and, if not, which output is wrong, where,
and for common mistakes what is probably wrong. Cells further down use your function once
it passes and a reference otherwise, so every chapter runs either way.

## Grade your work

    python -m autograde grade book/                  # every exercise: points, verdict, feedback
    python -m autograde grade book/ --only rnn_step  # just one (ids as in the book)

Each push to your repository is graded by `.github/workflows/autograde.yml`; the score
and the feedback for each exercise are in the run's job summary. That score is feedback;
your instructor's re-grade is the grade of record. The workflow grades with the grader
that came with the course (pinned when it was released), not with `autograde/` as you
may have changed it, and your instructor's grading reports any change to files other
than your exercise cells. To see what you changed:

    python -m autograde verify . --manifest autograde-manifest.json
"""
# What the README says each shipped file or folder is (listed when the copy has it).
LEARNER_FILES = [
    ("book/", "the chapters, one notebook each, and the data they read"),
    ("autograde/", "`check()` and the grader (`python -m autograde`)"),
    ("tools/", "benchmarks and training runs; those that need the reference solutions say so"),
    ("requirements.txt", "the Python packages the chapters and the grader need"),
    ("requirements-nodeps.txt", "tf-keras, installed without its dependencies (see the file)"),
    ("pyproject.toml", "installs `autograde` (`requirements.txt` does it for you)"),
    ("_config.yml", "the book's configuration (with `_toc.yml`, its table of contents)"),
    (".github/workflows/autograde.yml", "grades each push"),
    (".github/autograde/grader.zip", "the grader the workflow runs, pinned by its SHA-256"),
    ("autograde-manifest.json", "what the course shipped, for `python -m autograde verify`"),
]


def solve(out_dir):
    """Write the answer key to `out_dir`/book/: the book with every exercise cell solved.

    Returns the paths written. Raises ValueError if `out_dir` is a non-empty folder,
    RuntimeError (before writing anything) if an exercise cell cannot be solved.
    """
    out = _empty_folder(out_dir, create=False)
    exercises = registry.exercises()
    solved = {path: _solved_notebook(path, exercises) for path in _files(BOOK, "*.ipynb")}
    written = _copy_tree(BOOK, out / "book")
    for path, nb in solved.items():
        _write(nb, out / "book" / path.relative_to(BOOK))
    return written


def _solved_notebook(path, exercises):
    """The notebook at `path` with each exercise cell solved and every output cleared."""
    nb = _read(path)
    defined = {}  # name -> source of every definition put in this notebook
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


def release(out_dir, grader_source=None):
    """Write the learner's copy of the course to `out_dir` (no solutions, no tests).

    grader_source: what the copy's workflow grades with (see `autograde.workflow`): a
    `--grader-source` string (a git URL at a commit, a wheel URL with #sha256=), or
    None for the zip of this grader shipped in the copy and pinned by its SHA-256.
    Also writes the manifest that `python -m autograde verify` compares copies with.
    Returns the paths written. Raises ValueError if `out_dir` is a non-empty folder
    or the grader source is not pinned.
    """
    from autograde import verify, workflow

    source = workflow.GraderSource.parse(grader_source) if grader_source else None
    out = _empty_folder(out_dir)
    written = _copy_tree(BOOK, out / "book") + _copy_tree(ROOT / "autograde", out / "autograde")
    # The tools (benchmarks, training runs, the ladder) are no answers: chapters 41-42 use
    # and include them, and those that need the answer key say so when run.
    if (ROOT / "tools").is_dir():
        written += _copy_tree(ROOT / "tools", out / "tools")
    for name in RELEASE_FILES:
        if (ROOT / name).is_file():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            written.append(Path(shutil.copy2(ROOT / name, out / name)))
    intro = out / "book" / "intro.md"
    if intro.exists():
        intro.write_text(_learner_intro(intro.read_text()))
    pyproject = out / "pyproject.toml"
    pyproject.write_text(_release_pyproject((ROOT / "pyproject.toml").read_text(), out))
    written.append(pyproject)
    exercise_ids = set(registry.exercises())
    for path in _files(out / "book", "*.ipynb") + _files(out / "book", "*.md"):
        # What the page includes from solutions/ is read relative to the page's source.
        inline = functools.partial(_inline_include, base=BOOK / path.parent.relative_to(
            out / "book"), hidden=exercise_ids)
        if path.suffix == ".md":
            path.write_text(strip_solutions(path.read_text(), inline))
            continue
        nb = _read(path)
        nb.cells = strip_solution_cells(nb.cells, inline)
        _write(nb, path)
    if source is None:  # the grader the workflow runs: this one, zipped and pinned
        archive = out / workflow.GRADER_ZIP
        zip_package(out / "autograde", archive)
        source = workflow.GraderSource("zip", workflow.GRADER_ZIP,
                                       verify.sha256(archive.read_bytes()))
        written.append(archive)
    flow = out / ".github" / "workflows" / "autograde.yml"
    flow.parent.mkdir(parents=True, exist_ok=True)
    flow.write_text(workflow.render(registry.exercises(), workflow.grading_pins(ROOT), source))
    written.append(flow)
    manifest = out / verify.MANIFEST
    manifest.write_text(json.dumps(verify.build_manifest(out, is_exercise_cell), indent=1) + "\n")
    written.append(manifest)
    readme = out / "README.md"  # last: it lists what the copy has
    title = (ROOT / "README.md").read_text().partition("\n")[0] if (ROOT / "README.md").is_file() \
        else "# The course"
    files = "\n".join(f"- `{name}`: {what}" for name, what in LEARNER_FILES
                      if (out / name).exists())
    readme.write_text(LEARNER_README.format(title=title, files=files))
    written.append(readme)
    return sorted(set(written))


# The intro's "Stuck?" step promises the solutions, which the learner's copy does not have.
_STUCK = re.compile(r"^(?P<n>\d+)\. Stuck\?.*?(?=\n\n|\n\d+\. |\Z)", re.M | re.S)
STUCK_IN_COPY = ("{n}. Stuck? This copy of the course has no solutions: re-read the chapter's "
                 "text above the exercise, print the shapes of your arrays, and ask your "
                 "instructor.")


def _learner_intro(text):
    def stuck(m):
        return textwrap.fill(STUCK_IN_COPY.format(n=m["n"]), 88, subsequent_indent="   ")

    return _STUCK.sub(stuck, text)


def _pins(requirements):
    """The pinned requirements (name==version lines) of a requirements file."""
    lines = [line.split("#")[0].strip() for line in requirements.read_text().splitlines()]
    return [line for line in lines if "==" in line and not line.startswith("-")]


def zip_package(package, archive):
    """Zip a package folder (no build output) byte for byte the same on every run:
    fixed timestamps and order, so its SHA-256 pins it."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(p for p in package.rglob("*") if p.is_file()):
            rel = path.relative_to(package.parent).as_posix()
            if "__pycache__" in rel or rel.endswith(".pyc"):
                continue
            info = zipfile.ZipInfo(rel, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, path.read_bytes())


# ---------------------------------------------------------------------------------------
# Notebooks


def is_exercise_cell(cell):
    """True for a code cell tagged `exercise`."""
    return cell.cell_type == "code" and "exercise" in cell.metadata.get("tags", [])


def top_level_names(source):
    """The names a cell's code binds at top level (functions, classes, assignments).

    IPython magics and shell lines (`%...`, `!...`) are ignored. A cell that is not
    valid Python defines nothing.
    """
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    return [name for stmt in tree.body for name in _bound_names(stmt)]


def _read(path):
    import nbformat

    return nbformat.read(path, as_version=4)


def _write(nb, path):
    import nbformat

    nbformat.write(nb, path)


# ---------------------------------------------------------------------------------------
# solve: a solution's source, with what it needs from its module


def solution_source(exercise_id, module_name):
    """The source of a cell that defines `exercise_id` as `solutions` does.

    Returns (source, definitions): the cell's code, and name -> source of each
    definition in it (for spotting two cells of one notebook that define the same
    helper differently).
    """
    imports, definitions = {}, {}
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


def _solved_cell(exercise_id, module_name, defined, notebook):
    source, definitions = solution_source(exercise_id, module_name)
    for name, text in definitions.items():
        if defined.setdefault(name, text) != text:
            raise RuntimeError(f"{notebook}: two solved exercise cells define {name!r} "
                               f"differently; rename one of the helpers in solutions/")
    if exercise_id not in top_level_names(source):
        raise RuntimeError(f"the solved cell for {exercise_id} does not define it")
    return source.rstrip("\n")


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
            for bound in _bound_names(stmt):
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


def _bound_names(stmt):
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
            names += _bound_names(node)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.append(node.id)
        elif not isinstance(node, (ast.Lambda, ast.comprehension)):
            todo.extend(ast.iter_child_nodes(node))
    return names


# ---------------------------------------------------------------------------------------
# release: the book without its solutions

# The opening line of a MyST directive fence: ```{name} or :::{name}.
_FENCE = re.compile(r"^\s*(?P<fence>`{3,}|:{3,})\{(?P<name>[\w-]+)\}\s*(?P<arg>.*)$")


def strip_solution_cells(cells, inline=None):
    """The cells without their solutions, for the learner's copy.

    Removes `{solution}` directives and everything from a `{solution-start}` to its
    `{solution-end}` (across cells too, code cells included). A `{literalinclude}` of a
    file in `solutions/` elsewhere (code the text shows, not an answer) becomes what
    `inline(path, options)` returns, the included code itself, or goes if that is None.
    A markdown cell left empty is dropped.
    """
    kept, inside = [], False
    for cell in cells:
        if cell.cell_type != "markdown":
            if not inside:
                kept.append(cell)
            continue
        text, inside = _strip(cell.source, inside, inline)
        if text.strip():
            cell.source = text
            kept.append(cell)
    return kept


def strip_solutions(text, inline=None):
    """Markdown text without its solutions (see `strip_solution_cells`)."""
    return _strip(text, False, inline)[0]


def _strip(text, inside, inline):
    """(text without solutions, whether a {solution-start} is still open at its end)."""
    lines, kept, i, changed = text.splitlines(), [], 0, inside
    while i < len(lines):
        m = _FENCE.match(lines[i])
        name = m["name"] if m else None
        if name in ("solution", "solution-start", "solution-end") or (
                name == "literalinclude" and "solutions/" in m["arg"]):
            end = _block_end(lines, i, m["fence"])
            if name == "literalinclude" and not inside and inline:
                options = dict(re.findall(r"^\s*:([\w-]+):\s*(.*?)\s*$",
                                          "\n".join(lines[i + 1:end]), re.M))
                kept += (inline(m["arg"].strip(), options) or "").splitlines()
            i, changed = end, True
            inside = name == "solution-start" or (inside and name != "solution-end")
            continue
        if not inside:
            kept.append(lines[i])
        i += 1
    if not changed:
        return text, inside
    return "\n".join(kept).strip("\n") + ("\n" if text.endswith("\n") else ""), inside


def _inline_include(path, options, base, hidden):
    """The code a `{literalinclude}` of `path` (relative to `base`) shows, as a code block.

    Only whole files and `:pyobject:` are reproduced; None for anything else, and for
    code that defines an exercise in `hidden` (the answer to it).
    """
    file = base / path
    if not file.is_file() or set(options) - {"pyobject", "language", "caption", "dedent"}:
        return None
    source = file.read_text()
    if "pyobject" not in options:
        code = None if set(top_level_names(source)) & hidden else source
    elif options["pyobject"].split(".")[0] not in hidden:
        code = _pyobject(source, options["pyobject"])
    else:
        code = None
    if code is None:
        return None
    fence = "````" if "```" in code else "```"
    return f"{fence}python\n{code.rstrip()}\n{fence}"


def _pyobject(source, dotted):
    """The source of the function or class `dotted` (e.g. "LSTM.forward"), or None."""
    lines, body, node = source.splitlines(), ast.parse(source).body, None
    for name in dotted.split("."):
        node = next((n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                          ast.ClassDef)) and n.name == name), None)
        if node is None:
            return None
        body = node.body
    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
    return textwrap.dedent("\n".join(lines[first - 1:node.end_lineno]))


def _block_end(lines, start, fence):
    """The index after the fence that closes the directive opened at lines[start]."""
    closing = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
    for j in range(start + 1, len(lines)):
        if closing.match(lines[j]):
            return j + 1
    return len(lines)


def _release_pyproject(text, out):
    """pyproject.toml for the learner: it installs autograde and tools, and runs no tests."""
    packages = sorted(".".join(p.parent.relative_to(out).parts)
                      for top in ("autograde", "tools") for p in (out / top).rglob("__init__.py"))
    listed = ", ".join(f'"{p}"' for p in packages)
    text, n = re.subn(r"^packages\s*=\s*\[[^\]]*\]", f"packages = [{listed}]", text, flags=re.M)
    if n != 1:
        raise RuntimeError("pyproject.toml has no `packages = [...]` under [tool.setuptools]")
    # The test configuration points at tests/, which the learner does not get.
    return re.sub(r"^\[tool\.pytest\.ini_options\]\n(?:(?!\[).*\n?)*", "", text, flags=re.M)


# ---------------------------------------------------------------------------------------


def _empty_folder(out_dir, create=True):
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out} already exists and is not empty; give a new folder "
                         f"(or empty this one first)")
    if create:
        out.mkdir(parents=True, exist_ok=True)
    return out


def _copy_tree(src, dst):
    """Copy the folder `src` to `dst` (without build output); return the files written."""
    shutil.copytree(src, dst, ignore=_SKIP, dirs_exist_ok=True)
    return sorted(p for p in dst.rglob("*") if p.is_file())


def _files(folder, pattern):
    """The files under `folder` that match `pattern`, build output and checkpoints left out."""
    return sorted(p for p in folder.rglob(pattern)
                  if not {"_build", ".ipynb_checkpoints"} & set(p.relative_to(folder).parts))
