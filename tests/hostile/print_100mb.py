# expect: printed more than .* MB \(the output limit\)
import sys

import numpy as np


def rnn_step(x, h, Wx, Wh, b):
    line = "spam " * 200_000 + "\n"  # 1 MB
    for _ in range(100):
        sys.stdout.write(line)
    return np.tanh(x @ Wx + h @ Wh + b)
