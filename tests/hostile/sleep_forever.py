# expect: did not finish within .* \(the time limit\)
import time


def rnn_step(x, h, Wx, Wh, b):
    time.sleep(10**6)
