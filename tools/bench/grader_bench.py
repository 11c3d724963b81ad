"""The grader: seconds to grade the solved book, and `batch --jobs 2` throughput.

Usage: python -m tools.bench grader [--copies N] [--jobs N] [--output PATH]

Builds the answer key (`python -m autograde solve`), then measures
- one submission: `python -m autograde grade KEY` from a cold start (a new process:
  interpreter, imports, sandbox zygotes), the same grading again in one warm process,
  and, timed apart, the part of it that is the grader's own work: drawing the cases and
  computing the expected outputs (its torch/TensorFlow references);
- a class: `python -m autograde batch` over --copies copies of the key with --jobs workers:
  wall time and submissions per minute.
Every grading must give full marks for the exercises the book has (checked). Writes JSON
and a Markdown table (default book/data/bench/grader.json and .md).
"""

import importlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools.bench.core import argument_parser, write_results


def _grade_cold(key, out):
    """Wall seconds of `python -m autograde grade KEY` in a new process, and its report."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "autograde", "grade", str(key), "--format", "json",
                    "--output", str(out)], check=True)
    return time.perf_counter() - start, json.loads(out.read_text())


def _grade_warm(key):
    """Seconds of an in-process grading (after a first one), and its report."""
    from autograde import grader

    grader.grade(key)  # starts the zygotes, imports torch and TensorFlow here
    start = time.perf_counter()
    report = grader.grade(key)
    return time.perf_counter() - start, report


def _cases_and_references(ids):
    """Seconds to draw the cases of exercises `ids` and compute their expected outputs
    (the grader's own references, what it does itself for every submission), timed apart
    from grading: the public `make_cases` of each registered exercise, once."""
    import numpy as np

    from autograde import registry

    exercises = registry.exercises()
    start = time.perf_counter()
    for id in ids:
        exercises[id].make_cases(np.random.default_rng(0))
    return time.perf_counter() - start


def _batch(key, copies, jobs, folder):
    """Wall seconds of `python -m autograde batch` over `copies` copies of the key."""
    for k in range(copies):
        shutil.copytree(key, folder / "class" / f"student{k:02d}")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "autograde", "batch", str(folder / "class"),
                    "--jobs", str(jobs), "--output", str(folder / "gradebook.csv"),
                    "--no-progress"], check=True)
    wall = time.perf_counter() - start
    reports = [json.loads(p.read_text()) for p in (folder / "gradebook-reports").glob("*.json")]
    return wall, reports


def _full_marks(report, ids):
    got = {e["id"]: e for e in report["exercises"]}
    return all(got[id]["verdict"] == "passed" for id in ids)


def main(argv=None):
    parser = argument_parser("grader", __doc__, "grader.json")
    parser.add_argument("--copies", type=int, default=20, help="submissions in the batch")
    parser.add_argument("--jobs", type=int, default=2, help="batch workers")
    args = parser.parse_args(argv)

    from autograde import course

    importlib.import_module("solutions")  # the answer key is what gets graded
    with tempfile.TemporaryDirectory(prefix="grader-bench-") as tmp:
        tmp = Path(tmp)
        key = tmp / "key"
        course.solve(key)
        cold, report = _grade_cold(key, tmp / "cold.json")
        ids = [e["id"] for e in report["exercises"] if e["verdict"] != "missing"]
        warm, warm_report = _grade_warm(key)
        cases = _cases_and_references(ids)
        batch_wall, reports = _batch(key, args.copies, args.jobs, tmp)
    checked = all(_full_marks(r, ids) for r in [report, warm_report, *reports])
    if not checked or len(reports) != args.copies:
        print("the answer key did not get full marks in every grading", file=sys.stderr)
        return 1
    results = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(),
                    "load_average_1min": round(os.getloadavg()[0], 2)},
        "exercises_graded": len(ids),
        "notebooks": len({e["notebook"] for e in report["exercises"] if e["notebook"]}),
        "one_submission_cold_s": round(cold, 2),
        "one_submission_warm_s": round(warm, 2),
        "warm_cases_and_references_s": round(cases, 2),
        "startup_s": round(cold - warm, 2),
        "batch": {"copies": args.copies, "jobs": args.jobs, "wall_s": round(batch_wall, 2),
                  "submissions_per_minute": round(60 * args.copies / batch_wall, 2),
                  "seconds_per_submission": round(batch_wall / args.copies, 2)},
    }
    write_results(results, _markdown(results), args.output)
    return 0


def _markdown(r):
    b = r["batch"]
    return "\n".join([
        f"Grading the solved book ({r['exercises_graded']} exercises in {r['notebooks']} "
        f"notebooks) on {r['machine']['cpus']} CPUs (1-minute load average "
        f"{r['machine']['load_average_1min']} at the end).",
        "",
        "| measurement | seconds |",
        "|---|---:|",
        f"| one submission, `python -m autograde grade` from a cold start | "
        f"{r['one_submission_cold_s']} |",
        f"| the same, in a warm process (zygotes running, frameworks imported) | "
        f"{r['one_submission_warm_s']} |",
        f"| of which drawing the cases and computing the references (the grader's own "
        f"work; timed apart from grading) | {r['warm_cases_and_references_s']} |",
        f"| start-up (interpreter, torch/TensorFlow imports, zygotes): cold - warm | "
        f"{r['startup_s']} |",
        f"| batch of {b['copies']}, `--jobs {b['jobs']}`, wall | {b['wall_s']} |",
        f"| batch, per submission | {b['seconds_per_submission']} |",
        "",
        f"Batch throughput: {b['submissions_per_minute']} submissions per minute.",
        "",
    ])
