"""`python -m tools.train.cell_race`: chapter 7's race of recurrent cells on two memory tasks.

    python -m tools.train.cell_race                     # all cells: about 15 minutes on 2 cores
    python -m tools.train.cell_race --cells gru lstm    # these again, the others kept

The simple RNN, the GRU, the LSTM (also with its forget-gate bias started at 1, as
Jozefowicz et al. 2015 recommend) and three LSTM variants (peephole connections, coupled
input and forget gates, no forget gate) each train with the same budget: the same
hidden size, optimizer, learning rate, batch size and number of updates, on the adding
problem (T = 50) and on "remember the first number" (T = 50), from three seeds each.
The RNN, GRU and LSTM are torch.nn's; the variants are `VariantLSTM`, the chapter's
equations in torch. Writes book/data/train/cell_race.json, which chapter 7 renders.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tools.train.data import adding_data, as_tensors, remember_first_data

OUT = Path(__file__).resolve().parents[2] / "book" / "data" / "train" / "cell_race.json"
CELLS = ("rnn", "gru", "lstm", "lstm_bias1", "peephole", "coupled", "no_forget")
SEEDS = (0, 1, 2)
SETTINGS = dict(T=50, hidden=32, steps=600, batch_size=64, lr=3e-3, max_norm=1.0)


class VariantLSTM(nn.Module):
    """An LSTM layer with one of Greff et al.'s variants; batch-major x (B, T, I) -> h_T (B, H).

    variant: "peephole" (i and f see c_{t-1}, o sees c_t, through diagonal weights),
    "coupled" (f = 1 - i) or "no_forget" (f = 1, the 1997 LSTM). Gate order i, f, g, o.
    """

    def __init__(self, input_size, hidden_size, variant):
        super().__init__()
        self.variant, self.hidden_size = variant, hidden_size
        self.linear = nn.Linear(input_size + hidden_size, 4 * hidden_size)
        self.peep = nn.Parameter(torch.zeros(3, hidden_size)) if variant == "peephole" else None

    def forward(self, x):
        B, H = x.shape[0], self.hidden_size
        h = c = x.new_zeros(B, H)
        I = x.shape[2]
        # The input half of every step at once (chapter 4's hoisting); the loop does the rest.
        xz = x @ self.linear.weight[:, :I].T + self.linear.bias
        w_h = self.linear.weight[:, I:].T
        for t in range(x.shape[1]):
            zi, zf, zg, zo = (xz[:, t] + h @ w_h).chunk(4, dim=1)
            if self.peep is not None:
                zi, zf = zi + self.peep[0] * c, zf + self.peep[1] * c
            i, g = torch.sigmoid(zi), torch.tanh(zg)
            f = {"coupled": 1 - i, "no_forget": torch.ones_like(i)}.get(self.variant)
            c = (torch.sigmoid(zf) if f is None else f) * c + i * g
            if self.peep is not None:
                zo = zo + self.peep[2] * c
            h = torch.sigmoid(zo) * torch.tanh(c)
        return h


class Readout(nn.Module):
    """A recurrent layer and a linear read-out of its last hidden state."""

    def __init__(self, kind, input_size, hidden_size, outputs):
        super().__init__()
        self.kind = kind
        if kind in ("rnn", "gru", "lstm", "lstm_bias1"):
            self.rnn = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM, "lstm_bias1": nn.LSTM}[kind](
                input_size, hidden_size, batch_first=True)
            if kind == "lstm_bias1":  # the forget block (rows H:2H of i, f, g, o) starts at 1
                with torch.no_grad():
                    self.rnn.bias_ih_l0[hidden_size:2 * hidden_size] += 1
        else:
            self.rnn = VariantLSTM(input_size, hidden_size, kind)
        self.out = nn.Linear(hidden_size, outputs)

    def forward(self, x):
        if isinstance(self.rnn, VariantLSTM):
            return self.out(self.rnn(x))
        hs, _ = self.rnn(x)
        return self.out(hs[:, -1])


TASKS = {
    "adding": dict(data=adding_data, inputs=2, outputs=1, loss=F.mse_loss,
                   metric=lambda out, y: F.mse_loss(out, y).item(), metric_name="test MSE",
                   baseline=1 / 6),
    "remember_first": dict(data=remember_first_data, inputs=1, outputs=2, loss=F.cross_entropy,
                           metric=lambda out, y: (out.argmax(1) == y).double().mean().item(),
                           metric_name="test accuracy", baseline=0.5),
}


def train(kind, task, seed, T, hidden, steps, batch_size, lr, max_norm):
    """One run: the test metric after `steps` updates of Adam with clipping."""
    spec = TASKS[task]
    data = as_tensors(spec["data"](T, seed=0))  # the same data for every cell and seed
    torch.manual_seed(seed)
    model = Readout(kind, spec["inputs"], hidden, spec["outputs"])
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    order = np.random.default_rng(seed)
    n = len(data["y"])
    for _ in range(steps):
        rows = torch.from_numpy(order.choice(n, batch_size, replace=False))
        loss = spec["loss"](model(data["x"][rows]), data["y"][rows])
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
    with torch.no_grad():
        metric = spec["metric"](model(data["x_test"]), data["y_test"])
    return {"metric": metric, "parameters": sum(p.numel() for p in model.parameters())}


def main(argv=None, out=OUT):
    parser = argparse.ArgumentParser(prog="python -m tools.train.cell_race", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", nargs="+", choices=CELLS, default=list(CELLS))
    cells = parser.parse_args(argv).cells
    torch.set_num_threads(1)
    old = json.loads(out.read_text())["runs"] if out.exists() else []
    runs = [r for r in old if r["cell"] not in cells]
    for task in TASKS:
        for kind in cells:
            for seed in SEEDS:
                record = train(kind, task, seed, **SETTINGS)
                runs.append({"task": task, "cell": kind, "seed": seed, **record})
                print(task, kind, seed, f"{record['metric']:.4f}", file=sys.stderr, flush=True)
    tasks = {t: {"metric": s["metric_name"], "baseline": s["baseline"]} for t, s in TASKS.items()}
    runs.sort(key=lambda r: (list(TASKS).index(r["task"]), CELLS.index(r["cell"]), r["seed"]))
    out.write_text(json.dumps({"settings": SETTINGS, "seeds": SEEDS, "tasks": tasks,
                               "runs": runs}, indent=1) + "\n")


if __name__ == "__main__":
    main()
