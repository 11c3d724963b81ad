# expect: raised MemoryError|did not finish within
import numpy as np


def rnn_step(x, h, Wx, Wh, b):
    # 100 MB at a time, written to (so it is really used), up to 4 GB: far above the
    # sandbox's limit in the test, and it stops by itself should the limit not hold.
    chunks = []
    for _ in range(40):
        chunks.append(np.ones(100 * 2**20 // 8))
    return np.tanh(x @ Wx + h @ Wh + b)
