"""Supervising one attempt: start a child for some cells, follow it, stop it, read its results.

`attempt` starts a child (`launch.start`) as a sandbox user of its own, writes its job,
and follows its events with the grader's own clock: a cell or an exercise that runs
past the time limit, a crash, an exit, or too much output stops the child. It accepts
only the event expected next (`Steps`), and reports where the child got to (`Outcome`),
so that `run_notebook` can leave that step out and start another attempt. Every process
of the attempt is killed before it returns.
"""

import os
import select
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograde import wire
from autograde.sandbox import confine, launch, reap
from autograde.sandbox.protocol import (
    FORKED_ENDS,
    Confinement,
    End,
    Event,
    EventKind,
    ExerciseRun,
    Job,
    Phase,
    decode_case,
    decode_cell,
)

MAX_OUTPUT_BYTES = 256 * 2**20  # what one exercise's outputs may hold, all cases together


@dataclass
class Outcome:
    """Where an attempt got to and what it left."""

    finished: bool = False
    step: tuple = ("startup", None)  # (kind, key): "startup", "ready", "cell", "exercise", "between"
    reason: str = ""  # why it stopped, a sentence
    startup_error: str = ""
    exercises: dict = field(default_factory=dict)
    cell_errors: dict = field(default_factory=dict)
    facts: dict = field(default_factory=dict)
    outdir: Path = None
    last_cell: int | None = None  # the index of the last cell that finished


def attempt(base, number, cells, exercises, limits, inline, budget, feed, kind, libraries):
    """Start one child for `cells` and follow it until it is done, dies or overruns."""
    outdir, workdir = base / f"out{number}", base / f"work{number}"
    outcome = Outcome(outdir=outdir)
    with confine.SandboxUser() as uid:
        for folder in (outdir, workdir):
            folder.mkdir(mode=0o700)
            if uid is not None:
                os.chown(folder, uid, uid)
        graded = {c["exercise"] for c in cells if c.get("exercise")}
        job = Job(
            cells=cells,
            exercises={id: {"module": spec["module"], "from_scratch": spec["from_scratch"]}
                       for id, spec in exercises.items() if id in graded},
            workdir=str(workdir), outdir=str(outdir), indir=str(base / "in"),
            timeout=limits.timeout, inline=inline, kill_all_mine=uid is not None,
            confinement=Confinement(uid=uid, gid=uid,
                                    expose=confine.exposed(uid, libraries.path),
                                    stage=str(base / f"stage{number}"),
                                    limits=confine.rlimits(limits, uid, len(cells) + len(graded))),
            libraries=libraries)
        job_file = base / f"job{number}.json"
        job.write(job_file)
        job_file.chmod(0o600)  # read while the child is still root
        ev_r, ev_w = os.pipe()
        out_r, out_w = os.pipe()
        try:
            proc = launch.start(kind, job_file, ev_w, out_w, workdir, base, libraries.path)
        finally:
            os.close(ev_w)
            os.close(out_w)

        def stop():
            reap.kill_group(proc.pid)
            if uid is not None:
                reap.kill_user(uid)

        drain = Drain(out_r, limits.output_mb * 2**20, stop)
        try:
            _follow(proc, ev_r, drain, job, limits, outcome, budget, feed)
        finally:
            os.close(ev_r)
            reap.kill_group(proc.pid)
            if uid is not None:
                reap.kill_user(uid)
            else:
                reap.kill_session(proc.pid)
            proc.wait(timeout=10)
            drain.join()
            reap.LIVE.discard(proc.pid)
        if outcome.step[0] == "startup" and not outcome.finished:
            outcome.startup_error = (outcome.reason + ". " + drain.head.decode(
                errors="replace").strip()[-2000:]).strip()
    return outcome


def _follow(proc, ev_r, drain, job, limits, outcome, budget, feed):
    """Read the child's events until it is done; on a hang, crash or overrun, stop it."""
    steps = Steps(job.cells)
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
            event = Event.parse(line)
            if event is None:
                continue  # not from the runner
            if outcome.step[0] == "startup":
                if event.kind is EventKind.READY:
                    facts = event.facts or {}
                    outcome.facts = {k: facts.get(k) for k in ("uid", "network")}
                    outcome.step = ("ready", None)
                    deadline = time.monotonic() + limits.timeout
                continue
            if event.kind is EventKind.DONE and steps.finished():
                outcome.finished = True
                return
            if event.kind is EventKind.WAIT and steps.next_exercise() == event.id:
                waiting = event.id
                continue
            step = steps.advance(event)
            if step is None:
                continue  # out of order: a cell of the submission may write here too
            kind, key, phase = step
            if phase is Phase.START:
                outcome.step = (kind, key)
                # A forked exercise is timed by the child, which then needs a moment to stop
                # it and report; an exercise run in the child itself is timed from here.
                slack = 2 if kind is EventKind.EXERCISE and not event.inline else 0
                deadline = time.monotonic() + limits.timeout + slack
                continue
            outcome.step = ("between", None)
            deadline = time.monotonic() + limits.timeout
            if kind is EventKind.EXERCISE:
                end = event.end if event.end in (*FORKED_ENDS, End.INLINE) else End.EXITED
                outcome.exercises[key] = read_exercise(Path(job.outdir), key, feed.count(key),
                                                       end, event.code)
            else:
                outcome.last_cell = key
                if event.error:
                    outcome.cell_errors[key] = event.error


class Steps:
    """The order in which the child reports its steps, to accept only the expected next one.

    Each cell reports "cell start/end"; an exercise cell first reports "exercise
    start/end", after which its cell runs again in the child (or not, when its code
    failed or it already ran there).
    """

    def __init__(self, cells):
        self.cells, self.pos, self.phase = cells, 0, "idle"

    def _first(self, cell):
        if cell.get("exercise"):
            return (EventKind.EXERCISE, cell["exercise"], Phase.START), "exercise"
        return (EventKind.CELL, cell["index"], Phase.START), "cell"

    def advance(self, event):
        """(kind, key, phase) if `event` is the step expected next, else None."""
        key = event.index if event.kind is EventKind.CELL else event.id
        seen = (event.kind, key, event.phase)
        cell = self.cells[self.pos] if self.pos < len(self.cells) else None
        if self.phase == "exercise":
            if seen == (EventKind.EXERCISE, cell["exercise"], Phase.END):
                self.phase = "after_exercise"
                return seen
            return None
        if self.phase == "cell":
            if seen == (EventKind.CELL, cell["index"], Phase.END):
                self.phase, self.pos = "idle", self.pos + 1
                return seen
            return None
        if self.phase == "after_exercise":
            if seen == (EventKind.CELL, cell["index"], Phase.START):
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
    return describe_end(End.SIGNAL if code < 0 else End.EXITED, -code if code < 0 else code)


def describe_end(end, code):
    """A sentence for how a process ended (End.SIGNAL or End.EXITED), for the feedback."""
    if end is End.SIGNAL:
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


def read_exercise(outdir, id, n_cases, ended, code=None, reason=""):
    """The cell result and case results an exercise's run left in outdir/id, decoded."""
    def value(name):
        try:
            return wire.read(outdir, [id, name], MAX_OUTPUT_BYTES)
        except wire.WireError:
            return None

    cell = decode_cell(value("cell")) if outdir else None
    cases = [decode_case(value(str(i))) if cell else None for i in range(n_cases)]
    return ExerciseRun(cell, cases, ended, code, reason)


class Drain(threading.Thread):
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
