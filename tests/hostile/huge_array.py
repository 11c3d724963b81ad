# expect: cannot receive
import numpy as np


def rnn_step(x, h, Wx, Wh, b):
    return np.ones((4096, 4096))  # 128 MB: more than the sandbox may write
