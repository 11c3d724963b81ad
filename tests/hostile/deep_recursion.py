# expect: killed by SIGSEGV|raised RecursionError|raised MemoryError|did not finish within
import sys


def down(n):
    return down(n + 1) + 1


def rnn_step(x, h, Wx, Wh, b):
    sys.setrecursionlimit(10**8)  # past the C stack: a crash, not a RecursionError
    return down(0)
