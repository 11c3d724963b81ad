"""The grader's side: finding and killing what a sandbox started, so that nothing
outlives its grading: a child and everything it forked, by process group, by session,
by sandbox user or as a subreaper. (The child stops its own exercises: `stop`.)

All of it reads /proc through one function, `process(pid)`.
"""

import os
import signal
import subprocess
import time
from dataclasses import dataclass

LIVE: set[int] = set()  # pids of the children the grader started that are still running
_subreaper = [False]  # this process collects orphans (see become_subreaper)


@dataclass
class Process:
    """The fields of /proc/<pid>/stat the grader needs, and the owner of /proc/<pid>."""

    pid: int
    state: str  # "R", "S", ..., "Z" for a zombie
    ppid: int
    session: int
    uid: int


def pids() -> list[int]:
    """The process ids in /proc (none where there is no /proc)."""
    try:
        return [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return []


def process(pid: int) -> Process | None:
    """The Process `pid`, or None if it is gone (or /proc cannot be read)."""
    try:
        uid = os.stat(f"/proc/{pid}").st_uid
        with open(f"/proc/{pid}/stat") as f:
            # The command name, in parentheses, may contain spaces and parentheses.
            fields = f.read().rsplit(")", 1)[1].split()
        return Process(pid, fields[0], int(fields[1]), int(fields[3]), uid)
    except (OSError, IndexError, ValueError):
        return None


def processes() -> list[Process]:
    """Every live (not zombie) process."""
    return [p for p in map(process, pids()) if p is not None and p.state != "Z"]


def processes_of(uid: int) -> list[int]:
    """The pids of the live processes of `uid`."""
    return [p.pid for p in processes() if p.uid == uid]


def threads_of(uid: int) -> int:
    """How many threads the processes of `uid` have (RLIMIT_NPROC counts threads)."""
    count = 0
    for p in processes():
        if p.uid == uid:
            try:
                count += len(os.listdir(f"/proc/{p.pid}/task"))
            except OSError:
                pass
    return count


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass


def kill_user(uid: int) -> None:
    """Kill every process of `uid` (a sandbox user), `kill -1` run as that user, and wait
    (a few seconds at most) until they are gone: a big process takes a while to die."""
    deadline = time.monotonic() + 10
    while processes_of(uid) and time.monotonic() < deadline:
        # The shell's own kill: kill(-1, SIGKILL) signals every process the user may signal.
        subprocess.run(["/bin/sh", "-c", "kill -9 -1"], user=uid, group=uid, extra_groups=[],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/")
        time.sleep(0.01)


def become_subreaper() -> None:
    """Make this process the one orphaned sandbox processes are given to (not init), so
    that, without root, the grader can still find and kill what a submission left behind.
    For the command line's process only: it then kills such orphans after each notebook."""
    import ctypes

    PR_SET_CHILD_SUBREAPER = 36
    _subreaper[0] = ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def kill_session(sid: int) -> None:
    """Without root: kill the processes of the child's session, what they forked off into
    new sessions (as far as the parent links show) and, for a subreaper, the orphans."""
    for _ in range(20):
        victims = _session_members(sid) + (_orphans() if _subreaper[0] else [])
        if not victims:
            return
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.02)


def _session_members(sid: int) -> list[int]:
    table = {p.pid: p for p in processes()}
    members = {pid for pid, p in table.items() if p.session == sid}
    grown = True
    while grown:  # descendants of members, whatever their session
        grown = False
        for pid, p in table.items():
            if p.ppid in members and pid not in members:
                members.add(pid)
                grown = True
    members.discard(os.getpid())
    return sorted(members)


def _orphans() -> list[int]:
    """Children of this process that it did not start (sandbox processes whose parent died)."""
    me, mine = os.getpid(), list[int]()
    for pid in pids():
        if pid in LIVE:
            continue
        p = process(pid)
        if p is None or p.ppid != me:
            continue
        try:
            if p.state == "Z":
                os.waitpid(pid, os.WNOHANG)
            else:
                os.kill(pid, signal.SIGKILL)
                mine.append(pid)
        except OSError:
            pass
    return mine
