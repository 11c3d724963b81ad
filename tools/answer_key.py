"""What a tool does where the answer key is missing.

The tools import the book's answers from `solutions/` like any library. The learner's
copy of the course has no `solutions/`; `run_main` turns the import error that follows
into one line naming what is missing, and exit status 2, for every entry point.
"""

import sys


def is_missing(error):
    """True if `error` is the failed import of a `solutions` module (the answer key)."""
    return (isinstance(error, ModuleNotFoundError)
            and (error.name or "").partition(".")[0] == "solutions")


def run_main(main, argv, prog):
    """main(argv)'s exit status; 2, with a one-line reason on stderr, without the answer key."""
    try:
        return main(argv)
    except ModuleNotFoundError as error:
        if not is_missing(error):
            raise
        print(f"{prog} runs the book's answers and needs the answer key, solutions/ (no module "
              f"{error.name!r} here: a learner's copy of the course has none); run it in the "
              "course's full repository", file=sys.stderr)
        return 2
