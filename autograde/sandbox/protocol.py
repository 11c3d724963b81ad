"""What crosses between the grader and the sandboxed child, as types both sides import.

Everything here travels as data only: the job as a JSON file, events as JSON lines on a
pipe, and each exercise's results as values written with `autograde.wire` (JSON and
`.npy`). Nothing is pickled, and the grader decodes what comes back with the `decode_`
functions below, which turn anything unexpected into None instead of trusting it.

The enums are `StrEnum`s: a member is its own wire spelling, so `json.dumps` and
`autograde.wire` write it as a plain string and `CaseStatus("ok")` reads it back.
"""

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum


class CaseStatus(StrEnum):
    """How one case of an exercise ended in the child."""

    OK = "ok"  # run(obj, inputs) returned; its outputs are in "outputs"
    STUB = "stub"  # the learner's code raised NotImplementedError: not written yet
    SUBMISSION_ERROR = "submission_error"  # the checks' run() rejected what it was given
    ERROR = "error"  # the learner's code raised
    UNSENDABLE = "unsendable"  # the outputs could not be written (e.g. the file size limit)


class End(StrEnum):
    """How the run of one exercise ended, as the grader saw it."""

    EXITED = "exited"  # the forked process that ran it exited (normally: it was done)
    SIGNAL = "signal"  # that process was killed by a signal
    TIMEOUT = "timeout"  # the child stopped it at the time limit
    INLINE = "inline"  # it ran in the child itself (TensorFlow loaded), which carried on
    STOPPED = "stopped"  # the child itself died or was stopped during it: see `reason`


# What the child reports about the forked run of an exercise (the rest is the grader's).
FORKED_ENDS = (End.EXITED, End.SIGNAL, End.TIMEOUT)


class EventKind(StrEnum):
    """The kinds of event the child reports on its event pipe."""

    READY = "ready"  # the sandbox is entered; carries the facts (uid, network)
    WAIT = "wait"  # it waits for the inputs of exercise `id`
    CELL = "cell"  # a cell starts or ends
    EXERCISE = "exercise"  # an exercise (its cell and its checks) starts or ends
    DONE = "done"  # every cell ran


class Phase(StrEnum):
    START = "start"
    END = "end"


@dataclass
class Event:
    """One line on the event pipe. Which fields are set depends on the kind:

    CELL: index, phase (and error, at the end). EXERCISE: id, phase, inline (at the
    start), end and code (at the end). WAIT: id. READY: facts.
    """

    kind: EventKind
    phase: Phase | None = None
    index: int | None = None
    id: str | None = None
    inline: bool = False
    end: End | None = None
    code: int | None = None
    error: dict | None = None
    facts: dict | None = None

    def line(self):
        fields = {k: v for k, v in asdict(self).items() if v is not None and v is not False}
        return (json.dumps(fields) + "\n").encode()

    @classmethod
    def parse(cls, line):
        """The Event on this line, or None if it is not one (a submission may write here)."""
        try:
            raw = json.loads(line)
            event = cls(kind=EventKind(raw.pop("kind")))
            if "phase" in raw:
                event.phase = Phase(raw.pop("phase"))
            if "end" in raw:
                event.end = End(raw.pop("end"))
            for name, types in (("index", int), ("id", str), ("inline", bool), ("code", int),
                                ("error", dict), ("facts", dict)):
                if name in raw:
                    value = raw.pop(name)
                    if type(value) is not types:
                        return None
                    setattr(event, name, value)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            return None
        return None if raw else event


@dataclass
class Confinement:
    """How the child confines itself before it runs any submission code.

    uid, gid:  the unprivileged user to become (None when the grader is not root).
    expose:    [folder, [entries]] pairs: each folder is covered so that it shows only
               those entries (see `confine.enter`).
    stage:     an empty folder the child may use while it rearranges its mounts.
    limits:    resource limits: {"memory", "processes", "file_size", "cpu"}.
    """

    uid: int | None
    gid: int | None
    expose: list
    stage: str
    limits: dict


@dataclass
class Libraries:
    """The grader's libraries, which the child searches and trusts (`libraries.py`).

    path:     the grader's sys.path entries for libraries, in its order.
    trusted:  folders (and single module files) whose code counts as the grader's.
    since:    files changed after this time (time.time()) are never trusted: the
              submission may have written them.
    """

    path: list
    trusted: list
    since: float


@dataclass
class Job:
    """Everything the child needs to run one attempt at a notebook.

    cells:      [{"index", "code", "exercise"}] in notebook order.
    exercises:  id -> {"module": the checks module, "from_scratch": bool}.
    workdir:    the scratch folder (the child's cwd and home); outdir: where the
                results go; indir: where the cases' inputs arrive.
    timeout:    seconds per exercise; inline: run exercises in the child itself;
    kill_all_mine: the child runs as a user of its own and may kill all its processes.
    """

    cells: list
    exercises: dict
    workdir: str
    outdir: str
    indir: str
    timeout: float
    inline: bool
    kill_all_mine: bool
    confinement: Confinement
    libraries: Libraries

    def write(self, path):
        with open(path, "w") as f:
            json.dump(asdict(self), f)

    @classmethod
    def read(cls, path):
        with open(path) as f:
            raw = json.load(f)
        raw["confinement"] = Confinement(**raw["confinement"])
        raw["libraries"] = Libraries(**raw["libraries"])
        return cls(**raw)


# ---------------------------------------------------------------------------------------
# Each exercise's results, written by the child with autograde.wire (out/<id>/cell and
# out/<id>/<case>), and what the grader makes of them.


@dataclass
class CellResult:
    """What running an exercise's cell gave: ok, whether it defined the exercise, or the
    exception it raised (`child.describe`)."""

    ok: bool
    defined: bool = False
    error: dict | None = None

    def to_wire(self):
        return {"ok": self.ok, "defined": self.defined, "error": self.error}


def decode_cell(value):
    """The CellResult in a value the child wrote, or None if it is not one."""
    if not isinstance(value, dict) or not isinstance(value.get("ok"), bool):
        return None
    error = value.get("error")
    return CellResult(ok=value["ok"], defined=value.get("defined") is True,
                      error=error if isinstance(error, dict) else None)


@dataclass
class CaseResult:
    """How one case ended: its status and its outputs (OK) or the exception."""

    status: CaseStatus
    outputs: dict | None = None
    error: dict | None = None

    def to_wire(self):
        value = {"status": self.status}
        if self.outputs is not None:
            value["outputs"] = self.outputs
        if self.error is not None:
            value["error"] = self.error
        return value


def decode_case(value):
    """The CaseResult in a value the child wrote, or None if it is not one."""
    if not isinstance(value, dict):
        return None
    try:
        status = CaseStatus(value.get("status"))
    except ValueError:
        return None
    outputs, error = value.get("outputs"), value.get("error")
    return CaseResult(status, outputs=outputs if isinstance(outputs, dict) else None,
                      error=error if isinstance(error, dict) else None)


@dataclass
class ExerciseRun:
    """What the child reported for one exercise, decoded.

    cell:    the CellResult of its cell, or None if the cell did not finish.
    cases:   one entry per case: its CaseResult, or None if it has none.
    ended:   how the run ended (End); for End.STOPPED, `reason` says why in a sentence.
    code:    exit status or signal number (End.EXITED, End.SIGNAL).
    """

    cell: CellResult | None
    cases: list
    ended: End
    code: int | None = None
    reason: str = ""


@dataclass
class NotebookRun:
    """What `run_notebook` returns."""

    exercises: dict = field(default_factory=dict)  # id -> ExerciseRun
    cell_errors: dict = field(default_factory=dict)  # cell index -> what went wrong
    facts: dict = field(default_factory=dict)  # uid, network: how the sandbox ran
    error: str = ""  # the sandbox could not start
