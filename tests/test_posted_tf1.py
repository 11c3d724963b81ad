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
GRADED = ["tf1-cell-per-gate-swapped-weights", "tf1-static-own-scope-keep-prob",
          "tf1-dynamic-never-carried"]  # one post per exercise: a notebook has one answer


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


# The explainer on TensorFlow's own texts (as TF 2.21 words them), without building graphs.
_GRAPH_DUMP = (
    "Graph execution error:\n\nDetected at node 'Placeholder' defined at (most recent call "
    "last):\n    File \"<cell 3>\", line 27, in unfed\nNode: 'Placeholder'\nYou must feed a "
    "value for placeholder tensor 'Placeholder' with dtype float\n\t [[{{node Placeholder}}]]"
    "\n\nOriginal stack trace for 'Placeholder':\n  File \"/x/ops.py\", line 1221, in "
    "from_node_def\n")
_MATMUL = ("Dimensions must be equal, but are 2 and 3 for '{{node rnn/MatMul}} = MatMul[T=DT_"
           "DOUBLE, grad_a=false, grad_b=false, transpose_a=false, transpose_b=false](rnn/"
           "Placeholder, rnn/ReadVariableOp)' with input shapes: [?,2], [3,12].")


def test_short_error_keeps_the_one_line_that_matters():
    from autograde.compare import short_error

    assert short_error(_GRAPH_DUMP) == ("You must feed a value for placeholder tensor "
                                        "'Placeholder' with dtype float (at node Placeholder)")
    assert short_error("Graph execution error:\n\nConcatOp : Expected concatenating "
                       "dimensions in the range [-1, 1), but got 1\n\t [[{{node cell_0/"
                       "concat}}]]") == ("ConcatOp : Expected concatenating dimensions in "
                                         "the range [-1, 1), but got 1 (at node cell_0/concat)")
    short = short_error(_MATMUL)
    assert "\n" not in short and "DT_DOUBLE" not in short and "[?,2], [3,12]" in short


@pytest.mark.parametrize("message", [_MATMUL, "short"])
def test_swapped_weights_are_named_from_the_long_and_the_short_message(message):
    from autograde.compare import explain_error, short_error

    message = _MATMUL if message != "short" else short_error(_MATMUL)
    inputs = {"inputs": np.zeros((4, 5, 2)), "num_units": 3, "initial_state": None}
    hint = explain_error(message, inputs)
    assert "x is multiplied by the recurrent weights" in hint and "(B, I)" in hint


def test_dtype_mismatches_name_the_tensor_without_the_input_dtype():
    from autograde.compare import explain_error

    x64 = {"x": np.zeros((2, 3, 4)), "h0": None, "c0": None}
    assert "the initial state is float32" in explain_error(
        "mat1 and mat2 must have the same dtype, but got Float and Double", x64)
    assert "made without a dtype is float32" in explain_error(
        "Tensors in list passed to 'values' of 'ConcatV2' Op have types [float64, float32] "
        "that don't all match.", {"x": np.zeros((2, 4))})
    assert "uses the batch size" in explain_error(
        "Failed to convert elements of (None, 3) to Tensor. Consider casting elements to a "
        "supported type.", {"x": np.zeros((2, 4))})
