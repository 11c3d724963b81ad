"""Grading a class: one submission per sub-folder, a gradebook and a report per student.

`batch(class_dir, output)` grades each immediate sub-folder of `class_dir` (hidden ones
left out) in a pool of worker processes and writes

- `output` (CSV): one row per student, one column per exercise (points), the total
  and the percentage, rows sorted by student;
- `<output stem>-reports/<student>.json`: each student's full report.

Each student is graded on their own (own sandbox users, own random cases seeded from
their code), so one student's submission cannot change another's grades, and running
the same command on the same folder gives the same grades. A student whose grading
fails (or kills its worker) gets a row of zeros and a report that says why.
"""

import csv
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from autograde import formats, registry
from autograde.sandbox import Limits


def students(class_dir):
    """The submission folders in `class_dir`, sorted by name."""
    return sorted(p for p in Path(class_dir).iterdir()
                  if p.is_dir() and not p.name.startswith((".", "_")))


def batch(class_dir, output, jobs=2, limits=None, progress=True, only=None):
    """Grade every student in `class_dir`; write the gradebook and the reports.

    only: the exercise ids to grade (default: all). Returns {student: report}.
    """
    limits = limits or Limits()
    ids = list(only) if only is not None else list(registry.exercises())
    output = Path(output)
    folders = students(class_dir)
    reports = {}
    bar = _progress(len(folders), progress)
    suspects = _grade_all(folders, jobs, limits, ids, reports, bar)
    for folder in suspects:  # in flight when a worker died: alone, one at a time
        _grade_all([folder], 1, limits, ids, reports, bar, last_try=True)
    bar.close()
    _write(output, reports, ids)
    return reports


def _grade_all(folders, jobs, limits, ids, reports, bar, last_try=False):
    """Grade `folders` in a pool; return those whose worker died (to be tried again)."""
    lost = []
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=context,
                             initializer=_start_worker) as pool:
        futures = {pool.submit(grade_student, str(f), limits, ids): f for f in folders}
        for future in as_completed(futures):
            folder = futures[future]
            try:
                reports[folder.name] = future.result()
            except BrokenProcessPool:
                if last_try:
                    reports[folder.name] = failed_report(
                        folder, "the grader's worker process died while grading it", ids)
                else:
                    lost.append(folder)
                    continue
            except Exception as e:
                reports[folder.name] = failed_report(
                    folder, f"the grader failed: {type(e).__name__}: {formats.clean(e)}", ids)
            bar.update(1)
    return sorted(lost)


def _start_worker():
    from autograde import sandbox

    sandbox.become_subreaper()
    registry.exercises()  # import the checks once per worker


def grade_student(folder, limits, ids):
    """One student's report (in a worker process)."""
    from autograde import grader

    return grader.grade(folder, limits=limits, only=ids, parallel=1)


def failed_report(folder, why, ids):
    """A report of zero points for a submission that could not be graded."""
    from autograde import grader

    exercises = [registry.exercises()[id] for id in ids]
    entries = [grader.entry(ex, None, "error", 0.0, f"not graded: {why}", [])
               for ex in exercises]
    return {"schema": grader.SCHEMA, "submission": formats.clean(Path(folder).name, 200),
            "score": 0.0, "max_score": sum(ex.points for ex in exercises),
            "percent": 0.0, "exercises": entries, "notes": [f"not graded: {why}"],
            "sandbox": {"user": "unknown", "network": "unknown", "timeout_s": 0, "memory_mb": 0}}


def _write(output, reports, ids):
    output.parent.mkdir(parents=True, exist_ok=True)
    folder = reports_folder(output)
    folder.mkdir(parents=True, exist_ok=True)
    with open(output, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *ids, "total", "max_score", "percent"])
        for student in sorted(reports):
            report = reports[student]
            points = {e["id"]: e["points"] for e in report["exercises"]}
            writer.writerow([student, *(f"{points.get(id, 0.0):g}" for id in ids),
                             f"{report['score']:g}", f"{report['max_score']:g}",
                             f"{report['percent']:.2f}"])
    for student, report in reports.items():
        (folder / f"{student}.json").write_text(formats.as_json(report))


def reports_folder(output):
    """Where the per-student reports go: beside the gradebook, `<stem>-reports/`."""
    output = Path(output)
    return output.with_name(f"{output.stem}-reports")


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


def _progress(total, show):
    if not show:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, file=sys.stderr, desc="grading", unit="student")
