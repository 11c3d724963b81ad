"""The GitHub Actions workflow that `release` writes into the learner's copy.

`render(exercise_ids, requirements, grader)` returns `.github/workflows/autograde.yml`:
on every push it grades `book/*.ipynb` with a grader the learner's commits do not
change, writes the feedback to the job summary and uploads the JSON report as the run's
artifact. (GitHub Classroom, whose reporter the workflow used to feed, closed on
28 August 2026; Classroom 50 and Gradescope have bundles of their own, and `batch`
writes an LMS gradebook.)

It passes `zizmor`'s audit at its default settings and the GitHub workflow schema
(tests/test_workflow_audit.py runs both): actions pinned by commit SHA (`ACTIONS`), no
persisted credentials, `contents: read` for the one job and nothing for the workflow.
It installs only what grading needs (`requirements`, from requirements-grading.txt and
requirements-nodeps.txt) with PyTorch's CPU-only wheels and pip's cache.

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
from pathlib import Path

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

# Every action the workflows use, pinned by the full commit SHA its release tag named
# (a tag can be moved; a commit cannot), with that tag in a comment for the reader and
# for tools that update pins. Read from each action's repository: `git rev-parse
# vX.Y.Z^{commit}`. .github/workflows/publish.yml uses the same pins.
ACTIONS = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "actions/upload-artifact": ("bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
}
# PyTorch's index of CPU-only wheels: the default index gives the multi-GB CUDA build.
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# Installed with --no-deps: tf-keras's own metadata requires the full `tensorflow`, which
# would install beside tensorflow-cpu (one folder, two copies); tensorflow-cpu provides it.
NO_DEPS = ("tf-keras",)

TEMPLATE = """\
# Grades the learner's notebooks on every push. Written by `python -m autograde release`
# from the course's exercise registry; `python -m autograde verify` reports any edit.
#
# The score is feedback; your instructor's re-grade is the grade of record. The points
# and the feedback for each exercise are in the run's job summary, and the full JSON
# report is the run's artifact `autograde-report`.
#
# The grader is not the copy of autograde/ in this repository (which is the learner's
# to change) but @@GRADER@@.
# It is unpacked outside the checkout and runs with safe-path on (python -P,
# PYTHONSAFEPATH) from a temporary folder that holds only copies of book/*.ipynb, so no
# file of the checkout is imported. Submission code runs in the grader's sandbox.
#
# Hardened as `zizmor` audits it: every action pinned by its commit SHA (the release in
# the comment), no credentials left in the checkout, no permission but reading the
# repository. Only what grading needs is installed: the frameworks pinned at release,
# PyTorch's CPU-only wheels, pip's cache keyed on this file (which holds the pins).
name: Autograding

on:
  push:
  workflow_dispatch:

permissions: {}

# A newer push makes the grading of an older one moot.
concurrency:
  group: autograde-${{ github.ref }}
  cancel-in-progress: true

jobs:
  autograde:
    name: Grade the notebooks
    runs-on: ubuntu-latest
    permissions:
      contents: read  # to check out the notebooks; nothing else
    timeout-minutes: 30
    env:
      PYTHONSAFEPATH: "1"  # no python here imports from its working folder
    steps:
      - name: Check out the notebooks
        uses: @@actions/checkout@@
        with:
          persist-credentials: false

      - name: Set up Python
        uses: @@actions/setup-python@@
        with:
          python-version: "3.11"
          cache: pip
          cache-dependency-path: .github/workflows/autograde.yml

      - name: Install the frameworks (pinned at release, CPU-only)
        run: |
          cd "$RUNNER_TEMP"
          python -P -m pip install --extra-index-url @@INDEX@@ @@REQUIREMENTS@@
@@NODEPS@@
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
      - name: Upload the JSON report
        if: always() && steps.grade.outcome == 'success'
        uses: @@actions/upload-artifact@@
        with:
          name: autograde-report
          path: ${{ runner.temp }}/grading/autograde-report.json
"""


def uses(action):
    """`owner/name@<commit SHA> # vX.Y.Z` for an action of ACTIONS."""
    commit, tag = ACTIONS[action]
    return f"{action}@{commit} # {tag}"


def render(exercise_ids, requirements, grader):
    """The workflow text (see the module docstring).

    exercise_ids: the registry's ids, in book order (checked, so that a bad registry
    fails at release); requirements: pinned pip requirement strings (name==version) for
    what grading needs, those named in NO_DEPS installed without their dependencies;
    grader: a GraderSource.
    """
    ids = list(exercise_ids)
    bad = [id for id in ids if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", id)]
    if bad or not ids:
        raise ValueError(f"exercise ids must be Python identifiers; got {bad or ids!r}")
    pins = [r for r in requirements if re.fullmatch(r"[A-Za-z0-9_.\-\[\],]+==[\w.*+!-]+", r)]
    if pins != list(requirements) or not pins:
        raise ValueError(f"expected pinned requirements such as numpy==2.4.6; got "
                         f"{sorted(set(requirements) - set(pins)) or 'none'}")
    no_deps = [r for r in pins if _name(r) in NO_DEPS]
    plain = [r for r in pins if r not in no_deps]

    def indent(text, n):
        return "\n".join(" " * n + line if line else "" for line in text.splitlines()) + "\n"

    text = TEMPLATE
    for action in ACTIONS:
        text = text.replace(f"@@{action}@@", uses(action))
    return (text
            .replace("@@GRADER@@", grader.describe())
            .replace("@@INDEX@@", TORCH_CPU_INDEX)
            .replace("@@REQUIREMENTS@@", " ".join(plain))
            .replace("@@NODEPS@@\n", "".join(
                f"          python -P -m pip install --no-deps {r}\n" for r in no_deps))
            .replace("@@INSTALL@@\n", indent(grader.install_script(), 10))
            .replace("@@GRADE@@\n", indent(GRADE_SCRIPT, 10)))


def grading_pins(root):
    """The pins grading installs: requirements-grading.txt's, then requirements-nodeps.txt's
    (tf-keras, which `render` installs with --no-deps), from the course folder `root`."""
    pins = []
    for name in ("requirements-grading.txt", "requirements-nodeps.txt"):
        lines = (line.split("#")[0].strip() for line in (Path(root) / name).read_text().splitlines())
        pins += [line for line in lines if line]
    return pins


def _name(requirement):
    """pip's normalized project name of `name==version` (tf_keras, TF-Keras -> tf-keras)."""
    return re.sub(r"[-_.]+", "-", requirement.split("==")[0].split("[")[0]).lower()
