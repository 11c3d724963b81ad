"""`check(fn)`: the learner's instant feedback, run in the notebook's own process."""

import numpy as np

from autograde import registry
from autograde.compare import Result, compare_case, explain_error, probably
from autograde.spec import SubmissionError


def earned_fraction(results):
    """The fraction of an exercise's points that `results` (one Result per case) earn.

    Points are for work that is right. A passing case earns its share only if, in its
    dtype, at least one case that is not degenerate (B > 1, T > 1, I != H) passes too:
    a time-major loop passes B = 1 or T = 1 by accident, and a transposed weight passes
    I = H. Every case counts in the total, so degenerate cases can take points away but
    never give them. Passing every case earns every point.
    """
    if not results:
        return 0.0
    if all(r.passed for r in results):
        return 1.0
    credited = {r.dtype for r in results if r.passed and not r.degenerate}
    earned = sum(r.passed and (not r.degenerate or r.dtype in credited) for r in results)
    return earned / len(results)


UNEARNED = ("The checks that pass have B = 1, T = 1 or I = H, which a wrong implementation "
            "can pass by accident: they earn no points until a larger case passes too.")


class Report:
    """The results of one exercise's checks.

    stub:    True when the learner's code still raises NotImplementedError.
    results: one Result per Case.
    """

    def __init__(self, exercise, results, stub=False, tolerances=()):
        self.exercise, self.results, self.stub = exercise, results, stub
        self.tolerances = sorted(set(tolerances))

    @property
    def passed(self):
        return not self.stub and bool(self.results) and all(r.passed for r in self.results)

    @property
    def score(self):
        """Points earned: the exercise's points times `earned_fraction` of the results."""
        if self.stub or not self.results:
            return 0.0
        return self.exercise.points * earned_fraction(self.results)

    @property
    def unearned(self):
        """True when some checks pass but, being degenerate, earn nothing on their own."""
        return not self.passed and self.score == 0 and any(r.passed for r in self.results)

    def summary(self):
        """A short verdict: one line when it passes, one line per failed case otherwise."""
        name = self.exercise.id
        if self.stub:
            return f"{name}: not implemented yet (replace the `raise NotImplementedError`)."
        if self.passed:
            lo, hi = self.tolerances[0], self.tolerances[-1]
            within = f"{lo:g}" if lo == hi else f"{lo:g} to {hi:g}"
            return f"{name}: passed all {len(self.results)} checks (tolerance {within})."
        failed = [r for r in self.results if not r.passed]
        lines = [f"{name}: {len(self.results) - len(failed)} of {len(self.results)} checks passed."
                 + (f" {UNEARNED}" if self.unearned else "")]
        lines += [f"  - {r.label}: {r.message}" for r in failed[:3]]
        if len(failed) > 3:
            lines.append(f"  - ... and {len(failed) - 3} more failed checks.")
        return "\n".join(lines)


def run_checks(obj, exercise, rng=None):
    """Run all of `exercise`'s cases on the learner's `obj` in this process."""
    rng = np.random.default_rng() if rng is None else rng
    results, cases = [], exercise.make_cases(rng)
    for case in cases:
        inputs = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in case.inputs.items()}
        try:
            outputs = exercise.run(obj, inputs)
        except NotImplementedError:
            return Report(exercise, [], stub=True)
        except SubmissionError as e:
            results.append(Result(case.label, False, f"{exercise.id} {e}."))
        except Exception as e:
            results.append(Result(case.label, False, f"raised {type(e).__name__}: {e}."
                                  + probably(explain_error(e, case.inputs))))
        else:
            results.append(compare_case(case, outputs))
    return Report(exercise, results, tolerances=[case.atol for case in cases])


def _lookup(obj):
    name = getattr(obj, "__name__", None)
    if not callable(obj) or name is None:
        raise TypeError(f"check() takes your function or class itself, e.g. check(lstm_step); "
                        f"got {type(obj).__name__} {obj!r:.60}")
    return registry.get(name)


def check(obj):
    """Check an exercise and print the verdict. `obj`'s name says which exercise it is."""
    try:
        exercise = _lookup(obj)
    except (TypeError, KeyError) as e:
        print(f"check(): {e.args[0]}")
        return
    print(run_checks(obj, exercise).summary())


def use_working(obj):
    """The learner's `obj` if it passes its check, otherwise the framework-backed reference.

    Cells after an exercise call this so the book runs with or without the learner's
    answer; it prints which one it is using.
    """
    exercise = _lookup(obj)
    if run_checks(obj, exercise).passed:
        print(f"Using your {exercise.id}.")
        return obj
    print(f"Using the reference {exercise.id} from autograde (yours does not pass its check yet).")
    return exercise.reference
