# expect: contains NaN or inf
import numpy as np


def rnn_step(x, h, Wx, Wh, b):
    out = np.tanh(x @ Wx + h @ Wh + b)
    out[0, 0] = np.nan
    out[-1, -1] = np.inf
    return out
