# expect: did not finish within the .* per-exercise limit
import time


def rnn_step(x, h, Wx, Wh, b):
    time.sleep(10**6)
