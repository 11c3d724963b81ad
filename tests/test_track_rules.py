"""The tracks' rules (`autograde.tracks`), played as a learner would break them.

A NumPy exercise written with torch (autograd, however torch was imported) earns
nothing, in `check()` and in the grader, and the message names the call and its line; a
PyTorch exercise written from scratch may not use torch's recurrent layers; calling the
exercise's own shipped reference is named as that. The autograd answer is a correct
backward pass: the control at the end of each test shows it passes once the rule is
lifted, so the zero comes from the rule and nothing else.
"""

import dataclasses

import numpy as np
import pytest
from hostile import notebook

from autograde import grader, registry, tracks
from autograde.check import run_checks
from autograde.sandbox import Limits

# Chapter 4's lstm_backward, the way a learner who knows PyTorch would cut the corner:
# the forward pass in torch, the backward pass by autograd. (Gates i, f, g, o.)
AUTOGRAD_BACKWARD = '''import torch as t


def lstm_backward(dhs, x, h0, c0, Wx, Wh, b):
    leaves = [t.tensor(a, requires_grad=True) for a in (x, h0, c0, Wx, Wh, b)]
    X, h, c, W, U, bias = leaves
    H = h.shape[1]
    hs = []
    for step in range(X.shape[1]):
        z = X[:, step] @ W + h @ U + bias
        i, f = z[:, :H].sigmoid(), z[:, H:2 * H].sigmoid()
        g, o = z[:, 2 * H:3 * H].tanh(), z[:, 3 * H:].sigmoid()
        c = f * c + i * g
        h = o * c.tanh()
        hs.append(h)
    grads = t.autograd.grad(t.stack(hs, 1), leaves, t.tensor(dhs))
    return {k: g.numpy() for k, g in zip(("x", "h0", "c0", "Wx", "Wh", "b"), grads)}
'''

# The same, with torch out of the static check's sight: only the run-time guard sees it.
HIDDEN_TORCH = AUTOGRAD_BACKWARD.replace(
    "import torch as t\n", 'import importlib\n\nt = getattr(importlib, "import_" + "module")'
                           '("to" + "rch")\n')

# The exercise's own reference, imported out of the static check's sight.
HIDDEN_REFERENCE = '''import importlib


def lstm_forward(x, h0, c0, Wx, Wh, b):
    ref = importlib.import_module("autograde.references." + "torch_ref")
    return getattr(ref, "lstm_" + "forward")(x, h0, c0, Wx, Wh, b)
'''

# A PyTorch exercise handed to its shipped reference (torch.nn.LSTM inside), out of the
# static check's sight: the run-time guard must name the reference, not torch.nn.LSTM alone.
HIDDEN_TORCH_REFERENCE = '''import importlib


def lstm_layer(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None):
    ref = importlib.import_module("autograde.references." + "torch_modules")
    return getattr(ref, "lstm_" + "layer")(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
'''

# A PyTorch exercise written from scratch, with torch's own LSTM inside.
FRAMEWORK_LSTM = '''import torch
from torch import nn


class NaiveLSTM(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.inner = nn.LSTM(input_size, hidden_size, batch_first=True)
'''


def exercise_code(code):
    """The namespace a learner's cell leaves behind."""
    ns = {"np": np}
    exec(compile(code, "<cell 2>", "exec"), ns)
    return ns


def unguarded(exercise):
    """The exercise as if its code might use anything: the control."""
    return dataclasses.replace(exercise, track=tracks.PYTORCH, run=exercise.run.__wrapped__)


# ---------------------------------------------------------------------------------------
# The static check


@pytest.mark.parametrize("code, line, name", [
    (AUTOGRAD_BACKWARD, 16, "torch.autograd.grad"),
    ("from torch import autograd\n\ndef lstm_backward(*a):\n    return autograd.grad(*a)",
     4, "torch.autograd.grad"),
    ("def lstm_backward(*a):\n    return __import__('torch').autograd.grad(*a)",
     2, "torch.autograd.grad"),
    ("import importlib\nT = importlib.import_module('jax')\ndef lstm_backward(*a):\n"
     "    return T.grad(a[0])", 4, "jax.grad"),
])
def test_a_numpy_exercise_may_not_use_a_framework_however_imported(code, line, name):
    found = tracks.violations(registry.get("lstm_backward"), code)
    assert any(v.startswith(f"line {line}: {name}: ") and "NumPy" in v for v in found), found


def test_numpy_code_is_not_flagged_for_its_names():
    """`F`, `nn` or `tf` as the learner's own variables mean nothing in a NumPy exercise."""
    code = ("def lstm_step(x, h, c, Wx, Wh, b):\n    F = x @ Wx\n    tf = h @ Wh\n"
            "    nn = F + tf + b\n    return nn, c")
    assert tracks.violations(registry.get("lstm_step"), code) == []


def test_a_from_scratch_pytorch_exercise_may_not_use_torchs_lstm():
    found = tracks.violations(registry.get("NaiveLSTM"), FRAMEWORK_LSTM)
    assert [v.split(": ")[:2] for v in found] == [["line 9", "torch.nn.LSTM"]]
    assert tracks.violations(registry.get("NaiveLSTM"), "import torch\ny = torch.tanh(1)") == []


def test_the_exercises_own_reference_is_named_as_such_and_handed_out_ones_are_not():
    code = "from autograde.references import torch_ref\nhs = torch_ref.lstm_forward(x)"
    assert tracks.violations(registry.get("lstm_forward"), code) == [
        "line 2: autograde.references.torch_ref.lstm_forward: autograde's shipped reference "
        "for this very exercise, not code of its own"]
    # Chapter 23 hands out TF's cell: its loop is the exercise.
    loop = ("from autograde.references.tf_ref import lstm_cell\n"
            "def static_lstm(inputs, n):\n    return lstm_cell(inputs, None, n)")
    assert tracks.violations(registry.get("static_lstm"), loop) == []


def test_every_exercise_has_one_declared_track():
    declared = [id for ids in registry.TRACK.values() for id in ids]
    assert sorted(declared) == sorted(registry.exercises())
    assert all(registry.get(id).track in tracks.TRACKS for id in declared)


# ---------------------------------------------------------------------------------------
# check(), in the learner's own process


def test_check_gives_autograd_in_a_numpy_exercise_nothing():
    exercise = registry.get("lstm_backward")
    for code, line in ((AUTOGRAD_BACKWARD, 5), (HIDDEN_TORCH, 7)):
        fn = exercise_code(code)["lstm_backward"]
        report = run_checks(fn, exercise, np.random.default_rng(0))
        assert report.score == 0 and not report.passed
        assert report.forbidden.startswith(f"line {line}: torch.tensor: "), report.forbidden
        assert "lstm_backward is a NumPy exercise (chapter 4)" in report.forbidden
        assert run_checks(fn, unguarded(exercise), np.random.default_rng(0)).passed  # control


def test_check_names_the_reference_that_was_called():
    exercise = registry.get("lstm_forward")
    fn = exercise_code(HIDDEN_REFERENCE)["lstm_forward"]
    report = run_checks(fn, exercise, np.random.default_rng(0))
    assert report.score == 0
    assert report.forbidden.startswith(
        "line 6: calls autograde.references.torch_ref.lstm_forward, autograde's shipped "
        "reference"), report.forbidden
    assert run_checks(fn, unguarded(exercise), np.random.default_rng(0)).passed  # control


# ---------------------------------------------------------------------------------------
# The grader


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tracks")
    nb = notebook(folder / "04_lstm_backward.ipynb", "import numpy as np", HIDDEN_REFERENCE,
                  HIDDEN_TORCH, FRAMEWORK_LSTM, HIDDEN_TORCH_REFERENCE)
    report = grader.grade(nb, limits=Limits(timeout=60),
                          only=["lstm_forward", "lstm_backward", "NaiveLSTM", "lstm_layer"])
    return {e["id"]: e for e in report["exercises"]}


def test_the_grader_gives_hidden_autograd_nothing_and_names_its_line(graded):
    entry = graded["lstm_backward"]
    assert entry["points"] == 0 and entry["verdict"] == "forbidden", entry
    assert entry["feedback"].startswith("lstm_backward: line 7: torch.tensor: lstm_backward "
                                        "is a NumPy exercise (chapter 4)"), entry


def test_the_grader_names_the_reference_called(graded):
    entry = graded["lstm_forward"]
    assert entry["points"] == 0 and entry["verdict"] == "forbidden", entry
    assert "line 6: calls autograde.references.torch_ref.lstm_forward" in entry["feedback"]


def test_the_grader_names_the_framework_lstm_and_its_line(graded):
    entry = graded["NaiveLSTM"]
    assert entry["points"] == 0 and entry["verdict"] == "forbidden", entry
    assert entry["feedback"].startswith("NaiveLSTM: line 9: torch.nn.LSTM: "), entry


def test_the_run_time_guard_names_the_reference_called_not_only_torchs_lstm(graded):
    entry = graded["lstm_layer"]
    assert entry["points"] == 0 and entry["verdict"] == "forbidden", entry
    assert entry["feedback"].startswith(
        "lstm_layer: line 6: calls autograde.references.torch_modules.lstm_layer, autograde's "
        "shipped reference (which uses torch.nn.LSTM)"), entry
