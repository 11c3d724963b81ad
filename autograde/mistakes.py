"""Wrong LSTMs, for the checks' `suspects`: the outputs a known mistake would produce.

Most mistakes can be imitated by the reference LSTM run with altered weights (gates
in another order, a forget gate fixed at 1). The ones here cannot, so they are
written out in NumPy, in float64, independently of `solutions`.
"""

import numpy as np


def _sigmoid(z):
    return 0.5 * (np.tanh(0.5 * z) + 1)


def lstm_forward_h_from_g(x, h0, c0, Wx, Wh, b):
    """(hs, cs), each (B, T, H), of an LSTM that computes h = o * tanh(g), not o * tanh(c).

    x (B, T, I), h0 and c0 (B, H), Wx (I, 4H), Wh (H, 4H), b (4H,); gates i, f, g, o.
    """
    f64 = [np.asarray(a, np.float64) for a in (x, h0, c0, Wx, Wh, b)]
    x64, h, c, Wx64, Wh64, b64 = f64
    hs, cs = [], []
    for t in range(x.shape[1]):
        zi, zf, zg, zo = np.split(x64[:, t] @ Wx64 + h @ Wh64 + b64, 4, axis=1)
        g = np.tanh(zg)
        c = _sigmoid(zf) * c + _sigmoid(zi) * g
        h = _sigmoid(zo) * np.tanh(g)
        hs.append(h)
        cs.append(c)
    return np.stack(hs, 1).astype(x.dtype), np.stack(cs, 1).astype(x.dtype)


def lstm_step_h_from_g(x, h, c, Wx, Wh, b):
    """(h_next, c_next) of one step of `lstm_forward_h_from_g`; x (B, I)."""
    hs, cs = lstm_forward_h_from_g(x[:, None], h, c, Wx, Wh, b)
    return hs[:, 0], cs[:, 0]
