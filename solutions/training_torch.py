"""The training step of chapter 31: loss, backward, gradient clipping, optimizer step.

The training runs built on it (data sets, models, the loop, the command line) are a
tool: `python -m tools.train`, in `tools/train/`.
"""

import torch.nn.functional as F
from torch import nn


def train_step(model, x, y, optimizer, max_norm, loss_fn=F.cross_entropy):
    """One step of training on one batch.

    model:     maps x to predictions, e.g. logits (B, C) for a classifier.
    x, y:      a batch of inputs (B, T, I) and targets (class indices (B,) for
               cross-entropy).
    optimizer: a torch.optim optimizer over model's parameters.
    max_norm:  the gradients are rescaled so that their global norm (all parameters
               together) is at most max_norm, before the optimizer uses them.
    Returns the batch's loss (a float), computed before the update.
    """
    optimizer.zero_grad()  # backward() adds to .grad; start this batch from zero
    loss = loss_fn(model(x), y)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return loss.item()
