"""Grading a class: one submission per sub-folder, a gradebook and a report per student.

`batch(class_dir, output)` grades each immediate sub-folder of `class_dir` (hidden ones
left out; none at all is an error) in a pool of worker processes and writes

- `output` (CSV): one row per student, one column per exercise (points), the total, the
  maximum, the percentage, the days late and the points that cost, the instructor's
  override and its reason, the final points, how many differences `verify` found, the
  git commit graded, the SHA-256 of the notebooks graded and the grader's version; rows
  sorted by student;
- `<output stem>-reports/<student>.json`: each student's full report, with a "grading"
  part: the verify findings, the commit, the hashes, the seconds it took;
- with a roster (`autograde.roster`): `<output stem>-canvas.csv`, the gradebook Canvas
  imports (the final points, one row per roster student). Roster students without a
  folder get a row of zeros ("no submission"); folders without a roster row keep their
  row in `output` and are named on stderr (Canvas cannot take a student it does not
  know), never dropped.

This gradebook is the grade of record: it is made by the instructor's grader, whatever
the learner changed in their copy of the course (what they changed is in the verify
column). A student's folder is a learner's copy (its `book/` is graded) or just
notebooks. Where it is a git repository (a GitHub Classroom clone), a deadline (the
class's `deadline`, or the student's own from the roster: an extension) grades the last
commit made before it, from a `git archive` of that commit in a temporary folder; with a
late policy, the last commit, less the penalty for its days late. A deadline for a folder
that is not a git repository is an error (its files have no trustworthy date). A git
folder graded without a deadline is graded as found: when its working tree has
uncommitted changes the gradebook's commit says `+uncommitted` and the report says so.
(Commit dates come from the learner's clock; a push log is the stronger proof.)

Overrides: the instructor writes points into a student's `override` cell and why into
`override_reason` (required); every later `batch` into the same gradebook, `regrade`
included, keeps both, and `final` is the override.

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
import math
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

from autograde import formats, registry, roster, verify
from autograde.sandbox import Limits

EXTRA_COLUMNS = ["total", "max_score", "percent", "late_days", "late_penalty", "override",
                 "override_reason", "final", "verify", "commit", "submission_sha256", "grader"]
NO_SUBMISSION = "no submission: in the roster, but no folder in the class folder is theirs"


def students(class_dir):
    """The submission folders in `class_dir`, sorted by name."""
    return sorted(p for p in Path(class_dir).iterdir()
                  if p.is_dir() and not p.name.startswith((".", "_")))


def _say(line):
    print(line, file=sys.stderr)


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
          deadline=None, time_cap=None, regrade=None, students_roster=None, late=None,
          canvas_assignment="LSTM from Scratch", say=_say):
    """Grade the class in `class_dir`; write the gradebook and the reports.

    only:     the exercise ids to grade (default: all).
    manifest: what `verify` compares each student with (default: none; the command line
              passes `course.expected_manifest()`).
    deadline: an aware datetime: git folders are graded at their last commit before it
              (or, with `late`, at their last commit, less the late penalty).
    time_cap: seconds per student, all exercises together (None: no cap).
    regrade:  names of the students to re-grade into the existing gradebook `output`.
    students_roster: a list of roster.Student (`roster.read`): also write the Canvas
              gradebook, give roster students without a folder zeros, and name the
              folders that are in no roster row. A student's own deadline replaces
              `deadline`.
    late:     a roster.LatePolicy (needs a deadline).
    canvas_assignment: the Canvas column, "Title (id)".
    say:      where the lines for the instructor go (default: stderr).
    Returns {student: report} for the students graded.
    """
    limits = limits or Limits()
    ids = list(only) if only is not None else list(registry.exercises())
    output = Path(output)
    everyone = students(class_dir)
    if not everyone:
        raise ValueError(f"{class_dir}: no submission folders (expected one sub-folder per "
                         f"student, each holding the student's notebooks or copy)")
    owner, absent, unlisted = roster.match(students_roster or [], [f.name for f in everyone])
    deadlines = {f.name: (owner[f.name].deadline if f.name in owner and owner[f.name].deadline
                          else deadline) for f in everyone}
    if late and late.percent_per_day and not any(deadlines.values()):
        raise ValueError("a late penalty needs a deadline (--deadline, or a deadline column "
                         "in the roster)")
    not_git = sorted(n for n, d in deadlines.items()
                     if d is not None and not (Path(class_dir) / n / ".git").exists())
    if not_git:
        raise ValueError(f"a deadline needs a git repository (its commits have dates), but "
                         f"{', '.join(not_git)} in {class_dir} "
                         f"{'is' if len(not_git) == 1 else 'are'} not one; grade without "
                         f"--deadline or give those students no deadline in the roster")
    folders = _chosen(everyone, class_dir, regrade, output, ids)
    overrides(output)  # a bad override is refused now, not after the grading
    if students_roster is not None:
        roster.canvas_title(canvas_assignment)
    reports = {}
    bar = _progress(len(folders), progress)
    job = dict(limits=limits, ids=ids, manifest=manifest, time_cap=time_cap,
               late_percent=late.percent_per_day if late else 0.0)
    suspects = _grade_all(folders, jobs, job, deadlines, reports, bar)
    for folder in suspects:  # in flight when a worker died: alone, one at a time
        _grade_all([folder], 1, job, deadlines, reports, bar, last_try=True)
    bar.close()
    if students_roster is not None and regrade is None:
        for s in absent:
            reports[s.key] = failed_report(s.key, NO_SUBMISSION, ids)
    rows = _write(output, reports, ids, keep_others=regrade is not None, late=late)
    if students_roster is not None:
        keys = {s.key: next((n for n, o in owner.items() if o is s), s.key)
                for s in students_roster}
        canvas = output.with_name(f"{output.stem}-canvas.csv")
        roster.write_canvas(canvas, [(s, float(rows[keys[s.key]]["final"]) if keys[s.key] in rows
                                      else 0.0) for s in students_roster],
                            canvas_assignment, sum(registry.exercises()[id].points for id in ids))
        for s in absent:
            say(f"no submission: {s.name} ({s.key}) is in the roster but no folder is theirs: 0 points")
        for name in unlisted:
            say(f"not in the roster: {name}/ is graded (in {output.name}) but not in "
                f"{canvas.name}: add the student to the roster")
    for student, report in sorted(reports.items()):
        commit = report.get("grading", {}).get("commit", "")
        if commit.endswith("+uncommitted"):
            say(f"uncommitted changes: {student}/ was graded as found, which is not its "
                f"last commit {commit.removesuffix('+uncommitted')[:12]}")
    return reports


def _chosen(everyone, class_dir, names, output, ids):
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


def _grade_all(folders, jobs, job, deadlines, reports, bar, last_try=False):
    """Grade `folders` in a pool; return those whose worker died (to be tried again)."""
    lost = []
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=context,
                             initializer=_start_worker) as pool:
        futures = {pool.submit(grade_student, str(f), deadline=deadlines.get(f.name), **job): f
                   for f in folders}
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


def grade_student(folder, limits, ids, manifest=None, deadline=None, time_cap=None,
                  late_percent=0.0):
    """One student's report (in a worker process), with its "grading" part."""
    from autograde import grader

    started = time.monotonic()
    folder = Path(folder)
    late_days = 0
    with snapshot(folder, deadline, latest=bool(late_percent)) as (root, commit, why_not):
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
            if commit.endswith("+uncommitted"):
                report["notes"].append("the working tree has uncommitted changes: graded as "
                                       "found, not as its last commit")
            if late_percent and deadline is not None:
                late_days = roster.LatePolicy(late_percent).late_days(
                    _commit_time(folder, commit), deadline)
                if late_days:
                    report["notes"].append(f"committed {late_days} day(s) after the deadline "
                                           f"{deadline.isoformat()}")
    report["submission"] = formats.clean(folder.name, 200)
    report["grading"] = {"grader": verify.grader_version(), "commit": commit,
                         "submission_sha256": digest, "verify": findings,
                         "seconds": round(time.monotonic() - started, 2)}
    if deadline is not None:
        report["grading"]["deadline"] = deadline.isoformat()
        report["grading"]["late_days"] = late_days
    return report


@contextmanager
def snapshot(folder, deadline, latest=False):
    """(what to grade, the commit, why it cannot be graded or ""): the folder itself (for
    a git repository, the commit is HEAD's, with "+uncommitted" when the working tree
    differs from it), or for a git repository with a deadline its last commit before the
    deadline (`latest`: its last commit), unpacked in a temporary folder (deleted
    afterwards). ValueError for a deadline on a folder that is not a git repository."""
    is_git = (folder / ".git").exists()
    if not is_git:
        if deadline is not None:
            raise ValueError(f"{folder.name}: a deadline needs a git repository")
        yield folder, "", ""
        return
    if deadline is None:
        head = _git(folder, "rev-parse", "HEAD").strip()
        dirty = _git(folder, "status", "--porcelain", "--untracked-files=all").strip()
        yield folder, head + ("+uncommitted" if head and dirty else ""), ""
        return
    commit = (_git(folder, "rev-parse", "HEAD") if latest else
              _git(folder, "rev-list", "-n", "1", f"--before={deadline.isoformat()}",
                   "HEAD")).strip()
    if not commit:
        yield folder, "", (f"no commit before the deadline {deadline.isoformat()}" if not latest
                           else "no commit")
        return
    with tempfile.TemporaryDirectory(prefix="autograde-commit-") as tmp:
        archive = subprocess.run(_GIT + ["-C", str(folder), "archive", "--format=tar", commit],
                                 capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp), commit, ""


def _commit_time(folder, commit):
    """The committer date of `commit` (an aware datetime), or None."""
    text = _git(folder, "show", "-s", "--format=%cI", commit).strip()
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


# A student's repository is not trusted: no hooks, no fsmonitor command, any owner.
_GIT = ["git", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false",
        "-c", "safe.directory=*"]


def _git(folder, *args):
    done = subprocess.run(_GIT + ["-C", str(folder), *args], capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else ""


def parse_deadline(text):
    """An ISO 8601 date and time with its time zone, e.g. 2026-12-01T23:59:00+01:00."""
    return roster.parse_time(text)


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


def _row(student, report, ids, late=None):
    """The gradebook row of one report: {column: text}."""
    points = {e["id"]: e["points"] for e in report["exercises"]}
    grading = report.get("grading", {})
    days = grading.get("late_days", 0)
    penalty = late.penalty(report["score"], days) if late and days else 0.0
    row = {"student": student, **{id: f"{points.get(id, 0.0):g}" for id in ids},
           "total": f"{report['score']:g}", "max_score": f"{report['max_score']:g}",
           "percent": f"{report['percent']:.2f}", "late_days": str(days),
           "late_penalty": f"{penalty:g}", "override": "", "override_reason": "",
           "final": f"{max(0.0, report['score'] - penalty):g}",
           "verify": str(len(grading.get("verify", []))), "commit": grading.get("commit", ""),
           "submission_sha256": grading.get("submission_sha256", ""),
           "grader": grading.get("grader", "")}
    return row


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


def overrides(output):
    """{student: (points, reason)} from the override columns of the gradebook at `output`
    (none when there is no such gradebook yet). ValueError for an override that is not a
    number or has no reason."""
    if not Path(output).is_file():
        return {}
    header, rows = _read_gradebook(output)
    if "override" not in header or "override_reason" not in header:
        return {}
    found = {}
    for values in rows:
        row = dict(zip(header, values))
        text, reason = row.get("override", "").strip(), row.get("override_reason", "").strip()
        if not text and not reason:
            continue
        try:
            points = float(text)
        except ValueError:
            raise ValueError(f"{output}: the override of {row['student']} is {text!r}; expected "
                             f"points (a number), or an empty cell") from None
        if not reason or not math.isfinite(points) or points < 0:
            raise ValueError(f"{output}: the override of {row['student']} needs points >= 0 "
                             f"and a reason in override_reason; got {text!r}, {reason!r}")
        found[row["student"]] = (points, reason)
    return found


def _write(output, reports, ids, keep_others=False, late=None):
    """Write the gradebook and the reports; return the gradebook's rows {student: row}."""
    output.parent.mkdir(parents=True, exist_ok=True)
    folder = reports_folder(output)
    folder.mkdir(parents=True, exist_ok=True)
    kept = overrides(output)  # the instructor's, whatever is graded again
    columns = ["student", *ids, *EXTRA_COLUMNS]
    rows = {}
    if keep_others:
        rows = {values[0]: dict(zip(columns, values)) for values in _read_gradebook(output)[1]}
    rows.update({student: _row(student, report, ids, late) for student, report in reports.items()})
    for student, (points, reason) in kept.items():
        if student in rows:
            rows[student].update(override=f"{points:g}", override_reason=reason,
                                 final=f"{points:g}")
    with open(output, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for student in sorted(rows):
            writer.writerow([rows[student].get(c, "") for c in columns])
    for student, report in reports.items():
        (folder / f"{student}.json").write_text(formats.as_json(report))
    return rows


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
