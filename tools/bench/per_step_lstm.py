"""The per-step NumPy LSTM that most from-scratch courses write: the NumPy benchmark's baseline.

Not an answer of the book, a yardstick: `tools.bench.numpy_bench` times it beside
`solutions.numpy_lstm` (the "per-step" column). It is written the usual way, as in
cs231n's assignment and most tutorials:

- `step_forward` runs one step and returns its output with a cache, the tuple of
  everything its backward needs; `forward` loops over time and keeps the list of caches.
- `step_backward` consumes one cache and returns that step's gradients; `backward` loops
  over time in reverse and adds up the weights' gradients step by step.
- Nothing is hoisted out of the loops: every step multiplies its own x_t by Wx, and
  every step computes its own x_t.T @ dz and h.T @ dz.

Sigmoid is 1 / (1 + exp(-z)), as usually written (it warns about overflow for z below
about -88 in float32, which the benchmark's data never reach). Shapes and gate order
i, f, g, o as in solutions.numpy_lstm: x (B, T, I), states (B, H), Wx (I, 4H),
Wh (H, 4H), b (4H,).
"""

import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def step_forward(x, h_prev, c_prev, Wx, Wh, b):
    """One step: x (B, I), h_prev and c_prev (B, H). Returns h, c and the step's cache."""
    H = h_prev.shape[1]
    z = x @ Wx + h_prev @ Wh + b
    i = sigmoid(z[:, :H])
    f = sigmoid(z[:, H:2 * H])
    g = np.tanh(z[:, 2 * H:3 * H])
    o = sigmoid(z[:, 3 * H:])
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    cache = (x, h_prev, c_prev, Wx, Wh, i, f, g, o, tanh_c)
    return h, c, cache


def step_backward(dh, dc, cache):
    """One step's gradients, given dL/dh and dL/dc flowing into its outputs.

    Returns dx, dh_prev, dc_prev, dWx, dWh, db.
    """
    x, h_prev, c_prev, Wx, Wh, i, f, g, o, tanh_c = cache
    dc = dc + dh * o * (1 - tanh_c**2)
    di = dc * g
    df = dc * c_prev
    dg = dc * i
    do = dh * tanh_c
    dz = np.hstack([di * i * (1 - i), df * f * (1 - f), dg * (1 - g**2), do * o * (1 - o)])
    dx = dz @ Wx.T
    dh_prev = dz @ Wh.T
    dc_prev = dc * f
    dWx = x.T @ dz
    dWh = h_prev.T @ dz
    db = dz.sum(axis=0)
    return dx, dh_prev, dc_prev, dWx, dWh, db


def forward(x, h0, c0, Wx, Wh, b):
    """x (B, T, I), h0 and c0 (B, H). Returns hs (B, T, H) and the list of step caches."""
    B, T, _ = x.shape
    hs = np.zeros((B, T, h0.shape[1]), dtype=x.dtype)
    h, c, caches = h0, c0, []
    for t in range(T):
        h, c, cache = step_forward(x[:, t, :], h, c, Wx, Wh, b)
        hs[:, t, :] = h
        caches.append(cache)
    return hs, caches


def backward(dhs, caches):
    """dhs (B, T, H) = dL/dhs. Returns the gradients: a dict with keys x, h0, c0, Wx, Wh, b."""
    B, T, H = dhs.shape
    _, _, _, Wx, Wh, *_ = caches[0]
    dx = np.zeros((B, T, Wx.shape[0]), dtype=dhs.dtype)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(4 * H, dtype=dhs.dtype)
    dh = np.zeros((B, H), dtype=dhs.dtype)
    dc = np.zeros((B, H), dtype=dhs.dtype)
    for t in reversed(range(T)):
        dx_t, dh, dc, dWx_t, dWh_t, db_t = step_backward(dh + dhs[:, t, :], dc, caches[t])
        dx[:, t, :] = dx_t
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return {"x": dx, "h0": dh, "c0": dc, "Wx": dWx, "Wh": dWh, "b": db}
