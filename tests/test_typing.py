"""The sandbox is typed end to end: `mypy --strict` (pyproject.toml's [tool.mypy]) finds
nothing in autograde/sandbox/, the protocol between the grader and the child included."""

import os
from pathlib import Path

import pytest

api = pytest.importorskip("mypy.api", reason="mypy is not installed (requirements.txt)")

ROOT = Path(__file__).resolve().parent.parent


def mypy(*args):
    """mypy's report and exit status, run with the repository's configuration (and its
    cache, .mypy_cache/, so that a second run takes a second or two)."""
    here = os.getcwd()
    os.chdir(ROOT)  # mypy reads pyproject.toml and its `files` from the current folder
    try:
        out, err, status = api.run(["--config-file", str(ROOT / "pyproject.toml"), *args])
    finally:
        os.chdir(here)
    return out + err, status


def test_the_sandbox_passes_mypy_strict():
    report, status = mypy()
    assert status == 0, report
    assert "autograde/sandbox" in " ".join(_configured_files()), "mypy no longer checks the sandbox"


def test_mypy_would_catch_a_type_error_in_the_sandbox(tmp_path):
    """The check can fail: an untyped function and a wrong argument type are reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("from autograde.sandbox.protocol import Cell\n\n\n"
                   "def untyped(x):\n    return x\n\n\n"
                   "def wrong() -> Cell:\n    return Cell(index='0', code='')\n")
    report, status = mypy("--strict", str(bad))
    assert status == 1
    assert "no-untyped-def" in report and "arg-type" in report, report


def _configured_files():
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["files"]
