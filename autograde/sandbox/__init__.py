"""Running a notebook's code in a child process the grader can always stop and clean up.

`run_notebook(cells, exercises, limits, inputs)` runs the code cells of one notebook, in
order, in a child process and collects, for each exercise, what its checks returned.
The child:

- runs as a dedicated unprivileged user when the grader is root (a fresh uid per child,
  so that its processes can all be found and killed, and RLIMIT_NPROC counts only
  them), with no network, in a scratch folder, with a clean environment;
- has limits on memory (RLIMIT_AS), processes (RLIMIT_NPROC), file size, CPU time and
  output (what it prints beyond `limits.output_mb` stops it);
- is watched with the grader's own clock: a cell or an exercise that runs past the time
  limit, a crash, or an exit stops the child; the step it was at is left out and a
  new child runs the rest of the notebook, so one broken cell costs only that cell
  (and the exercises that need it).

Nothing the child writes is executed or unpickled: inputs and outputs cross as JSON and
`.npy` files (`wire`), events as JSON lines, all of it typed in `protocol`;
the grader accepts only the steps it expects next. Every process the child started is
killed before `run_notebook` returns.

The modules, one job each. Shared by both sides (and all the two sides share):
  protocol   what crosses between grader and child (enums and dataclasses)
  wire       how values cross: JSON and .npy files, never code
The grader's side:
  feed       the cases' inputs (`Inputs`), written into the sandbox as they arrive
  supervise  one attempt: start a child, follow its events with the grader's clock,
             stop it, read its results
  steps      the order of the child's steps: which event may come next
  spawn      starting the child: the zygote's client, or a fresh interpreter
  confine    the sandbox user, limits, clean environment, the folders to hide
  libraries  the grader's library path and the folders it trusts
  reap       finding and killing what a sandbox left behind
The child's side (never imports the grader's):
  zygote     the fork server: imports the libraries once, forks a child per notebook
  child      the child: runs the cells and the checks
  enter      entering the sandbox: namespaces, hidden folders, the user, the limits
  trust      is this code file the grader's library code?
  guards     no `solutions`, no framework LSTMs in from-scratch exercises; the trust anchor
  stop       waiting for and stopping an exercise's forked process
"""

import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from autograde.sandbox import libraries, spawn, supervise
from autograde.sandbox.confine import Limits, stray_processes
from autograde.sandbox.feed import Feed, Inputs
from autograde.sandbox.protocol import (
    CaseStatus,
    Cell,
    End,
    ExerciseRun,
    ExerciseSpec,
    NotebookRun,
)
from autograde.sandbox.reap import become_subreaper
from autograde.sandbox.supervise import Outcome, Sandbox, Stage, describe_end

__all__ = ["run_notebook", "Limits", "Inputs", "NotebookRun", "ExerciseRun", "CaseStatus",
           "End", "describe_end", "warm_up", "stray_processes", "become_subreaper", "Cell",
           "ExerciseSpec"]


def warm_up(kinds: Iterable[str | None]) -> None:
    """Start the zygotes of these kinds ("base", "tf"), so their imports overlap other work."""
    spawn.warm_up(kinds, libraries.library_path())


def run_notebook(cells: Iterable[Cell | Mapping[str, object]],
                 exercises: Mapping[str, ExerciseSpec | Mapping[str, object]],
                 limits: Limits, inputs: Inputs, inline: bool = False,
                 kind: str | None = "base") -> NotebookRun:
    """Run `cells` in a sandbox and the checks of `exercises`.

    cells:     Cells (or dicts {"index": i, "code": str, "exercise": id or None}), in
               notebook order.
    exercises: id -> ExerciseSpec (or a dict {"module": str, "from_scratch": bool}).
    limits:    a Limits.
    inputs:    an `Inputs`, where the cases of every exercise arrive (or have arrived).
    inline:    run every exercise in the child itself instead of a forked grandchild
               (what happens anyway once TensorFlow is loaded); for tests.
    kind:      what the child should have imported already: "base" (numpy, matplotlib,
               torch), "tf" (and TensorFlow), or None for a fresh interpreter.
    Returns a NotebookRun.
    """
    if not isinstance(limits, Limits):
        raise TypeError(f"limits must be a sandbox.Limits; got {type(limits).__name__}")
    if not isinstance(inputs, Inputs):
        raise TypeError(f"inputs must be a sandbox.Inputs; got {type(inputs).__name__}")
    todo, specs = [_cell(c) for c in cells], {id: _spec(id, s) for id, s in exercises.items()}
    # Files changed from now on may be the submission's: never trusted as library code.
    grader_libraries = libraries.grader_libraries(since=time.time())
    base = Path(tempfile.mkdtemp(prefix="autograde-"))
    try:
        os.chmod(base, 0o711)  # the sandbox user may enter, not list
        (base / "in").mkdir()
        os.chmod(base / "in", 0o755)
        steps = len(todo) + len(specs)
        sandbox = Sandbox(
            base=base, exercises=specs, limits=limits, inline=inline, kind=kind,
            libraries=grader_libraries, feed=Feed(base / "in", specs, inputs),
            budget=time.monotonic() + limits.startup * 2 + limits.timeout * (steps + 2) * 1.5)
        return _attempts(sandbox, todo)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _attempts(sandbox: Sandbox, cells: list[Cell]) -> NotebookRun:
    """Attempts, each without the step the last one stopped at, until all have run."""
    result = NotebookRun()
    for number in range(len(cells) + 2):
        pending = {c.exercise for c in cells if c.exercise} - set(result.exercises)
        if not pending and number:
            break
        # An exercise graded already is now only context.
        cells = [c if c.exercise in pending else Cell(c.index, c.code) for c in cells]
        outcome = supervise.attempt(sandbox, number, cells)
        result.facts = outcome.facts or result.facts
        result.exercises.update(outcome.exercises)
        result.cell_errors.update(outcome.cell_errors)
        if outcome.finished:
            break
        if outcome.startup_error:
            result.error = outcome.startup_error
            break
        left = _leave_out(sandbox, outcome, cells, result)
        if left is None:
            break
        cells = left
        if time.monotonic() > sandbox.budget:
            break
    for c in cells:
        if c.exercise and c.exercise not in result.exercises:
            result.exercises[c.exercise] = ExerciseRun(
                None, [None] * sandbox.feed.count(c.exercise), End.STOPPED,
                reason="the notebook's code ran past the grader's time budget before "
                       "this exercise")
    return result


def _leave_out(sandbox: Sandbox, outcome: Outcome, cells: list[Cell],
               result: NotebookRun) -> list[Cell] | None:
    """Record where the attempt stopped, and return the cells to run next: without the
    cell that stopped it. None if there is nothing to leave out (stop trying)."""
    stage, key = outcome.step
    if stage is Stage.EXERCISE and isinstance(key, str):
        # The child died or was stopped during it: what it wrote is not trusted.
        run = outcome.exercises.get(key) or supervise.read_exercise(
            outcome.outdir, key, sandbox.feed.count(key), End.STOPPED)
        run.ended, run.reason = End.STOPPED, outcome.reason
        result.exercises[key] = run
        if run.cell is None:  # it died running the cell itself: leave the cell out
            index = next((c.index for c in cells if c.exercise == key), None)
            return [c for c in cells if c.index != index]
        return cells
    # A cell, or between steps: then the last cell that ran is to blame.
    index = key if stage is Stage.CELL and isinstance(key, int) else outcome.last_cell
    if index is None:
        result.error = f"the sandbox stopped before the first cell: {outcome.reason}"
        return None
    result.cell_errors[index] = outcome.reason
    return [c for c in cells if c.index != index]


def _cell(cell: Cell | Mapping[str, object]) -> Cell:
    if isinstance(cell, Cell):
        return cell
    if isinstance(cell, Mapping):
        index, code, exercise = cell.get("index"), cell.get("code"), cell.get("exercise")
        if type(index) is int and isinstance(code, str) and (
                exercise is None or isinstance(exercise, str)):
            return Cell(index, code, exercise)
    raise TypeError(f"a cell must be a sandbox.Cell or a dict with an int index, str code "
                    f"and a str or None exercise; got {_shown(cell)}")


def _spec(id: str, spec: ExerciseSpec | Mapping[str, object]) -> ExerciseSpec:
    if isinstance(spec, ExerciseSpec):
        return spec
    if isinstance(spec, Mapping):
        module, from_scratch = spec.get("module"), spec.get("from_scratch")
        if isinstance(module, str) and isinstance(from_scratch, bool):
            return ExerciseSpec(module, from_scratch)
    raise TypeError(f"exercise {id!r} must be a sandbox.ExerciseSpec or a dict with a str "
                    f"module and a bool from_scratch; got {_shown(spec)}")


def _shown(value: object) -> str:
    return f"{type(value).__name__} {str(value)[:80]}"
