"""The data sets of the training runs, as NumPy arrays (`as_tensors` makes them torch's).

- `mnist1d`: MNIST-1D (Greydanus 2020), 40 steps of one feature, 10 classes;
- `digits_rows`: scikit-learn's 8x8 digits, one image row per step;
- `adding_problem` / `adding_data`: the adding problem (Hochreiter & Schmidhuber 1997);
- `remember_first` / `remember_first_data`: is the first of T numbers positive?
"""

import numpy as np
import torch


def mnist1d(shuffle_seq=False):
    """MNIST-1D (Greydanus 2020), generated offline: 4,000 training and 1,000 test sequences.

    shuffle_seq: apply one fixed random permutation to the 40 timesteps of every
                 sequence (the same permutation for all), as in the MNIST-1D paper.
    Returns a dict of NumPy arrays: x (4000, 40, 1) and x_test (1000, 40, 1) float32,
    y (4000,) and y_test (1000,) int64 labels 0-9.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.shuffle_seq = shuffle_seq
    # make_dataset reseeds NumPy's global generator; put the caller's state back.
    state = np.random.get_state()
    data = make_dataset(args)
    np.random.set_state(state)
    return {"x": data["x"][..., None].astype(np.float32), "y": data["y"].astype(np.int64),
            "x_test": data["x_test"][..., None].astype(np.float32),
            "y_test": data["y_test"].astype(np.int64)}


def digits_rows(test_size=360, seed=0):
    """scikit-learn's 8x8 digits read one image row per timestep.

    Returns a dict of NumPy arrays: x (N, 8, 8) float32 in [0, 1] (8 timesteps of 8
    pixels), y (N,) int64, and x_test, y_test: a random split of the 1,797 images with
    `test_size` test images.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images / 16).astype(np.float32)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    test, train = order[:test_size], order[test_size:]
    return {"x": x[train], "y": y[train], "x_test": x[test], "y_test": y[test]}


def adding_problem(n, T, rng):
    """The adding problem (Hochreiter & Schmidhuber 1997), `n` sequences of length `T`.

    Each step has two features: a value drawn uniformly from [0, 1) and a marker that is
    1 at exactly two steps, one in each half of the sequence, and 0 elsewhere. The
    target is the sum of the two marked values, so the first one must be remembered
    for up to T steps. Predicting the constant 1 gives a mean squared error of 1/6.
    Returns x (n, T, 2) float32 and y (n, 1) float32.
    """
    if T < 2:
        raise ValueError(f"T must be at least 2 (one marker in each half); got {T}")
    values = rng.uniform(0, 1, size=(n, T))
    first = rng.integers(0, T // 2, size=n)
    second = rng.integers(T // 2, T, size=n)
    markers = np.zeros((n, T))
    markers[np.arange(n), first] = markers[np.arange(n), second] = 1
    x = np.stack([values, markers], axis=-1).astype(np.float32)
    y = (values * markers).sum(axis=1, keepdims=True).astype(np.float32)
    return x, y


def remember_first(n, T, rng):
    """Remember the first step: is the first of T standard-normal numbers positive?

    The other T - 1 numbers are distractors drawn from the same distribution, so only
    the position of a number tells whether it matters.
    Returns x (n, T, 1) float32 and y (n,) int64 labels 0/1.
    """
    x = rng.standard_normal(size=(n, T, 1)).astype(np.float32)
    return x, (x[:, 0, 0] > 0).astype(np.int64)


def remember_first_data(T, n_train=2_000, n_test=1_000, seed=0):
    """Training and test sets of `remember_first` for length T: dict x, y, x_test, y_test."""
    rng = np.random.default_rng(seed)
    x, y = remember_first(n_train, T, rng)
    x_test, y_test = remember_first(n_test, T, rng)
    return {"x": x, "y": y, "x_test": x_test, "y_test": y_test}


def adding_data(T, n_train=10_000, n_test=1_000, seed=0):
    """Training and test sets of the adding problem for length T: dict x, y, x_test, y_test."""
    rng = np.random.default_rng(seed)
    x, y = adding_problem(n_train, T, rng)
    x_test, y_test = adding_problem(n_test, T, rng)
    return {"x": x, "y": y, "x_test": x_test, "y_test": y_test}


def as_tensors(data, dtype=torch.float32):
    """The same dict with every NumPy array turned into a torch tensor, floats in `dtype`."""
    out = {}
    for name, value in data.items():
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(value)
            value = value.to(dtype) if value.is_floating_point() else value
        out[name] = value
    return out
