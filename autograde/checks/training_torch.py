"""Checks for chapter 31 (training on MNIST-1D, PyTorch): train_step.

The expected values come from PyTorch itself: torch autograd and F.cross_entropy,
torch.nn.utils.clip_grad_norm_ and torch.optim.SGD, all in float64.
"""

import numpy as np

from autograde.references import torch_modules as M
from autograde.registry import exercise
from autograde.spec import Case, SubmissionError, random_array, random_sizes

CHAPTER_MNIST1D = "31_training_mnist1d.ipynb"


def _torch():
    return M.load_torch()


# ----------------------------------------------------------------------------- train_step
def _classifier(I, H, C):
    """A float64 LSTM classifier in torch: nn.LSTM over (B, T, I), a linear layer on h_T."""
    torch = _torch()

    class Classifier(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.LSTM(I, H, batch_first=True, dtype=torch.float64)
            self.head = torch.nn.Linear(H, C, dtype=torch.float64)

        def forward(self, x):
            return self.head(self.rnn(x)[0][:, -1])

    return Classifier()


def _loaded_classifier(weights):
    """The classifier holding copies of `weights` (name -> array)."""
    torch = _torch()
    I, H = weights["rnn.weight_ih_l0"].shape[1], weights["rnn.weight_hh_l0"].shape[1]
    model = _classifier(I, H, weights["head.weight"].shape[0])
    model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
    return model


def run_train_step(fn, inputs):
    """Call fn(model, x, y, optimizer, max_norm) on a fresh model whose .grad holds stale
    values (as after a previous step) and an SGD optimizer; return the loss and the weights."""
    torch = _torch()
    model = _loaded_classifier(inputs["weights"])
    for name, p in model.named_parameters():
        p.grad = torch.tensor(inputs["stale_grads"][name])
    optimizer = torch.optim.SGD(model.parameters(), lr=inputs["lr"])
    loss = fn(model, torch.tensor(inputs["x"]), torch.tensor(inputs["y"]), optimizer,
              inputs["max_norm"])
    try:
        loss = float(loss.detach() if isinstance(loss, torch.Tensor) else loss)
    except (TypeError, ValueError, RuntimeError):
        raise SubmissionError(f"must return the loss as a number (loss.item()); got "
                              f"{type(loss).__name__}") from None
    out = {"loss": np.asarray(loss, dtype=np.float64)}
    out.update({name: p.detach().numpy().copy() for name, p in model.named_parameters()})
    return out


def _sgd_after(weights, grads, lr, max_norm, clip="global"):
    """The weights after one torch.optim.SGD step on `grads`, clipped by
    torch.nn.utils.clip_grad_norm_ over all of them ("global"), per array, or not at all."""
    torch = _torch()
    model = _loaded_classifier(weights)
    params = dict(model.named_parameters())
    for name, p in params.items():
        p.grad = torch.tensor(grads[name])
    if clip == "global":
        torch.nn.utils.clip_grad_norm_(list(params.values()), max_norm)
    elif clip == "per array":
        for p in params.values():
            torch.nn.utils.clip_grad_norm_([p], max_norm)
    torch.optim.SGD(list(params.values()), lr=lr).step()
    return {name: p.detach().numpy().copy() for name, p in params.items()}


@exercise("train_step", points=3, chapter=CHAPTER_MNIST1D, run=run_train_step,
          reference=M.train_step, solution="solutions.training_torch", from_scratch=False)
def train_step_cases(rng):
    torch = _torch()
    cases = []
    for max_norm in (0.05, 1e3):  # clipping active, then inactive
        s = random_sizes(rng, "B", "T", "I", "H", "C", low=2, high=5)
        model = _classifier(s["I"], s["H"], s["C"])
        weights = {k: random_array(rng, v.shape, np.float64, 0.5)
                   for k, v in model.state_dict().items()}
        model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
        x = random_array(rng, (s["B"], s["T"], s["I"]), np.float64)
        y = rng.integers(0, s["C"], size=s["B"])
        lr = 0.5
        loss = torch.nn.functional.cross_entropy(model(torch.tensor(x)), torch.tensor(y))
        names = [name for name, _ in model.named_parameters()]
        grads = {name: g.numpy() for name, g in
                 zip(names, torch.autograd.grad(loss, model.parameters()), strict=True)}
        stale = {k: random_array(rng, g.shape, np.float64) for k, g in grads.items()}
        loss = np.asarray(loss.item())

        def outputs(new_weights, loss=loss):
            return {"loss": loss, **new_weights}

        suspects = {
            "the gradients are not zeroed before backward() (optimizer.zero_grad()), so they "
            "add to the previous step's":
                outputs(_sgd_after(weights, {k: grads[k] + stale[k] for k in grads}, lr, max_norm)),
            "optimizer.step() is not called": outputs(weights),
            "each parameter is clipped by its own norm; clip_grad_norm_ uses the norm of all "
            "gradients together": outputs(_sgd_after(weights, grads, lr, max_norm, "per array")),
        }
        if max_norm < 1:
            suspects["the gradients are not clipped before optimizer.step()"] = \
                outputs(_sgd_after(weights, grads, lr, max_norm, "none"))
        label = f"B={s['B']} T={s['T']} I={s['I']} H={s['H']} C={s['C']}, max_norm={max_norm:g}" + \
            (" (clipping active)" if max_norm < 1 else " (no clipping needed)")
        cases.append(Case(label, dict(weights=weights, stale_grads=stale, x=x, y=y, lr=lr,
                                      max_norm=max_norm),
                          outputs(_sgd_after(weights, grads, lr, max_norm)), 1e-7,
                          suspects=suspects))
    return cases
