"""The benchmarks' timing loop: turns alternate, and each turn settles before it times."""

import time

from tools.bench.core import time_samples


def test_turns_alternate_direction():
    calls = []
    runs = {name: (lambda name=name: calls.append(name)) for name in "ab"}
    samples = time_samples(runs, repeats=4, warmup=1)
    assert {k: len(v) for k, v in samples.items()} == {"a": 4, "b": 4}
    assert "".join(calls) == "ab" + "ab" + "ba" + "ab" + "ba"


def test_each_turn_runs_untimed_for_settle_seconds_first():
    calls = []

    def run():
        calls.append(time.perf_counter())
        time.sleep(0.002)

    samples = time_samples({"a": run}, repeats=3, warmup=1, per_turn=2)
    assert len(samples["a"]) == 6 and len(calls) == 1 + 6
    calls.clear()
    samples = time_samples({"a": run}, repeats=3, warmup=1, settle=0.02, per_turn=2)
    assert len(samples["a"]) == 6
    # 0.02 s of untimed 2 ms runs before each turn's 2 timed ones: at least 6 more per turn.
    assert len(calls) >= 1 + 3 * (6 + 2)
    assert all(s >= 0.002 for s in samples["a"])
