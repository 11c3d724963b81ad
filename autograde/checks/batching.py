"""Checks for chapter 41 (batching): masked_mse_loss.

masked_mse_loss is a PyTorch function on time-major sequences (T, B, O), as nn.LSTM's
outputs are. `make_cases` draws NumPy inputs and computes the expected loss and its
gradient in float64 with the stand-in of `autograde.references.torch_modules` (autograd
through the masked loss, nn.utils.rnn's padding), which `use_working` hands out; `run`
hands the learner tensors made from those arrays and returns its tensors as arrays.
"""

import numpy as np

from autograde.checks.torch_run import input_tensors, returned_array
from autograde.references import torch_modules as M
from autograde.registry import exercise
from autograde.spec import DTYPES, SubmissionError, case, random_array

CHAPTER_BATCHING = "41_batching.ipynb"


def _torch():
    return M.load_torch()


# ---------------------------------------------------------------------------------------
# Running the learner's function


def _run_loss(fn, inputs):
    """Call a loss of (pred, ...) and differentiate it: {"loss", "d_pred"}."""
    torch = _torch()
    pred, *rest = input_tensors(inputs)
    pred.requires_grad_()
    loss = fn(pred, *rest)
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        got = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise SubmissionError(f"must return a 0-dim tensor (a scalar loss); got {got}")
    if not loss.requires_grad:
        raise SubmissionError("must compute the loss from pred with torch operations, so that "
                              "autograd can differentiate it")
    loss.backward()
    return {"loss": returned_array("loss", loss), "d_pred": returned_array("d_pred", pred.grad)}


def _loss_and_grad(loss_fn, a):
    """{"loss", "d_pred"} of loss_fn(pred, target, lengths), in float64, cast back."""
    torch = _torch()
    pred = torch.from_numpy(a["pred"].astype(np.float64)).requires_grad_()
    loss = loss_fn(pred, torch.from_numpy(a["target"].astype(np.float64)), a["lengths"])
    loss.backward()
    dtype = a["pred"].dtype
    return {"loss": loss.detach().numpy().astype(dtype), "d_pred": pred.grad.numpy().astype(dtype)}


def _unmasked_mean(pred, target, lengths):
    return ((pred - target) ** 2).mean()


def _mean_over_all_steps(pred, target, lengths):
    """Padding zeroed but counted: the sum over valid steps divided by T * B * O."""
    torch = _torch()
    valid = (torch.arange(pred.shape[0])[:, None] < torch.as_tensor(lengths))[..., None]
    return (valid * (pred - target) ** 2).sum() / pred.numel()


@exercise("masked_mse_loss", points=2, chapter=CHAPTER_BATCHING, run=_run_loss,
          reference=M.masked_mse_loss, solution="solutions.batching")
def masked_mse_loss_cases(rng):
    cases = []
    for dtype in DTYPES:
        for B, T, O, lengths in ((1, 1, 2, [1]), (3, 4, 1, [4, 4, 4]),
                                 (5, 6, 3, [3, 6, 1, int(rng.integers(1, 7)), 5]),
                                 (2, 5, 2, [2, 3])):  # no sequence fills all T steps
            a = dict(pred=random_array(rng, (T, B, O), dtype),
                     target=random_array(rng, (T, B, O), dtype), lengths=np.array(lengths))
            suspects = {
                "the padded steps are counted in the loss (no mask)":
                    _loss_and_grad(_unmasked_mean, a),
                "the padded steps are masked out but counted in the mean's denominator "
                "(divide by the number of valid steps times O)":
                    _loss_and_grad(_mean_over_all_steps, a),
            }
            cases.append(case(dtype, dict(T=T, B=B, O=O), a,
                              _loss_and_grad(M.masked_mse_loss, a), f"lengths={lengths}",
                              axes={"d_pred": ("T", "B", "O")}, suspects=suspects))
    return cases
