"""Ways to run an LSTM layer in PyTorch, forward + backward on the CPU, against torch.nn.LSTM.

Usage: python -m tools.bench torch [--output PATH] [--repeats N] [--threads N]

Times one LSTM layer, forward and backward (gradients for the inputs, the initial state and
the weights), in float32, at (T=50, B=32, I=H=128) and (T=100, B=64, I=H=256), run by:
`NaiveLSTM` (8 small products per step); the fused cell with the input projection inside
the loop (2 per step); the same with torch.jit.script(fused_lstm_cell); the fused cell with
the projection hoisted out of the loop (`lstm_layer`, 1 per step plus one big one);
torch.jit.script(lstm_layer) (loop and cell compiled together); our drop-in `LSTM`; and
torch.nn.LSTM. All use the same weights and are checked to agree first. torch runs on
one thread by default (--threads): on a small shared machine a second thread makes every
kernel wait for a core that may be busy, which multiplies and scatters the times of the
small kernels this is about. Repetitions
alternate between them after a warm-up; the medians are reported with their ratio to
torch.nn.LSTM, all from one run. Writes JSON and a Markdown table (default
book/data/bench/torch_cpu.json and .md).
"""

import os
import time
import warnings

import torch

from solutions.torch_lstm import LSTM, NaiveLSTM, fused_lstm_cell, lstm_layer
from tools.bench import core

SIZES = [dict(T=50, B=32, I=128, H=128), dict(T=100, B=64, I=256, H=256)]
BASELINE = "torch.nn.LSTM"
# Every variant does the same work; they differ in how many products (and kernel
# launches) that work is cut into.


def unhoisted_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh, cell=fused_lstm_cell):
    """`lstm_layer` without the hoisting: each step projects its own input.

    x (T, B, I); returns (out (T, B, H), (h_T, c_T)). cell: the fused step to use.
    """
    h, c = h0, c0
    out = []
    for x_t in x.unbind(0):
        h, c = cell(x_t @ w_ih.t() + b_ih, h, c, w_hh, b_hh)
        out.append(h)
    return torch.stack(out), (h, c)


def variants(lstm):
    """name -> (function, parameters), every function computing the layer of `lstm`.

    lstm: a one-layer torch.nn.LSTM. Each function maps (x, h0, c0) to (out, (h_T, c_T)),
    x (T, B, I), h0 and c0 (B, H), out (T, B, H); `parameters` are the weight tensors its
    gradients go to: those of `lstm`, or copies of them (NaiveLSTM's cut into per-gate
    blocks, our LSTM's loaded from its state dict).
    """
    weights = (lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)
    naive = NaiveLSTM(lstm.input_size, lstm.hidden_size)
    with torch.no_grad():
        for name, w in zip(("W_i", "W_h", "b_i", "b_h"), weights, strict=True):
            for gate, block in zip("ifgo", w.chunk(4), strict=True):
                getattr(naive, f"{name}{gate}").copy_(block)
    ours = LSTM(lstm.input_size, lstm.hidden_size)
    ours.load_state_dict(lstm.state_dict())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is deprecated, not gone
        scripted_cell = torch.jit.script(fused_lstm_cell)
        scripted_layer = torch.jit.script(lstm_layer)

    def nn_lstm(x, h0, c0):
        out, (h, c) = lstm(x, (h0[None], c0[None]))
        return out, (h[0], c[0])

    def naive_lstm(x, h0, c0):
        hs, state = naive(x.transpose(0, 1), (h0, c0))  # NaiveLSTM is batch-major
        return hs.transpose(0, 1), state

    def our_lstm(x, h0, c0):
        out, (h, c) = ours(x, (h0[None], c0[None]))
        return out, (h[0], c[0])

    shared = list(weights)
    return {
        "NaiveLSTM": (naive_lstm, list(naive.parameters())),
        "fused cell, projection in the loop": (lambda x, h0, c0: unhoisted_layer(
            x, h0, c0, *weights), shared),
        "TorchScript fused cell, projection in the loop": (lambda x, h0, c0: unhoisted_layer(
            x, h0, c0, *weights, cell=scripted_cell), shared),
        "fused cell, projection hoisted (lstm_layer)": (lambda x, h0, c0: lstm_layer(
            x, h0, c0, *weights), shared),
        "TorchScript lstm_layer (loop and cell)": (lambda x, h0, c0: scripted_layer(
            x, h0, c0, *weights), shared),
        "our drop-in LSTM": (our_lstm, list(ours.parameters())),
        BASELINE: (nn_lstm, shared),
    }


def count_kernels(make_layer, T, B=2, I=3, H=4):
    """The operations one forward + backward dispatches: (all of them, matrix products).

    make_layer: lstm -> the function of `variants` to count, for a one-layer nn.LSTM(I, H).
    Views (transpose, select, detach, ...) are not counted: they launch no kernel.
    """
    from torch.utils._python_dispatch import TorchDispatchMode

    class Counter(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.kernels = self.products = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if not func.is_view:
                self.kernels += 1
                self.products += func.overloadpacket.__name__ in ("mm", "addmm", "bmm")
            return func(*args, **(kwargs or {}))

    torch.manual_seed(0)
    layer = make_layer(torch.nn.LSTM(I, H))
    x = torch.randn(T, B, I, requires_grad=True)
    h0, c0 = (torch.zeros(B, H, requires_grad=True) for _ in range(2))
    layer(x, h0, c0)[0].sum().backward()  # warm-up: TorchScript compiles on the first calls
    layer(x, h0, c0)[0].sum().backward()
    with Counter() as counter:
        layer(x, h0, c0)[0].sum().backward()
    return counter.kernels, counter.products


def kernels_per_step():
    """name -> {"kernels": per step, "products": per step, "fixed": kernels whatever T}."""
    counts = {}
    for name in variants(torch.nn.LSTM(3, 4)):
        def make_layer(lstm, name=name):
            return variants(lstm)[name][0]

        (k1, p1), (k2, p2) = count_kernels(make_layer, T=1), count_kernels(make_layer, T=2)
        counts[name] = dict(kernels=k2 - k1, products=p2 - p1, fixed=k1 - (k2 - k1))
    return counts


def training_pass(layer, x, h0, c0, d_out, leaves):
    """A function that runs forward + backward and returns (out, grad of x) for checking."""

    def run():
        for leaf in leaves:
            leaf.grad = None
        out, _ = layer(x, h0, c0)
        out.backward(d_out)
        return out.detach(), x.grad

    return run


def benchmark(repeats):
    """Run everything; return the results as a JSON-ready dict."""
    load_before = os.getloadavg()[0]
    results = []
    for s in SIZES:
        torch.manual_seed(0)
        lstm = torch.nn.LSTM(s["I"], s["H"])
        x = torch.randn(s["T"], s["B"], s["I"], requires_grad=True)
        h0, c0 = (torch.randn(s["B"], s["H"], requires_grad=True) for _ in range(2))
        d_out = torch.randn(s["T"], s["B"], s["H"])
        runs = {name: training_pass(layer, x, h0, c0, d_out, [x, h0, c0, *params])
                for name, (layer, params) in variants(lstm).items()}
        want = runs[BASELINE]()
        want = (want[0].clone(), want[1].clone())
        for name, run in runs.items():
            out, dx = run()
            err = max((out - want[0]).abs().max().item(), (dx - want[1]).abs().max().item())
            if err > 1e-4:
                raise RuntimeError(f"{name} disagrees with {BASELINE}: {err:.3g}")
        seconds = core.time_alternating(runs, repeats)
        flops = core.lstm_flops(**s)
        results.append(dict(sizes=s, gflop=flops / 1e9, variants=[
            dict(name=name, ms=1e3 * t, ratio=t / seconds[BASELINE], gflops=flops / t / 1e9)
            for name, t in seconds.items()]))
    load = dict(before=load_before, after=os.getloadavg()[0])
    return dict(benchmark="torch", dtype="float32", flop_count=core.FLOP_COUNT, repeats=repeats,
                date=time.strftime("%Y-%m-%d"), machine=core.machine(), load_average=load,
                kernels_per_step=kernels_per_step(), results=core.rounded(results))


def markdown(report):
    """The results as a Markdown table (one column per size) with a short header."""
    m, results = report["machine"], report["results"]
    size = [f"T={r['sizes']['T']} B={r['sizes']['B']} I=H={r['sizes']['H']}" for r in results]
    lines = [
        f"One LSTM layer, forward + backward, {report['dtype']}, on the CPU: median ms of "
        f"{report['repeats']} alternating runs and the ratio to {BASELINE} (lower is faster), "
        f"{report['date']}.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores; torch {m['torch']} on "
        f"{m['torch_threads']} thread(s).",
        "",
        "| variant | " + " | ".join(f"{s}: ms | ratio" for s in size) + " |",
        "|---|" + "---:|---:|" * len(results),
    ]
    for i, v in enumerate(results[0]["variants"]):
        cells = [f"{r['variants'][i]['ms']:.1f} | {r['variants'][i]['ratio']:.2f}"
                 for r in results]
        lines.append(f"| {v['name']} | " + " | ".join(cells) + " |")
    lines += ["", f"FLOPs: {report['flop_count']}"]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = core.argument_parser("torch", __doc__, "torch_cpu.json")
    parser.add_argument("--repeats", type=int, default=10, help="timed runs of each (default 10)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch's intra-op threads (default 1)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1; got {args.repeats}")
    if args.threads < 1:
        parser.error(f"--threads must be at least 1; got {args.threads}")
    torch.set_num_threads(args.threads)
    report = benchmark(args.repeats)
    core.write_results(report, markdown(report), args.output)
    return 0
