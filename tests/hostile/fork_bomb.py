# expect: raised BlockingIOError
import os
import time

import numpy as np


def rnn_step(x, h, Wx, Wh, b):
    # At most 600 processes, each gone after 60 s: far above the sandbox's process
    # limit, and it stops by itself should the limit not hold.
    for _ in range(600):
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
    return np.tanh(x @ Wx + h @ Wh + b)
