# expect: h_next is wrong
import builtins

import numpy

import autograde
import autograde.compare

numpy.allclose = lambda *args, **kwargs: True
numpy.array_equal = lambda *args, **kwargs: True
builtins.isinstance = lambda *args: True
autograde.compare.compare_case = lambda case, outputs: autograde.compare.Result(case.label, True)
autograde.compare.compare_array = lambda *args, **kwargs: None


def rnn_step(x, h, Wx, Wh, b):
    return numpy.zeros((x.shape[0], Wh.shape[0]), x.dtype)
