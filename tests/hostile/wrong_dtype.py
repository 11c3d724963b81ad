# expect: has dtype int64; expected float
import numpy as np


def rnn_step(x, h, Wx, Wh, b):
    return np.zeros((x.shape[0], Wh.shape[0]), dtype=np.int64)
