"""The same verdict every time: shapes never left to chance, time limits that do not move
with the machine's load, the grader and `check()` agreeing.

- Every exercise's cases include its edge shapes (B = 1, T = 1, I != H) whatever the
  draw, so a stack that breaks at B = 1 fails every run, not one run in two.
- One submission graded five times, once while the machine is busy, gets the same
  report each time, and `check()` scores each exercise as the grader does.
- A stopped exercise names the limit that stopped it.
"""

import subprocess
import sys
import time

import numpy as np
import pytest
from hostile import notebook

from autograde import grader, registry
from autograde.check import run_checks
from autograde.sandbox import Limits

SEEDS = range(12)


def sizes_drawn(exercise, seed):
    return [c.sizes for c in exercise.make_cases(np.random.default_rng(seed))]


@pytest.mark.slow
@pytest.mark.parametrize("id", list(registry.exercises()))
def test_every_draw_has_the_edge_shapes(id):
    exercise = registry.get(id)
    for seed in SEEDS:
        sizes = sizes_drawn(exercise, seed)
        if any("B" in s for s in sizes):
            assert any(s.get("B") == 1 for s in sizes), (seed, sizes)
        if any("T" in s for s in sizes):
            assert any(s.get("T") == 1 for s in sizes), (seed, sizes)
        if any("I" in s and "H" in s for s in sizes):
            assert any(s["I"] != s["H"] for s in sizes if "I" in s and "H" in s), (seed, sizes)


# A stack that is right except that it squeezes its outputs: (1, T, H) becomes (T, H) when
# B = 1 (and (B, H) when T = 1), the way `tf.squeeze` on each step breaks a TF1 stack.
SQUEEZED_STACK = '''def stacked_lstm_forward(x, layers, states=None):
    sig = lambda z: 1 / (1 + np.exp(-z))
    finals, inputs = [], x
    for k, layer in enumerate(layers):
        H = layer["Wh"].shape[0]
        h, c = states[k] if states else (np.zeros((x.shape[0], H), x.dtype),) * 2
        outs = []
        for t in range(inputs.shape[1]):
            i, f, g, o = np.split(inputs[:, t] @ layer["Wx"] + h @ layer["Wh"] + layer["b"], 4, 1)
            c = sig(f) * c + sig(i) * np.tanh(g)
            h = sig(o) * np.tanh(c)
            outs.append(h)
        inputs = np.stack(outs, axis=1)
        finals.append((h, c))
    return inputs.squeeze(), finals
'''


def test_a_stack_that_breaks_at_batch_size_one_fails_every_run():
    ns = {"np": np}
    exec(SQUEEZED_STACK, ns)
    squeezed = ns["stacked_lstm_forward"]
    exercise = registry.get("stacked_lstm_forward")
    for _ in range(6):  # fresh draws, as check() makes them
        assert not run_checks(squeezed, exercise).passed
    exec(SQUEEZED_STACK.replace("inputs.squeeze()", "inputs"), ns)  # the control
    assert run_checks(ns["stacked_lstm_forward"], exercise).passed


# ---------------------------------------------------------------------------------------
# Five gradings of one submission

# Right, but slow: pure-Python work on every call (CPU time that a busy machine stretches).
SLOW_BACKWARD = '''def busy():
    total = 0
    for k in range(20_000_000):
        total += k
    return total


def lstm_backward(dhs, x, h0, c0, Wx, Wh, b):
    busy()
    sig = lambda z: 1 / (1 + np.exp(-z))
    B, T, _ = x.shape
    H = h0.shape[1]
    h, c, cache = h0, c0, []
    for t in range(T):
        z = x[:, t] @ Wx + h @ Wh + b
        i, f, o = sig(z[:, :H]), sig(z[:, H:2 * H]), sig(z[:, 3 * H:])
        g = np.tanh(z[:, 2 * H:3 * H])
        c_prev, h_prev = c, h
        c = f * c + i * g
        h = o * np.tanh(c)
        cache.append((h_prev, c_prev, i, f, g, o, c))
    grads = {k: np.zeros_like(v) for k, v in dict(x=x, Wx=Wx, Wh=Wh, b=b).items()}
    dh_next, dc_next = np.zeros_like(h0), np.zeros_like(c0)
    for t in reversed(range(T)):
        h_prev, c_prev, i, f, g, o, c = cache[t]
        dh = dhs[:, t] + dh_next
        tanh_c = np.tanh(c)
        dc = dc_next + dh * o * (1 - tanh_c ** 2)
        dz = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                             dc * i * (1 - g ** 2), dh * tanh_c * o * (1 - o)], axis=1)
        grads["Wx"] += x[:, t].T @ dz
        grads["Wh"] += h_prev.T @ dz
        grads["b"] += dz.sum(axis=0)
        grads["x"][:, t] = dz @ Wx.T
        dh_next, dc_next = dz @ Wh.T, dc * f
    return {"x": grads["x"], "h0": dh_next, "c0": dc_next, "Wx": grads["Wx"],
            "Wh": grads["Wh"], "b": grads["b"]}
'''

# The cell update reads h_prev where it needs c_prev: wrong in every case but T = 1 ones.
BUGGY_FORWARD = '''def lstm_forward(x, h0, c0, Wx, Wh, b):
    sig = lambda z: 1 / (1 + np.exp(-z))
    H = h0.shape[1]
    h, c, hs, cs = h0, c0, [], []
    for t in range(x.shape[1]):
        z = x[:, t] @ Wx + h @ Wh + b
        c = sig(z[:, H:2 * H]) * h + sig(z[:, :H]) * np.tanh(z[:, 2 * H:3 * H])
        h = sig(z[:, 3 * H:]) * np.tanh(c)
        hs.append(h)
        cs.append(c)
    return np.stack(hs, axis=1), np.stack(cs, axis=1)
'''

CELLS = {"lstm_backward": SLOW_BACKWARD, "lstm_forward": BUGGY_FORWARD}


def burn_cpus(n, seconds):
    """n processes that keep a CPU busy for at most `seconds`, each in a session of its
    own (the kernel shares the CPUs between sessions: burners in the test's own session
    would take time from the test, not from the sandbox, which has its own)."""
    code = f"import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass\n"
    return [subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
            for _ in range(n)]


def verdicts(report):
    return [(e["id"], e["points"], e["verdict"], e["feedback"]) for e in report["exercises"]]


@pytest.mark.slow
def test_five_gradings_agree_quiet_or_busy_and_check_agrees(tmp_path):
    nb = notebook(tmp_path / "04_lstm_backward.ipynb", "import numpy as np", *CELLS.values())
    reports = []
    for number in range(5):
        burners = burn_cpus(4, 120) if number == 2 else []
        try:
            reports.append(grader.grade(nb, only=list(CELLS)))
        finally:
            for p in burners:
                p.kill()
                p.wait()
    assert all(verdicts(r) == verdicts(reports[0]) for r in reports), \
        [verdicts(r) for r in reports]
    entries = {e["id"]: e for e in reports[0]["exercises"]}
    assert entries["lstm_backward"]["verdict"] == "passed", entries["lstm_backward"]
    assert entries["lstm_forward"]["verdict"] in ("failed", "partial")
    for id, code in CELLS.items():  # check(), with the grader's draw of the cases
        ns = {"np": np}
        exec(code, ns)
        mine = run_checks(ns[id], registry.get(id), np.random.default_rng(grader.seed(id, code)))
        assert mine.passed == (entries[id]["verdict"] == "passed"), id
        assert round(mine.score, 4) == entries[id]["points"], id


# ---------------------------------------------------------------------------------------
# The limit that stopped it

FOREVER = "def rnn_step(x, h, Wx, Wh, b):\n    while True:\n        pass\n"


@pytest.mark.slow
def test_a_stopped_exercise_names_the_per_exercise_limit(tmp_path):
    nb = notebook(tmp_path / "01_rnn_cell.ipynb", "import numpy as np", FOREVER)
    report = grader.grade(nb, limits=Limits(timeout=4), only=["rnn_step"])
    assert "did not finish within the 4 s per-exercise limit" in \
        report["exercises"][0]["feedback"], report["exercises"][0]


@pytest.mark.slow
def test_a_stopped_exercise_names_the_time_cap_when_it_applied(tmp_path):
    nb = notebook(tmp_path / "01_rnn_cell.ipynb", "import numpy as np", FOREVER)
    report = grader.grade(nb, limits=Limits(timeout=60), only=["rnn_step"],
                          deadline=time.monotonic() + 30)
    feedback = report["exercises"][0]["feedback"]
    assert "s left of this submission's time (the time cap per submission)" in feedback, \
        report["exercises"][0]
    assert "60 s" not in feedback
