"""An LSTM in NumPy: one step, a sequence, backpropagation through time, and stacking.

Conventions (book/91_conventions.ipynb): x (B, T, I); states (B, H); Wx (I, 4H), Wh (H, 4H),
b (4H,). The four column blocks of z = x @ Wx + h @ Wh + b are the gates in the
order i, f, g, o (as in PyTorch):

    i, f, o = sigmoid(z_i), sigmoid(z_f), sigmoid(z_o)    g = tanh(z_g)
    c_next = f * c + i * g                                  h_next = o * tanh(c_next)
"""

import numpy as np

from solutions.shapes import expect


def sigmoid_in_place(z):
    """The logistic function 1 / (1 + exp(-z)), written over z and returned.

    It is written with tanh, (1 + tanh(z / 2)) / 2, so it never overflows. (Its own name,
    not `sigmoid`: a notebook cell that defines a plain `sigmoid(z)` later must not
    change what this module's functions compute.)
    """
    z *= 0.5
    np.tanh(z, out=z)
    z += 1
    z *= 0.5
    return z


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

    Returns i, f, g, o (each (B, H)), c_next and h_next. The gate values overwrite z
    (i, f, g, o are views of it), so that a loop over time needs no new array for them.
    """
    zi, zf, zg, zo = _blocks(z)
    g = np.tanh(zg)
    sigmoid_in_place(z)  # all four blocks: one pass over z is faster than three over blocks
    zg[...] = g  # and the g block gets its tanh
    i, f, g, o = _blocks(z)
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
    """Run the LSTM over x (B, T, I) and keep what backprop needs: the cache.

    Returns a dict of time-major arrays, so that each step reads and writes one contiguous
    block of memory (lstm_forward turns hs and cs back into (B, T, H)):
      x (T, B, I), the input;
      hs, cs (T + 1, B, H): row 0 holds h0 and c0, row t + 1 the state after step t;
      acts (T, B, 4H): the gate activations i, f, g, o of every step;
    and "inputs", the arguments themselves.
    """
    I, H = _check_weights(Wx, Wh, b)
    expect("x", x, (None, None, I), "B, T, I")
    B, T, _ = x.shape
    expect("h0", h0, (B, H), "B, H")
    expect("c0", c0, (B, H), "B, H")
    x_rows = x.transpose(1, 0, 2).reshape(T * B, I)  # a time-major copy of x
    # The input half of z does not depend on h: one big product instead of T small ones.
    # Step t completes its slice acts[t] into z_t, which _gates then turns into the gate
    # values in place, so that one (T, B, 4H) array serves for both.
    acts = (x_rows @ Wx).reshape(T, B, 4 * H)
    hs = np.empty((T + 1, B, H), dtype=x.dtype)
    cs = np.empty((T + 1, B, H), dtype=x.dtype)
    hs[0], cs[0] = h0, c0
    for t in range(T):
        z = acts[t]  # a view: writing to z writes to acts
        z += b  # here rather than on all of acts at once: this slice is in the CPU's cache
        z += hs[t] @ Wh
        *_, cs[t + 1], hs[t + 1] = _gates(z, cs[t])
    return {"x": x_rows.reshape(T, B, I), "hs": hs, "cs": cs, "acts": acts,
            "inputs": (x, h0, c0, Wx, Wh, b)}


def lstm_forward(x, h0, c0, Wx, Wh, b, *, return_cache=False):
    """Run the LSTM over a whole sequence.

    Inputs:  x (B, T, I), h0 (B, H), c0 (B, H), Wx (I, 4H), Wh (H, 4H), b (4H,).
    Returns: (hs, cs), each (B, T, H); the final state is (hs[:, -1], cs[:, -1]).
             With return_cache=True, (hs, cs, cache): lstm_backward(..., cache=cache)
             then reuses this pass instead of running it again.
    """
    cache = _lstm_scan(x, h0, c0, Wx, Wh, b)
    hs = cache["hs"][1:].transpose(1, 0, 2)  # views, no copies
    cs = cache["cs"][1:].transpose(1, 0, 2)
    return (hs, cs, cache) if return_cache else (hs, cs)


def _check_cache(cache, *inputs):
    """Raise unless `cache` came from lstm_forward(*inputs, return_cache=True) and has not
    served a backward pass yet."""
    if not isinstance(cache, dict) or "inputs" not in cache:
        raise ValueError("cache must be the third value returned by lstm_forward(..., "
                         f"return_cache=True); got {type(cache).__name__}")
    names = ("x", "h0", "c0", "Wx", "Wh", "b")
    for name, given, used in zip(names, inputs, cache["inputs"], strict=True):
        if given is not used:
            raise ValueError(f"cache was computed from another {name}: pass lstm_backward "
                             "the very arrays that lstm_forward(..., return_cache=True) got")
    if cache.get("used"):
        raise ValueError("this cache was used up by an earlier lstm_backward; run "
                         "lstm_forward(..., return_cache=True) again for a new one")


def lstm_backward(dhs, x, h0, c0, Wx, Wh, b, *, cache=None):
    """Backpropagation through time for `lstm_forward`.

    Inputs:  dhs (B, T, H) = dL/dhs for some loss L, and the forward's inputs; optionally
             cache=, from lstm_forward(same inputs, return_cache=True), so that the
             forward is not run again here. A cache serves one lstm_backward only.
    Returns: dict of gradients with keys x (B, T, I), h0 (B, H), c0 (B, H),
             Wx (I, 4H), Wh (H, 4H), b (4H,).
    """
    if cache is None:
        cache = _lstm_scan(x, h0, c0, Wx, Wh, b)
    else:
        _check_cache(cache, x, h0, c0, Wx, Wh, b)
    xs, hs, cs, acts = cache["x"], cache["hs"], cache["cs"], cache["acts"]  # time-major
    T, B, I = xs.shape
    H = hs.shape[2]
    expect("dhs", dhs, (B, T, H), "B, T, H")
    cache["used"] = True  # the loop below overwrites acts
    dhs = dhs.transpose(1, 0, 2)
    Wh_T = np.ascontiguousarray(Wh.T)  # dz @ Wh_T runs faster than with the view Wh.T
    # Each activation's slope is (a - low) (1 - a): s (1 - s) for the sigmoids (low = 0),
    # 1 - g^2 = (g + 1) (1 - g) for tanh (low = -1).
    low = np.zeros(4 * H, dtype=acts.dtype)
    _blocks(low)[2][:] = -1
    # dL/dz of step t overwrites the gates of step t, which nothing needs after that step.
    dz = acts
    dh = np.zeros_like(h0)  # gradients flowing back from step t+1
    dc = np.zeros_like(c0)
    for t in reversed(range(T)):
        a = acts[t].copy()  # the gates of step t, before dz[t] overwrites them
        i, f, g, o = _blocks(a)
        slopes = (a - low) * (1 - a)
        di, df, dg, do = _blocks(dz[t])  # views: writing to them fills dz[t]
        tanh_c = np.tanh(cs[t + 1])
        dh += dhs[t]
        dc += dh * o * (1 - tanh_c**2)
        np.multiply(dc, g, out=di)  # first dL/d(gate) ...
        np.multiply(dc, cs[t], out=df)  # (cs[t] is the c step t saw)
        np.multiply(dc, i, out=dg)
        np.multiply(dh, tanh_c, out=do)
        dz[t] *= slopes  # ... then dL/dz
        dh = dz[t] @ Wh_T
        dc *= f
    # Weight gradients summed over all steps and batch rows at once: one product each.
    dz = dz.reshape(T * B, 4 * H)
    h_prev = hs[:-1].reshape(T * B, H)  # the h each step saw
    return {
        "x": (dz @ Wx.T).reshape(T, B, I).transpose(1, 0, 2),
        "h0": dh,
        "c0": dc,
        "Wx": xs.reshape(T * B, I).T @ dz,
        "Wh": h_prev.T @ dz,
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
