"""Learnable initial states for an LSTM, in NumPy.

Instead of starting every sequence from h0 = c0 = 0, the initial state can be

(a) a trained vector per layer, h0_vec and c0_vec of shape (H,), broadcast to every
    sequence of the batch: h0 = np.broadcast_to(h0_vec, (B, H)). Its gradient is the
    batch sum of the gradient of the (B, H) state (`initial_state_grads`);
(b) computed from the first input x_1 = x[:, 0] by two small dense layers:
        h0 = tanh(x_1 @ Wh0 + bh0)        c0 = x_1 @ Wc0 + bc0
    tanh keeps h0 in (-1, 1), where every later h lies (h = o * tanh(c)); the cell
    state is not bounded, so c0 is left linear (`initial_state_from_input` and its
    backward).

The gradients of the states, dh0 and dc0 (B, H), are the "h0" and "c0" entries of
`solutions.numpy_lstm.lstm_backward`.
"""

import numpy as np

from solutions.shapes import expect


def initial_state_grads(dh0, dc0):
    """Gradients of learned initial-state vectors from those of the batch's states.

    The forward pass used h0[b] = h0_vec and c0[b] = c0_vec for every row b, so each
    vector's gradient is the sum of its rows' gradients.
    Inputs:  dh0 (B, H), dc0 (B, H): dL/dh0 and dL/dc0, e.g. from lstm_backward.
    Returns: (dh0_vec, dc0_vec), each (H,), in the input dtype.
    """
    expect("dh0", dh0, (None, None), "B, H")
    expect("dc0", dc0, dh0.shape, "B, H")
    return dh0.sum(axis=0), dc0.sum(axis=0)


def _check_init_weights(x, Wh0, bh0, Wc0, bc0):
    """Check the shapes of initial_state_from_input's arguments; return x[:, 0] (B, I)."""
    expect("x", x, (None, None, None), "B, T, I")
    _, T, I = x.shape
    if T == 0:
        raise ValueError(f"x must have at least one step, shape (B, T, I) with T >= 1; "
                         f"got {x.shape}")
    expect("Wh0", Wh0, (I, None), "I, H")
    H = Wh0.shape[1]
    expect("bh0", bh0, (H,), "H,")
    expect("Wc0", Wc0, (I, H), "I, H")
    expect("bc0", bc0, (H,), "H,")
    return x[:, 0]


def initial_state_from_input(x, Wh0, bh0, Wc0, bc0):
    """The initial state computed from the first step of the input sequence.

    Inputs:  x (B, T, I) (only x[:, 0] is used), Wh0 (I, H), bh0 (H,), Wc0 (I, H), bc0 (H,).
    Returns: (h0, c0), each (B, H), in the dtype of x:
             h0 = tanh(x[:, 0] @ Wh0 + bh0), c0 = x[:, 0] @ Wc0 + bc0.
    """
    x1 = _check_init_weights(x, Wh0, bh0, Wc0, bc0)
    h0 = np.tanh(x1 @ Wh0 + bh0)
    c0 = x1 @ Wc0 + bc0
    return h0.astype(x.dtype, copy=False), c0.astype(x.dtype, copy=False)


def initial_state_from_input_backward(dh0, dc0, x, Wh0, bh0, Wc0, bc0):
    """Backward pass of `initial_state_from_input` (the forward is recomputed).

    Inputs:  dh0 (B, H), dc0 (B, H): dL/dh0 and dL/dc0 for some loss L; and the
             forward's inputs.
    Returns: dict of gradients with keys x (B, T, I) (zero except at step 0, the only
             step the initial state reads), Wh0 (I, H), bh0 (H,), Wc0 (I, H), bc0 (H,).
    """
    x1 = _check_init_weights(x, Wh0, bh0, Wc0, bc0)
    h0, _ = initial_state_from_input(x, Wh0, bh0, Wc0, bc0)
    expect("dh0", dh0, h0.shape, "B, H")
    expect("dc0", dc0, h0.shape, "B, H")
    dz = dh0 * (1 - h0**2)  # back through tanh
    dx = np.zeros_like(x)
    dx[:, 0] = dz @ Wh0.T + dc0 @ Wc0.T
    return {"x": dx, "Wh0": x1.T @ dz, "bh0": dz.sum(axis=0), "Wc0": x1.T @ dc0,
            "bc0": dc0.sum(axis=0)}
