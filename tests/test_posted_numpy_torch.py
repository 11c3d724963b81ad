"""check() on code written the way people post it (tests/posted): the NumPy and PyTorch share.

Each buggy post must fail and be diagnosed with its phrase (in the "Probably: ..." of some
failed check, which the learner reads in the report); each correct but unusual one must
pass. Several seeds, because every run draws fresh shapes and values.
"""

import numpy as np
import pytest

from autograde import registry
from autograde.check import run_checks
from tests.posted import load, numpy_posts, torch_posts

POSTS = numpy_posts.POSTS + torch_posts.POSTS
SEEDS = (0, 1, 2)


def diagnoses(report):
    """The diagnoses of the report's failed checks, one per line: each "Probably: ...",
    and the messages that are a diagnosis in themselves (a SubmissionError's, which
    begin with the exercise's name)."""
    return "\n".join(r.message.partition("Probably: ")[2]
                     or (r.message if r.message.startswith(report.exercise.id + " ") else "")
                     for r in report.results if not r.passed)


def test_the_corpus_is_large_and_varied():
    buggy = [p for p in POSTS if p.names]
    correct = [p for p in POSTS if p.names is None]
    assert len(buggy) >= 28 and len(correct) >= 7, (len(buggy), len(correct))
    assert len({p.id for p in POSTS}) == len(POSTS)
    for post in POSTS:  # each defines the exercise it is checked as, under its name
        assert getattr(load(post), "__name__", None) == post.exercise, post.id


@pytest.mark.parametrize("post", [p for p in POSTS if p.names], ids=lambda p: p.id)
@pytest.mark.parametrize("seed", SEEDS)
def test_a_buggy_post_fails_and_its_bug_is_named(post, seed):
    report = run_checks(load(post), registry.get(post.exercise), np.random.default_rng(seed))
    assert not report.passed and not report.stub, f"{post.id} passed: {report.summary()}"
    assert post.names in diagnoses(report), \
        f"{post.id} ({post.note}): {post.names!r} not named in\n{report.summary()}\n" \
        + "\n".join(r.message for r in report.results)


@pytest.mark.parametrize("post", [p for p in POSTS if p.names is None], ids=lambda p: p.id)
@pytest.mark.parametrize("seed", SEEDS)
def test_a_correct_unusual_post_passes(post, seed):
    report = run_checks(load(post), registry.get(post.exercise), np.random.default_rng(seed))
    assert report.passed, f"{post.id} ({post.note}):\n{report.summary()}"


# One post per track and per diagnosis this corpus brought, graded through the sandbox.
GRADED = ["numpy-rnn-step-sigmoid", "numpy-rnn-forward-range-minus-one",
          "numpy-lstm-step-zero-state", "numpy-lstm-forward-c-from-h",
          "numpy-stacked-h-from-g", "numpy-clinic-rnn-init-uniform",
          "torch-naive-never-carried", "torch-cell-c-from-h"]


@pytest.mark.slow
def test_the_grader_names_the_posted_bugs(tmp_path):
    import textwrap

    from hostile import IMPORTS, notebook

    from autograde import grader
    from autograde.sandbox import Limits

    posts = {p.id: p for p in POSTS}
    chosen = [posts[i] for i in GRADED]
    assert len({p.exercise for p in chosen}) == len(chosen)  # one cell per exercise
    nb = notebook(tmp_path / "posted.ipynb", IMPORTS,
                  *(textwrap.dedent(p.source) for p in chosen))
    report = grader.grade(nb, limits=Limits(timeout=60), only=[p.exercise for p in chosen])
    got = {e["id"]: e for e in report["exercises"]}
    for post in chosen:
        graded = got[post.exercise]
        assert graded["points"] < graded["max_points"], (post.id, graded)
        assert post.names in graded["feedback"] or any(
            post.names in c["message"] for c in graded["checks"]), (post.id, graded)
