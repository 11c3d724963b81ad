"""Running a notebook's code in a child process the grader can always stop and clean up.

`run_notebook(cells, exercises, limits)` runs the code cells of one notebook, in order,
in a child process (`autograde._runner`) and collects, for each exercise, what its
checks returned. The child:

- runs as a dedicated unprivileged user when the grader is root (a fresh uid per child,
  so that its processes can all be found and killed, and RLIMIT_NPROC counts only
  them), with no network, in a scratch folder, with a clean environment;
- has limits on memory (RLIMIT_AS), processes (RLIMIT_NPROC), file size, CPU time and
  output (what it prints beyond `limits.output_mb` stops it);
- is watched with the grader's own clock: a cell or an exercise that runs past the time
  limit, a crash, or an exit stops the child; the step it was at is left out and a
  new child runs the rest of the notebook, so one broken cell costs only that cell
  (and the exercises that need it).

Nothing the child writes is executed or unpickled: inputs and outputs cross as JSON and
`.npy` files (`autograde.wire`); the child reports its progress as JSON lines on a pipe,
and the grader accepts only the steps it expects next. Every process the child started
is killed before `run_notebook` returns.

The child is forked from a zygote (`autograde._runner.zygote`): a process, started once
per grader, that has numpy, matplotlib and torch (and, for TensorFlow notebooks,
TensorFlow) imported already, so that a notebook's sandbox starts in milliseconds
rather than seconds. It falls back to a fresh interpreter if no zygote can run.
"""

import fcntl
import json
import os
import pwd
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograde import wire
from autograde.tfcompat import _ENVIRONMENT as TF_ENVIRONMENT

ROOT = Path(__file__).resolve().parent.parent
BOOTSTRAP = ("import sys; sys.path.insert(0, sys.argv[1]); from autograde._runner import main; "
             "main(sys.argv[2], int(sys.argv[3]))")
UID_POOL = range(61000, 61512)  # user ids for sandboxes (skipped if /etc/passwd uses one)
MAX_OUTPUT_BYTES = 256 * 2**20  # what one exercise's outputs may hold, all cases together


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


@dataclass
class ExerciseRun:
    """What the child reported for one exercise.

    cell:   {"ok": bool, "defined": bool, "error": {...}} from running its cell, or None.
    cases:  one entry per case: {"status", "outputs" or "error"}, or None if it has none.
    ended:  how the run ended: "exited", "signal", "timeout", "inline", or a reason
            (a sentence) when the child itself died or was stopped during it.
    code:   exit status or signal number.
    """

    cell: dict | None
    cases: list
    ended: str
    code: int | None = None


@dataclass
class NotebookRun:
    exercises: dict = field(default_factory=dict)  # id -> ExerciseRun
    cell_errors: dict = field(default_factory=dict)  # cell index -> what went wrong
    facts: dict = field(default_factory=dict)  # uid, network: how the sandbox ran
    error: str = ""  # the sandbox could not start


class Inputs:
    """The cases' inputs, handed over by the grader while the sandboxes already run.

    The grader computes each exercise's cases (and their expected outputs) while the
    notebooks' children start up and run their first cells; a child waits for an
    exercise's inputs only when it gets to that exercise.
    """

    def __init__(self):
        self._inputs, self._lock = {}, threading.Lock()

    def put(self, id, inputs):
        """The inputs of each case of exercise `id` (a list; empty if it has none)."""
        with self._lock:
            self._inputs[id] = list(inputs)

    def get(self, id):
        """The list given to `put`, or None if it has not been given yet."""
        with self._lock:
            return self._inputs.get(id)


def run_notebook(cells, exercises, limits, inputs, inline=False, kind="base"):
    """Run `cells` in a sandbox and the checks of `exercises`.

    cells:     [{"index": i, "code": str, "exercise": id or None}], in notebook order.
    exercises: id -> {"module": str, "from_scratch": bool}.
    inputs:    an `Inputs`, where the cases of every exercise arrive (or have arrived).
    inline:    run every exercise in the child itself instead of a forked grandchild
               (what happens anyway once TensorFlow is loaded); for tests.
    kind:      what the child should have imported already: "base" (numpy, matplotlib,
               torch), "tf" (and TensorFlow), or None for a fresh interpreter.
    Returns a NotebookRun.
    """
    result = NotebookRun()
    base = Path(tempfile.mkdtemp(prefix="autograde-"))
    try:
        os.chmod(base, 0o711)  # the sandbox user may enter, not list
        (base / "in").mkdir()
        os.chmod(base / "in", 0o755)
        feed = _Feed(base / "in", exercises, inputs)
        cells = [dict(c) for c in cells]
        steps = len(cells) + len(exercises)
        budget = time.monotonic() + limits.startup * 2 + limits.timeout * (steps + 2) * 1.5
        for attempt in range(len(cells) + 2):
            pending = {c["exercise"] for c in cells if c.get("exercise")} - set(result.exercises)
            if not pending and attempt:
                break
            for c in cells:
                if c.get("exercise") and c["exercise"] not in pending:
                    c["exercise"] = None  # graded already: now only context
            outcome = _attempt(base, attempt, cells, exercises, limits, inline, budget, feed,
                               kind)
            result.facts = outcome.facts or result.facts
            result.exercises.update(outcome.exercises)
            result.cell_errors.update(outcome.cell_errors)
            if outcome.finished:
                break
            if outcome.startup_error:
                result.error = outcome.startup_error
                break
            step, key = outcome.step
            if step == "exercise":
                run = outcome.exercises.get(key) or _read_exercise(
                    outcome.outdir, key, feed.count(key), outcome.reason)
                run.ended = outcome.reason
                result.exercises[key] = run
                if run.cell is None:  # it died running the cell itself: leave the cell out
                    cells = [c for c in cells if c["index"] != _cell_of(cells, key)]
            else:  # a cell, or between steps: then the last cell that ran is to blame
                key = key if step == "cell" else outcome.last_cell
                if key is None:
                    result.error = f"the sandbox stopped before the first cell: {outcome.reason}"
                    break
                result.cell_errors[key] = outcome.reason
                cells = [c for c in cells if c["index"] != key]
            if time.monotonic() > budget:
                break
        for c in cells:
            id = c.get("exercise")
            if id and id not in result.exercises:
                result.exercises[id] = ExerciseRun(None, [None] * feed.count(id),
                                                   "the notebook's code ran past the grader's "
                                                   "time budget before this exercise")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return result


class _Feed:
    """Writes each exercise's inputs into the sandbox's in/ folder as they arrive."""

    def __init__(self, folder, exercises, inputs):
        self.folder, self.inputs = folder, inputs
        self.waiting = set(exercises)

    def deliver(self):
        """Write the inputs that have arrived, each exercise's at once, then its READY."""
        for id in sorted(self.waiting):
            cases = self.inputs.get(id)
            if cases is None:
                continue
            for i, value in enumerate(cases):
                wire.write(self.folder / id / str(i), value, inputs=True)
            (self.folder / id).mkdir(exist_ok=True)
            _make_readable(self.folder / id)
            temporary = self.folder / id / ".READY"
            temporary.write_text(json.dumps({"cases": len(cases)}))
            temporary.chmod(0o644)
            temporary.rename(self.folder / id / "READY")  # atomic: the child sees all or nothing
            self.waiting.discard(id)

    def ready(self, id):
        return id not in self.waiting

    def count(self, id):
        cases = self.inputs.get(id)
        return len(cases) if cases is not None else 0


def _cell_of(cells, id):
    return next((c["index"] for c in cells if c.get("exercise") == id), None)


@dataclass
class _Outcome:
    finished: bool = False
    step: tuple = ("startup", None)
    reason: str = ""
    startup_error: str = ""
    exercises: dict = field(default_factory=dict)
    cell_errors: dict = field(default_factory=dict)
    facts: dict = field(default_factory=dict)
    outdir: Path = None
    last_cell: int | None = None  # the index of the last cell that finished


def _attempt(base, attempt, cells, exercises, limits, inline, budget, feed, kind):
    """Start one child for `cells` and follow it until it is done, dies or overruns."""
    outdir, workdir = base / f"out{attempt}", base / f"work{attempt}"
    outcome = _Outcome(outdir=outdir)
    with _SandboxUser() as uid:
        for folder in (outdir, workdir):
            folder.mkdir(mode=0o700)
            if uid is not None:
                os.chown(folder, uid, uid)
        graded = {c["exercise"] for c in cells if c.get("exercise")}
        job = {
            "workdir": str(workdir), "outdir": str(outdir), "indir": str(base / "in"),
            "timeout": limits.timeout, "inline": inline, "kill_all_mine": uid is not None,
            "cells": cells,
            "exercises": {id: {"module": spec["module"], "from_scratch": spec["from_scratch"]}
                          for id, spec in exercises.items() if id in graded},
            "sandbox": {"uid": uid, "gid": uid, "expose": _exposed(uid),
                        "stage": str(base / f"stage{attempt}"),
                        "limits": _rlimits(limits, uid, len(cells) + len(graded))},
        }
        job_file = base / f"job{attempt}.json"
        job_file.write_text(json.dumps(job))
        job_file.chmod(0o600)  # read while the child is still root
        ev_r, ev_w = os.pipe()
        out_r, out_w = os.pipe()
        try:
            proc = _start(kind, job_file, ev_w, out_w, workdir, base)
        finally:
            os.close(ev_w)
            os.close(out_w)

        def stop():
            _kill_group(proc.pid)
            if uid is not None:
                _kill_user(uid)

        drain = _Drain(out_r, limits.output_mb * 2**20, stop)
        try:
            _follow(proc, ev_r, drain, job, limits, outcome, budget, feed)
        finally:
            os.close(ev_r)
            _kill_group(proc.pid)
            if uid is not None:
                _kill_user(uid)
            else:
                _kill_session(proc.pid)
            proc.wait(timeout=10)
            drain.join()
            _LIVE.discard(proc.pid)
        if outcome.step[0] == "startup" and not outcome.finished:
            outcome.startup_error = (outcome.reason + ". " + drain.head.decode(
                errors="replace").strip()[-2000:]).strip()
    return outcome


def _follow(proc, ev_r, drain, job, limits, outcome, budget, feed):
    """Read the child's events until it is done; on a hang, crash or overrun, stop it."""
    steps = _Steps(job["cells"])
    deadline = time.monotonic() + limits.startup
    waiting = None  # the exercise whose inputs the child waits for (its clock is stopped)
    buffer = b""
    while True:
        feed.deliver()
        now = time.monotonic()
        if waiting is not None:
            if not feed.ready(waiting):
                deadline = now + limits.timeout
            else:
                waiting = None
        if drain.exceeded:
            outcome.reason = (f"printed more than {limits.output_mb:g} MB (the output limit); "
                              f"it was stopped")
            return
        if now > min(deadline, budget):
            outcome.reason = ("the sandbox did not start in time" if outcome.step[0] == "startup"
                              else f"did not finish within {limits.timeout:g} s (the time limit)")
            return
        ready, _, _ = select.select([ev_r], [], [], min(deadline - now, 0.25))
        if not ready:
            continue
        chunk = os.read(ev_r, 65536)
        if not chunk:
            outcome.reason = _death(proc, drain, limits)
            return
        buffer += chunk
        if len(buffer) > 2**20:
            outcome.reason = "sent the grader garbage"
            return
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            try:
                event = json.loads(line)
                kind = event["e"]
            except (ValueError, KeyError, TypeError):
                continue  # not from the runner
            if outcome.step[0] == "startup":
                if kind == "ready":
                    outcome.facts = {k: event.get(k) for k in ("uid", "network")}
                    outcome.step = ("ready", None)
                    deadline = time.monotonic() + limits.timeout
                continue
            if kind == "done" and steps.finished():
                outcome.finished = True
                return
            if kind == "wait" and steps.next_exercise() == event.get("id"):
                waiting = event["id"]
                continue
            step = steps.advance(event)
            if step is None:
                continue  # out of order: a cell of the submission may write here too
            kind, key, state = step
            if state == "start":
                outcome.step = (kind, key)
                # A forked exercise is timed by the child, which then needs a moment to stop
                # it and report; an exercise run in the child itself is timed from here.
                slack = 2 if kind == "exercise" and not event.get("inline") else 0
                deadline = time.monotonic() + limits.timeout + slack
                continue
            outcome.step = ("between", None)
            deadline = time.monotonic() + limits.timeout
            if kind == "exercise":
                how = event.get("how")
                code = event.get("code")
                outcome.exercises[key] = _read_exercise(
                    Path(job["outdir"]), key, feed.count(key),
                    how if how in ("exited", "signal", "timeout", "inline") else "exited",
                    code if isinstance(code, int) else None)
            else:
                outcome.last_cell = key
                if event.get("error"):
                    outcome.cell_errors[key] = event["error"]


class _Steps:
    """The order in which the runner reports its steps, to accept only the expected next one.

    Each cell reports "cell start/end"; an exercise cell first reports "exercise
    start/end", after which its cell runs again in the runner (or not, when its code
    failed or it already ran there).
    """

    def __init__(self, cells):
        self.cells, self.pos, self.phase = cells, 0, "idle"

    def _first(self, cell):
        if cell.get("exercise"):
            return ("exercise", cell["exercise"], "start"), "exercise"
        return ("cell", cell["index"], "start"), "cell"

    def advance(self, event):
        kind = event.get("e")
        seen = (kind, event.get("i") if kind == "cell" else event.get("id"), event.get("s"))
        cell = self.cells[self.pos] if self.pos < len(self.cells) else None
        if self.phase == "exercise":
            if seen == ("exercise", cell["exercise"], "end"):
                self.phase = "after_exercise"
                return seen
            return None
        if self.phase == "cell":
            if seen == ("cell", cell["index"], "end"):
                self.phase, self.pos = "idle", self.pos + 1
                return seen
            return None
        if self.phase == "after_exercise":
            if seen == ("cell", cell["index"], "start"):
                self.phase = "cell"
                return seen
            following = self.cells[self.pos + 1] if self.pos + 1 < len(self.cells) else None
            if following is not None and seen == self._first(following)[0]:
                self.pos, self.phase = self.pos + 1, self._first(following)[1]
                return seen
            return None
        if cell is not None and seen == self._first(cell)[0]:
            self.phase = self._first(cell)[1]
            return seen
        return None

    def next_exercise(self):
        """The exercise whose start is expected next, if any."""
        for pos, phase in ((self.pos, "idle"), (self.pos + 1, "after_exercise")):
            if self.phase == phase and pos < len(self.cells):
                return self.cells[pos].get("exercise")
        return None

    def finished(self):
        return (self.phase == "idle" and self.pos == len(self.cells)) or (
            self.phase == "after_exercise" and self.pos == len(self.cells) - 1)


def _death(proc, drain, limits):
    """Why the child's event pipe closed: how it ended."""
    code = proc.wait(timeout=5)
    if code is None:
        return "closed the grader's channel and kept running"
    if drain.exceeded:
        return f"printed more than {limits.output_mb:g} MB (the output limit); it was stopped"
    return describe_end("signal" if code < 0 else "exited", -code if code < 0 else code)


def describe_end(how, code):
    """A sentence for how a process ended, for the feedback."""
    if how == "signal":
        name = _signal_name(code)
        hint = {signal.SIGKILL: " (the memory or process limit, or it killed itself?)",
                signal.SIGXCPU: " (the CPU time limit)", signal.SIGSEGV: " (a crash)",
                signal.SIGXFSZ: " (the file size limit)"}.get(code, "")
        return f"the process running it was killed by {name}{hint}"
    return (f"the process running it exited (status {code}) before finishing: does the code "
            f"call sys.exit, os._exit or kill its process?")


def _signal_name(number):
    try:
        return signal.Signals(number).name
    except (ValueError, TypeError):
        return f"signal {number}"


def _read_exercise(outdir, id, n_cases, ended, code=None):
    """The cell status and case results an exercise's run left in outdir/id."""
    def value(name):
        try:
            return wire.read(outdir, [id, name], MAX_OUTPUT_BYTES)
        except wire.WireError:
            return None

    cell = value("cell") if outdir else None
    cell = cell if isinstance(cell, dict) else None
    cases = [value(str(i)) if cell else None for i in range(n_cases)]
    cases = [c if isinstance(c, dict) else None for c in cases]
    return ExerciseRun(cell, cases, ended, code)


# ---------------------------------------------------------------------------------------
# Starting the child: forked from a zygote that has the libraries imported, or fresh


def _start(kind, job_file, ev_w, out_w, workdir, base):
    """Start a runner for `job_file`; it reports on ev_w and prints to out_w."""
    zygote = _zygote(kind) if kind in ("base", "tf") else None
    if zygote is not None:
        child = zygote.spawn(job_file, ev_w, out_w, _environment(workdir), base)
        if child is not None:
            return child
    proc = subprocess.Popen(
        [sys.executable, "-s", "-c", BOOTSTRAP, str(ROOT), str(job_file), str(ev_w)],
        stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w, pass_fds=[ev_w],
        cwd=base, env=_environment(workdir), start_new_session=True)
    _LIVE.add(proc.pid)
    return _Popened(proc)


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
                _LIVE.discard(self.pid)


class _Forked:
    def __init__(self, zygote, pid):
        self.zygote, self.pid = zygote, pid

    def wait(self, timeout):
        return self.zygote.wait(self.pid, timeout)


ZYGOTE_BOOTSTRAP = ("import sys; sys.path.insert(0, sys.argv[1]); from autograde._runner import "
                    "zygote; zygote(int(sys.argv[2]), sys.argv[3])")
_zygotes, _zygotes_lock = {}, threading.Lock()


def _zygote(kind):
    """The running zygote of this kind (started on first use), or None if it cannot run."""
    with _zygotes_lock:
        zygote = _zygotes.get(kind)
        if zygote is None or not zygote.alive():
            try:
                zygote = _zygotes[kind] = _Zygote(kind)
            except OSError:
                return None
        return zygote


def warm_up(kinds):
    """Start the zygotes of these kinds now, so their imports overlap other work."""
    for kind in kinds:
        if kind:
            _zygote(kind)


class _Zygote:
    """A process that imports numpy, torch, ... once and forks a runner per notebook.

    It runs only the grader's code (`autograde._runner.zygote`), as the grader's user;
    each forked runner enters its sandbox before running any submission code. Requests
    and answers go over a SOCK_SEQPACKET socket; the runner's pipes are passed with it.
    """

    def __init__(self, kind):
        import socket

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {k: v for k, v in _environment(Path(tempfile.gettempdir())).items()
               if k not in ("HOME", "TMPDIR", "MPLCONFIGDIR")}
        env.update(HOME=tempfile.gettempdir())
        self.proc = subprocess.Popen(
            [sys.executable, "-s", "-c", ZYGOTE_BOOTSTRAP, str(ROOT), str(theirs.fileno()), kind],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, env=env, start_new_session=True)
        theirs.close()
        _LIVE.add(self.proc.pid)
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
        """Fork a runner for `job_file`: a _Forked, or None if the zygote is gone."""
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
        """The runner's exit code (negative: its signal), or None if it still runs."""
        with self.changed:
            self.changed.wait_for(lambda: pid in self.exits or self.dead, timeout=timeout)
            if pid in self.exits:
                return self.exits[pid]
            return -signal.SIGKILL if self.dead else None


# ---------------------------------------------------------------------------------------
# The child's user, environment and limits


class _SandboxUser:
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
            _kill_user(uid)
            return uid
        raise RuntimeError(f"no free sandbox user id in {UID_POOL}")

    def __exit__(self, *exc):
        if self.uid is not None:
            _kill_user(self.uid)
            self.lock.close()


def stray_processes():
    """Live processes of sandbox users that no grader holds now: what a grader left behind.

    (A uid held by a grader that is running, here or in another process, is skipped.)
    """
    by_uid = {}
    for pid in _pids():
        try:
            uid = os.stat(f"/proc/{pid}").st_uid
            if uid in UID_POOL and _state(pid) != "Z":
                by_uid.setdefault(uid, []).append(int(pid))
        except OSError:
            pass
    stray = []
    for uid, pids in by_uid.items():
        try:
            with open(_SandboxUser.LOCKS / str(uid), "a") as lock:
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


def _environment(workdir):
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


def _rlimits(limits, uid, steps):
    mb = 2**20
    processes = limits.processes
    if uid is None:  # RLIMIT_NPROC counts all of this user's threads: leave room for them
        processes += _threads_of(os.getuid())
    return {"memory": int(limits.memory_mb * mb), "processes": int(processes),
            "file_size": int(limits.file_mb * mb),
            "cpu": int(limits.startup + limits.timeout * (steps + 1)) + 1}


def _threads_of(uid):
    count = 0
    for pid in _pids():
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                count += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            pass
    return count


def _exposed(uid):
    """[folder, [entries]]: what the child sees of some folders (see _runner.enter_sandbox).

    The course folder shows only autograde/ (not solutions/ or tests/, which hold
    answers). When the grader is root, a folder on the way to Python or the course that
    the sandbox user may not enter (e.g. /root, mode 700) shows only that way.
    """
    exposed = {str(ROOT): {"autograde"}}
    if uid is not None:
        needed = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(ROOT),
                  os.path.dirname(os.path.realpath(sys.executable))}
        needed |= {p for p in sys.path if p and os.path.isdir(p)}
        for path in sorted(needed):
            parts = Path(os.path.realpath(path)).parts
            for depth in range(1, len(parts) - 1):
                folder = os.path.join(*parts[:depth + 1])
                try:
                    mode = os.stat(folder).st_mode
                except OSError:
                    break
                if not mode & stat.S_IXOTH:
                    exposed.setdefault(folder, set()).add(parts[depth + 1])
                    break
    # Outer folders first: a folder shown inside a covered one is covered after it.
    return [[folder, sorted(entries)] for folder, entries in
            sorted(exposed.items(), key=lambda item: len(Path(item[0]).parts))]


def _make_readable(folder):
    for dirpath, _, filenames in os.walk(folder):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)


# ---------------------------------------------------------------------------------------
# Stopping everything


class _Drain(threading.Thread):
    """Reads what the child prints (and throws it away), stopping it past `limit` bytes.

    Keeps the first bytes, which explain a child that failed to start.
    """

    def __init__(self, fd, limit, stop):
        super().__init__(daemon=True)
        self.fd, self.limit, self.stop = fd, limit, stop
        self.total, self.head, self.exceeded = 0, b"", False
        self.start()

    def run(self):
        try:
            while True:
                chunk = os.read(self.fd, 1 << 16)
                if not chunk:
                    return
                if len(self.head) < 8192:
                    self.head += chunk[:8192 - len(self.head)]
                self.total += len(chunk)
                if self.total > self.limit and not self.exceeded:
                    self.exceeded = True
                    self.stop()
        finally:
            os.close(self.fd)

    def join(self, timeout=10):
        super().join(timeout)


def _kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass


def _kill_user(uid):
    """Kill every process of `uid` (a sandbox user), `kill -1` run as that user, and wait
    (a few seconds at most) until they are gone: a big process takes a while to die."""
    deadline = time.monotonic() + 10
    while _processes_of(uid) and time.monotonic() < deadline:
        # The shell's own kill: kill(-1, SIGKILL) signals every process the user may signal.
        subprocess.run(["/bin/sh", "-c", "kill -9 -1"], user=uid, group=uid, extra_groups=[],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/")
        time.sleep(0.01)


def _processes_of(uid):
    """The live (not zombie) processes of `uid`."""
    pids = []
    for pid in _pids():
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid and _state(pid) != "Z":
                pids.append(int(pid))
        except OSError:
            pass
    return pids


def _pids():
    """The process ids in /proc, as strings (none where there is no /proc)."""
    try:
        return [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return []


def _state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


_LIVE = set()  # pids of the children started by run_notebook that are still running
_subreaper = False


def become_subreaper():
    """Make this process the one orphaned sandbox processes are given to (not init), so
    that, without root, the grader can still find and kill what a submission left behind.
    For the command line's process only: it then kills such orphans after each notebook."""
    global _subreaper
    import ctypes

    PR_SET_CHILD_SUBREAPER = 36
    _subreaper = ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def _kill_session(sid):
    """Without root: kill the processes of the child's session, what they forked off into
    new sessions (as far as the parent links show) and, for a subreaper, the orphans."""
    for _ in range(20):
        victims = _session_members(sid) + (_orphans() if _subreaper else [])
        if not victims:
            return
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.02)


def _session_members(sid):
    table = {}
    for pid in _pids():
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            table[int(pid)] = (int(fields[1]), int(fields[3]), fields[0])  # ppid, sid, state
        except (OSError, IndexError, ValueError):
            pass
    members = {pid for pid, (_, s, state) in table.items() if s == sid and state != "Z"}
    grown = True
    while grown:  # descendants of members, whatever their session
        grown = False
        for pid, (ppid, _, state) in table.items():
            if ppid in members and pid not in members and state != "Z":
                members.add(pid)
                grown = True
    members.discard(os.getpid())
    return sorted(members)


def _orphans():
    """Children of this process that it did not start (sandbox processes whose parent died)."""
    me, mine = os.getpid(), []
    for pid in _pids():
        if int(pid) not in _LIVE:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    state, ppid = f.read().rsplit(")", 1)[1].split()[:2]
            except (OSError, IndexError, ValueError):
                continue
            if int(ppid) != me:
                continue
            try:
                if state == "Z":
                    os.waitpid(int(pid), os.WNOHANG)
                else:
                    os.kill(int(pid), signal.SIGKILL)
                    mine.append(int(pid))
            except OSError:
                pass
    return mine
