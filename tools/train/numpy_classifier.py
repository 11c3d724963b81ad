"""An LSTM classifier trained in NumPy, with chapter 33's answers, and its PyTorch twin.

The model reads x (B, T, I) with `solutions.numpy_lstm.lstm_forward`, from a zero
initial state, and classifies the last hidden state with a linear layer:

    logits = h_T @ W + c        W (H, C), c (C,)

Its parameters are one dict {"Wx", "Wh", "b", "W", "c"}. The loss, the clipping and
Adam's update are the book's answers (`solutions.training_numpy`), the LSTM too
(`solutions.numpy_lstm`): this needs the answer key. Everything here needs NumPy (and
tqdm for the progress bar) only; `torch_twin` builds the same model in PyTorch.
"""

import numpy as np

from solutions.numpy_lstm import lstm_backward, lstm_forward
from solutions.training_numpy import adam_update, clip_gradients, softmax_cross_entropy
from tools.train.loop import progress


class Adam:
    """Adam for a dict of parameters: keeps m, v and the step count between steps."""

    def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = {name: np.zeros_like(p) for name, p in params.items()}
        self.v = {name: np.zeros_like(p) for name, p in params.items()}
        self.t = 0

    def step(self, params, grads):
        """Update every array of `params` (a dict, changed in place) from `grads`."""
        self.t += 1
        for name in params:
            params[name], self.m[name], self.v[name] = adam_update(
                params[name], grads[name], self.m[name], self.v[name], self.t, self.lr,
                self.beta1, self.beta2, self.eps)


def init_classifier(I, H, C, rng, dtype=np.float64):
    """Random parameters for the classifier, uniform in [-1/sqrt(H), 1/sqrt(H)) as PyTorch.

    Returns dict Wx (I, 4H), Wh (H, 4H), b (4H,), W (H, C), c (C,).
    """
    bound = 1 / np.sqrt(H)
    shapes = {"Wx": (I, 4 * H), "Wh": (H, 4 * H), "b": (4 * H,), "W": (H, C), "c": (C,)}
    return {name: rng.uniform(-bound, bound, size=s).astype(dtype) for name, s in shapes.items()}


def _last_hidden(params, x):
    """The LSTM's states hs (B, T, H) from a zero initial state, and the zero state."""
    H = params["Wh"].shape[0]
    zeros = np.zeros((x.shape[0], H), dtype=x.dtype)
    hs, _ = lstm_forward(x, zeros, zeros, params["Wx"], params["Wh"], params["b"])
    return hs, zeros


def classifier_logits(params, x):
    """logits (B, C) of the classifier for x (B, T, I)."""
    hs, _ = _last_hidden(params, x)
    return hs[:, -1] @ params["W"] + params["c"]


def classifier_loss(params, x, y):
    """The classifier's loss on a batch and its gradients.

    Inputs:  params; x (B, T, I); y (B,) integer labels.
    Returns: (loss, grads, logits): the mean cross-entropy (a float), a dict with the
             gradient of every parameter, and the logits (B, C).
    """
    hs, zeros = _last_hidden(params, x)
    h_T = hs[:, -1]
    logits = h_T @ params["W"] + params["c"]
    loss, dlogits = softmax_cross_entropy(logits, y)
    # Only the last hidden state feeds the loss; every other step gets its gradient
    # through the recurrence inside lstm_backward.
    dhs = np.zeros_like(hs)
    dhs[:, -1] = dlogits @ params["W"].T
    lstm_grads = lstm_backward(dhs, x, zeros, zeros, params["Wx"], params["Wh"], params["b"])
    grads = {name: lstm_grads[name] for name in ("Wx", "Wh", "b")}
    grads["W"] = h_T.T @ dlogits
    grads["c"] = dlogits.sum(axis=0)
    return loss, grads, logits


def train_step(params, x, y, optimizer, max_norm):
    """One training step: loss and gradients, clipping, an Adam step (params change in place).

    Returns the batch's loss before the update (a float).
    """
    loss, grads, _ = classifier_loss(params, x, y)
    grads, _ = clip_gradients(grads, max_norm)
    optimizer.step(params, grads)
    return loss


def evaluate(params, x, y):
    """(mean cross-entropy, accuracy) of the classifier on x (N, T, I), y (N,)."""
    logits = classifier_logits(params, x)
    loss, _ = softmax_cross_entropy(logits, y)
    return loss, float((logits.argmax(axis=1) == y).mean())


def batches(n, batch_size, rng):
    """Index arrays that visit range(n) once in a random order, batch_size at a time."""
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def fit(params, data, *, epochs, lr, batch_size, max_norm, seed=0, desc="numpy"):
    """Train the classifier with Adam and gradient clipping (params change in place).

    data: dict of NumPy arrays x, y, x_test, y_test. The batch order comes from `seed`.
    Returns the learning curves, one entry per epoch: dict train_loss (the mean loss of
    the epoch's batches), test_loss and test_accuracy.
    """
    rng = np.random.default_rng(seed)
    optimizer = Adam(params, lr)
    history = {"train_loss": [], "test_loss": [], "test_accuracy": []}
    bar = progress(range(epochs), desc)
    for _ in bar:
        losses = [train_step(params, data["x"][idx], data["y"][idx], optimizer, max_norm)
                  for idx in batches(len(data["x"]), batch_size, rng)]
        test_loss, test_accuracy = evaluate(params, data["x_test"], data["y_test"])
        history["train_loss"].append(float(np.mean(losses)))
        history["test_loss"].append(test_loss)
        history["test_accuracy"].append(test_accuracy)
        bar.set_postfix_str(f"loss {history['train_loss'][-1]:.3f}, test {test_accuracy:.3f}",
                            refresh=False)
    bar.close()
    return history


def torch_twin(params):
    """The same classifier in PyTorch, with copies of `params`, in their dtype.

    A `tools.train.models.SequenceModel` around torch.nn.LSTM. torch.nn.LSTM has two bias
    vectors where the book has one: bias_ih holds b and bias_hh is frozen at zero, so
    both models train exactly the same numbers (Adam would otherwise move the two
    biases separately, each by about lr per step).
    """
    import torch

    from solutions.port import numpy_to_torch
    from tools.train.models import SequenceModel

    I, H4 = params["Wx"].shape
    dtype = torch.float64 if params["Wx"].dtype == np.float64 else torch.float32
    rnn = torch.nn.LSTM(I, H4 // 4, batch_first=True, dtype=dtype)
    model = SequenceModel(rnn, H4 // 4, params["W"].shape[1]).to(dtype)
    state = {f"rnn.{k}": torch.from_numpy(v.copy())
             for k, v in numpy_to_torch(params["Wx"], params["Wh"], params["b"]).items()}
    state["head.weight"] = torch.from_numpy(params["W"].T.copy())
    state["head.bias"] = torch.from_numpy(params["c"].copy())
    model.load_state_dict(state)
    model.rnn.bias_hh_l0.requires_grad_(False)
    return model
