"""`python -m autograde`: grade a submission or a class, build the answer key or the learner's copy.

    python -m autograde grade SUBMISSION [--format F] [--output FILE] [--timeout S]
                                         [--fail-under PERCENT] [--report FILE] [--only IDS]
    python -m autograde batch CLASS_DIR [--jobs N] [--output gradebook.csv] [--timeout S]
                                        [--only IDS]
    python -m autograde solve OUT_DIR
    python -m autograde release OUT_DIR
    python -m autograde report REPORT.json [--format F] [--output FILE]

Exit status: 0 when grading ran (whatever the score), 1 when --fail-under is not met,
2 for a usage error or a PATH that cannot be read (with a one-line reason on stderr).
"""

import argparse
import os
import shutil
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
    _limits(b)
    _only(b)

    s = sub.add_parser("solve", help="the answer key: the book with every exercise solved")
    s.add_argument("out_dir", metavar="OUT_DIR")
    r = sub.add_parser("release", help="the learner's copy of the course, without solutions")
    r.add_argument("out_dir", metavar="OUT_DIR")

    p = sub.add_parser("report", help="render a JSON report in another format")
    p.add_argument("report_file", metavar="REPORT")
    p.add_argument("--format", choices=formats.FORMATS, default="table")
    p.add_argument("--output", metavar="FILE")
    return parser


def _limits(parser):
    parser.add_argument("--timeout", type=_positive_float, default=60.0, metavar="SECONDS",
                        help="time limit per exercise (default 60)")
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
        from autograde.sandbox import Limits

        limits = Limits(timeout=args.timeout, memory_mb=args.memory)
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
        from autograde import batch

        batch.batch(args.class_dir, args.output, jobs=args.jobs, limits=limits,
                    progress=not args.no_progress, only=args.only)
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
    from autograde import course

    try:
        if args.command == "solve":
            written = course.solve(args.out_dir)
        else:
            written = course.release(args.out_dir)
            written += _add_workflow(Path(args.out_dir))
    except (ValueError, RuntimeError) as e:
        return _fail(str(e))
    print(f"wrote {len(written)} files to {args.out_dir}")
    return 0


WORKFLOW = Path(".github/workflows/autograde.yml")


def _add_workflow(out):
    """The learner's copy gets the autograding workflow (if course.release left it out)."""
    source = Path(__file__).resolve().parent.parent / WORKFLOW
    target = out / WORKFLOW
    if target.exists() or not source.exists():
        return []
    target.parent.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy2(source, target))]


if __name__ == "__main__":
    # Orphaned sandbox processes come to this process (not init), so that they can be
    # found and killed even without root. Only here: not when main() is called in-process.
    from autograde import sandbox

    sandbox.become_subreaper()
    sys.exit(main())
