"""The whole book builds with Sphinx warnings as errors (the command in the README, -W -n)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.early  # the slowest test: start it first (tests/conftest.py)
def test_the_book_builds_without_warnings(tmp_path):
    # The jupyter-book installed beside this Python, else the one on PATH.
    jupyter_book = (shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
                    or shutil.which("jupyter-book"))
    assert jupyter_book, "jupyter-book is not installed (pip install -r requirements.txt)"
    result = subprocess.run(
        [jupyter_book, "build", str(ROOT), "--path-output", str(tmp_path), "-W", "-n",
         "--keep-going"],
        capture_output=True, text=True, timeout=600)
    log = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)  # no colours
    problems = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
    assert result.returncode == 0, "\n".join(problems) or log[-4000:]
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]] + [c["file"] for part in toc.get("parts", []) for c in part["chapters"]]
    html = tmp_path / "_build" / "html"
    missing = [p for p in pages if not (html / f"{p}.html").is_file()]
    assert not missing, f"pages in _toc.yml that were not built: {missing}"
