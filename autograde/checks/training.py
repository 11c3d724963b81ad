"""Checks for the training chapters: train_step (PyTorch), and softmax_cross_entropy,
clip_gradients and adam_update (NumPy).

The expected values come from PyTorch itself (autograde.references): torch autograd and
F.cross_entropy, torch.nn.utils.clip_grad_norm_ and torch.optim.Adam, all in float64.
"""

import numpy as np

from autograde.references import torch_modules as M
from autograde.references import torch_ref as ref
from autograde.registry import exercise
from autograde.spec import DTYPES, Case, SubmissionError, case, random_array, random_sizes

CHAPTER_MNIST1D = "31_training_mnist1d.ipynb"
CHAPTER_NUMPY = "33_training_numpy.ipynb"


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
          reference=M.train_step, solution="solutions.train", from_scratch=False)
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


# ----------------------------------------------------------------------- softmax_cross_entropy
def run_softmax_cross_entropy(fn, inputs):
    out = fn(inputs["logits"], inputs["y"])
    if not isinstance(out, tuple) or len(out) != 2:
        raise SubmissionError("must return a tuple (loss, dlogits)")
    try:
        loss = np.asarray(float(out[0]), dtype=np.float64)
    except (TypeError, ValueError):
        raise SubmissionError(f"must return the loss as a number; got {type(out[0]).__name__}") \
            from None
    return {"loss": loss, "dlogits": out[1]}


@exercise("softmax_cross_entropy", points=2, chapter=CHAPTER_NUMPY, run=run_softmax_cross_entropy,
          reference=ref.softmax_cross_entropy, solution="solutions.numpy_train")
def softmax_cross_entropy_cases(rng):
    cases = []
    for dtype in DTYPES:
        for B, C, scale in ((1, 2, 3.0), (int(rng.integers(3, 7)), int(rng.integers(3, 11)), 3.0),
                            (4, 5, 1000.0)):
            logits = random_array(rng, (B, C), dtype, scale)
            y = rng.integers(0, C, size=B)
            loss, dlogits = ref.softmax_cross_entropy(logits, y)
            loss = np.asarray(loss)
            suspects = {"the loss is summed over the batch; it is the mean":
                        {"loss": loss * B, "dlogits": dlogits * B},
                        "dlogits is not divided by B (the loss is a mean over the batch)":
                        {"loss": loss, "dlogits": dlogits * B}} if B > 1 else {}
            notes = ["logits near ±1000 (exp overflows unless you subtract the max)"] \
                if scale > 10 else []
            cases.append(case(dtype, dict(B=B, C=C), dict(logits=logits, y=y),
                              {"loss": loss, "dlogits": dlogits}, *notes, axes={"dlogits": ("B", "C")},
                              suspects=suspects))
    return cases


# ----------------------------------------------------------------------------- clip_gradients
def run_clip_gradients(fn, inputs):
    grads = inputs["grads"]
    out = fn({k: g.copy() for k, g in grads.items()}, inputs["max_norm"])
    if not isinstance(out, tuple) or len(out) != 2 or not isinstance(out[0], dict):
        raise SubmissionError("must return a tuple (clipped, norm) with clipped a dict")
    if set(out[0]) != set(grads):
        raise SubmissionError(f"must return a dict with the keys of grads {sorted(grads)}; "
                              f"got {sorted(out[0])}")
    try:
        norm = np.asarray(float(out[1]), dtype=np.float64)
    except (TypeError, ValueError):
        raise SubmissionError(f"must return the norm as a number; got {type(out[1]).__name__}") \
            from None
    return {"norm": norm, **{f"clipped[{k}]": out[0][k] for k in grads}}


def _flat_clip(clipped, norm):
    return {"norm": np.asarray(norm), **{f"clipped[{k}]": g for k, g in clipped.items()}}


@exercise("clip_gradients", points=2, chapter=CHAPTER_NUMPY, run=run_clip_gradients,
          reference=ref.clip_gradients, solution="solutions.numpy_train")
def clip_gradients_cases(rng):
    cases = []
    for dtype in DTYPES:
        s = random_sizes(rng, "I", "H", "C", low=2, high=5)
        grads = {"Wx": random_array(rng, (s["I"], 4 * s["H"]), dtype),
                 "Wh": random_array(rng, (s["H"], 4 * s["H"]), dtype),
                 "b": random_array(rng, (4 * s["H"],), dtype, 3.0),
                 "W": random_array(rng, (s["H"], s["C"]), dtype)}
        norm = ref.clip_gradients(grads, np.inf)[1]  # the norm of all of them
        for factor in (0.3, 2.0):  # clipping active, then inactive
            max_norm = round(factor * norm, 3)
            clipped, got_norm = ref.clip_gradients(grads, max_norm)
            per_array = {k: ref.clip_gradients({k: g}, max_norm)[0][k]
                         for k, g in grads.items()}
            suspects = {
                "each array is clipped by its own norm instead of the norm of all of them together":
                    _flat_clip(per_array, got_norm),
                "the norm returned is the norm after clipping; return the norm before":
                    _flat_clip(clipped, min(norm, max_norm)),
            }
            if factor < 1:
                suspects["the scale is max_norm / norm; PyTorch uses max_norm / (norm + 1e-6)"] = \
                    _flat_clip(ref.clip_gradients(grads, max_norm * (norm + 1e-6) / norm)[0],
                               got_norm)
            else:
                suspects["the gradients are rescaled even though their norm is below max_norm"] = \
                    _flat_clip({k: (g * max_norm / norm).astype(dtype) for k, g in grads.items()},
                               got_norm)
            cases.append(case(dtype, s, dict(grads=grads, max_norm=max_norm),
                              _flat_clip(clipped, got_norm),
                              f"max_norm={max_norm:g}", f"norm={norm:.3f}",
                              suspects=suspects))
    return cases


# ----------------------------------------------------------------------------- adam_update
def run_adam_update(fn, inputs):
    out = fn(*inputs.values())
    if not isinstance(out, tuple) or len(out) != 3:
        raise SubmissionError("must return a tuple (param, m, v)")
    return dict(zip(("param", "m", "v"), out, strict=True))


def _adam_mistake(a, mistake):
    """(param, m, v) after an Adam step with a known mistake, by torch.optim.Adam."""
    right = ref.adam_update(**a)
    if mistake == "no bias correction":  # resumed so late that 1 - beta**t is 1
        wrong = ref.adam_update(**a, resumed_at=10**7)
    elif mistake == "eps inside the square root":
        # sqrt(v_hat + eps) is Adam without eps on v shifted by eps * (1 - beta2**t) / beta2.
        shift = a["eps"] * (1 - a["beta2"] ** a["t"]) / a["beta2"]
        wrong = ref.adam_update(**{**a, "eps": 0.0, "v": a["v"].astype(np.float64) + shift})
    else:  # the step counter starts at 0
        wrong = ref.adam_update(**a, resumed_at=a["t"])
    return {"param": wrong[0], "m": right[1], "v": right[2]}


@exercise("adam_update", points=3, chapter=CHAPTER_NUMPY, run=run_adam_update,
          reference=ref.adam_update, solution="solutions.numpy_train")
def adam_update_cases(rng):
    cases = []
    for dtype in DTYPES:
        for t in (1, int(rng.integers(2, 20))):
            shape = tuple(int(n) for n in rng.integers(1, 5, size=int(rng.integers(1, 3))))
            zeros = np.zeros(shape, dtype)
            a = dict(param=random_array(rng, shape, dtype), grad=random_array(rng, shape, dtype),
                     m=zeros if t == 1 else random_array(rng, shape, dtype, 0.1),
                     v=zeros if t == 1 else np.abs(random_array(rng, shape, dtype, 0.1)),
                     t=t, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8)
            if t > 1:  # eps matters only when v is tiny; make one entry so
                a["v"].flat[0] = 1e-12
                a["eps"] = 1e-3
            expected = dict(zip(("param", "m", "v"), ref.adam_update(**a), strict=True))
            suspects = {
                "no bias correction (divide m by 1 - beta1**t and v by 1 - beta2**t)":
                    _adam_mistake(a, "no bias correction"),
                "eps is inside the square root; it is added to sqrt(v_hat)":
                    _adam_mistake(a, "eps inside the square root"),
                "the bias correction uses t + 1; t is already the number of this step (1 first)":
                    _adam_mistake(a, "t + 1"),
            }
            notes = [f"shape {shape}"] + (["m = v = 0"] if t == 1 else [])
            cases.append(case(dtype, dict(t=t), a, expected, *notes, suspects=suspects))
    return cases
