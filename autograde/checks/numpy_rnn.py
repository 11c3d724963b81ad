"""Checks for the simple RNN chapters: rnn_step, rnn_forward, rnn_backward.

One module for chapters 1 and 2: forward beside backward, which builds its cases with `rnn_inputs`.
"""

import numpy as np

from autograde.references import numpy_ref
from autograde.references import torch_ref as ref
from autograde.registry import exercise
from autograde.spec import (
    call_returning,
    call_returning_dict,
    case,
    grid,
    random_array,
    standard_shapes,
)

CHAPTER_1 = "01_rnn_cell.ipynb"
CHAPTER_2 = "02_bptt.ipynb"


def rnn_inputs(rng, dtype, B, T, I, H):
    """Random x (B, T, I), h0 and weights for an RNN with hidden size H."""
    return dict(x=random_array(rng, (B, T, I), dtype), h0=random_array(rng, (B, H), dtype),
                Wx=random_array(rng, (I, H), dtype, 0.8), Wh=random_array(rng, (H, H), dtype, 0.8),
                b=random_array(rng, (H,), dtype, 0.5))


def step_sizes(s):
    """The sizes of one step (no T) of a sequence's sizes."""
    return {k: v for k, v in s.items() if k != "T"}


TRANSPOSED_WH = "the weights Wh are used transposed (h @ Wh.T); the book computes h @ Wh"
SKIPS_LAST = "the loop skips the last timestep (range(T - 1)?); it runs over range(T)"
STOPS_EARLY = ("the loop runs over range(T - 1) and never sees the last timestep (the outputs "
               "have T - 1 steps); it runs over range(T)")
# Mistakes in how the state flows, phrased as their cause (shared with numpy_lstm and the
# PyTorch checks).
NEVER_CARRIED_H = ("each step starts again from h0: the loop never passes h_next on (the next "
                   "step must read the h the last one returned)")
NEVER_CARRIED = ("each step starts again from h0 and c0: the loop never passes h_next, c_next "
                 "on (the next step must read the h and c the last one returned)")
STEP_FROM_ZEROS = ("the step ignores the state it is given and starts from zeros: compute "
                   "from the h (and c) passed in")
SIGMOID_RNN = ("the simple RNN squashes with sigmoid where it needs tanh: "
               "h_next = tanh(x @ Wx + h @ Wh + b)")


def telling(cases):
    """The cases, each without the suspects that its right outputs match too (within the
    tolerance a suspect is matched by, compare._suspect's): a mistake that changes nothing
    in a case (a state never carried, with one timestep) is no diagnosis there."""
    for c in cases:
        tol = max(c.atol, 1e-6)
        c.suspects = {hint: wrong for hint, wrong in c.suspects.items()
                      if not all(_same(v, c.expected.get(k), tol) for k, v in wrong.items())}
    return cases


def _same(got, want, tol):
    if type(got) is not np.ndarray or type(want) is not np.ndarray or got.shape != want.shape:
        return False
    got, want = got.astype(np.float64), want.astype(np.float64)
    return bool((np.abs(got - want) <= tol * (1 + np.abs(want))).all())


def forward_suspects(a, fwd, hs):
    """Common sequence-loop mistakes, as the outputs they would produce."""
    zeros = np.zeros_like(a["h0"])
    skipped = hs.copy()
    skipped[:, -1] = 0
    out = {"the initial state h0 is ignored (zeros used instead)":
           fwd(a["x"], zeros, *[a[k] for k in list(a)[2:]]),
           SKIPS_LAST: skipped,
           TRANSPOSED_WH: fwd(**{**a, "Wh": a["Wh"].T}),
           NEVER_CARRIED_H: ref.rnn_forward_mistaken(**a, mistake="never_carried"),
           SIGMOID_RNN: ref.rnn_forward_mistaken(**a, mistake="sigmoid"),
           # With T = 1 that loop runs no step at all: hs has shape (B, 0, H).
           STOPS_EARLY: hs[:, :-1]}
    if a["x"].shape[0] == a["x"].shape[1]:  # B == T: reading x as (T, B, I) still runs
        x_tm = a["x"].transpose(1, 0, 2)
        out["x is read as time-major (T, B, I); it is batch-major (B, T, I)"] = \
            fwd(x_tm, *[a[k] for k in list(a)[1:]]).transpose(1, 0, 2)
        out["hs is written time-major (T, B, H); it is batch-major (B, T, H)"] = \
            hs.transpose(1, 0, 2)
    return {k: {"hs": v} for k, v in out.items()}


@exercise("rnn_step", points=2, chapter=CHAPTER_1, run=call_returning("h_next"),
          reference=ref.rnn_step, solution="solutions.numpy_rnn")
def rnn_step_cases(rng):
    cases = []
    for dtype, s in grid(standard_shapes(rng)):
        a = rnn_inputs(rng, dtype, **s)
        step = dict(x=a["x"][:, 0], h=a["h0"], Wx=a["Wx"], Wh=a["Wh"], b=a["b"])
        cases.append(case(dtype, step_sizes(s), step, {"h_next": ref.rnn_step(**step)},
                          axes={"h_next": ("B", "H")},
                          suspects={
                              TRANSPOSED_WH: {
                                  "h_next": ref.rnn_step(**{**step, "Wh": step["Wh"].T})},
                              SIGMOID_RNN: {
                                  "h_next": ref.rnn_step_mistaken(**step, mistake="sigmoid")},
                              STEP_FROM_ZEROS: {"h_next": ref.rnn_step_mistaken(
                                  **step, mistake="zero_state")}}))
    return telling(cases)


@exercise("rnn_forward", points=2, chapter=CHAPTER_1, run=call_returning("hs"),
          reference=ref.rnn_forward, solution="solutions.numpy_rnn")
def rnn_forward_cases(rng):
    cases = []
    for dtype, s in grid(standard_shapes(rng) + [dict(B=2, T=6, I=3, H=4)]):
        a = rnn_inputs(rng, dtype, **s)
        hs = ref.rnn_forward(**a)
        cases.append(case(dtype, s, a, {"hs": hs}, axes={"hs": ("B", "T", "H")},
                          suspects=forward_suspects(a, ref.rnn_forward, hs)))
    return telling(cases)


GRAD_AXES = {"x": ("B", "T", "I"), "h0": ("B", "H"), "Wx": ("I", "H"), "Wh": ("H", "H"),
             "b": ("H",)}


@exercise("rnn_backward", points=3, chapter=CHAPTER_2,
          run=call_returning_dict("x", "h0", "Wx", "Wh", "b"),
          reference=ref.rnn_backward, solution="solutions.numpy_rnn")
def rnn_backward_cases(rng):
    cases = []
    for dtype, s in grid(standard_shapes(rng) + [dict(B=2, T=5, I=3, H=4)]):
        a = rnn_inputs(rng, dtype, **s)
        dhs = random_array(rng, (s["B"], s["T"], s["H"]), dtype)
        args = dict(dhs=dhs, **a)
        grads = ref.rnn_backward(**args)
        cases.append(case(dtype, s, args, grads, axes=GRAD_AXES, suspects={
            "the gradient of Wh is transposed (dz.T @ h); it is "
            "h_prev.T @ dz, summed over time": {"Wh": grads["Wh"].T}}))
    # One case against centred finite differences of torch.nn.RNN's forward (no autograd).
    a = rnn_inputs(rng, np.float64, B=2, T=3, I=2, H=3)
    dhs = random_array(rng, (2, 3, 3), np.float64)
    expected = {k: numpy_ref.numerical_gradient(lambda: ref.rnn_forward(**a), a[k], dhs)
                for k in a}
    cases.append(case(np.float64, dict(B=2, T=3, I=2, H=3), dict(dhs=dhs, **a), expected,
                      "against finite differences", atol=1e-7, axes=GRAD_AXES))
    return telling(cases)
