"""Running the learner's PyTorch code for the checks: tensors in, NumPy arrays out.

A check's `run` builds the learner's module (or calls the learner's function) on tensors
made from the case's NumPy inputs, runs backward with the case's upstream gradients and
returns the outputs and every gradient as NumPy arrays. The expected values are that
same `run` applied, in float64, to a stand-in from `autograde.references.torch_modules`
(`expected_outputs`), so outputs come from PyTorch's own LSTM and gradients from its
autograd. Shared by the checks of chapters 11 (`torch_naive`) and 12 (`torch_dropin`);
`input_tensors` and `returned_array` also by 41 (`batching`) and 42 (`ladder`).
"""

import math

import numpy as np

from autograde.references import torch_modules as M
from autograde.spec import SubmissionError, random_array

GATES = M.GATES
WEIGHT_NAMES = M.WEIGHT_NAMES


def tensor(a, grad=False):
    """A tensor with a copy of the array `a` (its dtype), or None for None."""
    if a is None:
        return None
    t = M.load_torch().from_numpy(np.array(a))
    return t.requires_grad_() if grad else t


def _torch_dtype(dtype):
    torch = M.load_torch()
    return {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[dtype]


def arrays(tensors):
    """name -> tensor as name -> ndarray."""
    return {name: t.detach().cpu().numpy().copy() for name, t in tensors.items()}


def input_tensors(inputs):
    """The case's inputs as a list: arrays as tensors sharing their memory, the rest as is."""
    torch = M.load_torch()
    return [torch.from_numpy(v) if isinstance(v, np.ndarray) else v for v in inputs.values()]


def returned_array(name, value):
    """The learner's returned tensor `name` as an array, or a SubmissionError."""
    torch = M.load_torch()
    if not isinstance(value, torch.Tensor):
        raise SubmissionError(f"must return torch tensors; {name} is a {type(value).__name__}")
    return value.detach().cpu().numpy()


def grad_of(t):
    """t's gradient; zeros when none reached it (the output does not depend on t)."""
    return t.grad if t.grad is not None else M.load_torch().zeros_like(t)


def named_grads(tensors):
    """{"d" + name: gradient} for name -> tensor (inputs given as None are left out)."""
    return {f"d{n}": grad_of(t) for n, t in tensors.items() if t is not None}


def _is_pair(out, torch):
    return isinstance(out, tuple) and len(out) == 2 and all(
        isinstance(t, torch.Tensor) for t in out)


def pair(out, what):
    """(a, b) from the learner's return value, or a SubmissionError saying `what`."""
    torch = M.load_torch()
    if _is_pair(out, torch):
        return out
    raise SubmissionError(f"must return a tuple {what} of tensors; got {_describe(out)}")


def result(out, what):
    """(a, (b, c)) from the learner's return value, or a SubmissionError saying `what`."""
    torch = M.load_torch()
    if (isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], torch.Tensor)
            and _is_pair(out[1], torch)):
        return out
    raise SubmissionError(f"must return a tuple {what} of tensors; got {_describe(out)}")


def _describe(value):
    torch = M.load_torch()
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_describe(v) for v in value) + ")"
    return f"a {type(value).__name__}"


def backward(pairs):
    """Backpropagate sum(upstream * output) over the (output, upstream array) pairs.

    An output of the wrong shape is left out (its comparison fails and names the shape,
    and a suspect may name the mistake: a loop over range(T - 1) gives T - 1 steps)."""
    torch = M.load_torch()
    pairs = [(out, up) for out, up in pairs if tuple(out.shape) == up.shape]
    if not pairs:
        return
    loss = sum(torch.sum(out * tensor(up).to(out.dtype)) for out, up in pairs)
    if not loss.requires_grad:
        raise SubmissionError("returns tensors that autograd cannot trace back to the inputs "
                              "and parameters (a .detach(), .numpy() or torch.no_grad()?)")
    loss.backward()


def check_parameters(model, expected, what):
    """SubmissionError unless the module's parameters are exactly `expected` (name -> shape).

    what: whose parameters these are, for the message.
    """
    got = {n: tuple(p.shape) for n, p in model.named_parameters()}
    problems = []
    missing = [n for n in expected if n not in got]
    extra = [n for n in got if n not in expected]
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if extra:
        problems.append(f"unexpected {', '.join(extra)}")
    problems += [f"{n} has shape {got[n]}, expected {s}" for n, s in expected.items()
                 if n in got and got[n] != s]
    if problems:
        raise SubmissionError(f"must have exactly the parameters of {what}, as "
                              f"nn.Parameter attributes; {'; '.join(problems)}")


def check_init(model, H):
    """reset_parameters() must draw every parameter from U(-1/sqrt(H), 1/sqrt(H))."""
    torch = M.load_torch()
    if not callable(getattr(model, "reset_parameters", None)):
        raise SubmissionError("must have a reset_parameters() method (PyTorch's LSTM "
                              "initialisation)")
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    model.reset_parameters()
    bound = 1 / math.sqrt(H)
    rule = (f"reset_parameters() must fill every parameter with values drawn uniformly from "
            f"[-1/sqrt(H), 1/sqrt(H)] = [{-bound:.4g}, {bound:.4g}]")
    for name, p in model.named_parameters():
        lo, hi = p.min().item(), p.max().item()
        if max(-lo, hi) > bound * (1 + 1e-6):
            raise SubmissionError(f"{rule}; {name} has values in [{lo:.4g}, {hi:.4g}]")
        if lo == hi:
            raise SubmissionError(f"{rule}; {name} is all {lo:.4g} after reset_parameters()")


def load(model, weights, dtype):
    """The model in `dtype` with its parameters set to the arrays in `weights`."""
    torch = M.load_torch()
    model = model.to(_torch_dtype(np.dtype(dtype)))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name in weights:
                p.copy_(tensor(weights[name]))
    return model




def lstm_parameter_shapes(I, H, num_layers=1, bias=True, bidirectional=False, proj_size=0,
                          **_):
    """torch.nn.LSTM's parameters, in its order: name -> shape. With proj_size = P > 0,
    h has P entries (R below) and each layer and direction has weight_hr (P, H) last."""
    shapes, D, R = {}, 2 if bidirectional else 1, proj_size or H
    for k in range(num_layers):
        for suffix in ("", "_reverse")[:D]:
            shapes[f"weight_ih_l{k}{suffix}"] = (4 * H, I if k == 0 else D * R)
            shapes[f"weight_hh_l{k}{suffix}"] = (4 * H, R)
            if bias:
                shapes[f"bias_ih_l{k}{suffix}"] = shapes[f"bias_hh_l{k}{suffix}"] = (4 * H,)
            if proj_size:
                shapes[f"weight_hr_l{k}{suffix}"] = (proj_size, H)
    return shapes



def float64(value):
    """The inputs with every float array (also inside dicts) in float64."""
    if isinstance(value, dict):
        return {k: float64(v) for k, v in value.items()}
    if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating):
        return value.astype(np.float64)
    return value


def expected_outputs(run, reference, inputs, dtype):
    """What `run` returns for the reference, computed in float64 and cast to `dtype`."""
    return {k: v.astype(dtype) for k, v in run(reference, float64(inputs)).items()}


def forward_only(outputs):
    """Only the forward outputs (suspects name forward mistakes)."""
    return {k: v for k, v in outputs.items() if not k.startswith("d")}



def gate_rows(H, order):
    """Row indices that make a correct LSTM read its gate blocks in `order`."""
    return np.concatenate([np.arange(H) + H * GATES.index(gate) for gate in order])


GATE_MISTAKES = {
    "ifog": "gates in the wrong order (the blocks are i, f, g, o, as in nn.LSTM)",
    "igfo": "gates in TensorFlow's order i, g(j), f, o; PyTorch's is i, f, g, o",
}


def permute_fused(weights, H, order):
    """Fused weights (4H rows; biases 4H) with their gate blocks read in `order`; the
    projections weight_hr (P rows, no gates) and absent weights (None) as they are."""
    rows = gate_rows(H, order)
    return {n: w[rows] if w is not None and w.shape[0] == 4 * H else w
            for n, w in weights.items()}


def random_weights(rng, shapes, dtype):
    """Random weights for name -> shape (weights in [-0.8, 0.8), biases in [-1, 1))."""
    return {n: random_array(rng, s, dtype, 1.0 if len(s) == 1 else 0.8)
            for n, s in shapes.items()}

