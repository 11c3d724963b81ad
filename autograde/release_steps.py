"""The steps of `release`, the learner's copy (`autograde.course.RELEASE_STEPS` lists them).

The copy holds the book (stubs as committed, solution dropdowns removed, other code the
text includes from `solutions/` written into the page), `autograde/`, `tools/`, the
book's configuration, README, requirements, a `pyproject.toml` that installs
`autograde` and `tools` only, the workflow that grades each push with a pinned grader,
and the manifest `verify` compares copies with. No `solutions/`, no `tests/`.
"""

import functools
import json
import re
import shutil
import zipfile
from pathlib import Path

from autograde import registry, verify, workflow
from autograde.learner_readme import PLACEHOLDER_CLONE_URL, learner_intro, learner_readme
from autograde.notebook import is_exercise_cell
from autograde.pipeline import Build, copy_tree, files, read_notebook, write_notebook
from autograde.solution_fences import inline_include, strip_solution_cells, strip_solutions

# What a learner's copy holds besides book/ and autograde/, when it exists here.
# (The workflow is written by autograde.workflow, not copied.)
# (README.md is written for the learner: autograde.learner_readme.)
RELEASE_FILES = ["_config.yml", "_toc.yml", "requirements.txt", "requirements-nodeps.txt",
                 ".gitignore"]
# The URL of a `!git clone ... URL DIR` line, as the first cell of every chapter has it.
_CLONE_LINE = re.compile(r"^(?P<head>\s*!git clone\b.*?\s)(?P<url>(?:https?://|git@|ssh://|file://|/)\S+)"
                         r"(?P<tail>\s+\S+\s*)$", re.M)
# What --clone-url accepts: a git URL or an absolute path, nothing the shell would read.
_CLONE_URL = re.compile(r"(?:https?://|git@|ssh://|file://|/)[\w.@:/~+%-]+")


def copy_book(build: Build) -> None:
    """book/ as committed (the solutions go in `strip_book`)."""
    build.written += copy_tree(build.book, build.out / "book")


def copy_grader(build: Build) -> None:
    """autograde/: check() and the grader."""
    build.written += copy_tree(build.root / "autograde", build.out / "autograde")


def copy_tools(build: Build) -> None:
    """tools/, if the course has it."""
    # The tools (benchmarks, training runs, the ladder) are no answers: chapters 41-42 use
    # and include them, and those that need the answer key say so when run.
    if (build.root / "tools").is_dir():
        build.written += copy_tree(build.root / "tools", build.out / "tools")


def copy_course_files(build: Build) -> None:
    """The book's configuration, requirements and .gitignore (RELEASE_FILES that exist)."""
    for name in RELEASE_FILES:
        if (build.root / name).is_file():
            (build.out / name).parent.mkdir(parents=True, exist_ok=True)
            build.written.append(Path(shutil.copy2(build.root / name, build.out / name)))


def rewrite_intro(build: Build) -> None:
    """The intro's "Stuck?" step, which promises the solutions, rewritten."""
    intro = build.out / "book" / "intro.md"
    if intro.exists():
        intro.write_text(learner_intro(intro.read_text()))


def write_pyproject(build: Build) -> None:
    """A pyproject.toml that installs the copy's autograde and tools, and runs no tests."""
    pyproject = build.out / "pyproject.toml"
    pyproject.write_text(release_pyproject((build.root / "pyproject.toml").read_text(), build.out))
    build.written.append(pyproject)


def strip_book(build: Build) -> None:
    """The solutions out of every notebook and page of the copied book."""
    exercise_ids = set(registry.exercises())
    book = build.out / "book"
    for path in files(book, "*.ipynb") + files(book, "*.md"):
        # What the page includes from solutions/ is read relative to the page's source.
        inline = functools.partial(inline_include, base=build.book / path.parent.relative_to(
            book), hidden=exercise_ids)
        if path.suffix == ".md":
            path.write_text(strip_solutions(path.read_text(), inline))
            continue
        nb = read_notebook(path)
        nb.cells = strip_solution_cells(nb.cells, inline)
        write_notebook(nb, path)


def set_clone_url(build: Build) -> None:
    """Each chapter's Colab cell clones the learner's repository (`build.clone_url`, or a
    placeholder the README says to replace), never the course's."""
    url = build.clone_url or PLACEHOLDER_CLONE_URL
    for path in files(build.out / "book", "*.ipynb"):
        nb = read_notebook(path)
        changed = False
        for cell in nb.cells:
            if cell.cell_type == "code" and _CLONE_LINE.search(cell.source):
                cell.source = _CLONE_LINE.sub(lambda m: m["head"] + url + m["tail"], cell.source)
                changed = True
        if changed:
            write_notebook(nb, path)


def check_clone_url(url: str | None) -> str | None:
    """`url` if it is a git URL or an absolute path (it goes into a shell line of every
    chapter); ValueError naming what was expected otherwise."""
    if url is None or _CLONE_URL.fullmatch(url):
        return url
    raise ValueError(f"--clone-url: expected the learner's repository as https://HOST/PATH, "
                     f"git@HOST:PATH, ssh://, file:// or an absolute path, with no spaces or "
                     f"quotes; got {url!r}")


def pack_grader(build: Build) -> None:
    """Unless the release names a grader source: this grader, zipped and pinned."""
    if build.grader_source is not None:
        return
    archive = build.out / workflow.GRADER_ZIP
    zip_package(build.out / "autograde", archive)
    build.grader_source = workflow.GraderSource("zip", workflow.GRADER_ZIP,
                                                verify.sha256(archive.read_bytes()))
    build.written.append(archive)


def write_workflow(build: Build) -> None:
    """.github/workflows/autograde.yml: grade each push with the pinned grader."""
    flow = build.out / ".github" / "workflows" / "autograde.yml"
    flow.parent.mkdir(parents=True, exist_ok=True)
    flow.write_text(workflow.render(registry.exercises(), workflow.grading_pins(build.root),
                                    build.grader_source))
    build.written.append(flow)


def write_manifest(build: Build) -> None:
    """autograde-manifest.json: what `verify` compares the learners' copies with."""
    manifest = build.out / verify.MANIFEST
    manifest.write_text(json.dumps(verify.build_manifest(build.out, is_exercise_cell), indent=1) + "\n")
    build.written.append(manifest)


def write_readme(build: Build) -> None:
    """The learner's README.md; last, as it lists what the copy has."""
    readme = build.out / "README.md"
    source = build.root / "README.md"
    title = source.read_text().partition("\n")[0] if source.is_file() else "# The course"
    readme.write_text(learner_readme(title, build.out, build.clone_url))
    build.written.append(readme)


def zip_package(package: Path, archive: Path) -> None:
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


def release_pyproject(text: str, out: Path) -> str:
    """pyproject.toml for the learner: it installs autograde and tools, and runs no tests
    (nor lint-imports)."""
    packages = sorted(".".join(p.parent.relative_to(out).parts)
                      for top in ("autograde", "tools") for p in (out / top).rglob("__init__.py"))
    listed = ", ".join(f'"{p}"' for p in packages)
    text, n = re.subn(r"^\[tool\.setuptools\.packages\.find\]\n(?:(?!\[).*\n?)*",
                      f"[tool.setuptools]\npackages = [{listed}]\n\n", text, flags=re.M)
    if n != 1:
        raise RuntimeError("pyproject.toml has no [tool.setuptools.packages.find] table")
    # The test and import-rule configurations point at tests/ and solutions/, which the
    # learner does not get.
    text = re.sub(r"^\[tool\.pytest\.ini_options\]\n(?:(?!\[).*\n?)*", "", text, flags=re.M)
    return re.sub(r"^\n?\[\[?tool\.importlinter[\].\w]*\]\n(?:(?!\[).*\n?)*", "", text, flags=re.M)
