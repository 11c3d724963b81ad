"""Compare a learner's outputs with the expected ones, and say what is wrong."""

import re
from dataclasses import dataclass

import numpy as np

GATES = "ifgo"


@dataclass
class Result:
    """The verdict on one Case: passed, and a one-line message when it did not.

    dtype, degenerate: the case's (see spec.Case); they decide whether a pass earns
    points (autograde.check.earned_fraction).
    """

    label: str
    passed: bool
    message: str = ""
    dtype: str | None = None
    degenerate: bool = False


def compare_case(case, outputs):
    """Compare `outputs` (name -> value from the learner) with `case.expected`.

    The message details the first wrong output, then names every other wrong one (and,
    for outputs with a gate axis, which gate blocks are wrong), then the likely mistake.
    """
    problems = {}
    for name, want in case.expected.items():
        problem = compare_array(name, outputs.get(name), want, case.atol, case.axes.get(name))
        if problem:
            problems[name] = problem
    if not problems:
        return Result(case.label, True, dtype=case.dtype, degenerate=case.degenerate)
    wrong = [name + _wrong_blocks(outputs.get(name), case.expected[name], case.atol,
                                  case.axes.get(name)) for name in problems]
    message = next(iter(problems.values()))
    if len(wrong) > 1 or wrong[0] != next(iter(problems)):
        message += f" Wrong: {', '.join(wrong)}."
    return Result(case.label, False, message + probably(_suspect(case, outputs)),
                  dtype=case.dtype, degenerate=case.degenerate)


def probably(hint):
    """" Probably: <hint>." for a hint, "" for None."""
    if not hint:
        return ""
    return f" Probably: {hint}" + ("" if hint.endswith(("?", ".")) else ".")


def _wrong_blocks(got, want, atol, axes):
    """" (gate blocks f, g)" for an output with a 4H axis whose values are wrong in
    those blocks only; "" otherwise."""
    if not axes or "4H" not in axes or type(got) is not np.ndarray or got.shape != want.shape:
        return ""
    axis = axes.index("4H")
    err = np.abs(got.astype(np.float64) - want) / (1 + np.abs(want.astype(np.float64)))
    err = np.moveaxis(np.nan_to_num(err, nan=np.inf), axis, 0)
    blocks = [GATES[k] for k, block in enumerate(np.split(err, 4)) if block.max() > atol]
    return f" (gate blocks {', '.join(blocks)})" if 0 < len(blocks) < 4 else ""


def compare_array(name, got, want, atol, axes=None):
    """None when `got` equals `want` within tolerance; otherwise what differs."""
    # type() rather than isinstance(): an ndarray subclass could redefine comparison.
    if type(got) is not np.ndarray:
        return f"{name} should be a NumPy array of shape {want.shape}; got {type(got).__name__}."
    if got.shape != want.shape:
        transposed = " (transposed?)" if got.ndim == 2 and got.shape == want.shape[::-1] else ""
        return f"{name} has shape {got.shape}; expected {want.shape}{_dims(axes)}{transposed}."
    if got.dtype != want.dtype:
        return f"{name} has dtype {got.dtype}; expected {want.dtype} (keep the input dtype)."
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if not np.isfinite(got).all():
        return f"{name} contains NaN or inf{_where(np.argwhere(~np.isfinite(got))[0], axes, want)}."
    err = np.abs(got - want) / (1 + np.abs(want))
    if err.size == 0 or err.max() <= atol:
        return None
    at = np.unravel_index(int(err.argmax()), err.shape)
    abs_err = float(np.abs(got - want)[at])
    return (f"{name} is wrong: largest error {abs_err:.3g}{_where(at, axes, want)} "
            f"(tolerance {atol:g}).")


def _dims(axes):
    return f" = ({', '.join(axes)})" if axes else ""


def _where(index, axes, want):
    """Describe an index with the axes' names: timestep, gate block, batch row."""
    if not axes:
        return f" at index {tuple(int(i) for i in index)}"
    parts = []
    for axis, i, size in zip(axes, index, want.shape):
        if axis == "T":
            parts.append(f"timestep t={i} (of {size})")
        elif axis == "4H":
            H = size // 4
            parts.append(f"gate block {GATES[i // H]} (column {i}; blocks are i, f, g, o)")
        elif axis == "B":
            parts.append(f"batch row {i}")
    return " at " + ", ".join(parts) if parts else ""


def _suspect(case, outputs):
    """The name of the first known mistake whose outputs the learner's match."""
    for hint, wrong in case.suspects.items():
        try:
            if all(compare_array(k, outputs.get(k), v, max(case.atol, 1e-6)) is None
                   for k, v in wrong.items()):
                return hint
        except Exception:  # a suspect that does not apply is no diagnosis
            continue
    return None


# ---------------------------------------------------------------------------------------
# Exceptions raised inside the learner's code

_NUMPY_MATMUL = re.compile(r"matmul: Input operand (\d) has a mismatch in its core dimension "
                           r"(\d).*\(size (\d+) is different from (\d+)\)")
_NUMPY_DOT = re.compile(r"shapes \((\d+),(\d+)\) and \((\d+),(\d+)\) not aligned")
_TORCH_MM = re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and "
                       r"(\d+)x(\d+)\)")
_TF_MATMUL = re.compile(r"Matrix size-incompatible: In\[0\]: \[(\d+),(\d+)\], "
                        r"In\[1\]: \[(\d+),(\d+)\]")
_BROADCAST = re.compile(r"could not be broadcast together with (?:remapped )?shapes "
                        r"(\([\d, ]*\)) (\([\d, ]*\))")


def explain_error(message, inputs):
    """A likely cause of an exception raised in the learner's code, from its message and
    the case's inputs (name -> array): the text after "Probably: ", or None.

    Matrix products whose shapes do not fit name the operand and the inputs whose shape
    (or transpose) would explain it; a broadcast error names the inputs of those shapes.
    """
    message = str(message)
    found = _NUMPY_MATMUL.search(message)
    if found:
        operand, _, got, need = (int(g) for g in found.groups())
        side = "right" if operand == 1 else "left"
        what = (f"a matrix product's {side} operand has {got} "
                f"{'rows' if operand == 1 else 'columns'} where {need} are needed")
        hints = _transposed(got, need, inputs)
        if operand == 1:  # another weight with `got` rows: x @ Wh where x @ Wx belongs?
            hints += [f"{name} has {got} rows: is it used where another weight belongs "
                      f"(e.g. x @ Wh instead of x @ Wx)?" for name, value in inputs.items()
                      if isinstance(value, np.ndarray) and value.ndim == 2
                      and value.shape[0] == got and value.shape[1] != need
                      and not any(h.startswith(name + " ") for h in hints)]
        return what + _suspected_weights(hints)
    for pattern in (_NUMPY_DOT, _TORCH_MM, _TF_MATMUL):
        found = pattern.search(message)
        if found:
            r1, c1, r2, c2 = (int(g) for g in found.groups())
            what = (f"a matrix product of shapes ({r1}, {c1}) and ({r2}, {c2}) does not fit "
                    f"({c1} columns against {r2} rows)")
            return what + _suspected_weights(_transposed(r2, c1, inputs, (r2, c2))
                                             + _transposed(c1, r2, inputs, (r1, c1)))
    found = _BROADCAST.search(message)
    if found:
        shapes = [tuple(int(n) for n in g.strip("()").replace(" ", "").split(",") if n)
                  for g in found.groups()]
        names = [f"{k} {v.shape}" for k, v in inputs.items()
                 if isinstance(v, np.ndarray) and v.shape in shapes]
        return (f"arrays of shapes {shapes[0]} and {shapes[1]} are combined elementwise"
                + (f" ({', '.join(names)}): is one of them the wrong array, or transposed?"
                   if names else "; is an array transposed, or the wrong one?"))
    return None


def _suspected_weights(hints):
    """The end of the explanation: the inputs that would explain it, or a question."""
    if hints:
        return "; " + "; ".join(hints[:2])
    return ": is a weight matrix transposed (or the wrong one)?"


def _transposed(got, need, inputs, operand=None):
    """["Wx has shape (3, 12), ..."] for the 2-D inputs that explain an operand with `got`
    where `need` was needed (used transposed, or needing a transpose)."""
    hints = []
    for name, value in inputs.items():
        if not isinstance(value, np.ndarray) or value.ndim != 2:
            continue
        if operand is not None and value.shape not in (operand, operand[::-1]):
            continue
        if value.shape == (need, got):
            hints.append(f"{name} has shape {value.shape}, which fits as it is: is it used "
                         f"transposed ({name}.T)?")
        elif value.shape == (got, need):
            hints.append(f"{name} has shape {value.shape}: the product needs its transpose "
                         f"({name}.T)")
    return hints
