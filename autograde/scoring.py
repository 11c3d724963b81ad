"""The scoring policy: how many of an exercise's points its checks' results earn.

Shared by `check()` (the learner's verdict in the notebook, `autograde.check`) and the
grader (`autograde.grader`), so that both score a submission the same way.
"""


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

    stub:      True when the learner's code still raises NotImplementedError.
    results:   one Result per Case.
    forbidden: what the code uses that its track forbids ("line 7: torch.autograd.grad:
               ..."), or None: then it earns nothing, whatever its results.
    """

    def __init__(self, exercise, results, stub=False, tolerances=(), forbidden=None):
        self.exercise, self.results, self.stub = exercise, results, stub
        self.tolerances = sorted(set(tolerances))
        self.forbidden = forbidden

    @property
    def passed(self):
        return (not self.stub and not self.forbidden and bool(self.results)
                and all(r.passed for r in self.results))

    @property
    def score(self):
        """Points earned: the exercise's points times `earned_fraction` of the results."""
        if self.stub or self.forbidden or not self.results:
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
        if self.forbidden:
            return f"{name}: earns nothing: {self.forbidden}."
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
