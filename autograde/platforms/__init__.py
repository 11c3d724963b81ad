"""Grading on the platforms courses use: one module per platform, one bundle each.

- `autograde.platforms.classroom50`: `python -m autograde classroom50 OUT_DIR`, the
  folder a teacher commits as `CLASSROOM/autograders/ASSIGNMENT/` in Classroom 50.
- `autograde.platforms.gradescope`: `python -m autograde gradescope OUT.zip`, the
  autograder zip Gradescope builds its image from.

What both ship, built here: the grader, zipped as `release` zips it (`grader.zip`, the
same bytes for the same source, pinned by its SHA-256 in the scripts that unpack it),
and `requirements-grading.txt`, the pinned frameworks grading needs (installed with
PyTorch's CPU-only index, and tf-keras without its dependencies, which would pull the
full `tensorflow` beside `tensorflow-cpu`). Both scripts unpack the grader outside the
learner's files, copy only the notebooks into a folder of their own and grade them with
`python -P`, so nothing the learner uploads is ever imported by the grader.

PYTHONS: the Pythons our pinned frameworks have wheels for (numpy 2.4 needs 3.11 or
later; torch 2.13 and tensorflow-cpu 2.21 go up to 3.12 here), the first being the one
the bundles ask for.
"""

import hashlib
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent  # the autograde package
COURSE = PACKAGE.parent  # the course's checkout, when the grader runs from one
REQUIREMENTS = "requirements-grading.txt"
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
PYTHONS = ("3.11", "3.12")


def requirements(course=COURSE):
    """The text of the course's requirements-grading.txt; ValueError if there is none
    (the bundles are built from the course's checkout, not from an installed grader)."""
    path = Path(course) / REQUIREMENTS
    if not path.is_file():
        raise ValueError(f"{path}: not found; build the bundle from the course's checkout, "
                         f"which has {REQUIREMENTS}")
    return path.read_text()


def tf_keras_pin(course=COURSE):
    """"tf-keras==VERSION": installed apart with --no-deps (see the module docstring).

    Read from requirements-nodeps.txt (where the course pins it), else from
    requirements-grading.txt's install note."""
    for name in ("requirements-nodeps.txt", REQUIREMENTS):
        path = Path(course) / name
        m = re.search(r"tf-keras==[\w.]+", path.read_text()) if path.is_file() else None
        if m:
            return m[0]
    raise ValueError(f"expected a `tf-keras==VERSION` pin in requirements-nodeps.txt or "
                     f"{REQUIREMENTS} of {course}; found none")


def pack_grader(archive):
    """Zip this grader into `archive` as `release` does; return its SHA-256 (hex)."""
    from autograde.course import zip_package

    zip_package(PACKAGE, Path(archive))
    return hashlib.sha256(Path(archive).read_bytes()).hexdigest()


def empty_target(path):
    """`path` as a Path, or ValueError if something is already there."""
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ValueError(f"{path} already exists and is not empty; give a new path "
                         f"(or empty this one first)")
    return path
