"""Benchmarks: `python -m solutions.bench NAME [options]`.

Each benchmark is a module `solutions/bench/NAME_bench.py` (e.g. `numpy_bench.py` is
`python -m solutions.bench numpy`). To add one, add such a module; it is found by its
file name. It must define

    main(argv) -> int    parse argv (the arguments after NAME), run, return the exit status

and its docstring's first line is the one-line description that the usage message lists.
By convention a benchmark writes its results as JSON plus a Markdown table next to it,
to `book/data/bench/` by default, with an `--output PATH` option to write elsewhere.
Importing this package imports nothing heavy: a benchmark imports its frameworks itself.
"""

import ast
import importlib
import json
import pkgutil
from pathlib import Path

SUFFIX = "_bench"
DATA_DIR = Path(__file__).resolve().parents[2] / "book" / "data" / "bench"


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
    lines = ["usage: python -m solutions.bench NAME [options]  (NAME --help for its options)",
             "benchmarks:"]
    lines += [f"  {name:<10} {summary}" for name, summary in available().items()]
    return "\n".join(lines)


def run(name, argv):
    """Run benchmark `name` (one of `available()`) with `argv`; return its exit status."""
    return importlib.import_module(f"{__name__}.{name}{SUFFIX}").main(argv)


def write_results(results, table, output):
    """Write `results` as JSON to `output` and the Markdown `table` beside it (.md); print it."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    output.with_suffix(".md").write_text(table)
    print(table)
    print(f"Wrote {output} and {output.with_suffix('.md')}")
