"""The trust anchor: only the grader's own entry into the checks may use a framework LSTM.

In a from-scratch exercise the sandbox makes torch.nn.RNN and friends raise when the
submission's code calls them, while the checks' own code may (tf1_to_numpy's check runs
the ported weights through torch's LSTMCell). What tells the two apart is the trust
anchor, `Runner.check` (`autograde.sandbox.guards.trust_anchor`). Here the submissions
play the attacker against it, with torch.nn.RNN spelled so that the grader's static
check does not see it (the runtime guard is what is tested):

- one defines its own function called `check` and calls torch.nn.RNN from it;
- one finds the grader's check code on its call stack and runs torch.nn.RNN from a frame
  executing that very code (a function built around the anchor's code object).

Both must gain nothing; and a correct answer whose check uses torch must still pass
(which fails if the anchor is not recognised at all).

Which code counts as trusted library code (`autograde.sandbox.trust.Trust`) is
tested on its own at the end: nothing the submission could have written is.
"""

import os

import pytest
from hostile import IMPORTS, notebook

from autograde import grader
from autograde.sandbox import Limits
from autograde.sandbox.protocol import Libraries
from autograde.sandbox.trust import Trust

LIMITS = Limits(timeout=30, memory_mb=4096, processes=256)

# torch itself is out of the static check's sight too: rnn_step and rnn_forward are NumPy
# exercises, which the static check refuses as soon as it sees torch used.
TORCH_RNN = '''import importlib

torch = getattr(importlib, "import_" + "module")("torch")
RNN = getattr(torch.nn, "R" + "NN")  # torch.nn.RNN, out of the static check's sight


def torch_dtype(x):
    return torch.float64 if x.dtype == np.float64 else torch.float32
'''

# A function of its own with the anchor's name: it is submission code all the same.
SAME_NAME = '''def check(x, h, Wx, Wh, b):
    rnn = RNN(Wx.shape[0], Wx.shape[1], batch_first=True, dtype=torch_dtype(x))
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(Wx.T.copy()))
        rnn.weight_hh_l0.copy_(torch.from_numpy(Wh.T.copy()))
        rnn.bias_ih_l0.copy_(torch.from_numpy(b))
        rnn.bias_hh_l0.zero_()
        out, _ = rnn(torch.from_numpy(x[:, None]), torch.from_numpy(h[None]))
    return out[:, 0].numpy()


def rnn_step(x, h, Wx, Wh, b):
    return check(x, h, Wx, Wh, b)
'''

# The grader's check code, found on the stack and run with the submission's own globals
# and a fake runner whose "check" of the exercise is the framework call itself: that
# call then comes straight from a frame running the anchor's code.
ANCHOR_CODE = '''import functools
import os
import sys
import types


class Box:
    def __init__(self, **fields):
        self.__dict__.update(fields)


def anchor_code():
    frame = sys._getframe()
    while frame is not None:
        code = frame.f_code
        if code.co_name == "check" and "guard" in code.co_varnames:
            return code
        frame = frame.f_back
    raise RuntimeError("the grader's check is not on the stack")


def through_the_anchor(fn, a, b):
    """fn(a, b), called from a frame that runs the grader's own check code."""
    got = []

    class Result:
        def __init__(self, *args, outputs=None, error=None, **kwargs):
            self.status = args[0] if args else None
            got.append((outputs, error))

        def to_wire(self):
            return {}

    runner = Box(ns={"k": a},
                 execute=lambda cell, ns: None, snapshot=Box(restore=lambda workdir: None),
                 job=Box(workdir="", indir=""), runs={"k": fn})
    fake_globals = {"__builtins__": __builtins__, "os": os, "_MISSING": object(),
                    "wire": Box(write=lambda *args: None, read=lambda *args: b),
                    "CellResult": Result, "CaseResult": Result, "describe": lambda e: e,
                    "CaseStatus": Box(OK="ok", STUB="stub", SUBMISSION_ERROR="submission_error",
                                      ERROR="error", UNSENDABLE="unsendable")}
    check = types.FunctionType(anchor_code(), fake_globals)
    check(runner, "k", Box(from_scratch=False), 1, None, "", None)
    outputs, error = got[-1]
    if error is not None:
        raise error
    return outputs


def rnn_forward(x, h0, Wx, Wh, b):
    make = functools.partial(RNN, batch_first=True, dtype=torch_dtype(x))
    rnn = through_the_anchor(make, Wx.shape[0], Wx.shape[1])
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(Wx.T.copy()))
        rnn.weight_hh_l0.copy_(torch.from_numpy(Wh.T.copy()))
        rnn.bias_ih_l0.copy_(torch.from_numpy(b))
        rnn.bias_hh_l0.zero_()
        out, _ = through_the_anchor(rnn, torch.from_numpy(x), torch.from_numpy(h0[None]))
    return out.numpy()
'''

# A correct answer whose check (not the answer) runs torch's LSTMCell: the book's gates
# are i, f, g, o; TF's kernel (I + H, 4H) holds i, j (= g), f, o and TF adds forget_bias
# at run time.
TF1_TO_NUMPY = '''def tf1_to_numpy(kernel, bias, forget_bias=1.0):
    H = bias.size // 4
    i, j, f, o = np.split(kernel, 4, axis=1)
    bi, bj, bf, bo = np.split(bias, 4)
    W = np.concatenate([i, f, j, o], axis=1)
    b = np.concatenate([bi, bf + forget_bias, bj, bo]).astype(bias.dtype)
    return {"Wx": W[:-H], "Wh": W[-H:], "b": b}
'''


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("anchor")
    nb = notebook(folder / "01_rnn_cell.ipynb", IMPORTS, (TORCH_RNN, False), SAME_NAME,
                  ANCHOR_CODE, TF1_TO_NUMPY)
    report = grader.grade(nb, limits=LIMITS, only=["rnn_step", "rnn_forward", "tf1_to_numpy"])
    return {e["id"]: e for e in report["exercises"]}


@pytest.mark.slow  # a grading in the sandbox
def test_a_function_with_the_anchors_name_is_submission_code(graded):
    step = graded["rnn_step"]
    assert step["points"] == 0 and step["verdict"] == "forbidden", step
    assert "line 2: torch.nn.RNN is not allowed" in step["feedback"], step


@pytest.mark.slow  # a grading in the sandbox
def test_running_the_anchors_own_code_gains_nothing(graded):
    forward = graded["rnn_forward"]
    assert forward["points"] == 0 and forward["verdict"] == "forbidden", forward
    assert "torch.nn.RNN is not allowed" in forward["feedback"], forward


@pytest.mark.slow  # a grading in the sandbox
def test_the_checks_own_framework_calls_are_allowed(graded):
    port = graded["tf1_to_numpy"]
    assert port["verdict"] == "passed" and port["points"] == port["max_points"], port


# ---------------------------------------------------------------------------------------
# Trusted library code


def test_code_in_the_libraries_is_trusted_until_it_changes(tmp_path):
    library = tmp_path / "site-packages"
    (library / "framework").mkdir(parents=True)
    module = library / "framework" / "layers.py"
    module.write_text("def layer(): pass\n")
    changed = os.stat(module).st_ctime
    before = Trust(Libraries(path=[], trusted=[str(library)], since=changed + 1), tmp_path / "x")
    assert before(str(module))
    assert before("<frozen importlib._bootstrap>")
    # Written (or rewritten) once the grading began: it may be the submission's.
    after = Trust(Libraries(path=[], trusted=[str(library)], since=changed), tmp_path / "x")
    assert not after(str(module))


def test_nothing_the_submission_writes_or_compiles_is_trusted(tmp_path):
    library = tmp_path / "site-packages"
    sandbox = library / "autograde-123"
    (sandbox / "work0").mkdir(parents=True)
    mine = sandbox / "work0" / "helper.py"  # its scratch folder, inside a library folder
    mine.write_text("")
    elsewhere = tmp_path / "elsewhere.py"
    elsewhere.write_text("")
    link = library / "linked.py"  # a link from a library folder to a file of its own
    link.symlink_to(mine)
    trust = Trust(Libraries(path=[], trusted=[str(library)], since=2**40), sandbox)
    for name in (str(mine), str(elsewhere), str(link), "<cell 3>", "<string>"):
        assert not trust(name), name
