"""Grading a submission: find its exercises, run them in a sandbox, score them, explain.

`grade(path)` returns the report (a JSON-ready dict, see `autograde.formats` for its
schema and renderings). For each registered exercise:

1. `autograde.notebook` finds the cell that defines it, or says why it cannot (missing,
   unreadable notebook, syntax error), and its context: the cells before it that it
   needs (the imports, helpers and earlier exercises it uses; not the demonstrations).
2. Exercises that must be written from scratch are refused if the cell names a
   framework LSTM (torch.nn.LSTM, dynamic_rnn, ...); the sandbox also makes those raise.
3. The grader draws the cases (`make_cases`, with an rng seeded from the exercise's
   cell, so re-grading the same code gives the same grade) and computes the expected
   outputs itself. Only the inputs go to the sandbox (`autograde.sandbox`), which runs
   the cells (IPython magics and shell lines left out) and `run(obj, inputs)` in a child
   process; the notebooks' sandboxes start while the cases are being computed.
4. The outputs that come back are compared here (`autograde.compare`), and scored as
   `check()` scores them (`autograde.check.earned_fraction`): points times the fraction
   of cases passed, where a pass of a degenerate case (B = 1, T = 1 or I = H) counts only
   if a larger case of its dtype passes too.

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

from autograde import framework_rnns, notebook, registry, sandbox
from autograde.check import UNEARNED, Report
from autograde.compare import Result, compare_case, explain_error, probably
from autograde.formats import clean, quote
from autograde.sandbox import CaseStatus, End, Limits, describe_end
from autograde.sandbox.guards import ForbiddenFrameworkCall

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
    limits = limits or Limits()
    everything = registry.exercises()
    notebooks = notebook.read_notebooks(path)
    chapters = {id: ex.chapter for id, ex in everything.items()}
    if only is not None:
        ids = [id for id in everything if id in only]
    elif path.is_file():
        defined = {n for nb in notebooks for c in nb.cells for n in c.names}
        ids = [id for id, ex in everything.items() if ex.chapter == path.name or id in defined]
    else:
        ids = list(everything)
    locations = notebook.locate(notebooks, ids, chapters, untagged_anywhere=path.is_file())
    notes = [note for nb in notebooks for note in nb.notes]
    notes += [f"{nb.name} {nb.error}" for nb in notebooks if nb.error]
    if not notebooks:
        notes.append(f"no notebook (.ipynb) found in {path.name}")

    graded, jobs = {}, {}  # id -> report entry; notebook -> {id: (exercise, location)}
    for id in ids:
        exercise, location = everything[id], locations.get(id)
        refusal = _refusal(exercise, location, notebooks)
        if refusal:
            graded[id] = refusal
        else:
            jobs.setdefault(location.notebook.name, {})[id] = (exercise, location)

    # The sandboxes start on the notebooks' first cells while the cases (and their
    # expected outputs) are computed here, in book order; each child waits for an
    # exercise's inputs only when it gets to it.
    inputs, cases = sandbox.Inputs(), {}
    sandbox.warm_up({_kind(job) for job in jobs.values()})
    # (The jobs are prepared here: CPython 3.11's ast module is not safe across threads.)
    prepared = {name: _job(job) for name, job in jobs.items()}
    def run(cells, exercises, kind):
        if deadline is None:
            return sandbox.run_notebook(cells, exercises, limits, inputs, inline=inline, kind=kind)
        left = deadline - time.monotonic()
        if left <= 0:
            return None  # out of time: not started
        capped = dataclasses.replace(limits, timeout=min(limits.timeout, left),
                                     startup=min(limits.startup, left))
        return sandbox.run_notebook(cells, exercises, capped, inputs, inline=inline, kind=kind)

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        runs = {name: pool.submit(run, cells, exercises, _kind(jobs[name]))
                for name, (cells, exercises) in prepared.items()}
        try:
            for job in jobs.values():
                for id, (exercise, location) in job.items():
                    cases[id] = _cases(exercise, location)
                    inputs.put(id, [c.inputs for c in cases[id]] if isinstance(cases[id], list)
                               else [])
        finally:
            for job in jobs.values():
                for id in job:
                    if inputs.get(id) is None:
                        inputs.put(id, [])
        facts = {}
        for name, job in jobs.items():
            run = runs[name].result()
            facts = facts or (run.facts if run else {})
            for id, (exercise, location) in job.items():
                if run is None:
                    graded[id] = entry(exercise, location, "error", 0.0, "not graded: the "
                                       "time for this submission ran out before its notebook", [])
                elif isinstance(cases[id], list):
                    graded[id] = _score(exercise, location, cases[id], run, limits)
                else:  # a bug in the checks, not in the submission
                    graded[id] = entry(exercise, location, "error", 0.0,
                                       f"the grader could not prepare its checks ({cases[id]}); "
                                       f"please report this", [])
    entries = [graded[id] for id in ids]
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
    if exercise.from_scratch:
        context = [c.source for c in location.notebook.cells if c.index < cell.index]
        uses = framework_rnns.framework_rnn_uses(cell.source, context)
        if uses:
            return entry(exercise, location, "forbidden", 0.0,
                         f"{exercise.id} must be written from scratch, but its cell uses "
                         f"{', '.join(uses[:3])}: build it from matrix products and "
                         f"activations instead", [])
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


def _score(exercise, location, cases, run, limits):
    """The entry for one exercise from what its sandboxed run returned."""
    id = exercise.id
    notes = list(location.notes) + _context_notes(location, run)
    done = run.exercises.get(id)
    if run.error:
        return entry(exercise, location, "error", 0.0,
                     f"the grader's sandbox failed to start: {clean(run.error, 500)}", [], notes)
    if done is None:
        return entry(exercise, location, "error", 0.0, "it was not run (the notebook's "
                     "earlier code stopped the sandbox)", [], notes)
    stopped = _ending(done, limits)
    if done.ended is End.STOPPED:
        # The process that ran and watched it died or was stopped during it: whatever it
        # wrote is not trusted.
        return entry(exercise, location, "error", 0.0, f"it stopped the grading: {stopped}",
                     [], notes)
    if done.cell is None:
        return entry(exercise, location, "error", 0.0,
                     f"its cell did not finish: {stopped}", [], notes)
    if not done.cell.ok:
        return entry(exercise, location, "error", 0.0,
                     f"its cell raised {_exception(done.cell.error)}", [], notes)
    if not done.cell.defined:
        return entry(exercise, location, "error", 0.0,
                     f"its cell ran but did not define {id}", [], notes)
    results, stub, forbidden, crashed = [], False, None, False
    for case, outcome in zip(cases, done.cases, strict=True):
        if outcome is None:
            why = "not run (an earlier check stopped the run)" if crashed else f"stopped: {stopped}"
            crashed = True
            results.append(Result(case.label, False, why))
            continue
        status = outcome.status
        if status is CaseStatus.STUB:
            stub = True
            break
        if status is CaseStatus.OK and outcome.outputs is not None:
            try:
                results.append(compare_case(case, outcome.outputs))
            except Exception as e:
                results.append(Result(case.label, False, f"its outputs could not be compared "
                                                         f"({type(e).__name__}: {clean(e)})"))
            continue
        error = outcome.error or {}
        if error.get("type") == ForbiddenFrameworkCall.__name__:
            forbidden = clean(error.get("message"))
        if status is CaseStatus.SUBMISSION_ERROR:
            message = f"{id} {clean(error.get('message'))}."
        elif status is CaseStatus.ERROR:
            message = f"raised {_exception(error)}.{_hint(error, case.inputs)}"
        else:
            message = (f"returned something the grader cannot receive (larger than the "
                       f"{limits.file_mb:g} MB limit?): {quote(error.get('message'))}")
        results.append(Result(case.label, False, message))
    if forbidden:
        return entry(exercise, location, "forbidden", 0.0,
                     f"{id} must be written from scratch: {forbidden}", [], notes)
    report = Report(exercise, results, stub=stub)
    checks = [{"label": r.label, "passed": r.passed, "message": r.message} for r in results]
    if stub:
        return entry(exercise, location, "not implemented", 0.0,
                     "not implemented yet (replace the `raise NotImplementedError`)", [], notes)
    passed = sum(r.passed for r in results)
    if report.passed:
        verdict, feedback = "passed", f"passed all {len(results)} checks"
    else:
        first = next(r for r in results if not r.passed)
        verdict = "partial" if report.score > 0 else "failed"
        feedback = (f"{passed} of {len(results)} checks passed"
                    f"{' (' + UNEARNED + ')' if report.unearned else ''}; "
                    f"{first.label}: {first.message}")
    return entry(exercise, location, verdict, report.score, feedback, checks, notes)


def _ending(done, limits):
    """A sentence for how an exercise's run was cut short."""
    if done.ended in (End.EXITED, End.SIGNAL):
        return describe_end(done.ended, done.code)
    if done.ended is End.TIMEOUT:
        return f"it did not finish within {limits.timeout:g} s (the time limit)"
    if done.ended is End.INLINE:
        return "the grader received no result"
    return done.reason


def _context_notes(location, run):
    """What went wrong in the cells before the exercise's cell (they may explain it)."""
    notes = []
    for index, error in sorted(run.cell_errors.items()):
        if index < location.cell.index:
            what = _exception(error) if isinstance(error, dict) else clean(error)
            notes.append(f"an earlier cell, cell {index + 1} of {location.notebook.name}, "
                         f"failed: {what}")
    return notes[-3:]


def _exception(error):
    """ "ValueError: 'message' (cell 7, line 3)" from a runner's exception description."""
    if not isinstance(error, dict):
        return "an error"
    name = error.get("type") if isinstance(error.get("type"), str) else "an error"
    name = name if name.isidentifier() and len(name) < 60 else "an exception"
    message = error.get("message")
    text = f"{name}: {quote(message)}" if isinstance(message, str) and message else name
    where = error.get("where")
    if isinstance(where, list) and len(where) == 2 and all(type(n) is int for n in where):
        text += f" (cell {where[0]}, line {where[1]})"
    return text


def _hint(error, inputs):
    """" Probably: ..." for a learner's exception whose cause can be guessed (a shape
    error names the operand and the inputs that explain it), "" otherwise."""
    return probably(explain_error(error.get("message"), inputs))


def entry(exercise, location, verdict, points, feedback, checks, notes=None):
    notes = list(location.notes if location and notes is None else notes or [])
    return {
        "id": exercise.id,
        "chapter": exercise.chapter,
        "notebook": location.notebook.name if location else None,
        "cell": location.cell.index + 1 if location else None,
        "points": round(float(points), 4),
        "max_points": exercise.points,
        "verdict": verdict,
        "feedback": feedback,
        "checks": checks,
        "notes": notes,
    }
