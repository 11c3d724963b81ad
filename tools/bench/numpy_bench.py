"""The NumPy LSTM's forward + backward against a per-step NumPy LSTM and torch.nn.LSTM's.

Usage: python -m tools.bench numpy [--output PATH] [--repeats N] [--threads N]

Times `solutions.numpy_lstm.lstm_forward(..., return_cache=True)` + `lstm_backward(...,
cache=)`, forward + backward (gradients for the inputs, the initial state and the
weights), on the same seeded data with the same weights as two references, at B=32,
T=50, I=64, H=128 in float32 and float64: the per-step NumPy LSTM most courses write
(`tools.bench.per_step_lstm`: a cache per step, nothing hoisted out of the loops), and
torch.nn.LSTM, twice, as it runs by default (in float32 that is oneDNN's fused LSTM
kernel) and with oneDNN off (ATen operations, step by step, the algorithm ours uses).
All are checked to agree first (hidden states and every gradient). They take turns, in
alternating order (so that a busy machine slows all alike), and each turn runs untimed
for SETTLE_S seconds before it times PER_TURN runs (see `core.time_samples`: without
that, the other library's spinning threads doubled the times measured on 2 cores). The
medians are reported, with the ratios of ours to each of the others, the GFLOP/s ours
and torch achieve and, as the practical limit, the GFLOP/s of a large matrix product on
the same machine. As a floor for ours, it also times our matrix products alone
(`products_pass`), in the same turns. Writes JSON and a Markdown table (default
book/data/bench/numpy_cpu.json and .md). Takes about 40 s; on a busy machine, timing
stops after BUDGET_S seconds per dtype.

Which kernels OpenBLAS (NumPy's BLAS) runs matters: the table names them. The
environment variable OPENBLAS_CORETYPE, which some machines set, forces older ones.
"""

import contextlib
import os
import time

import numpy as np

from solutions.numpy_lstm import lstm_backward, lstm_forward
from tools.bench import per_step_lstm
from tools.bench.core import (
    FLOP_COUNT,
    argument_parser,
    lstm_flops,
    machine,
    rounded,
    time_alternating,
    time_samples,
    write_results,
)

SIZES = dict(B=32, T=50, I=64, H=128)
DTYPES = ("float32", "float64")
MATMUL_N = 1024  # the large product: (N, N) @ (N, N)
BUDGET_S = 30  # at most this long timing each dtype, however busy the machine
SETTLE_S = 0.2  # untimed running before each turn's timed runs (see time_samples)
PER_TURN = 3  # timed runs per turn
def make_problem(dtype, B, T, I, H, seed=0):
    """Seeded inputs, weights (PyTorch's uniform init) and an upstream gradient dhs."""
    rng = np.random.default_rng(seed)
    bound = 1 / np.sqrt(H)
    arrays = dict(x=rng.standard_normal((B, T, I)), h0=rng.uniform(-1, 1, (B, H)),
                  c0=rng.uniform(-1, 1, (B, H)), Wx=rng.uniform(-bound, bound, (I, 4 * H)),
                  Wh=rng.uniform(-bound, bound, (H, 4 * H)), b=rng.uniform(-bound, bound, 4 * H),
                  dhs=rng.standard_normal((B, T, H)))
    return {k: v.astype(dtype) for k, v in arrays.items()}


def numpy_pass(p):
    """A function that runs the NumPy forward + backward and returns (hs, gradients).

    The backward reuses what the forward computed (cache=), as a training step would.
    """
    args = (p["x"], p["h0"], p["c0"], p["Wx"], p["Wh"], p["b"])

    def run():
        hs, _, cache = lstm_forward(*args, return_cache=True)
        return hs, lstm_backward(p["dhs"], *args, cache=cache)

    return run


def per_step_pass(p):
    """The same for the per-step NumPy LSTM most courses write (tools.bench.per_step_lstm)."""
    args = (p["x"], p["h0"], p["c0"], p["Wx"], p["Wh"], p["b"])

    def run():
        hs, caches = per_step_lstm.forward(*args)
        return hs, per_step_lstm.backward(p["dhs"], caches)

    return run


def products_pass(p):
    """Only the matrix products of `numpy_pass`: the same ones, in the same order, on arrays
    of the same shapes and layouts. Of the rest it keeps only the sum that takes each
    recurrent product into z_t (`acts[t] += ...`), none of the gate arithmetic.

    Its time is what ours would take if the gate arithmetic were free: a floor for
    `numpy_pass` on this machine. `tests/test_bench_numpy.py` records the
    products that lstm_forward + lstm_backward run and holds this function to them.
    """
    x, Wx, Wh = p["x"], p["Wx"], p["Wh"]
    B, T, I = x.shape
    H = Wh.shape[0]

    def run():
        x_rows = x.transpose(1, 0, 2).reshape(T * B, I)  # forward: as _lstm_scan
        acts = (x_rows @ Wx).reshape(T, B, 4 * H)
        hs = np.zeros((T + 1, B, H), dtype=x.dtype)
        for t in range(T):
            acts[t] += hs[t] @ Wh
        Wh_T = np.ascontiguousarray(Wh.T)  # backward: as lstm_backward
        for t in reversed(range(T)):
            dh = acts[t] @ Wh_T
        dz = acts.reshape(T * B, 4 * H)
        return dh, dz @ Wx.T, x_rows.T @ dz, hs[:-1].reshape(T * B, H).T @ dz

    return run


def torch_pass(p, onednn=True):
    """The same for torch.nn.LSTM with the weights ported (see book/91_conventions.ipynb).

    onednn=False turns oneDNN off, so that torch runs the LSTM as ATen operations, step
    by step: the same algorithm as ours, with C++ instead of Python between the operations.
    """
    import torch

    I, H4 = p["Wx"].shape
    lstm = torch.nn.LSTM(I, H4 // 4, batch_first=True, dtype=getattr(torch, p["x"].dtype.name))
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.from_numpy(p["Wx"].T))
        lstm.weight_hh_l0.copy_(torch.from_numpy(p["Wh"].T))
        lstm.bias_ih_l0.copy_(torch.from_numpy(p["b"]))
        lstm.bias_hh_l0.zero_()
    x, h0, c0 = (torch.from_numpy(p[k]).requires_grad_() for k in ("x", "h0", "c0"))
    dhs = torch.from_numpy(p["dhs"])
    leaves = (x, h0, c0, *lstm.parameters())

    def run():
        for leaf in leaves:
            leaf.grad = None
        with _onednn(onednn):
            hs, _ = lstm(x, (h0[None], c0[None]))
            hs.backward(dhs)
        grads = dict(x=x.grad, h0=h0.grad, c0=c0.grad, Wx=lstm.weight_ih_l0.grad.T,
                     Wh=lstm.weight_hh_l0.grad.T, b=lstm.bias_ih_l0.grad)
        return hs.detach().numpy(), {k: v.numpy() for k, v in grads.items()}

    with _onednn(onednn):
        run.kernel = torch_kernel(lstm(x, (h0[None], c0[None]))[0])
    return run


@contextlib.contextmanager
def _onednn(enabled):
    """Let torch use oneDNN, or not, inside the block (torch.backends.mkldnn.flags does the
    same, but warns about Intel GPUs each time)."""
    import torch

    before = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = enabled
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = before


def torch_kernel(hs):
    """Which implementation torch.nn.LSTM ran, read from the autograd graph of its output."""
    seen, todo = set(), [hs.grad_fn]
    while todo:
        fn = todo.pop()
        if fn is None or fn in seen:
            continue
        if type(fn).__name__.startswith("MkldnnRnnLayer"):
            return "oneDNN's fused LSTM"
        seen.add(fn)
        todo += [f for f, _ in fn.next_functions]
    return "ATen ops, step by step"


def largest_difference(a, b):
    """max |a - b| / (1 + |b|) over the hidden states and every gradient."""
    pairs = [(a[0], b[0])] + [(a[1][k], b[1][k]) for k in b[1]]
    return max(float(np.max(np.abs(u - v) / (1 + np.abs(v)))) for u, v in pairs)


def limit_threads(n):
    """Run torch and NumPy's BLAS on n threads each (for the rest of the process)."""
    import torch
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    torch.set_num_threads(n)
    threadpool_limits(n, user_api="blas")


def matmul_gflops(dtype, n=MATMUL_N, repeats=5):
    """GFLOP/s of an (n, n) @ (n, n) product in NumPy and in torch: {"numpy":, "torch":}."""
    import torch

    a = np.random.default_rng(1).standard_normal((2, n, n)).astype(dtype)
    ta = torch.from_numpy(a)
    seconds = time_alternating({"numpy": lambda: a[0] @ a[1], "torch": lambda: ta[0] @ ta[1]},
                               repeats, warmup=1, settle=SETTLE_S)
    return {k: 2 * n**3 / s / 1e9 for k, s in seconds.items()}


def benchmark(repeats, budget=BUDGET_S):
    """Run everything; return the results as a JSON-ready dict.

    repeats: timed runs of each implementation per dtype (in turns of PER_TURN), fewer
    if they take more than `budget` seconds (a busy machine).
    """
    flops = lstm_flops(**SIZES)
    load_before = os.getloadavg()[0]
    results = []
    for dtype in DTYPES:
        p = make_problem(dtype, **SIZES)
        runs = {"numpy": numpy_pass(p), "per_step": per_step_pass(p), "torch": torch_pass(p),
                "torch_aten": torch_pass(p, onednn=False)}
        want = runs["numpy"]()
        differences = {name: largest_difference(want, runs[name]()) for name in runs}
        difference = max(differences.values())
        if difference > (1e-4 if dtype == "float32" else 1e-10):
            name = max(differences, key=differences.get)
            raise RuntimeError(f"our NumPy LSTM and {name} disagree in {dtype}: {difference:.3g}")
        timed = {**runs, "products": products_pass(p)}
        samples = time_samples(timed, -(-repeats // PER_TURN), budget=budget, settle=SETTLE_S,
                               per_turn=PER_TURN)
        seconds = {name: float(np.median(s)) for name, s in samples.items()}
        matmul = matmul_gflops(dtype)
        results.append(dict(
            dtype=dtype, repeats=len(samples["numpy"]),
            numpy_ms=1e3 * seconds["numpy"],
            per_step_ms=1e3 * seconds["per_step"],
            ratio_per_step=seconds["numpy"] / seconds["per_step"],
            products_ms=1e3 * seconds["products"],
            ratio_products_per_step=seconds["products"] / seconds["per_step"],
            torch_ms=1e3 * seconds["torch"],
            ratio=seconds["numpy"] / seconds["torch"],
            torch_aten_ms=1e3 * seconds["torch_aten"],
            ratio_aten=seconds["numpy"] / seconds["torch_aten"],
            numpy_gflops=flops / seconds["numpy"] / 1e9,
            torch_gflops=flops / seconds["torch"] / 1e9,
            matmul_numpy_gflops=matmul["numpy"], matmul_torch_gflops=matmul["torch"],
            largest_difference=difference, torch_kernel=runs["torch"].kernel))
    # Other processes slow both sides, unevenly: the load average says how busy the machine was.
    load = dict(before=load_before, after=os.getloadavg()[0])
    return dict(benchmark="numpy", sizes=SIZES, flops=flops, flop_count=FLOP_COUNT,
                matmul_size=MATMUL_N, repeats=repeats, date=time.strftime("%Y-%m-%d"),
                machine=machine(), load_average=rounded(load, 2), results=rounded(results))


def markdown(report):
    """The results as a Markdown table with a short header."""
    s, m = report["sizes"], report["machine"]
    forced = (f" (forced by OPENBLAS_CORETYPE={m['OPENBLAS_CORETYPE']})"
              if m.get("OPENBLAS_CORETYPE") else "")
    lines = [
        f"NumPy LSTM vs the per-step NumPy LSTM and torch.nn.LSTM, forward + backward, "
        f"B={s['B']} T={s['T']} I={s['I']} H={s['H']} ({report['flops'] / 1e9:.2f} GFLOP per pass), "
        f"medians of up to {report['repeats']} runs taken in alternating turns, {report['date']}.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores; NumPy {m['numpy']} ({m['numpy_blas']}, "
        f"{m.get('openblas_kernels', '?')} kernels{forced}, {m.get('numpy_threads', '?')} "
        f"thread(s)), torch {m['torch']} ({m['torch_threads']} thread(s)). Load average "
        f"{report['load_average']['before']:.1f} before, {report['load_average']['after']:.1f} "
        "after (other processes on the machine).",
        "",
        "| dtype | NumPy (ms) | per-step NumPy (ms) | NumPy / per-step | torch (ms) "
        "| NumPy / torch | torch.nn.LSTM ran "
        "| torch, oneDNN off (ms) | NumPy / that | NumPy GFLOP/s | torch GFLOP/s "
        f"| {report['matmul_size']}² matmul GFLOP/s (NumPy, torch) |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        lines.append(f"| {r['dtype']} | {r['numpy_ms']:.1f} | {r['per_step_ms']:.1f} "
                     f"| {r['ratio_per_step']:.2f} | {r['torch_ms']:.1f} "
                     f"| {r['ratio']:.2f} | {r['torch_kernel']} | {r['torch_aten_ms']:.1f} "
                     f"| {r['ratio_aten']:.2f} | {r['numpy_gflops']:.0f} "
                     f"| {r['torch_gflops']:.0f} "
                     f"| {r['matmul_numpy_gflops']:.0f}, {r['matmul_torch_gflops']:.0f} |")
    lines += [
        "",
        "The floor under ours: its matrix products alone (`products_pass`: the same products, in the "
        "same order, with nothing between them), timed in the same turns.",
        "",
        "| dtype | NumPy (ms) | its products alone (ms) | products alone / per-step |",
        "|---|---:|---:|---:|",
    ]
    for r in report["results"]:
        lines.append(f"| {r['dtype']} | {r['numpy_ms']:.1f} | {r['products_ms']:.1f} "
                     f"| {r['ratio_products_per_step']:.2f} |")
    lines += ["", f"FLOPs: {report['flop_count']}"]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argument_parser("numpy", __doc__, "numpy_cpu.json")
    parser.add_argument("--repeats", type=int, default=30,
                        help=f"timed runs of each (default 30; fewer if a dtype takes over "
                             f"{BUDGET_S} s)")
    parser.add_argument("--threads", type=int,
                        help="threads for torch and for NumPy's BLAS (default: the libraries' "
                             "own defaults); 1 gives steadier numbers on a busy machine")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1; got {args.repeats}")
    if args.threads is not None:
        if args.threads < 1:
            parser.error(f"--threads must be at least 1; got {args.threads}")
        limit_threads(args.threads)
    report = benchmark(args.repeats)
    write_results(report, markdown(report), args.output)
    return 0
