"""Running the learner's TensorFlow 1 code for the checks, and the cases' shared parts.

The TF exercises build graphs, so a check runs them: `make_cases` (parent) builds TF's
own cells (LSTMCell, MultiRNNCell, static_rnn, dynamic_rnn) in a fresh tf.Graph, gives
their variables random values and runs them; `run` (child) builds the learner's graph
in another fresh tf.Graph, gives its variables the same values by name and runs it
(`run_graph`). Variables are compared by name and shape, so the learner's graph must
create exactly the ones the conventions name (book/91_conventions.ipynb, `solutions.tf1_lstm`).

While the learner's graph is built, TF's own RNN cells refuse to run (`run_learner`),
except inside `autograde.references.tf_ref.lstm_cell`, which chapters 23 and 24 hand out
so that the loop exercises do not depend on the learner's cell.

The outputs of known mistakes (`suspects`) are computed by PyTorch on weights ported with
`tf_ref.tf1_to_numpy` (`tf1_by_torch`). Shared by the checks of chapters 22 (`tf1_cell`),
23 (`tf1_loop`) and 24 (`tf1_port`). TensorFlow is imported on first use.
"""

import contextlib

import numpy as np

from autograde.references import tf_ref
from autograde.references import torch_ref as ref
from autograde.references.tf_ref import CELL_ALLOWED as _CELL_ALLOWED
from autograde.spec import SubmissionError, random_array


def _tf():
    return tf_ref.load_tf()


# ---------------------------------------------------------------------------------------
# Running a graph with given variable values.

def run_graph(build, values):
    """Build a graph, give its variables `values`, and run it once.

    build:  () -> (fetches, feed_dict), called inside a fresh tf.Graph.
    values: variable name (e.g. "rnn/cell_0/kernel") -> ndarray; the graph must create
            exactly these variables, with these shapes and dtypes.
    Returns (outputs, initial): the fetched arrays, and each variable's initial value.
    """
    tf = _tf()
    v1 = tf.compat.v1
    with tf.Graph().as_default() as graph:
        fetches, feed = build()
        variables = {v.op.name: v for v in v1.global_variables()}
        _check_variables(variables, values)
        config = v1.ConfigProto()
        # Each graph runs once: Grappler's rewrites would cost more time than they save.
        config.graph_options.rewrite_options.disable_meta_optimizer = True
        with v1.Session(graph=graph, config=config) as sess:
            initial = sess.run({name: v.initial_value for name, v in variables.items()})
            for name, v in variables.items():
                sess.run(v.initializer, {v.initial_value: values[name]})
            return sess.run(fetches, feed), initial


def _describe_variables(shapes):
    return ", ".join(f"{name} {list(shape)}" for name, shape in sorted(shapes.items())) or "none"


def _check_variables(variables, values):
    want = {name: value.shape for name, value in values.items()}
    got = {name: tuple(v.shape.as_list()) for name, v in variables.items()}
    if got != want:
        raise SubmissionError(f"must create exactly the variables {_describe_variables(want)}; "
                              f"it created {_describe_variables(got)}")
    for name, v in variables.items():
        if v.dtype.base_dtype.as_numpy_dtype != values[name].dtype:
            raise SubmissionError(f"created {name} with dtype {v.dtype.base_dtype.name}; "
                                  f"expected {values[name].dtype} (the dtype of the inputs)")


@contextlib.contextmanager
def _no_framework_rnn():
    """While the learner's graph is built, TF's own RNN cells and layers refuse to run.

    The ones named in the grader's one list of framework RNNs
    (`autograde.frameworks.FRAMEWORK_RNN_NAMES`): each is switched off where a call
    to it goes through, the nearest `__call__` defined in these modules (RNNCell's, or
    LayerRNNCell's for LSTMCell; RNN's for Keras layers), else its own `call` (Keras
    cells). The one exception is this module's `lstm_cell`, which the later chapters
    hand to learners whose own cell is not at hand: the loop is graded there, not the cell.
    """
    from autograde.frameworks import FRAMEWORK_RNN_NAMES

    _tf()  # tf_keras must not be the first to import TensorFlow
    from tf_keras.src.layers.rnn import base_rnn, legacy_cells, lstm

    def refusing(original):
        def call(*args, **kwargs):
            if not _CELL_ALLOWED:
                raise SubmissionError("called one of TensorFlow's RNN cells or layers; build "
                                      "the LSTM from ops (matmul, sigmoid, tanh) instead")
            return original(*args, **kwargs)

        return call

    modules = (legacy_cells, base_rnn, lstm)
    here = {m.__name__ for m in modules}
    patched = []
    for module in modules:
        for name in sorted(FRAMEWORK_RNN_NAMES):
            cls = getattr(module, name, None)
            if not isinstance(cls, type):
                continue
            owner = next((c for c in cls.__mro__
                          if "__call__" in vars(c) and c.__module__ in here), None)
            where = (owner, "__call__") if owner else (cls, "call") if "call" in vars(cls) else None
            if where and where not in patched:
                patched.append(where)
    saved = [vars(cls)[name] for cls, name in patched]
    try:
        for (cls, name), original in zip(patched, saved, strict=True):
            setattr(cls, name, refusing(original))
        yield
    finally:
        for (cls, name), original in zip(patched, saved, strict=True):
            setattr(cls, name, original)


def returned_pair(value, what):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise SubmissionError(f"must return {what}; got {type(value).__name__}")
    return value


def placeholder(array, batch_axes):
    """A placeholder for `array` with the sizes in `batch_axes` left unknown (None)."""
    v1 = _tf().compat.v1
    shape = [None if axis in batch_axes else n for axis, n in enumerate(array.shape)]
    return v1.placeholder(array.dtype, shape)


def run_learner(run):
    """`run`, with TF's RNN cells switched off while the learner's graph is built."""

    def guarded(fn, inputs):
        with _no_framework_rnn():
            return run(fn, inputs)

    return guarded


# ---------------------------------------------------------------------------------------
# What TF1's LSTM gives with other weights or inputs: only for `suspects`.

def tf1_by_torch(x, layers, forget_bias, states=None, lengths=None, past_the_end="zero"):
    """dynamic_rnn's results for a stack of TF1 LSTMCells, batch-major, computed by
    PyTorch's LSTM on the weights ported by `tf_ref.tf1_to_numpy`.

    layers: list of (kernel, bias); states: list of (c, h) or None; lengths: (B,) or None;
    past_the_end: "zero", or "step" for the outputs of a loop that keeps computing past a
    sequence's length (see `torch_ref.masked_stack`).
    Returns (outputs (B, T, H_top), [(c, h) per layer]) in x's dtype.
    """
    book = [tf_ref.tf1_to_numpy(kernel, bias, forget_bias) for kernel, bias in layers]
    outputs, finals = ref.masked_stack(x, book, None if states is None else
                                       [(h, c) for c, h in states], lengths, past_the_end)
    return outputs, [(c, h) for h, c in finals]


def _swap_blocks(a):
    """Column blocks i, j, f, o -> i, f, j, o: what reading TF's kernel as i, f, g, o does."""
    i, j, f, o = np.split(a, 4, axis=-1)
    return np.concatenate([i, f, j, o], axis=-1)


def _h_rows_first(kernel, bias):
    """A kernel whose [x, h] product equals the given kernel's [h, x] product."""
    H = bias.size // 4
    return np.concatenate([kernel[H:], kernel[:H]]), bias


def layer_mistakes(layers, forget_bias):
    """Known mistakes inside the cell, as (hint, layers, forget_bias) to run instead."""
    mistakes = [
        ("gates read in the book's order i, f, g, o; TF's kernel blocks are i, j, f, o "
         "(j is the candidate)", [(_swap_blocks(k), _swap_blocks(b)) for k, b in layers],
         forget_bias),
        ("concat([h, x]) instead of concat([x, h]); TF's kernel has the input rows first",
         [_h_rows_first(k, b) for k, b in layers], forget_bias),
    ]
    if forget_bias:
        mistakes.append(("forget_bias is not added to the f block at run time", layers, 0.0))
    return mistakes


def random_layers(rng, dtype, input_size, num_units):
    """Random (kernel, bias) per layer, in TF's layout."""
    layers, width = [], input_size
    for n in num_units:
        layers.append((random_array(rng, (width + n, 4 * n), dtype, 0.8),
                       random_array(rng, (4 * n,), dtype, 0.5)))
        width = n
    return layers
