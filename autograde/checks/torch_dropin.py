"""Checks for chapter 12 (PyTorch drop-in): LSTM, LearnableInitLSTM, masked_lstm_layer.

The expected outputs and gradients come from the stand-ins in
`autograde.references.torch_modules` (torch.nn.LSTM, PackedSequence), run through the
same `run` as the learner's code (`autograde.checks.torch_run`). LearnableInitLSTM is
checked around a probe with a closed form instead of an LSTM (`ProbeLSTM`), so that its
check does not depend on any LSTM.
"""

import functools

import numpy as np

from autograde.checks.numpy_rnn import telling
from autograde.checks.torch_naive import LOOP_HINTS, layer_inputs
from autograde.checks.torch_run import (
    GATE_MISTAKES,
    WEIGHT_NAMES,
    arrays,
    backward,
    check_init,
    check_parameters,
    expected_outputs,
    forward_only,
    grad_of,
    load,
    lstm_parameter_shapes,
    named_grads,
    permute_fused,
    random_weights,
    result,
    tensor,
)
from autograde.references import torch_modules as M
from autograde.registry import exercise
from autograde.spec import SubmissionError, case, random_array

CHAPTER_12 = "12_torch_dropin_lstm.ipynb"


@functools.cache
def probe_class():
    """ProbeLSTM, defined on first use so that torch loads lazily."""
    torch = M.load_torch()
    nn = torch.nn

    class ProbeLSTM(nn.Module):
        """Stands in for an LSTM in LearnableInitLSTM's check: nn.LSTM's attributes, and
        final states that are simple functions of the hx it is given,
            h_n = h0 * s,  c_n = c0 * s**2,  s[b] = 1 + the mean of sequence b's inputs,
        so that what the wrapper passes can be checked exactly. Its output is its input."""

        def __init__(self, num_layers, hidden_size, bidirectional, batch_first, dtype):
            super().__init__()
            self.num_layers, self.hidden_size, self.proj_size = num_layers, hidden_size, 0
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

    return ProbeLSTM


def run_masked(fn, inputs):
    """masked_lstm_layer(x, lengths, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse=...) and backward."""
    args = {n: tensor(inputs[n], grad=True)
            for n in ("x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh")}
    lengths = tensor(inputs["lengths"])
    a = args
    out, (h, c) = result(fn(a["x"], lengths, a["h0"], a["c0"], a["w_ih"], a["w_hh"], a["b_ih"],
                             a["b_hh"], reverse=inputs["reverse"]), "(out, (h_n, c_n))")
    backward([(out, inputs["d_out"]), (h, inputs["dh_n"]), (c, inputs["dc_n"])])
    return arrays({"out": out, "h_n": h, "c_n": c, **named_grads(args)})


def run_lstm(cls, inputs):
    """LSTM(I, H, **config) with the given weights; forward(x, (h0, c0)) or forward(x); backward."""
    config, I, H = inputs["config"], inputs["I"], inputs["H"]
    model = cls(I, H, **config)
    check_parameters(model, lstm_parameter_shapes(I, H, **config),
                      f"torch.nn.LSTM({I}, {H}{''.join(f', {k}={v}' for k, v in config.items())})")
    check_init(model, H)
    model = load(model, inputs["weights"], inputs["x"].dtype)
    if config.get("dropout", 0) > 0:
        model.eval()  # dropout must then be off
    x, h0, c0 = (tensor(inputs[n], grad=True) for n in ("x", "h0", "c0"))
    output, (h_n, c_n) = result(model(x) if h0 is None else model(x, (h0, c0)),
                                 "(output, (h_n, c_n))")
    backward([(output, inputs["d_output"]), (h_n, inputs["dh_n"]), (c_n, inputs["dc_n"])])
    return arrays({"output": output, "h_n": h_n, "c_n": c_n,
                    **named_grads(dict(x=x, h0=h0, c0=c0)),
                    **named_grads(dict(model.named_parameters()))})


NO_GRADIENT = ("no gradient reaches h0 and c0: pass the nn.Parameters themselves, expanded "
               "(no .detach(), .data or torch.no_grad())")


def run_learnable(cls, inputs):
    """LearnableInitLSTM(probe) with h0, c0 set; forward(x); backward into h0 and c0."""
    torch = M.load_torch()
    config, H = inputs["config"], inputs["H"]
    x = tensor(inputs["x"])
    probe = probe_class()(hidden_size=H, dtype=x.dtype, **config)
    model = cls(probe)
    shape = tuple(inputs["h0"].shape)
    params = dict(model.named_parameters())
    for name in ("h0", "c0"):
        if name not in params or tuple(params[name].shape) != shape:
            got = tuple(params[name].shape) if name in params else "missing"
            raise SubmissionError(f"must have an nn.Parameter {name} of shape (num_layers * "
                                  f"num_directions, 1, H) = {shape}; got {got}")
    with torch.no_grad():
        model.h0.copy_(tensor(inputs["h0"]))
        model.c0.copy_(tensor(inputs["c0"]))
    _, (h_n, c_n) = result(model(x), "(output, (h_n, c_n))")
    if not (h_n.requires_grad or c_n.requires_grad):
        raise SubmissionError(NO_GRADIENT)
    backward([(h_n, inputs["dh_n"]), (c_n, inputs["dc_n"])])
    return arrays({"h_n": h_n, "c_n": c_n, "dh0": grad_of(model.h0), "dc0": grad_of(model.c0)})



# --- LSTM


def lstm_inputs(rng, dtype, config, B, T, I, H, with_hx=True):
    L, D = config.get("num_layers", 1), 2 if config.get("bidirectional") else 1
    R = config.get("proj_size") or H  # the size of h (c always has H entries)
    x_shape = (B, T, I) if config.get("batch_first") else (T, B, I)
    hx = ([random_array(rng, (L * D, B, R), dtype), random_array(rng, (L * D, B, H), dtype)]
          if with_hx else [None] * 2)
    return dict(config=config, I=I, H=H,
                weights=random_weights(rng, lstm_parameter_shapes(I, H, **config), dtype),
                x=random_array(rng, x_shape, dtype), h0=hx[0], c0=hx[1],
                d_output=random_array(rng, x_shape[:2] + (D * R,), dtype),
                dh_n=random_array(rng, (L * D, B, R), dtype),
                dc_n=random_array(rng, (L * D, B, H), dtype))


def _stack_variant(a, mode, mistake=None):
    """The forward outputs of an LSTM stack built layer by layer from one-layer nn.LSTMs,
    with a mistake in the backward direction: mode "forwards" (it reads the sequence
    forwards) or "unflipped" (its outputs are left in reversed time order); or, with mode
    None, a mistake in every layer's loop (`mistake`, one of torch_modules.LOOP_MISTAKES;
    then h_n and c_n are each layer's last computed state)."""
    torch = M.load_torch()
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
                layer = (M.lstm_layer if mistake is None else
                         functools.partial(M.lstm_layer_mistaken, mistake=mistake))
                out, (h, c) = layer(x.flip(0) if flip else x, h0[k * D + d], c0[k * D + d],
                                    *layer_w)
                outs.append(out.flip(0) if flip and mode != "unflipped" else out)
                h_n.append(h)
                c_n.append(c)
            x = torch.cat(outs, 2)
    output = x.transpose(0, 1) if config.get("batch_first") else x
    dtype = a["x"].dtype
    return {"output": output.numpy().astype(dtype), "h_n": torch.stack(h_n).numpy().astype(dtype),
            "c_n": torch.stack(c_n).numpy().astype(dtype)}


def _unfed_projection(a):
    """The forward outputs of a one-layer, one-direction LSTM with projection that projects
    only what it returns while its recurrence reads the unprojected o * tanh(c) (a
    mistake). To run at all, such an LSTM needs H columns in weight_hh: here its P
    columns padded with zeros, and h0 padded likewise."""
    torch = M.load_torch()
    config, H = a["config"], a["H"]
    x = torch.from_numpy(a["x"].astype(np.float64))
    x = x.transpose(0, 1) if config.get("batch_first") else x
    w = {n: torch.from_numpy(v.astype(np.float64)) for n, v in a["weights"].items()}
    P, B = w["weight_hr_l0"].shape[0], x.shape[1]
    w_hh = torch.cat([w["weight_hh_l0"], w["weight_hh_l0"].new_zeros(4 * H, H - P)], 1)
    h = torch.zeros(B, H, dtype=torch.float64)
    c = torch.zeros(B, H, dtype=torch.float64) if a["c0"] is None else \
        torch.from_numpy(a["c0"][0].astype(np.float64))
    if a["h0"] is not None:
        h[:, :P] = torch.from_numpy(a["h0"][0].astype(np.float64))
    with torch.no_grad():
        out, (h, c) = M.lstm_layer(x, h, c, w["weight_ih_l0"], w_hh, w.get("bias_ih_l0"),
                                   w.get("bias_hh_l0"))
        out, h = out @ w["weight_hr_l0"].T, h @ w["weight_hr_l0"].T
    out = out.transpose(0, 1) if config.get("batch_first") else out
    dtype = a["x"].dtype
    return {"output": out.numpy().astype(dtype), "h_n": h[None].numpy().astype(dtype),
            "c_n": c[None].numpy().astype(dtype)}


def _lstm_suspects(a, expected, dtype):
    config, H, w = a["config"], a["H"], a["weights"]
    L, D = config.get("num_layers", 1), 2 if config.get("bidirectional") else 1
    R = config.get("proj_size") or H

    def forward(**changes):
        return forward_only(expected_outputs(run_lstm, M.LSTM, {**a, **changes}, dtype))

    out = {hint: forward(weights=permute_fused(w, H, order))
           for order, hint in GATE_MISTAKES.items()}
    if a["h0"] is not None:
        out["hx is ignored (zeros used instead)"] = forward(h0=None, c0=None)
    if config.get("bias", True):
        out["bias_hh is left out (the gates add both bias_ih and bias_hh)"] = forward(
            weights={n: 0 * v if n.startswith("bias_hh") else v for n, v in w.items()})
    out["h_n and c_n are returned swapped: forward returns (output, (h_n, c_n))"] = {
        "output": expected["output"], "h_n": expected["c_n"], "c_n": expected["h_n"]}
    if L > 1 and a["I"] == D * R:
        out["every layer uses layer 0's weights (the layer index is not used)"] = forward(
            weights={n: w[n[:n.index("_l") + 2] + "0" + n[n.index("_l") + 3:]] for n in w})
    if config.get("batch_first") and a["x"].shape[0] == a["x"].shape[1]:
        out["batch_first is ignored: the input is read as (T, B, I)"] = forward(
            config={**config, "batch_first": False})
    if config.get("proj_size") and L == 1 and D == 1:
        out["the projection is applied to the output only: the next step must read the "
            "projected h, h = (o * tanh(c)) @ weight_hr.T"] = _unfed_projection(a)
    if D == 2 and not config.get("proj_size"):  # _stack_variant has no projection
        out["the backward direction reads the sequence forwards (reverse it in time)"] = \
            _stack_variant(a, "forwards")
        out["the backward direction's outputs are not flipped back: output[t] must belong "
            "to step t"] = _stack_variant(a, "unflipped")
    if not config.get("proj_size"):  # _stack_variant has no projection
        for mistake, hint in LOOP_HINTS.items():
            out[hint] = {"output": _stack_variant(a, None, mistake)["output"]}
    if D == 2:
        # h_n[layer * D + direction], as nn.LSTM; the mistake is h_n[direction * L + layer].
        order = [d * L + k for k in range(L) for d in range(D)]
        out["h_n and c_n are ordered direction by direction; nn.LSTM orders them layer by "
            "layer (index layer * 2 + direction)"] = {
            "output": expected["output"], "h_n": expected["h_n"][np.argsort(order)],
            "c_n": expected["c_n"][np.argsort(order)]}
    return out


def _lstm_axes(config):
    seq = ("B", "T") if config.get("batch_first") else ("T", "B")
    R = "P" if config.get("proj_size") else "H"  # the size of h
    return {"output": seq + (R,), "dx": seq + ("I",), "h_n": ("L*D", "B", R),
            "c_n": ("L*D", "B", "H")}


@exercise("LSTM", points=5, chapter=CHAPTER_12, run=run_lstm, reference=M.LSTM,
          solution="solutions.torch_lstm")
def lstm_cases(rng):
    # I > H everywhere except the second case, where I = H lets a layer-0 mix-up run, and
    # the last, where I = proj_size does (layer k > 0 reads h, of proj_size entries).
    n, I, H = int(rng.integers(2, 5)), int(rng.integers(5, 7)), int(rng.integers(2, 5))
    cases = []
    for dtype, config, s, with_hx in (
            (np.float64, dict(), dict(B=1, T=1, I=2, H=3), True),
            (np.float64, dict(num_layers=2, batch_first=True), dict(B=n, T=n, I=H, H=H), False),
            (np.float64, dict(num_layers=2, bidirectional=True), dict(B=2, T=5, I=I, H=H), True),
            (np.float64, dict(num_layers=3, bias=False, batch_first=True, bidirectional=True),
             dict(B=3, T=4, I=I, H=2), False),
            (np.float64, dict(num_layers=2, dropout=0.5), dict(B=2, T=3, I=I, H=3), True),
            (np.float32, dict(num_layers=2, batch_first=True, bidirectional=True),
             dict(B=2, T=3, I=3, H=2), True),
            (np.float64, dict(proj_size=2), dict(B=2, T=4, I=I, H=3), True),
            (np.float64, dict(num_layers=2, bidirectional=True, batch_first=True, proj_size=1),
             dict(B=3, T=3, I=I, H=3), False),
            (np.float32, dict(num_layers=3, bias=False, proj_size=2), dict(B=2, T=3, I=2, H=4),
             True)):
        a = lstm_inputs(rng, dtype, config, **s, with_hx=with_hx)
        expected = expected_outputs(run_lstm, M.LSTM, a, dtype)
        notes = ([f"{k}={v}" + (" (in eval mode)" if k == "dropout" else "")
                  for k, v in config.items()]
                 + ([] if with_hx else ["hx=None"]))
        cases.append(case(dtype, s, a, expected, *notes, axes=_lstm_axes(config),
                          suspects=_lstm_suspects(a, expected, dtype)))
    return telling(cases)


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
          reference=M.LearnableInitLSTM, solution="solutions.torch_lstm")
def learnable_init_cases(rng):
    cases = []
    for dtype, config, s in (
            (np.float64, dict(num_layers=1, bidirectional=False, batch_first=False),
             dict(B=3, T=2, I=2, H=3)),
            (np.float64, dict(num_layers=2, bidirectional=True, batch_first=True),
             dict(B=4, T=3, I=2, H=2)),
            (np.float32, dict(num_layers=3, bidirectional=False, batch_first=False),
             dict(B=2, T=5, I=3, H=2)),
            # The edge shapes, always among the cases: one sequence of one step.
            (np.float64, dict(num_layers=1, bidirectional=False, batch_first=True),
             dict(B=1, T=1, I=2, H=3))):
        a = learnable_inputs(rng, dtype, config, **s)
        h0, c0 = a["h0"].astype(np.float64), a["c0"].astype(np.float64)
        expected = _learnable_expected(a, h0, c0)
        suspects = {"h0 and c0 are swapped": _learnable_expected(a, c0, h0, grads=False),
                    NO_GRADIENT.replace("h0 and c0", "h0"): {"dh0": 0 * expected["dh0"]},
                    NO_GRADIENT.replace("h0 and c0", "c0"): {"dc0": 0 * expected["dc0"]}}
        notes = [f"{k}={v}" for k, v in config.items()]
        cases.append(case(dtype, s, a, expected, *notes,
                          axes={"h_n": ("L*D", "B", "H"), "c_n": ("L*D", "B", "H")},
                          suspects=suspects))
    return telling(cases)


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
    full = forward_only(expected_outputs(run_masked, M.masked_lstm_layer,
                              {**a, "lengths": np.full_like(a["lengths"], T)}, dtype))
    valid = (np.arange(T)[:, None] < a["lengths"])[..., None]  # (T, B, 1)
    held = a["h0"] if a["reverse"] else expected["h_n"]  # the state a padded step keeps
    torch = M.load_torch()
    args = {n: None if a[n] is None else torch.from_numpy(np.asarray(a[n], np.float64))
            for n in ("x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh")}
    loop = {}
    for mistake, hint in LOOP_HINTS.items():
        if mistake != "stops_early":  # where a padded batch's loop stops is another matter
            with torch.no_grad():
                out = M.masked_lstm_layer_mistaken(**args, lengths=a["lengths"],
                                                   reverse=a["reverse"], mistake=mistake)[0]
            loop[hint] = {"out": out.numpy().astype(dtype)}
    return {
        "lengths are ignored: every sequence runs over all T steps": full,
        "the state runs on through the padding: a padded step must leave (h, c) unchanged":
            {"out": np.where(valid, full["out"], 0).astype(dtype), "h_n": full["h_n"]},
        "out is not zero past a sequence's end (it repeats the state there)":
            {"out": np.where(valid, expected["out"], held[None]).astype(dtype),
             "h_n": expected["h_n"]},
    } | loop


@exercise("masked_lstm_layer", points=3, chapter=CHAPTER_12, run=run_masked,
          reference=M.masked_lstm_layer, solution="solutions.torch_lstm")
def masked_lstm_layer_cases(rng):
    cases = []
    for dtype, s, reverse in ((np.float64, dict(T=1, B=1, I=2, H=3), False),
                              (np.float64, dict(T=6, B=4, I=3, H=2), False),
                              (np.float64, dict(T=5, B=3, I=2, H=3), True),
                              (np.float32, dict(T=4, B=3, I=3, H=2), True)):
        a = masked_inputs(rng, dtype, **s, reverse=reverse)
        expected = expected_outputs(run_masked, M.masked_lstm_layer, a, dtype)
        notes = [f"lengths={a['lengths'].tolist()}"] + (["reverse"] if reverse else [])
        cases.append(case(dtype, s, a, expected, *notes,
                          axes={"out": ("T", "B", "H"), "dx": ("T", "B", "I")},
                          suspects=_masked_suspects(a, expected, dtype)))
    return telling(cases)

