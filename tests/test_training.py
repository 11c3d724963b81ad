"""The training chapters: data sets, the training step, NumPy training against PyTorch,
the training exercises' checks, the command line and the committed results."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograde import registry
from autograde.check import run_checks
from solutions import training_numpy as nt
from solutions import training_torch as train
from tests.helpers.no_solutions import GUARD
from tools.train import data as datasets
from tools.train import loop, models
from tools.train import numpy_classifier as nc
from tools.train.__main__ import main as train_main

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "book" / "data" / "train"
LOGISTIC_REGRESSION = 0.32  # MNIST-1D test accuracy reported by Greydanus (2020)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ----------------------------------------------------------------------------- data
@pytest.fixture(scope="module")
def mnist1d():
    return datasets.mnist1d()


def test_mnist1d_shapes_and_split(mnist1d):
    assert mnist1d["x"].shape == (4000, 40, 1) and mnist1d["x_test"].shape == (1000, 40, 1)
    assert mnist1d["x"].dtype == np.float32 and mnist1d["y"].dtype == np.int64
    assert set(np.unique(mnist1d["y"])) == set(range(10))


def test_mnist1d_shuffled_is_one_permutation_of_the_timesteps(mnist1d):
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    shuffled = datasets.mnist1d(shuffle_seq=True)
    assert np.random.rand() == expected  # make_dataset's reseeding does not leak out
    np.testing.assert_array_equal(mnist1d["y"], shuffled["y"])
    # The same permutation for every sequence: sorting each sequence's values undoes it.
    np.testing.assert_allclose(np.sort(mnist1d["x"], axis=1), np.sort(shuffled["x"], axis=1),
                               atol=1e-5)
    assert not np.allclose(mnist1d["x"], shuffled["x"])


def test_digits_rows():
    data = datasets.digits_rows()
    assert data["x"].shape == (1797 - 360, 8, 8) and data["x_test"].shape == (360, 8, 8)
    assert 0 <= data["x"].min() and data["x"].max() <= 1


def test_adding_problem_targets_are_the_sum_of_the_two_marked_values():
    x, y = datasets.adding_problem(500, 20, np.random.default_rng(0))
    markers = x[..., 1]
    assert (markers.sum(axis=1) == 2).all()
    assert (markers[:, :10].sum(axis=1) == 1).all()  # one marker in each half
    expected = np.array([row[m == 1, 0].sum() for row, m in zip(x, markers, strict=True)])
    np.testing.assert_allclose(y[:, 0], expected, rtol=1e-6)
    # Predicting the constant 1 has a mean squared error of 1/6, the baseline.
    assert abs(np.mean((y - 1) ** 2) - 1 / 6) < 0.03


def test_remember_first_labels_the_first_step():
    x, y = datasets.remember_first(300, 7, np.random.default_rng(0))
    np.testing.assert_array_equal(y, x[:, 0, 0] > 0)


# ----------------------------------------------------------------------------- model and step
def test_scratch_and_torch_models_train_identically():
    """The from-scratch LSTM and nn.LSTM, same seed and batches: the same losses (float64)."""
    data = datasets.as_tensors(datasets.digits_rows())
    losses = {}
    for impl in ("scratch", "torch"):
        model = models.rnn_model("lstm", 8, 16, 10, num_layers=2, impl=impl, seed=3).double()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        losses[impl] = [train.train_step(model, data["x"][i:i + 32].double(),
                                         data["y"][i:i + 32], optimizer, max_norm=0.5)
                        for i in range(0, 320, 32)]
    np.testing.assert_allclose(losses["scratch"], losses["torch"], rtol=1e-10)
    assert losses["scratch"][-1] < losses["scratch"][0]


def test_forget_bias_and_learned_init():
    model = models.rnn_model("lstm", 3, 4, 2, forget_bias=1.0, learned_init=True, seed=0)
    reference = models.rnn_model("lstm", 3, 4, 2, seed=0)
    bias = model.rnn.lstm.bias_ih_l0.detach() - reference.rnn.bias_ih_l0.detach()
    np.testing.assert_allclose(bias.numpy(), np.repeat([0, 1, 0, 0], 4), atol=1e-7)
    # The learned initial state starts at zero: the same outputs as a zero state.
    with torch.no_grad():
        model.rnn.lstm.bias_ih_l0.copy_(reference.rnn.bias_ih_l0)
    x = torch.randn(5, 6, 3)
    torch.testing.assert_close(model(x), reference(x))
    with pytest.raises(ValueError, match="no forget gate"):
        models.rnn_model("rnn", 3, 4, 2, forget_bias=1.0)


def test_a_small_lstm_learns_mnist1d(mnist1d):
    """Two epochs of a small from-scratch LSTM: the loss falls and it beats logistic regression."""
    data = datasets.as_tensors(mnist1d)
    model = models.rnn_model("lstm", 1, 32, 10, impl="scratch", forget_bias=1.0, seed=0)
    history = loop.fit(model, data, step=train.train_step, epochs=2, lr=1e-2, batch_size=32,
                       max_norm=1.0, seed=0)
    assert history["train_loss"][-1] < history["train_loss"][0] < math.log(10)
    assert history["test_metric"][-1] > LOGISTIC_REGRESSION + 0.05


# ----------------------------------------------------------------------------- NumPy training
def test_numpy_and_pytorch_training_steps_agree():
    """NumPy's forward, backward, clipping and Adam against PyTorch's on the same weights
    and batches: the losses and the weights agree step for step."""
    data = datasets.digits_rows()
    x, y = data["x"].astype(np.float64), data["y"]
    params = nc.init_classifier(8, 12, 10, np.random.default_rng(0))
    twin = nc.torch_twin(params)
    numpy_adam = nc.Adam(params, lr=1e-2)
    torch_adam = torch.optim.Adam([p for p in twin.parameters() if p.requires_grad], lr=1e-2)
    for idx in nc.batches(len(x), 50, np.random.default_rng(1))[:8]:
        loss = nc.train_step(params, x[idx], y[idx], numpy_adam, max_norm=0.3)
        torch_loss = train.train_step(twin, torch.from_numpy(x[idx]), torch.from_numpy(y[idx]),
                                      torch_adam, max_norm=0.3)
        assert loss == pytest.approx(torch_loss, rel=1e-12)
    np.testing.assert_allclose(params["Wx"], twin.rnn.weight_ih_l0.detach().numpy().T, atol=1e-12)
    np.testing.assert_allclose(params["W"], twin.head.weight.detach().numpy().T, atol=1e-12)
    np.testing.assert_allclose(params["b"], twin.rnn.bias_ih_l0.detach().numpy(), atol=1e-12)


def test_numpy_classifier_gradients_match_autograd():
    data = datasets.digits_rows()
    x, y = data["x"][:9].astype(np.float64), data["y"][:9]
    params = nc.init_classifier(8, 5, 10, np.random.default_rng(2))
    loss, grads, _ = nc.classifier_loss(params, x, y)
    twin = nc.torch_twin(params)
    torch_loss = F.cross_entropy(twin(torch.from_numpy(x)), torch.from_numpy(y))
    torch_loss.backward()
    assert loss == pytest.approx(torch_loss.item(), rel=1e-12)
    np.testing.assert_allclose(grads["Wh"], twin.rnn.weight_hh_l0.grad.numpy().T, atol=1e-12)
    np.testing.assert_allclose(grads["c"], twin.head.bias.grad.numpy(), atol=1e-12)


def test_numpy_training_learns_digits():
    data = {k: v.astype(np.float64) if v.dtype == np.float32 else v
            for k, v in datasets.digits_rows().items()}
    params = nc.init_classifier(8, 16, 10, np.random.default_rng(0))
    history = nc.fit(params, data, epochs=3, lr=1e-2, batch_size=32, max_norm=1.0)
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["test_accuracy"][-1] > 0.5


def test_numpy_functions_reject_bad_input():
    with pytest.raises(ValueError, match=r"y must be integer labels of shape \(B,\) = \(3,\)"):
        nt.softmax_cross_entropy(np.zeros((3, 4)), np.zeros(2, dtype=int))
    with pytest.raises(ValueError, match="logits must have shape"):
        nt.softmax_cross_entropy(np.zeros(4), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match=r"the same shape; got \[\(2,\), \(3,\)"):
        nt.adam_update(np.zeros(2), np.zeros(3), np.zeros(2), np.zeros(2), 1)
    with pytest.raises(ValueError, match="counted from 1; got 0"):
        nt.adam_update(np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2), 0)
    with pytest.raises(ValueError, match="max_norm must be positive"):
        nt.clip_gradients({"W": np.ones(2)}, 0.0)


# ----------------------------------------------------------------------------- exercises
EXERCISES = {"train_step": train, "softmax_cross_entropy": nt, "clip_gradients": nt,
             "adam_update": nt}


@pytest.mark.parametrize("name", EXERCISES)
def test_solution_and_reference_pass_their_checks(name):
    exercise = registry.get(name)
    assert exercise.solution == EXERCISES[name].__name__
    for candidate in (getattr(EXERCISES[name], name), exercise.reference):
        report = run_checks(candidate, exercise, np.random.default_rng(0))
        assert report.passed, report.summary()


def test_checks_catch_common_mistakes():
    def train_step(model, x, y, optimizer, max_norm, loss_fn=F.cross_entropy):
        loss = loss_fn(model(x), y)  # no zero_grad: the stale gradients are added
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        return loss.item()

    report = run_checks(train_step, registry.get("train_step"), np.random.default_rng(0))
    assert not report.passed and "zero_grad" in report.summary()

    def adam_update(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
        return param - lr * m / (np.sqrt(v) + eps), m, v

    report = run_checks(adam_update, registry.get("adam_update"), np.random.default_rng(0))
    assert not report.passed and "bias correction" in report.summary()


# ----------------------------------------------------------------------------- command line
def test_command_line_writes_metrics(tmp_path):
    assert train_main(["digits", "--epochs", "1", "--hidden", "8", "--out", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "digits_scratch.json").read_text())
    assert record["task"] == "digits" and record["settings"]["hidden"] == 8
    assert len(record["history"]["test_metric"]) == 1 and 0 <= record["test_accuracy"] <= 1
    assert (tmp_path / "digits_scratch.png").stat().st_size > 0


def test_without_the_answer_key_the_command_line_says_so_in_one_line(tmp_path):
    """The learner's copy has no solutions/: exit 2, one line, nothing written."""
    (tmp_path / "guard").mkdir()
    (tmp_path / "guard" / "sitecustomize.py").write_text(GUARD)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "guard"), str(ROOT)])}
    result = subprocess.run([sys.executable, "-m", "tools.train", "digits", "--impl", "torch",
                             "--out", str(tmp_path / "out")], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr[-2000:]
    assert "answer key" in result.stderr and "solutions" in result.stderr
    assert not (tmp_path / "out").exists()


def test_the_loop_and_the_torch_model_need_no_answer_key():
    """What the learner's copy can use with its own train_step: data, models (torch), loop."""
    code = ("import sys, tools.train.data, tools.train.loop, tools.train.models; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'solutions'))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr[-2000:]


def test_progress_bar_text_has_no_timings(capsys):
    for _ in loop.progress(range(3), "demo"):
        pass
    err = capsys.readouterr().err
    assert "3/3" in err and "it/s" not in err and "<" not in err


# ----------------------------------------------------------------------------- committed results
def _load(name):
    return json.loads((RESULTS / f"{name}.json").read_text())


def test_committed_mnist1d_results_beat_every_model_in_the_paper():
    scratch, twin = _load("mnist1d_scratch"), _load("mnist1d_torch")
    assert scratch["settings"]["impl"] == "scratch" and twin["settings"]["impl"] == "torch"
    assert scratch["test_accuracy"] >= 0.95
    assert abs(scratch["test_accuracy"] - twin["test_accuracy"]) < 0.02
    # Same weights, same batches, float64: the first steps of the two runs agree.
    first = [np.array(run["history"]["first_epoch_batch_loss"][:10]) for run in (scratch, twin)]
    np.testing.assert_allclose(first[0], first[1], rtol=1e-10)
    assert _load("mnist1d_shuffled_scratch")["test_accuracy"] < scratch["test_accuracy"] - 0.1


def test_committed_adding_results_lstm_solves_what_the_rnn_cannot():
    runs = _load("adding_scratch")["runs"]
    assert runs["lstm_T100"]["test_mse"] < 0.01
    assert runs["rnn_T100"]["test_mse"] > 0.1  # no better than predicting the mean
    assert abs(runs["lstm_T100"]["parameters"] / runs["rnn_T100"]["parameters"] - 1) < 0.1
