"""Checks for chapter 11 (PyTorch, naive to fused): NaiveLSTM, fused_lstm_cell, lstm_layer.

The expected outputs and gradients come from the stand-ins in
`autograde.references.torch_modules` (torch.nn.LSTM / LSTMCell), run through the same
`run` as the learner's code (`autograde.checks.torch_run`).
"""

import numpy as np

from autograde.checks.numpy_lstm import C_FROM_ZEROS, H_FOR_C, H_FROM_G
from autograde.checks.numpy_rnn import NEVER_CARRIED, STEP_FROM_ZEROS, STOPS_EARLY, telling
from autograde.checks.torch_run import (
    GATE_MISTAKES,
    arrays,
    backward,
    check_init,
    check_parameters,
    expected_outputs,
    float64,
    forward_only,
    gate_rows,
    load,
    named_grads,
    pair,
    permute_fused,
    random_weights,
    result,
    tensor,
)
from autograde.references import torch_modules as M
from autograde.registry import exercise
from autograde.spec import case, random_array

CHAPTER_11 = "11_torch_naive_lstm.ipynb"


def run_naive(cls, inputs):
    """NaiveLSTM(I, H) with the given weights; forward(x, (h0, c0)) or forward(x); backward."""
    I, H = inputs["I"], inputs["H"]
    model = cls(I, H)
    check_parameters(model, M.naive_parameter_shapes(I, H),
                      "NaiveLSTM (W_ik (H, I), W_hk (H, H), b_ik, b_hk (H,) for k in i, f, g, o)")
    check_init(model, H)
    model = load(model, inputs["weights"], inputs["x"].dtype)
    x, h0, c0 = (tensor(inputs[n], grad=True) for n in ("x", "h0", "c0"))
    hs, (h, c) = result(model(x) if h0 is None else model(x, (h0, c0)), "(hs, (h_T, c_T))")
    backward([(hs, inputs["dhs"]), (h, inputs["dh_T"]), (c, inputs["dc_T"])])
    return arrays({"hs": hs, "h_T": h, "c_T": c, **named_grads(dict(x=x, h0=h0, c0=c0)),
                    **named_grads(dict(model.named_parameters()))})


def run_cell(fn, inputs):
    """fused_lstm_cell(x_proj_t, h, c, w_hh, b_hh) and backward."""
    args = {n: tensor(inputs[n], grad=True) for n in ("x_proj_t", "h", "c", "w_hh", "b_hh")}
    h, c = pair(fn(*args.values()), "(h_next, c_next)")
    backward([(h, inputs["dh_next"]), (c, inputs["dc_next"])])
    return arrays({"h_next": h, "c_next": c, **named_grads(args)})


def run_layer(fn, inputs):
    """lstm_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh) and backward."""
    args = {n: tensor(inputs[n], grad=True)
            for n in ("x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh")}
    out, (h, c) = result(fn(*args.values()), "(out, (h_T, c_T))")
    backward([(out, inputs["d_out"]), (h, inputs["dh_T"]), (c, inputs["dc_T"])])
    return arrays({"out": out, "h_T": h, "c_T": c, **named_grads(args)})



# --- NaiveLSTM


def naive_inputs(rng, dtype, B, T, I, H, with_state=True):
    w = random_weights(rng, M.naive_parameter_shapes(I, H), dtype)
    state = [random_array(rng, (B, H), dtype) for _ in range(2)] if with_state else [None] * 2
    return dict(I=I, H=H, weights=w, x=random_array(rng, (B, T, I), dtype), h0=state[0],
                c0=state[1], dhs=random_array(rng, (B, T, H), dtype),
                dh_T=random_array(rng, (B, H), dtype), dc_T=random_array(rng, (B, H), dtype))


def _naive_suspects(a):
    w, H = a["weights"], a["H"]

    def swap(p, q):  # the parameters of gates p and q exchanged
        return {n[:-1] + {p: q, q: p}.get(n[-1], n[-1]): v for n, v in w.items()}

    def forward(weights, **changes):
        return forward_only(run_naive(M.NaiveLSTM, {**float64(a), **changes,
                                                        "weights": float64(weights)}))

    out = {"the gates g and o are mixed up (g = tanh uses the o parameters, o = sigmoid "
           "the g ones)": forward(swap("g", "o")),
           "the gates i and f are mixed up": forward(swap("i", "f")),
           "the gates f and g are mixed up (f = sigmoid uses the g parameters, g = tanh "
           "the f ones)": forward(swap("f", "g")),
           "the gates i and g are mixed up": forward(swap("i", "g")),
           "the gates i and o are mixed up": forward(swap("i", "o")),
           "the gates f and o are mixed up": forward(swap("f", "o")),
           "the second bias of each gate (b_hi, b_hf, b_hg, b_ho) is left out":
               forward({n: v * 0 if n.startswith("b_h") else v for n, v in w.items()})}
    if a["I"] == H:
        out["the weights are not transposed: use x @ W.T (W has shape (H, I), as in "
            "nn.Linear)"] = forward({n: v.T if n.startswith("W") else v for n, v in w.items()})
    if a["h0"] is not None:
        out["the initial state is ignored (zeros used instead)"] = forward(w, h0=None, c0=None)
    out.update(_naive_loop_suspects(a))
    right = forward(w)
    out["h_T and c_T are returned swapped: forward returns (hs, (h_T, c_T))"] = {
        **right, "h_T": right["c_T"], "c_T": right["h_T"]}
    if a["x"].shape[1] > 1:
        out["only the first timestep is read (a sequence length fixed at 1?): loop over all "
            "T = x.shape[1] steps"] = forward(w, x=float64(a["x"])[:, :1],
                                            dhs=float64(a["dhs"])[:, :1])
    return {k: {n: v.astype(a["x"].dtype) for n, v in s.items()} for k, s in out.items()}


# Loop and cell mistakes (see torch_modules.LOOP_MISTAKES), named by the hidden states.
LOOP_HINTS = {"never_carried": NEVER_CARRIED, "c_from_h": H_FOR_C, "h_from_g": H_FROM_G,
              "stops_early": STOPS_EARLY}


def loop_outputs(x, h0, c0, w_ih, w_hh, b_ih, b_hh, mistake):
    """The hidden states (T, B, H) of torch_modules.lstm_layer_mistaken on float64 arrays
    (time-major x; h0, c0 None for zeros), as a float64 array."""
    torch = M.load_torch()
    t = {n: None if v is None else torch.from_numpy(np.asarray(v, np.float64))
         for n, v in dict(x=x, h0=h0, c0=c0, w_ih=w_ih, w_hh=w_hh, b_ih=b_ih, b_hh=b_hh).items()}
    B, H = x.shape[1], w_hh.shape[1]
    for n in ("h0", "c0"):
        t[n] = torch.zeros(B, H, dtype=torch.float64) if t[n] is None else t[n]
    with torch.no_grad():
        return M.lstm_layer_mistaken(**t, mistake=mistake)[0].numpy()


def _naive_loop_suspects(a):
    """NaiveLSTM's loop mistakes, as the hs (B, T, H) they would give."""
    w = {n: np.concatenate([a["weights"][f"{p}{k}"] for k in "ifgo"])
         for n, p in (("w_ih", "W_i"), ("w_hh", "W_h"), ("b_ih", "b_i"), ("b_hh", "b_h"))}
    x = a["x"].transpose(1, 0, 2)
    return {hint: {"hs": loop_outputs(x, a["h0"], a["c0"], **w, mistake=mistake)
                   .transpose(1, 0, 2)} for mistake, hint in LOOP_HINTS.items()}


NAIVE_AXES = {"hs": ("B", "T", "H"), "dx": ("B", "T", "I")}


@exercise("NaiveLSTM", points=3, chapter=CHAPTER_11, run=run_naive,
          reference=M.NaiveLSTM, solution="solutions.torch_lstm")
def naive_lstm_cases(rng):
    n = int(rng.integers(2, 5))
    cases = []
    for dtype, s, with_state in (
            (np.float64, dict(B=1, T=1, I=2, H=3), True),
            (np.float64, dict(B=n, T=n, I=n + 1, H=n + 1), True),
            (np.float64, dict(B=2, T=5, I=3, H=4), False),
            (np.float32, dict(B=3, T=4, I=2, H=3), True)):
        a = naive_inputs(rng, dtype, **s, with_state=with_state)
        notes = [] if with_state else ["no initial state"]
        cases.append(case(dtype, s, a, expected_outputs(run_naive, M.NaiveLSTM, a, dtype),
                          *notes, axes=NAIVE_AXES, suspects=_naive_suspects(a)))
    return telling(cases)


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
          reference=M.fused_lstm_cell, solution="solutions.torch_lstm")
def fused_lstm_cell_cases(rng):
    cases = []
    for dtype, s, bias in ((np.float64, dict(B=1, H=2), True),
                           (np.float64, dict(B=int(rng.integers(2, 5)), H=3), True),
                           (np.float64, dict(B=2, H=4), False),
                           (np.float32, dict(B=3, H=3), True)):
        a = cell_inputs(rng, dtype, **s, bias=bias)
        suspects = {}
        for order, hint in GATE_MISTAKES.items():
            rows = gate_rows(s["H"], order)
            wrong = {**a, "x_proj_t": a["x_proj_t"][:, rows], "w_hh": a["w_hh"][rows],
                     "b_hh": None if a["b_hh"] is None else a["b_hh"][rows]}
            suspects[hint] = forward_only(expected_outputs(run_cell, M.fused_lstm_cell, wrong, dtype))
        if bias:
            suspects["b_hh is left out"] = forward_only(expected_outputs(
                run_cell, M.fused_lstm_cell, {**a, "b_hh": 0 * a["b_hh"]}, dtype))
        suspects.update(_cell_suspects(a, dtype))
        cases.append(case(dtype, s, a,
                          expected_outputs(run_cell, M.fused_lstm_cell, a, dtype),
                          *([] if bias else ["b_hh=None"]), axes=CELL_AXES,
                          suspects=suspects))
    return telling(cases)


def _cell_suspects(a, dtype):
    """fused_lstm_cell's state mistakes, as the (h_next, c_next) they would give."""
    torch = M.load_torch()
    args = [None if a[n] is None else torch.from_numpy(np.asarray(a[n], np.float64))
            for n in ("x_proj_t", "h", "c", "w_hh", "b_hh")]
    out = {}
    for mistake, hint in (("c_from_h", H_FOR_C), ("h_from_g", H_FROM_G),
                          ("zero_state", STEP_FROM_ZEROS)):
        with torch.no_grad():
            h, c = M.fused_lstm_cell_mistaken(*args, mistake=mistake)
        out[hint] = {"h_next": h.numpy().astype(dtype), "c_next": c.numpy().astype(dtype)}
    with torch.no_grad():
        h, c = M.fused_lstm_cell(args[0], args[1], torch.zeros_like(args[2]), *args[3:])
    out[C_FROM_ZEROS] = {"h_next": h.numpy().astype(dtype), "c_next": c.numpy().astype(dtype)}
    return out


def layer_inputs(rng, dtype, T, B, I, H, bias=True):
    w = random_weights(rng, {"w_ih": (4 * H, I), "w_hh": (4 * H, H), "b_ih": (4 * H,),
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
        return forward_only(expected_outputs(run_layer, M.lstm_layer, {**a, **changes}, dtype))

    out = {hint: forward(**permute_fused({n: a[n] for n in ("w_ih", "w_hh", "b_ih", "b_hh")},
                                          H, order))
           for order, hint in GATE_MISTAKES.items()}
    out["the initial state (h0, c0) is ignored (zeros used instead)"] = \
        forward(h0=0 * a["h0"], c0=0 * a["c0"])
    for mistake, hint in LOOP_HINTS.items():
        out[hint] = {"out": loop_outputs(**{n: a[n] for n in (
            "x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh")}, mistake=mistake).astype(dtype)}
    if a["x"].shape[0] == a["x"].shape[1]:  # T == B: reading x as (B, T, I) still runs
        wrong = forward(x=a["x"].transpose(1, 0, 2).copy())
        wrong["out"] = wrong["out"].transpose(1, 0, 2)
        out["x is read as batch-major (B, T, I); lstm_layer takes time-major (T, B, I)"] = wrong
    return out


@exercise("lstm_layer", points=3, chapter=CHAPTER_11, run=run_layer,
          reference=M.lstm_layer, solution="solutions.torch_lstm")
def lstm_layer_cases(rng):
    n = int(rng.integers(2, 5))
    cases = []
    for dtype, s, bias in ((np.float64, dict(T=1, B=1, I=2, H=3), True),
                           (np.float64, dict(T=n, B=n, I=n + 1, H=3), True),
                           (np.float64, dict(T=6, B=2, I=3, H=4), False),
                           (np.float32, dict(T=4, B=3, I=2, H=3), True)):
        a = layer_inputs(rng, dtype, **s, bias=bias)
        cases.append(case(dtype, s, a,
                          expected_outputs(run_layer, M.lstm_layer, a, dtype),
                          *([] if bias else ["no biases"]), axes=LAYER_AXES,
                          suspects=_layer_suspects(a, dtype)))
    return telling(cases)

