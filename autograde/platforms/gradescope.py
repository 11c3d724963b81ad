"""Gradescope: the autograder zip.

`build(archive)` (`python -m autograde gradescope OUT.zip`) writes the zip an instructor
uploads as a programming assignment's autograder (base image: Ubuntu 24.04, whose
python3 is 3.12; Ubuntu 22.04's 3.10 is too old for numpy 2.4):

    setup.sh                   run once when Gradescope builds the image: a virtual
                               environment in /autograder/venv with the pinned
                               frameworks of requirements-grading.txt
    run_autograder             run for each submission: grades /autograder/submission and
                               writes /autograder/results/results.json
    requirements-grading.txt   the pinned frameworks
    grader.zip                 this grader, zipped as `release` zips it; run_autograder
                               checks its SHA-256 before unpacking it
    README.md                  for the instructor

Gradescope unpacks the zip into /autograder/source and runs setup.sh from there, then,
per submission, /autograder/run_autograder with the upload in /autograder/submission.
What is graded: the upload's `book/` folder (a learner's copy, zipped or from GitHub)
if it has one, else every .ipynb it holds (notebooks uploaded on their own), copied into
a folder of their own; the grader is unpacked into a temporary folder and run with
`python -P`, so nothing uploaded is imported by it. results.json is our report in
Gradescope's format (`--format gradescope`): one test per exercise, named by its id,
with its points, `visibility` and our feedback in `output`.

Both scripts take the root from AUTOGRADER_ROOT (default /autograder) and
run_autograder the Python from AUTOGRADE_PYTHON (default the virtual environment's), so
that a test can lay out a temporary folder as Gradescope lays out /autograder, as
`otter run` does, and grade without a container.
"""

import hashlib
import tempfile
import zipfile
from pathlib import Path

from autograde.platforms import PYTHONS, REQUIREMENTS, TORCH_INDEX, pack_grader, requirements, tf_keras_pin

SETUP = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image
# (written by `python -m autograde gradescope`).
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
if ! command -v python3 >/dev/null || ! python3 -m venv --help >/dev/null 2>&1; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv
fi
version=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
case " @@PYTHONS@@ " in
  *" $version "*) ;;
  *) echo "setup.sh: python3 is $version; the pinned frameworks need one of @@PYTHONS@@:" \\
          "choose the Ubuntu 24.04 base image" >&2; exit 1 ;;
esac
python3 -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install --quiet --upgrade pip
"$ROOT/venv/bin/python" -m pip install --quiet --extra-index-url @@TORCH_INDEX@@ \\
  -r "$ROOT/source/requirements-grading.txt"
# Without its dependencies: tf-keras's own requirement pulls the full tensorflow.
"$ROOT/venv/bin/python" -m pip install --quiet --no-deps @@TF_KERAS@@
"""

RUN = """\
#!/usr/bin/env bash
# Gradescope runs this for each submission (written by `python -m autograde gradescope`).
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PY="${AUTOGRADE_PYTHON:-$ROOT/venv/bin/python}"
work=$(mktemp -d)
chmod 755 "$work"  # the sandbox's user must reach the grader (which holds no secret)
# The grader: the one this zip shipped, checked, unpacked outside the submission.
echo "@@SHA256@@  $ROOT/source/grader.zip" | sha256sum --check --strict --quiet -
"$PY" -P -m zipfile -e "$ROOT/source/grader.zip" "$work/grader"
# Only notebooks leave the submission: book/ if it has one, else every notebook in it.
mkdir -p "$work/grading/book" "$ROOT/results"
cd "$ROOT/submission"
if [ -d book ] && [ ! -L book ]; then
  find book -name '*.ipynb' -type f -not -path '*/.ipynb_checkpoints/*' \\
    -exec cp --parents {} "$work/grading/" \\;
else
  find . -name '*.ipynb' -type f -not -path '*/.ipynb_checkpoints/*' -print0 | sort -z |
    while IFS= read -r -d '' path; do
      [ -e "$work/grading/book/$(basename "$path")" ] || cp "$path" "$work/grading/book/"
    done
fi
cd "$work/grading"
PYTHONPATH="$work/grader" PYTHONSAFEPATH=1 "$PY" -P -m autograde grade book \\
  --format gradescope --output "$ROOT/results/results.json" --report "$work/report.json"
PYTHONPATH="$work/grader" "$PY" -P -m autograde report "$work/report.json" --format table
"""

README = """\
# LSTM from Scratch: the Gradescope autograder

Written by `python -m autograde gradescope`. Upload this zip as a programming
assignment's autograder, with the **Ubuntu 24.04** base image (its Python, 3.12, is one
the pinned frameworks support; setup.sh stops with a message on another) and a time
limit of at least 10 minutes (the whole book grades in under a minute on two cores).

Learners upload their copy's `book/` folder (or the whole copy, zipped, or from
GitHub) or just the chapter notebooks. Only the notebooks are graded, with the grader
this zip ships (checked against its SHA-256), never with files from the upload. Each
exercise is a test named by its id, with its points and our feedback; all are visible
to the learner.

Rebuild the zip whenever the course's grader or checks change.
"""


def build(archive):
    """Write the autograder zip (see the module docstring) to `archive`; return its path.
    ValueError if it exists or the course's requirements are missing."""
    archive = Path(archive)
    if archive.exists():
        raise ValueError(f"{archive} already exists; give a new path (or remove it first)")
    if archive.suffix != ".zip":
        raise ValueError(f"expected a path ending in .zip; got {archive}")
    text, pin = requirements(), tf_keras_pin()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "grader.zip"
        pack_grader(path)
        data = path.read_bytes()
    scripts = {
        "setup.sh": SETUP.replace("@@PYTHONS@@", " ".join(PYTHONS))
        .replace("@@TORCH_INDEX@@", TORCH_INDEX).replace("@@TF_KERAS@@", pin),
        "run_autograder": RUN.replace("@@SHA256@@", hashlib.sha256(data).hexdigest()),
    }
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in scripts.items():
            _add(z, name, body.encode(), 0o755)
        _add(z, REQUIREMENTS, text.encode(), 0o644)
        _add(z, "grader.zip", data, 0o644)
        _add(z, "README.md", README.encode(), 0o644)
    return archive


def _add(z, name, data, mode):
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = (0o100000 | mode) << 16  # a regular file, executable or not
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, data)

