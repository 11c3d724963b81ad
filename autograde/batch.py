"""Grading a class: one submission per sub-folder, a gradebook and a report per student.

`batch(class_dir, output)` grades each immediate sub-folder of `class_dir` (hidden ones
left out) in a pool of worker processes and writes

- `output` (CSV): one row per student, one column per exercise (points), the total, the
  percentage, how many differences `verify` found, the git commit graded, the SHA-256 of
  the notebooks graded and the grader's version; rows sorted by student;
- `<output stem>-reports/<student>.json`: each student's full report, with a "grading"
  part: the verify findings, the commit, the hashes, the seconds it took.

This gradebook is the grade of record: it is made by the instructor's grader, whatever
the learner changed in their copy of the course (what they changed is in the verify
column). A student's folder is a learner's copy (its `book/` is graded) or just
notebooks. Where it is a git repository (a GitHub Classroom clone), `deadline` grades
the last commit made before it, from a `git archive` of that commit in a temporary
folder. (Commit dates come from the learner's clock; a push log is the stronger proof.)

Each student is graded on their own (own sandbox users, own random cases seeded from
their code), so one student's submission cannot change another's grades, and running
the same command on the same folder gives the same gradebook. A student whose grading
fails (or kills its worker) gets a row of zeros and a report that says why. Time is
bounded twice: per exercise (`limits.timeout`, by default the fixed
`registry.TIME_LIMIT_S`, as for `grade`, so that a grade does not depend on the machine's
load) and per student (`time_cap`: past it no notebook starts and the remaining
exercises are "not graded").

`regrade=[...]` re-grades only those students into an existing gradebook: the other
rows and reports are left exactly as they were.
"""

import csv
import io
import multiprocessing
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from autograde import formats, registry, verify
from autograde.sandbox import Limits

EXTRA_COLUMNS = ["total", "max_score", "percent", "verify", "commit", "submission_sha256",
                 "grader"]


def students(class_dir):
    """The submission folders in `class_dir`, sorted by name."""
    return sorted(p for p in Path(class_dir).iterdir()
                  if p.is_dir() and not p.name.startswith((".", "_")))


def class_warnings(class_dir):
    """One line for each thing in `class_dir` that will not be graded as the instructor
    probably meant: a notebook lying in the class folder itself (not in a student's
    folder), a student folder without any notebook."""
    from autograde.notebook import find_notebooks

    lines = [f"warning: {p.name} is a notebook in the class folder itself, not in a "
             f"student's folder: it is not graded (move it into a folder named after "
             f"the student)" for p in sorted(Path(class_dir).glob("*.ipynb"))]
    for folder in students(class_dir):
        if not find_notebooks(folder) and not (folder / ".git").exists():
            lines.append(f"warning: {folder.name}/ holds no notebook (.ipynb): that "
                         f"student gets zero")
    return lines


def batch(class_dir, output, jobs=2, limits=None, progress=True, only=None, manifest=None,
          deadline=None, time_cap=None, regrade=None):
    """Grade the class in `class_dir`; write the gradebook and the reports.

    only:     the exercise ids to grade (default: all).
    manifest: what `verify` compares each student with (default: none; the command line
              passes `course.expected_manifest()`).
    deadline: an aware datetime: git folders are graded at their last commit before it.
    time_cap: seconds per student, all exercises together (None: no cap).
    regrade:  names of the students to re-grade into the existing gradebook `output`.
    Returns {student: report} for the students graded.
    """
    limits = limits or Limits()
    ids = list(only) if only is not None else list(registry.exercises())
    output = Path(output)
    folders = _chosen(class_dir, regrade, output, ids)
    reports = {}
    bar = _progress(len(folders), progress)
    job = dict(limits=limits, ids=ids, manifest=manifest, deadline=deadline, time_cap=time_cap)
    suspects = _grade_all(folders, jobs, job, reports, bar)
    for folder in suspects:  # in flight when a worker died: alone, one at a time
        _grade_all([folder], 1, job, reports, bar, last_try=True)
    bar.close()
    _write(output, reports, ids, keep_others=regrade is not None)
    return reports


def _chosen(class_dir, names, output, ids):
    everyone = students(class_dir)
    if names is None:
        return everyone
    by_name = {f.name: f for f in everyone}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"no student folder {', '.join(unknown)} in {class_dir}; the "
                         f"students are {', '.join(by_name) or 'none'}")
    header = _read_gradebook(output)[0]
    if header != ["student", *ids, *EXTRA_COLUMNS]:
        raise ValueError(f"{output} is not a gradebook of these exercises (its columns are "
                         f"{', '.join(header[1:6])}...); re-grade the whole class instead")
    return [by_name[n] for n in names]


def _grade_all(folders, jobs, job, reports, bar, last_try=False):
    """Grade `folders` in a pool; return those whose worker died (to be tried again)."""
    lost = []
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=context,
                             initializer=_start_worker) as pool:
        futures = {pool.submit(grade_student, str(f), **job): f for f in folders}
        for future in as_completed(futures):
            folder = futures[future]
            try:
                reports[folder.name] = future.result()
            except BrokenProcessPool:
                if last_try:
                    reports[folder.name] = failed_report(
                        folder, "the grader's worker process died while grading it", job["ids"])
                else:
                    lost.append(folder)
                    continue
            except Exception as e:
                reports[folder.name] = failed_report(
                    folder, f"the grader failed: {type(e).__name__}: {formats.clean(e)}",
                    job["ids"])
            bar.update(1)
    return sorted(lost)


def _start_worker():
    from autograde import sandbox

    sandbox.become_subreaper()
    registry.exercises()  # import the checks once per worker


def grade_student(folder, limits, ids, manifest=None, deadline=None, time_cap=None):
    """One student's report (in a worker process), with its "grading" part."""
    from autograde import grader

    started = time.monotonic()
    folder = Path(folder)
    with snapshot(folder, deadline) as (root, commit, why_not):
        if why_not:
            report = failed_report(folder, why_not, ids)
            findings, digest = [], ""
        else:
            submission = root / "book" if (root / "book").is_dir() else root
            report = grader.grade(submission, limits=limits, only=ids, parallel=1,
                                  deadline=None if time_cap is None else started + time_cap)
            try:  # what verify cannot read is a finding, not a reason to lose the grade
                findings = verify.verify(root, manifest) if manifest else []
                digest = verify.submission_sha256(submission)
            except (OSError, ValueError) as e:
                findings, digest = [f"unreadable: {formats.clean(e)}"], ""
    report["submission"] = formats.clean(folder.name, 200)
    report["grading"] = {"grader": verify.grader_version(), "commit": commit,
                         "submission_sha256": digest, "verify": findings,
                         "seconds": round(time.monotonic() - started, 2)}
    return report


@contextmanager
def snapshot(folder, deadline):
    """(what to grade, the commit, why it cannot be graded or ""): the folder itself, or
    for a git repository with a deadline, its last commit before the deadline, unpacked
    in a temporary folder (deleted afterwards)."""
    is_git = (folder / ".git").exists()
    if not is_git:
        yield folder, "", ""
        return
    if deadline is None:
        yield folder, _git(folder, "rev-parse", "HEAD").strip(), ""
        return
    commit = _git(folder, "rev-list", "-n", "1", f"--before={deadline.isoformat()}",
                  "HEAD").strip()
    if not commit:
        yield folder, "", f"no commit before the deadline {deadline.isoformat()}"
        return
    with tempfile.TemporaryDirectory(prefix="autograde-commit-") as tmp:
        archive = subprocess.run(_GIT + ["-C", str(folder), "archive", "--format=tar", commit],
                                 capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp), commit, ""


# A student's repository is not trusted: no hooks, no fsmonitor command, any owner.
_GIT = ["git", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false",
        "-c", "safe.directory=*"]


def _git(folder, *args):
    done = subprocess.run(_GIT + ["-C", str(folder), *args], capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else ""


def parse_deadline(text):
    """An ISO 8601 date and time with its time zone, e.g. 2026-12-01T23:59:00+01:00."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expected an ISO date and time such as 2026-12-01T23:59+00:00; "
                         f"got {text!r}") from None
    if when.tzinfo is None:
        raise ValueError(f"give the deadline's time zone (e.g. {text}+00:00); got {text!r}")
    return when


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


def _row(student, report, ids):
    points = {e["id"]: e["points"] for e in report["exercises"]}
    grading = report.get("grading", {})
    return [student, *(f"{points.get(id, 0.0):g}" for id in ids),
            f"{report['score']:g}", f"{report['max_score']:g}", f"{report['percent']:.2f}",
            str(len(grading.get("verify", []))), grading.get("commit", ""),
            grading.get("submission_sha256", ""), grading.get("grader", "")]


def _read_gradebook(output):
    try:
        with open(output, newline="") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        raise ValueError(f"{output}: cannot read the gradebook to re-grade into "
                         f"({e.strerror})") from None
    if not rows:
        raise ValueError(f"{output}: the gradebook is empty")
    return rows[0], rows[1:]


def _write(output, reports, ids, keep_others=False):
    output.parent.mkdir(parents=True, exist_ok=True)
    folder = reports_folder(output)
    folder.mkdir(parents=True, exist_ok=True)
    rows = {}
    if keep_others:
        rows = {row[0]: row for row in _read_gradebook(output)[1]}
    rows.update({student: _row(student, report, ids) for student, report in reports.items()})
    with open(output, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *ids, *EXTRA_COLUMNS])
        for student in sorted(rows):
            writer.writerow(rows[student])
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
