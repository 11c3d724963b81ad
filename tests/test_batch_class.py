"""What an instructor needs from `batch`: warnings about the class folder, deadlines for
git submissions, a time cap per student, re-grading one student, and the class report.

A small class, graded on three exercises of chapters 1 and 3 (module fixture): each
student's folder holds the notebooks of a released copy (as uploaded to a learning
platform) or is a git repository (as GitHub Classroom clones it).
"""

import csv
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest
from learner import HALF_RIGHT_RNN_FORWARD, set_exercise, solved_source

from autograde import batch, class_report, verify
from autograde.__main__ import main
from autograde.course import release, solve
from autograde.sandbox import Limits

pytestmark = pytest.mark.slow  # grades a class in the sandbox

ONLY = ["rnn_step", "rnn_forward", "lstm_step"]
WRONG_GATE_ORDER = '''def lstm_step(x, h, c, Wx, Wh, b):
    H = h.shape[1]
    z = x @ Wx + h @ Wh + b
    i, f, o, g = (z[:, k * H:(k + 1) * H] for k in range(4))
    sig = lambda v: 1 / (1 + np.exp(-v))
    c_next = sig(f) * c + sig(i) * np.tanh(g)
    return sig(o) * np.tanh(c_next), c_next'''
LOOPS = "def rnn_step(x, h, Wx, Wh, b):\n    while True:\n        pass"
DEADLINE = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def git(folder, *args, date=None):
    env = {"GIT_AUTHOR_NAME": "s", "GIT_AUTHOR_EMAIL": "s@x", "GIT_COMMITTER_NAME": "s",
           "GIT_COMMITTER_EMAIL": "s@x", "PATH": "/usr/bin:/bin"}
    if date:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
    done = subprocess.run(["git", "-C", str(folder), *args], env=env, capture_output=True,
                          text=True, check=True)
    return done.stdout.strip()


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    base = tmp_path_factory.mktemp("class")
    release(base / "copy")
    solve(base / "key")
    manifest = verify.load_manifest(base / "copy" / verify.MANIFEST)
    room = base / "room"

    def student(name):
        shutil.copytree(base / "copy" / "book", room / name)
        return room / name

    def solved(folder, chapter, id):
        set_exercise(folder / chapter, id, solved_source(base / "key", chapter, id))

    ada = student("ada")  # everything right
    solved(ada, "01_rnn_cell.ipynb", "rnn_step")
    solved(ada, "01_rnn_cell.ipynb", "rnn_forward")
    solved(ada, "03_lstm_cell.ipynb", "lstm_step")
    bob = student("bob")  # half right, and a named mistake
    solved(bob, "01_rnn_cell.ipynb", "rnn_step")
    set_exercise(bob / "01_rnn_cell.ipynb", "rnn_forward", HALF_RIGHT_RNN_FORWARD)
    set_exercise(bob / "03_lstm_cell.ipynb", "lstm_step", WRONG_GATE_ORDER)
    nb = nbformat.read(bob / "03_lstm_cell.ipynb", as_version=4)  # and an edited check cell
    next(c for c in nb.cells if c.source.strip() == "check(lstm_step)").source = "pass"
    nbformat.write(nb, bob / "03_lstm_cell.ipynb")
    # carol pushes rnn_step before the deadline and the rest after it.
    carol = student("carol")
    git(carol, "init", "-q")
    solved(carol, "01_rnn_cell.ipynb", "rnn_step")
    git(carol, "add", "-A")
    git(carol, "commit", "-qm", "rnn_step", date="2026-10-30T10:00:00+00:00")
    before = git(carol, "rev-parse", "HEAD")
    solved(carol, "01_rnn_cell.ipynb", "rnn_forward")
    solved(carol, "03_lstm_cell.ipynb", "lstm_step")
    git(carol, "commit", "-qam", "the rest, late", date="2026-11-02T10:00:00+00:00")
    (room / "dan").mkdir()  # nothing handed in
    (room / "dan" / "notes.txt").write_text("sorry")
    eve = student("eve")  # loops forever
    set_exercise(eve / "01_rnn_cell.ipynb", "rnn_step", LOOPS)
    zoe = student("zoe<b>")  # a name that is markup, and a heading she changed
    nb = nbformat.read(zoe / "01_rnn_cell.ipynb", as_version=4)
    nb.cells[0].source = "# <i>My</i> RNN"
    nbformat.write(nb, zoe / "01_rnn_cell.ipynb")
    shutil.copy(ada / "01_rnn_cell.ipynb", room / "loose.ipynb")
    return room, manifest, before


@pytest.fixture(scope="module")
def graded(klass, tmp_path_factory):
    room, manifest, _ = klass
    gradebook = tmp_path_factory.mktemp("out") / "gradebook.csv"
    limits = Limits(timeout=10)
    reports = batch.batch(room, gradebook, jobs=2, progress=False, only=ONLY, limits=limits,
                          manifest=manifest, deadline=DEADLINE, time_cap=600)
    return gradebook, reports


def rows(gradebook):
    return {r["student"]: r for r in csv.DictReader(gradebook.open())}


def test_warnings_name_the_loose_notebook_and_the_empty_folder(klass):
    room, _, _ = klass
    lines = batch.class_warnings(room)
    assert len(lines) == 2, lines
    assert "loose.ipynb is a notebook in the class folder itself" in lines[0]
    assert "dan/ holds no notebook" in lines[1]


def test_the_gradebook(graded, klass):
    gradebook, reports = graded
    _, _, before = klass
    got = rows(gradebook)
    assert list(got) == ["ada", "bob", "carol", "dan", "eve", "zoe<b>"]
    assert (got["ada"]["total"], got["ada"]["verify"]) == ("6", "0")
    assert (got["bob"]["rnn_forward"], got["bob"]["lstm_step"], got["bob"]["verify"]) == \
        ("1", "0", "1")
    assert reports["bob"]["grading"]["verify"] == [
        'edited: 03_lstm_cell.ipynb cell 9 (the check cell "check(lstm_step)")']
    # carol: graded at her last commit before the deadline, which the gradebook records
    assert (got["carol"]["rnn_step"], got["carol"]["total"]) == ("2", "2")
    assert got["carol"]["commit"] == before and got["ada"]["commit"] == ""
    assert got["dan"]["total"] == "0"
    assert got["eve"]["rnn_step"] == "0" and got["eve"]["lstm_step"] == "0"
    assert "did not finish within the 10 s per-exercise limit" in \
        reports["eve"]["exercises"][0]["feedback"]


def test_a_time_cap_stops_a_student_not_the_class(klass, tmp_path):
    """eve's loop uses up her time; the notebook after it is not started."""
    room, _, _ = klass
    report = batch.grade_student(str(room / "eve"), Limits(timeout=10), ONLY,
                                 time_cap=1)
    by_id = {e["id"]: e for e in report["exercises"]}
    assert by_id["rnn_step"]["points"] == 0
    assert by_id["lstm_step"]["feedback"].startswith("not graded: the time for this "
                                                     "submission ran out")


def test_regrading_one_student_leaves_the_others_alone(graded, klass, tmp_path):
    gradebook, _ = graded
    room, manifest, _ = klass
    book = tmp_path / "gradebook.csv"
    shutil.copy(gradebook, book)
    shutil.copytree(batch.reports_folder(gradebook), batch.reports_folder(book))
    others = {p.name: p.read_bytes() for p in batch.reports_folder(book).iterdir()
              if p.name != "bob.json"}
    lines = {line.split(",")[0]: line for line in book.read_text().splitlines()}
    fixed = tmp_path / "room"
    shutil.copytree(room, fixed, symlinks=True)
    ada = nbformat.read(fixed / "ada" / "03_lstm_cell.ipynb", as_version=4)
    set_exercise(fixed / "bob" / "03_lstm_cell.ipynb", "lstm_step",
                 next(c.source for c in ada.cells if "def lstm_step" in c.source))
    batch.batch(fixed, book, progress=False, only=ONLY, limits=Limits(timeout=10),
                manifest=manifest, regrade=["bob"])
    after = {line.split(",")[0]: line for line in book.read_text().splitlines()}
    assert rows(book)["bob"]["lstm_step"] == "2"
    assert {k: v for k, v in after.items() if k != "bob"} == \
        {k: v for k, v in lines.items() if k != "bob"}
    assert {p.name: p.read_bytes() for p in batch.reports_folder(book).iterdir()
            if p.name != "bob.json"} == others
    with pytest.raises(ValueError, match="no student folder nobody"):
        batch.batch(fixed, book, progress=False, only=ONLY, regrade=["nobody"])
    with pytest.raises(ValueError, match="not a gradebook of these exercises"):
        batch.batch(fixed, book, progress=False, only=["rnn_step"], regrade=["bob"])


def test_the_class_report(graded, tmp_path):
    gradebook, _ = graded
    written = class_report.write(gradebook, tmp_path / "report")
    names = sorted(p.name for p in written)
    assert names == ["class-report.html", "class-report.md", "grading-time.png",
                     "pass-rate.png", "scores.png"]
    for png in (p for p in written if p.suffix == ".png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = (tmp_path / "report" / "class-report.md").read_text()
    assert "# Class report: 6 students" in text
    assert "| `rnn_step` | 3/6 | 0/6 |" in text  # ada, bob, carol
    assert "gates in the wrong order" in text
    assert "zoe\\<b\\>" in text
    page = (tmp_path / "report" / "class-report.html").read_text()
    assert "<b>zoe&lt;b&gt;</b>" in page and "zoe<b>" not in page and "<i>" not in page
    assert "http://" not in page and "https://" not in page  # self-contained
    assert page.count('src="data:image/png;base64,') == 3


def test_the_command_line(klass, tmp_path, capsys):
    room, _, _ = klass
    out = tmp_path / "g.csv"
    manifest = str(room.parent / "copy" / verify.MANIFEST)
    assert main(["batch", str(room), "--output", str(out), "--only", "rnn_step", "--timeout",
                 "20", "--no-progress", "--manifest", manifest, "--report-dir",
                 str(tmp_path / "r"), "--regrade", "ada"]) == 2  # no gradebook yet
    assert main(["batch", str(room), "--output", str(out), "--only", "rnn_step", "--timeout",
                 "20", "--no-progress", "--manifest", manifest, "--deadline",
                 "2026-11-01T12:00"]) == 2  # no time zone
    assert "time zone" in capsys.readouterr().err
    assert main(["batch", str(room), "--output", str(out), "--only", "rnn_step", "--timeout",
                 "20", "--no-progress", "--manifest", manifest, "--report-dir",
                 str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert "warning: loose.ipynb" in err and "warning: dan/" in err
    assert (tmp_path / "r" / "class-report.html").is_file()
    assert main(["class-report", str(out), "--output-dir", str(tmp_path / "r2")]) == 0
    assert main(["class-report", str(tmp_path / "nothing.csv")]) == 2
    assert Path(tmp_path / "r2" / "scores.png").is_file()


def test_grade_and_batch_share_one_fixed_time_limit():
    """Not measured (a measured limit moves with the machine's load): the same for both."""
    from autograde.__main__ import _parser

    grade_args = _parser().parse_args(["grade", "x.ipynb"])
    batch_args = _parser().parse_args(["batch", "class"])
    assert grade_args.timeout is None and batch_args.timeout is None  # both: TIME_LIMIT_S
    assert not hasattr(batch, "auto_timeout")
