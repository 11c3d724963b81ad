"""Benchmarks: `python -m tools.bench NAME [options]`.

Each benchmark is a module `tools/bench/NAME_bench.py` (e.g. `numpy_bench.py` is
`python -m tools.bench numpy`). To add one, add such a module; it is found by its
file name. It must define

    main(argv) -> int    parse argv (the arguments after NAME), run, return the exit status

and its docstring's first line is the one-line description that the usage message lists.
What benchmarks share (the machine's description, FLOP counts, the interleaved timer,
the writer) is in `tools.bench.core`. By convention a benchmark writes its results as
JSON plus a Markdown table next to it, to `book/data/bench/` (`core.DATA_DIR`) by
default, with an `--output PATH` option to write elsewhere. Importing this package
imports nothing heavy: a benchmark imports its frameworks itself.
"""

import ast
import importlib
import pkgutil
from pathlib import Path

from tools.answer_key import run_main

SUFFIX = "_bench"


def available():
    """The benchmarks that exist: {name: one-line description}, sorted by name."""
    found = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name.endswith(SUFFIX):
            name = module.name[: -len(SUFFIX)]
            found[name] = _summary(Path(__path__[0]) / f"{module.name}.py")
    return dict(sorted(found.items()))


def _summary(path):
    """The first line of a module's docstring, read without importing the module."""
    try:
        doc = ast.get_docstring(ast.parse(path.read_text()))
    except (OSError, SyntaxError):
        doc = None
    return doc.strip().splitlines()[0] if doc else ""


def usage():
    """The usage message: how to call a benchmark, and the ones that exist."""
    lines = ["usage: python -m tools.bench NAME [options]  (NAME --help for its options)",
             "benchmarks:"]
    lines += [f"  {name:<10} {summary}" for name, summary in available().items()]
    return "\n".join(lines)


def run(name, argv):
    """Run benchmark `name` (one of `available()`) with `argv`; return its exit status
    (2, with one line saying so, where it needs the answer key and there is none)."""
    def main(argv):
        return importlib.import_module(f"{__name__}.{name}{SUFFIX}").main(argv)

    return run_main(main, argv, f"python -m tools.bench {name}")
