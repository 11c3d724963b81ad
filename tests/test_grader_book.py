"""The grader on the real book: the answer key scores full marks, the stubs score zero.

"key" is `python -m autograde solve` (every exercise cell holding the reference
solution), "stubs" the committed book. Every exercise that the book has must pass in
the key and be "not implemented" in the stubs.
"""

from pathlib import Path

import jsonschema
import nbformat
import pytest

from autograde import formats, grader, registry
from autograde.__main__ import main
from autograde.course import is_exercise_cell, top_level_names

pytestmark = [pytest.mark.early, pytest.mark.slow]  # grades the whole book twice: start it first

BOOK = Path(__file__).resolve().parent.parent / "book"


def exercises_in_the_book():
    ids = set()
    for path in BOOK.glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if is_exercise_cell(cell):
                ids.update(top_level_names(cell.source))
    return ids & set(registry.exercises())


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    key = tmp_path_factory.mktemp("class") / "key"
    assert main(["solve", str(key)]) == 0
    return {"key": grader.grade(key), "stubs": grader.grade(BOOK)}


def test_the_answer_key_scores_full_marks(graded):
    reports = graded
    key = {e["id"]: e for e in reports["key"]["exercises"]}
    in_book = exercises_in_the_book()
    assert in_book, "the book has no exercise cells"
    for id in in_book:
        assert key[id]["verdict"] == "passed", key[id]
        assert key[id]["points"] == registry.exercises()[id].points
    # Other exercises are missing, or solved as helpers of a solved cell (course.solve
    # puts what a solution calls in its cell).
    assert {e["verdict"] for id, e in key.items() if id not in in_book} <= {"missing", "passed"}


def test_the_stubs_score_zero(graded):
    reports = graded
    stubs = {e["id"]: e for e in reports["stubs"]["exercises"]}
    assert reports["stubs"]["score"] == 0
    for id in exercises_in_the_book():
        assert stubs[id]["verdict"] == "not implemented", stubs[id]


def test_the_reports_follow_their_schema(graded):
    for report in graded.values():
        jsonschema.validate(report, formats.REPORT_SCHEMA)
        assert [e["id"] for e in report["exercises"]] == list(registry.exercises())
