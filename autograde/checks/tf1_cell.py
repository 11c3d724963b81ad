"""Checks for chapter 22 (TensorFlow 1, the cell): lstm_cell and tf1_to_numpy.

The expected outputs come from TF's own LSTMCell (`autograde.references.tf_ref`), built
and run like the learner's graph by `autograde.checks.tf1_run`; the stand-ins that
`use_working` hands out are in `tf_ref`.
"""

import numpy as np

from autograde.checks.tf1_run import (
    CELL_MISTAKES,
    layer_mistakes,
    mistaken_stack,
    placeholder,
    random_layers,
    returned_pair,
    run_graph,
    run_learner,
    tf1_by_torch,
)
from autograde.references import tf_ref
from autograde.references import torch_ref as ref
from autograde.references.tf_ref import lstm_cell
from autograde.registry import exercise
from autograde.spec import DTYPES, SubmissionError, case, random_array

CHAPTER_CELL = "22_tf1_lstm_cell.ipynb"


# ---------------------------------------------------------------------------------------
# lstm_cell

def run_lstm_cell(fn, inputs):
    """Build fn(x, (c, h), num_units, forget_bias) under variable scope "lstm" and run it."""
    v1 = tf_ref.load_tf().compat.v1
    x, c, h = inputs["x"], inputs["c"], inputs["h"]

    def build():
        ph = {name: placeholder(inputs[name], {0}) for name in ("x", "c", "h")}
        with v1.variable_scope("lstm"):
            out = fn(ph["x"], (ph["c"], ph["h"]), inputs["num_units"], inputs["forget_bias"])
        output, state = returned_pair(out, "(h, (c, h))")
        c_next, h_next = returned_pair(state, "(h, (c, h)): the state is a (c, h) pair")
        return ({"output": output, "c_next": c_next, "h_next": h_next},
                {ph["x"]: x, ph["c"]: c, ph["h"]: h})

    outputs, initial = run_graph(build, inputs["variables"])
    return {**outputs, "bias at initialization": initial["lstm/bias"]}



@exercise("lstm_cell", points=3, chapter=CHAPTER_CELL, run=run_learner(run_lstm_cell),
          reference=lstm_cell, solution="solutions.tf1_lstm")
def lstm_cell_cases(rng):
    cases = []
    I = int(rng.integers(2, 5))
    edge, full = dict(B=1, I=2, H=3), dict(B=int(rng.integers(2, 5)), I=I,
                                          H=int(rng.choice([h for h in range(2, 5) if h != I])))
    # Each dtype gets the edge case and the full one (B > 1, I != H).
    for dtype, s, forget_bias in zip(DTYPES * 2, (edge, full, full, edge), (1.0, 1.0, 0.0, 0.5),
                                     strict=True):
        B, I, H = s["B"], s["I"], s["H"]
        [(kernel, bias)] = random_layers(rng, dtype, I, [H])
        a = dict(x=random_array(rng, (B, I), dtype), c=random_array(rng, (B, H), dtype),
                 h=random_array(rng, (B, H), dtype), num_units=H, forget_bias=forget_bias,
                 variables={"lstm/kernel": kernel, "lstm/bias": bias})
        expected = run_lstm_cell(lstm_cell, a)

        def step(layers, fb, c=a["c"], h=a["h"], a=a):
            out, [(c_next, h_next)] = tf1_by_torch(a["x"][:, None], layers, fb, [(c, h)])
            return {"output": out[:, 0], "c_next": c_next, "h_next": h_next}

        suspects = {hint: step(layers, fb)
                    for hint, layers, fb in layer_mistakes([(kernel, bias)], forget_bias)}
        for hint, mistake in CELL_MISTAKES.items():
            out, [(c_next, h_next)] = mistaken_stack(a["x"][:, None], [(kernel, bias)],
                                                     forget_bias, [(a["c"], a["h"])], mistake)
            suspects[hint] = {"output": out[:, 0], "c_next": c_next, "h_next": h_next}
        swapped = step([(kernel, bias)], forget_bias, c=a["h"], h=a["c"])
        suspects["the state is read and returned as (h, c); TF's state is (c, h)"] = \
            {**swapped, "c_next": swapped["h_next"], "h_next": swapped["c_next"]}
        if forget_bias:
            stored = np.zeros(4 * H, dtype)
            stored[2 * H:3 * H] = forget_bias
            suspects["forget_bias is stored in the bias variable as well as added at run time "
                     "(TF's bias starts at zeros)"] = {"bias at initialization": stored}
        cases.append(case(dtype, dict(B=B, I=I, H=H), a, expected,
                          f"forget_bias={forget_bias:g}",
                          axes={k: ("B", "H") for k in ("output", "c_next", "h_next")},
                          suspects=suspects))
    return cases


# ---------------------------------------------------------------------------------------
# tf1_to_numpy (NumPy only; the expected outputs come from TF's LSTMCell)

def run_tf1_to_numpy(fn, inputs):
    """Port with fn(kernel, bias, forget_bias); run torch's LSTMCell with the ported weights."""
    out = fn(inputs["kernel"], inputs["bias"], inputs["forget_bias"])
    if not isinstance(out, dict) or set(out) != {"Wx", "Wh", "b"}:
        got = sorted(out) if isinstance(out, dict) else type(out).__name__
        raise SubmissionError(f"must return a dict with keys ['Wx', 'Wh', 'b']; got {got}")
    W = {k: out[k] for k in ("Wx", "Wh", "b")}
    try:
        h_next, c_next = ref.lstm_step(inputs["x"], inputs["h"], inputs["c"], **W)
    except Exception:  # wrong shapes: reported by the comparison of Wx, Wh, b
        h_next = c_next = None
    return {**W, "h_next (the book's LSTM with your weights)": h_next,
            "c_next (the book's LSTM with your weights)": c_next}


@exercise("tf1_to_numpy", points=2, chapter=CHAPTER_CELL, run=run_tf1_to_numpy,
          reference=tf_ref.tf1_to_numpy, solution="solutions.port")
def tf1_to_numpy_cases(rng):
    cases = []
    for dtype, (I, H), forget_bias in zip(DTYPES * 2, ((2, 3), (4, 2), (3, 3), (1, 4)),
                                          (1.0, 1.0, 0.0, 0.5), strict=True):
        B = int(rng.integers(1, 4))
        [(kernel, bias)] = random_layers(rng, dtype, I, [H])
        a = dict(kernel=kernel, bias=bias, forget_bias=forget_bias,
                 x=random_array(rng, (B, I), dtype), h=random_array(rng, (B, H), dtype),
                 c=random_array(rng, (B, H), dtype))
        cell = run_lstm_cell(lstm_cell, dict(x=a["x"], c=a["c"], h=a["h"], num_units=H,
                                             forget_bias=forget_bias,
                                             variables={"lstm/kernel": kernel,
                                                        "lstm/bias": bias}))
        expected = {**tf_ref.tf1_to_numpy(kernel, bias, forget_bias),
                    "h_next (the book's LSTM with your weights)": cell["h_next"],
                    "c_next (the book's LSTM with your weights)": cell["c_next"]}
        unswapped = {"Wx": kernel[:I], "Wh": kernel[I:]}
        suspects = {"the gate blocks are still in TF's order i, j, f, o; the book's is "
                    "i, f, g, o": unswapped}
        if forget_bias:
            suspects["forget_bias is not added to the f block of b"] = \
                {"b": tf_ref.tf1_to_numpy(kernel, bias, 0.0)["b"]}
        cases.append(case(dtype, dict(I=I, H=H), a, expected, f"forget_bias={forget_bias:g}",
                          axes={"Wx": ("I", "4H"), "Wh": ("H", "4H"), "b": ("4H",)},
                          suspects=suspects))
    return cases
