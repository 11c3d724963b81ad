# expect: should be a NumPy array of shape .*; got ndarray_of_dtype_object
import numpy as np


def rnn_step(x, h, Wx, Wh, b):
    return np.array([[object()] * Wh.shape[0]] * x.shape[0], dtype=object)
