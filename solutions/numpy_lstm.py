"""An LSTM in NumPy: one step, a sequence, backpropagation through time, and stacking.

Conventions (see CONTRACT.md): x (B, T, I); states (B, H); Wx (I, 4H), Wh (H, 4H),
b (4H,). The four column blocks of z = x @ Wx + h @ Wh + b are the gates in the
order i, f, g, o (as in PyTorch):

    i, f, o = sigmoid(z_i), sigmoid(z_f), sigmoid(z_o)    g = tanh(z_g)
    c_next = f * c + i * g                                  h_next = o * tanh(c_next)
"""

import numpy as np

from solutions.shapes import expect


def sigmoid(z):
    """Logistic function, written with tanh so it never overflows: 1 / (1 + exp(-z))."""
    return 0.5 * (np.tanh(0.5 * z) + 1)


def _check_weights(Wx, Wh, b):
    """Return (I, H) after checking that the three weights agree with each other."""
    expect("Wx", Wx, (None, None), "I, 4H")
    I, H4 = Wx.shape
    if H4 % 4:
        raise ValueError(f"Wx must have shape (I, 4H), a multiple of 4 columns; got {Wx.shape}")
    H = H4 // 4
    expect("Wh", Wh, (H, 4 * H), "H, 4H")
    expect("b", b, (4 * H,), "4H,")
    return I, H


def _blocks(z):
    """The four gate blocks i, f, g, o of z (..., 4H), as views (np.split does the same, slower)."""
    H = z.shape[-1] // 4
    return z[..., :H], z[..., H:2 * H], z[..., 2 * H:3 * H], z[..., 3 * H:]


def _gates(z, c):
    """The LSTM's pointwise part. z (B, 4H) pre-activations, c (B, H) cell state.

    Returns i, f, g, o (each (B, H)), c_next and h_next.
    """
    zi, zf, zg, zo = _blocks(z)
    i, f, g, o = sigmoid(zi), sigmoid(zf), np.tanh(zg), sigmoid(zo)
    c_next = f * c + i * g
    return i, f, g, o, c_next, o * np.tanh(c_next)


def lstm_step(x, h, c, Wx, Wh, b):
    """One LSTM step.

    Inputs:  x (B, I), h (B, H), c (B, H), Wx (I, 4H), Wh (H, 4H), b (4H,).
    Returns: (h_next, c_next), each (B, H).
    """
    I, H = _check_weights(Wx, Wh, b)
    expect("x", x, (None, I), "B, I")
    expect("h", h, (x.shape[0], H), "B, H")
    expect("c", c, (x.shape[0], H), "B, H")
    *_, c_next, h_next = _gates(x @ Wx + h @ Wh + b, c)
    return h_next.astype(x.dtype, copy=False), c_next.astype(x.dtype, copy=False)


def _lstm_scan(x, h0, c0, Wx, Wh, b):
    """Run the LSTM over x (B, T, I) and keep what backprop needs.

    Returns hs, cs (T, B, H) and the gate activations acts (T, B, 4H) in the order
    i, f, g, o. They are time-major, so that each step reads and writes one contiguous
    block of memory; lstm_forward turns them back into (B, T, H).
    """
    I, H = _check_weights(Wx, Wh, b)
    expect("x", x, (None, None, I), "B, T, I")
    B, T, _ = x.shape
    expect("h0", h0, (B, H), "B, H")
    expect("c0", c0, (B, H), "B, H")
    # The input half of z does not depend on h: one big product instead of T small ones.
    # Its (T, B, 4H) array is reused: step t adds h @ Wh to acts[t], then overwrites it
    # with the gate activations (a fresh array that size costs about as much as the product).
    acts = x.transpose(1, 0, 2).reshape(T * B, I) @ Wx
    acts += b
    acts = acts.reshape(T, B, 4 * H)
    hs = np.empty((T, B, H), dtype=x.dtype)
    cs = np.empty((T, B, H), dtype=x.dtype)
    h, c = h0, c0
    for t in range(T):
        acts[t] += h @ Wh
        i, f, g, o, c, h = _gates(acts[t], c)
        hs[t], cs[t] = h, c
        acts[t] = np.concatenate([i, f, g, o], axis=1)
    return hs, cs, acts


def lstm_forward(x, h0, c0, Wx, Wh, b):
    """Run the LSTM over a whole sequence.

    Inputs:  x (B, T, I), h0 (B, H), c0 (B, H), Wx (I, 4H), Wh (H, 4H), b (4H,).
    Returns: (hs, cs), each (B, T, H); the final state is (hs[:, -1], cs[:, -1]).
    """
    hs, cs, _ = _lstm_scan(x, h0, c0, Wx, Wh, b)
    return hs.transpose(1, 0, 2), cs.transpose(1, 0, 2)  # views, no copies


def lstm_backward(dhs, x, h0, c0, Wx, Wh, b):
    """Backpropagation through time for `lstm_forward` (the forward is recomputed).

    Inputs:  dhs (B, T, H) = dL/dhs for some loss L, and the forward's inputs.
    Returns: dict of gradients with keys x (B, T, I), h0 (B, H), c0 (B, H),
             Wx (I, 4H), Wh (H, 4H), b (4H,).
    """
    hs, cs, acts = _lstm_scan(x, h0, c0, Wx, Wh, b)  # time-major, (T, B, ...)
    T, B, H = hs.shape
    expect("dhs", dhs, (B, T, H), "B, T, H")
    dhs = dhs.transpose(1, 0, 2)
    tanh_cs = np.tanh(cs)  # for all steps at once
    dz = np.empty_like(acts)  # dL/dz for the four gates at every step
    dh = np.zeros_like(h0)  # gradients flowing back from step t+1
    dc = np.zeros_like(c0)
    for t in reversed(range(T)):
        i, f, g, o = _blocks(acts[t])
        c_prev = cs[t - 1] if t else c0  # the c step t saw
        dz_i, dz_f, dz_g, dz_o = _blocks(dz[t])  # views: assigning to them fills dz[t]
        dh = dh + dhs[t]
        dc = dc + dh * o * (1 - tanh_cs[t] ** 2)
        dz_i[:] = dc * g * i * (1 - i)
        dz_f[:] = dc * c_prev * f * (1 - f)
        dz_g[:] = dc * i * (1 - g**2)
        dz_o[:] = dh * tanh_cs[t] * o * (1 - o)
        dh = dz[t] @ Wh.T
        dc = dc * f
    h_prev = np.concatenate([h0[None], hs[:-1]])  # the h each step saw
    # Weight gradients summed over all steps and batch rows at once: one product each.
    dz = dz.reshape(T * B, 4 * H)
    x_rows = x.transpose(1, 0, 2).reshape(T * B, -1)  # time-major rows, like dz's
    return {
        "x": (dz @ Wx.T).reshape(T, B, -1).transpose(1, 0, 2),
        "h0": dh,
        "c0": dc,
        "Wx": x_rows.T @ dz,
        "Wh": h_prev.reshape(T * B, H).T @ dz,
        "b": dz.sum(axis=0),
    }


def stacked_lstm_forward(x, layers, states=None):
    """A stack of LSTM layers; layer k reads the hidden states of layer k-1.

    Inputs:  x (B, T, I); layers, a list of dicts {"Wx", "Wh", "b"} (layer k has
             Wx (H_{k-1}, 4H_k), with H_{-1} = I); states, None for zeros or a list
             of (h0, c0) pairs, one per layer, each (B, H_k).
    Returns: (hs, final_states): hs (B, T, H_top) from the top layer and a list of
             (h_T, c_T) per layer.
    """
    if not isinstance(layers, (list, tuple)) or not layers:
        raise ValueError(f"layers must be a non-empty list of dicts with Wx, Wh, b; got {layers!r:.80}")
    if states is not None and len(states) != len(layers):
        raise ValueError(f"states must have one (h0, c0) per layer: {len(layers)}; got {len(states)}")
    hs, final_states = x, []
    for k, layer in enumerate(layers):
        missing = {"Wx", "Wh", "b"} - set(layer)
        if missing:
            raise ValueError(f"layers[{k}] must have keys Wx, Wh, b; missing {sorted(missing)}")
        H = layer["Wh"].shape[0]
        if states is None:
            h0 = c0 = np.zeros((x.shape[0], H), dtype=x.dtype)
        else:
            h0, c0 = states[k]
        hs, cs = lstm_forward(hs, h0, c0, layer["Wx"], layer["Wh"], layer["b"])
        final_states.append((hs[:, -1], cs[:, -1]))
    return hs, final_states
