"""The child's side of confinement: entering the sandbox, while still privileged and
before any submission code runs (what to enter is the grader's `protocol.Confinement`,
see `confine`): a private mount and network namespace, the hidden folders, the user,
the limits."""

import ctypes
import os
import resource
import signal

from autograde.sandbox.protocol import Confinement, JSONDict

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000
MS_REC, MS_BIND, MS_PRIVATE = 0x4000, 0x1000, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38


def _c(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def enter(confinement: Confinement, workdir: str) -> JSONDict:
    """Drop privileges, hide the grader's files, cut the network, set the limits.

    confinement: a protocol.Confinement. Its `expose` pairs: in a private mount
    namespace each folder is covered by an empty one that shows only the listed
    entries (bind-mounted back): the course folder shows only autograde/ (no
    solutions/, no tests/), and a folder the user may not enter on the way to Python
    (e.g. /root) shows only that way.
    Returns facts for the report: the uid, whether there is a network, what failed.
    """
    facts: JSONDict = {"uid": os.getuid(), "network": "open"}
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
        os.setgid(uid if confinement.gid is None else confinement.gid)
        os.setuid(uid)
        facts["uid"] = uid
    if hasattr(_libc, "prctl"):  # Linux
        _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # cleared by setuid: set after
    limits = confinement.limits
    for name, value in (("RLIMIT_AS", limits.memory), ("RLIMIT_NPROC", limits.processes),
                        ("RLIMIT_FSIZE", limits.file_size), ("RLIMIT_CPU", limits.cpu),
                        ("RLIMIT_NOFILE", 1024), ("RLIMIT_CORE", 0)):
        try:
            resource.setrlimit(getattr(resource, name), (value, value))
        except (ValueError, OSError) as e:  # e.g. RLIMIT_AS on macOS
            facts.setdefault("limit_errors", []).append(f"{name}: {e}")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-big write raises instead of killing
    os.umask(0o077)
    os.chdir(workdir)
    return facts


def _expose(expose: list[tuple[str, list[str]]], stage: str) -> None:
    """Cover each folder with a tmpfs that shows only the entries the child needs."""
    _c(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    for n, (folder, entries) in enumerate(expose):
        staged: list[tuple[str, str]] = []
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
