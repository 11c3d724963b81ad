"""The class roster, the late policy and the gradebook an LMS imports (`batch --roster`).

A roster is a CSV with a header row. Columns (any order; only `name` and one of
`submission`/`github` are required):

    submission     the student's folder in the class folder (as uploaded, or cloned)
    github         the student's GitHub user: matches a folder named USER or ending in
                   -USER (GitHub's `assignment-USER` clones)
    name           the name Canvas shows ("Last, First" as Canvas exports it)
    id             the LMS's student id (Canvas: "ID")
    sis_user_id    Canvas: "SIS User ID"
    sis_login_id   Canvas: "SIS Login ID"
    section        Canvas: "Section"
    deadline       this student's deadline (an extension), ISO date and time with its time
                   zone; empty: the class's --deadline

`match(roster, folders)` pairs roster rows with submission folders: every roster student
with no folder and every folder with no roster row is returned, so that none is dropped.

Late policy (`LatePolicy`): with a deadline and a penalty of P percent per day, a git
submission is graded at its last commit (not the last one before the deadline) and loses
P% of its points for each day, or part of a day, that commit came after the deadline
(at most 100%). Without a penalty, the last commit before the deadline is graded and
nothing is late. Commit dates come from the learner's clock; a push log is the stronger
proof.

`write_canvas(path, rows, title, max_score)` writes Canvas's gradebook CSV: `Student`,
`ID`, `SIS User ID`, `SIS Login ID`, `Section`, then one column per assignment named
`Title (id)` (a title without an id makes Canvas create the assignment), a "Points
Possible" row as Canvas's own export has, then one row per roster student.
"""

import csv
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

COLUMNS = ("submission", "github", "name", "id", "sis_user_id", "sis_login_id", "section",
           "deadline")
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Student:
    """One roster row."""

    name: str
    submission: str = ""
    github: str = ""
    id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    deadline: datetime | None = None

    @property
    def key(self):
        """What names this student in the plain gradebook when no folder is theirs."""
        return self.submission or self.github or self.name

    def owns(self, folder_name):
        if self.submission:
            return folder_name == self.submission
        return bool(self.github) and (folder_name.lower() == self.github.lower() or
                                      folder_name.lower().endswith("-" + self.github.lower()))


def parse_time(text, what="the deadline"):
    """An ISO 8601 date and time with its time zone, e.g. 2026-12-01T23:59:00+01:00."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{what}: expected an ISO date and time such as "
                         f"2026-12-01T23:59+00:00; got {text!r}") from None
    if when.tzinfo is None:
        raise ValueError(f"{what}: give the time zone (e.g. {text}+00:00); got {text!r}")
    return when


def read(path):
    """The roster at `path`: a list of Student; ValueError naming the row and column."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
            header = [h.strip().lower() for h in (rows[0].keys() if rows else [])]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise ValueError(f"{path}: cannot read the roster ({e})") from None
    if not rows:
        raise ValueError(f"{path}: the roster is empty (expected a header row and one row per "
                         f"student)")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown or "name" not in header or not {"submission", "github"} & set(header):
        optional = [c for c in COLUMNS if c not in ("name", "submission", "github")]
        raise ValueError(f"{path}: expected the columns name and submission or github (and "
                         f"optionally {', '.join(optional)}); got {', '.join(header)}")
    students = []
    for line, row in enumerate(rows, start=2):
        row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        if not row.get("name") or not (row.get("submission") or row.get("github")):
            raise ValueError(f"{path}, line {line}: a student needs a name and a submission "
                             f"folder or a GitHub user; got {row}")
        deadline = (parse_time(row["deadline"], f"{path}, line {line}, deadline")
                    if row.get("deadline") else None)
        students.append(Student(**{**{k: row.get(k, "") for k in COLUMNS}, "deadline": deadline}))
    keys = [s.key.lower() for s in students]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise ValueError(f"{path}: more than one row for {', '.join(twice)}")
    return students


def match(students, folder_names):
    """({folder name: Student}, [roster students with no folder], [folders with no row]).

    ValueError when a folder would be two students' or a student would own two folders."""
    owner, owned = {}, {}
    for name in folder_names:
        mine = [s for s in students if s.owns(name)]
        if len(mine) > 1:
            raise ValueError(f"the folder {name} matches {len(mine)} roster rows: "
                             f"{', '.join(s.name for s in mine)}")
        if mine:
            if mine[0].key in owned:
                raise ValueError(f"{mine[0].name} has two folders: {owned[mine[0].key]} and "
                                 f"{name}")
            owner[name], owned[mine[0].key] = mine[0], name
    absent = [s for s in students if s.key not in owned]
    unlisted = [n for n in folder_names if n not in owner]
    return owner, absent, unlisted


@dataclass(frozen=True)
class LatePolicy:
    """percent_per_day: points lost per day late, or part of one, as a percent of the
    score (0: the last commit before the deadline is graded instead)."""

    percent_per_day: float = 0.0

    def late_days(self, committed, deadline):
        """Whole days, rounded up, from `deadline` to `committed` (0 when on time)."""
        if committed is None or deadline is None or committed <= deadline:
            return 0
        return math.ceil((committed - deadline) / DAY)

    def penalty(self, score, days):
        """The points a score of `score` loses for `days` days late."""
        return round(score * min(100.0, self.percent_per_day * days) / 100, 4)


_TITLE = re.compile(r"^(?P<title>.*\S)\s+\((?P<id>\d+)\)$")


def canvas_title(text):
    """The assignment's column: `Title (id)` for an existing Canvas assignment, or a title."""
    text = str(text).strip()
    if not text or "," in text or "\n" in text:
        raise ValueError(f"--canvas-assignment: expected the assignment's title and its Canvas "
                         f"id, e.g. 'LSTM from Scratch (48213)'; got {text!r}")
    return text


def write_canvas(path, rows, title, max_score):
    """Canvas's gradebook CSV. rows: [(Student, points)] in roster order."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([*CANVAS_COLUMNS, canvas_title(title)])
        writer.writerow(["    Points Possible", "", "", "", "", f"{max_score:g}"])
        for s, points in rows:
            writer.writerow([_cell(s.name), s.id, s.sis_user_id, s.sis_login_id, _cell(s.section),
                             f"{points:g}"])


def _cell(text):
    """A spreadsheet cell that cannot be a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
