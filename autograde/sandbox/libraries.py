"""The grader's side of "which code is the grader's libraries": listed here, searched and
trusted by the child (`trust`).

The child must import the same libraries as the grader, wherever they are installed
(the interpreter's site-packages, a user site, PYTHONPATH, a layered environment whose
`.pth` files point elsewhere), and the guards must tell that library code from the
submission's (`guards.py`). A prefix such as sys.prefix does neither: frameworks
installed outside it would count as submission code.

- `grader_libraries(since)` (in the grader): the grader's library search path and the
  folders whose code counts as library code: the standard library, every site-packages
  folder the interpreter reports (user site included, when enabled), and every folder
  on the path that holds an installed distribution (a `*.dist-info`).
- The child's bootstrap (`zygote.BOOTSTRAP`) puts that path first on its sys.path,
  before it imports anything.
- `trust.Trust` (in the child, before any submission code runs): is this file library code?
  Also trusted: the folders of the modules the child has imported by then (all of them
  imported by the grader's code: numpy, torch, the checks, ...). Never trusted: the
  sandbox's own folders (where the submission writes), files changed after `since`
  (when the grading of the notebook began) and files owned by a sandbox user, so a
  submission cannot make a file of its own trusted by writing it anywhere.
"""

import functools
import os
import site
import sys
import sysconfig

from autograde.sandbox.confine import ROOT
from autograde.sandbox.protocol import Libraries


def grader_libraries(since: float) -> Libraries:
    """The grader's Libraries (protocol.Libraries), for a grading that began at `since`."""
    path = library_path()
    folders = set(sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib",
                                                     "platlib"))
    folders |= set(getattr(site, "getsitepackages", list)())
    if site.ENABLE_USER_SITE:
        folders.add(site.getusersitepackages())
    folders |= {entry for entry in path if _holds_distributions(entry)}
    folders.add(os.path.dirname(os.path.realpath(os.__file__)))  # where the stdlib really is
    folders.add(str(ROOT / "autograde"))
    trusted = sorted({os.path.realpath(f) for f in folders if os.path.isdir(f)})
    return Libraries(path=path, trusted=trusted, since=since)


def library_path() -> list[str]:
    """The grader's sys.path, without what only its own start put there: the current
    folder (`python -m`, '') and the course (the child's bootstrap adds it first)."""
    skip = {os.path.realpath(os.getcwd()), os.path.realpath(ROOT)}
    return [entry for entry in sys.path
            if entry and os.path.isdir(entry) and os.path.realpath(entry) not in skip]


@functools.lru_cache(maxsize=None)
def _holds_distributions(folder: str) -> bool:
    try:
        return any(name.endswith((".dist-info", ".egg-info")) for name in os.listdir(folder))
    except OSError:
        return False
