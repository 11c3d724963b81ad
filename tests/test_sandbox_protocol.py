"""What crosses between the grader and the child: typed, data only, and checked on arrival."""

import ast
import json
from pathlib import Path

import pytest

from autograde.sandbox import Inputs, Limits, run_notebook
from autograde.sandbox.protocol import (
    CaseStatus,
    Cell,
    CellResult,
    Confinement,
    End,
    Event,
    EventKind,
    ExerciseSpec,
    Exited,
    InputsReady,
    Job,
    Libraries,
    Phase,
    ResourceLimits,
    Spawned,
    SpawnRequest,
    ZygoteReady,
    decode_case,
    decode_cell,
    decode_reply,
    encode_reply,
)


def test_an_event_travels_as_one_json_line():
    event = Event(EventKind.EXERCISE, Phase.END, id="rnn_step", end=End.TIMEOUT, code=0)
    line = event.line()
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line) == {"kind": "exercise", "phase": "end", "id": "rnn_step",
                                "end": "timeout", "code": 0}
    assert Event.parse(line) == event


@pytest.mark.parametrize("line", [
    b"hello from a print()",
    b'{"kind": "cell", "phase": "start", "index": "3"}',  # an index must be an int
    b'{"kind": "cell", "phase": "begin", "index": 3}',  # no such phase
    b'{"kind": "exercise", "phase": "end", "id": "x", "end": "vanished"}',  # no such end
    b'{"kind": "launch_missiles"}',
    b'{"kind": "done", "extra": 1}',  # nothing more than the fields of an event
    b'[1, 2, 3]',
    b'{"kind": "cell", "phase": "end", "index": 3, "error": "not a dict"}',
])
def test_a_line_that_is_not_an_event_is_ignored(line):
    assert Event.parse(line) is None


def test_results_are_decoded_or_refused():
    assert decode_cell(CellResult(ok=True, defined=True).to_wire()) == CellResult(True, True)
    assert decode_cell({"ok": "yes"}) is None and decode_cell([1]) is None
    case = decode_case({"status": "ok", "outputs": {"h": 1}})
    assert case.status is CaseStatus.OK and case.outputs == {"h": 1}
    assert decode_case({"status": "passed"}) is None  # not a status
    assert decode_case({"status": "error", "error": "text"}).error is None


def test_run_notebook_says_what_it_expected():
    with pytest.raises(TypeError, match="limits must be a sandbox.Limits; got dict"):
        run_notebook([], {}, {"timeout": 1}, Inputs())
    with pytest.raises(TypeError, match="inputs must be a sandbox.Inputs; got list"):
        run_notebook([], {}, Limits(), [])


def test_a_job_round_trips_through_its_file_as_typed_values(tmp_path):
    job = Job(
        cells=[Cell(0, "import numpy as np"), Cell(3, "def rnn_step(): ...", "rnn_step")],
        exercises={"rnn_step": ExerciseSpec("autograde.checks.rnn", from_scratch=True)},
        workdir="/w", outdir="/o", indir="/i", timeout=2.5, inline=False, kill_all_mine=True,
        confinement=Confinement(uid=61001, gid=61001, expose=[("/root", ["venv"])],
                                stage="/s", limits=ResourceLimits(1, 2, 3, 4)),
        libraries=Libraries(path=["/lib"], trusted=["/lib"], since=12.5))
    job.write(tmp_path / "job.json")
    assert json.loads((tmp_path / "job.json").read_text())["cells"][1] == {
        "index": 3, "code": "def rnn_step(): ...", "exercise": "rnn_step"}
    back = Job.read(tmp_path / "job.json")
    assert back == job
    assert isinstance(back.cells[1], Cell) and isinstance(back.confinement.limits, ResourceLimits)


def test_the_zygotes_messages_and_the_ready_file_are_declared():
    request = SpawnRequest(job="/b/job0.json", env={"HOME": "/b/work0"}, cwd="/b")
    assert SpawnRequest.decode(request.encode()) == request
    for reply in (ZygoteReady(), Spawned(41), Exited(41, 9)):
        assert decode_reply(encode_reply(reply)) == reply
    for garbage in (b"", b"[]", b'{"pid": "41"}', b'{"exit": 41}', b'{"ready": 1}'):
        assert decode_reply(garbage) is None
    assert InputsReady.parse(InputsReady(cases=7).text()) == InputsReady(7)


@pytest.mark.parametrize("cells, exercises, message", [
    ([{"index": "0", "code": ""}], {}, "a cell must be a sandbox.Cell or a dict with an int index"),
    (["print(1)"], {}, "got str print"),
    ([], {"rnn_step": {"module": "m"}}, "exercise 'rnn_step' must be a sandbox.ExerciseSpec"),
])
def test_run_notebook_says_which_cell_or_exercise_it_cannot_take(cells, exercises, message):
    with pytest.raises(TypeError, match=message):
        run_notebook(cells, exercises, Limits(), Inputs())


# The sandbox's modules by side (autograde/sandbox/__init__.py): the child's side runs
# with the submission and never imports the grader's.
SHARED = {"protocol", "wire"}
CHILD_SIDE = {"zygote", "child", "enter", "trust", "guards", "stop"}
GRADER_SIDE = {"feed", "supervise", "steps", "spawn", "confine", "libraries", "reap"}
SANDBOX = Path(__file__).resolve().parent.parent / "autograde" / "sandbox"


def sandbox_imports(module):
    """The sandbox modules `module` imports, at top level or inside a function."""
    found = set()
    for node in ast.walk(ast.parse((SANDBOX / f"{module}.py").read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "autograde.sandbox":
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "autograde.sandbox."):
            found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[2] for a in node.names
                      if a.name.startswith("autograde.sandbox.")}
    return found


def test_every_sandbox_module_is_on_one_side():
    on_disk = {p.stem for p in SANDBOX.glob("*.py")} - {"__init__"}
    assert on_disk == SHARED | CHILD_SIDE | GRADER_SIDE


@pytest.mark.parametrize("module", sorted(CHILD_SIDE | SHARED))
def test_the_childs_side_never_imports_the_graders(module):
    assert not sandbox_imports(module) & GRADER_SIDE
