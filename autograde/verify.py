"""Is a learner's copy still what `release` shipped? (`python -m autograde verify SUBMISSION`)

`release` writes a manifest, `autograde-manifest.json`, beside what it ships: the SHA-256
of every file that is not the learner's to change (the grader, the workflow, the
requirements, the book's configuration and data) and, for each notebook, of every cell
that is not an exercise cell, one hash per cell, so that an edited check or helper cell
is named. `verify(submission, manifest)` compares a submission with it and returns one
line per difference:

    changed: autograde/grader.py
    missing: .github/workflows/autograde.yml
    added: book/extra.ipynb (a notebook in book/: graded if it defines an exercise)
    added: notes/todo.txt (cannot affect the grade)
    edited: book/03_lstm_cell.ipynb cell 9 (the check cell "check(lstm_step)")
    deleted: book/03_lstm_cell.ipynb cell 4 (a code cell "def sigmoid(z):")

Every file added anywhere in a copy is listed; only a notebook added under `book/` can
change the grade of record (the instructor's grader reads the notebooks of `book/` and
runs them in a scratch folder of its own, with its own `autograde`), so every other
added file is marked "cannot affect the grade" (an added workflow or grader module still
changes what the learner's own pushes report, which is feedback). The learner's own
edits are left out: exercise cells (writing them is the point), cells they add, outputs,
`README.md` and `.gitignore`. A cell is matched by its notebook cell
id, or by its content wherever it moved. A submission made of notebooks only (no course
file outside book/, as uploaded to a learning platform, or the answer key that `solve`
writes) is compared on its notebooks only.

A manifest in the submission itself proves nothing (the learner can rewrite it): the
instructor verifies against the one their own `release` wrote (`--manifest FILE`) or,
by default, against what this checkout's `release` ships now
(`autograde.course.expected_manifest`).

Also here: `grader_version()` (what the gradebook records about the grader that graded)
and `submission_sha256(folder)` (one hash for the notebooks a submission holds).
"""

import hashlib
import json
from pathlib import Path

SCHEMA = "autograde-manifest/1"
MANIFEST = "autograde-manifest.json"
LEARNER_FILES = {"README.md", ".gitignore", MANIFEST}  # shipped, but the learner's to edit
GRADED = "book/"  # what the instructor's grader reads: its notebooks
_BUILD_OUTPUT = {"__pycache__", ".ipynb_checkpoints", "_build", ".pytest_cache"}
PACKAGE = Path(__file__).resolve().parent


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def build_manifest(course_dir, exercise_cell):
    """The manifest of a released course folder (what `release` calls on what it wrote).

    exercise_cell(cell) -> True for the cells that are the learner's to write.
    """
    course_dir = Path(course_dir)
    files, notebooks = {}, {}
    for path in sorted(_course_files(course_dir)):
        rel = path.relative_to(course_dir).as_posix()
        if rel in LEARNER_FILES:
            continue
        if path.suffix == ".ipynb":
            notebooks[rel] = [_cell_record(i, c, exercise_cell(c))
                              for i, c in enumerate(_read(path).cells)]
        else:
            files[rel] = sha256(path.read_bytes())
    return {"schema": SCHEMA, "grader": grader_version(), "files": files, "notebooks": notebooks}


def _cell_record(index, cell, is_exercise):
    record = {"cell": index + 1, "id": cell.get("id"), "kind": _kind(cell, is_exercise)}
    if not is_exercise:
        record["sha256"] = cell_hash(cell)
        record["starts"] = _first_line(cell.source)
    return record


def cell_hash(cell):
    """A cell's type and source (not its outputs, metadata or execution count)."""
    return sha256(f"{cell.cell_type}\0{cell.source}".encode())


def _kind(cell, is_exercise):
    if is_exercise:
        return "exercise"
    if cell.cell_type == "code" and cell.source.lstrip().startswith("check("):
        return "check"
    return cell.cell_type


def _first_line(source):
    line = next((s.strip() for s in source.splitlines() if s.strip()), "")
    return line if len(line) <= 60 else line[:59] + "…"


def load_manifest(path):
    """A manifest read from `path`; ValueError naming what is wrong with it."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: cannot read the manifest ({e})") from None
    got = data.get("schema") if isinstance(data, dict) else type(data).__name__
    if got != SCHEMA:
        raise ValueError(f"{path}: not an autograde manifest (expected \"schema\": "
                         f"\"{SCHEMA}\"; got {str(got)[:60]!r})")
    return data


def verify(submission, manifest):
    """The differences between `submission` (a folder) and `manifest`, one line each.

    An empty list means that everything release shipped is there, unchanged.
    """
    root = Path(submission)
    if not root.is_dir():
        raise ValueError(f"{submission}: expected a folder (a learner's copy of the course)")
    findings = []
    present = {p.relative_to(root).as_posix(): p for p in _course_files(root)}
    # A copy of the course, or only its notebooks (perhaps in book/)?
    whole_copy = any(rel in present for rel in manifest["files"] if not rel.startswith("book/"))
    if whole_copy:
        for rel, digest in manifest["files"].items():
            if rel not in present:
                findings.append(f"missing: {rel}")
            elif _digest(present[rel]) != digest:
                findings.append(f"changed: {rel}")
        for rel in sorted(present):
            if rel not in manifest["files"] and rel not in manifest["notebooks"] \
                    and rel not in LEARNER_FILES:
                findings.append(f"added: {rel} ({_effect(rel)})")
    by_name = {}
    for rel in sorted(present):
        if rel.endswith(".ipynb"):
            by_name.setdefault(Path(rel).name, rel)
    for rel, cells in manifest["notebooks"].items():
        # A copy keeps book/NN.ipynb; notebooks uploaded on their own sit anywhere.
        found = rel if rel in present else by_name.get(Path(rel).name)
        if found is None:
            findings.append(f"missing: {rel}")
            continue
        findings += _verify_notebook(found, present[found], cells)
    return findings


def _effect(rel):
    """Whether an added file can change the grade of record (see the module docstring)."""
    if rel.startswith(GRADED) and rel.endswith(".ipynb"):
        return "a notebook in book/: graded if it defines an exercise"
    return "cannot affect the grade"


def _digest(path):
    try:
        return sha256(path.read_bytes())
    except OSError:
        return None  # unreadable: not what was shipped


def _verify_notebook(rel, path, expected):
    try:
        cells = _read(path).cells
    except Exception as e:  # any malformed notebook
        return [f"changed: {rel} (not a notebook nbformat can read: {type(e).__name__})"]
    by_id = {c.get("id"): c for c in cells if c.get("id")}
    hashes = {cell_hash(c) for c in cells}
    findings = []
    for record in expected:
        if record["kind"] == "exercise" or record["sha256"] in hashes:
            continue  # the learner's cell, or unchanged (perhaps moved)
        what = {"check": "the check cell", "code": "a code cell",
                "markdown": "a markdown cell"}.get(record["kind"], f"a {record['kind']} cell")
        verb = "edited" if record.get("id") in by_id else "deleted"
        findings.append(f"{verb}: {rel} cell {record['cell']} ({what} "
                        f"{json.dumps(record['starts'], ensure_ascii=False)})")
    return findings


def _course_files(folder):
    """Every file under `folder`, build output and git's own folder left out."""
    for path in Path(folder).rglob("*"):
        parts = set(path.relative_to(folder).parts)
        if path.is_file() and not parts & _BUILD_OUTPUT and ".git" not in parts \
                and path.suffix != ".pyc" and not any(p.endswith(".egg-info") for p in parts):
            yield path


def _read(path):
    import nbformat

    return nbformat.read(path, as_version=4)


def grader_version():
    """The grader that is running: "autograde sha256:<first 16 hex>" of its source files,
    so two gradebooks say whether the same grader made them."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        if "__pycache__" not in path.parts:
            digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return f"autograde sha256:{digest.hexdigest()[:16]}"


def submission_sha256(folder):
    """One hash of what is graded in `folder`: its notebooks, names and bytes."""
    from autograde.notebook import find_notebooks

    folder = Path(folder)
    digest = hashlib.sha256()
    for path in find_notebooks(folder):
        name = path.name if path == folder else path.relative_to(folder).as_posix()
        digest.update(name.encode() + b"\0" + sha256(path.read_bytes()).encode() + b"\0")
    return digest.hexdigest()
