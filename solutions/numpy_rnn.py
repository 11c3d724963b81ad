"""A simple (Elman) RNN in NumPy: one step, a whole sequence, and backpropagation through time.

Conventions (book/91_conventions.ipynb): batch-major sequences x (B, T, I); row vectors,
z = x @ Wx + h @ Wh + b; Wx (I, H), Wh (H, H), b (H,). Every function keeps the
dtype of x (float32 or float64).
"""

import numpy as np

from solutions.shapes import expect


def _check_weights(Wx, Wh, b):
    """Return (I, H) after checking that the three weights agree with each other."""
    expect("Wx", Wx, (None, None), "I, H")
    I, H = Wx.shape
    expect("Wh", Wh, (H, H), "H, H")
    expect("b", b, (H,), "H,")
    return I, H


def rnn_step(x, h, Wx, Wh, b):
    """One RNN step.

    Inputs:  x (B, I), h (B, H), Wx (I, H), Wh (H, H), b (H,).
    Returns: h_next (B, H) = tanh(x @ Wx + h @ Wh + b).
    """
    I, H = _check_weights(Wx, Wh, b)
    expect("x", x, (None, I), "B, I")
    expect("h", h, (x.shape[0], H), "B, H")
    return np.tanh(x @ Wx + h @ Wh + b).astype(x.dtype, copy=False)


def rnn_forward(x, h0, Wx, Wh, b):
    """Run the RNN over a whole sequence.

    Inputs:  x (B, T, I), h0 (B, H), Wx (I, H), Wh (H, H), b (H,).
    Returns: hs (B, T, H), the hidden state after every step.
    """
    I, H = _check_weights(Wx, Wh, b)
    expect("x", x, (None, None, I), "B, T, I")
    B, T, _ = x.shape
    expect("h0", h0, (B, H), "B, H")
    # The input half of z does not depend on h: one big product instead of T small ones.
    xw = x @ Wx + b
    hs = np.empty((B, T, H), dtype=x.dtype)
    h = h0
    for t in range(T):
        h = np.tanh(xw[:, t] + h @ Wh)
        hs[:, t] = h
    return hs


def rnn_backward(dhs, x, h0, Wx, Wh, b):
    """Backpropagation through time for `rnn_forward`.

    Inputs:  dhs (B, T, H) = dL/dhs for some loss L, and the forward's inputs.
    Returns: dict of gradients with keys x (B, T, I), h0 (B, H), Wx (I, H), Wh (H, H), b (H,).
    """
    hs = rnn_forward(x, h0, Wx, Wh, b)
    B, T, H = hs.shape
    expect("dhs", dhs, (B, T, H), "B, T, H")
    dz = np.empty_like(hs)  # dL/dz at every step
    dh = np.zeros_like(h0)  # gradient flowing back from step t+1
    for t in reversed(range(T)):
        dh = dh + dhs[:, t]
        dz[:, t] = dh * (1 - hs[:, t] ** 2)  # tanh'(z) = 1 - tanh(z)^2
        dh = dz[:, t] @ Wh.T
    h_prev = np.concatenate([h0[:, None], hs[:, :-1]], axis=1)  # the h each step saw
    # Weight gradients summed over all steps at once: one product each.
    return {
        "x": dz @ Wx.T,
        "h0": dh,
        "Wx": x.reshape(-1, x.shape[-1]).T @ dz.reshape(-1, H),
        "Wh": h_prev.reshape(-1, H).T @ dz.reshape(-1, H),
        "b": dz.sum(axis=(0, 1)),
    }
