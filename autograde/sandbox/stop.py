"""The child's side of stopping processes: waiting for the forked process that runs an
exercise, and killing it (its process group) and whatever the submission left behind.
(The grader stops the child itself and everything it started: `reap`.)"""

import os
import select
import signal
import time

from autograde.sandbox.protocol import End


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass


def kill_all_mine() -> None:
    """Running as a user of its own: kill every other process of this user (what a
    submission left behind) and reap them."""
    for _ in range(1000):
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:  # ProcessLookupError: none left
            break
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG) == (0, 0):
                break
        except ChildProcessError:
            break


def wait(pid: int, timeout: float) -> tuple[End, int | None]:
    """Wait for the child `pid` at most `timeout` s: (End.EXITED, code), (End.SIGNAL, n)
    or (End.TIMEOUT, None) (then it is killed)."""
    deadline = time.monotonic() + timeout
    try:
        pidfd: int | None = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                if os.WIFSIGNALED(status):
                    return End.SIGNAL, os.WTERMSIG(status)
                return End.EXITED, os.WEXITSTATUS(status)
            left = deadline - time.monotonic()
            if left <= 0:
                kill_group(pid)
                os.waitpid(pid, 0)
                return End.TIMEOUT, None
            if pidfd is not None:
                select.select([pidfd], [], [], left)
            else:
                time.sleep(min(left, 0.01))
    finally:
        if pidfd is not None:
            os.close(pidfd)
