"""What the learner's copy says about itself: its README and the intro's "Stuck?" step.

- `learner_readme(title, out)`: the README of the copy at `out`, listing only what it has.
- `learner_intro(text)`: book/intro.md with the "Stuck?" step that promises the
  solutions rewritten (the copy has none).
"""

import re
import textwrap
from pathlib import Path

# The learner's README: only what the copy has. {title} is the course README's title.
LEARNER_README = """{title}

This is your copy of the course: the chapters with their exercises and the grader that
checks them. (The reference solutions and the course's own tests stay with your
instructor.)

## What is here

{files}

## Set up

    python -m pip install --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt
    python -m pip install --no-deps -r requirements-nodeps.txt

{colab}

## Work through the exercises

    jupyter lab book/

Each exercise is a code cell tagged `exercise` with a stub that raises
`NotImplementedError`. Write your answer there and run the cell below it, `check(name)`:
it tells you whether your function passes and, if not, which output is wrong, where,
and for common mistakes what is probably wrong. Cells further down use your function once
it passes and a reference otherwise, so every chapter runs either way.

## Grade your work

    python -m autograde grade book/                  # every exercise: points, verdict, feedback
    python -m autograde grade book/ --only rnn_step  # just one (ids as in the book)

Each push to your repository is graded by `.github/workflows/autograde.yml`; the score
and the feedback for each exercise are in the run's job summary. That score is feedback;
your instructor's re-grade is the grade of record. The workflow grades with the grader
that came with the course (pinned when it was released), not with `autograde/` as you
may have changed it, and your instructor's grading reports any change to files other
than your exercise cells. To see what you changed:

    python -m autograde verify . --manifest autograde-manifest.json
"""
# What the README says each shipped file or folder is (listed when the copy has it).
LEARNER_FILES = [
    ("book/", "the chapters, one notebook each, and the data they read"),
    ("autograde/", "`check()` and the grader (`python -m autograde`)"),
    ("tools/", "benchmarks and training runs; those that need the reference solutions say so"),
    ("requirements.txt", "the Python packages the chapters and the grader need"),
    ("requirements-nodeps.txt", "tf-keras, installed without its dependencies (see the file)"),
    ("pyproject.toml", "installs `autograde` (`requirements.txt` does it for you)"),
    ("_config.yml", "the book's configuration (with `_toc.yml`, its table of contents)"),
    (".github/workflows/autograde.yml", "grades each push"),
    (".github/autograde/grader.zip", "the grader the workflow runs, pinned by its SHA-256"),
    ("autograde-manifest.json", "what the course shipped, for `python -m autograde verify`"),
]


# What each chapter's first cell clones on Colab in a copy released without --clone-url:
# never the course's repository, which holds the answers. The README says to replace it.
PLACEHOLDER_CLONE_URL = "https://github.com/YOUR-ACCOUNT/YOUR-REPOSITORY"
# On Colab a chapter arrives alone and its first cell clones this copy: where from.
COLAB_SET = """On Colab, a chapter's first cell clones your course from {url} and installs it.
If your work lives in another repository, put its URL in that cell's `git clone` line."""
COLAB_UNSET = """On Colab, a chapter's first cell clones your course and installs it. Before you
run it there, put your repository's URL (`https://github.com/YOU/YOUR-REPO`) in place
of `{placeholder}` in its `git clone` line."""


def learner_readme(title: str, out: Path, clone_url: str | None = None) -> str:
    """The README of the learner's copy at `out` (`title`: the course README's first line;
    `clone_url`: what the chapters' Colab cell clones, None for the placeholder)."""
    files = "\n".join(f"- `{name}`: {what}" for name, what in LEARNER_FILES
                      if (out / name).exists())
    colab = COLAB_SET.format(url=clone_url) if clone_url else COLAB_UNSET.format(
        placeholder=PLACEHOLDER_CLONE_URL)
    return LEARNER_README.format(title=title, files=files, colab=colab)


# The intro's "Stuck?" step promises the solutions, which the learner's copy does not have.
_STUCK = re.compile(r"^(?P<n>\d+)\. Stuck\?.*?(?=\n\n|\n\d+\. |\Z)", re.M | re.S)
STUCK_IN_COPY = ("{n}. Stuck? This copy of the course has no solutions: re-read the chapter's "
                 "text above the exercise, print the shapes of your arrays, and ask your "
                 "instructor.")


def learner_intro(text: str) -> str:
    """intro.md with its "Stuck?" step rewritten for a copy without solutions."""

    def stuck(m):
        return textwrap.fill(STUCK_IN_COPY.format(n=m["n"]), 88, subsequent_indent="   ")

    return _STUCK.sub(stuck, text)
