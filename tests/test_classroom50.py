"""The Classroom 50 bundle, run as Classroom 50's runner runs it.

The contract comes from foundation50/classroom50's `runner.py` (read, not copied): the
runner unpacks the bundle (published as ASSIGNMENT.tar.gz) into its runtime folder, runs
`python autograder.py` in the student's checkout with CLASSROOM50_BUNDLE_DIR and the
identity variables set, stamps owner, assignment_type and datetime into result.json, and
validates it (`validate_result`). `problem` below re-implements that validation's rules;
when CLASSROOM50_RUNNER names a copy of the real runner.py, its own `validate_result`
judges too. The runtime block's rules are those of `internal/assignment/runtime.go`.
"""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from fractions import Fraction
from pathlib import Path

import pytest
from platform_copies import COPIES, copy, open_folder, reference

from autograde import formats
from autograde.platforms import PYTHONS, classroom50

ROOT = Path(__file__).resolve().parent.parent
IDENTITY = {"CLASSROOM": "ml-2026", "ASSIGNMENT": "lstm", "SUBMISSION_TAG": "submit/20261208-abc1234",
            "USERNAME": "alice", "OWNER": "alice", "ASSIGNMENT_TYPE": "individual",
            "COMMIT_URL": "https://github.com/o/r/commit/1", "RELEASE_URL": "https://github.com/o/r/r",
            "REVIEW_URL": "https://github.com/o/r/compare/a...b"}
RUNTIME_KEYS = {"runs-on", "python", "node", "java", "go", "rust", "apt", "apt-recommends",
                "container"}
MAX_BUNDLE_BYTES = 10 * 1024 * 1024  # the runner's cap on a fetched bundle


def _count(x):
    """A non-negative integer, as the runner wants it: bool and float (even 2.0) are not."""
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def problem(doc, classroom, assignment, owner, assignment_type="individual"):
    """None if `doc` passes the rules of the runner's validate_result, else the first
    rule it breaks."""
    if not isinstance(doc, dict) or doc.get("schema") != "classroom50/result/v1":
        return "schema"
    if doc.get("classroom") != classroom or doc.get("assignment") != assignment:
        return "classroom/assignment"
    if not isinstance(doc.get("owner"), str) or doc["owner"].lower() != owner.lower():
        return "owner"
    if doc.get("assignment_type") != assignment_type:
        return "assignment_type"
    if not str(doc.get("submission", "")).startswith("submit/"):
        return "submission"
    for field in ("commit", "release", "review", "datetime"):
        if not isinstance(doc.get(field), str) or not doc[field]:
            return field
    if not (_count(doc.get("score")) and _count(doc.get("max-score"))):
        return "score and max-score must be non-negative integers"
    if doc["score"] > doc["max-score"]:
        return "score > max-score"
    if not isinstance(doc.get("tests"), list):
        return "tests"
    for i, t in enumerate(doc["tests"]):
        if not isinstance(t, dict) or not isinstance(t.get("test-name"), str) or not t["test-name"]:
            return f"tests[{i}].test-name"
        if not isinstance(t.get("passed"), bool):
            return f"tests[{i}].passed"
        if not (_count(t.get("score")) and _count(t.get("max-score"))):
            return f"tests[{i}] score and max-score must be non-negative integers"
        if t["score"] > t["max-score"]:
            return f"tests[{i}].score > max-score"
    return None


def real_runner():
    """The real runner.py's module when CLASSROOM50_RUNNER names a copy of it, else None."""
    path = os.environ.get("CLASSROOM50_RUNNER")
    if not path or not Path(path).is_file():
        return None
    spec = importlib.util.spec_from_file_location("classroom50_runner", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def judge(doc):
    """The validators' verdict (None: valid) on a result, after the runner's stamping."""
    verdict = problem(doc, IDENTITY["CLASSROOM"], IDENTITY["ASSIGNMENT"], IDENTITY["USERNAME"])
    runner = real_runner()
    if runner is not None:
        real = runner.validate_result(doc, classroom=IDENTITY["CLASSROOM"],
                                      assignment=IDENTITY["ASSIGNMENT"],
                                      expected_type="individual", owner=IDENTITY["USERNAME"])
        assert (real is None) == (verdict is None), (real, verdict)
    return verdict


def report(*exercises):
    """A report with these (points, max_points, verdict) exercises, scored as grader does."""
    entries = [{"id": f"ex{k}", "chapter": "01_rnn_cell.ipynb", "notebook": "01_rnn_cell.ipynb",
                "cell": 3, "points": round(float(points), 4), "max_points": most,
                "verdict": verdict, "feedback": f"feedback {k}",
                "checks": [{"label": "case", "passed": False, "message": "wrong"}], "notes": []}
               for k, (points, most, verdict) in enumerate(exercises)]
    score = sum(Fraction(points) for points, _, _ in exercises)
    most = sum(m for _, m, _ in exercises)
    return {"schema": "autograde-report/1", "submission": "book",
            "score": round(float(score), 4), "max_score": most,
            "percent": round(float(100 * score / most), 2), "exercises": entries, "notes": [],
            "sandbox": {"user": "unprivileged", "network": "off", "timeout_s": 60,
                        "memory_mb": 4096}}


PARTIAL = report((Fraction(3, 2), 3, "partial"), (Fraction(2, 3), 1, "partial"),
                 (Fraction(4, 7) * 2, 2, "partial"), (2, 2, "passed"), (0, 1, "not implemented"))


def test_partial_credit_is_counted_in_whole_units_and_stays_exact():
    doc = classroom50.result(PARTIAL, IDENTITY)
    assert judge(doc) is None
    # 1.5, 2/3 and 8/7 points: 42 units a point makes each whole.
    assert doc["units-per-point"] == 42
    assert [(t["score"], t["max-score"]) for t in doc["tests"]] == \
        [(63, 126), (28, 42), (48, 84), (84, 84), (0, 42)]
    exact = Fraction(3, 2) + Fraction(2, 3) + Fraction(8, 7) + 2
    assert Fraction(doc["score"], doc["max-score"]) == exact / 9
    assert round(100 * doc["score"] / doc["max-score"], 2) == PARTIAL["percent"]
    assert [t["test-name"] for t in doc["tests"]] == [e["id"] for e in PARTIAL["exercises"]]
    assert [t["passed"] for t in doc["tests"]] == [False, False, False, True, False]
    assert doc["tests"][0]["feedback"] == "feedback 0\n- case: wrong"


def test_the_validator_rules_reject_what_the_runner_rejects():
    """The rules can fail: points as they are (1.5) or as whole floats (2.0) are refused."""
    doc = classroom50.result(PARTIAL, IDENTITY)
    for field, value in (("score", 1.5), ("score", 2.0), ("max-score", -1), ("score", True)):
        assert judge({**doc, field: value}) is not None
    test = {**doc["tests"][3], "score": 2.0}
    assert judge({**doc, "tests": [test]}) is not None
    assert judge({**doc, "owner": "mallory"}) is not None


def test_a_report_without_points_is_still_a_valid_result():
    empty = report((0, 1, "missing"))
    empty["exercises"], empty["max_score"], empty["percent"] = [], 0, 0.0
    doc = classroom50.result(empty, IDENTITY)
    assert judge(doc) is None and (doc["score"], doc["max-score"]) == (0, 0)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("c50") / "lstm"
    written = classroom50.build(out)
    assert {p.name for p in written} == {"autograder.py", "grader.zip", "requirements-grading.txt",
                                         "runtime.json", "README.md"}
    return out


def test_the_bundle_pins_its_grader_and_asks_for_a_python_our_frameworks_support(bundle):
    source = (bundle / "autograder.py").read_text()
    compile(source, "autograder.py", "exec")
    import hashlib

    sha = re.search(r'GRADER_SHA256 = "([0-9a-f]{64})"', source)[1]
    assert sha == hashlib.sha256((bundle / "grader.zip").read_bytes()).hexdigest()
    names = zipfile.ZipFile(bundle / "grader.zip").namelist()
    assert "autograde/sandbox/guards.py" in names and "autograde/platforms/classroom50.py" in names
    assert (bundle / "requirements-grading.txt").read_text() == \
        (ROOT / "requirements-grading.txt").read_text()
    assert re.search(r'TF_KERAS = "tf-keras==[\d.]+"', source)
    runtime = json.loads((bundle / "runtime.json").read_text())
    assert set(runtime) <= RUNTIME_KEYS
    assert re.fullmatch(r"[A-Za-z0-9._+-]{1,32}", runtime["python"])
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", runtime["runs-on"])
    assert runtime["python"] in PYTHONS
    assert json.dumps(runtime) in (bundle / "README.md").read_text()
    assert len(_tarball(bundle, bundle.parent / "published")) < MAX_BUNDLE_BYTES
    with pytest.raises(ValueError, match="not empty"):
        classroom50.build(bundle)


def _tarball(bundle, folder):
    """The bundle as the teacher's Pages site publishes it: ASSIGNMENT.tar.gz."""
    folder.mkdir(exist_ok=True)
    path = folder / f"{bundle.name}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(bundle, arcname=bundle.name)
    return path.read_bytes()


def run_like_the_runner(bundle, workspace, tmp_path):
    """Unpack the published bundle into a runtime folder and run autograder.py in the
    checkout, as runner.py's fetch_bundle and run_entrypoint do; then stamp the result
    as finalize_result does. Returns (the process, result.json or None, release body)."""
    runner_temp = open_folder()  # as $RUNNER_TEMP is on a runner: others may enter it
    runtime = runner_temp / "classroom50-runtime"
    runtime.mkdir(parents=True)
    data = _tarball(bundle, tmp_path / "pages")
    with tarfile.open(tmp_path / "pages" / f"{bundle.name}.tar.gz") as tar:
        tar.extractall(runtime, filter="data")
    assert len(data) < MAX_BUNDLE_BYTES
    slug = runtime / bundle.name
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    env.update(IDENTITY, CLASSROOM50_BUNDLE_DIR=str(slug), RUNNER_TEMP=str(runner_temp),
               GITHUB_OUTPUT=str(tmp_path / "github-output"), AUTOGRADE_SKIP_INSTALL="1")
    done = subprocess.run([sys.executable, str(slug / "autograder.py")], cwd=workspace, env=env,
                          capture_output=True, text=True, timeout=900)
    result_file = workspace / "result.json"
    if done.returncode or not result_file.is_file():
        return done, None, None
    doc = json.loads(result_file.read_text())
    doc.update(owner=IDENTITY["USERNAME"], assignment_type="individual",
               datetime="2026-12-08T00:00:00Z")
    return done, doc, (workspace / "release-body.md").read_text()


def test_a_swapped_grader_is_refused(bundle, tmp_path):
    swapped = tmp_path / "lstm"
    shutil.copytree(bundle, swapped)
    with zipfile.ZipFile(swapped / "grader.zip", "a") as z:
        z.writestr("autograde/extra.py", "POINTS = 100\n")
    (tmp_path / "checkout" / "book").mkdir(parents=True)
    done, doc, _ = run_like_the_runner(swapped, tmp_path / "checkout", tmp_path)
    assert done.returncode != 0 and doc is None
    assert "does not match its SHA-256" in done.stderr


GRADER_ATTACK = '''

def grade(*args, **kwargs):  # every exercise passes
    raise SystemExit("the checkout's grader ran")
'''


@pytest.mark.slow
@pytest.mark.parametrize("name", COPIES)
def test_the_runner_publishes_our_percentage(bundle, tmp_path, name):
    """Classroom 50's result for each copy is our report's: same percentage, one test per
    exercise with our verdict, the Release body our Markdown table. The checkout's own
    autograde/ is booby-trapped: it must never run."""
    workspace = tmp_path / "checkout"
    shutil.copytree(copy(name), workspace)
    if (workspace / "autograde").is_dir():
        with open(workspace / "autograde" / "grader.py", "a") as f:
            f.write(GRADER_ATTACK)
    done, doc, body = run_like_the_runner(bundle, workspace, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert doc is not None and judge(doc) is None
    expected = reference(name)
    assert [t["test-name"] for t in doc["tests"]] == [e["id"] for e in expected["exercises"]]
    for t, e in zip(doc["tests"], expected["exercises"], strict=True):
        assert (t["verdict"], t["feedback"].partition("\n")[0]) == (e["verdict"], e["feedback"])
        assert t["passed"] == (e["verdict"] == "passed")
        assert abs(t["score"] / doc["units-per-point"] - e["points"]) < 1e-4
        assert t["max-score"] == e["max_points"] * doc["units-per-point"]
    assert round(100 * doc["score"] / doc["max-score"], 2) == expected["percent"]
    rows = [line for line in formats.markdown(expected).splitlines() if line.startswith("| `")]
    assert rows and all(row in body.splitlines() for row in rows)
    status = (tmp_path / "github-output").read_text()
    assert ("status=success" in status) == (expected["percent"] == 100.0)
