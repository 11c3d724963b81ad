"""The TF1 posted-code corpus (tests/posted/tf1_posts.py) and the dtype posts
(tests/posted/dtype_posts.py), checked as a learner would check them: each buggy post
fails and its diagnosis names the bug; each correct but unusual one passes.

No message may carry a framework traceback: each failed check's message is one line.
"""

import textwrap

import numpy as np
import pytest
from hostile import IMPORTS, notebook

from autograde import grader, registry
from autograde.check import run_checks
from autograde.sandbox import Limits
from autograde.tfcompat import import_tf

import_tf()  # the posts `import tensorflow`: TF must come up with the TF1 API first

from tests.posted import dtype_posts, load, tf1_posts  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated and will be removed")

POSTS = tf1_posts.POSTS + dtype_posts.POSTS
SEEDS = (0, 1, 2)


def _report(post, seed):
    return run_checks(load(post), registry.get(post.exercise), np.random.default_rng(seed))


def test_the_corpus_is_large_enough_and_ids_are_unique():
    buggy = [p for p in tf1_posts.POSTS if p.names]
    assert len(buggy) >= 12 and len(tf1_posts.POSTS) - len(buggy) >= 3
    assert len({p.id for p in POSTS}) == len(POSTS)


@pytest.mark.parametrize("post", POSTS, ids=lambda p: p.id)
def test_posted_code_gets_its_verdict(post):
    for seed in SEEDS:
        report = _report(post, seed)
        summary = report.summary()
        for r in report.results:
            assert "\n" not in r.message and "Traceback" not in r.message, r.message
            assert "Original stack trace" not in r.message, r.message
        if post.names is None:
            assert report.passed, f"{post.id} (seed {seed}):\n{summary}"
        else:
            assert not report.passed, f"{post.id} passed (seed {seed})"
            assert post.names in summary, f"{post.id} (seed {seed}):\n{summary}"


# The grader runs the same checks in its sandbox: a couple of posts graded for real.
GRADED = ["tf1-cell-per-gate-swapped-weights", "tf1-static-range-short",
          "tf1-static-own-scope-keep-prob"]


@pytest.mark.slow
def test_the_grader_names_posted_bugs_and_passes_the_idioms(tmp_path):
    posts = {p.id: p for p in POSTS}
    cells = [textwrap.dedent(posts[i].source) for i in GRADED]
    setup = "from autograde.tfcompat import import_tf\ntf = import_tf()"
    nb = notebook(tmp_path / "posted.ipynb", IMPORTS, (setup, False), *cells)
    report = grader.grade(nb, limits=Limits(timeout=120),
                          only=[posts[i].exercise for i in GRADED])
    got = {e["id"]: e for e in report["exercises"]}
    for i in GRADED:
        post, entry = posts[i], got[posts[i].exercise]
        if post.names is None:
            assert entry["verdict"] == "passed", entry
        else:
            assert entry["points"] == 0, entry
            assert any(post.names in c["message"] for c in entry["checks"]), entry
        assert all("\n" not in c["message"] for c in entry["checks"]), entry
