"""GitHub Classroom's grading reporter shows the same total as our report.

The rules of `classroom-resources/autograding-grading-reporter` (read from its source,
written here from that description, not copied):

- it reads, for each name in its `runners` input, the environment variable
  `<NAME upper-cased>_RESULTS`: base64 of {"version", "status", "max_score", "tests"};
- its console total for a runner is (tests with status "pass" / all tests) x the
  runner's max_score; the console prints the sum over runners;
- the points Classroom records (its `Points X/Y` notice) are the sum of the tests'
  `score`s over all runners, with Y the sum of the runners' max_score;
- a test's message is printed only when its status is "error".

The released workflow's wiring (runners, env, step outputs) is followed as GitHub would:
`--format classroom` lines go to $GITHUB_OUTPUT, the reporter's env reads them back.
"""

import base64
import dataclasses
import json
import re
import shutil

import pytest
import yaml
from learner import partial_copy

from autograde import formats, grader, registry
from autograde.course import release, solve

pytestmark = pytest.mark.early  # grades the whole book three times


def reporter_step(copy):
    flow = yaml.safe_load((copy / ".github" / "workflows" / "autograde.yml").read_text())
    [job] = flow["jobs"].values()
    return next(s for s in job["steps"] if "autograding-grading-reporter" in s.get("uses", ""))


def reporter(step, github_output):
    """What the reporter computes from the step outputs `github_output` (the text that
    `--format classroom` appended to $GITHUB_OUTPUT): (console total, recorded points,
    recorded maximum, table rows)."""
    outputs = dict(line.split("=", 1) for line in github_output.splitlines())
    console = recorded = maximum = 0.0
    rows = []
    for name in step["with"]["runners"].split(","):
        expression = step["env"][f"{name.upper()}_RESULTS"]
        output = re.fullmatch(r"\$\{\{ steps\.classroom\.outputs\.(\w+) \}\}", expression)[1]
        result = json.loads(base64.b64decode(outputs[output]))
        passed = sum(t["status"] == "pass" for t in result["tests"])
        runner_total = passed / len(result["tests"]) * result["max_score"]
        console += runner_total
        recorded += sum(t["score"] for t in result["tests"])
        maximum += result["max_score"]
        rows.append((name, runner_total, result["max_score"]))
    return console, recorded, maximum, rows


def summary_table(rows, console, recorded, maximum):
    """The reporter's summary as it would print it (for the closing note)."""
    lines = ["Test runner name".ljust(34) + "Test Score  Max Score"]
    lines += [f"{name:<34}{score:<12.4g}{most:g}" for name, score, most in rows]
    lines += [f"Total: {console:.4g}/{maximum:g}", f"Points {recorded:.4g}/{maximum:g}"]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def submissions(tmp_path_factory):
    base = tmp_path_factory.mktemp("classroom")
    solve(base / "key")
    release(base / "empty")
    partial = partial_copy(base / "partial", answer_key=base / "key")
    return {name: (folder, grader.grade(folder / "book"))
            for name, folder in (("key", base / "key"), ("empty", base / "empty"),
                                 ("partial", partial))}


@pytest.mark.slow  # grades the whole book three times
@pytest.mark.parametrize("name", ["key", "empty", "partial"])
def test_console_total_recorded_points_and_our_score_agree(submissions, name, tmp_path):
    folder, report = submissions[name]
    copy = submissions["empty"][0]  # the released workflow (the key has none)
    console, recorded, maximum, rows = reporter(reporter_step(copy), formats.classroom(report))
    assert console == pytest.approx(report["score"], abs=1e-9)
    assert recorded == pytest.approx(report["score"], abs=1e-9)
    assert maximum == report["max_score"] == sum(e.points for e in registry.exercises().values())
    expected = {"key": report["max_score"], "empty": 0}
    if name in expected:
        assert report["score"] == expected[name]
    else:  # partial credit is there, and each runner agrees with its exercise
        assert any(0 < e["points"] < e["max_points"] for e in report["exercises"])
        for (runner, total, most), e in zip(rows, report["exercises"], strict=True):
            assert (runner, most) == (e["id"], e["max_points"])
            assert total == pytest.approx(e["points"], abs=1e-9)
        print(summary_table(rows, console, recorded, maximum))


def entry(points, most, passed):
    """A report entry whose checks passed as `passed` says ([True, False, ...])."""
    return {"id": "lstm_forward", "chapter": "03_lstm_cell.ipynb", "notebook": "x.ipynb",
            "cell": 1, "points": points, "max_points": most,
            "verdict": "passed" if points == most else "partial" if points else "failed",
            "feedback": "", "notes": [],
            "checks": [{"label": f"case {i}", "passed": p, "message": ""}
                       for i, p in enumerate(passed)]}


@pytest.mark.parametrize("points, most, passed", [
    (1.5, 3, [True, False]),  # points from the checks: one test per check
    (2.5, 3, [True] * 5 + [False]),
    (0.0, 3, [True, True, False]),  # degenerate cases passed, yet no points: 0 of 1 part
    (1.5, 3, [True, True, True, False]),  # points not the checks' fraction: 1 of 2 parts
    (1.0, 3, []),
])
def test_any_partial_credit_comes_out_the_same(points, most, passed):
    report = {"exercises": [entry(points, most, passed)]}
    step = {"with": {"runners": "lstm_forward"},
            "env": {"LSTM_FORWARD_RESULTS": "${{ steps.classroom.outputs.lstm_forward }}"}}
    console, recorded, maximum, _ = reporter(step, formats.classroom(report))
    assert console == pytest.approx(points) and recorded == pytest.approx(points)
    assert maximum == most


def test_a_new_exercise_gets_a_runner(monkeypatch, tmp_path):
    """The runners come from the registry: an exercise added there is in the workflow."""
    everything = registry.exercises()
    extra = dataclasses.replace(everything["rnn_step"], id="new_exercise")
    monkeypatch.setattr(registry, "exercises", lambda: {**everything, "new_exercise": extra})
    release(tmp_path / "copy")
    step = reporter_step(tmp_path / "copy")
    assert step["with"]["runners"].split(",") == [*everything, "new_exercise"]
    assert "NEW_EXERCISE_RESULTS" in step["env"]
    shutil.rmtree(tmp_path / "copy")
