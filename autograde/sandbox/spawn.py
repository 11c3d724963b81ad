"""Starting the child: forked from a zygote that has the libraries imported, or fresh.

A zygote is a process, started once per grader and kind, that has numpy, matplotlib and
torch (and, for kind "tf", TensorFlow) imported already, so that a notebook's sandbox
starts in milliseconds rather than seconds. Both of its ends live here: the client
(`Zygote`, in the grader) and the server (`serve`, in the zygote). Requests and answers
are JSON over a SOCK_SEQPACKET socket; the child's pipes are passed with each request.
Without a zygote the child is a fresh interpreter (`BOOTSTRAP`).

Either way the child's sys.path starts with the course and the grader's library path
(`libraries.library_path`), so it imports the same libraries as the grader, wherever
they are installed.
"""

import importlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from autograde.sandbox import confine, reap

# argv: the course, the library path (JSON), then what the entry point takes.
_PATH = "import json, sys; sys.path[:0] = [sys.argv[1], *json.loads(sys.argv[2])]; "
BOOTSTRAP = _PATH + ("from autograde.sandbox.child import main; "
                     "main(sys.argv[3], int(sys.argv[4]))")
ZYGOTE_BOOTSTRAP = _PATH + ("from autograde.sandbox.launch import serve; "
                            "serve(int(sys.argv[3]), sys.argv[4])")
ZYGOTE_PRELOAD = {
    "base": ("numpy", "matplotlib", "matplotlib.pyplot", "torch"),
    "tf": ("numpy", "matplotlib", "matplotlib.pyplot", "torch", "tensorflow"),
}


def start(kind, job_file, ev_w, out_w, workdir, cwd, library_path):
    """Start a child for `job_file`; it reports on ev_w and prints to out_w.

    kind: the zygote to fork from ("base", "tf"), or None for a fresh interpreter.
    Returns an object with `pid` and `wait(timeout)`.
    """
    zygote = _zygote(kind, library_path) if kind in ZYGOTE_PRELOAD else None
    if zygote is not None:
        child = zygote.spawn(job_file, ev_w, out_w, confine.environment(workdir), cwd)
        if child is not None:
            return child
    proc = subprocess.Popen(
        [sys.executable, "-s", "-c", BOOTSTRAP, str(confine.ROOT), json.dumps(library_path),
         str(job_file), str(ev_w)],
        stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w, pass_fds=[ev_w],
        cwd=cwd, env=confine.environment(workdir), start_new_session=True)
    reap.LIVE.add(proc.pid)
    return _Popened(proc)


def warm_up(kinds, library_path):
    """Start the zygotes of these kinds now, so their imports overlap other work."""
    for kind in kinds:
        if kind:
            _zygote(kind, library_path)


class _Popened:
    def __init__(self, proc):
        self.proc, self.pid = proc, proc.pid

    def wait(self, timeout):
        """The exit code (negative: killed by that signal), or None if still running."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        finally:
            if self.proc.returncode is not None:
                reap.LIVE.discard(self.pid)


class _Forked:
    def __init__(self, zygote, pid):
        self.zygote, self.pid = zygote, pid

    def wait(self, timeout):
        return self.zygote.wait(self.pid, timeout)


# ---------------------------------------------------------------------------------------
# The zygote's client, in the grader

_zygotes, _zygotes_lock = {}, threading.Lock()


def _zygote(kind, library_path):
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
    """A process that imports numpy, torch, ... once and forks a child per notebook.

    It runs only the grader's code (`serve`), as the grader's user; each forked child
    enters its sandbox before running any submission code.
    """

    def __init__(self, kind, library_path):
        import socket

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
        self.exits, self.replies, self.ready, self.dead = {}, [], False, False
        threading.Thread(target=self._read, daemon=True).start()

    def alive(self):
        return not self.dead and self.proc.poll() is None

    def _read(self):
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
                reply = json.loads(message)
                if "exit" in reply:
                    self.exits[reply["exit"]] = os.waitstatus_to_exitcode(reply["status"])
                elif "pid" in reply:
                    self.replies.append(reply["pid"])
                else:
                    self.ready = True
                self.changed.notify_all()

    def spawn(self, job_file, ev_w, out_w, env, cwd):
        """Fork a child for `job_file`: a _Forked, or None if the zygote is gone."""
        import socket

        with self.request_lock:
            request = json.dumps({"job": str(job_file), "env": env, "cwd": str(cwd)}).encode()
            try:
                socket.send_fds(self.sock, [request], [ev_w, out_w])
            except OSError:
                return None
            with self.changed:
                self.changed.wait_for(lambda: self.replies or self.dead, timeout=300)
                if not self.replies:
                    return None
                return _Forked(self, self.replies.pop(0))

    def wait(self, pid, timeout):
        """The child's exit code (negative: its signal), or None if it still runs."""
        with self.changed:
            self.changed.wait_for(lambda: pid in self.exits or self.dead, timeout=timeout)
            if pid in self.exits:
                return self.exits[pid]
            return -signal.SIGKILL if self.dead else None


# ---------------------------------------------------------------------------------------
# The zygote's server, in the zygote


def serve(control_fd, kind):
    """Serve fork requests on the SOCK_SEQPACKET socket `control_fd` until it closes.

    Runs only the grader's code: it imports numpy, matplotlib, torch (and TensorFlow
    for kind "tf", imported but never run: its runtime would not survive a fork), the
    checks and the child's module, then for each request {"job", "env", "cwd"} with two
    file descriptors (events, output) forks a child that runs `child.main`, and
    answers {"pid": ...}. It reports each child's end as {"exit": pid, "status": ...}.
    """
    import shutil
    import socket

    sock = socket.socket(fileno=control_fd)
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
    from autograde import registry, wire  # noqa: F401
    from autograde.sandbox.child import main

    registry.exercises()
    shutil.rmtree(os.environ.pop("MPLCONFIGDIR"), ignore_errors=True)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    sock.send(b'{"ready": true}')
    while True:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if not pid:
                break
            sock.send(json.dumps({"exit": pid, "status": status}).encode())
        ready, _, _ = select.select([sock], [], [], 0.05)
        if not ready:
            continue
        message, fds, _, _ = socket.recv_fds(sock, 1 << 16, 2)
        if not message:
            os._exit(0)  # the grader is gone
        request = json.loads(message)
        pid = os.fork()
        if pid == 0:
            try:
                sock.close()
                os.setsid()
                events, output = fds
                os.dup2(output, 1)
                os.dup2(output, 2)
                os.close(output)
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
                os.close(null)
                os.environ.clear()
                os.environ.update(request["env"])
                os.chdir(request["cwd"])
                main(request["job"], events)
            finally:
                os._exit(1)
        for fd in fds:
            os.close(fd)
        sock.send(json.dumps({"pid": pid}).encode())
