"""Checks for chapter 24 (TensorFlow 1, porting to TF): numpy_to_tf1.

The expected outputs come from TF's own LSTMCell with the ported variables, run by
chapter 22's `run_lstm_cell` (`autograde.checks.tf1_cell`).
"""

import numpy as np

from autograde.checks.tf1_cell import run_lstm_cell
from autograde.checks.tf1_run import returned_pair
from autograde.references import tf_ref
from autograde.references import torch_ref as ref
from autograde.references.tf_ref import lstm_cell
from autograde.registry import exercise
from autograde.spec import DTYPES, case, random_array

CHAPTER_PORT = "24_tf1_initial_states_keras.ipynb"


# ---------------------------------------------------------------------------------------
# numpy_to_tf1 (NumPy only; the outputs come from TF's LSTMCell with the ported variables)

def run_numpy_to_tf1(fn, inputs):
    """Port with fn(Wx, Wh, b, forget_bias); run TF's LSTMCell with the ported variables."""
    out = fn(inputs["Wx"], inputs["Wh"], inputs["b"], inputs["forget_bias"])
    kernel, bias = returned_pair(out, "(kernel, bias)")
    ported = {"kernel": kernel, "bias": bias}
    Wx, b = inputs["Wx"], inputs["b"]
    shapes = {"kernel": (Wx.shape[0] + b.size // 4, b.size), "bias": b.shape}
    if any(type(v) is not np.ndarray or v.shape != shapes[k] for k, v in ported.items()):
        return ported  # the comparison says what is wrong with them
    cell = run_lstm_cell(lstm_cell, dict(x=inputs["x"], c=inputs["c"], h=inputs["h"],
                                         num_units=b.size // 4,
                                         forget_bias=inputs["forget_bias"],
                                         variables={"lstm/kernel": kernel.astype(Wx.dtype),
                                                    "lstm/bias": bias.astype(Wx.dtype)}))
    return {**ported, "h_next (TF's LSTMCell with your variables)": cell["h_next"],
            "c_next (TF's LSTMCell with your variables)": cell["c_next"]}


@exercise("numpy_to_tf1", points=2, chapter=CHAPTER_PORT, run=run_numpy_to_tf1,
          reference=tf_ref.numpy_to_tf1, solution="solutions.port")
def numpy_to_tf1_cases(rng):
    cases = []
    for dtype, (I, H), forget_bias in zip(DTYPES * 2, ((2, 3), (4, 2), (3, 3), (1, 4)),
                                          (1.0, 1.0, 0.0, 0.5), strict=True):
        B = int(rng.integers(1, 4))
        a = dict(Wx=random_array(rng, (I, 4 * H), dtype, 0.8),
                 Wh=random_array(rng, (H, 4 * H), dtype, 0.8),
                 b=random_array(rng, (4 * H,), dtype, 0.5), forget_bias=forget_bias,
                 x=random_array(rng, (B, I), dtype), h=random_array(rng, (B, H), dtype),
                 c=random_array(rng, (B, H), dtype))
        kernel, bias = tf_ref.numpy_to_tf1(a["Wx"], a["Wh"], a["b"], forget_bias)
        h_next, c_next = ref.lstm_step(a["x"], a["h"], a["c"], a["Wx"], a["Wh"], a["b"])
        expected = {"kernel": kernel, "bias": bias,
                    "h_next (TF's LSTMCell with your variables)": h_next,
                    "c_next (TF's LSTMCell with your variables)": c_next}
        suspects = {"the gate blocks are still in the book's order i, f, g, o; TF's is "
                    "i, j, f, o": {"kernel": np.concatenate([a["Wx"], a["Wh"]])}}
        if forget_bias:
            suspects["forget_bias is left in the bias; TF's cell adds it again at run time"] = \
                {"bias": tf_ref.numpy_to_tf1(a["Wx"], a["Wh"], a["b"], 0.0)[1]}
        cases.append(case(dtype, dict(I=I, H=H), a, expected, f"forget_bias={forget_bias:g}",
                          suspects=suspects))
    return cases
