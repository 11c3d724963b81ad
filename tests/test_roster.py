"""The roster (`batch --roster`): reading it, pairing it with submission folders, the late
policy's arithmetic, and the Canvas gradebook file, without grading anything.

Canvas's gradebook CSV, from its documentation: the columns `Student`, `ID`,
`SIS User ID`, `SIS Login ID`, `Section`, then one per assignment named `Title (id)`;
its own export adds a "Points Possible" row under the header.
"""

import csv
from datetime import datetime, timedelta, timezone

import pytest

from autograde import roster

UTC = timezone.utc
DEADLINE = datetime(2026, 12, 1, 23, 59, tzinfo=UTC)


def write(tmp_path, text, name="roster.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_roster_is_read_with_its_extensions(tmp_path):
    path = write(tmp_path, "\ufeffName,GitHub,ID,Section,Deadline\n"  # Excel's BOM, any case
                           "\"Lovelace, Ada\",ada-l,101,A,2026-12-08T23:59+01:00\n"
                           "Bob,bob,102,B,\n")
    ada, bob = roster.read(path)
    assert (ada.name, ada.github, ada.id, ada.section) == ("Lovelace, Ada", "ada-l", "101", "A")
    assert ada.deadline == datetime(2026, 12, 8, 22, 59, tzinfo=UTC)
    assert bob.deadline is None and bob.key == "bob"


@pytest.mark.parametrize("text, says", [
    ("", "the roster is empty"),
    ("name,id\nAda,1\n", "expected the columns name and submission or github"),
    ("name,submission,grade\nAda,ada,A\n", "got name, submission, grade"),
    ("name,submission\nAda,\n", "line 2: a student needs a name and a submission folder"),
    ("name,submission,deadline\nAda,ada,2026-12-01T23:59\n", "line 2, deadline: give the time zone"),
    ("name,submission,deadline\nAda,ada,tomorrow\n", "expected an ISO date and time"),
    ("name,github\nAda,ada\nAda L,ADA\n", "more than one row for ada"),
])
def test_a_bad_roster_is_refused_naming_what_is_wrong(tmp_path, text, says):
    with pytest.raises(ValueError, match=says):
        roster.read(write(tmp_path, text))


def test_no_roster_file_is_a_one_line_error(tmp_path):
    with pytest.raises(ValueError, match="cannot read the roster"):
        roster.read(tmp_path / "nothing.csv")


def test_match_pairs_folders_and_accounts_for_everyone():
    students = [roster.Student("Ada", github="ada"), roster.Student("Bob", submission="bob-folder"),
                roster.Student("Fay", github="fay")]
    folders = ["hw1-ada", "bob-folder", "dan", "bob"]  # GitHub's assignment-USER clones
    owner, absent, unlisted = roster.match(students, folders)
    assert {f: s.name for f, s in owner.items()} == {"hw1-ada": "Ada", "bob-folder": "Bob"}
    assert [s.name for s in absent] == ["Fay"]
    assert unlisted == ["dan", "bob"]  # `bob` is not Bob's folder: his is named
    with pytest.raises(ValueError, match="Ada has two folders"):
        roster.match(students, ["ada", "hw1-ada"])
    with pytest.raises(ValueError, match="matches 2 roster rows"):
        roster.match([roster.Student("A", github="x"), roster.Student("B", submission="x")], ["x"])


@pytest.mark.parametrize("late_by, days", [
    (timedelta(0), 0), (-timedelta(hours=5), 0), (timedelta(seconds=1), 1),
    (timedelta(hours=24), 1), (timedelta(hours=24, seconds=1), 2), (timedelta(days=30), 30),
])
def test_days_late_are_started_days(late_by, days):
    assert roster.LatePolicy(10).late_days(DEADLINE + late_by, DEADLINE) == days


def test_the_penalty_is_a_percent_of_the_points_per_day_at_most_all():
    policy = roster.LatePolicy(15)
    assert policy.penalty(8.0, 0) == 0
    assert policy.penalty(8.0, 2) == pytest.approx(8.0 * 0.30)
    assert policy.penalty(8.0, 7) == 8.0  # 105% is capped: never below zero


def test_the_canvas_file(tmp_path):
    students = [roster.Student("Lovelace, Ada", github="ada", id="101", sis_user_id="S1",
                               sis_login_id="ada@x", section="A"),
                roster.Student("=cmd|' /C calc'!A0", github="eve", id="102", section="-B")]
    path = tmp_path / "canvas.csv"
    roster.write_canvas(path, [(students[0], 7.5), (students[1], 0.0)], "LSTM (4312)", 19)
    with open(path, newline="") as f:
        lines = list(csv.reader(f))
    assert lines[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "LSTM (4312)"]
    assert lines[1] == ["    Points Possible", "", "", "", "", "19"]
    assert lines[2] == ["Lovelace, Ada", "101", "S1", "ada@x", "A", "7.5"]
    # what a spreadsheet would run as a formula is written as text
    assert lines[3][0] == "'=cmd|' /C calc'!A0" and lines[3][4] == "'-B"
    with pytest.raises(ValueError, match="--canvas-assignment"):
        roster.write_canvas(path, [], "Homework, part 1 (12)", 19)
