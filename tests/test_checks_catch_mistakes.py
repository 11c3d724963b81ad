"""The checks can fail: wrong implementations of the NumPy exercises do not pass.

Each wrong implementation below is a correct one (written here, not taken from
`solutions`) with one mistake a learner makes. Where autograde names that mistake
(the `suspects` in autograde/checks), the feedback must name it too.
"""

import numpy as np
import pytest

from autograde import check, registry
from autograde.check import run_checks


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


# ---------------------------------------------------------------------------------------
# RNN, correct with the defaults; each keyword is a mistake


def rnn_step_with(x, h, Wx, Wh, b, transpose=False, squash=True):
    z = x @ Wx + h @ (Wh.T if transpose else Wh) + b
    return np.tanh(z) if squash else z


def rnn_forward_with(x, h0, Wx, Wh, b, skip_last=False, zero_h0=False, time_major_out=False,
                     **step_mistakes):
    B, T, _ = x.shape
    hs = np.zeros((B, T, Wh.shape[0]), dtype=x.dtype)
    h = np.zeros_like(h0) if zero_h0 else h0
    for t in range(T - 1 if skip_last else T):
        h = hs[:, t] = rnn_step_with(x[:, t], h, Wx, Wh, b, **step_mistakes)
    return hs.transpose(1, 0, 2) if time_major_out else hs


def rnn_backward_with(dhs, x, h0, Wx, Wh, b, through_time=True, tanh_grad=True):
    hs = rnn_forward_with(x, h0, Wx, Wh, b)
    h_prev = np.concatenate([h0[:, None], hs[:, :-1]], axis=1)
    grads = {k: np.zeros_like(v) for k, v in dict(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b).items()}
    dh = np.zeros_like(h0)
    for t in reversed(range(x.shape[1])):
        dh = dh + dhs[:, t] if through_time else dhs[:, t]
        dz = dh * (1 - hs[:, t] ** 2) if tanh_grad else dh
        grads["x"][:, t] = dz @ Wx.T
        grads["Wx"] += x[:, t].T @ dz
        grads["Wh"] += h_prev[:, t].T @ dz
        grads["b"] += dz.sum(0)
        dh = dz @ Wh.T
    grads["h0"] = dh
    return grads


# ---------------------------------------------------------------------------------------
# LSTM, correct with the defaults; each keyword is a mistake


def lstm_step_with(x, h, c, Wx, Wh, b, order="ifgo", forget_gate=True, h_of_g=False,
                   as_float64=False, keep_batch_axis=False):
    z = x @ Wx + h @ Wh + b
    blocks = dict(zip(order, np.split(z, 4, axis=1), strict=True))
    i, f, o = sigmoid(blocks["i"]), sigmoid(blocks["f"]), sigmoid(blocks["o"])
    g = np.tanh(blocks["g"])
    c_next = (f * c if forget_gate else c) + i * g
    h_next = o * np.tanh(g if h_of_g else c_next)
    if as_float64:
        h_next, c_next = h_next.astype(np.float64), c_next.astype(np.float64)
    if keep_batch_axis:
        h_next, c_next = h_next[None], c_next[None]
    return h_next, c_next


def lstm_forward_with(x, h0, c0, Wx, Wh, b, skip_last=False, zero_state=False,
                      time_major_in=False, time_major_out=False, **step_mistakes):
    if time_major_in:  # reads x (B, T, I) as if it were (T, B, I), and writes hs likewise
        x = x.transpose(1, 0, 2)
    B, T, _ = x.shape
    H = Wh.shape[0]
    dtype = np.float64 if step_mistakes.get("as_float64") else x.dtype
    hs, cs = np.zeros((B, T, H), dtype), np.zeros((B, T, H), dtype)
    h, c = (np.zeros_like(h0), np.zeros_like(c0)) if zero_state else (h0, c0)
    for t in range(T - 1 if skip_last else T):
        h, c = hs[:, t], cs[:, t] = lstm_step_with(x[:, t], h, c, Wx, Wh, b, **step_mistakes)
    if time_major_in or time_major_out:  # writes hs as (T, B, H)
        hs, cs = hs.transpose(1, 0, 2), cs.transpose(1, 0, 2)
    return hs, cs


def lstm_backward_with(dhs, x, h0, c0, Wx, Wh, b, dc_through_f=True, dh_through_time=True,
                       order="ifgo"):
    B, T, _ = x.shape
    H = h0.shape[1]
    hs, cs = lstm_forward_with(x, h0, c0, Wx, Wh, b)
    h_prev = np.concatenate([h0[:, None], hs[:, :-1]], axis=1)
    c_prev = np.concatenate([c0[:, None], cs[:, :-1]], axis=1)
    grads = {k: np.zeros_like(v) for k, v in dict(x=x, h0=h0, c0=c0, Wx=Wx, Wh=Wh, b=b).items()}
    dh, dc = np.zeros_like(h0), np.zeros_like(c0)
    for t in reversed(range(T)):
        z = x[:, t] @ Wx + h_prev[:, t] @ Wh + b
        zi, zf, zg, zo = np.split(z, 4, axis=1)
        i, f, g, o = sigmoid(zi), sigmoid(zf), np.tanh(zg), sigmoid(zo)
        tanh_c = np.tanh(cs[:, t])
        dh = dh + dhs[:, t] if dh_through_time else dhs[:, t]
        dc = dc + dh * o * (1 - tanh_c**2)
        blocks = {"i": dc * g * i * (1 - i), "f": dc * c_prev[:, t] * f * (1 - f),
                  "g": dc * i * (1 - g**2), "o": dh * tanh_c * o * (1 - o)}
        dz = np.concatenate([blocks[k] for k in order], axis=1)
        grads["x"][:, t] = dz @ Wx.T
        grads["Wx"] += x[:, t].T @ dz
        grads["Wh"] += h_prev[:, t].T @ dz
        grads["b"] += dz.sum(0)
        dh = dz @ Wh.T
        dc = dc * f if dc_through_f else dc
    grads["h0"], grads["c0"] = dh, dc
    assert dz.shape == (B, 4 * H)
    return grads


def stacked_with(x, layers, states=None, zero_states=False, ch_order=False, all_read_x=False):
    hs, finals = x, []
    for k, layer in enumerate(layers):
        H = layer["Wh"].shape[0]
        zeros = np.zeros((x.shape[0], H), x.dtype)
        h0, c0 = (zeros, zeros) if states is None or zero_states else states[k]
        hs, cs = lstm_forward_with(x if all_read_x else hs, h0, c0, **layer)
        finals.append((cs[:, -1], hs[:, -1]) if ch_order else (hs[:, -1], cs[:, -1]))
    return hs, finals


def wrong(fn, **mistake):
    return lambda *args: fn(*args, **mistake)


# The feedback for the mistakes autograde names (see autograde/checks/numpy_*.py).
GATE_ORDER = "gates in the wrong order"
TF_ORDER = "TensorFlow's order"
NO_FORGET = "the forget gate is missing"
SKIPS_LAST = "the loop skips the last timestep"
IGNORES_STATE = "is ignored (zeros used instead)"
TIME_MAJOR = "x is read as time-major"
DTYPE = "keep the input dtype"
SHAPE = "has shape"
TRANSPOSED_WH = "Wh are used transposed"
H_FROM_G = "h = o * tanh(g)"
DWH_TRANSPOSED = "the gradient of Wh is transposed"
STATES_IGNORED = "the given states are ignored"
C_H_ORDER = "returned as (c_T, h_T)"
ALL_READ_X = "every layer reads x"

# (exercise id, mistake, wrong implementation, what the feedback must say or None)
MISTAKES = [
    ("rnn_step", "transposed Wh", wrong(rnn_step_with, transpose=True), TRANSPOSED_WH),
    ("rnn_step", "no tanh", wrong(rnn_step_with, squash=False), None),
    ("rnn_step", "float64 output", lambda *a: rnn_step_with(*a).astype(np.float64), DTYPE),
    ("rnn_forward", "skips the last step", wrong(rnn_forward_with, skip_last=True), SKIPS_LAST),
    ("rnn_forward", "ignores h0", wrong(rnn_forward_with, zero_h0=True), IGNORES_STATE),
    ("rnn_forward", "transposed Wh", wrong(rnn_forward_with, transpose=True), TRANSPOSED_WH),
    ("rnn_forward", "returns (T, B, H)", wrong(rnn_forward_with, time_major_out=True), SHAPE),
    ("rnn_backward", "no gradient through time", wrong(rnn_backward_with, through_time=False),
     None),
    ("rnn_backward", "forgets tanh'", wrong(rnn_backward_with, tanh_grad=False), None),
    ("rnn_backward", "dWh transposed",
     lambda *a: {**rnn_backward_with(*a), "Wh": rnn_backward_with(*a)["Wh"].T}, DWH_TRANSPOSED),
    ("lstm_step", "gate order i, f, o, g", wrong(lstm_step_with, order="ifog"), GATE_ORDER),
    ("lstm_step", "TensorFlow's gate order", wrong(lstm_step_with, order="igfo"), TF_ORDER),
    ("lstm_step", "no forget gate", wrong(lstm_step_with, forget_gate=False), NO_FORGET),
    ("lstm_step", "h = o * tanh(g)", wrong(lstm_step_with, h_of_g=True), H_FROM_G),
    ("lstm_step", "float64 output", wrong(lstm_step_with, as_float64=True), DTYPE),
    ("lstm_step", "returns (1, B, H)", wrong(lstm_step_with, keep_batch_axis=True), SHAPE),
    ("lstm_step", "transposed weights (torch's layout)",
     lambda x, h, c, Wx, Wh, b: lstm_step_with(x, h, c, Wx.T, Wh.T, b), None),
    ("lstm_forward", "gate order i, f, o, g", wrong(lstm_forward_with, order="ifog"), GATE_ORDER),
    ("lstm_forward", "no forget gate", wrong(lstm_forward_with, forget_gate=False), NO_FORGET),
    ("lstm_forward", "h = o * tanh(g)", wrong(lstm_forward_with, h_of_g=True), H_FROM_G),
    ("lstm_forward", "skips the last step", wrong(lstm_forward_with, skip_last=True), SKIPS_LAST),
    ("lstm_forward", "ignores (h0, c0)", wrong(lstm_forward_with, zero_state=True), IGNORES_STATE),
    ("lstm_forward", "reads x as (T, B, I)", wrong(lstm_forward_with, time_major_in=True),
     TIME_MAJOR),
    ("lstm_forward", "returns (T, B, H)", wrong(lstm_forward_with, time_major_out=True), SHAPE),
    ("lstm_forward", "float64 output", wrong(lstm_forward_with, as_float64=True), DTYPE),
    ("lstm_backward", "dc not multiplied by f", wrong(lstm_backward_with, dc_through_f=False),
     None),
    ("lstm_backward", "no dh from later steps", wrong(lstm_backward_with, dh_through_time=False),
     None),
    ("lstm_backward", "dz blocks in order i, f, o, g", wrong(lstm_backward_with, order="ifog"),
     None),
    ("lstm_backward", "float64 gradients",
     lambda *a: {k: v.astype(np.float64) for k, v in lstm_backward_with(*a).items()}, DTYPE),
    ("stacked_lstm_forward", "ignores the given states", wrong(stacked_with, zero_states=True),
     STATES_IGNORED),
    ("stacked_lstm_forward", "final states as (c, h)", wrong(stacked_with, ch_order=True),
     C_H_ORDER),
    ("stacked_lstm_forward", "every layer reads x", wrong(stacked_with, all_read_x=True),
     ALL_READ_X),
]


def _correct(exercise_id):
    """This file's own implementation without mistakes, for the exercise."""
    return {"rnn_step": rnn_step_with, "rnn_forward": rnn_forward_with,
            "rnn_backward": rnn_backward_with, "lstm_step": lstm_step_with,
            "lstm_forward": lstm_forward_with, "lstm_backward": lstm_backward_with,
            "stacked_lstm_forward": stacked_with}[exercise_id]


NUMPY_TRACK = sorted({m[0] for m in MISTAKES})


@pytest.mark.parametrize("exercise_id", NUMPY_TRACK)
def test_the_wrong_implementations_are_wrong_only_by_their_mistake(exercise_id):
    """Without its mistake, each implementation here passes: the failures below are real."""
    report = run_checks(_correct(exercise_id), registry.get(exercise_id), np.random.default_rng(0))
    assert report.passed, report.summary()


@pytest.mark.parametrize("exercise_id, mistake, fn, feedback", MISTAKES,
                         ids=[f"{m[0]}: {m[1]}" for m in MISTAKES])
def test_a_mistake_fails_its_check(exercise_id, mistake, fn, feedback):
    report = run_checks(fn, registry.get(exercise_id), np.random.default_rng(1))
    summary = report.summary()
    assert not report.passed, f"{mistake} passed: {summary}"
    assert not report.stub and report.score < registry.get(exercise_id).points
    assert summary.startswith(f"{exercise_id}: ") and "checks passed" in summary, summary
    if feedback:
        assert feedback in summary, summary


@pytest.mark.parametrize("exercise_id", NUMPY_TRACK)
def test_the_reference_solution_passes(exercise_id):
    import solutions.numpy_lstm
    import solutions.numpy_rnn

    exercise = registry.get(exercise_id)
    fn = getattr({"solutions.numpy_rnn": solutions.numpy_rnn,
                  "solutions.numpy_lstm": solutions.numpy_lstm}[exercise.solution], exercise_id)
    report = run_checks(fn, exercise, np.random.default_rng(2))
    assert report.passed and report.score == exercise.points, report.summary()
    assert "passed all" in report.summary()


def test_a_stub_is_not_implemented_yet(capsys):
    def lstm_step(x, h, c, Wx, Wh, b):
        raise NotImplementedError

    report = run_checks(lstm_step, registry.get("lstm_step"))
    assert report.stub and not report.passed and report.score == 0
    check(lstm_step)
    out = capsys.readouterr().out
    assert out.startswith("lstm_step: not implemented yet"), out


@pytest.mark.parametrize("thing", [3, "lstm_step", None, [np.zeros(3)]])
def test_check_of_a_non_callable_explains_and_does_not_raise(thing, capsys):
    check(thing)
    out = capsys.readouterr().out
    assert "check() takes your function or class itself" in out, out


def test_check_of_an_unknown_name_lists_the_exercises(capsys):
    def lstm_stepp(x, h, c, Wx, Wh, b):
        return x

    check(lstm_stepp)
    out = capsys.readouterr().out
    assert "no exercise is called 'lstm_stepp'" in out and "lstm_step" in out, out


def test_check_of_a_function_that_raises_reports_the_error(capsys):
    def rnn_step(x, h, Wx, Wh, b):
        return x @ Wh  # I != H: a shape error inside the learner's code

    check(rnn_step)
    out = capsys.readouterr().out
    assert "rnn_step: 0 of" in out and "raised ValueError" in out, out


def test_a_mistake_that_changes_nothing_in_a_case_is_not_named_there():
    """Computed in float32, a float64 case is off by rounding alone; where a suspect gives
    the right outputs too (a state never carried, with T = 1), it must not be named."""
    def lstm_forward(x, h0, c0, Wx, Wh, b):
        args = (a.astype(np.float32) for a in (x, h0, c0, Wx, Wh, b))
        return tuple(s.astype(x.dtype) for s in lstm_forward_with(*args))

    report = run_checks(lstm_forward, registry.get("lstm_forward"), np.random.default_rng(0))
    one_step = [r for r in report.results if "T=1 " in r.label and r.dtype == "float64"]
    assert one_step and not any(r.passed for r in one_step), report.summary()
    assert not any("Probably" in r.message for r in one_step), report.summary()
