"""The training loop: `fit` (Adam, gradient clipping, a cosine schedule), `evaluate`, metrics.

`fit` takes the training step as an argument: the book's answer
(`solutions.training_torch.train_step`, what `python -m tools.train` passes) or your own, from
chapter 31, which has the same signature.
"""

import math
import sys

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm


def accuracy(outputs, y):
    """The fraction of rows whose largest logit is the label: outputs (B, C), y (B,)."""
    return (outputs.argmax(dim=1) == y).double().mean().item()


def adding_accuracy(outputs, y, tolerance=0.04):
    """The fraction of predictions within `tolerance` of the target (adding problem)."""
    return ((outputs - y).abs() < tolerance).double().mean().item()


def evaluate(model, x, y, loss_fn=F.cross_entropy, metric=accuracy, batch_size=1000):
    """(loss, metric) of `model` on all of x, y, in evaluation mode (no dropout)."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        outputs = torch.cat([model(xb) for xb in x.split(batch_size)])
    model.train(was_training)
    return loss_fn(outputs, y).item(), metric(outputs, y)


def progress(iterable, desc, total=None):
    """A tqdm progress bar on stderr.

    In a terminal it shows timings; elsewhere (a notebook, a log file) it leaves them
    out and redraws at every step, so the text it writes is the same on every run.
    """
    if sys.stderr.isatty():
        return tqdm(iterable, desc=desc, total=total)
    return tqdm(iterable, desc=desc, total=total, mininterval=0, miniters=1,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}{postfix}")


def fit(model, data, *, step, epochs, lr, batch_size, max_norm, seed=0,
        loss_fn=F.cross_entropy, metric=accuracy, desc="training"):
    """Train `model` with Adam, gradient clipping and a cosine learning-rate schedule.

    data:  dict of tensors x, y (training) and x_test, y_test.
    step:  the training step: step(model, x, y, optimizer, max_norm, loss_fn) -> the
           batch's loss (a float), as chapter 31's `train_step`.
    epochs, batch_size: each epoch visits the training set once in a random order;
           the order and any dropout come from `seed`, so a run is reproducible.
    lr:    the initial learning rate; it decays along a half cosine to 0 at the end.
    Returns the learning curves, one entry per epoch: a dict with train_loss (the mean
    loss of the epoch's batches), test_loss and test_metric; and first_epoch_batch_loss,
    the loss of every batch of the first epoch (to compare two runs step by step).
    """
    torch.manual_seed(seed)
    order_rng = torch.Generator().manual_seed(seed)
    x, y = data["x"], data["y"]
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * math.ceil(len(x) / batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    history = {"train_loss": [], "test_loss": [], "test_metric": []}
    bar = progress(range(epochs), desc)
    for _ in bar:
        losses = []
        for batch in torch.randperm(len(x), generator=order_rng).split(batch_size):
            losses.append(step(model, x[batch], y[batch], optimizer, max_norm, loss_fn))
            schedule.step()
        test_loss, test_metric = evaluate(model, data["x_test"], data["y_test"], loss_fn, metric)
        history["train_loss"].append(float(np.mean(losses)))
        history["test_loss"].append(test_loss)
        history["test_metric"].append(test_metric)
        history.setdefault("first_epoch_batch_loss", losses)
        bar.set_postfix_str(f"loss {history['train_loss'][-1]:.3f}, test {test_metric:.3f}",
                            refresh=False)
    bar.close()
    return history
