"""Learners' copies for the platform tests (Classroom 50, Gradescope, the wheel), made once
per test process: the answer key (`solve`), an empty copy (`release`) and a partial one
(`learner.partial_copy`: two exercises solved, one half right), each with the report
`python -m autograde grade` gives it, the reference every platform must agree with."""

import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from learner import partial_copy

ROOT = Path(__file__).resolve().parent.parent
COPIES = ("solved", "empty", "partial")


@functools.cache
def _folder():
    folder = Path(tempfile.mkdtemp(prefix="platform-copies-"))
    folder.chmod(0o755)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def open_folder():
    """A new temporary folder other users may enter, removed at exit. The grader's
    sandbox runs submissions as another user, who must reach the grader installed or
    unpacked in it; pytest's tmp_path lies under folders only their owner may enter."""
    path = Path(tempfile.mkdtemp(prefix="platform-", dir=_folder()))
    path.chmod(0o755)
    return path


def env():
    """The environment that imports this checkout's autograde (as the brief's shells do)."""
    return dict(os.environ, PYTHONPATH=str(ROOT))


def _autograde(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "autograde", *map(str, args)], cwd=cwd or ROOT,
                          env=env(), capture_output=True, text=True, check=True, timeout=900)


@functools.cache
def copy(name):
    """The folder of the learner's copy `name` (one of COPIES); its notebooks are in book/."""
    out = _folder() / name
    if name == "solved":
        _autograde("solve", out)
    elif name == "empty":
        _autograde("release", out)
    else:
        partial_copy(out, answer_key=copy("solved"))
    return out


@functools.cache
def reference(name):
    """The JSON report of `python -m autograde grade COPY/book` for the copy `name`."""
    return json.loads(_autograde("grade", copy(name) / "book", "--format", "json").stdout)


def verdicts(report):
    return {e["id"]: (e["points"], e["verdict"]) for e in report["exercises"]}
