"""tools/ddp/train.py under torchrun (2 CPU processes, gloo) equals one process on
the whole batch: the same gradients at the first step and the same weights at the end.

The single-process reference is written here, independently: torch.nn.LSTM with the
DDP run's initial weights, the loss computed from a PackedSequence (only valid steps),
plain SGD, on the union of the indices that the two processes used at each step.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from tests.helpers.no_solutions import GUARD
from tools.ddp.train import make_dataset

ROOT = Path(__file__).resolve().parent.parent
ARGS = dict(steps=3, global_batch=8, T=6, hidden=5, layers=2, lr=0.5, seed=3)


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    saved = tmp_path_factory.mktemp("ddp") / "run.pt"
    options = [f"--{k.replace('_', '-')}={v}" for k, v in ARGS.items()]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node=2", "-m", "tools.ddp", "--device=cpu",
               "--dtype=float64", f"--save={saved}", *options]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return torch.load(saved)


def reference_model(state):
    """nn.LSTM and nn.Linear with the DDP run's initial weights (our LSTM's names match)."""
    lstm = nn.LSTM(2, ARGS["hidden"], num_layers=ARGS["layers"], dtype=torch.float64)
    readout = nn.Linear(ARGS["hidden"], 1, dtype=torch.float64)
    lstm.load_state_dict({k[len("lstm."):]: v for k, v in state.items() if k.startswith("lstm.")})
    readout.load_state_dict({k[len("readout."):]: v for k, v in state.items()
                             if k.startswith("readout.")})
    return lstm, readout


def whole_batch_loss(lstm, readout, x, lengths, target):
    """Mean squared error over the valid steps of the whole batch, via packing."""
    packed = pack_padded_sequence(x.transpose(0, 1), lengths, enforce_sorted=False)
    out, _ = lstm(packed)
    target = pack_padded_sequence(target.transpose(0, 1), lengths, enforce_sorted=False)
    return ((readout(out.data) - target.data) ** 2).mean()


def single_process_run(record):
    lstm, readout = reference_model(record["initial_state"])
    params = {**{f"lstm.{k}": v for k, v in lstm.named_parameters()},
              **{f"readout.{k}": v for k, v in readout.named_parameters()}}
    optimizer = torch.optim.SGD(params.values(), lr=ARGS["lr"])
    data = make_dataset(ARGS["global_batch"] * ARGS["steps"], ARGS["T"], ARGS["seed"] + 1,
                        torch.float64)
    first_grads = None
    for indices in record["indices"]:
        _, x, lengths, target = data[torch.tensor(indices)]
        optimizer.zero_grad()
        whole_batch_loss(lstm, readout, x, lengths, target).backward()
        if first_grads is None:
            first_grads = {n: p.grad.clone() for n, p in params.items()}
        optimizer.step()
    return first_grads, {n: p.detach() for n, p in params.items()}


@pytest.mark.slow  # the torchrun job
def test_two_processes_cover_each_global_batch_once(ddp_run):
    assert ddp_run["world_size"] == 2
    assert len(ddp_run["indices"]) == ARGS["steps"]
    seen = [i for batch in ddp_run["indices"] for i in batch]
    assert all(len(batch) == ARGS["global_batch"] for batch in ddp_run["indices"])
    assert len(set(seen)) == len(seen)  # no example twice: the shares do not overlap


@pytest.mark.slow  # the torchrun job
def test_ddp_gradients_and_weights_equal_single_process_training(ddp_run):
    first_grads, final = single_process_run(ddp_run)
    assert first_grads.keys() == ddp_run["first_grads"].keys()
    for name, grad in first_grads.items():
        err = (ddp_run["first_grads"][name] - grad).abs().max().item()
        assert err <= 1e-10, f"first-step gradient of {name}: max error {err:.3g}"
    for name, value in final.items():
        err = (ddp_run["final_state"][name] - value).abs().max().item()
        assert err <= 1e-10, f"{name} after {ARGS['steps']} steps: max error {err:.3g}"
    moved = max((final[n] - ddp_run["initial_state"][n]).abs().max().item() for n in final)
    assert moved > 1e-3  # the steps did change the weights


@pytest.mark.slow  # the torchrun job
def test_a_share_of_a_share_would_be_wrong(ddp_run):
    """The check can fail: each process dividing by its own count (the mean of per-share
    means) gives different gradients whenever the shares hold different valid counts."""
    lstm, readout = reference_model(ddp_run["initial_state"])
    data = make_dataset(ARGS["global_batch"] * ARGS["steps"], ARGS["T"], ARGS["seed"] + 1,
                        torch.float64)
    _, x, lengths, target = data[torch.tensor(ddp_run["indices"][0])]
    half = ARGS["global_batch"] // 2
    assert lengths[:half].sum() != lengths[half:].sum()  # the shares differ in valid steps
    # all_gather put rank 0's share first, then rank 1's.
    mean_of_means = sum(whole_batch_loss(lstm, readout, x[s], lengths[s], target[s])
                        for s in (slice(0, half), slice(half, None))) / 2
    mean_of_means.backward()
    wrong = lstm.weight_hh_l0.grad
    err = (ddp_run["first_grads"]["lstm.weight_hh_l0"] - wrong).abs().max().item()
    assert err > 1e-6


def test_without_the_answer_key_it_says_so_in_one_line(tmp_path):
    """The learner's copy has no solutions/: the run stops at once, exit 2, one line."""
    (tmp_path / "guard").mkdir()
    (tmp_path / "guard" / "sitecustomize.py").write_text(GUARD)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "guard"), str(ROOT)])}
    result = subprocess.run([sys.executable, "-m", "tools.ddp", "--device=cpu"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr[-2000:]
    assert "answer key" in result.stderr and "solutions" in result.stderr
