# expect: raised SystemExit
import sys


def rnn_step(x, h, Wx, Wh, b):
    sys.exit(0)
