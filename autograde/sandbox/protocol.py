"""What crosses between the grader and the sandboxed child, as types both sides import.

Everything here travels as data only: the job as a JSON file, events as JSON lines on a
pipe, and each exercise's results as values written with `wire` (JSON and
`.npy`). Nothing is pickled, and the grader decodes what comes back with the `decode_`
functions below, which turn anything unexpected into None instead of trusting it.

The enums are `StrEnum`s: a member is its own wire spelling, so `json.dumps` and
`wire` write it as a plain string and `CaseStatus("ok")` reads it back.
"""

import json
import os
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

# A JSON object from the other side, not trusted to hold any particular keys.
JSONDict = dict[str, Any]

# User ids for sandboxes, one per running child (the grader skips any that /etc/passwd
# uses). The child never trusts a file such a user owns.
UID_POOL = range(61000, 61512)


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
    error: JSONDict | None = None
    facts: JSONDict | None = None

    def line(self) -> bytes:
        fields = {k: v for k, v in asdict(self).items() if v is not None and v is not False}
        return (json.dumps(fields) + "\n").encode()

    @classmethod
    def parse(cls, line: bytes) -> "Event | None":
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


# ---------------------------------------------------------------------------------------
# The job: what the grader hands the child (a JSON file, written by the grader).


@dataclass(frozen=True)
class Cell:
    """One code cell to run: its index in the notebook (0-based), its code (magics
    already left out) and the exercise it is graded for (None: it is only context)."""

    index: int
    code: str
    exercise: str | None = None


@dataclass(frozen=True)
class ExerciseSpec:
    """How the child grades an exercise: the checks module that registers it (imported
    before any submission code runs) and whether it must be written from scratch."""

    module: str
    from_scratch: bool


@dataclass(frozen=True)
class ResourceLimits:
    """The child's resource limits, in the units setrlimit takes (bytes, seconds)."""

    memory: int
    processes: int
    file_size: int
    cpu: int


@dataclass
class Confinement:
    """How the child confines itself before it runs any submission code.

    uid, gid:  the unprivileged user to become (None when the grader is not root).
    expose:    (folder, [entries]) pairs: each folder is covered so that it shows only
               those entries (see `enter.enter`).
    stage:     an empty folder the child may use while it rearranges its mounts.
    limits:    resource limits.
    """

    uid: int | None
    gid: int | None
    expose: list[tuple[str, list[str]]]
    stage: str
    limits: ResourceLimits


@dataclass
class Libraries:
    """The grader's libraries, which the child searches and trusts (`libraries`, `trust`).

    path:     the grader's sys.path entries for libraries, in its order.
    trusted:  folders (and single module files) whose code counts as the grader's.
    since:    files changed after this time (time.time()) are never trusted: the
              submission may have written them.
    """

    path: list[str]
    trusted: list[str]
    since: float


@dataclass
class Job:
    """Everything the child needs to run one attempt at a notebook.

    cells:      the cells to run, in notebook order.
    exercises:  id -> its ExerciseSpec, for the exercises among `cells`.
    workdir:    the scratch folder (the child's cwd and home); outdir: where the
                results go; indir: where the cases' inputs arrive (`InputsReady`).
    timeout:    seconds per exercise; inline: run exercises in the child itself;
    kill_all_mine: the child runs as a user of its own and may kill all its processes.
    """

    cells: list[Cell]
    exercises: dict[str, ExerciseSpec]
    workdir: str
    outdir: str
    indir: str
    timeout: float
    inline: bool
    kill_all_mine: bool
    confinement: Confinement
    libraries: Libraries

    def write(self, path: str | os.PathLike[str]) -> None:
        with open(path, "w") as f:
            json.dump(asdict(self), f)

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> "Job":
        """The job the grader wrote (trusted: read before any submission code runs)."""
        with open(path) as f:
            raw = json.load(f)
        confinement = raw.pop("confinement")
        return cls(
            cells=[Cell(**c) for c in raw.pop("cells")],
            exercises={id: ExerciseSpec(**spec) for id, spec in raw.pop("exercises").items()},
            confinement=Confinement(
                uid=confinement["uid"], gid=confinement["gid"],
                expose=[(folder, list(entries)) for folder, entries in confinement["expose"]],
                stage=confinement["stage"], limits=ResourceLimits(**confinement["limits"])),
            libraries=Libraries(**raw.pop("libraries")), **raw)


@dataclass(frozen=True)
class InputsReady:
    """The hand-off file in/<id>/READY: the grader has written all `cases` inputs of the
    exercise (in/<id>/0, 1, ...). It is written under another name and renamed, so the
    child, which waits for it, sees all of the inputs or none."""

    cases: int

    NAME: ClassVar[str] = "READY"

    def text(self) -> str:
        return json.dumps({"cases": self.cases})

    @classmethod
    def parse(cls, text: str) -> "InputsReady":
        return cls(cases=int(json.loads(text)["cases"]))


# ---------------------------------------------------------------------------------------
# The zygote's socket (`spawn.Zygote` in the grader, `zygote.serve` in the zygote): one
# JSON message per SOCK_SEQPACKET datagram. Both ends are the grader's code.

# What each kind of zygote imports before it forks children.
ZYGOTE_PRELOAD: dict[str, tuple[str, ...]] = {
    "base": ("numpy", "matplotlib", "matplotlib.pyplot", "torch"),
    "tf": ("numpy", "matplotlib", "matplotlib.pyplot", "torch", "tensorflow"),
}


@dataclass(frozen=True)
class SpawnRequest:
    """Grader -> zygote: fork a child for this job file, with this environment and
    working folder (the child's two pipes, events and output, travel with it as fds)."""

    job: str
    env: dict[str, str]
    cwd: str

    def encode(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def decode(cls, data: bytes) -> "SpawnRequest":
        raw = json.loads(data)
        return cls(job=str(raw["job"]), env={str(k): str(v) for k, v in raw["env"].items()},
                   cwd=str(raw["cwd"]))


@dataclass(frozen=True)
class ZygoteReady:
    """Zygote -> grader: its imports are done."""


@dataclass(frozen=True)
class Spawned:
    """Zygote -> grader: the child it forked for the last request."""

    pid: int


@dataclass(frozen=True)
class Exited:
    """Zygote -> grader: a child ended; `status` as os.waitpid gives it."""

    pid: int
    status: int


ZygoteReply = ZygoteReady | Spawned | Exited


def encode_reply(reply: ZygoteReply) -> bytes:
    if isinstance(reply, Exited):
        return json.dumps({"exit": reply.pid, "status": reply.status}).encode()
    if isinstance(reply, Spawned):
        return json.dumps({"pid": reply.pid}).encode()
    return b'{"ready": true}'


def decode_reply(data: bytes) -> ZygoteReply | None:
    """The reply in a datagram, or None if it is not one."""
    try:
        raw = json.loads(data)
        if type(raw.get("exit")) is int and type(raw.get("status")) is int:
            return Exited(raw["exit"], raw["status"])
        if type(raw.get("pid")) is int:
            return Spawned(raw["pid"])
        if raw.get("ready") is True:
            return ZygoteReady()
    except (ValueError, AttributeError, RecursionError):
        pass
    return None


# ---------------------------------------------------------------------------------------
# Each exercise's results, written by the child with autograde.wire (out/<id>/cell and
# out/<id>/<case>), and what the grader makes of them.


@dataclass
class CellResult:
    """What running an exercise's cell gave: ok, whether it defined the exercise, or the
    exception it raised (`child.describe`)."""

    ok: bool
    defined: bool = False
    error: JSONDict | None = None

    def to_wire(self) -> JSONDict:
        return {"ok": self.ok, "defined": self.defined, "error": self.error}


def decode_cell(value: object) -> CellResult | None:
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
    outputs: JSONDict | None = None
    error: JSONDict | None = None

    def to_wire(self) -> JSONDict:
        value: JSONDict = {"status": self.status}
        if self.outputs is not None:
            value["outputs"] = self.outputs
        if self.error is not None:
            value["error"] = self.error
        return value


def decode_case(value: object) -> CaseResult | None:
    """The CaseResult in a value the child wrote, or None if it is not one."""
    if not isinstance(value, dict):
        return None
    try:
        status = CaseStatus(str(value.get("status")))
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
    cases: list[CaseResult | None]
    ended: End
    code: int | None = None
    reason: str = ""


@dataclass
class NotebookRun:
    """What `run_notebook` returns."""

    exercises: dict[str, ExerciseRun] = field(default_factory=dict)
    # cell index -> what went wrong: what it raised (child.describe), or a sentence
    cell_errors: dict[int, JSONDict | str] = field(default_factory=dict)
    facts: JSONDict = field(default_factory=dict)  # uid, network: how the sandbox ran
    error: str = ""  # the sandbox could not start
