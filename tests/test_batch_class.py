"""What an instructor needs from `batch`: warnings about the class folder, deadlines for
git submissions (per student, from the roster), a late policy, a time cap per student,
re-grading one student, overrides, the Canvas gradebook, and the class report.

A small class, graded on three exercises of chapters 1 and 3 (module fixture): each
student's folder holds the notebooks of a released copy (as uploaded to a learning
platform) or is a git repository (as GitHub Classroom clones it). The roster lists all
but dan, and fay, who handed nothing in.
"""

import csv
import io
import json
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest
from learner import HALF_RIGHT_RNN_FORWARD, set_exercise, solved_source

from autograde import batch, class_report, roster, verify
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
# Canvas's gradebook CSV, as its documentation and its own export name the columns.
CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
ROSTER = """submission,github,name,id,sis_user_id,sis_login_id,section,deadline
ada,,"Lovelace, Ada",101,S101,ada@uni.example,Section A,
,bob,"Babbage, Bob",102,S102,bob@uni.example,Section A,
carol,,"Carroll, Carol",103,S103,carol@uni.example,Section B,2026-11-01T12:00:00+00:00
eve,,"Evans, Eve",105,S105,eve@uni.example,Section B,
zoe<b>,,"=HYPERLINK(""x"")",106,S106,zoe@uni.example,Section B,
fay,,"Fay, Fay",107,S107,fay@uni.example,Section A,
"""


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
    git(carol, "commit", "-qam", "the rest, late", date="2026-11-02T10:00:00+00:00")  # 22 h
    (room / "dan").mkdir()  # nothing handed in
    (room / "dan" / "notes.txt").write_text("sorry")
    eve = student("eve")  # loops forever
    set_exercise(eve / "01_rnn_cell.ipynb", "rnn_step", LOOPS)
    zoe = student("zoe<b>")  # a name that is markup, and a heading she changed
    nb = nbformat.read(zoe / "01_rnn_cell.ipynb", as_version=4)
    nb.cells[0].source = "# <i>My</i> RNN"
    nbformat.write(nb, zoe / "01_rnn_cell.ipynb")
    shutil.copy(ada / "01_rnn_cell.ipynb", room / "loose.ipynb")
    (base / "roster.csv").write_text(ROSTER)
    return room, manifest, before


@pytest.fixture(scope="module")
def graded(klass, tmp_path_factory):
    """(gradebook, reports, what batch told the instructor)."""
    room, manifest, _ = klass
    gradebook = tmp_path_factory.mktemp("out") / "gradebook.csv"
    limits = Limits(timeout=10)
    told = []
    reports = batch.batch(room, gradebook, jobs=2, progress=False, only=ONLY, limits=limits,
                          manifest=manifest, time_cap=600, say=told.append,
                          students_roster=roster.read(room.parent / "roster.csv"),
                          canvas_assignment="LSTM homework (4312)")
    return gradebook, reports, told


def rows(gradebook):
    return {r["student"]: r for r in csv.DictReader(gradebook.open())}


def test_warnings_name_the_loose_notebook_and_the_empty_folder(klass):
    room, _, _ = klass
    lines = batch.class_warnings(room)
    assert len(lines) == 2, lines
    assert "loose.ipynb is a notebook in the class folder itself" in lines[0]
    assert "dan/ holds no notebook" in lines[1]


def test_the_gradebook(graded, klass):
    gradebook, reports, _ = graded
    _, _, before = klass
    got = rows(gradebook)
    assert list(got) == ["ada", "bob", "carol", "dan", "eve", "fay", "zoe<b>"]
    assert (got["ada"]["total"], got["ada"]["verify"]) == ("6", "0")
    assert (got["bob"]["rnn_forward"], got["bob"]["lstm_step"], got["bob"]["verify"]) == \
        ("1", "0", "1")
    assert reports["bob"]["grading"]["verify"] == [
        'edited: 03_lstm_cell.ipynb cell 9 (the check cell "check(lstm_step)")']
    # carol: graded at her last commit before her deadline (the roster's), which the
    # gradebook records; without a late policy nothing is late.
    assert (got["carol"]["rnn_step"], got["carol"]["total"]) == ("2", "2")
    assert got["carol"]["commit"] == before and got["ada"]["commit"] == ""
    assert got["carol"]["late_days"] == "0" and got["carol"]["final"] == "2"
    assert got["dan"]["total"] == "0"
    assert (got["fay"]["total"], got["fay"]["final"]) == ("0", "0")  # in the roster only
    assert reports["fay"]["notes"] == [f"not graded: {batch.NO_SUBMISSION}"]
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


def test_the_canvas_gradebook_accounts_for_every_student(graded):
    """Canvas's columns, the assignment as `Title (id)`, one row per roster student in
    roster order with the final points; fay (no folder) has 0 and dan (no roster row)
    is named, not dropped: his row is in the plain gradebook."""
    gradebook, _, told = graded
    with open(gradebook.with_name("gradebook-canvas.csv"), newline="") as f:
        lines = list(csv.reader(f))
    assert lines[0] == [*CANVAS_HEADER, "LSTM homework (4312)"]
    assert lines[1][0].strip() == "Points Possible" and lines[1][5] == "6"  # 2 + 2 + 2
    plain = rows(gradebook)
    listed = list(csv.DictReader(io.StringIO(ROSTER)))
    assert [line[1] for line in lines[2:]] == [r["id"] for r in listed]
    for line, r in zip(lines[2:], listed, strict=True):
        folder = r["submission"] or r["github"]
        assert line[:5] == [r["name"].replace("=", "'="), r["id"], r["sis_user_id"],
                            r["sis_login_id"], r["section"]]
        assert line[5] == plain[folder]["final"], folder
    assert lines[2][5] == "6" and lines[-1][5] == "0"  # ada, fay
    assert any(line.startswith("no submission: Fay, Fay (fay)") for line in told), told
    assert any(line.startswith("not in the roster: dan/") for line in told), told
    assert "dan" in plain


def test_regrading_one_student_leaves_the_others_alone(graded, klass, tmp_path):
    gradebook, _, _ = graded
    room, manifest, _ = klass
    book = tmp_path / "gradebook.csv"
    shutil.copy(gradebook, book)
    shutil.copytree(batch.reports_folder(gradebook), batch.reports_folder(book))
    # The instructor overrides bob's grade by hand, with the reason, in the gradebook.
    table = list(csv.reader(book.open(newline="")))
    bob = next(r for r in table if r[0] == "bob")
    bob[table[0].index("override")] = "5"
    bob[table[0].index("override_reason")] = "graded by hand: the upload cut the notebook"
    with open(book, "w", newline="") as f:
        csv.writer(f).writerows(table)
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
    # the override and its reason survive the re-grade; the final points are the override
    assert (rows(book)["bob"]["override"], rows(book)["bob"]["final"]) == ("5", "5")
    assert rows(book)["bob"]["override_reason"] == "graded by hand: the upload cut the notebook"
    assert {k: v for k, v in after.items() if k != "bob"} == \
        {k: v for k, v in lines.items() if k != "bob"}
    assert {p.name: p.read_bytes() for p in batch.reports_folder(book).iterdir()
            if p.name != "bob.json"} == others
    with pytest.raises(ValueError, match="no student folder nobody"):
        batch.batch(fixed, book, progress=False, only=ONLY, regrade=["nobody"])
    with pytest.raises(ValueError, match="not a gradebook of these exercises"):
        batch.batch(fixed, book, progress=False, only=["rnn_step"], regrade=["bob"])


def test_an_override_needs_a_reason(klass, tmp_path):
    room, _, _ = klass
    book = tmp_path / "gradebook.csv"
    header = ["student", *ONLY, *batch.EXTRA_COLUMNS]
    ada = dict.fromkeys(header, "0") | {"student": "ada", "override": "3", "override_reason": ""}
    with open(book, "w", newline="") as f:
        csv.writer(f).writerows([header, [ada[c] for c in header]])
    with pytest.raises(ValueError, match="the override of ada needs points >= 0 and a reason"):
        batch.overrides(book)
    before = book.read_bytes()
    with pytest.raises(ValueError, match="the override of ada needs"):  # before any grading
        batch.batch(room, book, progress=False, only=ONLY, regrade=["ada"])
    assert book.read_bytes() == before


def test_a_late_policy_grades_the_last_commit_less_the_penalty(klass, tmp_path):
    """carol's last commit came 22 h after her deadline: one day late, 10% off."""
    room, _, _ = klass
    shutil.copytree(room / "carol", tmp_path / "room" / "carol")
    gradebook = tmp_path / "g.csv"
    batch.batch(tmp_path / "room", gradebook, progress=False, only=ONLY,
                limits=Limits(timeout=10), deadline=DEADLINE, late=roster.LatePolicy(10))
    row = rows(gradebook)["carol"]
    assert (row["total"], row["late_days"]) == ("6", "1")
    assert (float(row["late_penalty"]), float(row["final"])) == (0.6, 5.4)
    assert row["commit"] == git(room / "carol", "rev-parse", "HEAD")


def test_uncommitted_changes_are_said(klass, tmp_path):
    """A git folder graded as found, with edits not committed: the commit recorded is not
    what was graded, and the gradebook and the report say so."""
    room, _, _ = klass
    carol = tmp_path / "room" / "carol"
    shutil.copytree(room / "carol", carol)
    report = batch.grade_student(str(carol), Limits(timeout=10), ["rnn_step"])
    assert report["grading"]["commit"] == git(carol, "rev-parse", "HEAD")  # clean
    set_exercise(carol / "01_rnn_cell.ipynb", "rnn_step", LOOPS.replace("while True", "if 0"))
    told = []
    batch.batch(tmp_path / "room", tmp_path / "g.csv", progress=False, only=["rnn_step"],
                limits=Limits(timeout=10), say=told.append)
    commit = rows(tmp_path / "g.csv")["carol"]["commit"]
    assert commit == git(carol, "rev-parse", "HEAD") + "+uncommitted"
    assert any(line.startswith("uncommitted changes: carol/") for line in told), told
    saved = json.loads((tmp_path / "g-reports" / "carol.json").read_text())
    assert any("uncommitted changes" in n for n in saved["notes"])


def test_a_deadline_needs_git_and_a_class_needs_folders(klass, tmp_path):
    room, _, _ = klass
    with pytest.raises(ValueError, match=r"a deadline needs a git repository .* ada, bob, dan, eve"):
        batch.batch(room, tmp_path / "g.csv", progress=False, only=["rnn_step"],
                    deadline=DEADLINE)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "stray.ipynb").write_text("{}")
    with pytest.raises(ValueError, match="no submission folders"):
        batch.batch(tmp_path / "empty", tmp_path / "g.csv", progress=False, only=["rnn_step"])
    assert not (tmp_path / "g.csv").exists()


def test_the_class_report(graded, tmp_path):
    gradebook, _, _ = graded
    written = class_report.write(gradebook, tmp_path / "report")
    names = sorted(p.name for p in written)
    assert names == ["class-report.html", "class-report.md", "grading-time.png",
                     "pass-rate.png", "scores.png"]
    for png in (p for p in written if p.suffix == ".png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = (tmp_path / "report" / "class-report.md").read_text()
    assert "# Class report: 7 students" in text
    assert "| `rnn_step` | 3/7 | 0/7 |" in text  # ada, bob, carol
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
                 "20", "--no-progress", "--manifest", manifest, "--deadline",
                 "2026-11-01T12:00+00:00"]) == 2  # folders that are not git repositories
    assert "a deadline needs a git repository" in capsys.readouterr().err
    (tmp_path / "nobody").mkdir()
    assert main(["batch", str(tmp_path / "nobody"), "--output", str(out), "--timeout", "20",
                 "--no-progress", "--manifest", manifest]) == 2
    assert "no submission folders" in capsys.readouterr().err
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
