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
`.npy` files (`autograde.wire`), events as JSON lines, all of it typed in `protocol`;
the grader accepts only the steps it expects next. Every process the child started is
killed before `run_notebook` returns.

The modules, one job each:
  protocol   what crosses between grader and child (enums and dataclasses)
  supervise  one attempt: start a child, follow its events, stop it, read its results
  launch     starting the child: the zygote's client and server, or a fresh interpreter
  confine    the sandbox user, limits, clean environment and hidden folders
  libraries  which code is the grader's libraries (searched and trusted by the child)
  guards     no `solutions`, no framework LSTMs in from-scratch exercises; the trust anchor
  child      the child: runs the cells and the checks
  reap       finding and killing what a sandbox left behind
"""

import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from autograde import wire
from autograde.sandbox import launch, libraries, supervise
from autograde.sandbox.confine import Limits, make_readable, stray_processes
from autograde.sandbox.protocol import CaseStatus, End, ExerciseRun, NotebookRun
from autograde.sandbox.reap import become_subreaper
from autograde.sandbox.supervise import describe_end

__all__ = ["run_notebook", "Limits", "Inputs", "NotebookRun", "ExerciseRun", "CaseStatus",
           "End", "describe_end", "warm_up", "stray_processes", "become_subreaper"]


class Inputs:
    """The cases' inputs, handed over by the grader while the sandboxes already run.

    The grader computes each exercise's cases (and their expected outputs) while the
    notebooks' children start up and run their first cells; a child waits for an
    exercise's inputs only when it gets to that exercise.
    """

    def __init__(self):
        self._inputs, self._lock = {}, threading.Lock()

    def put(self, id, inputs):
        """The inputs of each case of exercise `id` (a list; empty if it has none)."""
        with self._lock:
            self._inputs[id] = list(inputs)

    def get(self, id):
        """The list given to `put`, or None if it has not been given yet."""
        with self._lock:
            return self._inputs.get(id)


def warm_up(kinds):
    """Start the zygotes of these kinds ("base", "tf") now, so their imports overlap
    other work."""
    launch.warm_up(kinds, libraries.library_path())


def run_notebook(cells, exercises, limits, inputs, inline=False, kind="base"):
    """Run `cells` in a sandbox and the checks of `exercises`.

    cells:     [{"index": i, "code": str, "exercise": id or None}], in notebook order.
    exercises: id -> {"module": str, "from_scratch": bool}.
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
    result = NotebookRun()
    # Files changed from now on may be the submission's: never trusted as library code.
    grader_libraries = libraries.grader_libraries(since=time.time())
    base = Path(tempfile.mkdtemp(prefix="autograde-"))
    try:
        os.chmod(base, 0o711)  # the sandbox user may enter, not list
        (base / "in").mkdir()
        os.chmod(base / "in", 0o755)
        feed = _Feed(base / "in", exercises, inputs)
        cells = [dict(c) for c in cells]
        steps = len(cells) + len(exercises)
        budget = time.monotonic() + limits.startup * 2 + limits.timeout * (steps + 2) * 1.5
        for number in range(len(cells) + 2):
            pending = {c["exercise"] for c in cells if c.get("exercise")} - set(result.exercises)
            if not pending and number:
                break
            for c in cells:
                if c.get("exercise") and c["exercise"] not in pending:
                    c["exercise"] = None  # graded already: now only context
            outcome = supervise.attempt(base, number, cells, exercises, limits, inline, budget,
                                        feed, kind, grader_libraries)
            result.facts = outcome.facts or result.facts
            result.exercises.update(outcome.exercises)
            result.cell_errors.update(outcome.cell_errors)
            if outcome.finished:
                break
            if outcome.startup_error:
                result.error = outcome.startup_error
                break
            step, key = outcome.step
            if step == "exercise":
                # The child died or was stopped during it: what it wrote is not trusted.
                run = outcome.exercises.get(key) or supervise.read_exercise(
                    outcome.outdir, key, feed.count(key), End.STOPPED)
                run.ended, run.reason = End.STOPPED, outcome.reason
                result.exercises[key] = run
                if run.cell is None:  # it died running the cell itself: leave the cell out
                    cells = [c for c in cells if c["index"] != _cell_of(cells, key)]
            else:  # a cell, or between steps: then the last cell that ran is to blame
                key = key if step == "cell" else outcome.last_cell
                if key is None:
                    result.error = f"the sandbox stopped before the first cell: {outcome.reason}"
                    break
                result.cell_errors[key] = outcome.reason
                cells = [c for c in cells if c["index"] != key]
            if time.monotonic() > budget:
                break
        for c in cells:
            id = c.get("exercise")
            if id and id not in result.exercises:
                result.exercises[id] = ExerciseRun(
                    None, [None] * feed.count(id), End.STOPPED,
                    reason="the notebook's code ran past the grader's time budget before "
                           "this exercise")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return result


class _Feed:
    """Writes each exercise's inputs into the sandbox's in/ folder as they arrive."""

    def __init__(self, folder, exercises, inputs):
        self.folder, self.inputs = folder, inputs
        self.waiting = set(exercises)

    def deliver(self):
        """Write the inputs that have arrived, each exercise's at once, then its READY."""
        for id in sorted(self.waiting):
            cases = self.inputs.get(id)
            if cases is None:
                continue
            for i, value in enumerate(cases):
                wire.write(self.folder / id / str(i), value, inputs=True)
            (self.folder / id).mkdir(exist_ok=True)
            make_readable(self.folder / id)
            temporary = self.folder / id / ".READY"
            temporary.write_text(json.dumps({"cases": len(cases)}))
            temporary.chmod(0o644)
            temporary.rename(self.folder / id / "READY")  # atomic: the child sees all or nothing
            self.waiting.discard(id)

    def ready(self, id):
        return id not in self.waiting

    def count(self, id):
        cases = self.inputs.get(id)
        return len(cases) if cases is not None else 0


def _cell_of(cells, id):
    return next((c["index"] for c in cells if c.get("exercise") == id), None)
