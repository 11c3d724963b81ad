"""Shape checks shared by the solutions: one readable error for every bad input."""

import numpy as np


def expect(name, array, shape, dims):
    """Check that `array` is a floating-point ndarray of the given shape.

    name:  the argument's name, for the error message.
    shape: a tuple of ints or None (None means "any size").
    dims:  the letters that name each axis, e.g. "B, T, I".
    Raises ValueError naming what was expected and what was given.
    """
    if not isinstance(array, np.ndarray):
        raise ValueError(f"{name} must be a NumPy array of shape ({dims}); got {type(array).__name__}")
    expect_shape(name, array.shape, shape, dims)
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{name} must be float32 or float64; got {array.dtype}")


def expect_shape(name, got, shape, dims):
    """Check a shape `got` (any array's .shape) against `shape` (ints or None for "any").

    Raises ValueError naming what was expected and what was given; the NumPy and
    PyTorch solutions share it so their messages read the same.
    """
    want = ", ".join("?" if n is None else str(n) for n in shape)
    want = f"({want},)" if len(shape) == 1 else f"({want})"
    if len(got) != len(shape) or any(n is not None and n != m for n, m in zip(shape, got)):
        raise ValueError(f"{name} must have shape ({dims}) = {want}; got {tuple(got)}")
