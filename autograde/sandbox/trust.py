"""The child's side of "which code is the grader's libraries": `Trust` tells the grader's
library code (the standard library, installed libraries, autograde) from code the
submission could have written. The grader lists its libraries (`libraries`, the
grader's side, in `protocol.Libraries`); the child builds a Trust from that list after
its own imports and before any submission code runs.
"""

import os
import sys

from autograde.sandbox.protocol import UID_POOL, Libraries


class Trust:
    """Decides whether a code file is the grader's library code (see `libraries`).

    Built in the child after its own imports and before any submission code runs.
    """

    def __init__(self, libraries: Libraries, sandbox_folder: str) -> None:
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
        self._seen: dict[str, str | None] = {}  # file name -> _in_libraries's answer

    def __call__(self, filename: str) -> bool:
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

    def _in_libraries(self, filename: str) -> str | None:
        """The real path of `filename` if it lies in a trusted folder, else None."""
        if filename not in self._seen:
            path = os.path.realpath(filename)
            inside = not path.startswith(self.sandbox) and (
                path in self.files or path.startswith(self.folders))
            self._seen[filename] = path if inside else None
        return self._seen[filename]
