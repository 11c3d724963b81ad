"""What crosses between the grader and the child: typed, data only, and checked on arrival."""

import json

import pytest

from autograde.sandbox import Inputs, Limits, run_notebook
from autograde.sandbox.protocol import (
    CaseStatus,
    CellResult,
    End,
    Event,
    EventKind,
    Phase,
    decode_case,
    decode_cell,
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
