"""Training recurrent networks in PyTorch: the data sets, the model, the loop, a command line.

    python -m solutions.train mnist1d --dtype float64                 # from scratch
    python -m solutions.train mnist1d --dtype float64 --impl torch    # torch.nn.LSTM
    python -m solutions.train mnist1d --dtype float64 --shuffle-seq   # shuffled timesteps
    python -m solutions.train digits
    python -m solutions.train adding
    python -m solutions.train initial_states

Each run writes its settings, final numbers and per-epoch learning curves to
book/data/train/<name>.json (and a plot of the curves next to it); the training chapters
load those files and re-run only a short version live. The commands above made the
files in the book; `--help` lists every option.

The pieces, in the order the chapters use them:
- data: `mnist1d`, `digits_rows`, `adding_problem`, `remember_first`, as NumPy arrays
  (`as_tensors` turns a data set into torch tensors);
- the model: `lstm` (the from-scratch `solutions.torch_lstm.LSTM` or `torch.nn.LSTM`)
  inside `SequenceModel` (a linear layer on the last output), both built by `rnn_model`,
  which can also give the LSTM a learned initial state or a forget-gate bias;
- training: `train_step` (loss, backward, clipping, optimizer step), `evaluate`, and
  `fit` (Adam, gradient clipping, a cosine learning-rate schedule, a progress bar).
"""

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from solutions.numpy_train import progress

RESULTS = Path(__file__).resolve().parent.parent / "book" / "data" / "train"


# ----------------------------------------------------------------------------- data
def mnist1d(shuffle_seq=False):
    """MNIST-1D (Greydanus 2020), generated offline: 4,000 training and 1,000 test sequences.

    shuffle_seq: apply one fixed random permutation to the 40 timesteps of every
                 sequence (the same permutation for all), as in the MNIST-1D paper.
    Returns a dict of NumPy arrays: x (4000, 40, 1) and x_test (1000, 40, 1) float32,
    y (4000,) and y_test (1000,) int64 labels 0-9.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.shuffle_seq = shuffle_seq
    # make_dataset reseeds NumPy's global generator; put the caller's state back.
    state = np.random.get_state()
    data = make_dataset(args)
    np.random.set_state(state)
    return {"x": data["x"][..., None].astype(np.float32), "y": data["y"].astype(np.int64),
            "x_test": data["x_test"][..., None].astype(np.float32),
            "y_test": data["y_test"].astype(np.int64)}


def digits_rows(test_size=360, seed=0):
    """scikit-learn's 8x8 digits read one image row per timestep.

    Returns a dict of NumPy arrays: x (N, 8, 8) float32 in [0, 1] (8 timesteps of 8
    pixels), y (N,) int64, and x_test, y_test: a random split of the 1,797 images with
    `test_size` test images.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images / 16).astype(np.float32)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    test, train = order[:test_size], order[test_size:]
    return {"x": x[train], "y": y[train], "x_test": x[test], "y_test": y[test]}


def adding_problem(n, T, rng):
    """The adding problem (Hochreiter & Schmidhuber 1997), `n` sequences of length `T`.

    Each step has two features: a value drawn uniformly from [0, 1) and a marker that is
    1 at exactly two steps, one in each half of the sequence, and 0 elsewhere. The
    target is the sum of the two marked values, so the first one must be remembered
    for up to T steps. Predicting the constant 1 gives a mean squared error of 1/6.
    Returns x (n, T, 2) float32 and y (n, 1) float32.
    """
    if T < 2:
        raise ValueError(f"T must be at least 2 (one marker in each half); got {T}")
    values = rng.uniform(0, 1, size=(n, T))
    first = rng.integers(0, T // 2, size=n)
    second = rng.integers(T // 2, T, size=n)
    markers = np.zeros((n, T))
    markers[np.arange(n), first] = markers[np.arange(n), second] = 1
    x = np.stack([values, markers], axis=-1).astype(np.float32)
    y = (values * markers).sum(axis=1, keepdims=True).astype(np.float32)
    return x, y


def remember_first(n, T, rng):
    """Remember the first step: is the first of T standard-normal numbers positive?

    The other T - 1 numbers are distractors drawn from the same distribution, so only
    the position of a number tells whether it matters.
    Returns x (n, T, 1) float32 and y (n,) int64 labels 0/1.
    """
    x = rng.standard_normal(size=(n, T, 1)).astype(np.float32)
    return x, (x[:, 0, 0] > 0).astype(np.int64)


def remember_first_data(T, n_train=2_000, n_test=1_000, seed=0):
    """Training and test sets of `remember_first` for length T: dict x, y, x_test, y_test."""
    rng = np.random.default_rng(seed)
    x, y = remember_first(n_train, T, rng)
    x_test, y_test = remember_first(n_test, T, rng)
    return {"x": x, "y": y, "x_test": x_test, "y_test": y_test}


def adding_data(T, n_train=10_000, n_test=1_000, seed=0):
    """Training and test sets of the adding problem for length T: dict x, y, x_test, y_test."""
    rng = np.random.default_rng(seed)
    x, y = adding_problem(n_train, T, rng)
    x_test, y_test = adding_problem(n_test, T, rng)
    return {"x": x, "y": y, "x_test": x_test, "y_test": y_test}


def as_tensors(data, dtype=torch.float32):
    """The same dict with every NumPy array turned into a torch tensor, floats in `dtype`."""
    out = {}
    for name, value in data.items():
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(value)
            value = value.to(dtype) if value.is_floating_point() else value
        out[name] = value
    return out


# ----------------------------------------------------------------------------- model
def lstm(input_size, hidden_size, num_layers=1, dropout=0.0, impl="scratch"):
    """A batch-first LSTM: the book's from-scratch one (impl="scratch") or torch.nn.LSTM."""
    if impl == "scratch":
        from solutions.torch_lstm import LSTM
    elif impl == "torch":
        LSTM = nn.LSTM
    else:
        raise ValueError(f"impl must be 'scratch' or 'torch'; got {impl!r}")
    return LSTM(input_size, hidden_size, num_layers=num_layers, dropout=dropout,
                batch_first=True)


class SequenceModel(nn.Module):
    """A recurrent network over the whole sequence, then a linear layer on its last output.

    rnn:         a batch-first module with torch.nn.LSTM's (or torch.nn.RNN's) interface,
                 rnn(x) -> (outputs (B, T, hidden_size), final state).
    num_outputs: classes for a classifier, 1 for a regression.
    forward(x): x (B, T, I) -> (B, num_outputs).
    """

    def __init__(self, rnn, hidden_size, num_outputs):
        super().__init__()
        self.rnn = rnn
        self.head = nn.Linear(hidden_size, num_outputs)

    def forward(self, x):
        outputs, _ = self.rnn(x)
        return self.head(outputs[:, -1])


def rnn_model(kind, input_size, hidden_size, num_outputs, num_layers=1, dropout=0.0,
              impl="scratch", learned_init=False, forget_bias=0.0, dtype=torch.float32, seed=0):
    """A SequenceModel around an LSTM (kind="lstm") or a tanh RNN (kind="rnn").

    impl picks the LSTM (see `lstm`). learned_init: the LSTM learns its initial state
    (solutions.torch_lstm.LearnableInitLSTM; it starts at zero, so the model is the same
    as without it until training moves it). forget_bias is added to the LSTM's forget-gate
    biases after PyTorch's initialisation (0: PyTorch's default; 1 makes the forget gate
    start mostly open, sigmoid(1) = 0.73). The parameters are drawn after
    torch.manual_seed(seed), so two calls with the same arguments build the same model,
    then converted to `dtype`.
    """
    torch.manual_seed(seed)
    if kind == "lstm":
        rnn = lstm(input_size, hidden_size, num_layers, dropout, impl)
        with torch.no_grad():
            for name, p in rnn.named_parameters():
                if name.startswith("bias_ih"):  # the blocks are i, f, g, o: f is the second
                    p[hidden_size:2 * hidden_size] += forget_bias
        if learned_init:
            from solutions.torch_lstm import LearnableInitLSTM

            rnn = LearnableInitLSTM(rnn)
    elif kind == "rnn":
        if forget_bias:
            raise ValueError("an RNN has no forget gate; use forget_bias=0")
        rnn = nn.RNN(input_size, hidden_size, num_layers=num_layers, dropout=dropout,
                     batch_first=True)
    else:
        raise ValueError(f"kind must be 'lstm' or 'rnn'; got {kind!r}")
    return SequenceModel(rnn, hidden_size, num_outputs).to(dtype)


def count_parameters(model):
    """The number of trainable numbers in `model`."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ----------------------------------------------------------------------------- training
def train_step(model, x, y, optimizer, max_norm, loss_fn=F.cross_entropy):
    """One step of training on one batch.

    model:     maps x to predictions, e.g. logits (B, C) for a classifier.
    x, y:      a batch of inputs (B, T, I) and targets (class indices (B,) for
               cross-entropy).
    optimizer: a torch.optim optimizer over model's parameters.
    max_norm:  the gradients are rescaled so that their global norm (all parameters
               together) is at most max_norm, before the optimizer uses them.
    Returns the batch's loss (a float), computed before the update.
    """
    optimizer.zero_grad()  # backward() adds to .grad; start this batch from zero
    loss = loss_fn(model(x), y)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return loss.item()


def accuracy(outputs, y):
    """The fraction of rows whose largest logit is the label: outputs (B, C), y (B,)."""
    return (outputs.argmax(dim=1) == y).double().mean().item()


def adding_accuracy(outputs, y, tolerance=0.04):
    """The fraction of predictions within `tolerance` of the target (adding problem)."""
    return ((outputs - y).abs() < tolerance).double().mean().item()


def evaluate(model, x, y, loss_fn=F.cross_entropy, metric=accuracy, batch_size=1000):
    """(loss, metric) of `model` on all of x, y, in evaluation mode (no dropout)."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        outputs = torch.cat([model(xb) for xb in x.split(batch_size)])
    model.train(was_training)
    return loss_fn(outputs, y).item(), metric(outputs, y)


def fit(model, data, *, epochs, lr, batch_size, max_norm, seed=0, loss_fn=F.cross_entropy,
        metric=accuracy, step=train_step, desc="training"):
    """Train `model` with Adam, gradient clipping and a cosine learning-rate schedule.

    data:  dict of tensors x, y (training) and x_test, y_test.
    epochs, batch_size: each epoch visits the training set once in a random order;
           the order and any dropout come from `seed`, so a run is reproducible.
    lr:    the initial learning rate; it decays along a half cosine to 0 at the end.
    step:  the training step, `train_step` or a function with its signature.
    Returns the learning curves, one entry per epoch: a dict with train_loss (the mean
    loss of the epoch's batches), test_loss and test_metric; and first_epoch_batch_loss,
    the loss of every batch of the first epoch (to compare two runs step by step).
    """
    torch.manual_seed(seed)
    order_rng = torch.Generator().manual_seed(seed)
    x, y = data["x"], data["y"]
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * math.ceil(len(x) / batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    history = {"train_loss": [], "test_loss": [], "test_metric": []}
    bar = progress(range(epochs), desc)
    for _ in bar:
        losses = []
        for batch in torch.randperm(len(x), generator=order_rng).split(batch_size):
            losses.append(step(model, x[batch], y[batch], optimizer, max_norm, loss_fn))
            schedule.step()
        test_loss, test_metric = evaluate(model, data["x_test"], data["y_test"], loss_fn, metric)
        history["train_loss"].append(float(np.mean(losses)))
        history["test_loss"].append(test_loss)
        history["test_metric"].append(test_metric)
        history.setdefault("first_epoch_batch_loss", losses)
        bar.set_postfix_str(f"loss {history['train_loss'][-1]:.3f}, test {test_metric:.3f}",
                            refresh=False)
    bar.close()
    return history


# ----------------------------------------------------------------------------- experiments
def run_mnist1d(args):
    """MNIST-1D with one LSTM layer; returns the run's record (see `save`)."""
    data = as_tensors(mnist1d(args.shuffle_seq), args.dtype)
    model = rnn_model("lstm", 1, args.hidden, 10, impl=args.impl, forget_bias=args.forget_bias,
                      dtype=args.dtype, seed=args.seed)
    history = fit(model, data, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                  max_norm=args.max_norm, seed=args.seed, desc=args.name)
    return {"history": history, "test_accuracy": history["test_metric"][-1],
            "parameters": count_parameters(model)}


def run_digits(args):
    """Digits read row by row with a stacked LSTM and dropout between the layers."""
    data = as_tensors(digits_rows(), args.dtype)
    model = rnn_model("lstm", 8, args.hidden, 10, num_layers=args.layers, dropout=args.dropout,
                      impl=args.impl, forget_bias=args.forget_bias, dtype=args.dtype,
                      seed=args.seed)
    history = fit(model, data, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                  max_norm=args.max_norm, seed=args.seed, desc=args.name)
    return {"history": history, "test_accuracy": history["test_metric"][-1],
            "parameters": count_parameters(model)}


def run_adding(args):
    """Adding problem: an RNN and an LSTM with about the same number of parameters, per T.

    The RNN gets twice the LSTM's hidden size: an LSTM layer has four weight blocks to
    the RNN's one, so H_rnn = 2 H_lstm gives about the same parameter count.
    """
    runs = {}
    for T in args.lengths:
        data = as_tensors(adding_data(T, seed=args.seed), args.dtype)
        for kind, hidden in (("rnn", 2 * args.hidden), ("lstm", args.hidden)):
            forget_bias = args.forget_bias if kind == "lstm" else 0.0
            model = rnn_model(kind, 2, hidden, 1, impl=args.impl, forget_bias=forget_bias,
                              dtype=args.dtype, seed=args.seed)
            history = fit(model, data, epochs=args.epochs, lr=args.lr,
                          batch_size=args.batch_size, max_norm=args.max_norm, seed=args.seed,
                          loss_fn=F.mse_loss, metric=adding_accuracy, desc=f"{kind} T={T}")
            runs[f"{kind}_T{T}"] = {"kind": kind, "T": T, "hidden": hidden,
                                    "parameters": count_parameters(model), "history": history,
                                    "test_mse": history["test_loss"][-1],
                                    "test_accuracy": history["test_metric"][-1]}
    return {"runs": runs}


def run_initial_states(args):
    """Remember the first step, with zero versus learned initial states, over several seeds."""
    runs = {}
    for T in args.lengths:
        data = as_tensors(remember_first_data(T, seed=args.seed), args.dtype)
        for learned in (False, True):
            for seed in range(args.seed, args.seed + args.seeds):
                model = rnn_model("lstm", 1, args.hidden, 2, impl=args.impl, seed=seed,
                                  learned_init=learned, forget_bias=args.forget_bias,
                                  dtype=args.dtype)
                name = f"{'learned' if learned else 'zero'}_T{T}_seed{seed}"
                history = fit(model, data, epochs=args.epochs, lr=args.lr,
                              batch_size=args.batch_size, max_norm=args.max_norm, seed=seed,
                              desc=name)
                runs[name] = {"learned_init": learned, "T": T, "seed": seed,
                              "history": history, "test_accuracy": history["test_metric"][-1]}
    return {"runs": runs}


# Per task: the function that runs it and its default settings.
TASKS = {
    "mnist1d": (run_mnist1d, dict(hidden=128, epochs=60, lr=3e-3, batch_size=64, max_norm=1.0)),
    "digits": (run_digits, dict(hidden=64, layers=2, dropout=0.2, epochs=30, lr=3e-3,
                                batch_size=32, max_norm=1.0)),
    "adding": (run_adding, dict(hidden=32, epochs=20, lr=1e-2, batch_size=64, max_norm=1.0,
                                lengths=[10, 50, 100])),
    "initial_states": (run_initial_states, dict(hidden=8, epochs=20, lr=1e-2, batch_size=64,
                                                max_norm=1.0, lengths=[5, 20], seeds=10)),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m solutions.train", description=__doc__,
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
    run, defaults = TASKS[args.task]
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


def main(argv=None):
    args = parse_args(argv)
    args.dtype = getattr(torch, args.dtype)
    torch.set_num_threads(args.threads)
    run, _ = TASKS[args.task]
    start = time.perf_counter()
    record = run(args)
    record["wall_time_s"] = round(time.perf_counter() - start, 1)
    path = save(record, args, args.out)
    summary = {k: v for k, v in record.items() if k in ("test_accuracy", "wall_time_s")}
    print(f"wrote {path}: {summary}")


if __name__ == "__main__":
    main()
