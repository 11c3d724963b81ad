"""Checks for the PyTorch chapters.

Chapter 11: NaiveLSTM, fused_lstm_cell, lstm_layer. Chapter 12: LSTM, LearnableInitLSTM,
masked_lstm_layer.

Each `run` builds the learner's module (or calls the learner's function) on tensors made
from the case's NumPy inputs, runs backward with the case's upstream gradients and returns
the outputs and every gradient as NumPy arrays. The expected values are that same `run`
applied, in float64, to a stand-in built on torch.nn.LSTM or torch.nn.LSTMCell (the
`reference_*` below), so outputs come from PyTorch's own LSTM and gradients from its
autograd. LearnableInitLSTM is checked around a probe with a closed form instead of an
LSTM, so that its check does not depend on any LSTM. torch is imported on first use.
"""

import functools
import math

import numpy as np

from autograde.registry import exercise
from autograde.spec import ATOL, Case, SubmissionError, random_array

CHAPTER_11 = "11_torch_naive_lstm.ipynb"
CHAPTER_12 = "12_torch_dropin_lstm.ipynb"
GATES = "ifgo"
WEIGHT_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _torch():
    import torch

    return torch


# ---------------------------------------------------------------------------------------
# Framework-backed stand-ins (also what `use_working` hands out). They take and return
# tensors, with the signatures of the exercises.


def reference_fused_lstm_cell(x_proj_t, h, c, w_hh, b_hh=None):
    """(h_next, c_next) from torch.nn.LSTMCell, fed x_proj_t through an identity W_ih."""
    torch = _torch()
    H4 = x_proj_t.shape[1]
    cell = torch.nn.LSTMCell(H4, H4 // 4, dtype=x_proj_t.dtype, device=x_proj_t.device)
    zeros = x_proj_t.new_zeros(H4)
    params = dict(weight_ih=torch.eye(H4, dtype=x_proj_t.dtype, device=x_proj_t.device),
                  weight_hh=w_hh, bias_ih=zeros, bias_hh=zeros if b_hh is None else b_hh)
    return torch.func.functional_call(cell, params, (x_proj_t, (h, c)))


def _one_layer(x, w_ih, w_hh, b_ih, b_hh, **config):
    """(torch.nn.LSTM with one layer, its parameters taken from the given tensors)."""
    torch = _torch()
    bias = b_ih is not None or b_hh is not None
    lstm = torch.nn.LSTM(w_ih.shape[1], w_hh.shape[1], bias=bias, dtype=x.dtype,
                         device=x.device, **config)
    weights = [w_ih, w_hh] + ([b_ih if b_ih is not None else w_ih.new_zeros(w_ih.shape[0]),
                               b_hh if b_hh is not None else w_hh.new_zeros(w_hh.shape[0])]
                              if bias else [])
    return lstm, weights


def reference_lstm_layer(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None):
    """(out, (h_T, c_T)) from a one-layer torch.nn.LSTM; x (T, B, I) time-major."""
    torch = _torch()
    lstm, weights = _one_layer(x, w_ih, w_hh, b_ih, b_hh)
    params = dict(zip([f"{n}_l0" for n in WEIGHT_NAMES], weights, strict=False))
    out, (h, c) = torch.func.functional_call(lstm, params, (x, (h0[None], c0[None])))
    return out, (h[0], c[0])


def reference_masked_lstm_layer(x, lengths, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None,
                                reverse=False):
    """torch.nn.LSTM on the PackedSequence of x; for reverse, the backward half of a
    bidirectional one (its forward direction has zero weights and is discarded)."""
    torch = _torch()
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    lstm, weights = _one_layer(x, w_ih, w_hh, b_ih, b_hh, bidirectional=reverse)
    names = [f"{n}_l0" for n in WEIGHT_NAMES]
    params = dict(zip(names, weights, strict=False))
    if reverse:
        params = {**{n: torch.zeros_like(w) for n, w in zip(names, weights, strict=False)},
                  **{f"{n}_reverse": w for n, w in zip(names, weights, strict=False)}}
        h0, c0 = torch.stack([torch.zeros_like(h0), h0]), torch.stack([torch.zeros_like(c0), c0])
    else:
        h0, c0 = h0[None], c0[None]
    packed = pack_padded_sequence(x, torch.as_tensor(lengths).cpu(), enforce_sorted=False)
    out, (h, c) = torch.func.functional_call(lstm, params, (packed, (h0, c0)))
    out, _ = pad_packed_sequence(out, total_length=x.shape[0])
    H, d = w_hh.shape[1], int(reverse)
    return out[..., d * H:(d + 1) * H], (h[d], c[d])


def reference_LSTM(*args, **kwargs):
    """torch.nn.LSTM itself."""
    return _torch().nn.LSTM(*args, **kwargs)


def reference_NaiveLSTM(input_size, hidden_size):
    """A module with NaiveLSTM's parameters, run by torch.nn.LSTM."""
    return _classes().NaiveLSTM(input_size, hidden_size)


def reference_LearnableInitLSTM(lstm):
    """LearnableInitLSTM for use_working (there is no framework version to stand in)."""
    return _classes().LearnableInitLSTM(lstm)


@functools.cache
def _classes():
    """The torch modules of this file, defined on first use so that torch loads lazily."""
    torch = _torch()
    nn = torch.nn

    class NaiveLSTM(nn.Module):
        """NaiveLSTM's parameters (W_ik, W_hk, b_ik, b_hk for k in i, f, g, o), whose
        blocks torch.nn.LSTM stacks in the order i, f, g, o."""

        def __init__(self, input_size, hidden_size):
            super().__init__()
            self.input_size, self.hidden_size = input_size, hidden_size
            for name, shape in naive_parameter_shapes(input_size, hidden_size).items():
                setattr(self, name, nn.Parameter(torch.empty(shape)))
            self.reset_parameters()

        def reset_parameters(self):
            bound = 1 / math.sqrt(self.hidden_size)
            for p in self.parameters():
                nn.init.uniform_(p, -bound, bound)

        def forward(self, x, state=None):
            lstm = nn.LSTM(self.input_size, self.hidden_size, batch_first=True, dtype=x.dtype)
            params = {f"{n}_l0": torch.cat([getattr(self, f"{p}{k}") for k in GATES])
                      for n, p in zip(WEIGHT_NAMES, ("W_i", "W_h", "b_i", "b_h"), strict=True)}
            hx = None if state is None else (state[0][None], state[1][None])
            hs, (h, c) = torch.func.functional_call(lstm, params, (x, hx))
            return hs, (h[0], c[0])

    class LearnableInitLSTM(nn.Module):
        def __init__(self, lstm):
            super().__init__()
            self.lstm = lstm
            like = next(lstm.parameters())
            shape = (lstm.num_layers * (2 if lstm.bidirectional else 1), 1, lstm.hidden_size)
            self.h0 = nn.Parameter(torch.zeros(shape, dtype=like.dtype, device=like.device))
            self.c0 = nn.Parameter(torch.zeros(shape, dtype=like.dtype, device=like.device))

        def forward(self, input):
            if isinstance(input, nn.utils.rnn.PackedSequence):
                B = int(input.batch_sizes[0])
            else:
                B = input.shape[0 if self.lstm.batch_first else 1]
            return self.lstm(input, (self.h0.expand(-1, B, -1), self.c0.expand(-1, B, -1)))

    class ProbeLSTM(nn.Module):
        """Stands in for an LSTM in LearnableInitLSTM's check: nn.LSTM's attributes, and
        final states that are simple functions of the hx it is given,
            h_n = h0 * s,  c_n = c0 * s**2,  s[b] = 1 + the mean of sequence b's inputs,
        so that what the wrapper passes can be checked exactly. Its output is its input."""

        def __init__(self, num_layers, hidden_size, bidirectional, batch_first, dtype):
            super().__init__()
            self.num_layers, self.hidden_size = num_layers, hidden_size
            self.bidirectional, self.batch_first = bidirectional, batch_first
            self.weight_hh_l0 = nn.Parameter(torch.zeros(4 * hidden_size, hidden_size,
                                                         dtype=dtype))

        def forward(self, input, hx=None):
            if hx is None:
                raise SubmissionError("must pass hx = (h0, c0) to the LSTM it wraps")
            x = input.transpose(0, 1) if self.batch_first else input  # (T, B, I)
            shape = (self.num_layers * (2 if self.bidirectional else 1), x.shape[1],
                     self.hidden_size)
            for name, s in zip(("h0", "c0"), hx, strict=False):
                if not isinstance(s, torch.Tensor) or tuple(s.shape) != shape:
                    got = tuple(s.shape) if isinstance(s, torch.Tensor) else type(s).__name__
                    raise SubmissionError(
                        f"must give the LSTM an initial {name} of shape (num_layers * "
                        f"num_directions, B, H) = {shape}; it gave {got}"
                        + (" (with batch_first=True the batch axis of the input is 0)"
                           if self.batch_first else ""))
            s = 1 + x.mean(dim=(0, 2))[None, :, None]
            return input, (hx[0] * s, hx[1] * s**2)

    return type("Classes", (), dict(NaiveLSTM=NaiveLSTM, LearnableInitLSTM=LearnableInitLSTM,
                                    ProbeLSTM=ProbeLSTM))


# ---------------------------------------------------------------------------------------
# Running the learner's code: tensors in, NumPy arrays out.


def _tensor(a, grad=False):
    """A tensor with a copy of the array `a` (its dtype), or None for None."""
    if a is None:
        return None
    t = _torch().from_numpy(np.array(a))
    return t.requires_grad_() if grad else t


def _torch_dtype(dtype):
    torch = _torch()
    return {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[dtype]


def _arrays(tensors):
    """name -> tensor as name -> ndarray."""
    return {name: t.detach().cpu().numpy().copy() for name, t in tensors.items()}


def _grad(t):
    """t's gradient; zeros when none reached it (the output does not depend on t)."""
    return t.grad if t.grad is not None else _torch().zeros_like(t)


def _named_grads(tensors):
    """{"d" + name: gradient} for name -> tensor (inputs given as None are left out)."""
    return {f"d{n}": _grad(t) for n, t in tensors.items() if t is not None}


def _is_pair(out, torch):
    return isinstance(out, tuple) and len(out) == 2 and all(
        isinstance(t, torch.Tensor) for t in out)


def _pair(out, what):
    """(a, b) from the learner's return value, or a SubmissionError saying `what`."""
    torch = _torch()
    if _is_pair(out, torch):
        return out
    raise SubmissionError(f"must return a tuple {what} of tensors; got {_describe(out)}")


def _result(out, what):
    """(a, (b, c)) from the learner's return value, or a SubmissionError saying `what`."""
    torch = _torch()
    if (isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], torch.Tensor)
            and _is_pair(out[1], torch)):
        return out
    raise SubmissionError(f"must return a tuple {what} of tensors; got {_describe(out)}")


def _describe(value):
    torch = _torch()
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_describe(v) for v in value) + ")"
    return f"a {type(value).__name__}"


def _backward(pairs):
    """Backpropagate sum(upstream * output) over the (output, upstream array) pairs."""
    torch = _torch()
    loss = sum(torch.sum(out * _tensor(up).to(out.dtype)) for out, up in pairs)
    if not loss.requires_grad:
        raise SubmissionError("returns tensors that autograd cannot trace back to the inputs "
                              "and parameters (a .detach(), .numpy() or torch.no_grad()?)")
    loss.backward()


def _check_parameters(model, expected, what):
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


def _check_init(model, H):
    """reset_parameters() must draw every parameter from U(-1/sqrt(H), 1/sqrt(H))."""
    torch = _torch()
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


def _load(model, weights, dtype):
    """The model in `dtype` with its parameters set to the arrays in `weights`."""
    torch = _torch()
    model = model.to(_torch_dtype(np.dtype(dtype)))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name in weights:
                p.copy_(_tensor(weights[name]))
    return model


def naive_parameter_shapes(I, H):
    """NaiveLSTM's parameters: name -> shape, gate by gate."""
    shapes = {}
    for k in GATES:
        shapes |= {f"W_i{k}": (H, I), f"W_h{k}": (H, H), f"b_i{k}": (H,), f"b_h{k}": (H,)}
    return shapes


def lstm_parameter_shapes(I, H, num_layers=1, bias=True, bidirectional=False, **_):
    """torch.nn.LSTM's parameters, in its order: name -> shape."""
    shapes, D = {}, 2 if bidirectional else 1
    for k in range(num_layers):
        for suffix in ("", "_reverse")[:D]:
            shapes[f"weight_ih_l{k}{suffix}"] = (4 * H, I if k == 0 else D * H)
            shapes[f"weight_hh_l{k}{suffix}"] = (4 * H, H)
            if bias:
                shapes[f"bias_ih_l{k}{suffix}"] = shapes[f"bias_hh_l{k}{suffix}"] = (4 * H,)
    return shapes


def run_naive(cls, inputs):
    """NaiveLSTM(I, H) with the given weights; forward(x, (h0, c0)) or forward(x); backward."""
    I, H = inputs["I"], inputs["H"]
    model = cls(I, H)
    _check_parameters(model, naive_parameter_shapes(I, H),
                      "NaiveLSTM (W_ik (H, I), W_hk (H, H), b_ik, b_hk (H,) for k in i, f, g, o)")
    _check_init(model, H)
    model = _load(model, inputs["weights"], inputs["x"].dtype)
    x, h0, c0 = (_tensor(inputs[n], grad=True) for n in ("x", "h0", "c0"))
    hs, (h, c) = _result(model(x) if h0 is None else model(x, (h0, c0)), "(hs, (h_T, c_T))")
    _backward([(hs, inputs["dhs"]), (h, inputs["dh_T"]), (c, inputs["dc_T"])])
    return _arrays({"hs": hs, "h_T": h, "c_T": c, **_named_grads(dict(x=x, h0=h0, c0=c0)),
                    **_named_grads(dict(model.named_parameters()))})


def run_cell(fn, inputs):
    """fused_lstm_cell(x_proj_t, h, c, w_hh, b_hh) and backward."""
    args = {n: _tensor(inputs[n], grad=True) for n in ("x_proj_t", "h", "c", "w_hh", "b_hh")}
    h, c = _pair(fn(*args.values()), "(h_next, c_next)")
    _backward([(h, inputs["dh_next"]), (c, inputs["dc_next"])])
    return _arrays({"h_next": h, "c_next": c, **_named_grads(args)})


def run_layer(fn, inputs):
    """lstm_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh) and backward."""
    args = {n: _tensor(inputs[n], grad=True)
            for n in ("x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh")}
    out, (h, c) = _result(fn(*args.values()), "(out, (h_T, c_T))")
    _backward([(out, inputs["d_out"]), (h, inputs["dh_T"]), (c, inputs["dc_T"])])
    return _arrays({"out": out, "h_T": h, "c_T": c, **_named_grads(args)})


def run_masked(fn, inputs):
    """masked_lstm_layer(x, lengths, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse=...) and backward."""
    args = {n: _tensor(inputs[n], grad=True)
            for n in ("x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh")}
    lengths = _tensor(inputs["lengths"])
    a = args
    out, (h, c) = _result(fn(a["x"], lengths, a["h0"], a["c0"], a["w_ih"], a["w_hh"], a["b_ih"],
                             a["b_hh"], reverse=inputs["reverse"]), "(out, (h_n, c_n))")
    _backward([(out, inputs["d_out"]), (h, inputs["dh_n"]), (c, inputs["dc_n"])])
    return _arrays({"out": out, "h_n": h, "c_n": c, **_named_grads(args)})


def run_lstm(cls, inputs):
    """LSTM(I, H, **config) with the given weights; forward(x, (h0, c0)) or forward(x); backward."""
    config, I, H = inputs["config"], inputs["I"], inputs["H"]
    model = cls(I, H, **config)
    _check_parameters(model, lstm_parameter_shapes(I, H, **config),
                      f"torch.nn.LSTM({I}, {H}{''.join(f', {k}={v}' for k, v in config.items())})")
    _check_init(model, H)
    model = _load(model, inputs["weights"], inputs["x"].dtype)
    if config.get("dropout", 0) > 0:
        model.eval()  # dropout must then be off
    x, h0, c0 = (_tensor(inputs[n], grad=True) for n in ("x", "h0", "c0"))
    output, (h_n, c_n) = _result(model(x) if h0 is None else model(x, (h0, c0)),
                                 "(output, (h_n, c_n))")
    _backward([(output, inputs["d_output"]), (h_n, inputs["dh_n"]), (c_n, inputs["dc_n"])])
    return _arrays({"output": output, "h_n": h_n, "c_n": c_n,
                    **_named_grads(dict(x=x, h0=h0, c0=c0)),
                    **_named_grads(dict(model.named_parameters()))})


NO_GRADIENT = ("no gradient reaches h0 and c0: pass the nn.Parameters themselves, expanded "
               "(no .detach(), .data or torch.no_grad())")


def run_learnable(cls, inputs):
    """LearnableInitLSTM(probe) with h0, c0 set; forward(x); backward into h0 and c0."""
    torch = _torch()
    config, H = inputs["config"], inputs["H"]
    x = _tensor(inputs["x"])
    probe = _classes().ProbeLSTM(hidden_size=H, dtype=x.dtype, **config)
    model = cls(probe)
    shape = tuple(inputs["h0"].shape)
    params = dict(model.named_parameters())
    for name in ("h0", "c0"):
        if name not in params or tuple(params[name].shape) != shape:
            got = tuple(params[name].shape) if name in params else "missing"
            raise SubmissionError(f"must have an nn.Parameter {name} of shape (num_layers * "
                                  f"num_directions, 1, H) = {shape}; got {got}")
    with torch.no_grad():
        model.h0.copy_(_tensor(inputs["h0"]))
        model.c0.copy_(_tensor(inputs["c0"]))
    _, (h_n, c_n) = _result(model(x), "(output, (h_n, c_n))")
    if not (h_n.requires_grad or c_n.requires_grad):
        raise SubmissionError(NO_GRADIENT)
    _backward([(h_n, inputs["dh_n"]), (c_n, inputs["dc_n"])])
    return _arrays({"h_n": h_n, "c_n": c_n, "dh0": _grad(model.h0), "dc0": _grad(model.c0)})


# ---------------------------------------------------------------------------------------
# Cases


def _float64(value):
    """The inputs with every float array (also inside dicts) in float64."""
    if isinstance(value, dict):
        return {k: _float64(v) for k, v in value.items()}
    if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating):
        return value.astype(np.float64)
    return value


def _expected(run, reference, inputs, dtype):
    """What `run` returns for the reference, computed in float64 and cast to `dtype`."""
    return {k: v.astype(dtype) for k, v in run(reference, _float64(inputs)).items()}


def _forward(outputs):
    """Only the forward outputs (suspects name forward mistakes)."""
    return {k: v for k, v in outputs.items() if not k.startswith("d")}


def _label(dtype, **sizes):
    return f"{np.dtype(dtype).name}, " + " ".join(f"{k}={v}" for k, v in sizes.items())


def _gate_rows(H, order):
    """Row indices that make a correct LSTM read its gate blocks in `order`."""
    return np.concatenate([np.arange(H) + H * GATES.index(gate) for gate in order])


GATE_MISTAKES = {
    "ifog": "gates in the wrong order (the blocks are i, f, g, o, as in nn.LSTM)",
    "igfo": "gates in TensorFlow's order i, g(j), f, o; PyTorch's is i, f, g, o",
}


def _permute_fused(weights, H, order):
    """Fused weights (4H rows; biases 4H) with their gate blocks read in `order`."""
    rows = _gate_rows(H, order)
    return {n: None if w is None else w[rows] for n, w in weights.items()}


def _weights(rng, shapes, dtype):
    """Random weights for name -> shape (weights in [-0.8, 0.8), biases in [-1, 1))."""
    return {n: random_array(rng, s, dtype, 1.0 if len(s) == 1 else 0.8)
            for n, s in shapes.items()}


# --- NaiveLSTM


def naive_inputs(rng, dtype, B, T, I, H, with_state=True):
    w = _weights(rng, naive_parameter_shapes(I, H), dtype)
    state = [random_array(rng, (B, H), dtype) for _ in range(2)] if with_state else [None] * 2
    return dict(I=I, H=H, weights=w, x=random_array(rng, (B, T, I), dtype), h0=state[0],
                c0=state[1], dhs=random_array(rng, (B, T, H), dtype),
                dh_T=random_array(rng, (B, H), dtype), dc_T=random_array(rng, (B, H), dtype))


def _naive_suspects(a):
    w, H = a["weights"], a["H"]

    def swap(p, q):  # the parameters of gates p and q exchanged
        return {n[:-1] + {p: q, q: p}.get(n[-1], n[-1]): v for n, v in w.items()}

    def forward(weights, **changes):
        return _forward(run_naive(reference_NaiveLSTM, {**_float64(a), **changes,
                                                        "weights": _float64(weights)}))

    out = {"the gates g and o are mixed up (g = tanh uses the o parameters, o = sigmoid "
           "the g ones)": forward(swap("g", "o")),
           "the gates i and f are mixed up": forward(swap("i", "f")),
           "the second bias of each gate (b_hi, b_hf, b_hg, b_ho) is left out":
               forward({n: v * 0 if n.startswith("b_h") else v for n, v in w.items()})}
    if a["I"] == H:
        out["the weights are not transposed: use x @ W.T (W has shape (H, I), as in "
            "nn.Linear)"] = forward({n: v.T if n.startswith("W") else v for n, v in w.items()})
    if a["h0"] is not None:
        out["the initial state is ignored (zeros used instead)"] = forward(w, h0=None, c0=None)
    return {k: {n: v.astype(a["x"].dtype) for n, v in s.items()} for k, s in out.items()}


NAIVE_AXES = {"hs": ("B", "T", "H"), "dx": ("B", "T", "I")}


@exercise("NaiveLSTM", points=3, chapter=CHAPTER_11, run=run_naive,
          reference=reference_NaiveLSTM, solution="solutions.torch_lstm")
def naive_lstm_cases(rng):
    n = int(rng.integers(2, 5))
    cases = []
    for dtype, s, with_state in (
            (np.float64, dict(B=1, T=1, I=2, H=3), True),
            (np.float64, dict(B=n, T=n, I=n + 1, H=n + 1), True),
            (np.float64, dict(B=2, T=5, I=3, H=4), False),
            (np.float32, dict(B=3, T=4, I=2, H=3), True)):
        a = naive_inputs(rng, dtype, **s, with_state=with_state)
        label = _label(dtype, **s) + ("" if with_state else ", no initial state")
        cases.append(Case(label, a, _expected(run_naive, reference_NaiveLSTM, a, dtype),
                          ATOL[np.dtype(dtype)], axes=NAIVE_AXES, suspects=_naive_suspects(a)))
    return cases


# --- fused_lstm_cell and lstm_layer


def cell_inputs(rng, dtype, B, H, bias=True):
    return dict(x_proj_t=random_array(rng, (B, 4 * H), dtype), h=random_array(rng, (B, H), dtype),
                c=random_array(rng, (B, H), dtype),
                w_hh=random_array(rng, (4 * H, H), dtype, 0.8),
                b_hh=random_array(rng, (4 * H,), dtype) if bias else None,
                dh_next=random_array(rng, (B, H), dtype), dc_next=random_array(rng, (B, H), dtype))


CELL_AXES = {"dx_proj_t": ("B", "4H"), "dw_hh": ("4H", "H"), "db_hh": ("4H",),
             "h_next": ("B", "H"), "c_next": ("B", "H")}


@exercise("fused_lstm_cell", points=2, chapter=CHAPTER_11, run=run_cell,
          reference=reference_fused_lstm_cell, solution="solutions.torch_lstm")
def fused_lstm_cell_cases(rng):
    cases = []
    for dtype, s, bias in ((np.float64, dict(B=1, H=2), True),
                           (np.float64, dict(B=int(rng.integers(2, 5)), H=3), True),
                           (np.float64, dict(B=2, H=4), False),
                           (np.float32, dict(B=3, H=3), True)):
        a = cell_inputs(rng, dtype, **s, bias=bias)
        suspects = {}
        for order, hint in GATE_MISTAKES.items():
            rows = _gate_rows(s["H"], order)
            wrong = {**a, "x_proj_t": a["x_proj_t"][:, rows], "w_hh": a["w_hh"][rows],
                     "b_hh": None if a["b_hh"] is None else a["b_hh"][rows]}
            suspects[hint] = _forward(_expected(run_cell, reference_fused_lstm_cell, wrong, dtype))
        if bias:
            suspects["b_hh is left out"] = _forward(_expected(
                run_cell, reference_fused_lstm_cell, {**a, "b_hh": 0 * a["b_hh"]}, dtype))
        cases.append(Case(_label(dtype, **s) + ("" if bias else ", b_hh=None"), a,
                          _expected(run_cell, reference_fused_lstm_cell, a, dtype),
                          ATOL[np.dtype(dtype)], axes=CELL_AXES, suspects=suspects))
    return cases


def layer_inputs(rng, dtype, T, B, I, H, bias=True):
    w = _weights(rng, {"w_ih": (4 * H, I), "w_hh": (4 * H, H), "b_ih": (4 * H,),
                       "b_hh": (4 * H,)}, dtype)
    if not bias:
        w["b_ih"] = w["b_hh"] = None
    return dict(x=random_array(rng, (T, B, I), dtype), h0=random_array(rng, (B, H), dtype),
                c0=random_array(rng, (B, H), dtype), **w,
                d_out=random_array(rng, (T, B, H), dtype), dh_T=random_array(rng, (B, H), dtype),
                dc_T=random_array(rng, (B, H), dtype))


LAYER_AXES = {"out": ("T", "B", "H"), "dx": ("T", "B", "I"), "dw_ih": ("4H", "I"),
              "dw_hh": ("4H", "H"), "db_ih": ("4H",), "db_hh": ("4H",)}


def _layer_suspects(a, dtype):
    H = a["h0"].shape[1]

    def forward(**changes):
        return _forward(_expected(run_layer, reference_lstm_layer, {**a, **changes}, dtype))

    out = {hint: forward(**_permute_fused({n: a[n] for n in ("w_ih", "w_hh", "b_ih", "b_hh")},
                                          H, order))
           for order, hint in GATE_MISTAKES.items()}
    out["the initial state (h0, c0) is ignored (zeros used instead)"] = \
        forward(h0=0 * a["h0"], c0=0 * a["c0"])
    if a["x"].shape[0] == a["x"].shape[1]:  # T == B: reading x as (B, T, I) still runs
        wrong = forward(x=a["x"].transpose(1, 0, 2).copy())
        wrong["out"] = wrong["out"].transpose(1, 0, 2)
        out["x is read as batch-major (B, T, I); lstm_layer takes time-major (T, B, I)"] = wrong
    return out


@exercise("lstm_layer", points=3, chapter=CHAPTER_11, run=run_layer,
          reference=reference_lstm_layer, solution="solutions.torch_lstm")
def lstm_layer_cases(rng):
    n = int(rng.integers(2, 5))
    cases = []
    for dtype, s, bias in ((np.float64, dict(T=1, B=1, I=2, H=3), True),
                           (np.float64, dict(T=n, B=n, I=n + 1, H=3), True),
                           (np.float64, dict(T=6, B=2, I=3, H=4), False),
                           (np.float32, dict(T=4, B=3, I=2, H=3), True)):
        a = layer_inputs(rng, dtype, **s, bias=bias)
        cases.append(Case(_label(dtype, **s) + ("" if bias else ", no biases"), a,
                          _expected(run_layer, reference_lstm_layer, a, dtype),
                          ATOL[np.dtype(dtype)], axes=LAYER_AXES,
                          suspects=_layer_suspects(a, dtype)))
    return cases


# --- LSTM


def lstm_inputs(rng, dtype, config, B, T, I, H, with_hx=True):
    L, D = config.get("num_layers", 1), 2 if config.get("bidirectional") else 1
    x_shape = (B, T, I) if config.get("batch_first") else (T, B, I)
    hx = [random_array(rng, (L * D, B, H), dtype) for _ in range(2)] if with_hx else [None] * 2
    return dict(config=config, I=I, H=H,
                weights=_weights(rng, lstm_parameter_shapes(I, H, **config), dtype),
                x=random_array(rng, x_shape, dtype), h0=hx[0], c0=hx[1],
                d_output=random_array(rng, x_shape[:2] + (D * H,), dtype),
                dh_n=random_array(rng, (L * D, B, H), dtype),
                dc_n=random_array(rng, (L * D, B, H), dtype))


def _stack_variant(a, mode):
    """The forward outputs of an LSTM stack built layer by layer from one-layer nn.LSTMs,
    with a mistake in the backward direction: mode "forwards" (it reads the sequence
    forwards) or "unflipped" (its outputs are left in reversed time order)."""
    torch = _torch()
    config, H = a["config"], a["H"]
    L, D = config.get("num_layers", 1), 2 if config.get("bidirectional") else 1
    x = torch.from_numpy(a["x"].astype(np.float64))
    x = x.transpose(0, 1) if config.get("batch_first") else x
    B = x.shape[1]
    w = {n: torch.from_numpy(v.astype(np.float64)) for n, v in a["weights"].items()}
    h0, c0 = ((torch.zeros(L * D, B, H, dtype=torch.float64),) * 2 if a["h0"] is None else
              (torch.from_numpy(a["h0"].astype(np.float64)),
               torch.from_numpy(a["c0"].astype(np.float64))))
    h_n, c_n = [], []
    with torch.no_grad():
        for k in range(L):
            outs = []
            for d, suffix in enumerate(("", "_reverse")[:D]):
                layer_w = [w.get(f"{n}_l{k}{suffix}") for n in WEIGHT_NAMES]
                flip = d == 1 and mode != "forwards"
                out, (h, c) = reference_lstm_layer(x.flip(0) if flip else x, h0[k * D + d],
                                                   c0[k * D + d], *layer_w)
                outs.append(out.flip(0) if flip and mode != "unflipped" else out)
                h_n.append(h)
                c_n.append(c)
            x = torch.cat(outs, 2)
    output = x.transpose(0, 1) if config.get("batch_first") else x
    dtype = a["x"].dtype
    return {"output": output.numpy().astype(dtype), "h_n": torch.stack(h_n).numpy().astype(dtype),
            "c_n": torch.stack(c_n).numpy().astype(dtype)}


def _lstm_suspects(a, expected, dtype):
    config, H, w = a["config"], a["H"], a["weights"]
    L, D = config.get("num_layers", 1), 2 if config.get("bidirectional") else 1

    def forward(**changes):
        return _forward(_expected(run_lstm, reference_LSTM, {**a, **changes}, dtype))

    out = {hint: forward(weights=_permute_fused(w, H, order))
           for order, hint in GATE_MISTAKES.items()}
    if a["h0"] is not None:
        out["hx is ignored (zeros used instead)"] = forward(h0=None, c0=None)
    if L > 1 and a["I"] == D * H:
        out["every layer uses layer 0's weights (the layer index is not used)"] = forward(
            weights={n: w[n[:n.index("_l") + 2] + "0" + n[n.index("_l") + 3:]] for n in w})
    if config.get("batch_first") and a["x"].shape[0] == a["x"].shape[1]:
        out["batch_first is ignored: the input is read as (T, B, I)"] = forward(
            config={**config, "batch_first": False})
    if D == 2:
        out["the backward direction reads the sequence forwards (reverse it in time)"] = \
            _stack_variant(a, "forwards")
        out["the backward direction's outputs are not flipped back: output[t] must belong "
            "to step t"] = _stack_variant(a, "unflipped")
        # h_n[layer * D + direction], as nn.LSTM; the mistake is h_n[direction * L + layer].
        order = [d * L + k for k in range(L) for d in range(D)]
        out["h_n and c_n are ordered direction by direction; nn.LSTM orders them layer by "
            "layer (index layer * 2 + direction)"] = {
            "output": expected["output"], "h_n": expected["h_n"][np.argsort(order)],
            "c_n": expected["c_n"][np.argsort(order)]}
    return out


def _lstm_axes(config):
    seq = ("B", "T") if config.get("batch_first") else ("T", "B")
    return {"output": seq + ("H",), "dx": seq + ("I",), "h_n": ("L*D", "B", "H"),
            "c_n": ("L*D", "B", "H")}


@exercise("LSTM", points=5, chapter=CHAPTER_12, run=run_lstm, reference=reference_LSTM,
          solution="solutions.torch_lstm")
def lstm_cases(rng):
    n, I, H = int(rng.integers(2, 5)), int(rng.integers(2, 5)), int(rng.integers(2, 5))
    cases = []
    for dtype, config, s, with_hx in (
            (np.float64, dict(), dict(B=1, T=1, I=2, H=3), True),
            (np.float64, dict(num_layers=2, batch_first=True), dict(B=n, T=n, I=H, H=H), False),
            (np.float64, dict(num_layers=2, bidirectional=True), dict(B=2, T=5, I=I, H=H), True),
            (np.float64, dict(num_layers=3, bias=False, batch_first=True, bidirectional=True),
             dict(B=3, T=4, I=I, H=2), False),
            (np.float64, dict(num_layers=2, dropout=0.5), dict(B=2, T=3, I=I, H=3), True),
            (np.float32, dict(num_layers=2, batch_first=True, bidirectional=True),
             dict(B=2, T=3, I=3, H=2), True)):
        a = lstm_inputs(rng, dtype, config, **s, with_hx=with_hx)
        expected = _expected(run_lstm, reference_LSTM, a, dtype)
        label = (_label(dtype, **s) + "".join(f", {k}={v}" for k, v in config.items())
                 + ("" if with_hx else ", hx=None")
                 + (" (in eval mode)" if config.get("dropout") else ""))
        cases.append(Case(label, a, expected, ATOL[np.dtype(dtype)], axes=_lstm_axes(config),
                          suspects=_lstm_suspects(a, expected, dtype)))
    return cases


# --- LearnableInitLSTM


def learnable_inputs(rng, dtype, config, B, T, I, H):
    L, D = config["num_layers"], 2 if config["bidirectional"] else 1
    x_shape = (B, T, I) if config["batch_first"] else (T, B, I)
    return dict(config=config, H=H, x=random_array(rng, x_shape, dtype),
                h0=random_array(rng, (L * D, 1, H), dtype),
                c0=random_array(rng, (L * D, 1, H), dtype),
                dh_n=random_array(rng, (L * D, B, H), dtype),
                dc_n=random_array(rng, (L * D, B, H), dtype))


def _learnable_expected(a, h0, c0, grads=True):
    """The probe's closed form: h_n = h0 * s, c_n = c0 * s**2, and their gradients."""
    x = a["x"].astype(np.float64)
    x = x.transpose(1, 0, 2) if a["config"]["batch_first"] else x
    s = 1 + x.mean(axis=(0, 2))[None, :, None]  # (1, B, 1)
    out = {"h_n": h0 * s, "c_n": c0 * s**2}
    if grads:
        out["dh0"] = (a["dh_n"] * s).sum(axis=1, keepdims=True)
        out["dc0"] = (a["dc_n"] * s**2).sum(axis=1, keepdims=True)
    return {k: v.astype(a["x"].dtype) for k, v in out.items()}


@exercise("LearnableInitLSTM", points=2, chapter=CHAPTER_12, run=run_learnable,
          reference=reference_LearnableInitLSTM, solution="solutions.torch_lstm")
def learnable_init_cases(rng):
    cases = []
    for dtype, config, s in (
            (np.float64, dict(num_layers=1, bidirectional=False, batch_first=False),
             dict(B=3, T=2, I=2, H=3)),
            (np.float64, dict(num_layers=2, bidirectional=True, batch_first=True),
             dict(B=4, T=3, I=2, H=2)),
            (np.float32, dict(num_layers=3, bidirectional=False, batch_first=False),
             dict(B=2, T=5, I=3, H=2))):
        a = learnable_inputs(rng, dtype, config, **s)
        h0, c0 = a["h0"].astype(np.float64), a["c0"].astype(np.float64)
        expected = _learnable_expected(a, h0, c0)
        suspects = {"h0 and c0 are swapped": _learnable_expected(a, c0, h0, grads=False),
                    NO_GRADIENT.replace("h0 and c0", "h0"): {"dh0": 0 * expected["dh0"]},
                    NO_GRADIENT.replace("h0 and c0", "c0"): {"dc0": 0 * expected["dc0"]}}
        label = _label(dtype, **s) + "".join(f", {k}={v}" for k, v in config.items())
        cases.append(Case(label, a, expected, ATOL[np.dtype(dtype)],
                          axes={"h_n": ("L*D", "B", "H"), "c_n": ("L*D", "B", "H")},
                          suspects=suspects))
    return cases


# --- masked_lstm_layer


def masked_inputs(rng, dtype, T, B, I, H, reverse):
    a = layer_inputs(rng, dtype, T, B, I, H)
    lengths = rng.integers(1, T + 1, size=B)
    lengths[rng.integers(B)] = T  # the longest sequence fills the padded length
    return dict(x=a["x"], lengths=lengths.astype(np.int64), h0=a["h0"], c0=a["c0"],
                w_ih=a["w_ih"], w_hh=a["w_hh"], b_ih=a["b_ih"], b_hh=a["b_hh"], reverse=reverse,
                d_out=a["d_out"], dh_n=a["dh_T"], dc_n=a["dc_T"])


def _masked_suspects(a, expected, dtype):
    T = a["x"].shape[0]
    full = _forward(_expected(run_masked, reference_masked_lstm_layer,
                              {**a, "lengths": np.full_like(a["lengths"], T)}, dtype))
    valid = (np.arange(T)[:, None] < a["lengths"])[..., None]  # (T, B, 1)
    held = a["h0"] if a["reverse"] else expected["h_n"]  # the state a padded step keeps
    return {
        "lengths are ignored: every sequence runs over all T steps": full,
        "the state runs on through the padding: a padded step must leave (h, c) unchanged":
            {"out": np.where(valid, full["out"], 0).astype(dtype), "h_n": full["h_n"]},
        "out is not zero past a sequence's end (it repeats the state there)":
            {"out": np.where(valid, expected["out"], held[None]).astype(dtype),
             "h_n": expected["h_n"]},
    }


@exercise("masked_lstm_layer", points=3, chapter=CHAPTER_12, run=run_masked,
          reference=reference_masked_lstm_layer, solution="solutions.torch_lstm")
def masked_lstm_layer_cases(rng):
    cases = []
    for dtype, s, reverse in ((np.float64, dict(T=1, B=1, I=2, H=3), False),
                              (np.float64, dict(T=6, B=4, I=3, H=2), False),
                              (np.float64, dict(T=5, B=3, I=2, H=3), True),
                              (np.float32, dict(T=4, B=3, I=2, H=2), True)):
        a = masked_inputs(rng, dtype, **s, reverse=reverse)
        expected = _expected(run_masked, reference_masked_lstm_layer, a, dtype)
        label = _label(dtype, **s) + f", lengths={a['lengths'].tolist()}" + \
            (", reverse" if reverse else "")
        cases.append(Case(label, a, expected, ATOL[np.dtype(dtype)],
                          axes={"out": ("T", "B", "H"), "dx": ("T", "B", "I")},
                          suspects=_masked_suspects(a, expected, dtype)))
    return cases
