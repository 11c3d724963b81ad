"""Compare a learner's outputs with the expected ones, and say what is wrong."""

from dataclasses import dataclass

import numpy as np

GATES = "ifgo"


@dataclass
class Result:
    """The verdict on one Case: passed, and a one-line message when it did not."""

    label: str
    passed: bool
    message: str = ""


def compare_case(case, outputs):
    """Compare `outputs` (name -> value from the learner) with `case.expected`."""
    for name, want in case.expected.items():
        problem = compare_array(name, outputs.get(name), want, case.atol, case.axes.get(name))
        if problem:
            hint = _suspect(case, outputs)
            return Result(case.label, False, problem + (f" Probably: {hint}." if hint else ""))
    return Result(case.label, True)


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
