"""Checks for chapter 33 (training in NumPy): softmax_cross_entropy, clip_gradients and
adam_update.

The expected values come from PyTorch itself (`autograde.references.torch_ref`):
F.cross_entropy, torch.nn.utils.clip_grad_norm_ and torch.optim.Adam, all in float64.
"""

import numpy as np

from autograde.references import torch_ref as ref
from autograde.registry import exercise
from autograde.spec import DTYPES, SubmissionError, case, random_array, random_sizes

CHAPTER_NUMPY = "33_training_numpy.ipynb"


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
          reference=ref.softmax_cross_entropy, solution="solutions.training_numpy")
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
          reference=ref.clip_gradients, solution="solutions.training_numpy")
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
          reference=ref.adam_update, solution="solutions.training_numpy")
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
