"""`python -m tools.bench NAME [options]`: run the benchmark tools/bench/NAME_bench.py."""

import sys

from tools.bench import available, run, usage


def main(argv=None):
    """Dispatch to the benchmark named by argv[0]; exit status 2 for a usage error."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if not argv or argv[0] not in available():
        reason = f"no benchmark is called {argv[0]!r}" if argv else "which benchmark?"
        print(f"{reason}\n{usage()}", file=sys.stderr)
        return 2
    return run(argv[0], argv[1:])


if __name__ == "__main__":
    sys.exit(main())
