"""The grader's side of confinement: who the child runs as, what it may use and see.

The grader picks a sandbox user (`SandboxUser`), the resource limits (`Limits`,
`rlimits`), a clean environment (`environment`) and the folders to hide (`exposed`).
The child applies all of it (`enter.enter`) while still privileged and before any
submission code runs: a private mount and network namespace, the hidden folders, the
user, the limits.
"""

import fcntl
import os
import pwd
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

from autograde.sandbox import reap
from autograde.sandbox.protocol import UID_POOL, ResourceLimits
from autograde.tfcompat import ENVIRONMENT as TF_ENVIRONMENT

ROOT = Path(__file__).resolve().parent.parent.parent  # the course: autograde/'s parent


@dataclass
class Limits:
    """What a submission's code may use.

    timeout:    seconds per exercise (its cell and all its checks), and per other cell.
    memory_mb:  address space of the child (RLIMIT_AS).
    processes:  processes and threads of the sandbox user (RLIMIT_NPROC).
    file_mb:    size of any file it writes (RLIMIT_FSIZE).
    output_mb:  what it may print (stdout and stderr together) before it is stopped.
    startup:    seconds for the interpreter and the imports before the first cell.
    """

    timeout: float = 60.0
    memory_mb: int = 4096
    processes: int = 256
    file_mb: int = 64
    output_mb: float = 8.0
    startup: float = 120.0


class SandboxUser:
    """A uid no other sandbox uses right now (None when the grader is not root).

    Held with a lock file per uid, so concurrent graders (batch workers, test
    processes) never share one; on entry and exit every process of the uid is killed.
    """

    LOCKS = Path(tempfile.gettempdir()) / "autograde-uids"

    def __init__(self) -> None:
        self.uid: int | None = None
        self.lock: IO[str] | None = None

    def __enter__(self) -> int | None:
        self.uid, self.lock = None, None
        if os.geteuid() != 0:
            return None
        self.LOCKS.mkdir(mode=0o700, exist_ok=True)
        info = os.lstat(self.LOCKS)
        if info.st_uid != 0 or stat.S_IMODE(info.st_mode) & 0o077 or not stat.S_ISDIR(info.st_mode):
            raise RuntimeError(f"{self.LOCKS} must be a folder owned by root, mode 700")
        start = os.getpid() % len(UID_POOL)
        for k in range(len(UID_POOL)):
            uid = UID_POOL[(start + k) % len(UID_POOL)]
            if _uid_in_use(uid):
                continue
            lock = open(self.LOCKS / str(uid), "w")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                lock.close()
                continue
            self.uid, self.lock = uid, lock
            reap.kill_user(uid)
            return uid
        raise RuntimeError(f"no free sandbox user id in {UID_POOL}")

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self.uid is not None:
            reap.kill_user(self.uid)
        if self.lock is not None:
            self.lock.close()


def stray_processes() -> list[int]:
    """Live processes of sandbox users that no grader holds now: what a grader left behind.

    (A uid held by a grader that is running, here or in another process, is skipped.)
    """
    by_uid: dict[int, list[int]] = {}
    for p in reap.processes():
        if p.uid in UID_POOL:
            by_uid.setdefault(p.uid, []).append(p.pid)
    stray: list[int] = []
    for uid, pids in by_uid.items():
        try:
            with open(SandboxUser.LOCKS / str(uid), "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released on close
        except OSError:
            continue  # in use
        stray += pids
    return sorted(stray)


def _uid_in_use(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        return False


def environment(workdir: Path) -> dict[str, str]:
    """The child's whole environment: nothing of the grader's."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(workdir), "TMPDIR": str(workdir),
        "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONSAFEPATH": "1", "PYTHONNOUSERSITE": "1",
        "PYTHONIOENCODING": "utf-8", "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(workdir / ".matplotlib"),
        # One thread each: a thread pool does not survive the fork of an exercise.
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
        "TF_NUM_INTEROP_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
    }
    env.update(TF_ENVIRONMENT)
    return env


def rlimits(limits: Limits, uid: int | None, steps: int) -> ResourceLimits:
    """The child's resource limits for a run of `steps` cells and exercises."""
    mb = 2**20
    processes = limits.processes
    if uid is None:  # RLIMIT_NPROC counts all of this user's threads: leave room for them
        processes += reap.threads_of(os.getuid())
    return ResourceLimits(memory=int(limits.memory_mb * mb), processes=int(processes),
                          file_size=int(limits.file_mb * mb),
                          cpu=int(limits.startup + limits.timeout * (steps + 1)) + 1)


def exposed(uid: int | None, library_path: list[str]) -> list[tuple[str, list[str]]]:
    """(folder, [entries]): what the child sees of some folders (see `enter.enter`).

    The course folder shows only autograde/ (not solutions/ or tests/, which hold
    answers). When the grader is root, a folder on the way to Python, the course or a
    library folder that the sandbox user may not enter (e.g. /root, mode 700) shows
    only that way.
    """
    shown = {str(ROOT): {"autograde"}}
    if uid is not None:
        needed = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(ROOT),
                  os.path.dirname(os.path.realpath(sys.executable))}
        needed |= {p for p in [*sys.path, *library_path] if p and os.path.isdir(p)}
        for path in sorted(needed):
            parts = Path(os.path.realpath(path)).parts
            for depth in range(1, len(parts) - 1):
                folder = os.path.join(*parts[:depth + 1])
                try:
                    mode = os.stat(folder).st_mode
                except OSError:
                    break
                if not mode & stat.S_IXOTH:
                    shown.setdefault(folder, set()).add(parts[depth + 1])
                    break
    # Outer folders first: a folder shown inside a covered one is covered after it.
    return [(folder, sorted(entries)) for folder, entries in
            sorted(shown.items(), key=lambda item: len(Path(item[0]).parts))]


def make_readable(folder: Path) -> None:
    """Let the sandbox user read everything in `folder` (the grader wrote it)."""
    for dirpath, _, filenames in os.walk(folder):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)
