"""solutions.numpy_rnn and solutions.numpy_lstm against torch.nn.RNN / torch.nn.LSTM.

The references are written here, independently of autograde.references: each builds
the torch module, copies the book's weights into its parameters (a transpose, see
book/91_conventions.ipynb) and runs it in float64. Gradients come from torch autograd and from
centred finite differences of the torch forward.
"""

import re

import numpy as np
import pytest
import torch

from solutions.numpy_lstm import lstm_backward, lstm_forward, lstm_step, stacked_lstm_forward
from solutions.numpy_rnn import rnn_backward, rnn_forward, rnn_step
from tests.helpers.torch_references import (
    TOL,
    assert_close,
    lstm_args,
    lstm_autograd,
    random_arrays,
    rnn_args,
    rnn_autograd,
    t64,
    torch_lstm,
    torch_lstm_states,
    torch_rnn,
)

DTYPES = [np.float64, np.float32]
# (B, T, I, H): B = 1, T = 1, I != H, I == H, and two drawn at random.
_draw = np.random.default_rng(2024).integers(1, 7, size=(2, 4))
SHAPES = [(1, 1, 2, 3), (1, 6, 4, 2), (3, 1, 3, 3), (4, 5, 3, 6)]
SHAPES += [tuple(map(int, s)) for s in _draw]


# ---------------------------------------------------------------------------------------
# Forward


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("B, T, I, H", SHAPES)
def test_rnn_forward_and_step_equal_torch(B, T, I, H, dtype):
    a = rnn_args(np.random.default_rng(B * 1000 + T * 100 + I * 10 + H), dtype, B, T, I, H)
    with torch.no_grad():
        want, _ = torch_rnn(a["Wx"], a["Wh"], a["b"])(t64(a["x"]), t64(a["h0"])[None])
    assert_close(rnn_forward(**a), want, TOL[dtype], dtype)
    h1 = rnn_step(a["x"][:, 0], a["h0"], a["Wx"], a["Wh"], a["b"])
    assert_close(h1, want[:, 0], TOL[dtype], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("B, T, I, H", SHAPES)
def test_lstm_forward_and_step_equal_torch(B, T, I, H, dtype):
    a = lstm_args(np.random.default_rng(B * 1000 + T * 100 + I * 10 + H), dtype, B, T, I, H)
    want_hs, want_cs = torch_lstm_states(a)
    with torch.no_grad():  # the whole sequence in one call gives the same hs and final state
        out, (h_n, c_n) = torch_lstm(a["Wx"], a["Wh"], a["b"])(
            t64(a["x"]), (t64(a["h0"])[None], t64(a["c0"])[None]))
    hs, cs = lstm_forward(**a)
    for got, want in ((hs, want_hs), (hs, out), (cs, want_cs), (hs[:, -1], h_n[0]),
                      (cs[:, -1], c_n[0])):
        assert_close(got, want, TOL[dtype], dtype)
    h1, c1 = lstm_step(a["x"][:, 0], a["h0"], a["c0"], a["Wx"], a["Wh"], a["b"])
    assert_close(h1, want_hs[:, 0], TOL[dtype], dtype)
    assert_close(c1, want_cs[:, 0], TOL[dtype], dtype)


def stack(rng, dtype, widths):
    return [random_arrays(rng, dtype, Wx=(i, 4 * h), Wh=(h, 4 * h), b=(4 * h,))
            for i, h in zip(widths[:-1], widths[1:], strict=True)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("widths", [[3, 5], [3, 5, 2, 4], [1, 2, 6]])
@pytest.mark.parametrize("with_states", [False, True])
def test_stacked_lstm_equals_chained_torch_layers(widths, with_states, dtype):
    rng = np.random.default_rng(len(widths) + 10 * with_states)
    B, T = 2, 4
    x = rng.uniform(-1, 1, (B, T, widths[0])).astype(dtype)
    layers = stack(rng, dtype, widths)
    states = [tuple(rng.uniform(-1, 1, (2, B, h)).astype(dtype)) for h in widths[1:]] \
        if with_states else None
    hs, finals = stacked_lstm_forward(x, layers, states)
    assert len(finals) == len(layers)
    want = t64(x)
    for k, layer in enumerate(layers):
        h0, c0 = states[k] if states else (np.zeros((B, widths[k + 1])),) * 2
        with torch.no_grad():
            want, (h_n, c_n) = torch_lstm(**layer)(want, (t64(h0)[None], t64(c0)[None]))
        assert_close(finals[k][0], h_n[0], TOL[dtype], dtype)
        assert_close(finals[k][1], c_n[0], TOL[dtype], dtype)
    assert_close(hs, want, TOL[dtype], dtype)


def test_stacked_lstm_equals_torch_multilayer_lstm():
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, (3, 5, 4))
    layers = stack(rng, np.float64, [4, 3, 3, 3])
    hs, finals = stacked_lstm_forward(x, layers)
    lstm = torch_lstm(*[[layer[k] for layer in layers] for k in ("Wx", "Wh", "b")], num_layers=3)
    with torch.no_grad():
        want, (h_n, c_n) = lstm(t64(x))
    assert_close(hs, want, 1e-10, np.float64)
    for k, (h, c) in enumerate(finals):
        assert_close(h, h_n[k], 1e-10, np.float64)
        assert_close(c, c_n[k], 1e-10, np.float64)


# ---------------------------------------------------------------------------------------
# Backward: torch autograd, then finite differences


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("B, T, I, H", SHAPES)
def test_rnn_backward_equals_autograd(B, T, I, H, dtype):
    rng = np.random.default_rng(B + T + I + H)
    a = rnn_args(rng, dtype, B, T, I, H)
    dhs = rng.uniform(-1, 1, (B, T, H)).astype(dtype)
    got, want = rnn_backward(dhs, **a), rnn_autograd(a, dhs)
    assert set(got) == set(want)
    for k in want:
        assert_close(got[k], want[k], TOL[dtype], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("B, T, I, H", SHAPES)
def test_lstm_backward_equals_autograd(B, T, I, H, dtype):
    rng = np.random.default_rng(B + T + I + H)
    a = lstm_args(rng, dtype, B, T, I, H)
    dhs = rng.uniform(-1, 1, (B, T, H)).astype(dtype)
    got, want = lstm_backward(dhs, **a), lstm_autograd(a, dhs)
    assert set(got) == set(want)
    for k in want:
        assert_close(got[k], want[k], TOL[dtype], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("B, T, I, H", SHAPES)
def test_lstm_backward_with_the_forwards_cache_equals_autograd(B, T, I, H, dtype):
    """lstm_forward(..., return_cache=True) and lstm_backward(..., cache=): same answers as
    torch, and the same as the positional calls without a cache."""
    rng = np.random.default_rng(B + T + I + H)
    a = lstm_args(rng, dtype, B, T, I, H)
    dhs = rng.uniform(-1, 1, (B, T, H)).astype(dtype)
    args = (a["x"], a["h0"], a["c0"], a["Wx"], a["Wh"], a["b"])
    hs, cs, cache = lstm_forward(*args, return_cache=True)
    hs_plain, cs_plain = lstm_forward(*args)
    want_hs, want_cs = torch_lstm_states(a)
    assert_close(hs, want_hs, TOL[dtype], dtype)
    assert_close(cs, want_cs, TOL[dtype], dtype)
    hs_before, cs_before = hs.copy(), cs.copy()
    got = lstm_backward(dhs, *args, cache=cache)
    want = lstm_autograd(a, dhs)
    assert set(got) == set(want)
    for k in want:
        assert_close(got[k], want[k], TOL[dtype], dtype)
    # The cache served the backward pass without changing what the forward returned.
    np.testing.assert_array_equal(hs, hs_before)
    np.testing.assert_array_equal(cs, cs_before)
    np.testing.assert_array_equal(hs, hs_plain)
    np.testing.assert_array_equal(cs, cs_plain)


def test_lstm_backward_with_cache_equals_finite_differences():
    rng = np.random.default_rng(8)
    a = lstm_args(rng, np.float64, 2, 4, 3, 2)
    dhs = rng.uniform(-1, 1, (2, 4, 2))

    def loss(a):
        with torch.no_grad():
            hs, _ = torch_lstm(a["Wx"], a["Wh"], a["b"])(
                t64(a["x"]), (t64(a["h0"])[None], t64(a["c0"])[None]))
        return float((t64(dhs) * hs).sum())

    want = finite_differences(loss, a)
    _, _, cache = lstm_forward(**a, return_cache=True)
    got = lstm_backward(dhs, **a, cache=cache)
    for k in want:
        assert_close(got[k], want[k], 1e-7, np.float64)


def test_lstm_training_loop_with_cache_matches_without():
    """A careless learner's loop: forward with a cache, backward, update the weights in
    place, again. Each step's gradients equal those of the positional call."""
    rng = np.random.default_rng(9)
    a = lstm_args(rng, np.float64, 3, 5, 4, 3)
    b = {k: v.copy() for k, v in a.items()}
    for _ in range(3):
        dhs = rng.uniform(-1, 1, (3, 5, 3))
        _, _, cache = lstm_forward(**a, return_cache=True)
        with_cache = lstm_backward(dhs, **a, cache=cache)
        without = lstm_backward(dhs, **b)
        for k in without:
            np.testing.assert_allclose(with_cache[k], without[k], rtol=1e-12, atol=1e-14)
        for w in ("Wx", "Wh", "b"):
            a[w] -= 0.1 * with_cache[w]
            b[w] -= 0.1 * without[w]


def test_lstm_backward_rejects_a_cache_it_cannot_use():
    rng = np.random.default_rng(10)
    a = lstm_args(rng, np.float64, 2, 3, 4, 5)
    args = (a["x"], a["h0"], a["c0"], a["Wx"], a["Wh"], a["b"])
    dhs = np.ones((2, 3, 5))
    _, _, cache = lstm_forward(*args, return_cache=True)
    # Another x (even an equal copy): the cache may not describe it.
    with pytest.raises(ValueError, match="another x"):
        lstm_backward(dhs, a["x"].copy(), *args[1:], cache=cache)
    with pytest.raises(ValueError, match="another Wh"):
        lstm_backward(dhs, *args[:4], a["Wh"] + 1, a["b"], cache=cache)
    # Not a cache at all: the (hs, cs) pair, or the whole return value.
    for wrong in (lstm_forward(*args), lstm_forward(*args, return_cache=True)):
        with pytest.raises(ValueError, match="return_cache=True"):
            lstm_backward(dhs, *args, cache=wrong)
    # A wrong dhs is refused before the cache is spent.
    with pytest.raises(ValueError, match=r"\(2, 3, 5\)"):
        lstm_backward(dhs[:, :2], *args, cache=cache)
    # A cache serves one backward pass; the second use says so instead of returning garbage.
    lstm_backward(dhs, *args, cache=cache)
    with pytest.raises(ValueError, match="used up"):
        lstm_backward(dhs, *args, cache=cache)
    # Positional use of the new keywords is refused: they are keyword-only.
    with pytest.raises(TypeError):
        lstm_forward(*args, True)
    with pytest.raises(TypeError):
        lstm_backward(dhs, *args, cache)


def finite_differences(loss, a, eps=1e-6):
    """Centred differences of loss(a) with respect to every entry of every array in a."""
    grads = {}
    for k, v in a.items():
        grads[k] = np.zeros_like(v)
        for idx in np.ndindex(v.shape):
            old = v[idx]
            v[idx] = old + eps
            plus = loss(a)
            v[idx] = old - eps
            minus = loss(a)
            v[idx] = old
            grads[k][idx] = (plus - minus) / (2 * eps)
    return grads


def test_rnn_backward_equals_finite_differences():
    rng = np.random.default_rng(5)
    a = rnn_args(rng, np.float64, 2, 3, 2, 3)
    dhs = rng.uniform(-1, 1, (2, 3, 3))

    def loss(a):  # sum(dhs * hs) with torch's forward: no autograd, no solutions
        with torch.no_grad():
            hs, _ = torch_rnn(a["Wx"], a["Wh"], a["b"])(t64(a["x"]), t64(a["h0"])[None])
        return float((t64(dhs) * hs).sum())

    got, want = rnn_backward(dhs, **a), finite_differences(loss, a)
    for k in want:
        assert_close(got[k], want[k], 1e-7, np.float64)


def test_lstm_backward_equals_finite_differences():
    rng = np.random.default_rng(6)
    a = lstm_args(rng, np.float64, 2, 3, 2, 2)
    dhs = rng.uniform(-1, 1, (2, 3, 2))

    def loss(a):
        with torch.no_grad():
            hs, _ = torch_lstm(a["Wx"], a["Wh"], a["b"])(
                t64(a["x"]), (t64(a["h0"])[None], t64(a["c0"])[None]))
        return float((t64(dhs) * hs).sum())

    got, want = lstm_backward(dhs, **a), finite_differences(loss, a)
    for k in want:
        assert_close(got[k], want[k], 1e-7, np.float64)


# ---------------------------------------------------------------------------------------
# Bad input: a ValueError that names the expected and the given shape

B, T, I, H = 2, 3, 4, 5
_rng = np.random.default_rng(0)
R = rnn_args(_rng, np.float64, B, T, I, H)
L = lstm_args(_rng, np.float64, B, T, I, H)
DHS = np.zeros((B, T, H))
LAYERS = stack(_rng, np.float64, [I, H, 3])
BAD_CALLS = {
    # name: (call, expected shape, given shape) as they must appear in the message
    "rnn_step x": (lambda: rnn_step(R["x"][:, 0, :3], R["h0"], R["Wx"], R["Wh"], R["b"]),
                   "(?, 4)", "(2, 3)"),
    "rnn_step Wh": (lambda: rnn_step(R["x"][:, 0], R["h0"], R["Wx"], R["Wh"][:4], R["b"]),
                    "(5, 5)", "(4, 5)"),
    "rnn_forward x": (lambda: rnn_forward(R["x"][:, 0], R["h0"], R["Wx"], R["Wh"], R["b"]),
                      "(?, ?, 4)", "(2, 4)"),
    "rnn_forward h0": (lambda: rnn_forward(R["x"], R["h0"][:1], R["Wx"], R["Wh"], R["b"]),
                       "(2, 5)", "(1, 5)"),
    "rnn_backward dhs": (lambda: rnn_backward(DHS[:, :2], **R), "(2, 3, 5)", "(2, 2, 5)"),
    "rnn_backward b": (lambda: rnn_backward(DHS, **{**R, "b": R["b"][:3]}), "(5", "(3,)"),
    "lstm_step c": (lambda: lstm_step(L["x"][:, 0], L["h0"], L["c0"][:, :4], L["Wx"], L["Wh"],
                                      L["b"]), "(2, 5)", "(2, 4)"),
    "lstm_step Wh": (lambda: lstm_step(L["x"][:, 0], L["h0"], L["c0"], L["Wx"], L["Wh"].T,
                                       L["b"]), "(5, 20)", "(20, 5)"),
    "lstm_forward x": (lambda: lstm_forward(L["x"][..., :2], L["h0"], L["c0"], L["Wx"], L["Wh"],
                                            L["b"]), "(?, ?, 4)", "(2, 3, 2)"),
    "lstm_forward c0": (lambda: lstm_forward(**{**L, "c0": L["c0"][None]}), "(2, 5)", "(1, 2, 5)"),
    "lstm_backward dhs": (lambda: lstm_backward(DHS[..., :4], **L), "(2, 3, 5)", "(2, 3, 4)"),
    "lstm_backward b": (lambda: lstm_backward(DHS, **{**L, "b": L["b"][:5]}), "(20", "(5,)"),
    "stacked x": (lambda: stacked_lstm_forward(L["x"][..., :3], LAYERS), "(?, ?, 4)",
                  "(2, 3, 3)"),
    "stacked states": (lambda: stacked_lstm_forward(
        L["x"], LAYERS, [(L["h0"], L["c0"]), (L["h0"], L["c0"])]), "(2, 3)", "(2, 5)"),
}


@pytest.mark.parametrize("name", BAD_CALLS)
def test_bad_input_names_expected_and_given_shapes(name):
    call, expected, given = BAD_CALLS[name]
    with pytest.raises(ValueError) as info:
        call()
    message = str(info.value)
    assert expected in message and given in message, message
    assert re.search(r"must have shape \(.+\) = \(.+\); got \(", message), message
