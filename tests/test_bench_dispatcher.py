"""`python -m tools.bench NAME` finds every benchmark and explains a bad name."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.no_solutions import GUARD

ROOT = Path(__file__).resolve().parent.parent


def bench(*args):
    return subprocess.run([sys.executable, "-m", "tools.bench", *args],
                          capture_output=True, text=True, timeout=120)


def test_unknown_benchmark_exits_2_and_lists_the_benchmarks():
    result = bench("no-such-benchmark")
    assert result.returncode == 2
    listing = result.stdout + result.stderr
    for name in ("numpy", "torch", "ladder", "grader"):
        assert name in listing


@pytest.mark.slow  # a learner's copy of the course, and a subprocess
def test_a_benchmark_that_needs_the_answer_key_says_so_in_one_line(tmp_path):
    """In the learner's copy (no solutions/), a benchmark of the answers exits 2 and says why."""
    (tmp_path / "guard").mkdir()
    (tmp_path / "guard" / "sitecustomize.py").write_text(GUARD)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "guard"), str(ROOT)])}
    for name in ("numpy", "torch", "ladder", "grader"):
        result = subprocess.run([sys.executable, "-m", "tools.bench", name, "--output",
                                 str(tmp_path / "out.json")], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, result.stderr[-2000:]
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr[-2000:]
        assert "answer key" in result.stderr and "solutions" in result.stderr
        assert not (tmp_path / "out.json").exists()
