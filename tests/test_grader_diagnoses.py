"""Feedback that names the bug: each common mistake loses points and is named.

Every wrong implementation here is a correct one written for this test (not taken from
`solutions`) with one mistake. The named diagnoses come from the checks' `suspects`
(autograde/checks/numpy_*.py, autograde/mistakes.py). TensorFlow's "forget bias stored
as well as added" is named by the TF track's checks (tests/test_tf1_lstm.py).
"""

import re

import numpy as np
import pytest
from hostile import IMPORTS, notebook

from autograde import grader, registry
from autograde.check import run_checks
from autograde.sandbox import Limits

pytestmark = pytest.mark.slow  # grades mistaken notebooks in the sandbox


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


def lstm_backward(dhs, x, h0, c0, Wx, Wh, b, order="ifgo", forget_path=True, times_f=True,
                  tanh_grad=True, add_dhs=True, carry_dh=True, skip_first=False,
                  skip_last=False, zero_dh0=False, zero_dc0=False):
    """A hand-written LSTM backward pass (the forward recomputed), with optional mistakes."""
    B, T, _ = x.shape
    H = h0.shape[1]
    h, c, cache = h0, c0, []
    for t in range(T):
        z = x[:, t] @ Wx + h @ Wh + b
        i, f, g, o = (sigmoid(z[:, :H]), sigmoid(z[:, H:2 * H]), np.tanh(z[:, 2 * H:3 * H]),
                      sigmoid(z[:, 3 * H:]))
        cache.append((h, c, i, f, g, o))
        c = f * c + i * g
        h = o * np.tanh(c)
        cache[-1] += (c,)
    grads = {k: np.zeros_like(v) for k, v in dict(x=x, Wx=Wx, Wh=Wh, b=b).items()}
    dh_next, dc_next = (np.zeros_like(h0) if add_dhs else dhs[:, -1]), np.zeros_like(c0)
    for t in range(T - 1 - skip_last, 0 if skip_first else -1, -1):
        h_prev, c_prev, i, f, g, o, c = cache[t]
        dh = (dhs[:, t] if add_dhs else 0) + (dh_next if carry_dh else 0)
        tanh_c = np.tanh(c)
        dc = dc_next + dh * o * ((1 - tanh_c**2) if tanh_grad else 1)
        dz = {"i": dc * g * i * (1 - i), "f": dc * c_prev * f * (1 - f),
              "g": dc * i * (1 - g**2), "o": dh * tanh_c * o * (1 - o)}
        dz = np.concatenate([dz[k] for k in order], axis=1)
        grads["x"][:, t] = dz @ Wx.T
        grads["Wx"] += x[:, t].T @ dz
        grads["Wh"] += h_prev.T @ dz
        grads["b"] += dz.sum(0)
        dh_next = dz @ Wh.T
        dc_next = (dc * f if times_f else dc) if forget_path else 0 * dc
    return {"x": grads["x"], "h0": 0 * dh_next if zero_dh0 else dh_next,
            "c0": 0 * dc_next if zero_dc0 else dc_next,
            "Wx": grads["Wx"], "Wh": grads["Wh"], "b": grads["b"]}


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


def fair_score(results, points):
    """The points a report should give, from its checks' labels alone: a passing check
    earns its share only if a non-degenerate check (B > 1, T > 1, I != H, as far as the
    label gives them) of its dtype passes too; every check counts in the total."""
    def degenerate(label):
        sizes = {k: int(v) for k, v in re.findall(r"\b([BTIH])=(\d+)", label)}
        return (sizes.get("B", 2) < 2 or sizes.get("T", 2) < 2
                or ("I" in sizes and "H" in sizes and sizes["I"] == sizes["H"]))

    def dtype(label):
        return label.split(",")[0]

    full = {dtype(r.label) for r in results if r.passed and not degenerate(r.label)}
    earned = [r.passed and (not degenerate(r.label) or dtype(r.label) in full) for r in results]
    return points * sum(earned) / len(results)


@pytest.mark.parametrize("exercise_id, fn, diagnosis", MISTAKES,
                         ids=[f"{m[0]}: {m[2]}" for m in MISTAKES])
def test_a_mistake_loses_points_and_is_named(exercise_id, fn, diagnosis):
    exercise = registry.get(exercise_id)
    report = run_checks(fn, exercise, np.random.default_rng(3))
    failed = [r for r in report.results if not r.passed]
    assert failed and report.score < exercise.points
    assert report.score == pytest.approx(fair_score(report.results, exercise.points))
    # Where the mistake runs at all (a shared weight set fails on layers of other widths).
    assert all(names(r.message, diagnosis) or r.message.startswith("raised") for r in failed), \
        report.summary()
    assert any(names(r.message, diagnosis) for r in failed)


# (the mistake in lstm_backward, the diagnosis the feedback must give)
BACKWARD_MISTAKES = [
    (dict(order="ifog"), "the backward puts the gate gradients in the wrong order"),
    (dict(order="igfo"), "the backward puts the gate gradients in TensorFlow's order"),
    (dict(forget_path=False), "the cell-state gradient is not carried to the previous step"),
    (dict(times_f=False), "the carried cell-state gradient misses the forget gate"),
    (dict(tanh_grad=False), "dc misses the derivative of tanh"),
    (dict(add_dhs=False), "dhs[:, t] is not added to the carried dh"),
    (dict(carry_dh=False), "the carried dh from step t+1 is dropped"),
    (dict(skip_first=True), "the backward loop skips the first timestep"),
    (dict(skip_last=True), "the backward loop skips the last timestep"),
    (dict(zero_dh0=True), "dh0 is left at zero"),
    (dict(zero_dc0=True), "dc0 is left at zero"),
]


@pytest.mark.parametrize("mistake, diagnosis", BACKWARD_MISTAKES,
                         ids=[m[1] for m in BACKWARD_MISTAKES])
def test_a_backward_mistake_is_named_and_every_wrong_gradient_listed(mistake, diagnosis):
    exercise = registry.get("lstm_backward")
    report = run_checks(wrong(lstm_backward, "lstm_backward", **mistake), exercise,
                        np.random.default_rng(4))
    failed = [r for r in report.results if not r.passed]
    assert failed and report.score < exercise.points, report.summary()
    assert any(names(r.message, diagnosis) for r in failed), report.summary()
    # Every failed case names every wrong gradient, not only the first.
    fn = wrong(lstm_backward, "lstm_backward", **mistake)
    for case, r in zip(exercise.make_cases(np.random.default_rng(4)), report.results,
                       strict=True):
        got = fn(*case.inputs.values())
        differ = [k for k, want in case.expected.items()
                  if not np.allclose(got[k], want, rtol=0, atol=case.atol * (1 + np.abs(want)).max())]
        listed = r.message.partition(" Wrong: ")[2].partition(".")[0]
        named = {r.message.split(" ")[0], *re.findall(r"\b(x|h0|c0|Wx|Wh|b)\b", listed)}
        assert set(differ) <= named, (differ, r.message)


def test_a_backward_gate_order_names_the_wrong_blocks():
    report = run_checks(wrong(lstm_backward, "lstm_backward", order="ifog"),
                        registry.get("lstm_backward"), np.random.default_rng(4))
    text = report.summary()
    # With one timestep, only the g and o blocks of the weight gradients are wrong (and dc0,
    # which does not pass through dz, is right); with more, the error spreads to all.
    assert "B=1 T=1" in report.results[0].label
    assert "Wrong: x, h0, Wx (gate blocks g, o), Wh (gate blocks g, o), b (gate blocks g, o)." \
        in report.results[0].message, text
    assert "Wrong: x, h0, c0, Wx, Wh, b." in report.results[1].message, text


def test_the_right_backward_passes_and_triggers_no_hint():
    report = run_checks(lstm_backward, registry.get("lstm_backward"), np.random.default_rng(4))
    assert report.passed, report.summary()
    assert all("Probably" not in r.message for r in report.results)


def names(feedback, diagnosis):
    """True if the feedback's "Probably: ..." is the diagnosis."""
    return diagnosis in feedback.partition("Probably: ")[2]


@pytest.mark.parametrize("exercise_id", sorted({m[0] for m in MISTAKES}))
def test_the_implementations_here_are_right_without_their_mistake(exercise_id):
    fn = {"rnn_step": rnn_step, "lstm_step": lstm_step, "lstm_forward": lstm_forward,
          "stacked_lstm_forward": stacked_lstm_forward,
          "lstm_backward": lstm_backward}[exercise_id]
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


def test_a_shape_error_in_the_learners_code_names_the_operand():
    report = run_checks(wrong(_step_with_wx_t, "lstm_step"), registry.get("lstm_step"),
                        np.random.default_rng(3))
    assert report.score == 0
    for r in report.results:
        assert r.message.startswith("raised ValueError"), r.message
        assert "Probably: a matrix product's right operand has" in r.message, r.message
        assert "is it used transposed (Wx.T)?" in r.message, r.message


def _step_with_wx_t(x, h, c, Wx, Wh, b):
    z = x @ Wx.T + h @ Wh + b  # the mistake: Wx is (I, 4H) already
    H = h.shape[1]
    i, f, g, o = (sigmoid(z[:, :H]), sigmoid(z[:, H:2 * H]), np.tanh(z[:, 2 * H:3 * H]),
                  sigmoid(z[:, 3 * H:]))
    c_next = f * c + i * g
    return o * np.tanh(c_next), c_next


def test_points_only_for_work_that_is_right():
    """A time-major lstm_forward passes only the B = 1, T = 1 cases: no points (it had 1/3).
    A float64-only one passes every float64 case, larger ones included: half the points."""
    exercise = registry.get("lstm_forward")
    time_major = run_checks(wrong(lstm_forward, "lstm_forward", time_major=True), exercise,
                            np.random.default_rng(3))
    assert any(r.passed for r in time_major.results) and time_major.score == 0
    assert "earn no points until a larger case passes" in time_major.summary()

    def float64_only(x, h0, c0, Wx, Wh, b):
        return lstm_forward(*(a.astype(np.float64) for a in (x, h0, c0, Wx, Wh, b)))

    report = run_checks(float64_only, exercise, np.random.default_rng(3))
    assert report.score == pytest.approx(exercise.points / 2)
    assert all(r.passed == r.label.startswith("float64") for r in report.results)


def test_the_grader_gives_the_new_hints_and_fair_points(tmp_path):
    """Through the sandbox: the shape hint, every wrong gradient, no points for
    degenerate passes."""
    import inspect

    source = "\n\n".join(inspect.getsource(f) for f in (sigmoid, lstm_step, lstm_forward,
                                                         lstm_backward, _step_with_wx_t))
    helpers = source.replace("def lstm_step(", "def right_lstm_step(").replace(
        "lstm_step(x[:, t]", "right_lstm_step(x[:, t]").replace(
        "def lstm_forward(", "def right_lstm_forward(").replace(
        "def lstm_backward(", "def right_lstm_backward(")
    cells = [
        "def lstm_step(x, h, c, Wx, Wh, b):\n    return _step_with_wx_t(x, h, c, Wx, Wh, b)",
        "def lstm_forward(*args):\n    return right_lstm_forward(*args, time_major=True)",
        "def lstm_backward(*args):\n    return right_lstm_backward(*args, order='ifog')",
    ]
    nb = notebook(tmp_path / "hints.ipynb", IMPORTS, (helpers, False), *cells)
    report = grader.grade(nb, limits=Limits(timeout=30),
                          only=["lstm_step", "lstm_forward", "lstm_backward"])
    got = {e["id"]: e for e in report["exercises"]}
    assert got["lstm_step"]["points"] == 0
    assert "is it used transposed (Wx.T)?" in got["lstm_step"]["feedback"], got["lstm_step"]
    assert got["lstm_forward"]["points"] == 0 and got["lstm_forward"]["verdict"] == "failed"
    assert "earn no points" in got["lstm_forward"]["feedback"], got["lstm_forward"]
    assert any("Wx (gate blocks g, o), Wh (gate blocks g, o)" in c["message"]
               and names(c["message"], "the backward puts the gate gradients in the wrong order")
               for c in got["lstm_backward"]["checks"]), got["lstm_backward"]


# Bugs of hand-written LSTMs found online (the bug clinic): check() names each in words.
def rnn_step_weights_swapped(x, h, Wx, Wh, b):
    return np.tanh(x @ Wh + h @ Wx + b)  # runs only when I == H


def lstm_step_states_swapped(x, h, c, Wx, Wh, b):
    h_next, c_next = lstm_step(x, h, c, Wx, Wh, b)
    return c_next, h_next


def lstm_forward_range_t_minus_1(x, h0, c0, Wx, Wh, b):
    hs, cs, h, c = [], [], h0, c0
    for t in range(x.shape[1] - 1):
        h, c = lstm_step(x[:, t], h, c, Wx, Wh, b)
        hs.append(h)
        cs.append(c)
    empty = np.zeros(h0.shape[:1] + (0,) + h0.shape[1:], x.dtype)
    return (np.stack(hs, 1), np.stack(cs, 1)) if hs else (empty, empty)


CLINIC = [
    ("rnn_step", rnn_step_weights_swapped, "Wh has 3 rows: is it used where another weight belongs"),
    ("lstm_step", lstm_step_states_swapped, "h_next and c_next are returned swapped"),
    ("lstm_forward", lstm_forward_range_t_minus_1, "the loop runs over range(T - 1)"),
]


@pytest.mark.parametrize("exercise_id, fn, diagnosis", CLINIC, ids=[c[2] for c in CLINIC])
def test_bug_clinic_mistakes_are_named(exercise_id, fn, diagnosis):
    fn.__name__ = exercise_id
    report = run_checks(fn, registry.get(exercise_id), np.random.default_rng(0))
    assert not report.passed and report.score == 0
    assert any(diagnosis in r.message.partition("Probably: ")[2] for r in report.results), \
        report.summary()
