"""Test order: the slow tests first, so two xdist workers finish together.

With `--dist loadscope` each test module (and each notebook) runs on one worker, and
xdist hands out modules in collection order (we turn off its reordering by size).
Modules marked `early` (the book build, the notebook runs) go first, then the book's
notebooks (nbval), then the rest.
"""


def pytest_configure(config):
    config.addinivalue_line("markers", "early: a slow test; start it before the others")
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items):
    def rank(item):
        if item.get_closest_marker("early"):
            return 0
        return 1 if item.path.suffix == ".ipynb" else 2

    items.sort(key=rank)  # stable: within a rank, the collection order
