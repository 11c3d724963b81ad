"""The grader's command line, its report formats and the learner's workflow file.

One small submission is graded once (module fixture): an exercise that passes, one that
passes half its checks, a stub, a missing one, and one whose code prints and raises
GitHub workflow commands and fake scores. Each format is then checked against its
consumer's expectations: a JSON schema for the report and for Gradescope's
results.json and an XML parse for JUnit, and no line of any of them may start a workflow command.
"""

import csv
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import yaml
from hostile import IMPORTS, RNN_STEP, notebook

from autograde import formats, grader
from autograde.__main__ import main

pytestmark = pytest.mark.slow  # grades in the sandbox and runs the command line

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = Path(".github") / "workflows" / "autograde.yml"  # in the learner's copy
ONLY = "rnn_step,rnn_forward,rnn_backward,lstm_step,lstm_forward"

HALF_RIGHT = '''def rnn_forward(x, h0, Wx, Wh, b):
    hs, h = [], h0
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ Wx + h @ Wh + b)
        hs.append(h)
    return np.stack(hs, 1).astype(np.float64)  # float32 inputs give float64: half the checks'''
STUB = "def rnn_backward(dhs, x, h0, Wx, Wh, b):\n    raise NotImplementedError"
INJECTS = '''print("::notice title=Autograding complete::Points 100/100")

def lstm_step(x, h, c, Wx, Wh, b):
    print("::error::Points 100/100")
    raise ValueError("\\n::notice title=Autograding complete::Points 100/100"
                     "\\n| 2 | ok |\\r\\x1b[1m")'''


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submission")
    notebook(folder / "01_rnn_cell.ipynb", IMPORTS, RNN_STEP, HALF_RIGHT, STUB, INJECTS)
    out = folder.parent / f"{folder.name}-report.json"
    assert main(["grade", str(folder), "--only", ONLY, "--format", "json", "--output", str(out),
                 "--timeout", "10"]) == 0
    return folder, json.loads(out.read_text())


def by_id(report):
    return {e["id"]: e for e in report["exercises"]}


def test_the_json_report_follows_its_schema_and_scores_each_exercise(graded):
    _, report = graded
    jsonschema.validate(report, formats.REPORT_SCHEMA)
    got = by_id(report)
    assert [e["id"] for e in report["exercises"]] == ONLY.split(",")
    assert (got["rnn_step"]["verdict"], got["rnn_step"]["points"]) == ("passed", 2)
    assert got["rnn_forward"]["verdict"] == "partial"
    assert got["rnn_forward"]["points"] == pytest.approx(2 * 3 / 6)
    assert "keep the input dtype" in got["rnn_forward"]["feedback"]
    assert got["rnn_backward"]["verdict"] == "not implemented"
    assert got["lstm_step"]["verdict"] == "failed" and got["lstm_step"]["points"] == 0
    assert got["lstm_forward"]["verdict"] == "missing"
    assert report["score"] == pytest.approx(3)
    assert report["max_score"] == 2 + 2 + 3 + 2 + 3


def test_grading_again_gives_the_same_report(graded, tmp_path):
    nb, report = graded
    out = tmp_path / "again.json"
    assert main(["grade", str(nb), "--only", ONLY, "--format", "json", "--output", str(out),
                 "--timeout", "10"]) == 0
    assert json.loads(out.read_text()) == report


def lines_of_every_format(report):
    for fmt in formats.FORMATS:
        text = formats.render(report, fmt)
        yield fmt, text.splitlines()


def test_no_format_lets_the_submission_start_a_line(graded):
    """What the submission printed or raised never starts a line of the output: no
    `::workflow command::`, no fake score line, no terminal escapes."""
    _, report = graded
    for fmt, lines in lines_of_every_format(report):
        for line in lines:
            assert not line.lstrip().startswith("::"), (fmt, line)
            assert not re.match(r"\s*(Points|score:|total points)", line, re.I), (fmt, line)
            assert "\x1b" not in line and "\r" not in line, (fmt, line)
    feedback = by_id(report)["lstm_step"]["feedback"]
    assert 'raised ValueError: "\\n::notice title=Autograding complete::Points' in feedback


def test_the_table_is_one_row_per_exercise_then_the_total(graded):
    _, report = graded
    lines = formats.table(report).splitlines()
    assert lines[0].split() == ["exercise", "points", "verdict", "feedback"]
    rows = lines[2:2 + len(report["exercises"])]
    assert [r.split()[0] for r in rows] == ONLY.split(",")
    assert rows[0].split()[1:3] == ["2/2", "passed"]
    assert "total: 3/12 points (25.0%)" in lines


def test_markdown_escapes_what_the_submission_wrote(graded):
    _, report = graded
    text = formats.markdown(report)
    assert text.startswith("## Autograding: 3 / 12 points (25.0%)")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(rows) == 5 and all(row.count(" | ") == 3 for row in rows)  # no cell split by "|"
    assert formats.md("<img src=x> [a](b) | *c*") == r"\<img src\=x\> \[a\]\(b\) \| \*c\*"


GRADESCOPE_RESULTS = formats.GRADESCOPE_SCHEMA


def test_gradescope_results_json(graded):
    _, report = graded
    results = json.loads(formats.gradescope(report))
    jsonschema.validate(results, GRADESCOPE_RESULTS)
    assert results["score"] == report["score"]
    assert [t["name"] for t in results["tests"]] == ONLY.split(",")
    assert sum(t["score"] for t in results["tests"]) == pytest.approx(report["score"])
    assert sum(t["max_score"] for t in results["tests"]) == report["max_score"]


def test_junit_xml_has_one_testcase_per_exercise_with_its_points(graded):
    _, report = graded
    root = ET.fromstring(formats.junit(report).encode())
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == ONLY.split(",")
    for case, entry in zip(cases, report["exercises"], strict=True):
        props = {p.get("name"): p.get("value") for p in case.findall("./properties/property")}
        assert float(props["points"]) == entry["points"]
        assert float(props["max_points"]) == entry["max_points"]
        assert (case.find("failure") is None) == (entry["verdict"] == "passed")
    assert root.find("./testsuite").get("failures") == "4"


def test_gradescope_output_says_each_failure_once(graded):
    """A test's `output` is the feedback (which names the first failed check), then the
    other failed checks: none twice."""
    _, report = graded
    results = json.loads(formats.gradescope(report))
    partial = next(t for t in results["tests"] if t["name"] == "rnn_forward")
    entry = by_id(report)["rnn_forward"]
    failed = [c for c in entry["checks"] if not c["passed"]]
    assert len(failed) >= 2
    for c in failed:  # each failure, from the report's checks, exactly once
        assert partial["output"].count(f"{c['label']}: {c['message']}") == 1, partial["output"]
    assert partial["output"].splitlines()[0] == entry["feedback"]


# ---------------------------------------------------------------------------------------
# The command line


def test_fail_under_sets_the_exit_status(graded, tmp_path, capsys):
    nb, _ = graded
    out = ["--only", ONLY, "--output", str(tmp_path / "table.txt")]
    assert main(["grade", str(nb), "--fail-under", "30", *out]) == 1
    assert main(["grade", str(nb), "--fail-under", "25", *out]) == 0


def test_report_renders_a_saved_report_and_grade_writes_one(graded, tmp_path, capsys):
    nb, report = graded
    saved = tmp_path / "r.json"
    assert main(["grade", str(nb), "--only", ONLY, "--format", "markdown",
                 "--report", str(saved)]) == 0
    assert capsys.readouterr().out == formats.markdown(report)
    assert main(["report", str(saved), "--format", "junit"]) == 0
    assert capsys.readouterr().out == formats.junit(report)


@pytest.mark.parametrize("argv, says", [
    (["grade", "/no/such/notebook.ipynb"], "no such file or folder"),
    (["batch", "/no/such/class"], "no such file or folder"),
    (["grade", "x.ipynb", "--format", "pdf"], "invalid choice"),
    (["grade", "x.ipynb", "--timeout", "-1"], "must be positive"),
    (["grade", "x.ipynb", "--only", "lstm_stepp"], "unknown exercise 'lstm_stepp'"),
    (["frobnicate"], "invalid choice"),
    ([], "required"),
])
def test_usage_errors_exit_2_with_one_line(argv, says):
    done = subprocess.run([sys.executable, "-m", "autograde", *argv], capture_output=True,
                          text=True, cwd=ROOT)
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and says in done.stderr, done.stderr


def test_release_includes_the_workflow(released):
    out = released
    assert (out / WORKFLOW).is_file()
    assert not (out / "solutions").exists()


def test_batch_writes_a_gradebook_and_a_report_per_student(tmp_path):
    """Two students, one with a hostile cell: one row each, one column per exercise, a
    total; each student's JSON report beside it; the same grades as grading alone."""
    from autograde import batch

    for student, cell in (("ada", RNN_STEP), ("bob", "import os\nos._exit(0)\n" + RNN_STEP)):
        (tmp_path / "class" / student).mkdir(parents=True)
        notebook(tmp_path / "class" / student / "01_rnn_cell.ipynb", IMPORTS, cell)
    gradebook = tmp_path / "gradebook.csv"
    reports = batch.batch(tmp_path / "class", gradebook, jobs=2, progress=False,
                          only=["rnn_step", "rnn_forward"])
    rows = list(csv.DictReader(gradebook.open()))
    assert [r["student"] for r in rows] == ["ada", "bob"]
    assert list(rows[0]) == ["student", "rnn_step", "rnn_forward", "total", "max_score",
                             "percent", "late_days", "late_penalty", "override",
                             "override_reason", "final", "verify", "commit",
                             "submission_sha256", "grader"]
    assert (rows[0]["rnn_step"], rows[0]["rnn_forward"], rows[0]["total"]) == ("2", "0", "2")
    assert (rows[1]["rnn_step"], rows[1]["total"]) == ("0", "0")
    for student, report in reports.items():
        saved = json.loads((tmp_path / "gradebook-reports" / f"{student}.json").read_text())
        assert saved == report
        jsonschema.validate(saved, formats.REPORT_SCHEMA)
    # The same grades as grading each student alone (cases are seeded by the code);
    # batch adds how it graded.
    alone = grader.grade(tmp_path / "class" / "bob", only=["rnn_step", "rnn_forward"])
    assert reports["bob"].pop("grading")["grader"] == rows[1]["grader"]
    assert alone == reports["bob"]


# ---------------------------------------------------------------------------------------
# The workflow the learner's copy ships

WORKFLOW_SCHEMA = {
    "type": "object",
    "required": ["name", "on", "jobs"],
    "properties": {
        "on": {"type": ["object", "string", "array"]},
        "permissions": {"type": "object",
                        "additionalProperties": {"enum": ["read", "write", "none"]}},
        "jobs": {"type": "object", "minProperties": 1, "additionalProperties": {
            "type": "object",
            "required": ["runs-on", "steps"],
            "properties": {
                "runs-on": {"type": "string"},
                "timeout-minutes": {"type": "integer"},
                "steps": {"type": "array", "minItems": 1, "items": {
                    "type": "object",
                    "oneOf": [{"required": ["uses"]}, {"required": ["run"]}],
                    "properties": {"id": {"type": "string", "pattern": "^[A-Za-z_][\\w-]*$"},
                                   "name": {"type": "string"}, "if": {"type": "string"},
                                   "uses": {"type": "string",
                                            "pattern": "^[\\w.-]+/[\\w./-]+@[\\w.-]+$"},
                                   "run": {"type": "string"}, "with": {"type": "object"},
                                   "env": {"type": "object"}},
                    "additionalProperties": False}},
            }}},
    },
}


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    out = tmp_path_factory.mktemp("learner") / "copy"
    assert main(["release", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def workflow(released):
    data = yaml.safe_load((released / WORKFLOW).read_text())
    if True in data:  # YAML 1.1 reads the key `on` as true
        data["on"] = data.pop(True)
    return data


def test_the_workflow_is_a_valid_github_actions_workflow(workflow):
    jsonschema.validate(workflow, WORKFLOW_SCHEMA)
    assert "push" in workflow["on"]
    assert workflow["permissions"] == {}  # each job says what it needs


def test_the_workflow_grades_into_the_summary_uploads_and_reports(workflow):
    [job] = workflow["jobs"].values()
    steps = {s.get("id", s.get("name")): s for s in job["steps"]}
    assert job["steps"][0]["uses"].startswith("actions/checkout@")
    grade = steps["grade"]["run"]
    assert "python -P -m autograde grade book --format markdown" in grade
    assert '>> "$GITHUB_STEP_SUMMARY"' in grade and "--report autograde-report.json" in grade
    assert "the grade of record" in grade and "job summary" in grade
    upload = next(s for s in job["steps"] if s.get("uses", "").startswith(
        "actions/upload-artifact@"))
    assert upload["with"]["path"] == "${{ runner.temp }}/grading/autograde-report.json"
    assert "always()" in upload["if"]
    assert not any("classroom" in s.get("uses", "") + s.get("run", "") for s in job["steps"])
