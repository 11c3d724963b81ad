"""What an exercise is, for `check()` and for the grader.

An exercise's checks are split in three so that the grader can run the learner's
code in a child process and keep everything else in the parent:

- `make_cases(rng)` (parent): chooses inputs with fresh random shapes and values and
  computes the expected outputs with an independent reference (the framework's own
  RNN/LSTM, autograd, finite differences or a closed form);
- `run(obj, inputs)` (child): calls the learner's function or class on the inputs and
  returns a dict of NumPy arrays;
- `autograde.compare.compare_case` (parent): compares and explains.
"""

from dataclasses import dataclass, field
from typing import Callable

import numpy as np


class SubmissionError(Exception):
    """The learner's code returned something of the wrong structure; the message says what."""


@dataclass
class Case:
    """One check: inputs, the expected outputs and how to compare them.

    label:    what this case is, e.g. "float32, B=1 T=4 I=3 H=5".
    inputs:   name -> ndarray or plain Python value, passed to `run` in this order.
    expected: output name -> ndarray from the reference.
    atol:     tolerance; a value fails if |got - expected| > atol * (1 + |expected|).
    axes:     output name -> axis names, e.g. ("B", "T", "H") or ("I", "4H"), so a
              wrong value can be located (which timestep, which gate block).
    suspects: "what is probably wrong" -> the outputs that mistake would produce;
              `compare_case` names the first one the learner's outputs match.
    """

    label: str
    inputs: dict
    expected: dict
    atol: float
    axes: dict = field(default_factory=dict)
    suspects: dict = field(default_factory=dict)


@dataclass
class Exercise:
    """An exercise: its id (the name the learner defines), points and checks.

    chapter:      the notebook that holds it, e.g. "03_lstm_cell.ipynb".
    make_cases:   rng -> list of Case (runs in the parent).
    run:          (learner's object, inputs) -> dict of ndarrays (runs in the child).
    reference:    a framework-backed stand-in with the same signature, used by
                  `use_working` when the learner's version does not pass yet.
    solution:     the module in `solutions` that defines the reference solution
                  under the same name (used only by `python -m autograde solve`).
    from_scratch: True when calling a framework's LSTM/RNN is not allowed.
    """

    id: str
    points: int
    chapter: str
    make_cases: Callable
    run: Callable
    reference: Callable | None
    solution: str
    from_scratch: bool = True


def call_returning(*names):
    """A `run` for plain functions: call fn(*inputs) and name its outputs.

    One name: fn returns one array. Several names: fn returns a tuple of that length.
    """

    def run(fn, inputs):
        out = fn(*inputs.values())
        if len(names) == 1:
            out = (out,)
        elif not isinstance(out, tuple) or len(out) != len(names):
            raise SubmissionError(
                f"must return a tuple ({', '.join(names)}); got {_describe(out)}"
            )
        return dict(zip(names, out))

    return run


def call_returning_dict(*keys):
    """A `run` for functions that return a dict of arrays with exactly these keys."""

    def run(fn, inputs):
        out = fn(*inputs.values())
        if not isinstance(out, dict) or set(out) != set(keys):
            got = sorted(out) if isinstance(out, dict) else _describe(out)
            raise SubmissionError(f"must return a dict with keys {list(keys)}; got {got}")
        return {k: out[k] for k in keys}

    return run


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, tuple):
        return f"a tuple of length {len(value)}"
    return f"a {type(value).__name__}"


def random_sizes(rng, *names, low=1, high=6):
    """Random sizes for the named dims, e.g. random_sizes(rng, "B", "T", "I", "H")."""
    return {n: int(rng.integers(low, high + 1)) for n in names}


def random_array(rng, shape, dtype, scale=1.0):
    """Uniform values in [-scale, scale) of the given shape and dtype."""
    return (scale * rng.uniform(-1, 1, size=shape)).astype(dtype)


# The tolerances used everywhere: references are computed in float64.
ATOL = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-5}
