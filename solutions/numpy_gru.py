"""The GRU (Cho et al. 2014) in NumPy, in PyTorch's form: one step, a sequence, and BPTT.

Conventions (book/91_conventions.ipynb): batch-major sequences x (B, T, I); row vectors;
three gate blocks in PyTorch's order r (reset), z (update), n (candidate). Unlike the
LSTM's one bias, the GRU has two, because the reset gate multiplies the recurrent half
of the candidate *including its bias*:

    a = x @ Wx + bx   (B, 3H)        u = h @ Wh + bh   (B, 3H)
    r = sigmoid(a_r + u_r)    z = sigmoid(a_z + u_z)    n = tanh(a_n + r * u_n)
    h_next = (1 - z) * n + z * h

Wx (I, 3H) is torch.nn.GRU's weight_ih_l0.T, Wh (H, 3H) its weight_hh_l0.T, bx and bh
(3H,) its bias_ih_l0 and bias_hh_l0. (The paper puts r inside the product instead,
n = tanh(a_n + (r * h) @ Wh_n + bh_n): a different function, see chapter 7.) Every
function keeps the dtype of x.
"""

import numpy as np

from solutions.shapes import expect


def sigmoid(z):
    """The logistic function, written with tanh so that it never overflows."""
    return 0.5 * (1 + np.tanh(0.5 * z))


def _check_weights(Wx, Wh, bx, bh):
    """Return (I, H) after checking that the four weights agree with each other."""
    expect("Wx", Wx, (None, None), "I, 3H")
    I, H3 = Wx.shape
    if H3 % 3:
        raise ValueError(f"Wx must have shape (I, 3H), a multiple of 3 columns; got {Wx.shape}")
    H = H3 // 3
    expect("Wh", Wh, (H, 3 * H), "H, 3H")
    expect("bx", bx, (3 * H,), "3H,")
    expect("bh", bh, (3 * H,), "3H,")
    return I, H


def _cell(a, h, Wh, bh):
    """One step from the input half a = x @ Wx + bx (B, 3H) and the state h (B, H).

    Returns h_next and what the backward pass needs: r, z, n and u_n = h @ Wh_n + bh_n.
    """
    H = h.shape[1]
    u = h @ Wh + bh
    r = sigmoid(a[:, :H] + u[:, :H])
    z = sigmoid(a[:, H:2 * H] + u[:, H:2 * H])
    u_n = u[:, 2 * H:]
    n = np.tanh(a[:, 2 * H:] + r * u_n)
    return (1 - z) * n + z * h, (r, z, n, u_n)


def gru_step(x, h, Wx, Wh, bx, bh):
    """One GRU step.

    Inputs:  x (B, I), h (B, H), Wx (I, 3H), Wh (H, 3H), bx (3H,), bh (3H,).
    Returns: h_next (B, H).
    """
    I, H = _check_weights(Wx, Wh, bx, bh)
    expect("x", x, (None, I), "B, I")
    expect("h", h, (x.shape[0], H), "B, H")
    return _cell(x @ Wx + bx, h, Wh, bh)[0].astype(x.dtype, copy=False)


def _scan(x, h0, Wx, Wh, bx, bh):
    """hs (B, T, H) and each step's (r, z, n, u_n)."""
    a = x @ Wx + bx  # the input half of every step at once: it does not depend on h
    hs, saved, h = np.empty(x.shape[:2] + h0.shape[1:], dtype=x.dtype), [], h0
    for t in range(x.shape[1]):
        h, gates = _cell(a[:, t], h, Wh, bh)
        hs[:, t] = h
        saved.append(gates)
    return hs, saved


def _check_sequence(x, h0, Wx, Wh, bx, bh):
    I, H = _check_weights(Wx, Wh, bx, bh)
    expect("x", x, (None, None, I), "B, T, I")
    expect("h0", h0, (x.shape[0], H), "B, H")


def gru_forward(x, h0, Wx, Wh, bx, bh):
    """Run the GRU over a whole sequence.

    Inputs:  x (B, T, I), h0 (B, H), Wx (I, 3H), Wh (H, 3H), bx (3H,), bh (3H,).
    Returns: hs (B, T, H), the hidden state after every step.
    """
    _check_sequence(x, h0, Wx, Wh, bx, bh)
    return _scan(x, h0, Wx, Wh, bx, bh)[0]


def gru_backward(dhs, x, h0, Wx, Wh, bx, bh):
    """Backpropagation through time for `gru_forward`.

    Inputs:  dhs (B, T, H) = dL/dhs for some loss L, and the forward's inputs.
    Returns: dict of gradients with keys x (B, T, I), h0 (B, H), Wx (I, 3H), Wh (H, 3H),
             bx (3H,), bh (3H,).
    """
    _check_sequence(x, h0, Wx, Wh, bx, bh)
    hs, saved = _scan(x, h0, Wx, Wh, bx, bh)
    expect("dhs", dhs, hs.shape, "B, T, H")
    B, T, H = hs.shape
    da = np.empty((B, T, 3 * H), dtype=x.dtype)  # dL/da, a = x @ Wx + bx
    du = np.empty((B, T, 3 * H), dtype=x.dtype)  # dL/du, u = h_prev @ Wh + bh
    h_prev = np.concatenate([h0[:, None], hs[:, :-1]], axis=1)
    dh = np.zeros_like(h0)
    for t in reversed(range(T)):
        r, z, n, u_n = saved[t]
        dh = dh + dhs[:, t]
        dn = dh * (1 - z) * (1 - n ** 2)             # through n = tanh(a_n + r * u_n)
        dz = dh * (h_prev[:, t] - n) * z * (1 - z)    # through h_next = n + z * (h - n)
        dr = dn * u_n * r * (1 - r)
        da[:, t] = np.concatenate([dr, dz, dn], axis=1)
        du[:, t] = np.concatenate([dr, dz, dn * r], axis=1)  # r scales u_n
        dh = dh * z + du[:, t] @ Wh.T
    return {
        "x": da @ Wx.T,
        "h0": dh,
        "Wx": x.reshape(-1, x.shape[-1]).T @ da.reshape(-1, 3 * H),
        "Wh": h_prev.reshape(-1, H).T @ du.reshape(-1, 3 * H),
        "bx": da.sum(axis=(0, 1)),
        "bh": du.sum(axis=(0, 1)),
    }
