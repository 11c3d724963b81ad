"""Supervising one attempt: start a child for some cells, follow it, stop it, read its results.

`attempt` starts a child (`spawn.start`) as a sandbox user of its own, writes its job,
and follows its events (`follow`) with the grader's own clock: a cell or an exercise
that runs past the time limit, a crash, an exit, or too much output stops the child.
It reports where the child got to (`Outcome`), so that `run_notebook` can leave that
step out and start another attempt. Every process of the attempt is killed before it
returns.
"""

import os
import select
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from autograde.sandbox import confine, reap, spawn, wire
from autograde.sandbox.confine import Limits
from autograde.sandbox.feed import Feed
from autograde.sandbox.protocol import (
    FORKED_ENDS,
    Cell,
    Confinement,
    End,
    Event,
    EventKind,
    ExerciseRun,
    ExerciseSpec,
    Job,
    JSONDict,
    Libraries,
    Phase,
    decode_case,
    decode_cell,
)
from autograde.sandbox.steps import Step, Steps

MAX_OUTPUT_BYTES = 256 * 2**20  # what one exercise's outputs may hold, all cases together


@dataclass(frozen=True)
class Sandbox:
    """One notebook's sandbox: what every attempt at it shares.

    base:      the sandbox's folder: in/ (the inputs), and per attempt n its job file,
               work<n>/ (the child's home), out<n>/ (its results) and stage<n>/.
    exercises: id -> ExerciseSpec, for every exercise of the notebook.
    limits:    the submission's Limits; inline: run exercises in the child itself.
    kind:      the zygote to fork from ("base", "tf") or None for a fresh interpreter.
    libraries: the grader's libraries, which the child searches and trusts.
    feed:      writes the cases' inputs into in/ as they arrive.
    budget:    time.monotonic() past which the whole notebook is stopped.
    """

    base: Path
    exercises: dict[str, ExerciseSpec]
    limits: Limits
    inline: bool
    kind: str | None
    libraries: Libraries
    feed: Feed
    budget: float


class Stage(StrEnum):
    """Where the child was when the attempt ended."""

    STARTUP = "startup"  # not in its sandbox yet
    READY = "ready"  # in its sandbox, before the first cell
    CELL = "cell"  # running a cell (the step's key: its index)
    EXERCISE = "exercise"  # running an exercise (the step's key: its id)
    BETWEEN = "between"  # between two steps


# A step's key: a cell's index, or an exercise's id (None: no step).
StepKey = int | str | None


@dataclass
class Outcome:
    """Where an attempt got to and what it left."""

    outdir: Path
    finished: bool = False
    step: tuple[Stage, StepKey] = (Stage.STARTUP, None)
    reason: str = ""  # why it stopped, a sentence
    startup_error: str = ""
    exercises: dict[str, ExerciseRun] = field(default_factory=dict)
    cell_errors: dict[int, JSONDict | str] = field(default_factory=dict)
    facts: JSONDict = field(default_factory=dict)
    last_cell: int | None = None  # the index of the last cell that finished


def attempt(sandbox: Sandbox, number: int, cells: list[Cell]) -> Outcome:
    """Start child number `number` for `cells`; follow it until it is done, dies or
    overruns."""
    base = sandbox.base
    outdir, workdir = base / f"out{number}", base / f"work{number}"
    outcome = Outcome(outdir=outdir)
    with confine.SandboxUser() as uid:
        for folder in (outdir, workdir):
            folder.mkdir(mode=0o700)
            if uid is not None:
                os.chown(folder, uid, uid)
        job = _job(sandbox, number, cells, uid)
        job_file = base / f"job{number}.json"
        job.write(job_file)
        job_file.chmod(0o600)  # read while the child is still root
        ev_r, ev_w = os.pipe()
        out_r, out_w = os.pipe()
        try:
            child = spawn.start(sandbox.kind, job_file, ev_w, out_w, workdir, base,
                                sandbox.libraries.path)
        finally:
            os.close(ev_w)
            os.close(out_w)

        def stop() -> None:
            reap.kill_group(child.pid)
            if uid is not None:
                reap.kill_user(uid)

        drain = Drain(out_r, int(sandbox.limits.output_mb * 2**20), stop)
        try:
            _Follower(child, drain, job, sandbox, outcome).run(ev_r)
        finally:
            os.close(ev_r)
            _stop_all(child, uid, drain)
        if outcome.step[0] is Stage.STARTUP and not outcome.finished:
            outcome.startup_error = (outcome.reason + ". " + drain.head.decode(
                errors="replace").strip()[-2000:]).strip()
    return outcome


def _job(sandbox: Sandbox, number: int, cells: list[Cell], uid: int | None) -> Job:
    """The child's Job for an attempt at `cells` (with the specs of their exercises)."""
    graded = {c.exercise for c in cells if c.exercise}
    base = sandbox.base
    return Job(
        cells=cells,
        exercises={id: spec for id, spec in sandbox.exercises.items() if id in graded},
        workdir=str(base / f"work{number}"), outdir=str(base / f"out{number}"),
        indir=str(base / "in"), timeout=sandbox.limits.timeout, inline=sandbox.inline,
        kill_all_mine=uid is not None,
        confinement=Confinement(
            uid=uid, gid=uid, expose=confine.exposed(uid, sandbox.libraries.path),
            stage=str(base / f"stage{number}"),
            limits=confine.rlimits(sandbox.limits, uid, len(cells) + len(graded))),
        libraries=sandbox.libraries)


def _stop_all(child: spawn.Child, uid: int | None, drain: "Drain") -> None:
    """Kill every process of the attempt, and collect the child."""
    reap.kill_group(child.pid)
    if uid is not None:
        reap.kill_user(uid)
    else:
        reap.kill_session(child.pid)
    child.wait(timeout=10)
    drain.join()
    reap.LIVE.discard(child.pid)


class _Follower:
    """Reads the child's events until it is done; on a hang, crash or overrun, stops
    (and says why in outcome.reason). Accepts only the step expected next (`Steps`)."""

    def __init__(self, child: spawn.Child, drain: "Drain", job: Job, sandbox: Sandbox,
                 outcome: Outcome) -> None:
        self.child, self.drain, self.job, self.outcome = child, drain, job, outcome
        self.feed, self.limits, self.budget = sandbox.feed, sandbox.limits, sandbox.budget
        self.steps = Steps(job.cells)
        self.deadline = time.monotonic() + self.limits.startup
        self.waiting: str | None = None  # the exercise whose inputs the child waits for
        self.buffer = b""

    def run(self, ev_r: int) -> None:
        while True:
            self.feed.deliver()
            now = time.monotonic()
            reason = self._overrun(now)
            if reason:
                self.outcome.reason = reason
                return
            ready, _, _ = select.select([ev_r], [], [], min(self.deadline - now, 0.25))
            if not ready:
                continue
            chunk = os.read(ev_r, 65536)
            if not chunk:
                self.outcome.reason = _death(self.child, self.drain, self.limits)
                return
            self.buffer += chunk
            if len(self.buffer) > 2**20:
                self.outcome.reason = "sent the grader garbage"
                return
            *lines, self.buffer = self.buffer.split(b"\n")
            for line in lines:
                event = Event.parse(line)  # None: not from the runner
                if event is not None and self._on(event):
                    return

    def _overrun(self, now: float) -> str:
        """Why the child must be stopped now, or "" (a child waiting for its inputs has
        its clock stopped)."""
        if self.waiting is not None:
            if not self.feed.ready(self.waiting):
                self.deadline = now + self.limits.timeout
            else:
                self.waiting = None
        if self.drain.exceeded:
            return _too_much_output(self.limits)
        if now > min(self.deadline, self.budget):
            if self.outcome.step[0] is Stage.STARTUP:
                return "the sandbox did not start in time"
            return f"did not finish within {self.limits.timeout:g} s (the time limit)"
        return ""

    def _on(self, event: Event) -> bool:
        """Take in one event; True when the child has run every cell."""
        outcome = self.outcome
        if outcome.step[0] is Stage.STARTUP:
            if event.kind is EventKind.READY:
                facts = event.facts or {}
                outcome.facts = {k: facts.get(k) for k in ("uid", "network")}
                outcome.step = (Stage.READY, None)
                self.deadline = time.monotonic() + self.limits.timeout
            return False
        if event.kind is EventKind.DONE and self.steps.finished():
            outcome.finished = True
            return True
        if event.kind is EventKind.WAIT and self.steps.next_exercise() == event.id:
            self.waiting = event.id
            return False
        step = self.steps.advance(event)
        if step is not None and step[2] is Phase.START:
            self._started(step, event)
        elif step is not None:
            self._ended(step, event)
        return False

    def _started(self, step: Step, event: Event) -> None:
        kind, key, _ = step
        self.outcome.step = (Stage(kind), key)
        # A forked exercise is timed by the child, which then needs a moment to stop it
        # and report; an exercise run in the child itself is timed from here.
        slack = 2 if kind is EventKind.EXERCISE and not event.inline else 0
        self.deadline = time.monotonic() + self.limits.timeout + slack

    def _ended(self, step: Step, event: Event) -> None:
        kind, key, _ = step
        outcome = self.outcome
        outcome.step = (Stage.BETWEEN, None)
        self.deadline = time.monotonic() + self.limits.timeout
        if kind is EventKind.EXERCISE and isinstance(key, str):
            end = event.end if event.end in (*FORKED_ENDS, End.INLINE) else None
            end = end or End.EXITED
            outcome.exercises[key] = read_exercise(Path(self.job.outdir), key,
                                                   self.feed.count(key), end, event.code)
        elif isinstance(key, int):
            outcome.last_cell = key
            if event.error:
                outcome.cell_errors[key] = event.error


def _too_much_output(limits: Limits) -> str:
    return f"printed more than {limits.output_mb:g} MB (the output limit); it was stopped"


def _death(child: spawn.Child, drain: "Drain", limits: Limits) -> str:
    """Why the child's event pipe closed: how it ended."""
    code = child.wait(timeout=5)
    if code is None:
        return "closed the grader's channel and kept running"
    if drain.exceeded:
        return _too_much_output(limits)
    return describe_end(End.SIGNAL if code < 0 else End.EXITED, -code if code < 0 else code)



def describe_end(end: End, code: int | None) -> str:
    """A sentence for how a process ended (End.SIGNAL or End.EXITED), for the feedback."""
    if end is End.SIGNAL:
        name = _signal_name(code)
        hints: dict[int | None, str] = {
            signal.SIGKILL: " (the memory or process limit, or it killed itself?)",
            signal.SIGXCPU: " (the CPU time limit)", signal.SIGSEGV: " (a crash)",
            signal.SIGXFSZ: " (the file size limit)"}
        hint = hints.get(code, "")
        return f"the process running it was killed by {name}{hint}"
    return (f"the process running it exited (status {code}) before finishing: does the code "
            f"call sys.exit, os._exit or kill its process?")


def _signal_name(number: int | None) -> str:
    try:
        return signal.Signals(number if number is not None else 0).name
    except ValueError:
        return f"signal {number}"


def read_exercise(outdir: Path | None, id: str, n_cases: int, ended: End,
                  code: int | None = None, reason: str = "") -> ExerciseRun:
    """The cell result and case results an exercise's run left in outdir/id, decoded."""
    def value(name: str) -> object:
        try:
            return wire.read(outdir or "", [id, name], MAX_OUTPUT_BYTES)
        except wire.WireError:
            return None

    cell = decode_cell(value("cell")) if outdir else None
    cases = [decode_case(value(str(i))) if cell else None for i in range(n_cases)]
    return ExerciseRun(cell, cases, ended, code, reason)


class Drain(threading.Thread):
    """Reads what the child prints (and throws it away), stopping it past `limit` bytes.

    Keeps the first bytes, which explain a child that failed to start.
    """

    def __init__(self, fd: int, limit: int, stop: Callable[[], None]) -> None:
        super().__init__(daemon=True)
        self.fd, self.limit, self.stop = fd, limit, stop
        self.total, self.head, self.exceeded = 0, b"", False
        self.start()

    def run(self) -> None:
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

    def join(self, timeout: float | None = 10) -> None:
        super().join(timeout)
