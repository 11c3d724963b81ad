"""The grader survives hostile and broken submissions.

Each cell in tests/hostile/ defines `rnn_step` and misbehaves (loops, forks, allocates,
prints, exits, kills, snoops, lies). Graded in a notebook where a correct `rnn_forward`
comes after it, the grader must finish within its limits, give rnn_step zero points with
the reason the cell's `# expect:` line states, grade rnn_forward normally, write a
complete report, leave no process behind and change no file outside the sandbox.
Broken notebooks (not JSON, nbformat 3, missing or doubled exercises, syntax errors,
bad bytes, empty) cost only what they break.

The limits are small here (2 s, 1280 MB, 64 processes) so that the bombs stop fast; the
bombs also stop by themselves far above those limits, should a limit not hold.
"""

import hashlib
import os
import re
import socket
from pathlib import Path

import jsonschema
import nbformat
import pytest
from hostile import IMPORTS, LSTM_STEP, RNN_FORWARD, RNN_STEP, names, notebook, source

import autograde
from autograde import formats, grader
from autograde.sandbox import Limits, stray_processes

pytestmark = pytest.mark.slow  # grades the hostile corpus, one sandbox each

LIMITS = Limits(timeout=2, memory_mb=1280, processes=64, output_mb=8)
# These two do real work before they hit their limit (touching memory; forking up to the
# process limit, each fork a copy of an interpreter with torch loaded): on a loaded
# machine that takes longer than the others' 2 s.
SLOWER = {name: Limits(timeout=6, memory_mb=1280, processes=64, output_mb=8)
          for name in ("memory_bomb", "fork_bomb")}
SECRET = "autograde-test-secret-7f3a"
ROOT = Path(autograde.__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def listener():
    """A TCP port on this machine that a submission must not be able to reach."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    yield server
    server.close()


def by_id(report):
    return {e["id"]: e for e in report["exercises"]}


def fingerprint(paths):
    return {p: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}


PROBE = """import os, resource, socket
def rnn_step(x, h, Wx, Wh, b):
    limits = [resource.getrlimit(getattr(resource, "RLIMIT_" + name))[0]
              for name in ("AS", "NPROC", "FSIZE", "CPU")]
    seen = [os.getuid(), *limits, "AUTOGRADE_TEST_SECRET" in os.environ,
            "+".join(n for _, n in socket.if_nameindex()), "+".join(sorted(os.listdir(ROOT)))]
    raise ValueError("|".join(map(str, seen)))"""


@pytest.fixture(scope="module")
def limits_in_force(tmp_path_factory):
    """What the sandbox looks like from inside: checked before any bomb goes off."""
    folder = tmp_path_factory.mktemp("probe")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("AUTOGRADE_TEST_SECRET", SECRET)
    try:
        report = grader.grade(notebook(folder / "probe.ipynb", IMPORTS,
                                       PROBE.replace("ROOT", repr(str(ROOT)))),
                              limits=LIMITS, only=["rnn_step"])
    finally:
        monkeypatch.undo()
    message = report["exercises"][0]["checks"][0]["message"]
    uid, memory, processes, file_size, cpu, secret, network, course = re.search(
        r'raised ValueError: "([^"]*)"', message).group(1).split("|")
    return {"uid": int(uid), "limits": [int(memory), int(processes), int(file_size), int(cpu)],
            "secret": secret == "True", "network": network, "course": course}


@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox user needs the grader to run as root")
def test_the_sandbox_runs_unprivileged_offline_and_limited(limits_in_force):
    seen = limits_in_force
    assert seen["uid"] != 0
    assert seen["limits"] == [1280 * 2**20, 64, LIMITS.file_mb * 2**20, int(LIMITS.timeout) + 1]
    assert not seen["secret"]  # a clean environment
    assert seen["network"] == "lo"  # a network namespace of its own, with loopback only
    assert seen["course"] == "autograde"  # of the course, only autograde/: no solutions/


@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox user needs the grader to run as root")
@pytest.mark.parametrize("name", names())
def test_a_hostile_cell_costs_only_its_exercise(name, tmp_path, listener, monkeypatch,
                                                limits_in_force):
    memory, processes, *_ = limits_in_force["limits"]
    assert limits_in_force["uid"] != 0 and memory <= 1280 * 2**20 and processes <= 64  # or no bomb
    monkeypatch.setenv("AUTOGRADE_TEST_SECRET", SECRET)  # the grader's own environment
    report_path = tmp_path / "report.json"
    report_path.write_text("{}")
    code, expect = source(name, port=listener.getsockname()[1], secret=SECRET,
                          targets=f"{report_path}|{tmp_path / '01_rnn_cell.ipynb'}")
    nb = notebook(tmp_path / "01_rnn_cell.ipynb", IMPORTS, code, RNN_FORWARD)
    protected = [str(nb), str(ROOT / "autograde" / "compare.py"), "/etc/passwd"]
    before = fingerprint(protected)

    report = grader.grade(nb, limits=SLOWER.get(name, LIMITS), only=["rnn_step", "rnn_forward"])

    jsonschema.validate(report, formats.REPORT_SCHEMA)
    step, forward = by_id(report)["rnn_step"], by_id(report)["rnn_forward"]
    assert step["points"] == 0 and step["verdict"] != "passed", step
    assert re.search(expect, step["feedback"]), step["feedback"]
    assert forward["points"] == forward["max_points"], forward
    assert "\n" not in step["feedback"] and "\x1b" not in step["feedback"]
    assert stray_processes() == []
    assert fingerprint(protected) == before
    assert report_path.read_text() == "{}"
    with pytest.raises(BlockingIOError):  # nobody connected to the listener
        listener.accept()


@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox user needs the grader to run as root")
def test_what_a_cell_monkeypatches_does_not_reach_later_exercises(tmp_path):
    """A context cell that breaks builtins, numpy and autograde, an alarm and a
    changed directory: the exercises after it are graded as if nothing happened."""
    vandal = """import numpy as np  # binds what the exercises use: it runs as their context
import builtins, os, signal
import numpy
import autograde.sandbox.wire
builtins.isinstance = lambda *a: False
builtins.print = None
numpy.save = None
autograde.sandbox.wire.write = None
signal.alarm(1)
os.chdir("/")"""
    nb = notebook(tmp_path / "01_rnn_cell.ipynb", IMPORTS, (vandal, False), RNN_STEP,
                  ("import numpy as np\nimport time\ntime.sleep(1.5)", False), RNN_FORWARD)
    report = grader.grade(nb, limits=LIMITS, only=["rnn_step", "rnn_forward"])
    assert [e["points"] for e in report["exercises"]] == [2, 2], report


def test_inline_exercises_survive_crashes_too(tmp_path):
    """Exercises run in the notebook's own process (as with TensorFlow loaded): a crash
    and a hang cost their exercise, and the process is restarted for the rest."""
    exit_code, _ = source("os_exit")
    loop, _ = source("infinite_loop")
    forward_exit = exit_code.replace("rnn_step", "rnn_forward")
    nb = notebook(tmp_path / "01_rnn_cell.ipynb", IMPORTS, loop, forward_exit, LSTM_STEP)
    report = grader.grade(nb, limits=LIMITS, only=["rnn_step", "rnn_forward", "lstm_step"],
                          inline=True)
    got = by_id(report)
    assert got["rnn_step"]["points"] == 0
    assert "did not finish within the 2 s per-exercise limit" in got["rnn_step"]["feedback"]
    assert got["rnn_forward"]["points"] == 0
    assert "exited (status 0)" in got["rnn_forward"]["feedback"]
    assert got["lstm_step"]["points"] == 2, got["lstm_step"]
    assert stray_processes() == []


def test_a_context_cell_that_hangs_or_dies_is_left_out(tmp_path):
    """Cells that bind `np`, which the exercises use, so they run as their context."""
    nb = notebook(tmp_path / "01_rnn_cell.ipynb", IMPORTS,
                  ("import numpy as np\nwhile True:\n    pass", False), RNN_STEP,
                  ("import numpy as np\nimport os\nos._exit(3)", False), RNN_FORWARD)
    report = grader.grade(nb, limits=LIMITS, only=["rnn_step", "rnn_forward"])
    got = by_id(report)
    assert got["rnn_step"]["points"] == 2 and got["rnn_forward"]["points"] == 2, report


def test_demonstration_cells_are_not_run(tmp_path):
    """Only the cells an exercise needs run: a plot or a long demo cannot cost points."""
    nb = notebook(tmp_path / "01_rnn_cell.ipynb", IMPORTS, ("import os\nos._exit(1)", False),
                  ("def sigmoid(z):\n    return 1 / (1 + np.exp(-z))", False),
                  ("x = sigmoid(np.arange(3.0))\nwhile True:\n    pass", False),
                  "def rnn_step(x, h, Wx, Wh, b):\n"
                  "    return 2 * sigmoid(2 * (x @ Wx + h @ Wh + b)) - 1  # tanh")
    report = grader.grade(nb, limits=LIMITS, only=["rnn_step"])
    assert report["exercises"][0]["points"] == 2, report


def test_an_exercise_that_calls_a_broken_one_fails_with_it(tmp_path):
    broken = RNN_STEP.replace("return", "while True:\n        pass\n    return")
    calls_it = """def rnn_forward(x, h0, Wx, Wh, b):
    hs, h = [], h0
    for t in range(x.shape[1]):
        h = rnn_step(x[:, t], h, Wx, Wh, b)
        hs.append(h)
    return np.stack(hs, 1)"""
    nb = notebook(tmp_path / "01_rnn_cell.ipynb", IMPORTS, broken, calls_it, LSTM_STEP)
    report = grader.grade(nb, limits=LIMITS, only=["rnn_step", "rnn_forward", "lstm_step"])
    assert [e["points"] for e in report["exercises"]] == [0, 0, 2]


# ---------------------------------------------------------------------------------------
# Broken notebooks


def write_v3(path, *cells):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    path.write_text(nbformat.writes(nb, version=3))


def test_broken_notebooks_cost_only_what_they_break(tmp_path):
    (tmp_path / "01_rnn_cell.ipynb").write_text("{this is not JSON")
    notebook(tmp_path / "03_lstm_cell.ipynb", IMPORTS,
             "def lstm_step(x, h, c, Wx, Wh, b):\n    return None", LSTM_STEP,
             "def lstm_forward(x, h0, c0, Wx, Wh, b:\n    pass")
    bad_bytes = nbformat.writes(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(IMPORTS),
        nbformat.v4.new_code_cell(RNN_FORWARD + "  # café",
                                  metadata={"tags": ["exercise"]})]))
    (tmp_path / "02_bptt.ipynb").write_bytes(bad_bytes.encode().replace("é".encode(), b"\xe9"))
    (tmp_path / "empty.ipynb").write_text("")
    notebook(tmp_path / "no_cells.ipynb")
    write_v3(tmp_path / "05_stacking.ipynb", IMPORTS, RNN_STEP)

    report = grader.grade(tmp_path, limits=LIMITS,
                          only=["rnn_step", "rnn_forward", "lstm_step", "lstm_forward"])

    jsonschema.validate(report, formats.REPORT_SCHEMA)
    got = by_id(report)
    assert got["lstm_step"]["points"] == 2
    assert "defined in 2 exercise cells" in " ".join(got["lstm_step"]["notes"])
    assert got["lstm_forward"]["verdict"] == "error"
    assert "syntax error" in got["lstm_forward"]["feedback"]
    assert got["rnn_forward"]["points"] == 2  # in a notebook with a bad byte
    assert got["rnn_step"]["verdict"] == "missing"
    assert "01_rnn_cell.ipynb is not a notebook" in got["rnn_step"]["feedback"]
    notes = " ".join(report["notes"])
    for said in ("not valid UTF-8", "is empty", "format 3", "not valid JSON"):
        assert said in notes, notes


def test_a_notebook_in_format_3_is_graded(tmp_path):
    write_v3(tmp_path / "old.ipynb", IMPORTS, RNN_STEP)
    report = grader.grade(tmp_path / "old.ipynb", limits=LIMITS, only=["rnn_step"])
    [step] = report["exercises"]
    assert step["points"] == 2 and "tag it `exercise`" in " ".join(step["notes"])


def test_an_untagged_definition_counts_in_its_own_chapter_only(tmp_path):
    notebook(tmp_path / "01_rnn_cell.ipynb", IMPORTS, RNN_STEP, tagged=False)
    notebook(tmp_path / "other.ipynb", IMPORTS, "rnn_forward = 3", tagged=False)
    report = grader.grade(tmp_path, limits=LIMITS, only=["rnn_step", "rnn_forward"])
    got = by_id(report)
    assert got["rnn_step"]["points"] == 2
    assert "graded the code cell 2 of 01_rnn_cell.ipynb" in got["rnn_step"]["notes"][0]
    assert got["rnn_forward"]["verdict"] == "missing"


def test_a_framework_lstm_in_a_from_scratch_exercise_scores_zero(tmp_path):
    uses_torch = """import torch

def lstm_step(x, h, c, Wx, Wh, b):
    cell = torch.nn.LSTMCell(Wx.shape[0], Wh.shape[0], dtype=torch.float64)
    return cell(torch.tensor(x), (torch.tensor(h), torch.tensor(c)))"""
    hidden = """import importlib

def rnn_step(x, h, Wx, Wh, b):
    nn = importlib.import_module("torch.nn")
    getattr(nn, "R" + "NN")(2, 3)
    return np.tanh(x @ Wx + h @ Wh + b)"""
    via_reference = """from autograde.references import torch_ref as reference

def rnn_forward(x, h0, Wx, Wh, b):
    return reference.rnn_forward(x, h0, Wx, Wh, b)"""
    nb = notebook(tmp_path / "03_lstm_cell.ipynb", IMPORTS, uses_torch, hidden, via_reference)
    report = grader.grade(nb, limits=LIMITS, only=["lstm_step", "rnn_step", "rnn_forward"])
    got = by_id(report)
    assert got["lstm_step"]["verdict"] == "forbidden"
    assert "line 4: torch.nn.LSTMCell: " in got["lstm_step"]["feedback"]
    # NumPy exercises: torch itself is named, and so is the shipped reference called.
    for id, said in (("rnn_step", "line 5: torch.nn: rnn_step is a NumPy exercise"),
                     ("rnn_forward", "line 4: autograde.references.torch_ref.rnn_forward: "
                                     "autograde's shipped reference")):
        assert got[id]["verdict"] == "forbidden" and got[id]["points"] == 0, got[id]
        assert said in got[id]["feedback"], got[id]
