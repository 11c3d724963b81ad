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
    dtype:    the dtype the case concerns ("float32"), or None.
    sizes:    its sizes, e.g. {"B": 3, "T": 4, "I": 2, "H": 5}: they say whether it is
              degenerate (see `degenerate`).
    """

    label: str
    inputs: dict
    expected: dict
    atol: float
    axes: dict = field(default_factory=dict)
    suspects: dict = field(default_factory=dict)
    dtype: str | None = None
    sizes: dict = field(default_factory=dict)

    @property
    def degenerate(self):
        """True when a wrong implementation could pass this case by accident: one batch
        row (B = 1), one timestep (T = 1) or as many inputs as units (I = H), which hides
        a time-major mix-up, a transposed weight or a missing recurrence."""
        return degenerate(self.sizes)


def degenerate(sizes):
    """True for sizes with B = 1, T = 1 or I = H (those given)."""
    return (sizes.get("B", 2) < 2 or sizes.get("T", 2) < 2
            or ("I" in sizes and "H" in sizes and sizes["I"] == sizes["H"]))


def label(dtype, sizes, *notes):
    """A case's label: "float32, B=1 T=4 I=3 H=5" and any notes, comma-separated."""
    text = " ".join(f"{k}={v}" for k, v in sizes.items())
    return ", ".join(part for part in (np.dtype(dtype).name, text, *notes) if part)


def case(dtype, sizes, inputs, expected, *notes, atol=None, axes=None, suspects=None):
    """The Case for one point of the dtype-by-shape grid: labelled, with the dtype's
    tolerance (`ATOL`) unless `atol` is given."""
    dtype = np.dtype(dtype)
    return Case(label(dtype, sizes, *notes), inputs, expected,
                ATOL[dtype] if atol is None else atol, axes or {}, suspects or {},
                dtype=dtype.name, sizes=dict(sizes))


DTYPES = (np.float64, np.float32)


def grid(shapes, dtypes=DTYPES):
    """[(dtype, sizes)] for every dtype and every sizes dict in `shapes`, dtype by dtype."""
    return [(np.dtype(d), dict(s)) for d in dtypes for s in shapes]


def standard_shapes(rng):
    """The sizes most checks start from: an edge case (B = T = 1) and a random case with
    B = T > 1 (so reading x time-major still runs, and can be named) and I != H."""
    n = int(rng.integers(2, 6))
    H = int(rng.choice([h for h in range(2, 6) if h != n + 1]))
    return [dict(B=1, T=1, I=2, H=3), dict(B=n, T=n, I=n + 1, H=H)]


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
    track:        "NumPy", "PyTorch" or "TF1": what its code may use (`autograde.tracks`),
                  declared in `autograde.registry.TRACK`.
    """

    id: str
    points: int
    chapter: str
    make_cases: Callable
    run: Callable
    reference: Callable | None
    solution: str
    from_scratch: bool = True
    track: str = "NumPy"


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
