# expect: its cell raised SystemExit
import numpy as np


def rnn_step(x, h, Wx, Wh, b):
    return np.tanh(x @ Wx + h @ Wh + b)


raise SystemExit
