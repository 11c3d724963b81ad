"""`check(fn)`: the learner's instant feedback, run in the notebook's own process.

What the results are worth is the scoring policy's business (`autograde.scoring`), which
the grader shares; here the cases run and the verdict is printed.
"""

import inspect
import textwrap

import numpy as np

from autograde import registry, tracks
from autograde.compare import Result, compare_case, explain_error, probably
from autograde.frameworks import ForbiddenFrameworkCall
from autograde.scoring import Report
from autograde.spec import SubmissionError


def run_checks(obj, exercise, rng=None):
    """Run all of `exercise`'s cases on the learner's `obj` in this process.

    As the grader does: code that breaks its track's rules (`autograde.tracks`), seen in
    its source or caught calling a framework, earns nothing."""
    rng = np.random.default_rng() if rng is None else rng
    broken = forbidden_uses(obj, exercise)
    if broken:
        more = f" (and {len(broken) - 1} more such uses)" if len(broken) > 1 else ""
        return Report(exercise, [], forbidden=broken[0] + more)
    results, cases = [], exercise.make_cases(rng)
    for case in cases:
        inputs = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in case.inputs.items()}
        try:
            outputs = exercise.run(obj, inputs)
        except NotImplementedError:
            return Report(exercise, [], stub=True)
        except ForbiddenFrameworkCall as e:
            return Report(exercise, [], forbidden=str(e))
        except SubmissionError as e:
            results.append(Result(case.label, False, f"{exercise.id} {e}."))
        except Exception as e:
            results.append(Result(case.label, False, f"raised {type(e).__name__}: {e}."
                                  + probably(explain_error(e, case.inputs))))
        else:
            results.append(compare_case(case, outputs))
    return Report(exercise, results, tolerances=[case.atol for case in cases])


def forbidden_uses(obj, exercise):
    """What `obj`'s source uses that its track forbids (`tracks.violations`), with the
    names its globals say for sure. Autograde's own references are not the learner's
    code: the tests check them against their exercises, framework and all."""
    if str(getattr(obj, "__module__", "")).startswith("autograde."):
        return []
    try:
        lines, first = inspect.getsourcelines(obj)
    except (OSError, TypeError):
        return []
    function = obj if inspect.isfunction(obj) else next(
        (v for v in vars(obj).values() if inspect.isfunction(v)), None)
    # Blank lines above it, so that line numbers are those of its file (or notebook cell).
    source = "\n" * max(first - 1, 0) + textwrap.dedent("".join(lines))
    return tracks.violations(exercise, source, names=tracks.names_of(function))


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
