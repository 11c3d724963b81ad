"""Checks for the simple RNN chapters: rnn_step, rnn_forward, rnn_backward."""

import numpy as np

from autograde import reference as ref
from autograde.registry import exercise
from autograde.spec import ATOL, Case, call_returning, call_returning_dict, random_array

CHAPTER_1 = "01_rnn_cell.ipynb"
CHAPTER_2 = "02_bptt.ipynb"
DTYPES = (np.float64, np.float32)


def rnn_inputs(rng, dtype, B, T, I, H):
    """Random x (B, T, I), h0 and weights for an RNN with hidden size H."""
    return dict(x=random_array(rng, (B, T, I), dtype), h0=random_array(rng, (B, H), dtype),
                Wx=random_array(rng, (I, H), dtype, 0.8), Wh=random_array(rng, (H, H), dtype, 0.8),
                b=random_array(rng, (H,), dtype, 0.5))


def shapes(rng):
    """Edge cases (B=1, T=1) and a random case with I != H and B == T."""
    n = int(rng.integers(2, 6))
    return [dict(B=1, T=1, I=2, H=3), dict(B=n, T=n, I=n + 1, H=int(rng.integers(2, 6)))]


def _label(dtype, s):
    return f"{np.dtype(dtype).name}, " + " ".join(f"{k}={v}" for k, v in s.items())


TRANSPOSED_WH = "the weights Wh are used transposed (h @ Wh.T); the book computes h @ Wh"


def forward_suspects(a, fwd, hs):
    """Common sequence-loop mistakes, as the outputs they would produce."""
    zeros = np.zeros_like(a["h0"])
    skipped = hs.copy()
    skipped[:, -1] = 0
    out = {"the initial state h0 is ignored (zeros used instead)":
           fwd(a["x"], zeros, *[a[k] for k in list(a)[2:]]),
           "the loop skips the last timestep": skipped,
           TRANSPOSED_WH: fwd(**{**a, "Wh": a["Wh"].T})}
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
    for dtype in DTYPES:
        for s in shapes(rng):
            a = rnn_inputs(rng, dtype, **s)
            step = dict(x=a["x"][:, 0], h=a["h0"], Wx=a["Wx"], Wh=a["Wh"], b=a["b"])
            cases.append(Case(_label(dtype, dict(B=s["B"], I=s["I"], H=s["H"])), step,
                              {"h_next": ref.rnn_step(**step)}, ATOL[np.dtype(dtype)],
                              axes={"h_next": ("B", "H")},
                              suspects={TRANSPOSED_WH: {
                                  "h_next": ref.rnn_step(**{**step, "Wh": step["Wh"].T})}}))
    return cases


@exercise("rnn_forward", points=2, chapter=CHAPTER_1, run=call_returning("hs"),
          reference=ref.rnn_forward, solution="solutions.numpy_rnn")
def rnn_forward_cases(rng):
    cases = []
    for dtype in DTYPES:
        for s in shapes(rng) + [dict(B=2, T=6, I=3, H=4)]:
            a = rnn_inputs(rng, dtype, **s)
            hs = ref.rnn_forward(**a)
            cases.append(Case(_label(dtype, s), a, {"hs": hs}, ATOL[np.dtype(dtype)],
                              axes={"hs": ("B", "T", "H")},
                              suspects=forward_suspects(a, ref.rnn_forward, hs)))
    return cases


GRAD_AXES = {"x": ("B", "T", "I"), "h0": ("B", "H"), "Wx": ("I", "H"), "Wh": ("H", "H"),
             "b": ("H",)}


@exercise("rnn_backward", points=3, chapter=CHAPTER_2,
          run=call_returning_dict("x", "h0", "Wx", "Wh", "b"),
          reference=ref.rnn_backward, solution="solutions.numpy_rnn")
def rnn_backward_cases(rng):
    cases = []
    for dtype in DTYPES:
        for s in shapes(rng) + [dict(B=2, T=5, I=3, H=4)]:
            a = rnn_inputs(rng, dtype, **s)
            dhs = random_array(rng, (s["B"], s["T"], s["H"]), dtype)
            args = dict(dhs=dhs, **a)
            grads = ref.rnn_backward(**args)
            cases.append(Case(_label(dtype, s), args, grads, ATOL[np.dtype(dtype)],
                              axes=GRAD_AXES, suspects={
                                  "the gradient of Wh is transposed (dz.T @ h); it is "
                                  "h_prev.T @ dz, summed over time": {"Wh": grads["Wh"].T}}))
    # One case against centred finite differences of torch.nn.RNN's forward (no autograd).
    a = rnn_inputs(rng, np.float64, B=2, T=3, I=2, H=3)
    dhs = random_array(rng, (2, 3, 3), np.float64)
    expected = {k: ref.numerical_gradient(lambda: ref.rnn_forward(**a), a[k], dhs) for k in a}
    cases.append(Case("float64, B=2 T=3 I=2 H=3, against finite differences",
                      dict(dhs=dhs, **a), expected, 1e-7, axes=GRAD_AXES))
    return cases
