"""What every benchmark shares: the machine, the FLOP count, the timer and the writer.

- `machine()` and `device_description(device)`: what the numbers were measured on.
- `lstm_flops(...)` and `FLOP_COUNT`: the work of an LSTM, counted one way for all.
- `time_samples(runs, ...)` and `time_alternating(...)`: interleaved timing, each turn
  settled first (see `time_samples` for why).
- `argument_parser(...)`: a benchmark's command line, --output included;
  `write_results(results, table, output)`: the JSON, the Markdown table beside it;
  `rounded(value)` keeps the JSON readable.

Nothing heavy is imported here at import time: NumPy only; torch inside the functions
that describe it.
"""

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[2] / "book" / "data" / "bench"

FLOP_COUNT = (
    "Matrix products only, 2 FLOPs per multiply-add. A layer's forward, z = x @ Wx + h @ Wh "
    "at every step, costs 2·T·B·(I+H)·4H (I = H above the first layer); the backward does "
    "two products of that size, one for the gradients of the inputs (dz @ Wx.T, dz @ Wh.T) "
    "and one for those of the weights (x.T @ dz, h.T @ dz), so forward + backward = "
    "3 · 2·T·B·(I+H)·4H = 24·T·B·H·(I+H) per layer. The pointwise gate arithmetic (a few "
    "percent more) is not counted, nor work an implementation does twice (a forward that "
    "the backward recomputes): every implementation is credited with the same work."
)


def lstm_flops(T, B, I, H, layers=1, backward=True):
    """FLOPs of one LSTM run over T steps, counted as FLOP_COUNT says.

    layers: stacked layers (the first reads I features, the others H); backward: count
    forward + backward (three times the forward) rather than the forward alone.
    """
    forward = sum(2 * T * B * 4 * H * ((I if k == 0 else H) + H) for k in range(layers))
    return 3 * forward if backward else forward


# ---------------------------------------------------------------------------------------
# The machine


def cpu_name():
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def machine():
    """The CPU side of what the numbers were measured on: CPU, cores, library versions,
    the threads torch and NumPy's BLAS use and the kernels OpenBLAS runs."""
    import numpy as np
    import torch

    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    info = dict(cpu=cpu_name(), cores=os.cpu_count(), python=platform.python_version(),
                numpy=np.__version__, numpy_blas=f"{blas['name']} {blas['version']}",
                torch=torch.__version__, torch_threads=torch.get_num_threads(),
                OPENBLAS_CORETYPE=os.environ.get("OPENBLAS_CORETYPE"))
    try:  # threadpoolctl (a scikit-learn dependency) knows the BLAS threads and kernels in use
        from threadpoolctl import threadpool_info

        pool = next(p for p in threadpool_info() if p["user_api"] == "blas")
        info.update(numpy_threads=pool["num_threads"], openblas_kernels=pool.get("architecture"))
    except (ImportError, StopIteration):
        pass
    return info


def device_description(device):
    """The fields that say which device torch ran on: {device, torch, cuda, cudnn, python,
    date}; device is the GPU's name, or "cpu: <model>, <n> thread(s)"."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = f"cpu: {cpu_name()}, {torch.get_num_threads()} thread(s)"
    cudnn = torch.backends.cudnn.version() if device.type == "cuda" else None
    return dict(device=name, torch=torch.__version__, cuda=torch.version.cuda, cudnn=cudnn,
                python=platform.python_version(), date=time.strftime("%Y-%m-%d"))


# ---------------------------------------------------------------------------------------
# Timing


def seconds_of_one_call(fn):
    """The default clock of `time_samples`: the seconds one call of fn takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def time_samples(runs, repeats, warmup=3, budget=None, settle=0.0, per_turn=1,
                 clock=seconds_of_one_call):
    """Every sample of each function in `runs` (name -> function of no arguments).

    Every repetition gives each function a turn, in an order that alternates direction,
    so that any slow spell of a shared machine falls on all of them alike. A turn first
    runs the function untimed for `settle` seconds, then times `per_turn` runs. Settling
    matters when the functions use different thread pools (NumPy's OpenBLAS, torch's
    OpenMP): after a call, a pool's idle threads keep spinning for a while (OpenBLAS's
    for about 0.1 s), and on a small machine they take the cores from the next
    function's threads. With `budget` (seconds), stops early once the repetitions have
    taken that long (after at least 5). clock(fn) calls fn once and returns the sample
    (default: its seconds). Returns {name: [sample, ...]}.
    """
    names = list(runs)
    for _ in range(warmup):
        for name in names:
            runs[name]()
    samples = {name: [] for name in names}
    started = time.perf_counter()
    for r in range(repeats):
        for name in names if r % 2 == 0 else reversed(names):
            settled = time.perf_counter() + settle
            while time.perf_counter() < settled:
                runs[name]()
            for _ in range(per_turn):
                samples[name].append(clock(runs[name]))
        if budget is not None and r >= 4 and time.perf_counter() - started > budget:
            break
    return samples


def time_alternating(runs, repeats, warmup=3, budget=None, settle=0.0):
    """Median seconds of each function in `runs`, timed as `time_samples` does."""
    return {name: statistics.median(s)
            for name, s in time_samples(runs, repeats, warmup, budget, settle).items()}


# ---------------------------------------------------------------------------------------
# The command line and the results


def argument_parser(name, doc, output):
    """The parser a benchmark starts from: `python -m tools.bench NAME`, its docstring's
    first line, and --output (default book/data/bench/<output>)."""
    parser = argparse.ArgumentParser(prog=f"python -m tools.bench {name}",
                                     description=doc.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DATA_DIR / output,
                        help="where to write the JSON; the Markdown table goes next to it (.md)")
    return parser


def rounded(value, digits=4):
    """`value` with every float rounded to `digits` significant digits, for a readable JSON."""
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v, digits) for v in value]
    return value


def write_results(results, table, output, echo=True):
    """Write `results` as JSON to `output` and the Markdown `table` beside it (.md).

    echo: also print the table and where the files went.
    """
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    output.with_suffix(".md").write_text(table)
    if echo:
        print(table)
        print(f"Wrote {output} and {output.with_suffix('.md')}")
