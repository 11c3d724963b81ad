"""What `release` and `solve` share: a `Build` and the file helpers their steps use.

A pipeline is a list of steps, each a function `step(build) -> None` with one job
(copy the book, strip the solutions, write the manifest, ...), run in order on one
`Build` (`run`). A step adds every file it writes to `build.written`; what a later step
needs from an earlier one (the solved notebooks, the grader source) is a field of the
`Build`. `autograde.course` lists the steps of each pipeline, as nbgrader lists its
preprocessors, so a course can add or drop one.
"""

import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_SKIP = shutil.ignore_patterns("_build", ".ipynb_checkpoints", "__pycache__", "*.pyc")


@dataclass
class Build:
    """One run of a pipeline.

    root:          the course checkout read from (book/, autograde/, solutions/, ...).
    out:           the folder written to.
    written:       the files the steps wrote so far.
    grader_source: release: the `autograde.workflow.GraderSource` the copy's workflow
                   grades with (None until `pack_grader` zips this grader).
    clone_url:     release: the learner's repository, which each chapter's Colab cell
                   clones (None: a placeholder the README says to replace).
    solved:        solve: the notebooks to write, path under root -> solved notebook.
    """

    root: Path
    out: Path
    written: list[Path] = field(default_factory=list)
    grader_source: Any = None
    clone_url: str | None = None
    solved: dict[Path, Any] = field(default_factory=dict)

    @property
    def book(self) -> Path:
        return self.root / "book"


Step = Callable[[Build], None]


def run(build: Build, steps: Iterable[Step]) -> Build:
    """Run `steps` in order on `build`; return it."""
    for step in steps:
        step(build)
    return build


def empty_folder(out_dir: str | Path, create: bool = True) -> Path:
    """`out_dir` as a Path; ValueError if it exists and is not an empty folder."""
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out} already exists and is not empty; give a new folder "
                         f"(or empty this one first)")
    if create:
        out.mkdir(parents=True, exist_ok=True)
    return out


def copy_tree(src: Path, dst: Path) -> list[Path]:
    """Copy the folder `src` to `dst` (without build output); return the files written."""
    shutil.copytree(src, dst, ignore=_SKIP, dirs_exist_ok=True)
    return sorted(p for p in dst.rglob("*") if p.is_file())


def files(folder: Path, pattern: str) -> list[Path]:
    """The files under `folder` that match `pattern`, build output and checkpoints left out."""
    return sorted(p for p in folder.rglob(pattern)
                  if not {"_build", ".ipynb_checkpoints"} & set(p.relative_to(folder).parts))


def read_notebook(path: Path) -> Any:
    """An nbformat notebook (version 4); nbformat is imported only when one is read."""
    import nbformat

    return nbformat.read(path, as_version=4)


def write_notebook(nb: Any, path: Path) -> None:
    import nbformat

    nbformat.write(nb, path)
