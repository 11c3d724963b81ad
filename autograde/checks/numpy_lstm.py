"""Checks for the LSTM chapters: lstm_step, lstm_forward, lstm_backward, stacked_lstm_forward.

One module for chapters 3 to 5: forward beside backward and stacking, built on `lstm_inputs`.
"""

import numpy as np

from autograde.checks.numpy_rnn import (
    NEVER_CARRIED,
    SKIPS_LAST,
    STEP_FROM_ZEROS,
    STOPS_EARLY,
    step_sizes,
    telling,
)
from autograde.references import numpy_ref
from autograde.references import torch_ref as ref
from autograde.registry import exercise
from autograde.spec import (
    DTYPES,
    SubmissionError,
    call_returning,
    call_returning_dict,
    case,
    grid,
    random_array,
    standard_shapes,
)

CHAPTER_3 = "03_lstm_cell.ipynb"
CHAPTER_4 = "04_lstm_backward.ipynb"
CHAPTER_5 = "05_stacking.ipynb"


def lstm_inputs(rng, dtype, B, T, I, H):
    """Random x (B, T, I), h0, c0 and weights for an LSTM with hidden size H."""
    return dict(x=random_array(rng, (B, T, I), dtype), h0=random_array(rng, (B, H), dtype),
                c0=random_array(rng, (B, H), dtype), Wx=random_array(rng, (I, 4 * H), dtype, 0.8),
                Wh=random_array(rng, (H, 4 * H), dtype, 0.8), b=random_array(rng, (4 * H,), dtype))


def _permute_gates(a, order):
    """Weights that make a correct LSTM behave like one that reads the blocks in `order`."""
    H = a["Wh"].shape[0]
    cols = np.concatenate([np.arange(H) + H * "ifgo".index(gate) for gate in order])
    return {**a, "Wx": a["Wx"][:, cols], "Wh": a["Wh"][:, cols], "b": a["b"][cols]}


def _forget_fixed_at_one(a):
    """Weights whose forget gate is sigmoid(40) = 1: an LSTM with no forget gate."""
    H = a["Wh"].shape[0]
    f = slice(H, 2 * H)
    Wx, Wh, b = a["Wx"].copy(), a["Wh"].copy(), a["b"].copy()
    Wx[:, f], Wh[:, f], b[f] = 0, 0, 40
    return {**a, "Wx": Wx, "Wh": Wh, "b": b}


H_FROM_G = "h = o * tanh(g); it is o * tanh(c), with the new cell state c"


def gate_suspects(a, fwd, h_from_g):
    """Known gate mistakes for an LSTM function `fwd(**a)`, as the outputs they would give.

    h_from_g: the same function with h = o * tanh(g) (from the references).
    """
    return {
        "gates in the wrong order (the blocks of z are i, f, g, o)":
            fwd(**_permute_gates(a, "ifog")),
        "gates in TensorFlow's order i, g(j), f, o; this book uses i, f, g, o":
            fwd(**_permute_gates(a, "igfo")),
        "the forget gate is missing or fixed at 1": fwd(**_forget_fixed_at_one(a)),
        H_FROM_G: h_from_g(**a),
    }


SWAPPED_STATES = "{} are returned swapped (the hidden state first, then the cell state)"
H_FOR_C = ("the cell update uses h_prev where it needs c_prev: c_next = f * c_prev + i * g "
           "(the cell state carries on, not the hidden state)")
C_FROM_ZEROS = ("the step ignores the cell state c it is given and starts it from zeros: "
                "c_next = f * c + i * g with the c passed in")


def sequence_suspects(a, hs, cs):
    """Known loop mistakes for lstm_forward, as the (hs, cs) they would give."""
    zeros = np.zeros_like(a["h0"])
    out = {"the initial state (h0, c0) is ignored (zeros used instead)":
           ref.lstm_forward(**{**a, "h0": zeros, "c0": zeros})}
    skipped_h, skipped_c = hs.copy(), cs.copy()
    skipped_h[:, -1] = skipped_c[:, -1] = 0
    out[SKIPS_LAST] = (skipped_h, skipped_c)
    out[STOPS_EARLY] = (hs[:, :-1], cs[:, :-1])  # with T = 1: no step, shape (B, 0, H)
    out[NEVER_CARRIED] = ref.lstm_forward_mistaken(**a, mistake="never_carried")
    out[H_FOR_C] = ref.lstm_forward_mistaken(**a, mistake="c_from_h")
    out[SWAPPED_STATES.format("hs and cs")] = (cs, hs)
    if a["x"].shape[0] == a["x"].shape[1]:  # B == T: reading x as (T, B, I) still runs
        tm = ref.lstm_forward(**{**a, "x": a["x"].transpose(1, 0, 2)})
        out["x is read as time-major (T, B, I); it is batch-major (B, T, I)"] = \
            tuple(s.transpose(1, 0, 2) for s in tm)
        out["hs and cs are written time-major (T, B, H); they are batch-major (B, T, H)"] = \
            (hs.transpose(1, 0, 2), cs.transpose(1, 0, 2))
    return out


@exercise("lstm_step", points=2, chapter=CHAPTER_3, run=call_returning("h_next", "c_next"),
          reference=ref.lstm_step, solution="solutions.numpy_lstm")
def lstm_step_cases(rng):
    cases = []
    for dtype, s in grid(standard_shapes(rng)):
        a = lstm_inputs(rng, dtype, **s)
        step = dict(x=a["x"][:, 0], h=a["h0"], c=a["c0"], Wx=a["Wx"], Wh=a["Wh"], b=a["b"])
        h_next, c_next = ref.lstm_step(**step)
        suspects = {k: dict(zip(("h_next", "c_next"), v))
                    for k, v in gate_suspects(step, ref.lstm_step,
                                              ref.lstm_step_h_from_g).items()}
        suspects[SWAPPED_STATES.format("h_next and c_next")] = {"h_next": c_next,
                                                                "c_next": h_next}
        for mistake, hint in (("c_from_h", H_FOR_C), ("zero_state", STEP_FROM_ZEROS),
                              ("zero_c", C_FROM_ZEROS)):
            suspects[hint] = dict(zip(("h_next", "c_next"),
                                      ref.lstm_step_mistaken(**step, mistake=mistake)))
        cases.append(case(dtype, step_sizes(s), step,
                          {"h_next": h_next, "c_next": c_next},
                          axes={"h_next": ("B", "H"), "c_next": ("B", "H")},
                          suspects=suspects))
    return telling(cases)


@exercise("lstm_forward", points=3, chapter=CHAPTER_3, run=call_returning("hs", "cs"),
          reference=ref.lstm_forward, solution="solutions.numpy_lstm")
def lstm_forward_cases(rng):
    cases = []
    for dtype, s in grid(standard_shapes(rng) + [dict(B=2, T=6, I=3, H=4)]):
        a = lstm_inputs(rng, dtype, **s)
        hs, cs = ref.lstm_forward(**a)
        suspects = {**gate_suspects(a, ref.lstm_forward, ref.lstm_forward_h_from_g),
                    **sequence_suspects(a, hs, cs)}
        cases.append(case(dtype, s, a, {"hs": hs, "cs": cs},
                          axes={"hs": ("B", "T", "H"), "cs": ("B", "T", "H")},
                          suspects={k: {"hs": v[0], "cs": v[1]} for k, v in suspects.items()}))
    return telling(cases)


GRAD_AXES = {"x": ("B", "T", "I"), "h0": ("B", "H"), "c0": ("B", "H"), "Wx": ("I", "4H"),
             "Wh": ("H", "4H"), "b": ("4H",)}

# Mistakes in a hand-written lstm_backward: hint -> the mistake's name in
# autograde.references.torch_ref.BACKWARD_MISTAKES (which makes its gradients).
BACKWARD_HINTS = {
    "gate blocks of dz in the order i, f, o, g":
        "the backward puts the gate gradients in the wrong order (dz's blocks are "
        "di, df, dg, do, in the forward's order i, f, g, o)",
    "gate blocks of dz in the order i, g, f, o":
        "the backward puts the gate gradients in TensorFlow's order (di, dg, df, do); "
        "dz's blocks are di, df, dg, do",
    "no carried dc (dc_prev = 0)":
        "the cell-state gradient is not carried to the previous step: dc_prev = dc * f "
        "(the forget path), and dc0 is what reaches c0",
    "dc_prev = dc (without * f)":
        "the carried cell-state gradient misses the forget gate: dc_prev = dc * f, not dc",
    "no tanh'(c)":
        "dc misses the derivative of tanh: dc += dh * o * (1 - tanh(c)**2), not dh * o",
    "carried dh only":
        "dhs[:, t] is not added to the carried dh at each step (dh = dhs[:, t] + dh_next)",
    "dhs[t] only":
        "the carried dh from step t+1 is dropped: dh = dhs[:, t] + dh_next, where dh_next "
        "= dz @ Wh.T",
    "skips t = 0": "the backward loop skips the first timestep t=0 (range(T-1, 0, -1)?); "
                   "it runs over every t from T-1 down to 0",
    "skips t = T-1": "the backward loop skips the last timestep t=T-1; it starts there",
}


# Mistakes in how the loop runs over time: with one timestep they cannot be told apart.
LOOP_MISTAKES = {"no carried dc (dc_prev = 0)", "dc_prev = dc (without * f)", "carried dh only",
                 "dhs[t] only", "skips t = 0", "skips t = T-1"}


def backward_suspects(args, grads):
    """Known lstm_backward mistakes, as the gradients they would give."""
    T = args["x"].shape[1]
    out = {hint: ref.lstm_backward_mistaken(**args, mistake=ref.BACKWARD_MISTAKES[name])
           for name, hint in BACKWARD_HINTS.items() if T > 1 or name not in LOOP_MISTAKES}
    out["dh0 is left at zero (it is the dh carried out of step 0)"] = \
        {**grads, "h0": np.zeros_like(grads["h0"])}
    out["dc0 is left at zero (it is the dc carried out of step 0)"] = \
        {**grads, "c0": np.zeros_like(grads["c0"])}
    return out


@exercise("lstm_backward", points=4, chapter=CHAPTER_4,
          run=call_returning_dict("x", "h0", "c0", "Wx", "Wh", "b"),
          reference=ref.lstm_backward, solution="solutions.numpy_lstm")
def lstm_backward_cases(rng):
    cases = []
    for dtype, s in grid(standard_shapes(rng) + [dict(B=2, T=5, I=3, H=4)]):
        a = lstm_inputs(rng, dtype, **s)
        args = dict(dhs=random_array(rng, (s["B"], s["T"], s["H"]), dtype), **a)
        grads = ref.lstm_backward(**args)
        cases.append(case(dtype, s, args, grads, axes=GRAD_AXES,
                          suspects=backward_suspects(args, grads)))
    # One case against centred finite differences of torch's LSTMCell forward (no autograd).
    a = lstm_inputs(rng, np.float64, B=2, T=3, I=2, H=2)
    dhs = random_array(rng, (2, 3, 2), np.float64)
    expected = {k: numpy_ref.numerical_gradient(lambda: ref.lstm_forward(**a)[0], a[k], dhs)
                for k in a}
    cases.append(case(np.float64, dict(B=2, T=3, I=2, H=2), dict(dhs=dhs, **a), expected,
                      "against finite differences", atol=1e-7, axes=GRAD_AXES))
    return telling(cases)


def run_stacked(fn, inputs):
    """Call stacked_lstm_forward(x, layers, states) and flatten its outputs to named arrays."""
    out = fn(*inputs.values())
    n = len(inputs["layers"])
    if not isinstance(out, tuple) or len(out) != 2 or not isinstance(out[1], (list, tuple)) \
            or len(out[1]) != n or any(not isinstance(s, tuple) or len(s) != 2 for s in out[1]):
        raise SubmissionError(f"must return (hs, final_states) with one (h_T, c_T) tuple per "
                              f"layer ({n} layers)")
    flat = {"hs": out[0]}
    for k, (h, c) in enumerate(out[1]):
        flat[f"h_T[{k}]"], flat[f"c_T[{k}]"] = h, c
    return flat


@exercise("stacked_lstm_forward", points=3, chapter=CHAPTER_5, run=run_stacked,
          reference=ref.stacked_lstm_forward, solution="solutions.numpy_lstm")
def stacked_lstm_forward_cases(rng):
    cases = []
    for dtype in DTYPES:
        # The last stack has equal widths, so that a stack that reuses one layer's weights
        # (or feeds x to every layer) still runs, and its mistake can be named.
        for widths, with_states in (([3, 4], False), ([2, 5, 3, 4], True), ([3, 3, 3], True)):
            # The first stack is the edge case of its dtype, always drawn (its shapes are
            # not left to chance): B = 1 in float64, T = 1 in float32.
            B, T = int(rng.integers(2, 4)), int(rng.integers(2, 6))
            if widths == [3, 4]:
                B, T = (1, T) if dtype == DTYPES[0] else (B, 1)
            x = random_array(rng, (B, T, widths[0]), dtype)
            layers = [{k: v for k, v in lstm_inputs(rng, dtype, B, 1, i, h).items()
                       if k in ("Wx", "Wh", "b")} for i, h in zip(widths, widths[1:])]
            states = [(random_array(rng, (B, h), dtype), random_array(rng, (B, h), dtype))
                      for h in widths[1:]] if with_states else None
            hs, finals = ref.stacked_lstm_forward(x, layers, states)
            expected = {"hs": hs}
            for k, (h, c) in enumerate(finals):
                expected[f"h_T[{k}]"], expected[f"c_T[{k}]"] = h, c
            notes = [f"widths={widths}"] + (["given states"] if with_states else [])
            sizes = dict(B=B, T=T, I=widths[0], H=widths[-1])
            cases.append(case(dtype, sizes, dict(x=x, layers=layers, states=states), expected,
                              *notes, axes={"hs": ("B", "T", "H")},
                              suspects=stacking_suspects(x, layers, states, expected)))
    return telling(cases)


def _flat(hs, finals):
    out = {"hs": hs}
    for k, (h, c) in enumerate(finals):
        out[f"h_T[{k}]"], out[f"c_T[{k}]"] = h, c
    return out


def stacking_suspects(x, layers, states, expected):
    """Known stacking mistakes, as the flat outputs of run_stacked they would give."""
    n = len(layers)
    out = {}
    if all(layer["Wx"].shape == layers[0]["Wx"].shape for layer in layers):
        out["one weight set (layers[0]) is used for every layer; each layer has its own"] = \
            _flat(*ref.stacked_lstm_forward(x, [layers[0]] * n, states))
        finals, hs = [], x
        for k, layer in enumerate(layers):
            alone, alone_finals = ref.stacked_lstm_forward(
                x, [layer], None if states is None else [states[k]])
            finals += alone_finals
            hs = alone
        out["every layer reads x; layer k reads the hidden states of layer k-1"] = \
            _flat(hs, finals)
    if states is not None:
        out["the given states are ignored (zeros used instead)"] = \
            _flat(*ref.stacked_lstm_forward(x, layers, None))
    # Mistakes inside each layer's loop, named by hs alone (whatever final states they give).
    for mistake, hint in (("never_carried", NEVER_CARRIED), ("c_from_h", H_FOR_C),
                          ("h_from_g", H_FROM_G), ("stops_early", STOPS_EARLY)):
        out[hint] = {"hs": ref.stacked_lstm_forward_mistaken(x, layers, states, mistake)[0]}
    out["the final states are returned as (c_T, h_T); each is (h_T, c_T)"] = {
        **{f"h_T[{k}]": expected[f"c_T[{k}]"] for k in range(n)},
        **{f"c_T[{k}]": expected[f"h_T[{k}]"] for k in range(n)}}
    return out
