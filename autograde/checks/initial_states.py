"""Checks for the learnable initial states chapter: initial_state_grads,
initial_state_from_input, initial_state_from_input_backward.

The references (autograde.references.torch_ref) compute in float64 with torch: a learned
initial state is an `nn.Parameter` vector expanded to the batch and fed to
`torch.nn.LSTM`, and every gradient comes from autograd (the backward of the state
computed from the input also has a case against finite differences).
"""

import numpy as np

from autograde.checks.numpy_lstm import lstm_inputs
from autograde.references import numpy_ref
from autograde.references import torch_ref as ref
from autograde.registry import exercise
from autograde.spec import call_returning, call_returning_dict, case, grid, random_array

CHAPTER_6 = "06_initial_states.ipynb"

def _shapes(rng):
    """B=1 with T=1; B == H (so summing the wrong axis still has the right shape); random,
    with I != H."""
    n = int(rng.integers(2, 6))
    I = int(rng.integers(1, 5))
    return [dict(B=1, T=1, I=2, H=3), dict(B=n, T=int(rng.integers(2, 5)), I=3, H=n),
            dict(B=int(rng.integers(2, 7)), T=int(rng.integers(2, 6)), I=I,
                 H=int(rng.choice([h for h in range(1, 6) if h != I])))]


@exercise("initial_state_grads", points=2, chapter=CHAPTER_6,
          run=call_returning("dh0_vec", "dc0_vec"), reference=ref.initial_state_grads,
          solution="solutions.initial_states")
def initial_state_grads_cases(rng):
    cases = []
    for dtype, s in grid(_shapes(rng)):
        a = lstm_inputs(rng, dtype, **s)
        dhs = random_array(rng, (s["B"], s["T"], s["H"]), np.float64)
        g = ref.learned_state_lstm_grads(dhs, a["x"], a["h0"][0], a["c0"][0], a["Wx"],
                                         a["Wh"], a["b"])
        dh0, dc0 = g["dh0"].astype(dtype), g["dc0"].astype(dtype)
        suspects = {
            "the mean over the batch instead of the sum (every row uses the same vector, "
            "so the gradients add up)": (dh0.mean(0), dc0.mean(0)),
            "only the first batch row is used; sum over all rows": (dh0[0], dc0[0]),
            "summed over the hidden axis (axis 1); sum over the batch (axis 0)":
                (dh0.sum(1), dc0.sum(1)),
            "dh0_vec and dc0_vec are swapped": (dc0.sum(0), dh0.sum(0)),
        }
        cases.append(case(
            dtype, s, {"dh0": dh0, "dc0": dc0},
            {"dh0_vec": g["h0_vec"].astype(dtype), "dc0_vec": g["c0_vec"].astype(dtype)},
            axes={"dh0_vec": ("H",), "dc0_vec": ("H",)},
            suspects={k: dict(zip(("dh0_vec", "dc0_vec"), v, strict=True))
                      for k, v in suspects.items()}))
    return cases


def init_inputs(rng, dtype, B, T, I, H):
    """Random x (B, T, I) and the weights Wh0, bh0, Wc0, bc0 of initial_state_from_input."""
    return dict(x=random_array(rng, (B, T, I), dtype), Wh0=random_array(rng, (I, H), dtype),
                bh0=random_array(rng, (H,), dtype, 0.5), Wc0=random_array(rng, (I, H), dtype),
                bc0=random_array(rng, (H,), dtype, 0.5))


def _forward_suspects(a):
    """Known mistakes in initial_state_from_input, as the (h0, c0) they would give."""
    fwd = ref.initial_state_from_input
    h0, c0 = fwd(**a)
    out = {"tanh is applied to c0 too; c0 = x[:, 0] @ Wc0 + bc0 has no tanh": (h0, np.tanh(c0)),
           "tanh is missing from h0": (np.arctanh(fwd(**{k: v.astype(np.float64) for k, v in
                                                        a.items()})[0]).astype(h0.dtype), c0),
           "Wh0 and Wc0 (or bh0 and bc0) are swapped":
               fwd(a["x"], a["Wc0"], a["bc0"], a["Wh0"], a["bh0"])}
    if a["x"].shape[1] > 1:
        out["the last step x[:, -1] is used; the initial state reads the first, x[:, 0]"] = \
            fwd(a["x"][:, ::-1].copy(), a["Wh0"], a["bh0"], a["Wc0"], a["bc0"])
    return {k: {"h0": v[0], "c0": v[1]} for k, v in out.items()}


@exercise("initial_state_from_input", points=2, chapter=CHAPTER_6,
          run=call_returning("h0", "c0"), reference=ref.initial_state_from_input,
          solution="solutions.initial_states")
def initial_state_from_input_cases(rng):
    cases = []
    for dtype, s in grid(_shapes(rng)):
        a = init_inputs(rng, dtype, **s)
        h0, c0 = ref.initial_state_from_input(**a)
        cases.append(case(dtype, s, a, {"h0": h0, "c0": c0},
                          axes={"h0": ("B", "H"), "c0": ("B", "H")},
                          suspects=_forward_suspects(a)))
    return cases


INIT_GRAD_AXES = {"x": ("B", "T", "I"), "Wh0": ("I", "H"), "bh0": ("H",), "Wc0": ("I", "H"),
                  "bc0": ("H",)}


def _backward_suspects(args, grads):
    """Known mistakes in initial_state_from_input_backward, as the gradients they would give."""
    def mistaken(mistake):
        return ref.initial_state_from_input_backward(**args, mistake=mistake)

    out = {
        "the derivative of tanh, 1 - h0**2, is missing": mistaken("no tanh'"),
        "the tanh derivative is computed as 1 - tanh(h0)**2; h0 is already tanh(...), so it "
        "is 1 - h0**2": mistaken("tanh' of h0"),
        "dx misses the path through c0 (x[:, 0] feeds both h0 and c0: add both)":
            mistaken("no c0 path to x"),
    }
    if args["x"].shape[1] > 1:
        out["dx is put at the last step; the initial state reads x[:, 0]"] = \
            {**grads, "x": grads["x"][:, ::-1]}
    return out


@exercise("initial_state_from_input_backward", points=3, chapter=CHAPTER_6,
          run=call_returning_dict("x", "Wh0", "bh0", "Wc0", "bc0"),
          reference=ref.initial_state_from_input_backward, solution="solutions.initial_states")
def initial_state_from_input_backward_cases(rng):
    cases = []
    for dtype, s in grid(_shapes(rng)):
        a = init_inputs(rng, dtype, **s)
        args = dict(dh0=random_array(rng, (s["B"], s["H"]), dtype),
                    dc0=random_array(rng, (s["B"], s["H"]), dtype), **a)
        grads = ref.initial_state_from_input_backward(**args)
        cases.append(case(dtype, s, args, grads, axes=INIT_GRAD_AXES,
                          suspects=_backward_suspects(args, grads)))
    # One case against centred finite differences of the torch forward (no autograd).
    a = init_inputs(rng, np.float64, B=2, T=2, I=2, H=3)
    dh0, dc0 = random_array(rng, (2, 3), np.float64), random_array(rng, (2, 3), np.float64)
    both = np.concatenate([dh0, dc0], axis=1)
    expected = {k: numpy_ref.numerical_gradient(
        lambda: np.concatenate(ref.initial_state_from_input(**a), axis=1), a[k], both) for k in a}
    cases.append(case(np.float64, dict(B=2, T=2, I=2, H=3), dict(dh0=dh0, dc0=dc0, **a),
                      expected, "against finite differences", atol=1e-7, axes=INIT_GRAD_AXES))
    return cases
