# expect: raised ZeroDivisionError
import atexit
import os

atexit.register(os._exit, 0)  # would turn a crash into a clean exit


def rnn_step(x, h, Wx, Wh, b):
    return 1 / 0
