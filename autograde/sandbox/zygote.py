"""The child's side: the zygote, a fork server that imports the libraries once.

A zygote is a process, started once per grader and kind (`spawn.Zygote`, in the
grader), that has numpy, matplotlib and torch (and, for kind "tf", TensorFlow) imported
already, so that a notebook's sandbox starts in milliseconds rather than seconds. It runs
only the grader's code, as the grader's user; each child it forks enters its sandbox
(`child.main`) before running any submission code. Its messages are typed in
`protocol` (`SpawnRequest`; `ZygoteReady`, `Spawned`, `Exited`).
"""

import importlib
import os
import select
import socket
import sys
import tempfile

from autograde.sandbox.protocol import (
    ZYGOTE_PRELOAD,
    Exited,
    Spawned,
    SpawnRequest,
    ZygoteReady,
    encode_reply,
)

# argv: the course, the library path (JSON), then what the entry point takes.
_PATH = "import json, sys; sys.path[:0] = [sys.argv[1], *json.loads(sys.argv[2])]; "
# A fresh interpreter's start: the child itself (argv: job file, events fd).
BOOTSTRAP = _PATH + ("from autograde.sandbox.child import main; "
                     "main(sys.argv[3], int(sys.argv[4]))")
# The zygote's start (argv: its socket's fd, its kind).
ZYGOTE_BOOTSTRAP = _PATH + ("from autograde.sandbox.zygote import serve; "
                            "serve(int(sys.argv[3]), sys.argv[4])")


def serve(control_fd: int, kind: str) -> None:
    """Serve fork requests on the SOCK_SEQPACKET socket `control_fd` until it closes.

    It imports numpy, matplotlib, torch (and TensorFlow for kind "tf", imported but
    never run: its runtime would not survive a fork), the checks and the child's module,
    then for each SpawnRequest, with two file descriptors (events, output), forks a
    child that runs `child.main`, and answers Spawned. It reports each child's end as
    Exited.
    """
    sock = socket.socket(fileno=control_fd)
    _preload(kind)
    sock.send(encode_reply(ZygoteReady()))
    while True:
        _report_exits(sock)
        ready, _, _ = select.select([sock], [], [], 0.05)
        if not ready:
            continue
        message, fds, _, _ = socket.recv_fds(sock, 1 << 16, 2)
        if not message:
            os._exit(0)  # the grader is gone
        request = SpawnRequest.decode(message)
        pid = os.fork()
        if pid == 0:
            try:
                sock.close()
                _become_child(request, fds[0], fds[1])
            finally:
                os._exit(1)
        for fd in fds:
            os.close(fd)
        sock.send(encode_reply(Spawned(pid)))


def _preload(kind: str) -> None:
    """Import what every child of this kind needs, and the checks."""
    import shutil

    # matplotlib's cache, needed while it is imported here; each child gets its own.
    os.environ["MPLCONFIGDIR"] = tempfile.mkdtemp(prefix="autograde-mpl-")
    for name in ZYGOTE_PRELOAD[kind]:
        try:
            if name == "tensorflow":
                from autograde.tfcompat import import_tf

                import_tf()
            else:
                importlib.import_module(name)
        except Exception:  # a missing library is imported (and fails) in the child instead
            pass
    from autograde import registry
    from autograde.sandbox import child, wire  # noqa: F401

    registry.exercises()
    shutil.rmtree(os.environ.pop("MPLCONFIGDIR"), ignore_errors=True)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()


def _report_exits(sock: socket.socket) -> None:
    """Tell the grader about every child that has ended (and collect it)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not pid:
            return
        sock.send(encode_reply(Exited(pid, status)))


def _become_child(request: SpawnRequest, events: int, output: int) -> None:
    """In the forked process: its own session, the child's pipes, environment and
    folder, then the child itself (which never returns)."""
    from autograde.sandbox.child import main

    os.setsid()
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.environ.clear()
    os.environ.update(request.env)
    os.chdir(request.cwd)
    main(request.job, events)
