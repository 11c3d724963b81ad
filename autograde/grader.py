"""Grading a submission: find its exercises, run them in a sandbox, score them, explain.

`grade(path)` returns the report (a JSON-ready dict, see `autograde.formats` for its
schema and renderings). For each registered exercise:

1. `autograde.notebook` finds the cell that defines it, or says why it cannot (missing,
   unreadable notebook, syntax error), and its context: the cells before it that it
   needs (the imports, helpers and earlier exercises it uses; not the demonstrations).
2. An exercise whose cell breaks its track's rules (`autograde.tracks`: torch or autograd
   in a NumPy exercise, a framework LSTM in one written from scratch, autograde's own
   reference anywhere) is refused, naming the call and its line; the sandbox also makes
   those calls raise.
3. The grader draws the cases (`make_cases`, with an rng seeded from the exercise's
   cell, so re-grading the same code gives the same grade) and computes the expected
   outputs itself. Only the inputs go to the sandbox (`autograde.sandbox`), which runs
   the cells (IPython magics and shell lines left out) and `run(obj, inputs)` in a child
   process; the notebooks' sandboxes start while the cases are being computed.
4. The outputs that come back are compared here (`autograde.feedback`, with
   `autograde.compare`), and scored as `check()` scores them
   (`autograde.scoring.earned_fraction`): points times the fraction of cases passed,
   where a pass of a degenerate case (B = 1, T = 1 or I = H) counts only if a larger
   case of its dtype passes too.

Every piece of text that came from the submission (exception messages, type names,
file names) is cleaned before it enters the report: one line, no control characters,
bounded length.
"""

import dataclasses
import hashlib
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from autograde import notebook, registry, sandbox, tracks
from autograde.feedback import TimeLimit, entry, score
from autograde.formats import clean
from autograde.sandbox import Limits

__all__ = ["grade", "seed", "entry", "SCHEMA"]

SCHEMA = "autograde-report/1"


def grade(path, limits=None, only=None, parallel=2, inline=False, deadline=None):
    """Grade the notebook or folder at `path`; return the report (a dict).

    limits:   sandbox.Limits (time per exercise, memory, ...).
    only:     exercise ids to grade (default: all of them for a folder, or, for one
              notebook, those of its chapter and those it defines).
    parallel: notebooks run at the same time.
    inline:   run exercises inside the notebook's child process rather than in a fork
              of it (see autograde.sandbox.child); for tests.
    deadline: a time.monotonic() after which no notebook starts and a running one gets
              only the time left per exercise (batch's time cap per student).
    Raises FileNotFoundError if `path` does not exist.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    limits = limits or Limits(timeout=registry.TIME_LIMIT_S)
    everything = registry.exercises()
    notebooks = notebook.read_notebooks(path)
    ids = _selected(path, notebooks, everything, only)
    locations = notebook.locate(notebooks, ids, {id: ex.chapter for id, ex in everything.items()},
                                untagged_anywhere=path.is_file())
    graded, jobs = {}, {}  # id -> report entry; notebook -> {id: (exercise, location)}
    for id in ids:
        exercise, location = everything[id], locations.get(id)
        refusal = _refusal(exercise, location, notebooks)
        if refusal:
            graded[id] = refusal
        else:
            jobs.setdefault(location.notebook.name, {})[id] = (exercise, location)
    facts = _Run(limits, inline, deadline).all(jobs, parallel, graded)
    return _report(path, [graded[id] for id in ids], _notes(path, notebooks), facts, limits)


def _selected(path, notebooks, everything, only):
    """The ids to grade, in book order: `only`; or, for one notebook, those of its chapter
    and those it defines; or, for a folder, all of them."""
    if only is not None:
        return [id for id in everything if id in only]
    if path.is_file():
        defined = {n for nb in notebooks for c in nb.cells for n in c.names}
        return [id for id, ex in everything.items() if ex.chapter == path.name or id in defined]
    return list(everything)


def _notes(path, notebooks):
    """The report's notes on the notebooks themselves (unreadable, none found, ...)."""
    notes = [note for nb in notebooks for note in nb.notes]
    notes += [f"{nb.name} {nb.error}" for nb in notebooks if nb.error]
    if not notebooks:
        notes.append(f"no notebook (.ipynb) found in {path.name}")
    return notes


def _report(path, entries, notes, facts, limits):
    score = sum(e["points"] for e in entries)
    max_score = sum(e["max_points"] for e in entries)
    return {
        "schema": SCHEMA,
        "submission": clean(path.name or str(path), 200),
        "score": round(score, 4),
        "max_score": max_score,
        "percent": round(100 * score / max_score, 2) if max_score else 0.0,
        "exercises": entries,
        "notes": notes,
        "sandbox": {"user": "unprivileged" if facts.get("uid") not in (None, 0) else "grader's",
                    "network": facts.get("network", "unknown"), "timeout_s": limits.timeout,
                    "memory_mb": limits.memory_mb},
    }


class _Run:
    """Running the notebooks' jobs in sandboxes, each within the time it may take."""

    def __init__(self, limits, inline, deadline):
        self.limits, self.inline, self.deadline = limits, inline, deadline
        self.inputs = sandbox.Inputs()

    def all(self, jobs, parallel, graded):
        """Run every job (notebook -> {id: (exercise, location)}); put each exercise's
        entry into `graded`; return the sandbox's facts (its user, its network)."""
        # The sandboxes start on the notebooks' first cells while the cases (and their
        # expected outputs) are computed here, in book order; each child waits for an
        # exercise's inputs only when it gets to it.
        sandbox.warm_up({_kind(job) for job in jobs.values()})
        # (The jobs are prepared here: CPython 3.11's ast module is not safe across threads.)
        prepared = {name: _job(job) for name, job in jobs.items()}
        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            runs = {name: pool.submit(self.notebook, cells, exercises, _kind(jobs[name]))
                    for name, (cells, exercises) in prepared.items()}
            cases = self.feed(jobs)
            facts = {}
            for name, job in jobs.items():
                run, limit = runs[name].result()
                facts = facts or (run.facts if run else {})
                for id, (exercise, location) in job.items():
                    graded[id] = _outcome(exercise, location, cases[id], run, limit)
        return facts

    def notebook(self, cells, exercises, kind):
        """(the NotebookRun, the TimeLimit it ran under), or (None, ...) when the
        submission's time ran out before it could start."""
        limits = self.limits
        limit = TimeLimit(limits.timeout, file_mb=limits.file_mb)
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                return None, limit  # out of time: not started
            if left < limits.timeout:
                limit = TimeLimit(left, capped=True, file_mb=limits.file_mb)
            limits = dataclasses.replace(limits, timeout=min(limits.timeout, left),
                                         startup=min(limits.startup, left))
        return sandbox.run_notebook(cells, exercises, limits, self.inputs, inline=self.inline,
                                    kind=kind), limit

    def feed(self, jobs):
        """Draw each exercise's cases and hand their inputs to the sandboxes; id -> the
        cases, or what went wrong drawing them. Every exercise gets its inputs (none when
        its cases could not be drawn), so that no child waits forever."""
        cases = {}
        try:
            for job in jobs.values():
                for id, (exercise, location) in job.items():
                    cases[id] = _cases(exercise, location)
                    self.inputs.put(id, [c.inputs for c in cases[id]]
                                    if isinstance(cases[id], list) else [])
        finally:
            for job in jobs.values():
                for id in job:
                    if self.inputs.get(id) is None:
                        self.inputs.put(id, [])
        return cases


def _outcome(exercise, location, cases, run, limit):
    """The entry of one exercise of a notebook that was run (or could not start)."""
    if run is None:
        return entry(exercise, location, "error", 0.0, "not graded: the time for this "
                     "submission ran out before its notebook", [])
    if not isinstance(cases, list):  # a bug in the checks, not in the submission
        return entry(exercise, location, "error", 0.0,
                     f"the grader could not prepare its checks ({cases}); please report this",
                     [])
    return score(exercise, location, cases, run, limit)


def seed(id, source):
    """The rng seed for an exercise's cases: the same code gets the same cases."""
    return int.from_bytes(hashlib.sha256(f"{id}\0{source}".encode()).digest()[:8], "little")


def _cases(exercise, location):
    """The exercise's cases, drawn with an rng seeded from its cell; or what went wrong."""
    try:
        return exercise.make_cases(np.random.default_rng(seed(exercise.id, location.cell.source)))
    except Exception as e:
        return f"{type(e).__name__}: {clean(e)}"


def _refusal(exercise, location, notebooks):
    """The entry of an exercise that will not run (missing, bad syntax, framework LSTM)."""
    if location is None:
        unreadable = [nb for nb in notebooks if Path(nb.name).name == exercise.chapter and nb.error]
        why = f"; {unreadable[0].name} {unreadable[0].error}" if unreadable else ""
        return entry(exercise, None, "missing", 0.0,
                     f"not found: no code cell defines {exercise.id} (it belongs in "
                     f"{exercise.chapter}, in a cell tagged `exercise`){why}", [])
    cell = location.cell
    if cell.syntax_error:
        return entry(exercise, location, "error", 0.0,
                     f"cell {cell.index + 1} of {location.notebook.name} has a syntax error: "
                     f"{clean(cell.syntax_error)}", [])
    context = [notebook.runnable(c.source) for c in location.notebook.cells
               if c.index < cell.index]
    broken = tracks.violations(exercise, notebook.runnable(cell.source), context)
    if broken:
        more = f" (and {len(broken) - 1} more such uses)" if len(broken) > 1 else ""
        return entry(exercise, location, "forbidden", 0.0, f"{exercise.id}: {broken[0]}{more}",
                     [])
    return None


def _job(job):
    """(cells, exercises) for sandbox.run_notebook: one notebook's exercises and the cells
    they need (job: id -> (exercise, location))."""
    nb = next(iter(job.values()))[1].notebook
    graded_cells = {}
    for id, (_, location) in job.items():
        graded_cells.setdefault(location.cell.index, []).append(id)
    needed = set(notebook.context(nb.cells, set(graded_cells)))
    cells = []
    for c in nb.cells:
        if c.index not in needed:
            continue
        code = notebook.runnable(c.source)
        for id in graded_cells.get(c.index, [None]):
            cells.append({"index": c.index, "code": code, "exercise": id})
    exercises = {id: {"module": exercise.make_cases.__module__,
                      "from_scratch": exercise.from_scratch}
                 for id, (exercise, _) in job.items()}
    return cells, exercises


_USES_TF = re.compile(r"\b(tensorflow|import_tf|tfcompat|tf_keras)\b")


def _kind(job):
    """Which zygote the notebook's sandbox forks from: "tf" if it uses TensorFlow."""
    nb = next(iter(job.values()))[1].notebook
    last = max(location.cell.index for _, location in job.values())
    uses_tf = any(_USES_TF.search(c.source) for c in nb.cells if c.index <= last)
    return "tf" if uses_tf else "base"
