"""The performance ladder: LSTMs equal to torch.nn.LSTM, each rung one idea faster.

Every rung runs the forward pass of a given `torch.nn.LSTM` (its own parameters, shared,
so gradients land in `lstm.weight_ih_l0.grad` and so on) on a time-major input:

    run = build(rung, lstm, x, hx)        x (T, B, I); hx = (h0, c0), each (L, B, H)
    out, (h_n, c_n) = run(x, hx)          out (T, B, H); h_n, c_n (L, B, H)

`build` does the one-off work (compiling, capturing a CUDA graph) on the example inputs;
`run` is what a benchmark times. The rungs, in the order of the chapter:

    naive           NaiveLSTM's eight small products per step (one per gate and input)
    fused           one product for the four gates of x_t and one for those of h
    hoisted         the input's products of all T steps as one product before the loop
    scripted        `hoisted` compiled by TorchScript (the older route; the loop stays a loop)
    compiled        `hoisted` with the cell compiled by torch.compile (the loop in Python)
    cuda_graph      `hoisted`, the whole sequence captured in one CUDA graph (GPU only)
    compiled_graph  `compiled`, captured in one CUDA graph (GPU only)
    triton          `hoisted` with the cell's pointwise work in one Triton kernel (GPU only)
    triton_graph    `triton`, captured in one CUDA graph (GPU only)
    cudnn           torch.nn.LSTM itself: cuDNN on a GPU, ATen's native kernel on a CPU

The layer functions reuse `solutions.torch_lstm` (its fused cell and hoisted layer).
This module imports torch only (no TensorFlow), and Triton only for the Triton rungs.
"""

import importlib.util
import os
import warnings
from typing import Callable, NamedTuple

import torch
from torch import nn

from solutions.torch_lstm import NaiveLSTM, _expect, fused_lstm_cell, lstm_layer

# ---------------------------------------------------------------------------------------
# The pieces: a step with fused gates, the hoisted input projection, a loop over a cell


def fused_lstm_step(x_t, h, c, w_ih, w_hh, b_ih, b_hh):
    """One LSTM step with each input's four gates in one product (rung `fused`).

    Inputs:  x_t (B, I); h, c (B, H); w_ih (4H, I); w_hh (4H, H); b_ih, b_hh (4H,).
    Returns: (h_next, c_next), each (B, H).
    """
    # x_t @ w_ih.T is (B, 4H): the four gates' input parts from one product, not four.
    return fused_lstm_cell(x_t @ w_ih.t() + b_ih, h, c, w_hh, b_hh)


def hoisted_input_projection(x, w_ih, b_ih):
    """The input's part of the gates for every step at once.

    Inputs:  x (T, B, I) time-major; w_ih (4H, I); b_ih (4H,).
    Returns: x_proj (T, B, 4H), x_proj[t] = x[t] @ w_ih.T + b_ih.
    """
    # x_t does not depend on h, so the T products of (B, I) by (I, 4H) are one product of
    # (T*B, I) by (I, 4H): a large matrix product that keeps the GPU busy.
    return x @ w_ih.t() + b_ih


def hoisted_loop(cell, x, h0, c0, w_ih, w_hh, b_ih, b_hh):
    """One layer: the hoisted projection, then `cell` step by step.

    cell(x_proj_t, h, c, w_hh, b_hh) -> (h_next, c_next), e.g. `fused_lstm_cell`.
    Inputs and outputs as `solutions.torch_lstm.lstm_layer`: x (T, B, I), h0, c0 (B, H);
    returns (out (T, B, H), (h_T, c_T)). The same loop as `lstm_layer`, which TorchScript
    compiles and which therefore cannot take the cell as an argument.
    """
    h, c = h0, c0
    out = []
    for x_proj_t in hoisted_input_projection(x, w_ih, b_ih).unbind(0):
        h, c = cell(x_proj_t, h, c, w_hh, b_hh)
        out.append(h)
    return torch.stack(out), (h, c)


def fused_cell_backward(z, c, dh_next, dc_next):
    """The backward of the cell's pointwise part: what a fused cell kernel computes.

    Inputs:  z (B, 4H), the gates' pre-activations (blocks i, f, g, o); c (B, H), the
             cell state before the step; dh_next, dc_next (B, H), the gradients of the
             loss with respect to h_next and c_next.
    Returns: (dz, dc): dz (B, 4H), the gradient of z; dc (B, H), that of c.
    The gates are recomputed from z (one pass over memory, no stored activations).
    """
    zi, zf, zg, zo = z.chunk(4, 1)
    i, f, g, o = torch.sigmoid(zi), torch.sigmoid(zf), torch.tanh(zg), torch.sigmoid(zo)
    tanh_c = torch.tanh(f * c + i * g)
    # c_next reaches the loss directly (dc_next) and through h_next = o * tanh(c_next).
    dc_total = dc_next + dh_next * o * (1 - tanh_c**2)
    dz = torch.cat([dc_total * g * i * (1 - i),    # i: sigmoid' = i (1 - i)
                    dc_total * c * f * (1 - f),    # f
                    dc_total * i * (1 - g**2),     # g: tanh' = 1 - g^2
                    dh_next * tanh_c * o * (1 - o)], dim=1)  # o
    return dz, dc_total * f


def naive_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh):
    """One layer as NaiveLSTM computes it, on this layer's weights cut into gate blocks.

    Inputs and outputs as `lstm_layer` (time-major); NaiveLSTM itself reads (B, T, I), as
    the classic hand-written version does, so x is handed to it as a batch-major view.
    """
    H = w_hh.shape[1]
    params = {}
    for n, gate in enumerate("ifgo"):  # nn.LSTM's row blocks, as NaiveLSTM's parameters
        rows = slice(n * H, (n + 1) * H)
        params.update({f"W_i{gate}": w_ih[rows], f"W_h{gate}": w_hh[rows],
                       f"b_i{gate}": b_ih[rows], f"b_h{gate}": b_hh[rows]})
    hs, state = torch.func.functional_call(_naive_shell(x.shape[2], H), params,
                                           (x.transpose(0, 1), (h0, c0)))
    return hs.transpose(0, 1), state


def fused_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh):
    """One layer of `fused_lstm_step`s: two gate-fused products per step, none hoisted."""
    h, c = h0, c0
    out = []
    for x_t in x.unbind(0):
        h, c = fused_lstm_step(x_t, h, c, w_ih, w_hh, b_ih, b_hh)
        out.append(h)
    return torch.stack(out), (h, c)


_NAIVE_SHELLS = {}


def _naive_shell(I, H):
    """A NaiveLSTM(I, H) without storage (on the meta device): its forward, our weights."""
    if (I, H) not in _NAIVE_SHELLS:
        with torch.device("meta"):
            _NAIVE_SHELLS[I, H] = NaiveLSTM(I, H)
    return _NAIVE_SHELLS[I, H]


# ---------------------------------------------------------------------------------------
# A stack of layers with an nn.LSTM's parameters


def layer_weights(lstm, k):
    """(w_ih, w_hh, b_ih, b_hh) of layer k of an nn.LSTM: the parameters themselves."""
    return tuple(getattr(lstm, f"{name}_l{k}")
                 for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))


def run_layers(layer, lstm, x, hx):
    """nn.LSTM's forward, one `layer` function call per layer.

    layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh) -> (out, (h_T, c_T)), e.g. `lstm_layer`.
    Inputs: x (T, B, I); hx = (h0, c0), each (L, B, H). Returns (out, (h_n, c_n)).
    """
    h0, c0 = hx
    h_n, c_n = [], []
    for k in range(lstm.num_layers):
        x, (h, c) = layer(x, h0[k], c0[k], *layer_weights(lstm, k))
        h_n.append(h)
        c_n.append(c)
    return x, (torch.stack(h_n), torch.stack(c_n))


def check_inputs(lstm, x, hx):
    """Raise ValueError unless lstm is a plain nn.LSTM and x, hx fit it."""
    if not isinstance(lstm, nn.LSTM):
        raise ValueError(f"lstm must be a torch.nn.LSTM; got {type(lstm).__name__}")
    if (lstm.bidirectional or lstm.batch_first or not lstm.bias or lstm.proj_size
            or (lstm.dropout and lstm.training)):
        raise ValueError("the ladder's rungs take an nn.LSTM with bias, time-major input, one "
                         "direction, no proj_size and no dropout in training mode; got "
                         f"{lstm}")
    _expect("x", x, (None, None, lstm.input_size), "T, B, I")
    if not (isinstance(hx, tuple) and len(hx) == 2):
        raise ValueError(f"hx must be a tuple (h0, c0); got {type(hx).__name__}")
    for name, s in zip(("h0", "c0"), hx, strict=True):
        _expect(name, s, (lstm.num_layers, x.shape[1], lstm.hidden_size), "L, B, H")


# ---------------------------------------------------------------------------------------
# The rungs


def _eager(layer):
    def build(lstm, x, hx):
        return lambda x, hx: run_layers(layer, lstm, x, hx)

    return build


def _scripted(lstm, x, hx):
    with warnings.catch_warnings():  # TorchScript is deprecated; this rung shows what it did
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = torch.jit.script(lstm_layer)
    return lambda x, hx: run_layers(scripted, lstm, x, hx)


_COMPILED = {}


def compiled_cell():
    """`fused_lstm_cell` compiled by torch.compile (one compiled function, made once).

    The cell is compiled, not the layer: TorchDynamo unrolls a Python loop, so a compiled
    layer would be a graph of T steps, recompiled for every new T and slow to build.
    The cell's graph is one product and a few pointwise operations that Inductor fuses
    into one kernel.
    """
    if "cell" not in _COMPILED:
        # dynamic=True: one compiled cell for every batch and hidden size (a new size
        # would otherwise cost a recompile; the sizes only enter the kernels' bounds).
        _COMPILED["cell"] = torch.compile(fused_lstm_cell, dynamic=True)
    return _COMPILED["cell"]


def _compiled(lstm, x, hx):
    cell = compiled_cell()
    return lambda x, hx: run_layers(
        lambda *args: hoisted_loop(cell, *args), lstm, x, hx)


def _triton(lstm, x, hx):
    from solutions.triton_cell import triton_lstm_cell  # imports Triton

    return lambda x, hx: run_layers(
        lambda *args: hoisted_loop(triton_lstm_cell, *args), lstm, x, hx)


def _cudnn(lstm, x, hx):
    return lambda x, hx: lstm(x, hx)


def graphed(build):
    """A rung's `build`, with the whole sequence captured in a CUDA graph.

    Replaying the graph launches every kernel of the sequence with one call, so the
    Python, dispatcher and launch overhead of T steps disappears; the kernels stay the
    same. The graph is captured for the example's shapes; `run` copies its inputs into
    the captured ones. Under autograd (x requires grad) the backward is captured too,
    by torch.cuda.make_graphed_callables; otherwise only the forward. The outputs of an
    inference `run` are the graph's own buffers, overwritten by the next call.
    """

    def build_graphed(lstm, x, hx):
        inner = build(lstm, x, hx)
        if torch.is_grad_enabled() and (x.requires_grad or any(s.requires_grad for s in hx)):
            return _graphed_training(inner, lstm, x, hx)
        return _graphed_inference(inner, x, hx)

    return build_graphed


def _graphed_inference(inner, x, hx):
    static_in = (x.clone(), hx[0].clone(), hx[1].clone())
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):  # warm up (and compile) outside the capture
        for _ in range(3):
            inner(static_in[0], static_in[1:])
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_out = inner(static_in[0], static_in[1:])

    def run(x, hx):
        for buffer, value in zip(static_in, (x, *hx), strict=True):
            buffer.copy_(value)
        graph.replay()
        return static_out

    return run


class _Flat(nn.Module):
    """`inner` as a module of (x, h0, c0) -> (out, h_n, c_n) that owns lstm's parameters."""

    def __init__(self, inner, lstm):
        super().__init__()
        self.inner, self.lstm = inner, lstm

    def forward(self, x, h0, c0):
        out, (h_n, c_n) = self.inner(x, (h0, c0))
        return out, h_n, c_n


def _graphed_training(inner, lstm, x, hx):
    sample = tuple(t.detach().clone().requires_grad_(t.requires_grad) for t in (x, *hx))
    module = torch.cuda.make_graphed_callables(_Flat(inner, lstm), sample)

    def run(x, hx):
        out, h_n, c_n = module(x, *hx)
        return out, (h_n, c_n)

    return run


class Rung(NamedTuple):
    """One rung: its name, the idea it adds, where it runs and how to build it."""

    name: str
    idea: str
    needs: str  # "any", "cuda" (a GPU), "triton" (Triton), "cuda+triton" (both)
    build: Callable


RUNGS = {r.name: r for r in [
    Rung("naive", "one product per gate and per input: 8 per step", "any", _eager(naive_layer)),
    Rung("fused", "the four gates in one product per input: 2 per step", "any",
         _eager(fused_layer)),
    Rung("hoisted", "the input's products of all steps as one, before the loop", "any",
         _eager(lstm_layer)),
    Rung("scripted", "hoisted, compiled by TorchScript (loop included)", "any", _scripted),
    Rung("compiled", "hoisted, the cell compiled by torch.compile (pointwise ops fused)",
         "any", _compiled),
    Rung("cuda_graph", "hoisted, the whole sequence replayed as one CUDA graph", "cuda",
         graphed(_eager(lstm_layer))),
    Rung("compiled_graph", "compiled, the whole sequence replayed as one CUDA graph", "cuda",
         graphed(_compiled)),
    Rung("triton", "hoisted, the cell's pointwise work in one Triton kernel", "triton",
         _triton),
    Rung("triton_graph", "triton, the whole sequence replayed as one CUDA graph", "cuda+triton",
         graphed(_triton)),
    Rung("cudnn", "torch.nn.LSTM: cuDNN on a GPU, ATen's own LSTM kernel on a CPU", "any",
         _cudnn),
]}


def available(name, device):
    """Whether rung `name` can run on `device` ("cpu" or "cuda"): (bool, reason if not).

    The Triton rung runs on a GPU, or on the CPU under Triton's interpreter (environment
    variable TRITON_INTERPRET=1, slow: for tests only).
    """
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
    return RUNGS[name].build(lstm, x, hx)
