"""Classroom 50: the autograder bundle, and the result.json it writes.

`build(out_dir)` (`python -m autograde classroom50 OUT_DIR`) writes the folder a teacher
commits as `CLASSROOM/autograders/ASSIGNMENT/` in their classroom50 repository:

    autograder.py              what Classroom 50's runner executes for each submission
    grader.zip                 this grader, zipped as `release` zips it; autograder.py
                               checks its SHA-256 before unpacking it
    requirements-grading.txt   the pinned frameworks autograder.py installs
    runtime.json               the `runtime` block to give the assignment (Python 3.11)
    README.md                  for the teacher: where it goes, what it does

The runner's contract (foundation50/classroom50, `runner.py`): it downloads the folder
as a tarball, runs `python autograder.py` with the job's Python (3.14 unless the
assignment's `runtime` names another), in the student's checkout, with
CLASSROOM50_BUNDLE_DIR naming the unpacked folder, and no time limit of its own (the job
has 15 minutes). It then reads `result.json` (schema classroom50/result/v1) and
`release-body.md` from the checkout; a result whose `score` or `max-score`, at the top
or in any test, is not a non-negative integer is an error and is never published.

So `result(report)` counts in whole units: one point is `per_point` units, the least
number that makes every exercise's points and maximum whole (1.5 of 3 points with
per_point 2 is 3 of 6), and score / max-score is exactly our report's fraction. One
test per exercise, named by its id, with our verdict and feedback in extra fields; the
release body is our Markdown report (`--format markdown`) and a line on the units.

autograder.py unpacks the grader outside the checkout, copies only
`book/**/*.ipynb` into a folder of its own and grades it with `python -P` (safe path),
as the workflow `release` writes does, so no file of the student's checkout is imported.
It runs `python -P -m autograde.platforms.classroom50 REPORT.json` (this module's `main`)
to turn our report into result.json.
"""

import json
import os
import sys
from datetime import datetime, timezone
from fractions import Fraction
from math import lcm
from pathlib import Path

from autograde.platforms import (
    PYTHONS,
    REQUIREMENTS,
    TORCH_INDEX,
    empty_target,
    pack_grader,
    requirements,
    tf_keras_pin,
)

SCHEMA = "classroom50/result/v1"
RUNTIME = {"runs-on": "ubuntu-latest", "python": PYTHONS[0]}
# What autograder.py reads from the runner (runner.py sets them; missing ones are "").
IDENTITY = {"classroom": "CLASSROOM", "assignment": "ASSIGNMENT",
            "assignment_type": "ASSIGNMENT_TYPE", "owner": "OWNER",
            "submission": "SUBMISSION_TAG", "commit": "COMMIT_URL", "release": "RELEASE_URL",
            "review": "REVIEW_URL"}


def exact(x, rounding=5e-5):
    """The simplest fraction within `rounding` of `x`: the report rounds points to four
    decimals (2/3 of a point is 0.6667), and a case count is small, so this is the
    fraction the grader computed."""
    x = Fraction(x)
    for q in range(1, 100_001):
        p = round(x * q)
        if abs(Fraction(p, q) - x) <= rounding:
            return Fraction(p, q)
    return x


def units(report):
    """(per_point, [(score, max_score)] per exercise): whole numbers of units, where
    per_point units make one point (see the module docstring)."""
    pairs = [(exact(e["points"]), exact(e["max_points"])) for e in report["exercises"]]
    per_point = lcm(1, *(f.denominator for pair in pairs for f in pair))
    return per_point, [(int(s * per_point), int(m * per_point)) for s, m in pairs]


def feedback(e):
    """An exercise's feedback as our reports write it: the verdict's reason, then each
    failed check and note on a line."""
    lines = [e["feedback"]]
    lines += [f"- {c['label']}: {c['message']}" for c in e["checks"] if not c["passed"]]
    lines += [f"note: {n}" for n in e["notes"]]
    return "\n".join(lines)


def result(report, env=None):
    """The classroom50/result/v1 document for our report; identity fields from `env`
    (the runner's environment variables, see IDENTITY)."""
    env = os.environ if env is None else env
    per_point, scores = units(report)
    tests = [{"test-name": e["id"], "passed": e["verdict"] == "passed",
              "score": score, "max-score": most,
              "verdict": e["verdict"], "points": e["points"], "max-points": e["max_points"],
              "chapter": e["chapter"], "feedback": feedback(e)}
             for e, (score, most) in zip(report["exercises"], scores, strict=True)]
    doc = {"schema": SCHEMA}
    doc.update({key: env.get(var, "") for key, var in IDENTITY.items()})
    doc["owner"] = doc["owner"] or env.get("USERNAME", "")
    doc["assignment_type"] = doc["assignment_type"] or "individual"
    doc.update({"datetime": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "score": sum(s for s, _ in scores), "max-score": sum(m for _, m in scores),
                "tests": tests,
                "units-per-point": per_point, "points": report["score"],
                "max-points": report["max_score"], "percent": report["percent"]})
    return doc


def summary(report):
    """(status, one line) for the runner's $GITHUB_OUTPUT."""
    passed = all(e["verdict"] == "passed" for e in report["exercises"])
    return ("success" if passed else "failure",
            f"autograde: {_num(report['score'])}/{_num(report['max_score'])} points "
            f"({report['percent']:.1f}%)")


def release_body(report, markdown):
    """release-body.md: our Markdown report, then what the Release's score counts in."""
    per_point, _ = units(report)
    doc = result(report, {})
    return (markdown.rstrip("\n") + "\n\n"
            f"> Classroom 50 records this as {doc['score']} / {doc['max-score']}: "
            f"{per_point} unit{'s' if per_point != 1 else ''} per point, so that partial "
            f"credit stays exact ({_num(report['score'])} / {_num(report['max_score'])} "
            f"points, {report['percent']:.2f}%).\n")


def _num(x):
    return f"{x:.2f}".rstrip("0").rstrip(".")


def main(argv=None):
    """`python -m autograde.platforms.classroom50 REPORT.json MARKDOWN OUT_DIR`: write
    result.json and release-body.md into OUT_DIR (autograder.py calls it), and the
    status line to $GITHUB_OUTPUT when there is one."""
    report_file, markdown_file, out = (argv if argv is not None else sys.argv[1:])
    report = json.loads(Path(report_file).read_text())
    out = Path(out)
    (out / "result.json").write_text(json.dumps(result(report), indent=2) + "\n")
    (out / "release-body.md").write_text(release_body(report, Path(markdown_file).read_text()))
    status, line = summary(report)
    if os.environ.get("GITHUB_OUTPUT"):
        with open(os.environ["GITHUB_OUTPUT"], "a") as f:
            f.write(f"status={status}\nsummary={line}\n")
    print(line)
    return 0


def build(out_dir):
    """Write the bundle (see the module docstring) to `out_dir`; return the paths written.
    ValueError if `out_dir` is not empty or the course's requirements are missing."""
    out = empty_target(out_dir)
    text, pin = requirements(), tf_keras_pin()
    out.mkdir(parents=True, exist_ok=True)
    sha = pack_grader(out / "grader.zip")
    (out / REQUIREMENTS).write_text(text)
    (out / "autograder.py").write_text(
        AUTOGRADER.replace("@@SHA256@@", sha).replace("@@TF_KERAS@@", pin)
        .replace("@@TORCH_INDEX@@", TORCH_INDEX).replace("@@PYTHONS@@", repr(PYTHONS)))
    (out / "runtime.json").write_text(json.dumps(RUNTIME, indent=2) + "\n")
    (out / "README.md").write_text(README.format(python=RUNTIME["python"],
                                                 runtime=json.dumps(RUNTIME), tf_keras=pin))
    return sorted(p for p in out.iterdir())


AUTOGRADER = '''\
"""Classroom 50 autograder for LSTM from Scratch (`python -m autograde classroom50`).

Run by Classroom 50's runner in the student's checkout. It installs the pinned
frameworks (requirements-grading.txt: PyTorch's CPU-only wheels; tf-keras without its
dependencies), checks grader.zip against the SHA-256 below and unpacks it outside the
checkout, copies only book/**/*.ipynb into a folder of its own, grades that folder with
`python -P` (nothing of the checkout is importable), and writes result.json and
release-body.md into the checkout. Standard library only: nothing is installed yet.

AUTOGRADE_SKIP_INSTALL=1 skips the install (when the job's Python already has the
frameworks, as in the course's own tests).
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

GRADER_SHA256 = "@@SHA256@@"
TF_KERAS = "@@TF_KERAS@@"
TORCH_INDEX = "@@TORCH_INDEX@@"
PYTHONS = @@PYTHONS@@
BUNDLE = Path(os.environ.get("CLASSROOM50_BUNDLE_DIR") or Path(__file__).resolve().parent)


def run(*args, cwd, env=None):
    print("autograder:", " ".join(str(a) for a in args), flush=True)
    subprocess.run([sys.executable, "-P", *args], cwd=cwd, env=env, check=True)


def main():
    version = "%d.%d" % sys.version_info[:2]
    if version not in PYTHONS:
        sys.exit(f"autograder: Python {version} has no wheels for the pinned frameworks; "
                 f"give the assignment the runtime block {{\\"python\\": \\"{PYTHONS[0]}\\"}}")
    checkout = Path.cwd()
    work = Path(tempfile.mkdtemp(prefix="autograde-", dir=os.environ.get("RUNNER_TEMP")))
    if checkout == work or checkout in work.parents:
        work = Path(tempfile.mkdtemp(prefix="autograde-", dir="/tmp"))
    # The grader's sandbox runs submissions as another user, who must reach the grader
    # (nothing here is secret: the grader is the one release ships).
    work.chmod(0o755)
    archive = BUNDLE / "grader.zip"
    if hashlib.sha256(archive.read_bytes()).hexdigest() != GRADER_SHA256:
        sys.exit(f"autograder: {archive} does not match its SHA-256; rebuild the bundle")
    with zipfile.ZipFile(archive) as z:
        z.extractall(work / "grader")
    if os.environ.get("AUTOGRADE_SKIP_INSTALL") != "1":
        run("-m", "pip", "install", "--quiet", "--extra-index-url", TORCH_INDEX,
            "-r", BUNDLE / "requirements-grading.txt", cwd=work)
        run("-m", "pip", "install", "--quiet", "--no-deps", TF_KERAS, cwd=work)
    grading = work / "grading"
    (grading / "book").mkdir(parents=True)
    if (checkout / "book").is_dir() and not (checkout / "book").is_symlink():
        for path in sorted((checkout / "book").rglob("*.ipynb")):
            rel = path.relative_to(checkout)
            if path.is_file() and not path.is_symlink() and ".ipynb_checkpoints" not in rel.parts:
                (grading / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, grading / rel)
    env = dict(os.environ, PYTHONPATH=str(work / "grader"), PYTHONSAFEPATH="1")
    run("-m", "autograde", "grade", "book", "--format", "markdown", "--output", "report.md",
        "--report", "report.json", cwd=grading, env=env)
    run("-m", "autograde.platforms.classroom50", "report.json", "report.md", checkout,
        cwd=grading, env=env)


if __name__ == "__main__":
    main()
'''

README = """\
# LSTM from Scratch: the Classroom 50 autograder

Written by `python -m autograde classroom50`. Commit this folder as
`CLASSROOM/autograders/ASSIGNMENT/` in your classroom50 repository (ASSIGNMENT is the
assignment's slug), and give the assignment this `runtime` block (also in
`runtime.json`):

    "runtime": {runtime}

Python {python}: the runner's default Python (3.14) has no wheels for the frameworks
the course pins (numpy 2.4, torch 2.13, tensorflow-cpu 2.21 and {tf_keras}); {python}
is the Python the course is developed and tested with.

For each submission `autograder.py` installs `requirements-grading.txt` (PyTorch's
CPU-only wheels, a few minutes of the job's 15), checks `grader.zip` against the SHA-256
it pins and unpacks it outside the student's checkout, copies only `book/**/*.ipynb`,
and grades them with the course's grader (`python -m autograde grade`, run with
`python -P`, so no file of the checkout is imported). The student's Release shows the
same table and feedback as `python -m autograde grade --format markdown`.

Scores are whole numbers, as Classroom 50 requires: one test per exercise, named by its
id, and one point counted as enough units that partial credit stays exact (the Release
says how many). The percentage is the grader's. Rebuild the bundle whenever the course's
grader or checks change.
"""


if __name__ == "__main__":
    sys.exit(main())
