"""The one list of framework RNNs that from-scratch exercises may not use.

`autograde.sandbox.guards.FRAMEWORK_RNN_NAMES` feeds the grader's static check of a
cell, the sandbox's runtime guard and the TF1 checks' switch on TF's own cells. Here the
static check and the TF1 check are played against as a learner would: by naming the
framework's layer, and by building the TF1 cell exercise from TF's own cells.
"""

import numpy as np
import pytest

from autograde import registry
from autograde.framework_rnns import framework_rnn_uses
from autograde.sandbox.guards import FRAMEWORK_RNN_NAMES
from autograde.spec import SubmissionError


@pytest.mark.parametrize("code, found", [
    ("import torch\nlayer = torch.nn.LSTM(3, 4)", "torch.nn.LSTM (line 2)"),
    ("from torch import nn\ncell = nn.GRUCell(3, 4)", "torch.nn.GRUCell (line 2)"),
    ("import tensorflow as tf\ntf.compat.v1.nn.dynamic_rnn(c, x)",
     "tensorflow.compat.v1.nn.dynamic_rnn (line 2)"),
    ("from tf_keras.layers import SimpleRNN", "tf_keras.layers.SimpleRNN (line 1)"),
])
def test_the_static_check_names_what_the_list_bans(code, found):
    assert found in framework_rnn_uses(code)


def test_the_learners_own_names_are_not_flagged():
    code = "class LSTM:\n    def __init__(self):\n        self.lstm = None\nLSTM()"
    assert framework_rnn_uses(code) == []
    assert {"LSTM", "LSTMCell", "dynamic_rnn", "SimpleRNN"} <= FRAMEWORK_RNN_NAMES


@pytest.fixture(scope="module")
def tf_cell_case():
    """The first case of the TF1 `lstm_cell` exercise (TensorFlow is imported here)."""
    exercise = registry.get("lstm_cell")
    return exercise, exercise.make_cases(np.random.default_rng(0))[0]


def with_tf_cell(cell_class):
    """A learner's `lstm_cell` that hands the work to one of TF's own cells."""
    def lstm_cell(x, state, num_units, forget_bias=1.0):
        from autograde.tfcompat import import_tf

        rnn_cell = import_tf().compat.v1.nn.rnn_cell
        cell = getattr(rnn_cell, cell_class)(num_units, forget_bias=forget_bias)
        h, new = cell(x, rnn_cell.LSTMStateTuple(*state))
        return h, (new.c, new.h)
    return lstm_cell


@pytest.mark.parametrize("cell_class", ["LSTMCell", "BasicLSTMCell"])
def test_the_tf1_check_refuses_tfs_own_cells(tf_cell_case, cell_class):
    exercise, case = tf_cell_case
    with pytest.raises(SubmissionError, match="TensorFlow's RNN cells"):
        exercise.run(with_tf_cell(cell_class), case.inputs)


def test_the_tf1_checks_own_cell_still_runs(tf_cell_case):
    exercise, case = tf_cell_case
    outputs = exercise.run(exercise.reference, case.inputs)
    np.testing.assert_allclose(outputs["h_next"], case.expected["h_next"], atol=1e-5)
