"""`python -m solutions.bench NAME` finds every benchmark and explains a bad name."""

import subprocess
import sys


def bench(*args):
    return subprocess.run([sys.executable, "-m", "solutions.bench", *args],
                          capture_output=True, text=True, timeout=120)


def test_unknown_benchmark_exits_2_and_lists_the_benchmarks():
    result = bench("no-such-benchmark")
    assert result.returncode == 2
    listing = result.stdout + result.stderr
    for name in ("numpy", "torch", "gpu", "grader"):
        assert name in listing
