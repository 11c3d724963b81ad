# expect: killed by SIGALRM
import signal
import time

signal.alarm(1)  # in the grader's process, this would go off during a later exercise


def rnn_step(x, h, Wx, Wh, b):
    signal.alarm(1)
    time.sleep(30)
