"""Confinement: who the child runs as, what it may use, what it sees of the machine.

The grader's side picks a sandbox user (`SandboxUser`), the resource limits
(`Limits`, `rlimits`), a clean environment (`environment`) and the folders to hide
(`exposed`). The child's side, `enter`, applies all of it while still privileged and
before any submission code runs: a private mount and network namespace, the hidden
folders, the user, the limits.
"""

import ctypes
import fcntl
import os
import pwd
import resource
import signal
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograde.sandbox import reap
from autograde.tfcompat import ENVIRONMENT as TF_ENVIRONMENT

ROOT = Path(__file__).resolve().parent.parent.parent  # the course: autograde/'s parent
UID_POOL = range(61000, 61512)  # user ids for sandboxes (skipped if /etc/passwd uses one)


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


# ---------------------------------------------------------------------------------------
# The grader's side


class SandboxUser:
    """A uid no other sandbox uses right now (None when the grader is not root).

    Held with a lock file per uid, so concurrent graders (batch workers, test
    processes) never share one; on entry and exit every process of the uid is killed.
    """

    LOCKS = Path(tempfile.gettempdir()) / "autograde-uids"

    def __enter__(self):
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

    def __exit__(self, *exc):
        if self.uid is not None:
            reap.kill_user(self.uid)
            self.lock.close()


def stray_processes():
    """Live processes of sandbox users that no grader holds now: what a grader left behind.

    (A uid held by a grader that is running, here or in another process, is skipped.)
    """
    by_uid = {}
    for p in reap.processes():
        if p.uid in UID_POOL:
            by_uid.setdefault(p.uid, []).append(p.pid)
    stray = []
    for uid, pids in by_uid.items():
        try:
            with open(SandboxUser.LOCKS / str(uid), "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released on close
        except OSError:
            continue  # in use
        stray += pids
    return sorted(stray)


def _uid_in_use(uid):
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        return False


def environment(workdir):
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


def rlimits(limits, uid, steps):
    """The child's resource limits for a run of `steps` cells and exercises."""
    mb = 2**20
    processes = limits.processes
    if uid is None:  # RLIMIT_NPROC counts all of this user's threads: leave room for them
        processes += reap.threads_of(os.getuid())
    return {"memory": int(limits.memory_mb * mb), "processes": int(processes),
            "file_size": int(limits.file_mb * mb),
            "cpu": int(limits.startup + limits.timeout * (steps + 1)) + 1}


def exposed(uid, library_path):
    """[folder, [entries]]: what the child sees of some folders (see `enter`).

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
    return [[folder, sorted(entries)] for folder, entries in
            sorted(shown.items(), key=lambda item: len(Path(item[0]).parts))]


def make_readable(folder):
    """Let the sandbox user read everything in `folder` (the grader wrote it)."""
    for dirpath, _, filenames in os.walk(folder):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)


# ---------------------------------------------------------------------------------------
# The child's side: set up while still privileged, before any submission code runs.

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000
MS_REC, MS_BIND, MS_PRIVATE = 0x4000, 0x1000, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38


def _c(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def enter(confinement, workdir):
    """Drop privileges, hide the grader's files, cut the network, set the limits.

    confinement: a protocol.Confinement. Its `expose` pairs: in a private mount
    namespace each folder is covered by an empty one that shows only the listed
    entries (bind-mounted back): the course folder shows only autograde/ (no
    solutions/, no tests/), and a folder the user may not enter on the way to Python
    (e.g. /root) shows only that way.
    Returns facts for the report: the uid, whether there is a network, what failed.
    """
    facts = {"uid": os.getuid(), "network": "open"}
    uid = confinement.uid
    try:
        if uid is not None:
            _c(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET), "unshare")
        else:  # an unprivileged user namespace, where the system allows one
            me, group = os.getuid(), os.getgid()
            _c(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET), "unshare")
            for name, text in (("setgroups", "deny"), ("uid_map", f"{me} {me} 1"),
                               ("gid_map", f"{group} {group} 1")):
                with open(f"/proc/self/{name}", "w") as f:
                    f.write(text)
        facts["network"] = "none"
        _expose(confinement.expose, confinement.stage)
        facts["hidden"] = True
    except (OSError, AttributeError) as e:  # AttributeError: no unshare (not Linux)
        facts["namespace_error"] = str(e)
    if uid is not None:
        os.setgroups([])
        os.setgid(confinement.gid)
        os.setuid(uid)
        facts["uid"] = uid
    if hasattr(_libc, "prctl"):  # Linux
        _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # cleared by setuid: set after
    limits = confinement.limits
    for name, value in (("RLIMIT_AS", limits["memory"]), ("RLIMIT_NPROC", limits["processes"]),
                        ("RLIMIT_FSIZE", limits["file_size"]), ("RLIMIT_CPU", limits["cpu"]),
                        ("RLIMIT_NOFILE", 1024), ("RLIMIT_CORE", 0)):
        try:
            resource.setrlimit(getattr(resource, name), (value, value))
        except (ValueError, OSError) as e:  # e.g. RLIMIT_AS on macOS
            facts.setdefault("limit_errors", []).append(f"{name}: {e}")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-big write raises instead of killing
    os.umask(0o077)
    os.chdir(workdir)
    return facts


def _expose(expose, stage):
    """Cover each folder with a tmpfs that shows only the entries the child needs."""
    _c(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    for n, (folder, entries) in enumerate(expose):
        staged = []
        for k, entry in enumerate(entries):
            if not os.path.exists(os.path.join(folder, entry)):
                continue
            target = os.path.join(stage, f"{n}-{k}")
            os.makedirs(target, exist_ok=True)
            _c(_libc.mount(os.path.join(folder, entry).encode(), target.encode(), None,
                           MS_BIND | MS_REC, None), f"bind {folder}/{entry}")
            staged.append((entry, target))
        _c(_libc.mount(b"tmpfs", folder.encode(), b"tmpfs", 0, b"mode=0755,size=64k"),
           f"tmpfs on {folder}")
        for entry, target in staged:
            os.makedirs(os.path.join(folder, entry), exist_ok=True)
            _c(_libc.mount(target.encode(), os.path.join(folder, entry).encode(), None,
                           MS_BIND | MS_REC, None), f"bind back {entry}")
            _c(_libc.umount2(target.encode(), 2), "umount stage")
