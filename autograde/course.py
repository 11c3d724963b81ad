"""The instructor's answer key and the learner's copy of the course, as two pipelines.

- `solve(out_dir)` (`python -m autograde solve OUT_DIR`): a copy of `book/`, written to
  `OUT_DIR/book/` as in the learner's copy (so the same commands work on both), in which
  every `exercise`-tagged cell holds the reference solution from `solutions`, built
  from the solution module's own source (`autograde.solution_source`). Code outputs
  are cleared: the stored ones are those of the stubs.
- `release(out_dir)` (`python -m autograde release OUT_DIR`): the course a learner
  gets, without solutions or tests (`autograde.release_steps`).

Each is a list of steps (`SOLVE_STEPS`, `RELEASE_STEPS`), functions with one job each
run in order on one `autograde.pipeline.Build`, as nbgrader's preprocessors are: a
course adds or drops a step by passing its own list (`release(out, steps=[...])`).
Both return the list of files they wrote and refuse to write into a folder that already
holds something. Nothing heavy is imported: `solve` reads the solutions' source files
without running them, and `nbformat` is imported when a notebook is read.
"""

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autograde import release_steps, solve_steps, verify, workflow
from autograde.notebook import is_exercise_cell, top_level_names
from autograde.pipeline import ROOT, Build, Step, empty_folder, run
from autograde.release_steps import zip_package
from autograde.solution_fences import strip_solution_cells, strip_solutions
from autograde.solution_source import solution_source

# Kept importable from here, where they lived before the split.
__all__ = ["RELEASE_STEPS", "SOLVE_STEPS", "expected_manifest", "is_exercise_cell", "release",
           "solution_source", "solve", "strip_solution_cells", "strip_solutions",
           "top_level_names", "zip_package"]

SOLVE_STEPS: list[Step] = [
    solve_steps.solve_notebooks,  # first: nothing is written if a cell cannot be solved
    solve_steps.copy_book,
    solve_steps.write_solved_notebooks,
]

RELEASE_STEPS: list[Step] = [
    release_steps.copy_book,
    release_steps.copy_grader,
    release_steps.copy_tools,
    release_steps.copy_course_files,
    release_steps.rewrite_intro,
    release_steps.write_pyproject,
    release_steps.strip_book,
    release_steps.set_clone_url,
    release_steps.pack_grader,
    release_steps.write_workflow,
    release_steps.write_manifest,
    release_steps.write_readme,  # last: it lists what the copy has
]


def solve(out_dir: str | Path, steps: Sequence[Step] = SOLVE_STEPS) -> list[Path]:
    """Write the answer key to `out_dir`/book/: the book with every exercise cell solved.

    Returns the paths written. Raises ValueError if `out_dir` is a non-empty folder,
    RuntimeError (before writing anything) if an exercise cell cannot be solved.
    """
    build = Build(ROOT, empty_folder(out_dir, create=False))
    return run(build, steps).written


def release(out_dir: str | Path, grader_source: str | None = None,
            steps: Sequence[Step] = RELEASE_STEPS, clone_url: str | None = None) -> list[Path]:
    """Write the learner's copy of the course to `out_dir` (no solutions, no tests).

    grader_source: what the copy's workflow grades with (see `autograde.workflow`): a
    `--grader-source` string (a git URL at a commit, a wheel URL with #sha256=), or
    None for the zip of this grader shipped in the copy and pinned by its SHA-256.
    clone_url: the learner's repository, which each chapter's first cell clones on Colab
    (never the course's, which holds the answers); None leaves a placeholder there and
    the copy's README says how to set it.
    Also writes the manifest that `python -m autograde verify` compares copies with.
    Returns the paths written. Raises ValueError if `out_dir` is a non-empty folder,
    the grader source is not pinned or the clone URL is not a git URL.
    """
    source = workflow.GraderSource.parse(grader_source) if grader_source else None
    clone_url = release_steps.check_clone_url(clone_url)
    build = Build(ROOT, empty_folder(out_dir), grader_source=source, clone_url=clone_url)
    return sorted(set(run(build, steps).written))


def expected_manifest(manifest_file: str | Path | None = None) -> dict[str, Any]:
    """The manifest to verify against: `manifest_file`, or what `release` ships from this
    checkout now (a release into a temporary folder)."""
    if manifest_file is not None:
        return verify.load_manifest(manifest_file)
    with tempfile.TemporaryDirectory(prefix="autograde-release-") as tmp:
        release(Path(tmp) / "copy")
        return verify.load_manifest(Path(tmp) / "copy" / verify.MANIFEST)
