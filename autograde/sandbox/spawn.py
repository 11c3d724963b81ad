"""The grader's side of starting a child: forked by a zygote, or a fresh interpreter.

A zygote (`zygote.serve`, the child's side) has the libraries imported already, so that
a notebook's sandbox starts in milliseconds rather than seconds; `Zygote` is its client
here. Requests and answers are the `protocol`'s zygote messages over a SOCK_SEQPACKET
socket; the child's pipes are passed with each request. Without a zygote the child is
a fresh interpreter (`zygote.BOOTSTRAP`).

Either way the child's sys.path starts with the course and the grader's library path
(`libraries.library_path`), so it imports the same libraries as the grader, wherever
they are installed.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from autograde.sandbox import confine, reap
from autograde.sandbox.protocol import (
    ZYGOTE_PRELOAD,
    Exited,
    Spawned,
    SpawnRequest,
    ZygoteReady,
    decode_reply,
)
from autograde.sandbox.zygote import BOOTSTRAP, ZYGOTE_BOOTSTRAP


class Child(Protocol):
    """A started child: its pid, and `wait`."""

    pid: int

    def wait(self, timeout: float) -> int | None:
        """The exit code (negative: killed by that signal), or None if still running."""


def start(kind: str | None, job_file: Path, ev_w: int, out_w: int, workdir: Path, cwd: Path,
          library_path: list[str]) -> Child:
    """Start a child for `job_file`; it reports on ev_w and prints to out_w.

    kind: the zygote to fork from ("base", "tf"), or None for a fresh interpreter.
    """
    zygote = _zygote(kind, library_path) if kind in ZYGOTE_PRELOAD else None
    if zygote is not None:
        request = SpawnRequest(job=str(job_file), env=confine.environment(workdir), cwd=str(cwd))
        child = zygote.spawn(request, ev_w, out_w)
        if child is not None:
            return child
    proc = subprocess.Popen(
        [sys.executable, "-s", "-c", BOOTSTRAP, str(confine.ROOT), json.dumps(library_path),
         str(job_file), str(ev_w)],
        stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w, pass_fds=[ev_w],
        cwd=cwd, env=confine.environment(workdir), start_new_session=True)
    reap.LIVE.add(proc.pid)
    return _Popened(proc)


def warm_up(kinds: Iterable[str | None], library_path: list[str]) -> None:
    """Start the zygotes of these kinds now, so their imports overlap other work."""
    for kind in kinds:
        if kind:
            _zygote(kind, library_path)


class _Popened:
    def __init__(self, proc: "subprocess.Popen[bytes]") -> None:
        self.proc, self.pid = proc, proc.pid

    def wait(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        finally:
            if self.proc.returncode is not None:
                reap.LIVE.discard(self.pid)


class _Forked:
    def __init__(self, zygote: "Zygote", pid: int) -> None:
        self.zygote, self.pid = zygote, pid

    def wait(self, timeout: float) -> int | None:
        return self.zygote.wait(self.pid, timeout)


_zygotes: dict[str, "Zygote"] = {}
_zygotes_lock = threading.Lock()


def _zygote(kind: str, library_path: list[str]) -> "Zygote | None":
    """The running zygote of this kind (started on first use), or None if it cannot run."""
    with _zygotes_lock:
        zygote = _zygotes.get(kind)
        if zygote is None or not zygote.alive():
            try:
                zygote = _zygotes[kind] = Zygote(kind, library_path)
            except OSError:
                return None
        return zygote


class Zygote:
    """The grader's handle on a zygote process of one kind, and its socket."""

    def __init__(self, kind: str, library_path: list[str]) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        home = tempfile.gettempdir()
        env = {k: v for k, v in confine.environment(Path(home)).items()
               if k not in ("HOME", "TMPDIR", "MPLCONFIGDIR")}
        env.update(HOME=home)
        self.proc = subprocess.Popen(
            [sys.executable, "-s", "-c", ZYGOTE_BOOTSTRAP, str(confine.ROOT),
             json.dumps(library_path), str(theirs.fileno()), kind],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, env=env, start_new_session=True)
        theirs.close()
        reap.LIVE.add(self.proc.pid)
        self.sock, self.kind = ours, kind
        self.request_lock, self.changed = threading.Lock(), threading.Condition()
        self.exits: dict[int, int] = {}  # pid -> exit code (negative: its signal)
        self.replies: list[int] = []  # the pids of the children forked, not yet claimed
        self.ready, self.dead = False, False
        threading.Thread(target=self._read, daemon=True).start()

    def alive(self) -> bool:
        return not self.dead and self.proc.poll() is None

    def _read(self) -> None:
        while True:
            try:
                message = self.sock.recv(1 << 16)
            except OSError:
                message = b""
            with self.changed:
                if not message:
                    self.dead = True
                    self.changed.notify_all()
                    return
                reply = decode_reply(message)
                if isinstance(reply, Exited):
                    self.exits[reply.pid] = os.waitstatus_to_exitcode(reply.status)
                elif isinstance(reply, Spawned):
                    self.replies.append(reply.pid)
                elif isinstance(reply, ZygoteReady):
                    self.ready = True
                self.changed.notify_all()

    def spawn(self, request: SpawnRequest, ev_w: int, out_w: int) -> _Forked | None:
        """Fork a child for `request`: a _Forked, or None if the zygote is gone."""
        with self.request_lock:
            try:
                socket.send_fds(self.sock, [request.encode()], [ev_w, out_w])
            except OSError:
                return None
            with self.changed:
                self.changed.wait_for(lambda: self.replies or self.dead, timeout=300)
                if not self.replies:
                    return None
                return _Forked(self, self.replies.pop(0))

    def wait(self, pid: int, timeout: float) -> int | None:
        """The child's exit code (negative: its signal), or None if it still runs."""
        with self.changed:
            self.changed.wait_for(lambda: pid in self.exits or self.dead, timeout=timeout)
            if pid in self.exits:
                return self.exits[pid]
            return -signal.SIGKILL if self.dead else None
