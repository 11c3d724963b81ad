"""`python -m autograde`: grade a submission or a class, build the answer key or the learner's copy.

    python -m autograde grade SUBMISSION [--format F] [--output FILE] [--timeout S]
                                         [--fail-under PERCENT] [--report FILE] [--only IDS]
    python -m autograde batch CLASS_DIR [--jobs N] [--output gradebook.csv] [--timeout S]
                                        [--only IDS] [--manifest FILE] [--deadline WHEN]
                                        [--time-cap S] [--regrade NAMES] [--report-dir DIR]
                                        [--roster CSV] [--late-penalty PERCENT]
                                        [--canvas-assignment "TITLE (ID)"]
    python -m autograde class-report GRADEBOOK.csv [--output-dir DIR]
    python -m autograde solve OUT_DIR
    python -m autograde release OUT_DIR [--grader-source SOURCE] [--clone-url URL]
    python -m autograde verify SUBMISSION [--manifest FILE]
    python -m autograde report REPORT.json [--format F] [--output FILE]
    python -m autograde classroom50 OUT_DIR
    python -m autograde gradescope OUT.zip

Exit status: 0 when grading ran (whatever the score), 1 when --fail-under is not met
(verify: 1 when anything differs), 2 for a usage error or a PATH that cannot be read
(with a one-line reason on stderr).
"""

import argparse
import os
import sys
from pathlib import Path

from autograde import formats


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit status 2
        sys.stderr.write(f"autograde: error: {message}\n")
        sys.exit(2)


def _parser():
    parser = _Parser(prog="python -m autograde", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    g = sub.add_parser("grade", help="grade one submission (a notebook or a folder)")
    g.add_argument("submission", metavar="SUBMISSION")
    g.add_argument("--format", choices=formats.FORMATS, default="table")
    g.add_argument("--output", metavar="FILE", help="write the report here (default: stdout)")
    g.add_argument("--report", metavar="FILE", help="also write the JSON report here")
    g.add_argument("--fail-under", type=float, metavar="PERCENT",
                   help="exit with status 1 when the score is below PERCENT")
    _limits(g)
    _only(g)

    b = sub.add_parser("batch", help="grade a class: one submission per sub-folder")
    b.add_argument("class_dir", metavar="CLASS_DIR")
    b.add_argument("--jobs", type=_positive_int, default=2, metavar="N")
    b.add_argument("--output", default="gradebook.csv", metavar="FILE")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.add_argument("--manifest", metavar="FILE",
                   help="verify each student against this autograde-manifest.json (default: "
                        "what this checkout's release ships now)")
    b.add_argument("--deadline", metavar="WHEN",
                   help="ISO date and time with zone, e.g. 2026-12-01T23:59+00:00: a student "
                        "folder that is a git repository is graded at its last commit before it")
    b.add_argument("--time-cap", type=_positive_float, default=600.0, metavar="SECONDS",
                   help="time per student, all exercises together (default 600)")
    b.add_argument("--regrade", type=_names, metavar="NAME[,NAME...]",
                   help="re-grade only these students into the existing gradebook")
    b.add_argument("--report-dir", metavar="DIR",
                   help="also write the class report (Markdown, HTML, plots) here")
    b.add_argument("--roster", metavar="CSV",
                   help="the class roster (see autograde/roster.py): also write the Canvas "
                        "gradebook <output stem>-canvas.csv; per-student deadlines")
    b.add_argument("--late-penalty", type=_positive_float, metavar="PERCENT",
                   help="percent of the points lost per day late (needs a deadline): git "
                        "folders are graded at their last commit, less the penalty")
    b.add_argument("--canvas-assignment", default="LSTM from Scratch", metavar="'TITLE (ID)'",
                   help="the Canvas assignment's column: its title and Canvas id")
    _limits(b)
    _only(b)

    c = sub.add_parser("class-report", help="the class report of a gradebook (Markdown, HTML, "
                                            "plots)")
    c.add_argument("gradebook", metavar="GRADEBOOK")
    c.add_argument("--output-dir", metavar="DIR",
                   help="where to write it (default: <gradebook stem>-class-report/)")

    s = sub.add_parser("solve", help="the answer key: the book with every exercise solved")
    s.add_argument("out_dir", metavar="OUT_DIR")
    r = sub.add_parser("release", help="the learner's copy of the course, without solutions")
    r.add_argument("out_dir", metavar="OUT_DIR")
    r.add_argument("--grader-source", metavar="SOURCE",
                   help="the grader the copy's workflow installs: git+https://HOST/REPO@COMMIT "
                        "or https://HOST/NAME.whl#sha256=HEX (default: this grader, zipped into "
                        "the copy and pinned by its SHA-256)")
    r.add_argument("--clone-url", metavar="URL",
                   help="the learner's repository, which each chapter's first cell clones on "
                        "Colab (default: a placeholder the copy's README says to replace; never "
                        "this course's repository, which holds the answers)")

    v = sub.add_parser("verify", help="what in a learner's copy differs from what release shipped")
    v.add_argument("submission", metavar="SUBMISSION")
    v.add_argument("--manifest", metavar="FILE",
                   help="the autograde-manifest.json that release wrote (default: what this "
                        "checkout's release ships now)")

    p = sub.add_parser("report", help="render a JSON report in another format")
    p.add_argument("report_file", metavar="REPORT")
    p.add_argument("--format", choices=formats.FORMATS, default="table")
    p.add_argument("--output", metavar="FILE")

    c50 = sub.add_parser("classroom50", help="the Classroom 50 autograder folder "
                                             "(CLASSROOM/autograders/ASSIGNMENT/)")
    c50.add_argument("out_dir", metavar="OUT_DIR")
    gs = sub.add_parser("gradescope", help="the Gradescope autograder zip")
    gs.add_argument("archive", metavar="OUT.zip")
    return parser


def _limits(parser):
    parser.add_argument("--timeout", type=_positive_float, default=None, metavar="SECONDS",
                        help="time limit per exercise (default: the fixed 60 s that grade "
                             "and batch share)")
    parser.add_argument("--memory", type=_positive_int, default=4096, metavar="MB",
                        help="memory limit of the submission's process (default 4096)")


def _only(parser):
    parser.add_argument("--only", type=_exercise_ids, metavar="ID[,ID...]",
                        help="grade only these exercises")


def _exercise_ids(text):
    from autograde import registry

    ids = [id.strip() for id in text.split(",") if id.strip()]
    unknown = [id for id in ids if id not in registry.exercises()]
    if unknown or not ids:
        raise argparse.ArgumentTypeError(f"unknown exercise {', '.join(unknown) or text!r}; "
                                         f"the exercises are {', '.join(registry.exercises())}")
    return ids


def _names(text):
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected student folder names; got {text!r}")
    return names


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive; got {text}")
    return value


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1; got {text}")
    return value


def _fail(message):
    sys.stderr.write(f"autograde: error: {message}\n")
    return 2


def _readable(path, folder=None):
    """None if `path` can be read (as a folder when folder=True); else why not."""
    p = Path(path)
    if not p.exists():
        return f"{path}: no such file or folder"
    if folder is True and not p.is_dir():
        return f"{path}: not a folder"
    if not os.access(p, os.R_OK | (os.X_OK if p.is_dir() else 0)):
        return f"{path}: permission denied"
    return None


def _emit(text, output):
    if output:
        Path(output).write_text(text)
    else:
        sys.stdout.write(text)


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.command in ("grade", "batch"):
        from autograde.registry import TIME_LIMIT_S
        from autograde.sandbox import Limits

        limits = Limits(timeout=args.timeout or TIME_LIMIT_S, memory_mb=args.memory)
    if args.command == "grade":
        problem = _readable(args.submission)
        if problem:
            return _fail(problem)
        from autograde import grader

        report = grader.grade(args.submission, limits=limits, only=args.only,
                              parallel=os.cpu_count() or 1)
        if args.report:
            Path(args.report).write_text(formats.as_json(report))
        _emit(formats.render(report, args.format), args.output)
        if args.fail_under is not None and report["percent"] < args.fail_under:
            return 1
        return 0
    if args.command == "batch":
        problem = _readable(args.class_dir, folder=True)
        if problem:
            return _fail(problem)
        return _batch(args, limits)
    if args.command == "class-report":
        problem = _readable(args.gradebook)
        if problem:
            return _fail(problem)
        from autograde import class_report

        try:
            written = class_report.write(args.gradebook, args.output_dir)
        except ValueError as e:
            return _fail(str(e))
        print(f"wrote {', '.join(str(p) for p in written)}")
        return 0
    if args.command == "report":
        import json

        problem = _readable(args.report_file)
        if problem:
            return _fail(problem)
        try:
            report = json.loads(Path(args.report_file).read_text())
            text = formats.render(report, args.format)
        except (ValueError, KeyError, TypeError) as e:
            return _fail(f"{args.report_file}: not an autograde JSON report ({e})")
        _emit(text, args.output)
        return 0
    if args.command == "verify":
        return _verify(args)
    if args.command in ("classroom50", "gradescope"):
        return _platform(args)
    from autograde import course

    try:
        if args.command == "solve":
            written = course.solve(args.out_dir)
        else:
            written = course.release(args.out_dir, grader_source=args.grader_source,
                                     clone_url=args.clone_url)
    except (ValueError, RuntimeError) as e:
        return _fail(str(e))
    print(f"wrote {len(written)} files to {args.out_dir}")
    if args.command == "release":
        print(f"keep {Path(args.out_dir) / 'autograde-manifest.json'}: `verify --manifest` and "
              f"`batch --manifest` compare the learners' copies with it")
    return 0


def _batch(args, limits):

    from autograde import batch, course

    if args.manifest and _readable(args.manifest):
        return _fail(_readable(args.manifest))
    from autograde import roster

    try:
        deadline = batch.parse_deadline(args.deadline) if args.deadline else None
        students = roster.read(args.roster) if args.roster else None
        manifest = course.expected_manifest(args.manifest)
    except ValueError as e:
        return _fail(str(e))
    for line in batch.class_warnings(args.class_dir):
        print(line, file=sys.stderr)
    try:
        batch.batch(args.class_dir, args.output, jobs=args.jobs, limits=limits,
                    progress=not args.no_progress, only=args.only, manifest=manifest,
                    deadline=deadline, time_cap=args.time_cap, regrade=args.regrade,
                    students_roster=students, canvas_assignment=args.canvas_assignment,
                    late=roster.LatePolicy(args.late_penalty) if args.late_penalty else None)
    except ValueError as e:
        return _fail(str(e))
    print(f"wrote {args.output} and {batch.reports_folder(args.output)}/", file=sys.stderr)
    if args.report_dir:
        from autograde import class_report

        written = class_report.write(args.output, args.report_dir)
        print(f"wrote the class report: {written[0]}", file=sys.stderr)
    return 0


def _platform(args):
    from autograde.platforms import classroom50, gradescope

    try:
        if args.command == "classroom50":
            written = classroom50.build(args.out_dir)
            print(f"wrote {len(written)} files to {args.out_dir}: commit them as "
                  f"CLASSROOM/autograders/ASSIGNMENT/ (see its README.md)")
        else:
            print(f"wrote {gradescope.build(args.archive)}: upload it as the assignment's "
                  f"autograder (Ubuntu 24.04 base image)")
    except (ValueError, OSError) as e:
        return _fail(str(e))
    return 0


def _verify(args):
    from autograde import course, verify

    problem = _readable(args.submission, folder=True) or (
        _readable(args.manifest) if args.manifest else None)
    if problem:
        return _fail(problem)
    try:
        findings = verify.verify(args.submission, course.expected_manifest(args.manifest))
    except ValueError as e:
        return _fail(str(e))
    for line in findings:
        print(line)
    if findings:
        print(f"{args.submission}: {len(findings)} difference(s) from what release shipped")
        return 1
    print(f"{args.submission}: everything release shipped is there, unchanged")
    return 0


if __name__ == "__main__":
    # Orphaned sandbox processes come to this process (not init), so that they can be
    # found and killed even without root. Only here: not when main() is called in-process.
    from autograde import sandbox

    sandbox.become_subreaper()
    sys.exit(main())
