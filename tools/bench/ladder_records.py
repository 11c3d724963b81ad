"""The records of the ladder bench: the sizes and modes it measures, and what reads them.

`python -m tools.bench ladder` (`ladder_bench`) writes a JSON list of records, one per
(configuration, rung, mode); this module knows their shape: the size groups
(`GROUPS`), how to name, merge and load the files of a device (`slug`, `merge`,
`load_results`), and how to show them (`markdown`, `draw`, `figure`), for the bench and
for chapter 42. It imports neither torch nor the answers (solutions/).
"""

import json
import math
import re
import sys
from pathlib import Path

from tools.bench.core import DATA_DIR, FLOP_COUNT, write_results

FORWARD, FORWARD_BACKWARD = "forward", "forward_backward"
ALL_MODES = (FORWARD, FORWARD_BACKWARD)


def config_sizes(T, B, H, layers=1, I=None):
    """A configuration's sizes: {T, B, I, H, layers}; I = H unless given."""
    return dict(T=T, B=B, I=H if I is None else I, H=H, layers=layers)


# (sizes, modes, dtypes) per group; the CPU's are the GPU's scaled down to run in minutes.
GROUPS = {
    "cuda": {
        "main": ([config_sizes(100, 64, 512), config_sizes(100, 64, 512, layers=4)], ALL_MODES,
                 ("float32", "bfloat16", "float16")),
        "inference": ([config_sizes(512, B, H) for H in (256, 1024) for B in (1, 8)], (FORWARD,),
                      ("float32", "bfloat16")),
        "throughput": ([config_sizes(50, 128, 1024)], ALL_MODES, ("float32", "bfloat16")),
        "batch": ([config_sizes(100, B, 512) for B in (1, 8, 32, 64, 128, 256)], ALL_MODES,
                  ("float32",)),
        "hidden": ([config_sizes(100, 64, H) for H in (128, 256, 512, 1024, 2048)], ALL_MODES,
                   ("float32",)),
    },
    "cpu": {
        "main": ([config_sizes(50, 16, 128), config_sizes(50, 16, 128, layers=4)], ALL_MODES,
                 ("float32",)),
        "inference": ([config_sizes(128, B, H) for H in (64, 256) for B in (1, 8)], (FORWARD,),
                      ("float32",)),
        "throughput": ([config_sizes(25, 64, 256)], ALL_MODES, ("float32",)),
        "batch": ([config_sizes(50, B, 128) for B in (1, 4, 16, 64)], ALL_MODES, ("float32",)),
        "hidden": ([config_sizes(50, 16, H) for H in (32, 64, 128, 256)], ALL_MODES,
                   ("float32",)),
    },
}
PUBLISHED = (
    "fastrnns (PyTorch's RNN benchmarks, 2018-19) reported forward times of about 1.2-1.3x "
    "cuDNN for a TorchScript LSTM with the input projection hoisted, and about 1.4-1.5x for "
    "the plain scripted loop. Appleyard et al. (cuDNN 5, 2016) reported about 6x over a "
    "naive GPU LSTM from fused GEMMs and pointwise kernels, and 1.7x more from running "
    "layers concurrently."
)


def slug(device_name):
    """'cpu' for the CPU, otherwise the GPU's name as a file name: 'nvidia-h100-80gb-hbm3'."""
    if device_name.startswith("cpu"):
        return "cpu"
    return re.sub(r"[^a-z0-9]+", "-", device_name.lower()).strip("-")


def key(record):
    """What identifies a record: its sizes, dtype, rung and mode."""
    c = record["config"]
    return (c["T"], c["B"], c["I"], c["H"], c["layers"], c["dtype"], record["impl"],
            record["mode"])


def label(c):
    """A configuration as text: "T=50 B=16 I=128 H=128 layers=1 float32"."""
    return (f"T={c['T']} B={c['B']} I={c['I']} H={c['H']} layers={c['layers']} "
            f"{c['dtype']}{' (autocast)' if c['dtype'] != 'float32' else ''}")


def _fmt(value, spec):
    return "" if value is None else format(value, spec)


def markdown(records):
    """The records as Markdown: one table per configuration, rungs in ladder order."""
    from tools.ladder import RUNGS

    if not records:
        return "No results.\n"
    head = records[0]
    cpu = any(r.get("cpu_ms") is not None for r in records)
    lines = [f"Performance ladder on {head['device']}: torch {head['torch']}, CUDA "
             f"{head['cuda']}, cuDNN {head['cudnn']}, {head['date']}; TF32 "
             f"{'on' if head.get('tf32') else 'off'} for every rung. Medians of "
             f"{head['repeats']} interleaved runs. x cuDNN: time / nn.LSTM's time "
             f"(on a CPU, nn.LSTM runs ATen's own CPU kernel, not cuDNN). Launches per step: "
             f"per timestep and layer, from the profiler."
             + (" cpu ms: the thread's CPU time (time.thread_time), which a shared machine "
                "does not inflate." if cpu else ""), ""]
    columns = [("ms", "ms", ".3f"), ("x cuDNN", "ratio_to_cudnn", ".2f")]
    if cpu:
        columns += [("cpu ms", "cpu_ms", ".3f"), ("cpu x cuDNN", "cpu_ratio_to_cudnn", ".2f")]
    columns += [("TFLOP/s", "tflops", ".3f"), ("launches/step", "launches_per_step", ".1f")]
    configs = {}
    for r in records:
        configs.setdefault(label(r["config"]), {})[(r["impl"], r["mode"])] = r
    for heading, table in configs.items():
        modes = [m for m in ALL_MODES if any(mode == m for _, mode in table)]
        lines += [f"### {heading}", ""]
        header, rule = "| rung |", "|---|"
        for m in modes:
            name = "fwd" if m == FORWARD else "fwd+bwd"
            header += "".join(f" {name} {title} |" for title, _, _ in columns)
            rule += "---:|" * len(columns)
        lines += [header, rule]
        for impl in [i for i in RUNGS if any(i == k[0] for k in table)]:
            row = f"| {impl} |"
            for m in modes:
                r = table.get((impl, m), {})
                if r.get("error"):
                    row += f" failed: {r['error'][:40]} |" + " |" * (len(columns) - 1)
                    continue
                row += "".join(f" {_fmt(r.get(field), spec)} |" for _, field, spec in columns)
            lines.append(row)
        lines.append("")
    lines += [f"FLOPs: {FLOP_COUNT}", "", f"Published reference points: {PUBLISHED}"]
    return "\n".join(lines) + "\n"


def timing(records):
    """The time to plot: the CPU time where the records have it, else the elapsed time."""
    return "cpu_ms" if any(r.get("cpu_ms") is not None for r in records) else "ms"


def sweep(records, group, axis, mode=FORWARD):
    """{rung: [(size, time)]}: the float32 records of a size group along `axis` ("B" or
    "H"), time as `timing` chooses. The other sizes are held at the group's; along H, the
    input width I follows H.
    """
    kind = "cpu" if records and records[0]["device"].startswith("cpu") else "cuda"
    base = GROUPS[kind][group][0][0]
    held = [k for k in base if k != axis and not (axis == "H" and k == "I")]
    field, out = timing(records), {}
    for r in records:
        c = r["config"]
        if (r["mode"] != mode or c["dtype"] != "float32" or r.get(field) is None
                or any(c[k] != base[k] for k in held) or (axis == "H" and c["I"] != c["H"])):
            continue
        out.setdefault(r["impl"], []).append((c[axis], r[field]))
    return {name: sorted(points) for name, points in out.items()}


def main_sizes(records):
    """The sizes of the "main" group of the device the records come from (one layer)."""
    kind = "cpu" if records and records[0]["device"].startswith("cpu") else "cuda"
    return GROUPS[kind]["main"][0][0]


def draw(records, axes):
    """On three matplotlib axes: the ladder at the main size (each rung's time / nn.LSTM's,
    both modes), then forward time against B and against H; time as `timing` chooses."""
    from tools.ladder import RUNGS

    sizes = main_sizes(records)
    at_main = [r for r in records if r["config"] == dict(sizes, dtype="float32")]
    names = [n for n in RUNGS if any(r["impl"] == n for r in at_main)]
    field = timing(records)
    ratio_field = "cpu_ratio_to_cudnn" if field == "cpu_ms" else "ratio_to_cudnn"
    what = "CPU time" if field == "cpu_ms" else "time"
    for j, mode in enumerate(ALL_MODES):
        ratios = {r["impl"]: r.get(ratio_field) for r in at_main if r["mode"] == mode}
        axes[0].bar([i + 0.4 * j for i in range(len(names))],
                    [ratios.get(n) or math.nan for n in names], width=0.4,
                    label="forward" if mode == FORWARD else "forward + backward")
    axes[0].set_xticks([i + 0.2 for i in range(len(names))], names, rotation=60, ha="right")
    axes[0].axhline(1, color="grey", linewidth=0.8)
    axes[0].set(yscale="log", ylabel=f"{what} / nn.LSTM's")
    axes[0].set_title(label(dict(sizes, dtype="float32")), fontsize=8)
    axes[0].legend(fontsize=7)
    for ax, group, axis in ((axes[1], "batch", "B"), (axes[2], "hidden", "H")):
        curves = sweep(records, group, axis)
        for name in [n for n in RUNGS if len(curves.get(n, ())) > 1]:
            ax.plot(*zip(*curves[name], strict=True), marker="o", ms=3, label=name,
                    color=f"C{list(RUNGS).index(name)}")
        ax.set_xscale("log", base=2)
        ax.set(yscale="log", xlabel=axis, ylabel=f"forward, {what} (ms)")
        ax.set_title(f"forward {what} against {axis}", fontsize=8)
        if ax.lines:
            ax.legend(fontsize=6, ncol=2)


def figure(records, path):
    """`draw`'s three panels for one device's records, saved to `path` (a PNG)."""
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    if not records:
        return
    fig = Figure(figsize=(13, 3.6))
    draw(records, fig.subplots(1, 3))
    fig.suptitle(records[0]["device"], fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=70)


def load_results(folder=DATA_DIR):
    """{device: records} from every ladder_<device>.json in `folder` (book/data/bench)."""
    return {path.stem.removeprefix("ladder_"): json.loads(path.read_text())
            for path in sorted(Path(folder).glob("ladder_*.json"))}


def write(records, output):
    """Write the JSON, the Markdown table and the figure next to each other."""
    records = sorted(records, key=key)
    write_results(records, markdown(records), output, echo=False)
    try:
        figure(records, output.with_suffix(".png"))
    except ImportError as e:  # a machine without matplotlib still gets the numbers
        print(f"no figure ({e}); `--plot-only` draws it later", file=sys.stderr)


def merge(paths):
    """The records of several JSON files of one device; a later file wins a repeated key."""
    merged = {}
    for path in paths:
        for record in json.loads(Path(path).read_text()):
            merged[key(record)] = record
    devices = {r["device"] for r in merged.values()}
    if len(devices) > 1:
        raise ValueError(f"the files hold results of several devices: {sorted(devices)}")
    return list(merged.values())
