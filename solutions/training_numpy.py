"""The NumPy training exercises of chapter 33: softmax cross-entropy, gradient clipping, Adam.

The classifier and the training loop built on them are a tool:
`tools.train.numpy_classifier`.
"""

import numpy as np

from solutions.shapes import expect


def softmax_cross_entropy(logits, y):
    """The mean cross-entropy of softmax(logits) against integer labels, and its gradient.

    Inputs:  logits (B, C) floats; y (B,) integer class labels in [0, C).
    Returns: (loss, dlogits): loss, a float, -mean_n log softmax(logits[n])[y[n]];
             dlogits (B, C) = dloss/dlogits = (softmax(logits) - onehot(y)) / B, in the
             dtype of logits.
    """
    expect("logits", logits, (None, None), "B, C")
    B, C = logits.shape
    y = np.asarray(y)
    if y.shape != (B,) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be integer labels of shape (B,) = ({B},); "
                         f"got {y.dtype} of shape {y.shape}")
    # Subtracting the row maximum changes nothing mathematically and keeps exp() finite.
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(B)
    loss = -log_probs[rows, y].mean()
    dlogits = np.exp(log_probs)
    dlogits[rows, y] -= 1
    return float(loss), dlogits / B


def clip_gradients(grads, max_norm):
    """Rescale gradients so that their global norm is at most max_norm.

    Inputs:  grads, a dict name -> array; max_norm > 0.
    Returns: (clipped, norm): norm is the global norm before clipping, the square root
             of the sum of squares of every entry of every array (a float); clipped is a
             new dict with every array multiplied by min(1, max_norm / (norm + 1e-6)),
             exactly what torch.nn.utils.clip_grad_norm_ does (the 1e-6 avoids dividing
             by zero). Dtypes are kept.
    """
    if not isinstance(grads, dict) or not grads:
        raise ValueError(f"grads must be a non-empty dict name -> array; "
                         f"got {type(grads).__name__}")
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive; got {max_norm!r}")
    norm = float(np.sqrt(sum(np.sum(np.square(g, dtype=np.float64)) for g in grads.values())))
    scale = min(1.0, max_norm / (norm + 1e-6))
    return {name: (g * scale).astype(g.dtype, copy=False) for name, g in grads.items()}, norm


def adam_update(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step (Kingma & Ba 2015) for one parameter array, as torch.optim.Adam does it.

    Inputs:  param, grad, m, v: arrays of the same shape; m and v are the running
             averages of grad and grad**2 (zeros before the first step); t, the number
             of this step, 1 for the first; the hyper-parameters.
    Returns: (param, m, v) after the step, new arrays in param's dtype.
    """
    shapes = [np.shape(a) for a in (param, grad, m, v)]
    if len(set(shapes)) > 1:
        raise ValueError(f"param, grad, m and v must have the same shape; got {shapes}")
    if t < 1:
        raise ValueError(f"t is the number of this step, counted from 1; got {t}")
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    # m and v start at zero, so early on they are too small by a factor (1 - beta**t).
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
