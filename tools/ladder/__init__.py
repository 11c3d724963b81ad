"""The performance ladder: LSTMs equal to torch.nn.LSTM, each rung one idea faster.

Every rung runs the forward pass of a given `torch.nn.LSTM` (its own parameters, shared,
so gradients land in `lstm.weight_ih_l0.grad` and so on) on a time-major input:

    run = build(rung, lstm, x, hx)        x (T, B, I); hx = (h0, c0), each (L, B, H)
    out, (h_n, c_n) = run(x, hx)          out (T, B, H); h_n, c_n (L, B, H)

`build` does the one-off work (compiling, capturing a CUDA graph) on the example inputs;
`run` is what a benchmark times (`python -m tools.bench ladder`). The rungs, in the order
of chapter 42, are `RUNGS`; what they run is in `tools.ladder.rungs` (built from the
book's answers, so building one needs the answer key), the Triton kernel in
`tools.ladder.triton_cell`. Importing this package imports nothing heavy: the list of
rungs serves the chapter and the bench's reports wherever torch or the answers are
missing.
"""

import importlib.util
import os
from typing import NamedTuple


class Rung(NamedTuple):
    """One rung: its name, the idea it adds and where it runs."""

    name: str
    idea: str
    needs: str  # "any", "cuda" (a GPU), "triton" (Triton), "cuda+triton" (both)


RUNGS = {r.name: r for r in [
    Rung("naive", "one product per gate and per input: 8 per step", "any"),
    Rung("fused", "the four gates in one product per input: 2 per step", "any"),
    Rung("hoisted", "the input's products of all steps as one, before the loop", "any"),
    Rung("scripted", "hoisted, compiled by TorchScript (loop included)", "any"),
    Rung("compiled", "hoisted, the cell compiled by torch.compile (pointwise ops fused)", "any"),
    Rung("cuda_graph", "hoisted, the whole sequence replayed as one CUDA graph", "cuda"),
    Rung("compiled_graph", "compiled, the whole sequence replayed as one CUDA graph", "cuda"),
    Rung("triton", "hoisted, the cell's pointwise work in one Triton kernel", "triton"),
    Rung("triton_graph", "triton, the whole sequence replayed as one CUDA graph", "cuda+triton"),
    Rung("cudnn", "torch.nn.LSTM: cuDNN on a GPU, ATen's own LSTM kernel on a CPU", "any"),
]}


def available(name, device):
    """Whether rung `name` can run on `device` ("cpu" or "cuda"): (bool, reason if not).

    The Triton rung runs on a GPU, or on the CPU under Triton's interpreter (environment
    variable TRITON_INTERPRET=1, slow: for tests only).
    """
    import torch

    needs = RUNGS[name].needs
    on_gpu = torch.device(device).type == "cuda"
    if needs == "cuda+triton" and not on_gpu:
        return False, "needs a CUDA GPU"
    if needs == "triton" and not (on_gpu or os.environ.get("TRITON_INTERPRET") == "1"):
        return False, "needs a CUDA GPU (or TRITON_INTERPRET=1 on the CPU)"
    if needs == "cuda" and not on_gpu:
        return False, "needs a CUDA GPU"
    if "triton" in needs and importlib.util.find_spec("triton") is None:
        return False, "needs Triton (pip install triton)"
    return True, ""


def check_inputs(lstm, x, hx):
    """Raise ValueError unless lstm is a plain nn.LSTM and x, hx fit it."""
    import torch

    if not isinstance(lstm, torch.nn.LSTM):
        raise ValueError(f"lstm must be a torch.nn.LSTM; got {type(lstm).__name__}")
    if (lstm.bidirectional or lstm.batch_first or not lstm.bias or lstm.proj_size
            or (lstm.dropout and lstm.training)):
        raise ValueError("the ladder's rungs take an nn.LSTM with bias, time-major input, one "
                         "direction, no proj_size and no dropout in training mode; got "
                         f"{lstm}")
    if not (isinstance(hx, tuple) and len(hx) == 2):
        raise ValueError(f"hx must be a tuple (h0, c0); got {type(hx).__name__}")
    B = x.shape[1] if isinstance(x, torch.Tensor) and x.dim() == 3 else None
    for name, tensor, want, dims in [("x", x, (None, None, lstm.input_size), "T, B, I"),
                                     ("h0", hx[0], (lstm.num_layers, B, lstm.hidden_size),
                                      "L, B, H"),
                                     ("c0", hx[1], (lstm.num_layers, B, lstm.hidden_size),
                                      "L, B, H")]:
        got = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
        if not isinstance(tensor, torch.Tensor) or len(got) != len(want) or any(
                w is not None and w != g for w, g in zip(want, got)):
            expected = ", ".join("?" if w is None else str(w) for w in want)
            raise ValueError(f"{name} must have shape ({dims}) = ({expected}); got {got}")


def build(name, lstm, x, hx):
    """A function run(x, hx) -> (out, (h_n, c_n)) for rung `name`, equal to lstm(x, hx).

    lstm: a torch.nn.LSTM (bias, time-major, one direction); x (T, B, I); hx = (h0, c0),
    each (L, B, H), on lstm's device. Raises ValueError for an unknown rung, bad inputs
    or a rung that cannot run here (see `available`).
    """
    if name not in RUNGS:
        raise ValueError(f"no rung is called {name!r}; the rungs are: {', '.join(RUNGS)}")
    check_inputs(lstm, x, hx)
    ok, reason = available(name, x.device)
    if not ok:
        raise ValueError(f"rung {name!r} {reason}; x is on {x.device}")
    from tools.ladder.rungs import BUILDERS  # the answers (solutions/) are imported here

    return BUILDERS[name](lstm, x, hx)
