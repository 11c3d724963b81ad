"""The rungs of the performance ladder: how each one runs an nn.LSTM's forward.

`tools.ladder` lists the rungs and builds them (`build(name, lstm, x, hx)`); this module
holds what they run, built from the book's answers (`solutions.torch_lstm`'s NaiveLSTM,
fused cell and hoisted layer, `solutions.ladder`'s hoisted input projection), so it needs
the answer key. It imports torch only (no TensorFlow), and Triton only for the Triton rungs.
"""

import warnings

import torch
from torch import nn

from solutions.ladder import hoisted_input_projection
from solutions.torch_lstm import NaiveLSTM, fused_lstm_cell, lstm_layer

# ---------------------------------------------------------------------------------------
# The pieces: a step with fused gates, a loop over a cell


def fused_lstm_step(x_t, h, c, w_ih, w_hh, b_ih, b_hh):
    """One LSTM step with each input's four gates in one product (rung `fused`).

    Inputs:  x_t (B, I); h, c (B, H); w_ih (4H, I); w_hh (4H, H); b_ih, b_hh (4H,).
    Returns: (h_next, c_next), each (B, H).
    """
    # x_t @ w_ih.T is (B, 4H): the four gates' input parts from one product, not four.
    return fused_lstm_cell(x_t @ w_ih.t() + b_ih, h, c, w_hh, b_hh)


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
    from tools.ladder.triton_cell import triton_lstm_cell  # imports Triton

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


# name -> build(lstm, x, hx) -> run(x, hx), in the order of `tools.ladder.RUNGS`.
BUILDERS = {
    "naive": _eager(naive_layer),
    "fused": _eager(fused_layer),
    "hoisted": _eager(lstm_layer),
    "scripted": _scripted,
    "compiled": _compiled,
    "cuda_graph": graphed(_eager(lstm_layer)),
    "compiled_graph": graphed(_compiled),
    "triton": _triton,
    "triton_graph": graphed(_triton),
    "cudnn": _cudnn,
}
