"""The training runs behind the training chapters: one function per task, and `TASKS`.

Each run_<task>(args) trains with the book's training step (`solutions.training_torch.train_step`,
so this needs the answer key) and returns the run's record: its learning curves and
final numbers (`tools.train.__main__` saves them).
"""

import torch.nn.functional as F

from solutions.training_torch import train_step
from tools.train.data import adding_data, as_tensors, digits_rows, mnist1d, remember_first_data
from tools.train.loop import adding_accuracy, fit
from tools.train.models import count_parameters, rnn_model


def run_mnist1d(args):
    """MNIST-1D with one LSTM layer; returns the run's record (see `classify`)."""
    return classify(args, mnist1d(args.shuffle_seq), input_size=1)


def run_digits(args):
    """Digits read row by row with a stacked LSTM and dropout between the layers."""
    return classify(args, digits_rows(), input_size=8, num_layers=args.layers,
                    dropout=args.dropout)


def classify(args, data, input_size, **layers):
    """Train a 10-class LSTM classifier on `data` (NumPy arrays) with the run's settings.

    layers: num_layers and dropout, for a stacked LSTM. Returns the run's record:
    history, test_accuracy, parameters.
    """
    data = as_tensors(data, args.dtype)
    model = rnn_model("lstm", input_size, args.hidden, 10, impl=args.impl,
                      forget_bias=args.forget_bias, dtype=args.dtype, seed=args.seed, **layers)
    history = fit(model, data, step=train_step, epochs=args.epochs, lr=args.lr,
                  batch_size=args.batch_size, max_norm=args.max_norm, seed=args.seed,
                  desc=args.name)
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
            history = fit(model, data, step=train_step, epochs=args.epochs, lr=args.lr,
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
                history = fit(model, data, step=train_step, epochs=args.epochs, lr=args.lr,
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
