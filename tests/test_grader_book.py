"""The grader on the real book: the answer key scores full marks, the stubs score zero.

One batch over a class of two: "key" (`python -m autograde solve`, every exercise cell
holding the reference solution) and "stubs" (the committed book). Every exercise that
the book has must pass in the key and be "not implemented" in the stubs.
"""

import csv
import json
import shutil
from pathlib import Path

import jsonschema
import nbformat
import pytest

from autograde import formats, registry
from autograde.__main__ import main
from autograde.batch import batch
from autograde.course import is_exercise_cell, top_level_names

pytestmark = pytest.mark.early  # grades the whole book twice: start it first

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
    folder = tmp_path_factory.mktemp("class")
    assert main(["solve", str(folder / "key")]) == 0
    shutil.copytree(BOOK, folder / "stubs", ignore=shutil.ignore_patterns("_build", ".ipynb_*"))
    reports = batch(folder, folder / "gradebook.csv", jobs=2, progress=False)
    return folder, reports


def test_the_answer_key_scores_full_marks(graded):
    _, reports = graded
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
    _, reports = graded
    stubs = {e["id"]: e for e in reports["stubs"]["exercises"]}
    assert reports["stubs"]["score"] == 0
    for id in exercises_in_the_book():
        assert stubs[id]["verdict"] == "not implemented", stubs[id]


def test_the_gradebook_has_a_row_per_student_and_a_column_per_exercise(graded):
    folder, reports = graded
    rows = {r["student"]: r for r in csv.DictReader((folder / "gradebook.csv").open())}
    assert set(rows) == {"key", "stubs"}
    assert list(rows["key"])[1:-3] == list(registry.exercises())
    for student, report in reports.items():
        assert float(rows[student]["total"]) == pytest.approx(report["score"])
        saved = json.loads((folder / "gradebook-reports" / f"{student}.json").read_text())
        jsonschema.validate(saved, formats.REPORT_SCHEMA)
