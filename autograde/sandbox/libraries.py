"""Which code is the grader's libraries: listed by the grader, searched and trusted by the child.

The child must import the same libraries as the grader, wherever they are installed
(the interpreter's site-packages, a user site, PYTHONPATH, a layered environment whose
`.pth` files point elsewhere), and the guards must tell that library code from the
submission's (`guards.py`). A prefix such as sys.prefix does neither: frameworks
installed outside it would count as submission code.

- `grader_libraries(since)` (in the grader): the grader's library search path and the
  folders whose code counts as library code: the standard library, every site-packages
  folder the interpreter reports (user site included, when enabled), and every folder
  on the path that holds an installed distribution (a `*.dist-info`).
- The child's bootstrap (`launch.BOOTSTRAP`) puts that path first on its sys.path,
  before it imports anything.
- `Trust` (in the child, before any submission code runs): is this file library code?
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

from autograde.sandbox.confine import ROOT, UID_POOL
from autograde.sandbox.protocol import Libraries


def grader_libraries(since):
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


def library_path():
    """The grader's sys.path, without what only its own start put there: the current
    folder (`python -m`, '') and the course (the child's bootstrap adds it first)."""
    skip = {os.path.realpath(os.getcwd()), os.path.realpath(ROOT)}
    return [entry for entry in sys.path
            if entry and os.path.isdir(entry) and os.path.realpath(entry) not in skip]


@functools.lru_cache(maxsize=None)
def _holds_distributions(folder):
    try:
        return any(name.endswith((".dist-info", ".egg-info")) for name in os.listdir(folder))
    except OSError:
        return False


class Trust:
    """Decides whether a code file is the grader's library code (see the module docstring).

    Built in the child after its own imports and before any submission code runs.
    """

    def __init__(self, libraries, sandbox_folder):
        folders, files = set(libraries.trusted), set()
        for name, module in list(sys.modules.items()):
            if "." in name:
                continue  # inside its top-level package's folder (namespaces aside)
            for entry in list(getattr(module, "__path__", None) or []):
                if isinstance(entry, str):
                    folders.add(os.path.realpath(entry))
            file = getattr(module, "__file__", None)
            if isinstance(file, str) and not getattr(module, "__path__", None):
                files.add(os.path.realpath(file))
        self.folders = tuple(sorted(f.rstrip(os.sep) + os.sep for f in folders))
        self.files = frozenset(files)
        self.sandbox = os.path.realpath(sandbox_folder) + os.sep
        self.since = libraries.since
        self._seen = {}  # file name -> _in_libraries's answer

    def __call__(self, filename):
        """True for code from the standard library, an installed library or autograde;
        False for a cell ("<cell N>"), an exec'd string, or a file the submission could
        have written."""
        if filename.startswith("<frozen "):
            return True
        if filename.startswith("<"):
            return False
        path = self._in_libraries(filename)
        if path is None:
            return False
        try:
            info = os.stat(path)
        except OSError:
            return False
        return info.st_ctime < self.since and info.st_uid not in UID_POOL

    def _in_libraries(self, filename):
        """The real path of `filename` if it lies in a trusted folder, else None."""
        if filename not in self._seen:
            path = os.path.realpath(filename)
            inside = not path.startswith(self.sandbox) and (
                path in self.files or path.startswith(self.folders))
            self._seen[filename] = path if inside else None
        return self._seen[filename]
