"""Learnable initial states (solutions/initial_states.py) against independent references.

The references are written here: torch.nn.LSTM fed with an `nn.Parameter` initial
state (expanded to the batch, or computed from the first input) and differentiated by
autograd, and centred finite differences of the NumPy formulas. The checks in
autograde/checks/initial_states.py must pass the solutions and name common mistakes.
"""

import numpy as np
import pytest
import torch

from autograde import registry
from autograde.check import run_checks
from solutions.initial_states import (
    initial_state_from_input,
    initial_state_from_input_backward,
    initial_state_grads,
)
from solutions.numpy_lstm import lstm_backward, lstm_forward

SHAPES = [dict(B=1, T=1, I=2, H=3), dict(B=1, T=4, I=1, H=2), dict(B=3, T=1, I=3, H=1),
          dict(B=4, T=5, I=3, H=4), dict(B=2, T=3, I=5, H=2)]
TOL = {np.float64: 1e-10, np.float32: 1e-5}


def params(seed, dtype, B, T, I, H):
    rng = np.random.default_rng(seed)

    def r(*shape, scale=1.0):
        return (scale * rng.uniform(-1, 1, size=shape)).astype(dtype)

    return dict(x=r(B, T, I), Wx=r(I, 4 * H, scale=0.8), Wh=r(H, 4 * H, scale=0.8), b=r(4 * H),
                h0_vec=r(H), c0_vec=r(H), Wh0=r(I, H), bh0=r(H, scale=0.5), Wc0=r(I, H),
                bc0=r(H, scale=0.5), dhs=r(B, T, H))


def torch_lstm(Wx, Wh, b):
    """torch.nn.LSTM (float64, batch_first) with the book's weights ported (a transpose)."""
    I, H = Wx.shape[0], Wh.shape[0]
    lstm = torch.nn.LSTM(I, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.tensor(Wx.T, dtype=torch.float64))
        lstm.weight_hh_l0.copy_(torch.tensor(Wh.T, dtype=torch.float64))
        lstm.bias_ih_l0.copy_(torch.tensor(b, dtype=torch.float64))
        lstm.bias_hh_l0.zero_()
    return lstm


def t64(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def assert_close(got, want, dtype):
    assert got.dtype == dtype and got.shape == want.shape
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=TOL[dtype], atol=TOL[dtype])


# ---------------------------------------------------------------------------------------
# (a) a learned vector broadcast over the batch


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: " ".join(f"{k}={v}" for k, v in s.items()))
def test_learned_vector_gradient_equals_torch_parameter_expanded_to_the_batch(shape, dtype):
    p = params(1, dtype, **shape)
    B, H = shape["B"], shape["H"]
    # NumPy: the LSTM's gradients for the (B, H) states, summed by initial_state_grads.
    h0 = np.broadcast_to(p["h0_vec"], (B, H)).copy()
    c0 = np.broadcast_to(p["c0_vec"], (B, H)).copy()
    g = lstm_backward(p["dhs"], p["x"], h0, c0, p["Wx"], p["Wh"], p["b"])
    dh0_vec, dc0_vec = initial_state_grads(g["h0"], g["c0"])
    # torch: nn.Parameter vectors of shape (1, 1, H), expanded to (1, B, H).
    lstm = torch_lstm(p["Wx"], p["Wh"], p["b"])
    h0_param = torch.nn.Parameter(t64(p["h0_vec"]).reshape(1, 1, H))
    c0_param = torch.nn.Parameter(t64(p["c0_vec"]).reshape(1, 1, H))
    hs, _ = lstm(t64(p["x"]), (h0_param.expand(1, B, H), c0_param.expand(1, B, H)))
    (hs * t64(p["dhs"])).sum().backward()
    assert_close(dh0_vec, h0_param.grad.reshape(H).numpy(), dtype)
    assert_close(dc0_vec, c0_param.grad.reshape(H).numpy(), dtype)


def test_learned_vector_gradient_equals_finite_differences():
    p = params(2, np.float64, B=3, T=3, I=2, H=2)
    B = 3

    def loss():
        h0, c0 = np.tile(p["h0_vec"], (B, 1)), np.tile(p["c0_vec"], (B, 1))
        return np.sum(p["dhs"] * lstm_forward(p["x"], h0, c0, p["Wx"], p["Wh"], p["b"])[0])

    g = lstm_backward(p["dhs"], p["x"], np.tile(p["h0_vec"], (B, 1)),
                      np.tile(p["c0_vec"], (B, 1)), p["Wx"], p["Wh"], p["b"])
    for name, got in zip(("h0_vec", "c0_vec"), initial_state_grads(g["h0"], g["c0"]), strict=True):
        np.testing.assert_allclose(got, numerical_gradient(loss, p[name]), rtol=1e-7, atol=1e-8)


# ---------------------------------------------------------------------------------------
# (b) the initial state computed from the first input


def numpy_init(x, Wh0, bh0, Wc0, bc0):
    return np.tanh(x[:, 0] @ Wh0 + bh0), x[:, 0] @ Wc0 + bc0


def numerical_gradient(loss, a, eps=1e-6):
    """Centred finite differences of the scalar loss() with respect to the array a."""
    grad = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        old = a[idx]
        a[idx] = old + eps
        plus = loss()
        a[idx] = old - eps
        minus = loss()
        a[idx] = old
        grad[idx] = (plus - minus) / (2 * eps)
    return grad


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: " ".join(f"{k}={v}" for k, v in s.items()))
def test_initial_state_from_input_and_its_backward_equal_torch_autograd(shape, dtype):
    p = params(3, dtype, **shape)
    names = ("x", "Wh0", "bh0", "Wc0", "bc0")
    h0, c0 = initial_state_from_input(*(p[k] for k in names))
    dh0, dc0 = p["dhs"][:, 0], p["dhs"][:, -1][:, ::-1].copy()
    grads = initial_state_from_input_backward(dh0, dc0, *(p[k] for k in names))
    leaves = {k: t64(p[k], grad=True) for k in names}
    x1 = leaves["x"][:, 0]
    th0 = torch.tanh(x1 @ leaves["Wh0"] + leaves["bh0"])
    tc0 = x1 @ leaves["Wc0"] + leaves["bc0"]
    ((th0 * t64(dh0)).sum() + (tc0 * t64(dc0)).sum()).backward()
    assert_close(h0, th0.detach().numpy(), dtype)
    assert_close(c0, tc0.detach().numpy(), dtype)
    assert set(grads) == set(names)
    for k in names:
        assert_close(grads[k], leaves[k].grad.numpy(), dtype)


def test_initial_state_from_input_backward_equals_finite_differences():
    p = params(4, np.float64, B=2, T=3, I=3, H=2)
    names = ("x", "Wh0", "bh0", "Wc0", "bc0")
    dh0, dc0 = p["dhs"][:, 0], p["dhs"][:, 1]

    def loss():
        h0, c0 = numpy_init(*(p[k] for k in names))
        return np.sum(dh0 * h0) + np.sum(dc0 * c0)

    grads = initial_state_from_input_backward(dh0, dc0, *(p[k] for k in names))
    for k in names:
        np.testing.assert_allclose(grads[k], numerical_gradient(loss, p[k]), rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("shape", [dict(B=1, T=1, I=2, H=3), dict(B=3, T=4, I=2, H=3)],
                         ids=lambda s: " ".join(f"{k}={v}" for k, v in s.items()))
def test_chain_rule_through_the_lstm_equals_torch_autograd_end_to_end(shape):
    """x[:, 0] reaches the loss twice, as the LSTM's first input and through (h0, c0)."""
    p = params(5, np.float64, **shape)
    init = ("x", "Wh0", "bh0", "Wc0", "bc0")
    h0, c0 = initial_state_from_input(*(p[k] for k in init))
    g = lstm_backward(p["dhs"], p["x"], h0, c0, p["Wx"], p["Wh"], p["b"])
    gi = initial_state_from_input_backward(g["h0"], g["c0"], *(p[k] for k in init))
    leaves = {k: t64(p[k], grad=True) for k in init}
    x1 = leaves["x"][:, 0]
    th0 = torch.tanh(x1 @ leaves["Wh0"] + leaves["bh0"])
    tc0 = x1 @ leaves["Wc0"] + leaves["bc0"]
    hs, _ = torch_lstm(p["Wx"], p["Wh"], p["b"])(leaves["x"], (th0[None], tc0[None]))
    (hs * t64(p["dhs"])).sum().backward()
    np.testing.assert_allclose(g["x"] + gi["x"], leaves["x"].grad.numpy(), rtol=1e-10, atol=1e-12)
    for k in init[1:]:
        np.testing.assert_allclose(gi[k], leaves[k].grad.numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------------------
# Bad input


def good_init_args():
    p = params(6, np.float64, B=2, T=3, I=4, H=5)
    return dict(x=p["x"], Wh0=p["Wh0"], bh0=p["bh0"], Wc0=p["Wc0"], bc0=p["bc0"])


@pytest.mark.parametrize("name, bad, message", [
    ("x", np.zeros((2, 4)), r"x must have shape \(B, T, I\) = \(\?, \?, \?\); got \(2, 4\)"),
    ("x", np.zeros((2, 3, 3)), r"Wh0 must have shape \(I, H\) = \(3, \?\); got \(4, 5\)"),
    ("x", np.zeros((2, 0, 4)), r"at least one step.*got \(2, 0, 4\)"),
    ("bh0", np.zeros(4), r"bh0 must have shape \(H,\) = \(5,\); got \(4,\)"),
    ("Wc0", np.zeros((4, 6)), r"Wc0 must have shape \(I, H\) = \(4, 5\); got \(4, 6\)"),
    ("bc0", np.zeros((1, 5)), r"bc0 must have shape \(H,\) = \(5,\); got \(1, 5\)"),
    ("Wh0", [[0.0] * 5] * 4, r"Wh0 must be a NumPy array of shape \(I, H\); got list"),
    ("x", np.zeros((2, 3, 4), dtype=int), r"x must be float32 or float64; got int64"),
])
def test_bad_input_to_initial_state_from_input_names_expected_and_actual(name, bad, message):
    args = {**good_init_args(), name: bad}
    with pytest.raises(ValueError, match=message):
        initial_state_from_input(**args)
    with pytest.raises(ValueError, match=message):
        initial_state_from_input_backward(np.zeros((2, 5)), np.zeros((2, 5)), **args)


@pytest.mark.parametrize("dh0, dc0, message", [
    (np.zeros((3, 5)), np.zeros((2, 5)), r"dh0 must have shape \(B, H\) = \(2, 5\); got \(3, 5\)"),
    (np.zeros((2, 5)), np.zeros((2, 4)), r"dc0 must have shape \(B, H\) = \(2, 5\); got \(2, 4\)"),
])
def test_bad_gradients_to_initial_state_from_input_backward(dh0, dc0, message):
    with pytest.raises(ValueError, match=message):
        initial_state_from_input_backward(dh0, dc0, **good_init_args())


@pytest.mark.parametrize("dh0, dc0, message", [
    (np.zeros(5), np.zeros(5), r"dh0 must have shape \(B, H\) = \(\?, \?\); got \(5,\)"),
    (np.zeros((2, 5)), np.zeros((5, 2)), r"dc0 must have shape \(B, H\) = \(2, 5\); got \(5, 2\)"),
    (np.zeros((2, 5)), None, r"dc0 must be a NumPy array of shape \(B, H\); got NoneType"),
])
def test_bad_input_to_initial_state_grads_names_expected_and_actual(dh0, dc0, message):
    with pytest.raises(ValueError, match=message):
        initial_state_grads(dh0, dc0)


# ---------------------------------------------------------------------------------------
# The exercise checks pass the solutions and catch mistakes


IDS = ["initial_state_grads", "initial_state_from_input", "initial_state_from_input_backward"]


@pytest.mark.parametrize("id", IDS)
def test_the_checks_pass_the_solutions_and_their_references(id):
    import solutions.initial_states

    exercise = registry.get(id)
    assert exercise.chapter == "06_initial_states.ipynb"
    assert exercise.solution == "solutions.initial_states"
    for fn in (getattr(solutions.initial_states, id), exercise.reference):
        report = run_checks(fn, exercise, np.random.default_rng(7))
        assert report.passed, report.summary()
        assert {("float32" in r.label, "float64" in r.label) for r in report.results} >= \
            {(True, False), (False, True)}
        assert any("B=1 T=1" in r.label for r in report.results)


def mean_over_batch(dh0, dc0):
    return dh0.mean(axis=0), dc0.mean(axis=0)


def swapped(dh0, dc0):
    return dc0.sum(axis=0), dh0.sum(axis=0)


def tanh_on_c0(x, Wh0, bh0, Wc0, bc0):
    h0, c0 = numpy_init(x, Wh0, bh0, Wc0, bc0)
    return h0, np.tanh(c0)


def reads_last_step(x, Wh0, bh0, Wc0, bc0):
    return numpy_init(x[:, ::-1], Wh0, bh0, Wc0, bc0)


def as_float64(x, Wh0, bh0, Wc0, bc0):
    return tuple(a.astype(np.float64) for a in numpy_init(x, Wh0, bh0, Wc0, bc0))


def backward_with(dh0, dc0, x, Wh0, bh0, Wc0, bc0, tanh_grad=True, c_path=True):
    h0, _ = numpy_init(x, Wh0, bh0, Wc0, bc0)
    dz = dh0 * (1 - h0**2) if tanh_grad else dh0
    dx = np.zeros_like(x)
    dx[:, 0] = dz @ Wh0.T + (dc0 @ Wc0.T if c_path else 0)
    return {"x": dx, "Wh0": x[:, 0].T @ dz, "bh0": dz.sum(0), "Wc0": x[:, 0].T @ dc0,
            "bc0": dc0.sum(0)}


@pytest.mark.parametrize("id, wrong, hint", [
    ("initial_state_grads", mean_over_batch, "the mean over the batch instead of the sum"),
    ("initial_state_grads", swapped, "dh0_vec and dc0_vec are swapped"),
    ("initial_state_from_input", tanh_on_c0, "tanh is applied to c0 too"),
    ("initial_state_from_input", reads_last_step, "the last step x[:, -1] is used"),
    ("initial_state_from_input", as_float64, "keep the input dtype"),
    ("initial_state_from_input_backward",
     lambda *a: backward_with(*a, tanh_grad=False), "the derivative of tanh, 1 - h0**2"),
    ("initial_state_from_input_backward",
     lambda *a: backward_with(*a, c_path=False), "dx misses the path through c0"),
])
def test_the_checks_fail_a_wrong_answer_and_name_the_mistake(id, wrong, hint):
    report = run_checks(wrong, registry.get(id), np.random.default_rng(8))
    assert not report.passed
    assert hint in report.summary(), report.summary()
