"""`python -m tools.train TASK`: the training runs whose results the training chapters show.

    python -m tools.train mnist1d --dtype float64                 # from scratch
    python -m tools.train mnist1d --dtype float64 --impl torch    # torch.nn.LSTM
    python -m tools.train mnist1d --dtype float64 --shuffle-seq   # shuffled timesteps
    python -m tools.train digits
    python -m tools.train adding
    python -m tools.train initial_states

Each run writes its settings, final numbers and per-epoch learning curves to
book/data/train/<name>.json (and a plot of the curves next to it); the training chapters
load those files and re-run only a short version live. The commands above made the
files in the book; `--help` lists every option.

The pieces: `tools.train.data` (the data sets), `tools.train.models` (the LSTM and the
read-out), `tools.train.loop` (`fit`, `evaluate`), `tools.train.tasks` (what each task
trains); the training step is the book's answer, `solutions.training_torch.train_step`, so the
runs need the answer key (without it: one line saying so, exit status 2).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from tools.answer_key import run_main

RESULTS = Path(__file__).resolve().parents[2] / "book" / "data" / "train"
PROG = "python -m tools.train"


def parse_args(argv=None):
    """The run's settings: the options given, the task's defaults for the others."""
    from tools.train.tasks import TASKS  # the training step is an answer (solutions/)

    parser = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=TASKS)
    parser.add_argument("--impl", choices=["scratch", "torch"], default="scratch",
                        help="the LSTM: solutions.torch_lstm.LSTM or torch.nn.LSTM")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--hidden", type=int, help="hidden size H (the adding RNN gets 2H)")
    parser.add_argument("--layers", type=int, help="LSTM layers (digits)")
    parser.add_argument("--dropout", type=float, help="dropout between LSTM layers (digits)")
    parser.add_argument("--lr", type=float, help="initial learning rate of Adam")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--max-norm", type=float, help="gradient clipping threshold")
    parser.add_argument("--forget-bias", type=float, default=0.0,
                        help="added to the LSTM's forget-gate bias at initialisation")
    parser.add_argument("--lengths", type=int, nargs="+",
                        help="sequence lengths T (adding, initial_states)")
    parser.add_argument("--shuffle-seq", action="store_true",
                        help="mnist1d: permute the timesteps (one fixed permutation)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                        help="float64: two implementations' rounding differences start "
                        "near 1e-16 instead of 1e-7, so their curves stay together longer")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, help="initial_states: runs per setting, seeds "
                        "--seed, --seed + 1, ...")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (1 makes runs reproducible)")
    parser.add_argument("--name", help="output name (default: from the task and options)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="output folder")
    args = parser.parse_args(argv)
    _, defaults = TASKS[args.task]
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.name is None:
        args.name = "_".join([args.task] + ["shuffled"] * args.shuffle_seq + [args.impl])
    return args


def _settings(args):
    """The options of a run, as saved with its results (the torch dtype by name)."""
    return {k: (str(v).removeprefix("torch.") if isinstance(v, torch.dtype) else v)
            for k, v in vars(args).items() if k != "out"}


def save(record, args, folder):
    """Write <name>.json (settings, results, curves) and <name>.png (the curves)."""
    folder.mkdir(parents=True, exist_ok=True)
    record = {"task": args.task, "settings": _settings(args), **record}
    path = folder / f"{args.name}.json"
    path.write_text(json.dumps(record, indent=1) + "\n")
    plot(record, folder / f"{args.name}.png")
    return path


def plot(record, path):
    """Test loss and test metric per epoch of every run in `record`."""
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    runs = record.get("runs", {record["settings"]["name"]: record})
    fig = Figure(figsize=(10, 3.5))
    ax_loss, ax_metric = fig.subplots(1, 2)
    for name, run in runs.items():
        epochs = np.arange(1, len(run["history"]["test_loss"]) + 1)
        ax_loss.plot(epochs, run["history"]["test_loss"], label=name)
        ax_metric.plot(epochs, run["history"]["test_metric"], label=name)
    ax_loss.set(xlabel="epoch", ylabel="test loss", yscale="log")
    ax_metric.set(xlabel="epoch", ylabel="test accuracy")
    if len(runs) <= 8:
        ax_metric.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def run(argv=None):
    """Parse argv, train, save; print where the results went."""
    from tools.train.tasks import TASKS

    args = parse_args(argv)
    args.dtype = getattr(torch, args.dtype)
    torch.set_num_threads(args.threads)
    task, _ = TASKS[args.task]
    start = time.perf_counter()
    record = task(args)
    record["wall_time_s"] = round(time.perf_counter() - start, 1)
    path = save(record, args, args.out)
    summary = {k: v for k, v in record.items() if k in ("test_accuracy", "wall_time_s")}
    print(f"wrote {path}: {summary}")
    return 0


def main(argv=None):
    """The command line; exit status 2 without the answer key."""
    return run_main(run, sys.argv[1:] if argv is None else argv, PROG)


if __name__ == "__main__":
    sys.exit(main())
