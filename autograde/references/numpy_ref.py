"""References that need no framework: centred finite differences."""

import numpy as np


def numerical_gradient(f, a, dout, eps=1e-6):
    """Centred finite differences of sum(dout * f()) with respect to the float64 array `a`.

    f takes no arguments and reads `a`, which is perturbed in place one entry at a time.
    """
    grad = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        old = a[idx]
        a[idx] = old + eps
        plus = np.sum(dout * f())
        a[idx] = old - eps
        minus = np.sum(dout * f())
        a[idx] = old
        grad[idx] = (plus - minus) / (2 * eps)
    return grad
