"""Checks for chapter 7 (the GRU): gru_step, gru_forward, gru_backward (NumPy) and GRU (PyTorch).

Expected values come from torch.nn.GRU (autograd for the gradients, and one case against
finite differences); the suspects are the GRU's usual mistakes, made by changing the
weights nn.GRU sees (`torch_ref.gru_forward_mistaken`).
"""

import math

import numpy as np

from autograde.checks.torch_run import (
    arrays,
    backward,
    check_parameters,
    expected_outputs,
    float64,
    named_grads,
    pair,
    tensor,
)
from autograde.references import numpy_ref
from autograde.references import torch_modules as M
from autograde.references import torch_ref as ref
from autograde.registry import exercise
from autograde.spec import (
    SubmissionError,
    call_returning,
    call_returning_dict,
    case,
    grid,
    random_array,
    standard_shapes,
)

CHAPTER_7 = "07_gru.ipynb"
SOLUTION = "solutions.numpy_gru"

ZRN = "the gate blocks are read in the order z, r, n; PyTorch's (and the book's) order is r, z, n"
Z_SWAPPED = ("z and 1 - z are swapped: h_next = (1 - z) * n + z * h, so that z near 1 keeps "
             "the old state")
RESET_PAPER = ("the reset gate multiplies h before the product, (r * h) @ Wh_n, as in Cho et "
               "al.'s paper; PyTorch's GRU (and the book) scale the product and its bias: "
               "r * (h @ Wh_n + bh_n)")
NEVER_CARRIED = ("each step starts again from h0: the loop never passes h_next on to the "
                 "next step")
ZERO_STATE = "the initial state h0 is ignored (zeros used instead)"
STOPS_EARLY = ("the loop runs over range(T - 1) and never sees the last timestep (the outputs "
               "have T - 1 steps); it runs over range(T)")


def gru_inputs(rng, dtype, B, T, I, H):
    """Random x (B, T, I), h0 (B, H) and GRU weights Wx (I, 3H), Wh (H, 3H), bx, bh (3H,)."""
    return dict(x=random_array(rng, (B, T, I), dtype), h0=random_array(rng, (B, H), dtype),
                Wx=random_array(rng, (I, 3 * H), dtype, 0.8),
                Wh=random_array(rng, (H, 3 * H), dtype, 0.8),
                bx=random_array(rng, (3 * H,), dtype, 0.5), bh=random_array(rng, (3 * H,), dtype, 0.5))


def forward_suspects(a):
    """The usual mistakes of a GRU sequence loop, as the hs they would produce."""
    weights = {k: a[k] for k in ("Wx", "Wh", "bx", "bh")}
    out = {name: ref.gru_forward_mistaken(a["x"], a["h0"], **weights, mistake=mistake)
           for name, mistake in ((ZRN, "zrn"), (Z_SWAPPED, "z_swapped"),
                                 (RESET_PAPER, "reset_paper"))}
    out[ZERO_STATE] = ref.gru_forward(a["x"], 0 * a["h0"], **weights)
    T = a["x"].shape[1]
    if T > 1:
        out[NEVER_CARRIED] = np.concatenate(
            [ref.gru_forward(a["x"][:, t:t + 1], a["h0"], **weights) for t in range(T)], axis=1)
        out[STOPS_EARLY] = ref.gru_forward(**a)[:, :-1]
    return {k: {"hs": v} for k, v in out.items()}


def step_of(a):
    """A gru_step case's inputs from a sequence's: its first step."""
    return dict(x=a["x"][:, 0], h=a["h0"], Wx=a["Wx"], Wh=a["Wh"], bx=a["bx"], bh=a["bh"])


@exercise("gru_step", points=2, chapter=CHAPTER_7, run=call_returning("h_next"),
          reference=ref.gru_step, solution=SOLUTION)
def gru_step_cases(rng):
    cases = []
    for dtype, s in grid(standard_shapes(rng)):
        a = gru_inputs(rng, dtype, **s)
        suspects = {k: {"h_next": v["hs"][:, 0]} for k, v in forward_suspects(a).items()
                    if k in (ZRN, Z_SWAPPED, RESET_PAPER, ZERO_STATE)}
        step = step_of(a)
        cases.append(case(dtype, {k: v for k, v in s.items() if k != "T"}, step,
                          {"h_next": ref.gru_step(**step)}, axes={"h_next": ("B", "H")},
                          suspects=suspects))
    return cases


@exercise("gru_forward", points=2, chapter=CHAPTER_7, run=call_returning("hs"),
          reference=ref.gru_forward, solution=SOLUTION)
def gru_forward_cases(rng):
    cases = []
    for dtype, s in grid(standard_shapes(rng) + [dict(B=2, T=5, I=3, H=4)]):
        a = gru_inputs(rng, dtype, **s)
        cases.append(case(dtype, s, a, {"hs": ref.gru_forward(**a)},
                          axes={"hs": ("B", "T", "H")}, suspects=forward_suspects(a)))
    return cases


GRAD_AXES = {"x": ("B", "T", "I"), "h0": ("B", "H"), "Wx": ("I", "3H"), "Wh": ("H", "3H"),
             "bx": ("3H",), "bh": ("3H",)}


@exercise("gru_backward", points=3, chapter=CHAPTER_7,
          run=call_returning_dict("x", "h0", "Wx", "Wh", "bx", "bh"),
          reference=ref.gru_backward, solution=SOLUTION)
def gru_backward_cases(rng):
    cases = []
    for dtype, s in grid(standard_shapes(rng) + [dict(B=2, T=5, I=3, H=4)]):
        a = gru_inputs(rng, dtype, **s)
        args = dict(dhs=random_array(rng, (s["B"], s["T"], s["H"]), dtype), **a)
        grads = ref.gru_backward(**args)
        cases.append(case(dtype, s, args, grads, axes=GRAD_AXES, suspects={
            "the gradients of bx and bh are swapped (bh is the recurrent bias, inside r * (...))":
                {"bx": grads["bh"], "bh": grads["bx"]}}))
    # One case against centred finite differences of torch.nn.GRU's forward (no autograd).
    a = gru_inputs(rng, np.float64, B=2, T=3, I=2, H=3)
    dhs = random_array(rng, (2, 3, 3), np.float64)
    expected = {k: numpy_ref.numerical_gradient(lambda: ref.gru_forward(**a), a[k], dhs)
                for k in a}
    cases.append(case(np.float64, dict(B=2, T=3, I=2, H=3), dict(dhs=dhs, **a), expected,
                      "against finite differences", atol=1e-7, axes=GRAD_AXES))
    return cases


# --- the PyTorch module


def check_gru_init(model, H):
    """A new GRU's parameters must be drawn from U(-1/sqrt(H), 1/sqrt(H)), as nn.GRU's are."""
    bound = 1 / math.sqrt(H)
    for name, p in model.named_parameters():
        lo, hi = p.min().item(), p.max().item()
        if max(-lo, hi) > bound * (1 + 1e-6) or lo == hi:
            raise SubmissionError(
                f"must start from nn.GRU's initialisation, every parameter drawn uniformly "
                f"from [-1/sqrt(H), 1/sqrt(H)] = [{-bound:.4g}, {bound:.4g}]; {name} has "
                f"values in [{lo:.4g}, {hi:.4g}]")


def run_gru(cls, inputs):
    """GRU(I, H); its state dict loaded from torch.nn.GRU's names; forward(x, hx); backward."""
    torch = M.load_torch()
    I, H = inputs["I"], inputs["H"]
    model = cls(I, H)
    check_parameters(model, M.gru_parameter_shapes(I, H), "torch.nn.GRU(I, H)")
    check_gru_init(model, H)
    dtype = torch.float64 if inputs["x"].dtype == np.float64 else torch.float32
    model = model.to(dtype)
    # The weights go in through load_state_dict: nn.GRU's state dict must load as it is.
    model.load_state_dict({k: tensor(v) for k, v in inputs["weights"].items()})
    x, hx = tensor(inputs["x"], grad=True), tensor(inputs["hx"], grad=True)
    out, h_n = pair(model(x, hx), "(output, h_n)")
    backward([(out, inputs["d_out"]), (h_n, inputs["dh_n"])])
    return arrays({"output": out, "h_n": h_n, **named_grads(dict(x=x, hx=hx)),
                   **named_grads(dict(model.named_parameters()))})


def gru_module_inputs(rng, dtype, B, T, I, H):
    weights = {k: random_array(rng, shape, dtype, 0.8)
               for k, shape in M.gru_parameter_shapes(I, H).items()}
    return dict(I=I, H=H, weights=weights, x=random_array(rng, (T, B, I), dtype),
                hx=random_array(rng, (1, B, H), dtype), d_out=random_array(rng, (T, B, H), dtype),
                dh_n=random_array(rng, (1, B, H), dtype))


def _module_suspects(a):
    w = a["weights"]
    book = dict(Wx=w["weight_ih_l0"].T, Wh=w["weight_hh_l0"].T, bx=w["bias_ih_l0"],
                bh=w["bias_hh_l0"])
    x, h0 = a["x"].transpose(1, 0, 2), a["hx"][0]
    out = {}
    for name, mistake in ((ZRN, "zrn"), (Z_SWAPPED, "z_swapped"), (RESET_PAPER, "reset_paper")):
        hs = ref.gru_forward_mistaken(x, h0, **book, mistake=mistake).transpose(1, 0, 2)
        out[name] = {"output": hs, "h_n": hs[-1:]}
    return out


@exercise("GRU", points=3, chapter=CHAPTER_7, run=run_gru, reference=M.GRU,
          solution="solutions.torch_gru")
def gru_module_cases(rng):
    n = int(rng.integers(2, 5))
    cases = []
    for dtype, s in ((np.float64, dict(B=1, T=1, I=2, H=3)),
                     (np.float64, dict(B=n, T=n + 1, I=n + 1, H=n)),
                     (np.float32, dict(B=3, T=4, I=2, H=3))):
        a = gru_module_inputs(rng, dtype, **s)
        cases.append(case(dtype, s, a, expected_outputs(run_gru, M.GRU, a, dtype),
                          axes={"output": ("T", "B", "H"), "dx": ("T", "B", "I")},
                          suspects={k: {n: v.astype(dtype) for n, v in d.items()}
                                    for k, d in _module_suspects(float64(a)).items()}))
    return cases

