"""What an exercise's sandboxed run earns: its report entry, with feedback that says why.

`score` turns what the sandbox returned for one exercise (`sandbox.ExerciseRun`) into
the entry of the report (`entry`): it compares the outputs with the cases' expected
values (`autograde.compare`), scores them as `check()` does (`autograde.scoring`), and
explains what stopped a run, naming the time limit that applied (`TimeLimit`). Every
piece of text that came from the submission is cleaned first (`autograde.formats`).
"""

import dataclasses
import re
import signal

from autograde.compare import Result, compare_case, explain_error, probably
from autograde.formats import clean, quote
from autograde.frameworks import ForbiddenFrameworkCall
from autograde.sandbox import CaseStatus, End, describe_end
from autograde.scoring import UNEARNED, Report


@dataclasses.dataclass(frozen=True)
class TimeLimit:
    """The time an exercise had: the per-exercise limit, or less when the submission's
    time (batch's --time-cap) was running out (capped)."""

    seconds: float
    capped: bool = False
    file_mb: float = 64

    def sentence(self):
        if self.capped:
            return (f"it did not finish within the {self.seconds:.0f} s left of this "
                    f"submission's time (the time cap per submission)")
        return f"it did not finish within the {self.seconds:g} s per-exercise limit"


def score(exercise, location, cases, run, limit):
    """The entry for one exercise from what its sandboxed run returned."""
    id = exercise.id
    notes = list(location.notes) + _context_notes(location, run)
    done = run.exercises.get(id)
    failure = _failure(id, run, done, limit)
    if failure:
        return entry(exercise, location, "error", 0.0, failure, [], notes)
    results, stub, forbidden = _results(id, cases, done, limit)
    if forbidden:
        return entry(exercise, location, "forbidden", 0.0, f"{id}: {forbidden}", [], notes)
    if stub:
        return entry(exercise, location, "not implemented", 0.0,
                     "not implemented yet (replace the `raise NotImplementedError`)", [], notes)
    report = Report(exercise, results)
    checks = [{"label": r.label, "passed": r.passed, "message": r.message} for r in results]
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


def _failure(id, run, done, limit):
    """Why the exercise's checks did not run at all (the feedback), or None if they did."""
    if run.error:
        return f"the grader's sandbox failed to start: {clean(run.error, 500)}"
    if done is None:
        return "it was not run (the notebook's earlier code stopped the sandbox)"
    if done.ended is End.STOPPED:
        # The process that ran and watched it died or was stopped during it: whatever it
        # wrote is not trusted.
        return f"it stopped the grading: {_ending(done, limit)}"
    if done.cell is None:
        return f"its cell did not finish: {_ending(done, limit)}"
    if not done.cell.ok:
        return f"its cell raised {_exception(done.cell.error)}"
    if not done.cell.defined:
        return f"its cell ran but did not define {id}"
    return None


def _results(id, cases, done, limit):
    """(one Result per case, whether it is a stub, what forbidden call it made or None)."""
    results, stub, forbidden, crashed = [], False, None, False
    for case, outcome in zip(cases, done.cases, strict=True):
        if outcome is None:
            why = ("not run (an earlier check stopped the run)" if crashed
                   else f"stopped: {_ending(done, limit)}")
            crashed = True
            results.append(Result(case.label, False, why))
            continue
        if outcome.status is CaseStatus.STUB:
            stub = True
            break
        if outcome.status is CaseStatus.OK and outcome.outputs is not None:
            results.append(_compared(case, outcome.outputs))
            continue
        error = outcome.error or {}
        if error.get("type") == ForbiddenFrameworkCall.__name__:
            forbidden = clean(error.get("message"))
        results.append(Result(case.label, False, _case_error(id, outcome.status, error, case,
                                                             limit)))
    return results, stub, forbidden


def _compared(case, outputs):
    try:
        return compare_case(case, outputs)
    except Exception as e:
        return Result(case.label, False, f"its outputs could not be compared "
                                         f"({type(e).__name__}: {clean(e)})")


def _case_error(id, status, error, case, limit):
    """The message of a case whose run raised or returned what cannot be received."""
    if status is CaseStatus.SUBMISSION_ERROR:
        return f"{id} {clean(error.get('message'))}."
    if status is CaseStatus.ERROR:
        return f"raised {_exception(error)}.{_hint(error, case.inputs)}"
    return (f"returned something the grader cannot receive (larger than the "
            f"{limit.file_mb:g} MB limit?): {quote(error.get('message'))}")


# The sandbox says "did not finish within 50 s (the time limit)" with the time it was
# given, which the time cap may have cut short: the feedback names the limit that applied.
_SANDBOX_TIMEOUT = re.compile(r"(it )?did not finish within [0-9.]+ s \(the time limit\)")


def _ending(done, limit):
    """A sentence for how an exercise's run was cut short."""
    if done.ended is End.SIGNAL and done.code == signal.SIGXCPU:
        # The child's CPU-time limit is the exercise's time limit (sandbox/child.py), so
        # running out of it is running out of that limit: name which one it was.
        return limit.sentence()
    if done.ended in (End.EXITED, End.SIGNAL):
        return describe_end(done.ended, done.code)
    if done.ended is End.TIMEOUT:
        return limit.sentence()
    if done.ended is End.INLINE:
        return "the grader received no result"
    return _SANDBOX_TIMEOUT.sub(limit.sentence(), done.reason or "")


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
