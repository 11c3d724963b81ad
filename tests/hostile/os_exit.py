# expect: exited \(status 0\) before finishing
import os


def rnn_step(x, h, Wx, Wh, b):
    os._exit(0)
