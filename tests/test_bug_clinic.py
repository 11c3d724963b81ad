"""The bug clinic (book/51_bug_clinic.ipynb): each posted LSTM fails its check, for its bug.

The broken code is taken from the chapter itself (the cells tagged `bug-demo`, which
define the code as posted and call `check()` on it), so that what the book shows is what
is tested. Each must fail its check; where `check()` names the bug, the feedback must
name it (`NAMED`). The fixed versions in `solutions/bug_clinic.py` must pass, and each
exercise cell must hold the posted code, behind the `raise NotImplementedError` that the
learner deletes.
"""

import ast
import dataclasses
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograde import registry
from autograde.check import run_checks
from autograde.course import is_exercise_cell, solution_source
from autograde.notebook import runnable

CHAPTER = Path(__file__).resolve().parent.parent / "book" / "51_bug_clinic.ipynb"
CELLS = [c for c in nbformat.read(CHAPTER, as_version=4).cells if c.cell_type == "code"]
IDS = ["clinic_rnn_step", "clinic_rnn_init", "clinic_lstm_init", "clinic_h_and_c",
       "clinic_last_step", "clinic_h_from_c", "ClinicNaiveLSTM", "clinic_layer_cells",
       "clinic_test_weights", "clinic_initial_state", "ClinicCarryLSTM", "clinic_c_from_h",
       "clinic_tf1_weights", "clinic_tf1_squeeze"]

# What the feedback on each posted version must say: check() names each of the fourteen bugs.
NAMED = {
    "clinic_rnn_step": "x @ Wh instead of x @ Wx",
    "clinic_rnn_init": "returns a bias of shape (32, ",
    "clinic_lstm_init": "draws only non-negative weights (uniform on [0, 1)",
    "clinic_h_and_c": "h_next and c_next are returned swapped",
    "clinic_last_step": "the loop skips the last timestep",
    "clinic_h_from_c": "h = o * tanh(g)",
    "ClinicNaiveLSTM": "only the first timestep is read",
    "clinic_layer_cells": "returns the same cell object for several layers",
    "clinic_test_weights": "23 of the 23 wrong gate orders",
    "clinic_initial_state": "the initial state (h0, c0) is ignored",
    "ClinicCarryLSTM": "each step starts again from h0 and c0",
    "clinic_c_from_h": "the cell update uses h_prev where it needs c_prev",
    "clinic_tf1_weights": "x is multiplied by the recurrent weights",
    "clinic_tf1_squeeze": "at batch size 1 it drops the batch axis",
}


def is_definitions_only(source):
    """True for a cell of imports, functions and classes only (a helper the demos need).

    `runnable` turns IPython magics into `pass`; the first cell's `try: import autograde`
    (Colab's install) counts as an import.
    """
    body = ast.parse(runnable(source)).body
    return all(isinstance(s, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef, ast.Pass,
                              ast.Try))
               for s in body)


@pytest.fixture(scope="module")
def posted():
    """id -> the posted (broken) object each `bug-demo` cell passes to check()."""
    checked = {}
    ns = {"check": lambda obj: checked.setdefault(obj.__name__, obj)}
    for cell in CELLS:
        demo = "bug-demo" in cell.metadata.get("tags", [])
        if demo or (not is_exercise_cell(cell) and is_definitions_only(cell.source)):
            exec(compile(runnable(cell.source), str(CHAPTER), "exec"), ns)  # noqa: S102
            ns["check"] = lambda obj: checked.setdefault(obj.__name__, obj)
    return checked


def test_every_bug_has_a_demo_and_an_exercise_with_one_point(posted):
    exercises = registry.exercises()
    clinic = [id for id, e in exercises.items() if e.chapter == CHAPTER.name]
    assert clinic == IDS
    assert set(posted) == set(IDS) | {"lstm_step"}
    assert all(exercises[id].points == 1 for id in IDS)
    assert list(NAMED) == IDS


@pytest.mark.parametrize("id", IDS)
def test_the_posted_code_fails_its_check_and_the_feedback_names_the_bug(id, posted):
    report = run_checks(posted[id], registry.get(id), np.random.default_rng(1))
    summary = report.summary()
    assert not report.stub and not report.passed and report.score < 1, summary
    assert summary.startswith(f"{id}: ") and "checks passed" in summary, summary
    assert NAMED[id] in summary, summary


def test_the_constant_weights_demo_step_fails_the_random_weights_check(posted):
    """Bug 9's posted step (gates read as i, f, o, g) is checked as chapter 3's lstm_step."""
    report = run_checks(posted["lstm_step"], registry.get("lstm_step"), np.random.default_rng(3))
    assert not report.passed and "gates in the wrong order" in report.summary(), report.summary()


@pytest.mark.parametrize("seed", range(5))
def test_the_batch_1_squeeze_is_named_on_every_draw(seed, posted):
    """Bug 14 shows only at B = 1 (or I = 1): every draw of cases must hold such a case."""
    report = run_checks(posted["clinic_tf1_squeeze"], registry.get("clinic_tf1_squeeze"),
                        np.random.default_rng(100 + seed))
    assert not report.passed and NAMED["clinic_tf1_squeeze"] in report.summary(), \
        report.summary()


@pytest.mark.parametrize("id", IDS)
def test_the_fixed_code_passes(id):
    import solutions.bug_clinic

    report = run_checks(getattr(solutions.bug_clinic, id), registry.get(id),
                        np.random.default_rng(2))
    assert report.passed and report.score == 1, report.summary()


@pytest.mark.parametrize("id", IDS)
def test_the_stand_in_that_use_working_hands_out_passes(id):
    """The stand-ins are framework-backed by design (torch_ref for the NumPy exercises), so
    they are checked without the NumPy track's guard, which is for the learner's code."""
    exercise = registry.get(id)
    assert exercise.reference is not None
    unguarded = dataclasses.replace(exercise, run=getattr(exercise.run, "__wrapped__",
                                                          exercise.run))
    report = run_checks(exercise.reference, unguarded, np.random.default_rng(4))
    assert report.passed, report.summary()


@pytest.mark.parametrize("shape", [(3, 4), (1, 4)])
def test_a_bias_with_a_batch_axis_fails(shape):
    """(32, H) is named as the bug; (1, H) broadcasts, but is not the (H,) asked for."""

    def clinic_rnn_init(input_size, hidden_size, rng):
        return {"Wx": rng.normal(0, 0.1, (input_size, hidden_size)),
                "Wh": rng.normal(0, 0.1, (hidden_size, hidden_size)),
                "b": np.zeros((shape[0], hidden_size))}

    report = run_checks(clinic_rnn_init, registry.get("clinic_rnn_init"), np.random.default_rng(5))
    assert not report.passed
    named = "one row per sequence of a batch of 3" in report.summary()
    assert named == (shape[0] > 1), report.summary()


@pytest.mark.parametrize("mistake, feedback", [
    (lambda rng, shape: rng.random(shape), "draws only non-negative weights"),
    (lambda rng, shape: np.full(shape, 0.1), "sets every weight to 0.1"),
])
def test_an_rnn_initialisation_of_one_sign_or_one_value_fails(mistake, feedback):
    """As for the LSTM: uniform on [0, 1) saturates tanh (the bias may be zeros)."""
    def clinic_rnn_init(input_size, hidden_size, rng):
        return {"Wx": mistake(rng, (input_size, hidden_size)),
                "Wh": mistake(rng, (hidden_size, hidden_size)), "b": np.zeros(hidden_size)}

    report = run_checks(clinic_rnn_init, registry.get("clinic_rnn_init"), np.random.default_rng(5))
    assert not report.passed and feedback in report.summary(), report.summary()


@pytest.mark.parametrize("mistake, feedback", [
    (lambda rng, shape: np.full(shape, 0.1), "sets every weight to 0.1"),
    (lambda rng, shape: rng.normal(0, 1, shape), "outside PyTorch's range"),
    (lambda rng, shape: rng.uniform(0, 0.01, shape), "non-negative"),
])
def test_an_lstm_initialisation_out_of_range_fails(mistake, feedback):
    def clinic_lstm_init(input_size, hidden_size, rng):
        H4 = 4 * hidden_size
        return {"Wx": mistake(rng, (input_size, H4)), "Wh": mistake(rng, (hidden_size, H4)),
                "b": mistake(rng, (H4,))}

    report = run_checks(clinic_lstm_init, registry.get("clinic_lstm_init"),
                        np.random.default_rng(6))
    assert not report.passed and feedback in report.summary(), report.summary()


def without_stub_and_docstrings(node):
    """The definition's AST as text, without docstrings and `raise NotImplementedError`."""
    node = ast.parse(ast.unparse(node)).body[0]  # a copy
    for n in ast.walk(node):
        if isinstance(n, (ast.FunctionDef, ast.ClassDef)):
            n.body = [s for s in n.body
                      if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                              and isinstance(s.value.value, str))
                      and not (isinstance(s, ast.Raise) and "NotImplementedError" in
                               ast.unparse(s))] or [ast.Pass()]
    return ast.dump(node)


def definition(cell, name):
    return next(s for s in ast.parse(runnable(cell.source)).body
                if isinstance(s, (ast.FunctionDef, ast.ClassDef)) and s.name == name)


@pytest.mark.parametrize("id", IDS)
def test_the_exercise_cell_holds_the_posted_code_behind_the_stub(id):
    demos = [c for c in CELLS if "bug-demo" in c.metadata.get("tags", [])
             and f"check({id})" in c.source]
    exercises = [c for c in CELLS if is_exercise_cell(c) and f"def {id}(" in c.source
                 or is_exercise_cell(c) and f"class {id}(" in c.source]
    assert len(demos) == 1 and len(exercises) == 1
    assert without_stub_and_docstrings(definition(demos[0], id)) == \
        without_stub_and_docstrings(definition(exercises[0], id))


@pytest.mark.parametrize("id", IDS)
def test_the_answer_key_cell_defines_the_fix_without_importing_solutions(id):
    source, _ = solution_source(id, "solutions.bug_clinic")
    tree = ast.parse(source)
    assert id in {s.name for s in tree.body if isinstance(s, (ast.FunctionDef, ast.ClassDef))}
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | \
        {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(m.split(".")[0] == "solutions" for m in imported), source


def test_the_checks_never_import_solutions():
    source = (Path(registry.__file__).parent / "checks" / "bug_clinic.py").read_text()
    tree = ast.parse(source)
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | \
        {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(m.split(".")[0] == "solutions" for m in imported)
    assert not any(name.startswith("_") for n in ast.walk(tree)
                   if isinstance(n, ast.ImportFrom) and n.module.startswith("autograde.checks")
                   for name in (a.name for a in n.names)), "a private name of another check"


def test_pytorchs_initial_weights_leave_torchs_generator_alone_and_follow_the_seed():
    import torch

    from autograde.references import torch_ref

    before = torch.random.get_rng_state()
    a = torch_ref.lstm_init(3, 4, np.random.default_rng(7))
    b = torch_ref.lstm_init(3, 4, np.random.default_rng(7))
    assert torch.equal(before, torch.random.get_rng_state())
    assert {k: v.shape for k, v in a.items()} == {"Wx": (3, 16), "Wh": (4, 16), "b": (16,)}
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert max(np.abs(v).max() for v in a.values()) <= 0.5  # 1 / sqrt(H)
