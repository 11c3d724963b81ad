"""Batches of sequences of different lengths: masks and a loss that ignores the padding.

A padded batch is time-major, (T, B, ...), with T the longest length; sequence b fills
steps 0 .. lengths[b] - 1 and the rest is padding. (`solutions.torch_lstm.masked_lstm_layer`
runs an LSTM over such a batch; nn.LSTM does it with a PackedSequence.)
"""

import torch


def length_mask(lengths, T):
    """(T, B) bool: mask[t, b] is True where step t is inside sequence b.

    lengths: (B,) integers in 0..T, a tensor or a list.
    """
    lengths = torch.as_tensor(lengths)
    if lengths.dim() != 1 or lengths.is_floating_point():
        raise ValueError(f"lengths must be a (B,) integer tensor; got {lengths.dtype} of shape "
                         f"{tuple(lengths.shape)}")
    if len(lengths) and (lengths.min() < 0 or lengths.max() > T):
        raise ValueError(f"lengths must be in 0..T = 0..{T}; got {lengths.tolist()}")
    return torch.arange(T, device=lengths.device)[:, None] < lengths


def masked_mse_loss(pred, target, lengths):
    """The mean squared error over the valid steps of a padded batch.

    Inputs:  pred, target (T, B, O) time-major; lengths (B,) integers in 1..T.
    Returns: a 0-dim tensor, sum of (pred - target)**2 over the valid steps divided by
             (number of valid steps) * O. The padded steps get zero gradient.
    """
    if pred.shape != target.shape or pred.dim() != 3:
        raise ValueError(f"pred and target must have one shape (T, B, O); got "
                         f"{tuple(pred.shape)} and {tuple(target.shape)}")
    mask = length_mask(lengths, pred.shape[0]).to(pred.device)[..., None]  # (T, B, 1)
    # Multiplying by the mask (rather than indexing) keeps one shape for every batch, and
    # the division by the number of valid entries, not by T * B * O, keeps a batch with
    # much padding from counting less than a full one.
    return torch.sum(mask * (pred - target) ** 2) / (mask.sum() * pred.shape[2])
