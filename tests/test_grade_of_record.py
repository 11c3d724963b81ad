"""The grade does not come from code the learner controls.

A learner gets a copy from `release`, does part of the work, and then, as an attacker
would, edits the copy's grader (every exercise passes), a check module (its points),
the workflow and a check cell and a helper cell of a notebook, and adds a module under
autograde/. Then:

- the copy's own grader is fooled (the attack is real);
- the instructor's `batch` and the workflow's grading path (the install and grade steps
  of the released workflow, run as bash with the runner's variables set) give the
  score the honest copy gets;
- `verify` names every edited file and cell, and the gradebook counts them.
"""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from learner import partial_copy

from autograde import batch, grader, verify
from autograde.__main__ import main

pytestmark = [pytest.mark.early, pytest.mark.slow]  # grades the whole book several times

ROOT = Path(__file__).resolve().parent.parent
GRADER_ATTACK = '''

_honest_grade = grade


def grade(*args, **kwargs):  # every exercise passes
    report = _honest_grade(*args, **kwargs)
    for e in report["exercises"]:
        e["points"], e["verdict"] = e["max_points"], "passed"
    report["score"], report["percent"] = report["max_score"], 100.0
    return report
'''


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    """(honest copy, tampered copy, the manifest release wrote, the honest report)."""
    base = tmp_path_factory.mktemp("grade-of-record")
    honest = partial_copy(base / "class" / "alice")
    manifest = verify.load_manifest(honest / verify.MANIFEST)
    tampered = base / "class" / "mallory"
    shutil.copytree(honest, tampered)
    attack(tampered)
    report = grader.grade(honest / "book")
    assert 0 < report["score"] < report["max_score"]
    return honest, tampered, manifest, report


def attack(copy):
    """What a learner who wants full marks edits."""
    with open(copy / "autograde" / "grader.py", "a") as f:
        f.write(GRADER_ATTACK)
    checks = copy / "autograde" / "checks" / "numpy_rnn.py"
    text = checks.read_text()
    assert '@exercise("rnn_forward", points=2,' in text
    checks.write_text(text.replace('@exercise("rnn_forward", points=2,',
                                   '@exercise("rnn_forward", points=100,'))
    (copy / "autograde" / "checks" / "extra.py").write_text("POINTS = 100\n")
    flow = copy / ".github" / "workflows" / "autograde.yml"
    flow.write_text(flow.read_text().replace("python -P -m autograde grade",
                                             "python -m autograde grade"))
    notebook = copy / "book" / "01_rnn_cell.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    check_cell = next(c for c in nb.cells if c.source.strip() == "check(rnn_forward)")
    check_cell.source = 'print("rnn_forward: passed all 6 checks")'
    helper = next(c for c in nb.cells if "import numpy as np" in c.source)  # the imports
    helper.source += "\nnp.tanh = lambda z: z"
    nbformat.write(nb, notebook)


def test_the_copys_own_grader_is_fooled(copies):
    """The attack is real: the tampered copy grades itself 100% (so the tests below
    would fail if the instructor's or the workflow's grading imported it)."""
    _, tampered, _, _ = copies
    done = subprocess.run([sys.executable, "-m", "autograde", "grade", "book", "--format",
                           "json", "--only", "rnn_backward"], cwd=tampered, text=True,
                          capture_output=True, env={**os.environ, "PYTHONPATH": str(tampered)},
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["percent"] == 100.0  # rnn_backward is still a stub


def test_verify_names_every_edited_file_and_cell(copies, capsys):
    honest, tampered, manifest, _ = copies
    assert verify.verify(honest, manifest) == []
    found = verify.verify(tampered, manifest)
    cells = nbformat.read(honest / "book" / "01_rnn_cell.ipynb", as_version=4).cells
    imports = next(k for k, c in enumerate(cells) if "import numpy as np" in c.source)
    first_line = cells[imports].source.splitlines()[0]
    assert found == [
        "changed: .github/workflows/autograde.yml",
        "changed: autograde/checks/numpy_rnn.py",
        "changed: autograde/grader.py",
        "added: autograde/checks/extra.py (cannot affect the grade)",
        f'edited: book/01_rnn_cell.ipynb cell {imports + 1} (a code cell "{first_line}")',
        'edited: book/01_rnn_cell.ipynb cell 13 (the check cell "check(rnn_forward)")',
    ], found
    # The command: exit 1 and one line each; 0 for the honest copy; 2 for a usage error.
    saved = str(honest / verify.MANIFEST)
    assert main(["verify", str(tampered), "--manifest", saved]) == 1
    assert capsys.readouterr().out.splitlines()[:len(found)] == found
    assert main(["verify", str(honest), "--manifest", saved]) == 0
    assert main(["verify", str(honest / "README.md")]) == 2
    assert main(["verify", str(honest), "--manifest", str(honest / "README.md")]) == 2


def test_the_learner_may_write_exercises_and_add_cells(copies, tmp_path):
    honest, _, manifest, _ = copies
    copy = tmp_path / "copy"
    shutil.copytree(honest, copy)
    notebook = copy / "book" / "03_lstm_cell.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell("print('my own scratch cell')"))
    nb.cells.append(nbformat.v4.new_markdown_cell("My notes."))
    nbformat.write(nb, notebook)
    (copy / "README.md").write_text("my notes\n")
    assert verify.verify(copy, manifest) == []
    # Files added anywhere are listed; only a notebook in book/ can change the grade.
    (copy / "notes").mkdir()
    (copy / "notes" / "todo.txt").write_text("finish chapter 4\n")
    shutil.copy(notebook, copy / "book" / "scratch.ipynb")
    (copy / ".github" / "workflows" / "mine.yml").write_text("on: push\n")
    assert verify.verify(copy, manifest) == [
        "added: .github/workflows/mine.yml (cannot affect the grade)",
        "added: book/scratch.ipynb (a notebook in book/: graded if it defines an exercise)",
        "added: notes/todo.txt (cannot affect the grade)",
    ]


def test_the_instructors_batch_gives_the_honest_score(copies, tmp_path):
    honest, tampered, manifest, report = copies
    gradebook = tmp_path / "gradebook.csv"
    reports = batch.batch(honest.parent, gradebook, jobs=2, progress=False, manifest=manifest)
    assert reports["mallory"]["score"] == reports["alice"]["score"] == report["score"]
    rows = {r["student"]: r for r in csv.DictReader(gradebook.open())}
    assert rows["alice"]["verify"] == "0" and rows["mallory"]["verify"] == "6"
    assert rows["mallory"]["grader"] == verify.grader_version()
    assert rows["mallory"]["submission_sha256"] != rows["alice"]["submission_sha256"]
    assert rows["alice"]["submission_sha256"] == verify.submission_sha256(honest / "book")
    assert reports["mallory"]["grading"]["verify"] == verify.verify(tampered, manifest)


def released_steps(copy):
    flow = yaml.safe_load((copy / ".github" / "workflows" / "autograde.yml").read_text())
    [job] = flow["jobs"].values()
    return job["env"], {s["name"]: s for s in job["steps"]}


def run_step(step, workspace, env):
    """One `run:` step as GitHub runs it: bash, in the checkout, with the runner's files."""
    return subprocess.run(["bash", "-e", "-c", step["run"]], cwd=workspace, text=True,
                          capture_output=True, env=env, timeout=900)


def test_the_workflows_grading_path_gives_the_honest_score(copies, tmp_path):
    """The released workflow's install and grade steps, run on the tampered checkout:
    they unpack the grader pinned at release (the copy's autograde/ is never imported)
    and grade only book/*.ipynb."""
    honest, tampered, _, report = copies
    job_env, steps = released_steps(honest)  # what release shipped, not the learner's edit
    runner = tmp_path / "runner"
    runner.mkdir()
    files = {name: runner / name for name in ("env", "summary", "output")}
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **job_env,
           "RUNNER_TEMP": str(runner), "GITHUB_WORKSPACE": str(tampered),
           "GITHUB_ENV": str(files["env"]), "GITHUB_STEP_SUMMARY": str(files["summary"]),
           "GITHUB_OUTPUT": str(files["output"]), "GITHUB_SERVER_URL": "https://github.com",
           "GITHUB_REPOSITORY": "class/mallory", "GITHUB_RUN_ID": "1"}
    install = run_step(steps["Install the grader (pinned at release, outside the checkout)"],
                       tampered, env)
    assert install.returncode == 0, install.stderr
    env.update(line.split("=", 1) for line in files["env"].read_text().splitlines())
    assert env["PYTHONPATH"] == str(runner / "grader")
    graded = run_step(steps["Grade book/"], tampered, env)
    assert graded.returncode == 0, graded.stderr[-3000:]
    got = json.loads((runner / "grading" / "autograde-report.json").read_text())
    assert (got["score"], got["max_score"]) == (report["score"], report["max_score"])
    assert [e["points"] for e in got["exercises"]] == [e["points"] for e in report["exercises"]]
    summary = files["summary"].read_text()
    assert "feedback; your instructor's re-grade is the grade of record" in summary
    assert "job summary" in graded.stdout
    assert sorted(p.name for p in (runner / "grading" / "book").iterdir()) == \
        sorted(p.name for p in (tampered / "book").glob("*.ipynb"))  # nothing else copied


def test_a_swapped_grader_zip_stops_the_workflow(copies, tmp_path):
    """Replacing the shipped grader by the tampered one fails the install step's hash
    check (the learner would have to edit the workflow too, which verify reports)."""
    honest, tampered, _, _ = copies
    copy = tmp_path / "copy"
    shutil.copytree(tampered, copy)
    from autograde.course import zip_package

    zip_package(copy / "autograde", copy / ".github" / "autograde" / "grader.zip")
    job_env, steps = released_steps(honest)
    (tmp_path / "runner").mkdir()
    env = {"PATH": os.environ["PATH"], **job_env, "RUNNER_TEMP": str(tmp_path / "runner"),
           "GITHUB_WORKSPACE": str(copy), "GITHUB_ENV": str(tmp_path / "env")}
    done = run_step(steps["Install the grader (pinned at release, outside the checkout)"],
                    copy, env)
    assert done.returncode != 0 and "FAILED" in done.stdout + done.stderr
    assert not (tmp_path / "env").exists()
