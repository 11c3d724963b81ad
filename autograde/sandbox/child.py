"""The child: runs one notebook's cells and its exercises' checks, inside the sandbox.

Started by the grader (`spawn`: forked from a zygote, or as a fresh interpreter) with a
job file (`protocol.Job`) and a pipe for events. Once `enter.enter` has run
(unprivileged user, no network, resource limits), everything here may be under the
submission's control, so it only reports data: events (`protocol.Event`, JSON lines
saying which cell or exercise it is at) and, per exercise, results written with `wire`
into the output folder. The grader trusts none of it: it compares the outputs with its
own references, and decides with its own clock whether a step hung or crashed. (This
side of the sandbox imports nothing of the grader's side: see the package docstring.)

For each code cell, in order, up to the last exercise to grade:
- a context cell runs in this process; an error is reported and the next cell runs;
- an exercise cell runs with its checks in a forked child (its own process group, a
  CPU limit, killed at the time limit), then here too, if it ran, so that later cells
  can call it. While TensorFlow is loaded (its runtime does not survive a fork) the
  exercise runs here instead, and the grader's clock is its only time limit.
After each cell, what the cell may have monkeypatched (builtins, numpy, autograde,
sys.stdout, signal handlers, the working directory) is put back.
"""

import builtins
import importlib
import os
import resource
import signal
import sys
import time
from collections.abc import Callable
from typing import Any, NoReturn

from autograde.sandbox import enter, guards, stop, trust, wire
from autograde.sandbox.protocol import (
    CaseResult,
    CaseStatus,
    Cell,
    CellResult,
    End,
    Event,
    EventKind,
    ExerciseSpec,
    InputsReady,
    Job,
    JSONDict,
    Phase,
    decode_cell,
)

_write = os.write  # kept: a cell may replace os.write, but not these references
_MISSING = object()


def main(job_path: str, events_fd: int) -> NoReturn:
    """Run the job in `job_path`, reporting on `events_fd`; never returns."""
    job = Job.read(job_path)
    facts = enter.enter(job.confinement, job.workdir)
    events = Events(events_fd)
    events.emit(Event(EventKind.READY, facts=facts))
    Runner(job, events).run()
    events.emit(Event(EventKind.DONE))
    os._exit(0)  # no atexit handlers, no flushing of a cell's leftovers


class Events:
    """Reports to the grader: one protocol.Event per line on a pipe."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def emit(self, event: Event) -> None:
        data = event.line()
        while data:
            data = data[_write(self.fd, data):]


class Runner:
    """Runs the job's cells, and each exercise's checks (`grade`)."""

    def __init__(self, job: Job, events: Events) -> None:
        self.job, self.events = job, events
        self.ns: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
        self.import_guard = guards.ImportGuard()
        sys.meta_path.insert(0, self.import_guard)
        for name in [m for m in sys.modules if m == "solutions" or m.startswith("solutions.")]:
            del sys.modules[name]
        import numpy  # noqa: F401  (loaded before the submission can tamper with it)

        import autograde
        import autograde.check
        from autograde import registry

        # id -> the checks' run(obj, inputs), which returns the outputs
        self.runs: dict[str, Callable[[object, object], JSONDict]] = {}
        for id, spec in job.exercises.items():
            importlib.import_module(spec.module)
            self.runs[id] = registry.get(id).run
        # In the sandbox, check() is silent and use_working() gives back the learner's own.
        patched: tuple[Any, ...] = (autograde, sys.modules["autograde.check"])
        for module in patched:
            module.check = _silent_check
            module.use_working = _own
        # After the grader's imports, before any of the submission's code.
        self.trusted = trust.Trust(job.libraries, os.path.dirname(job.workdir))
        self.snapshot = Snapshot()

    def run(self) -> None:
        for cell in self.job.cells:
            if cell.exercise:
                ran = self.grade(cell.exercise, cell)
                if not ran:
                    continue
            self.events.emit(Event(EventKind.CELL, Phase.START, index=cell.index))
            error = self.execute(cell)
            self.events.emit(Event(EventKind.CELL, Phase.END, index=cell.index, error=error))

    def execute(self, cell: Cell, ns: dict[str, Any] | None = None) -> JSONDict | None:
        """Run a cell's code; return None, or what it raised."""
        try:
            code = compile(cell.code, f"<cell {cell.index + 1}>", "exec")
            exec(code, self.ns if ns is None else ns)
            return None
        except BaseException as e:  # SystemExit and KeyboardInterrupt too
            return describe(e)
        finally:
            if ns is None:
                self.snapshot.restore(self.job.workdir)

    # -- exercises

    def guard(self, spec: ExerciseSpec) -> guards.FrameworkGuard | None:
        """A FrameworkGuard for a from-scratch exercise, else None."""
        if not spec.from_scratch:
            return None
        return guards.FrameworkGuard(self.import_guard, self.trusted)

    def grade(self, id: str, cell: Cell) -> bool:
        """Run the exercise's cell and checks; True if its cell ran (so it runs here too)."""
        spec, cases = self.job.exercises[id], self.wait_for_inputs(id)
        out = os.path.join(self.job.outdir, id)
        os.mkdir(out)
        inline = bool(self.job.inline or "tensorflow" in sys.modules)
        self.events.emit(Event(EventKind.EXERCISE, Phase.START, id=id, inline=inline))
        if inline:
            guard = self.guard(spec)
            try:
                self.check(id, spec, cases, cell, out, guard)
            finally:
                if guard:
                    guard.remove()
                self.snapshot.restore(self.job.workdir)
            self.events.emit(Event(EventKind.EXERCISE, Phase.END, id=id, end=End.INLINE))
            return False  # its cell already ran here
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        pid = os.fork()
        if pid == 0:
            try:
                os.setpgid(0, 0)
                cpu = int(self.job.timeout) + 1
                resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
                self.check(id, spec, cases, cell, out, self.guard(spec))
            finally:
                os._exit(0)
        end, code = stop.wait(pid, self.job.timeout)
        stop.kill_group(pid)
        if self.job.kill_all_mine:
            stop.kill_all_mine()
        self.events.emit(Event(EventKind.EXERCISE, Phase.END, id=id, end=end, code=code))
        try:
            result = decode_cell(wire.read(out, ["cell"], 2**16))
            return result is not None and result.ok
        except Exception:
            return False

    def wait_for_inputs(self, id: str) -> int:
        """The number of cases, once the grader has written the exercise's inputs."""
        self.events.emit(Event(EventKind.WAIT, id=id))
        ready = os.path.join(self.job.indir, id, InputsReady.NAME)
        while not os.path.exists(ready):
            time.sleep(0.02)
        with open(ready) as f:
            return InputsReady.parse(f.read()).cases

    @guards.trust_anchor
    def check(self, id: str, spec: ExerciseSpec, cases: int, cell: Cell, out: str,
              guard: guards.FrameworkGuard | None) -> None:
        """The exercise cell, then each case: outputs to out/<case>, status to out/cell.

        The trust anchor (`guards.trust_anchor`): what runs above this frame is the
        checks' code and the submission's, told apart by where their code comes from.
        """
        ns = self.ns  # in a forked child, its own copy
        if guard:
            guard.install()
        error = self.execute(cell, ns)
        self.snapshot.restore(self.job.workdir)  # what the cell patched, the checks do not see
        if error:
            wire.write(os.path.join(out, "cell"), CellResult(ok=False, error=error).to_wire())
            return
        obj = ns.get(id, _MISSING)
        wire.write(os.path.join(out, "cell"),
                   CellResult(ok=True, defined=obj is not _MISSING).to_wire())
        if obj is _MISSING:
            return
        from autograde.spec import SubmissionError

        for i in range(cases):
            inputs = wire.read(self.job.indir, [id, str(i)], 2**31)
            try:
                result = CaseResult(CaseStatus.OK, outputs=self.runs[id](obj, inputs))
            except NotImplementedError:
                result = CaseResult(CaseStatus.STUB)
            except SubmissionError as e:
                result = CaseResult(CaseStatus.SUBMISSION_ERROR, error=describe(e))
            except BaseException as e:
                result = CaseResult(CaseStatus.ERROR, error=describe(e))
            self.snapshot.restore(self.job.workdir)
            try:
                wire.write(os.path.join(out, str(i)), result.to_wire())
            except Exception as e:  # e.g. an output too big for the file size limit
                wire.write(os.path.join(out, str(i)),
                           CaseResult(CaseStatus.UNSENDABLE, error=describe(e)).to_wire())
            if result.status is CaseStatus.STUB:
                return


def _silent_check(obj: object) -> None:
    return None


def _own(obj: object) -> object:
    return obj


def describe(e: BaseException) -> JSONDict:
    """What an exception says, for the grader (which treats it all as untrusted text)."""
    try:
        message = str(e)[:1000]
    except BaseException:
        message = "(its message could not be printed)"
    where = None
    tb = e.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.startswith("<cell ") and name.endswith(">"):
            where = [int(name[6:-1]), tb.tb_lineno]
        tb = tb.tb_next
    return {"type": type(e).__name__, "message": message, "where": where}


class Snapshot:
    """What the runner relies on, saved before any cell runs and put back after each."""

    MODULES = ("builtins", "os", "json", "select", "signal", "resource", "time", "numpy",
               "numpy.lib.format")

    def __init__(self) -> None:
        names = [m for m in sys.modules if m in self.MODULES or m == "autograde"
                 or m.startswith("autograde.")]
        self.modules = {name: sys.modules[name] for name in names}
        self.dicts = {name: dict(vars(m)) for name, m in self.modules.items()}
        self.sys = {k: getattr(sys, k) for k in ("stdin", "stdout", "stderr", "displayhook",
                                                 "excepthook", "breakpointhook")}
        self.path, self.meta_path = list(sys.path), list(sys.meta_path)
        self.recursion = sys.getrecursionlimit()

    def restore(self, workdir: str) -> None:
        for name, module in self.modules.items():
            sys.modules[name] = module
            current = vars(module)
            for key, value in self.dicts[name].items():
                if current.get(key, _MISSING) is not value:
                    current[key] = value
        for key, value in self.sys.items():
            setattr(sys, key, value)
        sys.path[:] = self.path
        sys.meta_path[:] = self.meta_path
        sys.setrecursionlimit(self.recursion)
        signal.alarm(0)
        for timer in (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF):
            signal.setitimer(timer, 0)
        for sig, handler in ((signal.SIGINT, signal.default_int_handler),
                             (signal.SIGALRM, signal.SIG_DFL), (signal.SIGCHLD, signal.SIG_DFL),
                             (signal.SIGXFSZ, signal.SIG_IGN), (signal.SIGTERM, signal.SIG_DFL)):
            signal.signal(sig, handler)
        try:
            os.chdir(workdir)
        except OSError:
            pass
        torch = sys.modules.get("torch")
        if torch is not None:  # more than one thread would hang the next fork
            try:
                torch.set_num_threads(1)
            except Exception:
                pass
