"""Checks for chapter 42 (the performance ladder): hoisted_input_projection and
fused_cell_backward.

These exercises are PyTorch functions in nn.LSTM's layout: time-major sequences
(T, B, ...), weights (4H, I), gate blocks i, f, g, o. `make_cases` draws NumPy inputs and
computes the expected outputs in float64 with the stand-ins of
`autograde.references.torch_modules` (nn.functional.linear, autograd through
nn.LSTMCell's pointwise cell), which `use_working` hands out;
`run` hands the learner tensors made from those arrays and returns its tensors as arrays.
"""

import numpy as np

from autograde.checks.torch_run import input_tensors, returned_array
from autograde.references import torch_modules as M
from autograde.registry import exercise
from autograde.spec import DTYPES, SubmissionError, case, grid, random_array, standard_shapes

CHAPTER_LADDER = "42_performance_ladder.ipynb"


def _torch():
    return M.load_torch()


# ---------------------------------------------------------------------------------------
# Running the learner's function


def _run_returning(*names):
    """A `run` for functions of tensors that return one tensor or a tuple of them."""

    def run(fn, inputs):
        out = fn(*input_tensors(inputs))
        if len(names) == 1:
            out = (out,)
        elif not (isinstance(out, tuple) and len(out) == len(names)):
            raise SubmissionError(f"must return a tuple ({', '.join(names)})")
        return {n: returned_array(n, v) for n, v in zip(names, out, strict=True)}

    return run


def _expected(reference, inputs):
    """The reference's outputs, computed in float64, cast to the inputs' dtype: a tuple."""
    torch = _torch()
    dtype = next(v.dtype for v in inputs.values() if isinstance(v, np.ndarray)
                 and v.dtype.kind == "f")
    wide = [torch.from_numpy(v.astype(np.float64)) if isinstance(v, np.ndarray)
            and v.dtype.kind == "f" else v for v in inputs.values()]
    out = reference(*wide)
    out = out if isinstance(out, tuple) else (out,)
    return tuple(v.detach().numpy().astype(dtype) for v in out)


def _cell_backward_without_dh_in_dc(z, c, dh_next, dc_next):
    """The mistake: dc = dc_next, forgetting that h_next = o * tanh(c_next) reaches c_next."""
    torch = _torch()
    out = M.fused_cell_backward(*(torch.from_numpy(a) for a in (z, c, dh_next, dc_next)),
                                cut_h_to_c=True)
    return tuple(t.numpy() for t in out)


def _swap_g_o(a):
    """Blocks g and o of the last axis swapped (a reader of the order i, f, o, g)."""
    g, o = np.split(a, 4, axis=-1)[2:]
    return np.concatenate([*np.split(a, 4, axis=-1)[:2], o, g], axis=-1)


@exercise("hoisted_input_projection", points=1, chapter=CHAPTER_LADDER,
          run=_run_returning("x_proj"), reference=M.hoisted_input_projection,
          solution="solutions.ladder")
def hoisted_input_projection_cases(rng):
    cases = []
    for dtype, s in grid(standard_shapes(rng)):
        a = dict(x=random_array(rng, (s["T"], s["B"], s["I"]), dtype),
                 w_ih=random_array(rng, (4 * s["H"], s["I"]), dtype, 0.8),
                 b_ih=random_array(rng, (4 * s["H"],), dtype))
        (x_proj,) = _expected(M.hoisted_input_projection, a)
        (no_bias,) = _expected(M.hoisted_input_projection, {**a, "b_ih": 0 * a["b_ih"]})
        suspects = {"the bias b_ih is not added": {"x_proj": no_bias}}
        cases.append(case(dtype, s, a, {"x_proj": x_proj},
                          axes={"x_proj": ("T", "B", "4H")}, suspects=suspects))
    return cases


@exercise("fused_cell_backward", points=3, chapter=CHAPTER_LADDER,
          run=_run_returning("dz", "dc"), reference=M.fused_cell_backward,
          solution="solutions.ladder")
def fused_cell_backward_cases(rng):
    cases = []
    for dtype in DTYPES:
        for B, H in ((1, 1), (int(rng.integers(2, 6)), int(rng.integers(2, 6)))):
            a = dict(z=random_array(rng, (B, 4 * H), dtype, 2.0),
                     c=random_array(rng, (B, H), dtype),
                     dh_next=random_array(rng, (B, H), dtype),
                     dc_next=random_array(rng, (B, H), dtype))
            dz, dc = _expected(M.fused_cell_backward, a)
            swapped = _expected(M.fused_cell_backward, {**a, "z": _swap_g_o(a["z"])})
            suspects = {
                "dc misses the path through h_next = o * tanh(c_next): add "
                "dh_next * o * (1 - tanh(c_next)**2) to dc_next":
                    dict(zip(("dz", "dc"), _cell_backward_without_dh_in_dc(**a),
                             strict=True)),
                "gates in the wrong order (the blocks of z are i, f, g, o)":
                    {"dz": _swap_g_o(swapped[0]), "dc": swapped[1]},
            }
            cases.append(case(dtype, dict(B=B, H=H), a, {"dz": dz, "dc": dc},
                              axes={"dz": ("B", "4H"), "dc": ("B", "H")},
                              suspects=suspects))
    return cases
