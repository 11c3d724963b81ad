"""Checks for the bug clinic (chapter 51): fourteen LSTMs posted online, each with its bug fixed.

Where a fix has the signature of an earlier exercise, it is checked exactly like that
exercise, with its case builder (and so with its suspects):

    clinic_rnn_step       like rnn_step       (bug 1: Wx and Wh swapped)
    clinic_h_and_c        like lstm_step      (bug 4: h and c under each other's names)
    clinic_last_step      like lstm_forward   (bug 5: a loop over range(T - 1))
    clinic_h_from_c       like lstm_step      (bug 6: h = o * tanh(g))
    ClinicNaiveLSTM       like NaiveLSTM      (bug 7: seq_size = 1)
    clinic_initial_state  like lstm_forward   (bug 10: the given initial state ignored)
    ClinicCarryLSTM       like NaiveLSTM      (bug 11: every step starts again from h0, c0)
    clinic_c_from_h       like lstm_step      (bug 12: c = f * h_prev + i * g)
    clinic_tf1_weights    like lstm_cell      (bug 13, TF1: x @ W_h and h @ W_x)
    clinic_tf1_squeeze    like static_lstm    (bug 14, TF1: tf.squeeze on each step's input)

The others are checked here:

    clinic_rnn_init       (bug 2) the RNN's initial weights; the bias must not depend on
                          the batch size, and the weights not all be positive
    clinic_lstm_init      (bug 3) weights in PyTorch's range, not uniform on [0, 1)
    clinic_layer_cells    (bug 8) one TF1 LSTMCell per layer of a MultiRNNCell, not [cell] * n
    clinic_test_weights   (bug 9) weights with which a wrong gate order shows (not constant)

The exercises are registered in the chapter's order.
"""

import itertools
import re

import numpy as np

from autograde.checks.numpy_lstm import lstm_forward_cases, lstm_step_cases
from autograde.checks.numpy_rnn import rnn_step_cases
from autograde.checks.tf1_cell import lstm_cell_cases, run_lstm_cell
from autograde.checks.tf1_loop import run_static_lstm, static_lstm_cases
from autograde.checks.tf1_run import run_learner
from autograde.checks.torch_naive import naive_lstm_cases, run_naive
from autograde.references import tf_ref, torch_modules
from autograde.references import torch_ref as ref
from autograde.registry import exercise
from autograde.spec import ATOL, Case, SubmissionError, call_returning, random_array

CHAPTER = "51_bug_clinic.ipynb"
SOLUTION = "solutions.bug_clinic"


# ---------------------------------------------------------------------------------------
# Bug 1, checked like rnn_step


@exercise("clinic_rnn_step", points=1, chapter=CHAPTER, run=call_returning("h_next"),
          reference=ref.rnn_step, solution=SOLUTION)
def clinic_rnn_step_cases(rng):
    return rnn_step_cases(rng)


# ---------------------------------------------------------------------------------------
# Bugs 2 and 3, initialisations. Their values are random, so `run` checks what they must
# satisfy (shapes; for the LSTM, PyTorch's range) and returns one flag that says so. The
# stand-ins are PyTorch's own initial weights, in the book's layout (references.torch_ref).


def _learners_weights(fn, inputs, shapes):
    """fn(input_size, hidden_size, rng) as {"Wx", "Wh", "b"} of the given shapes, or a
    SubmissionError that says what is wrong (a bias with a batch axis by name)."""
    out = fn(inputs["input_size"], inputs["hidden_size"], np.random.default_rng(inputs["seed"]))
    if not isinstance(out, dict) or set(out) != set(shapes):
        got = sorted(out) if isinstance(out, dict) else type(out).__name__
        raise SubmissionError(f"must return a dict with keys {sorted(shapes)}; got {got}")
    b = out["b"]
    if isinstance(b, np.ndarray) and b.ndim == 2 and b.shape[0] > 1:
        raise SubmissionError(
            f"returns a bias of shape {b.shape}, one row per sequence of a batch of "
            f"{b.shape[0]}: the model then runs at that batch size only (h + b fails to "
            f"broadcast at any other, or turns a batch of 1 into {b.shape[0]} rows) and each "
            f"row of a batch gets its own bias; b must have shape {shapes['b']}, shared by "
            f"every row")
    for name, shape in shapes.items():
        w = out[name]
        if type(w) is not np.ndarray or w.shape != shape \
                or not np.issubdtype(w.dtype, np.floating) or not np.isfinite(w).all():
            got = f"shape {w.shape}, dtype {w.dtype}" if type(w) is np.ndarray \
                else type(w).__name__
            raise SubmissionError(f"must return {name} as a finite float array of shape "
                                  f"{shape}; got {got}")
    return out


INIT_OK = "the weights have the shapes and range an initialisation needs (1 = yes)"


RNN_SATURATING = ("draws only non-negative weights (uniform on [0, 1), as np.random.rand "
                  "does?): every unit's input then grows with the sum of the inputs and "
                  "tanh saturates at 1, where its gradient vanishes; draw them centred on 0 "
                  "(e.g. normal with a small standard deviation)")


def run_rnn_init(fn, inputs):
    """fn(input_size, hidden_size, rng) -> {"Wx" (I, H), "Wh" (H, H), "b" (H,)}: the
    weights Wx and Wh not all equal and of both signs (the bias may be zeros)."""
    I, H = inputs["input_size"], inputs["hidden_size"]
    _learners_weights(fn, inputs, {"Wx": (I, H), "Wh": (H, H), "b": (H,)})
    # The signs are judged on a draw of 128 weights, which a centred initialisation makes
    # all positive with probability 2**-128 (a small case's few weights could be, by chance).
    w = _learners_weights(fn, {**inputs, "input_size": 8, "hidden_size": 8},
                          {"Wx": (8, 8), "Wh": (8, 8), "b": (8,)})
    values = np.concatenate([w[k].ravel() for k in ("Wx", "Wh")]).astype(np.float64)
    if values.max() == values.min():
        raise SubmissionError(f"sets every weight to {values[0]:.4g}: draw them at random, or "
                              f"every unit of a layer computes the same thing")
    if values.min() >= 0:
        raise SubmissionError(RNN_SATURATING)
    return {INIT_OK: np.array(1.0)}


SATURATING = ("draws only non-negative weights (uniform on [0, 1), as np.random.rand does?): "
              "every gate's input then grows with the sum of the inputs and the gates "
              "saturate open (i, f, o near 1); draw them centred on 0, uniform on "
              "[-1/sqrt(H), 1/sqrt(H))")


def run_lstm_init(fn, inputs):
    """fn(input_size, hidden_size, rng) -> {"Wx" (I, 4H), "Wh" (H, 4H), "b" (4H,)}: not all
    equal, of both signs, every value in PyTorch's range [-1/sqrt(H), 1/sqrt(H)]."""
    I, H = inputs["input_size"], inputs["hidden_size"]
    w = _learners_weights(fn, inputs, {"Wx": (I, 4 * H), "Wh": (H, 4 * H), "b": (4 * H,)})
    values = np.concatenate([w[k].ravel() for k in ("Wx", "Wh", "b")]).astype(np.float64)
    k = 1 / np.sqrt(H)
    if values.max() == values.min():
        raise SubmissionError(f"sets every weight to {values[0]:.4g}: draw them at random, or "
                              f"every unit of a layer computes the same thing")
    if values.min() >= 0:
        raise SubmissionError(SATURATING)
    if np.abs(values).max() > k * (1 + 1e-6):
        raise SubmissionError(f"draws weights outside PyTorch's range [-1/sqrt(H), 1/sqrt(H)] "
                              f"= [{-k:.4g}, {k:.4g}]: they lie in [{values.min():.4g}, "
                              f"{values.max():.4g}]")
    return {INIT_OK: np.array(1.0)}


def _init_cases(rng):
    """Three sizes, each with a seed for the learner's rng (the value of H matters: the
    range is 1/sqrt(H), and all-positive draws are caught however many there are)."""
    cases = []
    for I, H in ((2, 3), (4, 4), (int(rng.integers(1, 6)), int(rng.integers(2, 6)))):
        cases.append(Case(f"input_size={I} hidden_size={H}",
                          dict(input_size=I, hidden_size=H, seed=int(rng.integers(2**31))),
                          {INIT_OK: np.array(1.0)}, ATOL[np.dtype(np.float64)]))
    return cases


@exercise("clinic_rnn_init", points=1, chapter=CHAPTER, run=run_rnn_init,
          reference=ref.rnn_init, solution=SOLUTION)
def clinic_rnn_init_cases(rng):
    return _init_cases(rng)


@exercise("clinic_lstm_init", points=1, chapter=CHAPTER, run=run_lstm_init,
          reference=ref.lstm_init, solution=SOLUTION)
def clinic_lstm_init_cases(rng):
    return _init_cases(rng)


# ---------------------------------------------------------------------------------------
# Bugs 4 to 7, checked like lstm_step, lstm_forward and NaiveLSTM


@exercise("clinic_h_and_c", points=1, chapter=CHAPTER, run=call_returning("h_next", "c_next"),
          reference=ref.lstm_step, solution=SOLUTION)
def clinic_h_and_c_cases(rng):
    return lstm_step_cases(rng)


@exercise("clinic_last_step", points=1, chapter=CHAPTER, run=call_returning("hs", "cs"),
          reference=ref.lstm_forward, solution=SOLUTION)
def clinic_last_step_cases(rng):
    return lstm_forward_cases(rng)


@exercise("clinic_h_from_c", points=1, chapter=CHAPTER, run=call_returning("h_next", "c_next"),
          reference=ref.lstm_step, solution=SOLUTION)
def clinic_h_from_c_cases(rng):
    return lstm_step_cases(rng)


@exercise("ClinicNaiveLSTM", points=1, chapter=CHAPTER, run=run_naive,
          reference=torch_modules.NaiveLSTM, solution=SOLUTION)
def clinic_naive_lstm_cases(rng):
    return naive_lstm_cases(rng)


# ---------------------------------------------------------------------------------------
# Bug 8, clinic_layer_cells: the cells of a TF1 MultiRNNCell, run by dynamic_rnn


SHARED_CELL = ("returns the same cell object for several layers ([cell] * n): MultiRNNCell "
               "then creates one kernel and one bias and every layer uses them; make a new "
               "cell for each layer, [LSTMCell(num_units) for _ in range(num_layers)]")


def run_layer_cells(fn, inputs):
    """dynamic_rnn over MultiRNNCell(fn(num_units, num_layers)) with the case's variables.

    Layer k's variables (whatever their scope) take the values of "rnn/cell_{k}/kernel"
    and ".../bias". Returns outputs (B, T, H) and c_T[k], h_T[k] for each layer k.
    """
    tf = tf_ref.load_tf()
    v1 = tf.compat.v1
    x, H, L = inputs["inputs"], inputs["num_units"], inputs["num_layers"]
    with tf.Graph().as_default():
        cells = fn(H, L)
        if not isinstance(cells, (list, tuple)) or len(cells) != L:
            raise SubmissionError(f"must return a list of {L} cells (one per layer); got "
                                  f"{type(cells).__name__}")
        if len({id(cell) for cell in cells}) < L:
            raise SubmissionError(SHARED_CELL)
        ph = v1.placeholder(x.dtype, [None, None, x.shape[2]])
        outputs, states = v1.nn.dynamic_rnn(v1.nn.rnn_cell.MultiRNNCell(cells), ph,
                                            dtype=x.dtype, scope="rnn")
        variables = {v.op.name: v for v in v1.global_variables()}
        found = {}
        for name, v in variables.items():
            m = re.search(r"cell_(\d+)/.*?(kernel|bias)$", name)
            if m is None or f"rnn/cell_{m[1]}/{m[2]}" not in inputs["variables"]:
                raise SubmissionError(f"builds a variable {name} that no layer of an LSTM "
                                      f"stack has")
            found[f"rnn/cell_{m[1]}/{m[2]}"] = v
        if set(found) != set(inputs["variables"]):
            raise SubmissionError(f"builds {len(found) // 2} weight sets ({', '.join(variables)})"
                                  f" for {L} layers; each layer needs its own kernel and bias")
        fetches = {"outputs": outputs}
        for k, state in enumerate(states):
            fetches[f"c_T[{k}]"], fetches[f"h_T[{k}]"] = state.c, state.h
        with v1.Session() as sess:
            for name, v in found.items():
                sess.run(v.initializer, {v.initial_value: inputs["variables"][name]})
            return sess.run(fetches, {ph: x})


@exercise("clinic_layer_cells", points=1, chapter=CHAPTER, run=run_layer_cells,
          reference=tf_ref.layer_cells, solution=SOLUTION, from_scratch=False)
def clinic_layer_cells_cases(rng):
    """The expected values: the book's stacked LSTM (torch.nn.LSTMCell, references.torch_ref)
    with TF's kernels ported to the book's layout by references.tf_ref.tf1_to_numpy."""
    cases = []
    for dtype, (B, T, I, H, L) in ((np.float64, (2, 3, 3, 3, 2)), (np.float32, (3, 4, 2, 3, 3))):
        x = random_array(rng, (B, T, I), dtype)
        variables, layers = {}, []
        for k in range(L):
            kernel = random_array(rng, ((I if k == 0 else H) + H, 4 * H), dtype, 0.8)
            bias = random_array(rng, (4 * H,), dtype, 0.5)
            variables[f"rnn/cell_{k}/kernel"], variables[f"rnn/cell_{k}/bias"] = kernel, bias
            layers.append(tf_ref.tf1_to_numpy(kernel, bias, forget_bias=1.0))
        hs, finals = ref.stacked_lstm_forward(x, layers)
        expected = {"outputs": hs}
        for k, (h, c) in enumerate(finals):
            expected[f"c_T[{k}]"], expected[f"h_T[{k}]"] = c, h
        cases.append(Case(f"{np.dtype(dtype).name}, B={B} T={T} I={I} num_units={H} "
                          f"num_layers={L}", dict(inputs=x, num_units=H, num_layers=L,
                                                  variables=variables),
                          expected, ATOL[np.dtype(dtype)], axes={"outputs": ("B", "T", "H")}))
    return cases


# ---------------------------------------------------------------------------------------
# Bug 9, clinic_test_weights: weights with which every wrong gate order changes the outputs

GATES = "ifgo"
WRONG_ORDERS = [order for order in itertools.permutations(GATES) if order != tuple(GATES)]
TOLD_APART = "wrong gate orders that change h_next or c_next by more than 1e-6"


def _reorder(W, order):
    """W's column blocks (i, f, g, o) rearranged: a correct LSTM given these reads `order`."""
    blocks = np.split(W, 4, axis=-1)
    return np.concatenate([blocks[GATES.index(gate)] for gate in order], axis=-1)


def _lstm_step(x, h, c, Wx, Wh, b):
    """[h_next, c_next] (B, 2H) of one LSTM step, gates i, f, g, o, in NumPy: the runner of a
    NumPy-track exercise runs with the frameworks refused (autograde.tracks), and any
    correct step tells the gate orders apart as well as torch's."""
    zi, zf, zg, zo = np.split(x @ Wx + h @ Wh + b, 4, axis=1)
    sigmoid = lambda z: 0.5 * (np.tanh(0.5 * z) + 1)  # noqa: E731
    c_next = sigmoid(zf) * c + sigmoid(zi) * np.tanh(zg)
    return np.concatenate([sigmoid(zo) * np.tanh(c_next), c_next], axis=1)


def run_test_weights(fn, inputs):
    """fn(input_size, hidden_size) -> (Wx, Wh, b); one LSTM step per gate order with them."""
    I, H = inputs["input_size"], inputs["hidden_size"]
    out = fn(I, H)
    want = {"Wx": (I, 4 * H), "Wh": (H, 4 * H), "b": (4 * H,)}
    if not isinstance(out, (tuple, list)) or len(out) != 3 or any(
            not isinstance(w, np.ndarray) or w.shape != s for w, s in zip(out, want.values())):
        raise SubmissionError(f"must return a tuple (Wx, Wh, b) of arrays with shapes "
                              f"{', '.join(f'{k} {s}' for k, s in want.items())}")
    Wx, Wh, b = (np.asarray(w, np.float64) for w in out)
    x, h, c = inputs["x"], inputs["h"], inputs["c"]
    right = _lstm_step(x, h, c, Wx, Wh, b)
    same = []
    for order in WRONG_ORDERS:
        wrong = _lstm_step(x, h, c, *(_reorder(w, order) for w in (Wx, Wh, b)))
        if np.abs(wrong - right).max() <= 1e-6:
            same.append(", ".join(order))
    if same:
        raise SubmissionError(
            f"returns weights with which {len(same)} of the {len(WRONG_ORDERS)} wrong gate "
            f"orders (e.g. {same[0]}) give the same h_next and c_next as the right order "
            f"i, f, g, o, so a comparison with them cannot catch that bug: give every gate "
            f"block different weights (random ones; constant weights make all four equal)")
    return {TOLD_APART: np.array(float(len(WRONG_ORDERS)))}


def reference_test_weights(input_size, hidden_size):
    """Random weights (Wx, Wh, b), uniform on [-1/sqrt(H), 1/sqrt(H)) as torch.nn.LSTMCell
    draws them, seeded with 0; in NumPy, as the exercise's track asks."""
    rng, k, H4 = np.random.default_rng(0), 1 / np.sqrt(hidden_size), 4 * hidden_size
    return (rng.uniform(-k, k, (input_size, H4)), rng.uniform(-k, k, (hidden_size, H4)),
            rng.uniform(-k, k, H4))


@exercise("clinic_test_weights", points=1, chapter=CHAPTER, run=run_test_weights,
          reference=reference_test_weights, solution=SOLUTION)
def clinic_test_weights_cases(rng):
    cases = []
    for I, H in ((2, 3), (3, 1), (int(rng.integers(1, 5)), int(rng.integers(1, 5)))):
        B = int(rng.integers(1, 4))
        inputs = dict(input_size=I, hidden_size=H, x=random_array(rng, (B, I), np.float64),
                      h=random_array(rng, (B, H), np.float64),
                      c=random_array(rng, (B, H), np.float64))
        cases.append(Case(f"input_size={I} hidden_size={H}, B={B}", inputs,
                          {TOLD_APART: np.array(float(len(WRONG_ORDERS)))},
                          ATOL[np.dtype(np.float64)]))
    return cases


# ---------------------------------------------------------------------------------------
# Bug 10, checked like lstm_forward


@exercise("clinic_initial_state", points=1, chapter=CHAPTER, run=call_returning("hs", "cs"),
          reference=ref.lstm_forward, solution=SOLUTION)
def clinic_initial_state_cases(rng):
    return lstm_forward_cases(rng)


# ---------------------------------------------------------------------------------------
# Bugs 11 to 14, checked like NaiveLSTM, lstm_step, and TF1's lstm_cell and static_lstm
# (with their runners: TF's graph built under the same scope, its errors explained)


@exercise("ClinicCarryLSTM", points=1, chapter=CHAPTER, run=run_naive,
          reference=torch_modules.NaiveLSTM, solution=SOLUTION)
def clinic_carry_lstm_cases(rng):
    return naive_lstm_cases(rng)


@exercise("clinic_c_from_h", points=1, chapter=CHAPTER, run=call_returning("h_next", "c_next"),
          reference=ref.lstm_step, solution=SOLUTION)
def clinic_c_from_h_cases(rng):
    return lstm_step_cases(rng)


@exercise("clinic_tf1_weights", points=1, chapter=CHAPTER, run=run_learner(run_lstm_cell),
          reference=tf_ref.lstm_cell, solution=SOLUTION)
def clinic_tf1_weights_cases(rng):
    return lstm_cell_cases(rng)


def unrolled_lstm_cell(inputs, num_units, initial_state=None, forget_bias=1.0):
    """TF's LSTMCell (as tf_ref.lstm_cell, the one the TF checks let through) unrolled over
    the T known steps of inputs (B, T, I), each read as inputs[:, t]: (outputs, (c, h)).

    tf_ref.static_lstm goes through static_rnn, which calls the cell past that exception.
    """
    tf = tf_ref.load_tf()
    v1 = tf.compat.v1
    if initial_state is None:
        c = h = tf.zeros(tf.stack([tf.shape(inputs)[0], num_units]), dtype=inputs.dtype)
    else:
        c, h = initial_state
    outputs = []
    for t in range(inputs.shape[1]):
        with v1.variable_scope(v1.get_variable_scope(), reuse=t > 0):
            h, (c, h) = tf_ref.lstm_cell(inputs[:, t], (c, h), num_units, forget_bias)
        outputs.append(h)
    return tf.stack(outputs, axis=1), (c, h)


@exercise("clinic_tf1_squeeze", points=1, chapter=CHAPTER, run=run_learner(run_static_lstm),
          reference=unrolled_lstm_cell, solution=SOLUTION, from_scratch=False)
def clinic_tf1_squeeze_cases(rng):
    return static_lstm_cases(rng)
