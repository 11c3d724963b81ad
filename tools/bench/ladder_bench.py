"""The performance ladder against torch.nn.LSTM (cuDNN): forward and forward + backward.

Usage: python -m tools.bench ladder [--device DEVICE] [--output PATH | --output-dir DIR]
           [--repeats N] [--warmup N] [--groups G,...] [--impls R,...] [--dtypes D,...]
           [--threads N] [--tf32] [--profile-runs N] [--resume] [--plot-only]
       python -m tools.bench ladder --merge A.json B.json ... [--output PATH]

Runs every rung of `tools.ladder` at the sizes of the chapter on the device present
(a CUDA GPU if there is one; otherwise the CPU, at reduced sizes, with rungs that need
a GPU left out). For each configuration and mode it builds every rung (compiles, captures
graphs), checks its outputs against nn.LSTM's, warms up, then times `--repeats` rounds in
which every rung runs once, in an order that alternates direction, so that a slow spell
of the machine falls on all of them alike. It reports the median, timed with CUDA events
on a GPU and time.perf_counter on the CPU, then profiles a few runs of each rung
(--profile-runs) to count kernel launches per step and see where the time goes.

Modes: "forward" is inference (under torch.no_grad); "forward_backward" is the forward
with autograd, then the backward of sum(out * dout) for a fixed random dout, giving the
gradients of x and of every weight. The initial state is zeros, as in training.
FLOPs: `core.lstm_flops`, the products only: 2·T·B·4H·(I+H) per layer for the forward,
three times that for forward + backward. Mixed precision (bfloat16,
float16) is torch.autocast over float32 weights, for the rungs in AUTOCAST_RUNGS.
TF32 is off for both sides unless --tf32 turns it on for both.

Writes a JSON list of records, one per (configuration, rung, mode), a Markdown table
and a figure (`tools.bench.ladder_records` reads, tabulates and draws the records), by
default book/data/bench/ladder_<device>.json, .md and .png (<device> is "cpu" or the
GPU's name). The JSON is written after every configuration, so an
interrupted run keeps what it measured; --resume skips what a file already holds, and
--merge joins the files of several partial runs (e.g. one per group) of one device.
Every record also holds the rung's largest difference from nn.LSTM's output (and, for
forward + backward, its gradients), its build time (compiling, capturing), and the
profiler's launch counts and most expensive operations; on the CPU also the median of
the thread's CPU time (time.thread_time; "cpu_ms"), which a busy shared machine does
not inflate as it does the elapsed time.
"""

import argparse
import contextlib
import importlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

from tools.bench.core import DATA_DIR, device_description, lstm_flops, time_samples
from tools.bench.ladder_records import (
    FORWARD,
    FORWARD_BACKWARD,
    GROUPS,
    key,
    label,
    markdown,
    merge,
    slug,
    write,
)

AUTOCAST_RUNGS = ("hoisted", "compiled", "cuda_graph", "compiled_graph", "cudnn")


def configurations(device_type, groups, dtypes):
    """[(sizes, modes, dtype)] for the chosen groups, each (sizes, dtype) once."""
    seen, out = {}, []
    for group in groups:
        sizes_list, modes, group_dtypes = GROUPS[device_type][group]
        for sizes in sizes_list:
            for dtype in group_dtypes:
                if dtype not in dtypes:
                    continue
                key = (tuple(sizes.values()), dtype)
                if key in seen:  # the sweeps share a size with "main": merge the modes
                    seen[key][1].extend(m for m in modes if m not in seen[key][1])
                    continue
                seen[key] = (sizes, list(modes), dtype)
                out.append(seen[key])
    return out


# ---------------------------------------------------------------------------------------
# Measuring


def set_tf32(enabled):
    """TF32 for matrix products, in cuBLAS and in cuDNN alike: both sides the same."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled


def _no_silent_eager():
    """Make torch.compile raise, not quietly run eagerly, when it has recompiled too often.

    Each autocast dtype, grad mode and size class is a compiled variant of the cell.
    """
    import torch._dynamo

    config = torch._dynamo.config
    for name in ("recompile_limit", "cache_size_limit"):  # the name changed in torch 2.6
        if hasattr(config, name):
            setattr(config, name, 64)
    if hasattr(config, "fail_on_recompile_limit_hit"):
        config.fail_on_recompile_limit_hit = True


def make_problem(sizes, device, mode, seed=0):
    """(lstm, x, hx, dout): a float32 nn.LSTM, seeded inputs, zero state, upstream grad."""
    import torch

    T, B, I, H, L = (sizes[k] for k in ("T", "B", "I", "H", "layers"))
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    lstm = torch.nn.LSTM(I, H, num_layers=L).to(device)
    x = torch.randn(T, B, I, generator=gen).to(device).requires_grad_(mode == FORWARD_BACKWARD)
    hx = (torch.zeros(L, B, H, device=device), torch.zeros(L, B, H, device=device))
    dout = torch.randn(T, B, H, generator=gen).to(device)
    return lstm, x, hx, dout


def precision(device, dtype):
    """The context for a dtype: autocast for bfloat16 and float16, nothing for float32."""
    import torch

    if dtype == "float32":
        return contextlib.nullcontext()
    # cache_enabled=False: needed to capture CUDA graphs under autocast; each timed run
    # enters a fresh autocast region, so the cache would be emptied after every run anyway.
    return torch.autocast(device.type, dtype=getattr(torch, dtype), cache_enabled=False)


def step_function(run, lstm, x, hx, dout, mode):
    """A function of no arguments that does one timed unit of work; returns the output."""
    import torch

    leaves = [x, *lstm.parameters()]

    def forward():
        with torch.no_grad():
            return run(x, hx)[0]

    def forward_backward():
        for leaf in leaves:
            leaf.grad = None
        out = run(x, hx)[0]
        out.backward(dout.to(out.dtype))
        return out

    return forward if mode == FORWARD else forward_backward


def make_timer(device):
    """time(fn) -> (ms, cpu_ms) for one call of fn.

    ms: elapsed time, by CUDA events on a GPU and time.perf_counter on the CPU.
    cpu_ms: on the CPU, the calling thread's CPU time (time.thread_time), which a busy
    shared machine does not inflate when it takes the core away (with one torch thread
    all the work runs on the calling thread); None on a GPU.
    """
    import torch

    if device.type == "cuda":
        def time_call(fn):
            torch.cuda.synchronize(device)
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end), None
    else:
        def time_call(fn):
            start, start_cpu = time.perf_counter(), time.thread_time()
            fn()
            return (1e3 * (time.perf_counter() - start),
                    1e3 * (time.thread_time() - start_cpu))
    return time_call


def medians(samples):
    """{name: (median ms, median cpu_ms or None)} of `make_timer`'s samples."""
    return {name: (statistics.median(ms for ms, _ in t),
                   None if t[0][1] is None else statistics.median(cpu for _, cpu in t))
            for name, t in samples.items()}


LAUNCH_CALLS = ("cudaLaunchKernel", "cuLaunchKernel", "cudaGraphLaunch", "cuGraphLaunch",
                "cudaLaunchCooperativeKernel", "cudaMemcpyAsync", "cudaMemsetAsync")


def profile_counts(step, device, per, runs=3):
    """Count what one call of `step` launches, divided by `per` (steps times layers).

    Returns {"launches_per_step", "kernels_per_step", "top_ops"}. On a GPU, launches are
    the host's calls that start GPU work (kernel and graph launches, async copies and
    sets) and kernels are what ran on the GPU; a CUDA graph is one launch of many
    kernels. On the CPU there are no launches; launches_per_step counts the ATen
    operators called from Python (each pays the dispatcher's overhead; the code that
    torch.compile generates is not an ATen operator and is not counted) and kernels
    is None. top_ops: the six GPU kernels, or CPU events, with most self time, as
    [{"name", "per_step", "share"}]: share of the total self time, each name's time
    being its median over `runs` profiled calls (one call's times on a busy CPU are
    skewed by whichever operator the machine happened to pause).
    """
    totals = []
    for _ in range(runs):
        launches, kernels, timed = _profile_once(step, device)
        by_name = {}
        for name, t in timed:
            count, seconds = by_name.get(name, (0, 0.0))
            by_name[name] = (count + 1, seconds + t)
        totals.append(by_name)
    names = set().union(*totals)
    median = {n: statistics.median(run.get(n, (0, 0.0))[1] for run in totals) for n in names}
    total = sum(median.values()) or 1.0
    top = sorted(names, key=lambda n: -median[n])[:6]
    return dict(launches_per_step=launches / per,
                kernels_per_step=None if kernels is None else kernels / per,
                top_ops=[dict(name=_short(n), per_step=round(totals[-1].get(n, (0, 0))[0] / per, 3),
                              share=round(median[n] / total, 3)) for n in top])


def _profile_once(step, device):
    """(launches, kernels or None, [(event name, self time)]) of one profiled call."""
    import torch
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    cuda = device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with quiet_stderr(), profile(activities=activities) as prof:
        step()
        if cuda:
            torch.cuda.synchronize(device)
    events = prof.events()
    if cuda:
        gpu = [e for e in events if e.device_type == DeviceType.CUDA]
        launches = sum(any(c in e.name for c in LAUNCH_CALLS) for e in events
                       if e.device_type == DeviceType.CPU)
        return launches, len(gpu), [(e.name, float(e.time_range.elapsed_us())) for e in gpu]
    cpu = [e for e in events if e.device_type == DeviceType.CPU]
    launches = len(aten_calls_from_python(cpu))
    return launches, None, [(e.name, float(e.self_cpu_time_total)) for e in cpu]


def aten_calls_from_python(events):
    """The profiler events that are ATen operators called from Python, not from inside
    another operator (aten::mm inside aten::matmul is left out)."""
    return [e for e in events if e.name.startswith("aten::") and not _inside_aten(e)]


def _inside_aten(event):
    """Whether an event runs inside an ATen operator (e.g. aten::mm inside aten::matmul)."""
    parent = event.cpu_parent
    while parent is not None:
        if parent.name.startswith("aten::"):
            return True
        parent = parent.cpu_parent
    return False


def _short(name, width=70):
    if name.startswith("## Call CompiledFxGraph"):  # its name ends in a hash that varies
        return "compiled graph (Inductor's code)"
    return name if len(name) <= width else name[:width - 3] + "..."


@contextlib.contextmanager
def quiet_stderr():
    """Silence the C-level stderr (some torch builds print a line at each profiler start)."""
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def measure(sizes, modes, dtype, device, impls, repeats, warmup, profile, done, log):
    """The records of one configuration: every rung in `impls`, every mode.

    profile: how many profiled calls of each rung to count and time (0: none).
    """
    import torch

    from tools import ladder

    records = []
    config = dict(sizes, dtype=dtype)
    rungs = [r for r in impls if dtype == "float32" or r in AUTOCAST_RUNGS]
    per = sizes["T"] * sizes["layers"]
    for mode in modes:
        todo = [r for r in rungs if (r, mode) not in done]
        if not todo:
            continue
        if "cudnn" not in todo:  # the ratios need the reference in the same rounds
            todo.append("cudnn")
        lstm, x, hx, dout = make_problem(sizes, device, mode)
        steps, extra = {}, {}
        grad = torch.enable_grad() if mode == FORWARD_BACKWARD else torch.no_grad()
        with precision(device, dtype), grad:
            reference = None
            for name in ["cudnn"] + [r for r in todo if r != "cudnn"]:
                start = time.perf_counter()
                try:
                    run = ladder.build(name, lstm, x, hx)
                    step = step_function(run, lstm, x, hx, dout, mode)
                    # The first call compiles, if anything; its results are checked.
                    got = [step().detach().float().clone()]
                    if mode == FORWARD_BACKWARD:
                        got += [p.grad.float().clone() for p in (x, *lstm.parameters())]
                    if device.type == "cuda":
                        torch.cuda.synchronize(device)
                except Exception as e:  # one rung failing must not lose the others
                    log(f"  {name} {mode}: {type(e).__name__}: {e}")
                    extra[name] = dict(error=f"{type(e).__name__}: {str(e)[:300]}")
                    continue
                reference = got if reference is None else reference
                extra[name] = dict(build_s=round(time.perf_counter() - start, 3),
                                   max_abs_diff=float((got[0] - reference[0]).abs().max()))
                if mode == FORWARD_BACKWARD:  # the gradients of x and of every weight
                    extra[name]["max_abs_diff_grads"] = max(
                        float((a - b).abs().max()) for a, b in zip(got[1:], reference[1:],
                                                               strict=True))
                steps[name] = step
            times = medians(time_samples(steps, repeats, warmup, clock=make_timer(device)))
            for name in steps:
                if profile:
                    try:
                        extra[name].update(profile_counts(steps[name], device, per, profile),
                                           profile_runs=profile)
                    except Exception as e:
                        log(f"  profiling {name}: {type(e).__name__}: {e}")
        flops = lstm_flops(**sizes, backward=mode == FORWARD_BACKWARD)
        for name in [r for r in rungs if r in extra]:
            ms, cpu_ms = times.get(name, (None, None))
            base, base_cpu = times.get("cudnn", (None, None))
            record = dict(config=config, impl=name, mode=mode, ms=ms,
                          tflops=None if ms is None else flops / ms / 1e9,
                          ratio_to_cudnn=None if ms is None or base is None else ms / base,
                          repeats=repeats, **extra[name])
            if cpu_ms is not None:
                record.update(cpu_ms=cpu_ms, cpu_ratio_to_cudnn=cpu_ms / base_cpu)
            records.append(record)
            log(f"  {name:>15} {mode:>16}: " + ("failed" if ms is None else
                f"{ms:9.3f} ms  x{record['ratio_to_cudnn']:.2f} cuDNN")
                + ("" if cpu_ms is None else f"  (cpu {cpu_ms:9.3f} ms)"))
        del steps, lstm, x, hx, dout
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return records


# ---------------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.bench ladder",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--device", help="cuda, cuda:1 or cpu (default: cuda if present)")
    parser.add_argument("--output", type=Path,
                        help="the JSON file (default book/data/bench/ladder_<device>.json)")
    parser.add_argument("--output-dir", type=Path,
                        help="write ladder_<device>.json (and .md, .png) in this folder")
    parser.add_argument("--merge", nargs="+", metavar="JSON",
                        help="merge these result files (of one device) into --output; "
                             "measure nothing")
    parser.add_argument("--repeats", type=int, help="timed rounds (default 20 GPU, 7 CPU)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds (default 3)")
    parser.add_argument("--groups", default=",".join(GROUPS["cpu"]),
                        help=f"size groups to run (default all: {','.join(GROUPS['cpu'])})")
    parser.add_argument("--impls", help="rungs to run (default: all that can run here)")
    parser.add_argument("--dtypes", default="float32,bfloat16,float16",
                        help="precisions (default float32,bfloat16,float16; the lower two "
                             "by autocast, on some sizes only)")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads for torch (default 1: steadier on a shared machine)")
    parser.add_argument("--tf32", action="store_true",
                        help="allow TF32 in cuBLAS and cuDNN alike (default: off for both)")
    parser.add_argument("--profile-runs", type=int, default=3,
                        help="profiled calls per rung, for the launch counts and the time "
                             "shares (default 3; 0: no profiling)")
    parser.add_argument("--resume", action="store_true",
                        help="keep the records already in --output; measure only the rest")
    parser.add_argument("--plot-only", action="store_true",
                        help="rewrite the Markdown and the figure from --output; measure nothing")
    args = parser.parse_args(argv)

    import torch

    from tools import ladder

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda, but torch sees no CUDA GPU")
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    info = device_description(device)
    name = f"ladder_{slug(info['device'])}.json"
    output = args.output or (args.output_dir or DATA_DIR) / name
    if args.merge:
        records = merge(args.merge)
        output = args.output or (args.output_dir or DATA_DIR) / (
            f"ladder_{slug(records[0]['device'])}.json")
        write(records, output)
        print(f"Merged {len(records)} records into {output} (and its .md and .png)")
        return 0
    if args.plot_only:
        write(json.loads(output.read_text()), output)
        print(f"Rewrote {output.with_suffix('.md')} and {output.with_suffix('.png')}")
        return 0
    # The rungs run the book's answers: without solutions/, stop here rather than at each rung.
    importlib.import_module("tools.ladder.rungs")
    groups = args.groups.split(",")
    unknown = [g for g in groups if g not in GROUPS["cpu"]]
    if unknown:
        parser.error(f"unknown groups {unknown}; the groups are {list(GROUPS['cpu'])}")
    impls = args.impls.split(",") if args.impls else list(ladder.RUNGS)
    unknown = [i for i in impls if i not in ladder.RUNGS]
    if unknown:
        parser.error(f"unknown rungs {unknown}; the rungs are {list(ladder.RUNGS)}")
    skipped = {i: ladder.available(i, device)[1] for i in impls
               if not ladder.available(i, device)[0]}
    impls = [i for i in impls if i not in skipped]
    repeats = args.repeats or (20 if device.type == "cuda" else 7)
    if repeats < 1 or args.warmup < 0 or args.profile_runs < 0:
        parser.error("--repeats must be at least 1, --warmup and --profile-runs at least 0")
    set_tf32(args.tf32)
    _no_silent_eager()

    records = json.loads(output.read_text()) if args.resume and output.exists() else []
    done = {key(r) for r in records if r.get("ms") is not None}

    def log(text):
        print(text, flush=True)

    log(f"{info['device']}, torch {info['torch']}; rungs: {', '.join(impls)}")
    for name, reason in skipped.items():
        log(f"  not run here: {name} ({reason})")
    for sizes, modes, dtype in configurations(device.type, groups, args.dtypes.split(",")):
        log(label(dict(sizes, dtype=dtype)))
        config_done = {(k[6], k[7]) for k in done if k[:6] == (*sizes.values(), dtype)}
        new = measure(sizes, modes, dtype, device, impls, repeats, args.warmup,
                      args.profile_runs, config_done, log)
        replaced = {key(r) for r in new}
        records = [r for r in records if key(r) not in replaced]
        records += [dict(info, tf32=args.tf32, **r) for r in new]
        write(records, output)
    print(markdown(sorted(records, key=key)))
    print(f"Wrote {output} and its .md and .png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
