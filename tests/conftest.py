"""Markers and test order.

`slow` (registered in pyproject.toml) marks what the inner loop, `python -m pytest -m
"not slow"`, leaves out: the book builds, the browser, whole-book gradings, notebook
runs; every nbval item (a notebook of book/) is marked slow here.

Order: the slow tests first, so two xdist workers finish together. With `--dist
loadscope` each test module (and each notebook) runs on one worker, and xdist hands out
modules in collection order (we turn off its reordering by size). Modules marked
`early` (the book build, the notebook runs) go first, then the book's notebooks
(nbval), then the rest.
"""

import pytest


def pytest_configure(config):
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)

    def rank(item):
        if item.get_closest_marker("early"):
            return 0
        return 1 if item.path.suffix == ".ipynb" else 2

    items.sort(key=rank)  # stable: within a rank, the collection order


# ---------------------------------------------------------------------------------------
# The built book, shared by the tests that need it (tests/test_book_build.py and
# tests/test_book_browser.py): built once per test run, even when xdist puts those tests
# on different workers (the first worker to ask builds, under a lock; the others wait and
# read the result).

import fcntl  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402

from bookbuild import BuiltBook, build_book  # noqa: E402


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """The self-study edition of the book (tests/bookbuild.py), built once per test run."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = tmp_path_factory.getbasetemp().parent  # one folder for all workers of this run
    else:
        shared = tmp_path_factory.getbasetemp()
    out, record = shared / "built-book", shared / "built-book.json"
    with open(shared / "built-book.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not record.exists():
            book = build_book(out)
            record.write_text(json.dumps({"returncode": book.returncode,
                                          "problems": book.problems}))
        saved = json.loads(record.read_text())
    return BuiltBook(out / "_build" / "html", saved["returncode"], saved["problems"])
