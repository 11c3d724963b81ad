"""Feedback that names the bug: each common mistake loses points and is named.

Every wrong implementation here is a correct one written for this test (not taken from
`solutions`) with one mistake. The named diagnoses come from the checks' `suspects`
(autograde/checks/numpy_*.py, autograde/mistakes.py). TensorFlow's "forget bias stored
as well as added" is named by the TF track's checks (tests/test_tf1_lstm.py).
"""

import numpy as np
import pytest
from hostile import IMPORTS, notebook

from autograde import grader, registry
from autograde.check import run_checks
from autograde.sandbox import Limits


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def rnn_step(x, h, Wx, Wh, b, transposed=False):
    return np.tanh(x @ Wx + h @ (Wh.T if transposed else Wh) + b)


def lstm_step(x, h, c, Wx, Wh, b, order="ifgo", forget=True, h_of_g=False):
    gates = dict(zip(order, np.split(x @ Wx + h @ Wh + b, 4, axis=1), strict=True))
    i, f, o, g = (sigmoid(gates["i"]), sigmoid(gates["f"]), sigmoid(gates["o"]),
                  np.tanh(gates["g"]))
    c_next = (f * c if forget else c) + i * g
    return o * np.tanh(g if h_of_g else c_next), c_next


def lstm_forward(x, h0, c0, Wx, Wh, b, skip_last=False, zero_state=False, time_major=False,
                 **step):
    x = x.transpose(1, 0, 2) if time_major else x
    h, c = (np.zeros_like(h0), np.zeros_like(c0)) if zero_state else (h0, c0)
    hs, cs = np.zeros(x.shape[:2] + h0.shape[1:], x.dtype), np.zeros(x.shape[:2] + h0.shape[1:],
                                                                     x.dtype)
    for t in range(x.shape[1] - skip_last):
        h, c = hs[:, t], cs[:, t] = lstm_step(x[:, t], h, c, Wx, Wh, b, **step)
    if time_major:
        hs, cs = hs.transpose(1, 0, 2), cs.transpose(1, 0, 2)
    return hs, cs


def stacked_lstm_forward(x, layers, states=None, shared=False):
    hs, finals = x, []
    for k, layer in enumerate(layers[:1] * len(layers) if shared else layers):
        H = layer["Wh"].shape[0]
        h0, c0 = states[k] if states is not None else (np.zeros((x.shape[0], H), x.dtype),) * 2
        hs, cs = lstm_forward(hs, h0, c0, **layer)
        finals.append((hs[:, -1], cs[:, -1]))
    return hs, finals


def wrong(fn, name, **mistake):
    def mistaken(*args):
        return fn(*args, **mistake)
    mistaken.__name__ = name
    return mistaken


# (exercise, wrong implementation, the diagnosis the feedback must give)
MISTAKES = [
    ("rnn_step", wrong(rnn_step, "rnn_step", transposed=True), "Wh are used transposed"),
    ("lstm_step", wrong(lstm_step, "lstm_step", order="ifog"), "gates in the wrong order"),
    ("lstm_step", wrong(lstm_step, "lstm_step", order="igfo"), "TensorFlow's order"),
    ("lstm_step", wrong(lstm_step, "lstm_step", forget=False), "forget gate is missing"),
    ("lstm_step", wrong(lstm_step, "lstm_step", h_of_g=True), "h = o * tanh(g)"),
    ("lstm_forward", wrong(lstm_forward, "lstm_forward", h_of_g=True), "h = o * tanh(g)"),
    ("lstm_forward", wrong(lstm_forward, "lstm_forward", skip_last=True), "skips the last"),
    ("lstm_forward", wrong(lstm_forward, "lstm_forward", zero_state=True),
     "initial state (h0, c0) is ignored"),
    ("lstm_forward", wrong(lstm_forward, "lstm_forward", time_major=True), "time-major"),
    ("stacked_lstm_forward", wrong(stacked_lstm_forward, "stacked_lstm_forward", shared=True),
     "one weight set (layers[0]) is used for every layer"),
]


@pytest.mark.parametrize("exercise_id, fn, diagnosis", MISTAKES,
                         ids=[f"{m[0]}: {m[2]}" for m in MISTAKES])
def test_a_mistake_loses_points_and_is_named(exercise_id, fn, diagnosis):
    exercise = registry.get(exercise_id)
    report = run_checks(fn, exercise, np.random.default_rng(3))
    failed = [r for r in report.results if not r.passed]
    assert failed and report.score < exercise.points
    assert report.score == exercise.points * (len(report.results) - len(failed)) / len(
        report.results)
    # Where the mistake runs at all (a shared weight set fails on layers of other widths).
    assert all(names(r.message, diagnosis) or r.message.startswith("raised") for r in failed), \
        report.summary()
    assert any(names(r.message, diagnosis) for r in failed)


def names(feedback, diagnosis):
    """True if the feedback's "Probably: ..." is the diagnosis."""
    return diagnosis in feedback.partition("Probably: ")[2]


@pytest.mark.parametrize("exercise_id", sorted({m[0] for m in MISTAKES}))
def test_the_implementations_here_are_right_without_their_mistake(exercise_id):
    fn = {"rnn_step": rnn_step, "lstm_step": lstm_step, "lstm_forward": lstm_forward,
          "stacked_lstm_forward": stacked_lstm_forward}[exercise_id]
    assert run_checks(fn, registry.get(exercise_id), np.random.default_rng(3)).passed


def test_the_grader_names_the_mistakes_too(tmp_path):
    """Through the sandbox: a notebook with one mistake per exercise."""
    import inspect

    source = "\n\n".join(inspect.getsource(f) for f in (sigmoid, rnn_step, lstm_step,
                                                         lstm_forward, stacked_lstm_forward))
    helpers = source.replace("def rnn_step(", "def right_rnn_step(").replace(
        "def lstm_step(", "def right_lstm_step(").replace(
        "lstm_step(x[:, t]", "right_lstm_step(x[:, t]").replace(
        "def lstm_forward(", "def right_lstm_forward(").replace(
        "def stacked_lstm_forward(", "def right_stacked(").replace(
        "hs, cs = lstm_forward(hs", "hs, cs = right_lstm_forward(hs")
    cells = [
        "def rnn_step(x, h, Wx, Wh, b):\n    return right_rnn_step(x, h, Wx, Wh, b, True)",
        "def lstm_step(*args):\n    return right_lstm_step(*args, order='ifog')",
        "def lstm_forward(*args):\n    return right_lstm_forward(*args, skip_last=True)",
        "def stacked_lstm_forward(x, layers, states=None):\n"
        "    return right_stacked(x, layers, states, shared=True)",
    ]
    nb = notebook(tmp_path / "mistakes.ipynb", IMPORTS, (helpers, False), *cells)
    ids = ["rnn_step", "lstm_step", "lstm_forward", "stacked_lstm_forward"]
    report = grader.grade(nb, limits=Limits(timeout=20), only=ids)
    got = {e["id"]: e for e in report["exercises"]}
    for id, diagnosis in zip(ids, ["Wh are used transposed", "gates in the wrong order",
                                   "skips the last timestep", "one weight set"], strict=True):
        assert got[id]["points"] < got[id]["max_points"], got[id]
        assert any(names(c["message"], diagnosis) for c in got[id]["checks"]), got[id]
