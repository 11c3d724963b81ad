"""The GitHub Actions workflow that `release` writes into the learner's copy.

`render(exercise_ids, requirements, grader)` returns `.github/workflows/autograde.yml`:
on every push it grades `book/*.ipynb` with a grader the learner's commits do not
change, writes the feedback to the job summary and hands the points to GitHub
Classroom's reporter, one runner per exercise (`exercise_ids`, from the registry, so a
new exercise cannot be forgotten).

The grader comes from `grader`, a `GraderSource`: the course's repository at a commit,
a wheel pinned by SHA-256 (`release --grader-source`), or by default the zip of the
grader that `release` ships in `.github/autograde/grader.zip`, pinned by its SHA-256 in
this workflow. It is unpacked outside the checkout and run from a temporary folder that
holds only copies of `book/*.ipynb`, with safe-path on (`python -P`, PYTHONSAFEPATH),
so no file of the checkout is ever imported: a learner who edits `autograde/` changes
what `check()` tells them in their notebook, not the grade. (The workflow file itself
is the learner's to edit too; `python -m autograde verify` reports it, and the
instructor's re-grade with `batch` is the grade of record.)
"""

import re
from dataclasses import dataclass

GRADER_ZIP = ".github/autograde/grader.zip"
_GIT = re.compile(r"^git\+(https|ssh)://[^\s@#]+(@[^\s@#/]+)*@(?P<commit>[0-9a-f]{40})(#\S*)?$")
_WHEEL = re.compile(r"^https://\S+/(?P<file>[\w.+-]+\.whl)#sha256=(?P<sha>[0-9a-f]{64})$")


@dataclass(frozen=True)
class GraderSource:
    """Where the workflow gets its grader: kind "git" (spec = pip's git URL at a
    commit), "wheel" (spec = https URL, sha256) or "zip" (the copy's own pinned zip)."""

    kind: str
    spec: str
    sha256: str = ""

    @staticmethod
    def parse(text):
        """A --grader-source value; ValueError naming the accepted forms."""
        text = str(text).strip()
        m = _WHEEL.match(text)
        if m:
            return GraderSource("wheel", text.split("#", 1)[0], m["sha"])
        if _GIT.match(text):
            return GraderSource("git", text)
        raise ValueError(
            "--grader-source: expected a git URL pinned to a commit, "
            "git+https://HOST/OWNER/REPO@<40-hex commit>, or a wheel pinned by its hash, "
            f"https://HOST/PATH/NAME.whl#sha256=<64 hex>; got {text[:200]!r}")

    def describe(self):
        return {"git": f"installed from {self.spec}",
                "wheel": f"the wheel {self.spec} (SHA-256 {self.sha256})",
                "zip": f"{GRADER_ZIP}, checked against its SHA-256 {self.sha256}"}[self.kind]

    def install_script(self):
        """Shell lines that put the grader in $RUNNER_TEMP/grader (and nowhere else)."""
        if self.kind == "git":
            return f'python -P -m pip install --no-deps --target "$RUNNER_TEMP/grader" "{self.spec}"'
        if self.kind == "wheel":
            name = self.spec.rsplit("/", 1)[1]
            return "\n".join([
                f'curl -fsSL -o "$RUNNER_TEMP/{name}" "{self.spec}"',
                f'echo "{self.sha256}  $RUNNER_TEMP/{name}" | sha256sum --check --strict -',
                f'python -P -m pip install --no-deps --target "$RUNNER_TEMP/grader" '
                f'"$RUNNER_TEMP/{name}"'])
        return "\n".join([
            f'echo "{self.sha256}  $GITHUB_WORKSPACE/{GRADER_ZIP}" | sha256sum --check --strict -',
            f'cp "$GITHUB_WORKSPACE/{GRADER_ZIP}" "$RUNNER_TEMP/grader.zip"',
            'python -P -m zipfile -e "$RUNNER_TEMP/grader.zip" "$RUNNER_TEMP/grader"'])


# The step that grades: what tests/test_release.py runs to play the workflow.
GRADE_SCRIPT = """\
set -euo pipefail
# Only book/*.ipynb leaves the checkout: copies, into a folder of their own.
rm -rf "$RUNNER_TEMP/grading" && mkdir -p "$RUNNER_TEMP/grading"
cd "$GITHUB_WORKSPACE"
if [ -d book ]; then
  find book -name '*.ipynb' -type f -exec cp --parents {} "$RUNNER_TEMP/grading/" \\;
fi
mkdir -p "$RUNNER_TEMP/grading/book"
cd "$RUNNER_TEMP/grading"
{
  python -P -m autograde grade book --format markdown --report autograde-report.json
  echo
  echo "> This score is feedback; your instructor's re-grade is the grade of record."
  echo "> Graded by $(python -P -c 'from autograde.verify import grader_version; print(grader_version())')."
} >> "$GITHUB_STEP_SUMMARY"
python -P -m autograde report autograde-report.json --format table | grep '^total:'
run="$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID"
echo "Feedback for each exercise: in this run's job summary, $run"
"""

CLASSROOM_SCRIPT = """\
set -euo pipefail
cd "$RUNNER_TEMP/grading"
python -P -m autograde report autograde-report.json --format classroom >> "$GITHUB_OUTPUT"
"""

TEMPLATE = """\
# Grades the learner's notebooks on every push. Written by `python -m autograde release`
# from the course's exercise registry; `python -m autograde verify` reports any edit.
#
# The score is feedback; your instructor's re-grade is the grade of record.
#
# The grader is not the copy of autograde/ in this repository (which is the learner's
# to change) but @@GRADER@@.
# It is unpacked outside the checkout and runs with safe-path on (python -P,
# PYTHONSAFEPATH) from a temporary folder that holds only copies of book/*.ipynb, so no
# file of the checkout is imported. Submission code runs in the grader's sandbox.
#
# GitHub Classroom's reporter gets one runner per exercise. Its console total for a
# runner is (tests with status "pass" / all tests) x the runner's max_score, while the
# points Classroom records are the sum of the tests' scores. So each runner's max_score
# is the exercise's points and its tests are equal parts of them: one test per check
# of the exercise, a passing test scoring points / checks and a failing one 0 (or, if
# the points are not that fraction of the checks, k of n equal parts with k/n = points /
# max). Both totals are then the points of our report, partial credit included
# (1.5 of 3 points: 1 of 2 tests passes, console 1/2 x 3 = 1.5, recorded 1.5 + 0).
# The reporter prints no message for a failed test: the feedback is in the job summary.
name: Autograding Tests

on:
  push:
  workflow_dispatch:
  repository_dispatch:

permissions:
  contents: read
  checks: write  # the Classroom reporter writes the points to the check run
  actions: read

jobs:
  autograde:
    name: Autograding Tests
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    timeout-minutes: 30
    env:
      PYTHONSAFEPATH: "1"  # no python here imports from its working folder
    steps:
      - name: Check out the notebooks
        uses: actions/checkout@v4

      - name: Set up Python
        uses: actions/setup-python@v5
        with:
          python-version: "3.11"

      - name: Install the frameworks (pinned at release)
        run: |
          cd "$RUNNER_TEMP"
          python -P -m pip install @@REQUIREMENTS@@

      - name: Install the grader (pinned at release, outside the checkout)
        run: |
          set -euo pipefail
          cd "$RUNNER_TEMP"
@@INSTALL@@
          echo "PYTHONPATH=$RUNNER_TEMP/grader" >> "$GITHUB_ENV"

      - name: Grade book/
        id: grade
        run: |
@@GRADE@@
      - name: Results for GitHub Classroom
        id: classroom
        if: always() && steps.grade.outcome == 'success'
        run: |
@@CLASSROOM@@
      - name: Upload the JSON report
        if: always() && steps.grade.outcome == 'success'
        uses: actions/upload-artifact@v4
        with:
          name: autograde-report
          path: ${{ runner.temp }}/grading/autograde-report.json

      - name: Report to GitHub Classroom
        if: always() && steps.classroom.outcome == 'success'
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
@@RESULTS@@
        with:
          runners: @@RUNNERS@@
"""


def runner_env(id):
    """The environment variable the reporter reads a runner's result from."""
    return f"{id.upper()}_RESULTS"


def render(exercise_ids, requirements, grader):
    """The workflow text (see the module docstring).

    exercise_ids: the registry's ids, in book order; requirements: pip requirement
    strings for the frameworks; grader: a GraderSource.
    """
    ids = list(exercise_ids)
    bad = [id for id in ids if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", id)]
    if bad or not ids:
        raise ValueError(f"exercise ids must be Python identifiers; got {bad or ids!r}")
    pins = [r for r in requirements if re.fullmatch(r"[A-Za-z0-9_.\-\[\],]+[=<>!~]=?[\w.*+!-]+", r)]
    if pins != list(requirements):
        raise ValueError(f"expected pinned requirements such as numpy==2.4.6; got "
                         f"{sorted(set(requirements) - set(pins))}")

    def indent(text, n):
        return "\n".join(" " * n + line if line else "" for line in text.splitlines()) + "\n"

    return (TEMPLATE
            .replace("@@GRADER@@", grader.describe())
            .replace("@@REQUIREMENTS@@", " ".join(requirements))
            .replace("@@INSTALL@@\n", indent(grader.install_script(), 10))
            .replace("@@GRADE@@\n", indent(GRADE_SCRIPT, 10))
            .replace("@@CLASSROOM@@\n", indent(CLASSROOM_SCRIPT, 10))
            .replace("@@RESULTS@@\n", "".join(
                f"          {runner_env(id)}: ${{{{ steps.classroom.outputs.{id} }}}}\n"
                for id in ids))
            .replace("@@RUNNERS@@", ",".join(ids)))
