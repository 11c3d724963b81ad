"""Build the book for the tests: the README's command, with Sphinx warnings as errors."""

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class BuiltBook:
    html: Path        # the site: <out>/_build/html
    returncode: int   # jupyter-book's exit status
    problems: str     # its WARNING and ERROR lines, or the end of its log


def build_book(out_dir, edition="self-study"):
    """Build the book into `out_dir` with `-W -n --keep-going`; returns a BuiltBook.

    `edition` is BOOK_EDITION (book/_ext/edition.py): "self-study" keeps the solutions,
    "course" leaves them out.
    """
    prebuilt = os.environ.get("BOOK_PREBUILT")
    if prebuilt:
        # A site built beforehand (`jupyter-book build . --path-output DIR`, the same
        # flags): BOOK_PREBUILT=DIR/_build/html reuses it instead of building again, for
        # a second look with the browser test. The build test itself needs a fresh build.
        html = Path(out_dir) / "_build" / "html"
        html.parent.mkdir(parents=True, exist_ok=True)
        html.symlink_to(Path(prebuilt).resolve(), target_is_directory=True)
        return BuiltBook(html, 0, f"(the site in {prebuilt}, built beforehand)")
    # The jupyter-book installed beside this Python, else the one on PATH.
    jupyter_book = (shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
                    or shutil.which("jupyter-book"))
    assert jupyter_book, "jupyter-book is not installed (pip install -r requirements.txt)"
    result = subprocess.run(
        [jupyter_book, "build", str(ROOT), "--path-output", str(out_dir), "-W", "-n",
         "--keep-going"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "BOOK_EDITION": edition})
    log = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)  # no colours
    problems = "\n".join(line for line in log.splitlines() if "WARNING" in line or "ERROR" in line)
    return BuiltBook(Path(out_dir) / "_build" / "html", result.returncode,
                     problems or log[-4000:])
