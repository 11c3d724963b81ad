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

from autograde.compare import short_error
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
    Variables inside a scope of the learner's own, within the expected one, are accepted
    ("rnn/RNN/kernel" for "rnn/kernel"); scalar placeholders the learner creates (a keep
    probability, a training flag) are fed 1.0 or False: the check runs the graph as at
    evaluation, without dropout.
    Returns (outputs, initial): the fetched arrays, and each variable's initial value
    (by the expected names).
    """
    tf = _tf()
    v1 = tf.compat.v1
    with tf.Graph().as_default() as graph:
        fetches, feed = build()
        named = _expected_names({v.op.name: v for v in v1.global_variables()}, values)
        feed = {**feed, **_evaluation_feed(graph, feed)}
        config = v1.ConfigProto()
        # Each graph runs once: Grappler's rewrites would cost more time than they save.
        config.graph_options.rewrite_options.disable_meta_optimizer = True
        with v1.Session(graph=graph, config=config) as sess:
            initial = sess.run({name: v.initial_value for name, v in named.items()})
            for name, v in named.items():
                sess.run(v.initializer, {v.initial_value: values[name]})
            return sess.run(fetches, feed), initial


def _describe_variables(shapes):
    return ", ".join(f"{name} {list(shape)}" for name, shape in sorted(shapes.items())) or "none"


def _scope_of(names):
    """The outermost scope all `names` share, with its trailing "/" ("rnn/"), or ""."""
    tops = {name.split("/")[0] for name in names}
    return f"{tops.pop()}/" if len(tops) == 1 and all("/" in n for n in names) else ""


def _renamed(got, want):
    """{learner's name: expected name} when the learner's names are the expected ones with
    one extra scope of their own inside the expected scope ("rnn/RNN/kernel" for
    "rnn/kernel"); None otherwise."""
    if len(got) != len(want) or not want:
        return None
    outer = _scope_of(want)
    rests = {name[len(outer):]: name for name in want}
    for name in got:
        for rest in rests:
            extra = name[len(outer):-len(rest)] if name.endswith("/" + rest) else None
            if extra and name.startswith(outer) and extra.endswith("/"):
                mapping = {outer + extra + r: w for r, w in rests.items()}
                return mapping if set(mapping) == set(got) else None
    return None


def _expected_names(variables, values):
    """The learner's variables by their expected names; SubmissionError (a naming rule,
    said as one) when they do not match the expected names, shapes and dtypes."""
    want = {name: value.shape for name, value in values.items()}
    got = {name: tuple(v.shape.as_list()) for name, v in variables.items()}
    mapping = {name: name for name in got} if set(got) == set(want) else _renamed(got, want)
    if mapping is None or any(got[name] != want[mapping[name]] for name in got):
        raise SubmissionError(
            f"must create exactly the variables {_describe_variables(want)}; it created "
            f"{_describe_variables(got)}. This is a naming rule, not a wrong answer: the "
            f"check gives your variables their values by name, so create them with "
            f"get_variable(\"kernel\", [I + H, 4H]) and get_variable(\"bias\", [4H]) in the "
            f"scope the exercise opens (a scope of your own inside it is fine)")
    named = {mapping[name]: v for name, v in variables.items()}
    for name, v in named.items():
        if v.dtype.base_dtype.as_numpy_dtype != values[name].dtype:
            raise SubmissionError(f"created {v.op.name} with dtype {v.dtype.base_dtype.name}; "
                                  f"expected {values[name].dtype} (the dtype of the inputs)")
    return named


def _evaluation_feed(graph, feed):
    """Values for the placeholders the learner created: scalar floats (a keep probability)
    get 1.0, scalar bools (a training flag) False; any other placeholder is refused."""
    extra = {}
    for op in graph.get_operations():
        if op.type != "Placeholder" or op.outputs[0] in feed:
            continue
        t = op.outputs[0]
        scalar = t.shape.rank in (None, 0)
        if scalar and t.dtype.is_floating:
            extra[t] = np.asarray(1.0, t.dtype.as_numpy_dtype)
        elif scalar and t.dtype.is_bool:
            extra[t] = np.asarray(False)
        else:
            raise SubmissionError(
                f"creates a placeholder {op.name} of shape {t.shape} and dtype "
                f"{t.dtype.name} that the check cannot feed: take the exercise's inputs as "
                f"arguments (only a scalar placeholder, such as a keep probability, is fed: "
                f"1.0, or False for a bool)")
    return extra


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


@contextlib.contextmanager
def _dropout_in_input_dtype():
    """While the learner's graph is built, tf.nn.dropout (and v1's) take a rate or
    keep_prob of another float dtype than x, cast to x's: the usual TF1 idiom,
    `keep_prob = placeholder(tf.float32)` or `placeholder_with_default(1.0, [])`, must not
    fail a float64 graph (the check feeds it 1.0: see `_evaluation_feed`)."""
    tf = _tf()
    modules = (tf.nn, tf.compat.v1.nn)
    saved = [m.dropout for m in modules]

    def casting(original):
        def dropout(x, *args, **kwargs):
            x = tf.convert_to_tensor(x)

            def cast(value):
                dtype = getattr(value, "dtype", None)
                if isinstance(dtype, tf.DType) and dtype.is_floating and dtype != x.dtype:
                    return tf.cast(value, x.dtype)
                return value

            return original(x, *map(cast, args), **{k: cast(v) for k, v in kwargs.items()})

        return dropout

    try:
        for module, original in zip(modules, saved, strict=True):
            module.dropout = casting(original)
        yield
    finally:
        for module, original in zip(modules, saved, strict=True):
            module.dropout = original


class _FrameworkError(Exception):
    """Stands in for a TF error whose message was cut to its one line (`short_error`)."""


def _one_line(e):
    """`e`, or an exception of the same name whose message is its one line that matters."""
    text = str(e)
    if "\n" not in text and "{{node" not in text \
            and not type(e).__module__.startswith("tensorflow"):
        return e  # not TensorFlow's: the learner's own, or the grader's
    short = short_error(text).rstrip(".")  # the check's message adds its own full stop
    if short == text:
        return e
    cls = type(type(e).__name__, (_FrameworkError,), {"__module__": type(e).__module__})
    return cls(short)


def run_learner(run):
    """`run`, with TF's RNN cells switched off while the learner's graph is built, the
    dropout idiom accepted in any float dtype, and TF's multi-line errors cut to one line
    (the traceback kept: the grader reads the cell and line from it)."""

    def guarded(fn, inputs):
        with _no_framework_rnn(), _dropout_in_input_dtype():
            try:
                return run(fn, inputs)
            except SubmissionError:
                raise
            except Exception as e:
                short = _one_line(e)
                if short is e:
                    raise
                raise short.with_traceback(e.__traceback__) from None

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


# Mistakes in the cell or the loop that weights alone cannot make: (hint, mistake) for
# `mistaken_stack`. The hints say the cause; chapter 51 quotes them.
CELL_MISTAKES = {
    "the cell update uses h_prev where it needs c_prev (c = f * h_prev + i * g; it is "
    "f * c_prev + i * g)": "c_from_h",
    "h = o * tanh(g) (the candidate); it is o * tanh(c), with the new cell state c":
        "h_from_g",
}
LOOP_MISTAKES = {
    "each step starts again from the initial state: the loop never passes the new (c, h) "
    "on to the next step": "never_carried",
}


def mistaken_stack(x, layers, forget_bias, states=None, mistake=None):
    """dynamic_rnn's results for a stack of TF1 LSTM layers (batch-major, every sequence
    full length) with one known `mistake`: "c_from_h", "h_from_g" (in the cell, see
    CELL_MISTAKES) or "never_carried" (in the loop: every step reads the initial state).

    Computed step by step with torch's LSTM cell on the weights ported by
    `tf_ref.tf1_to_numpy` (`torch_ref.lstm_step`, or `lstm_step_h_from_g`).
    x (B, T, I); layers: list of (kernel, bias); states: list of (c, h) or None.
    Returns (outputs (B, T, H_top), [(c, h) per layer]) in x's dtype.
    """
    finals = []
    step = ref.lstm_step_h_from_g if mistake == "h_from_g" else ref.lstm_step
    for k, (kernel, bias) in enumerate(layers):
        W = tf_ref.tf1_to_numpy(kernel, bias, forget_bias)
        zeros = np.zeros((x.shape[0], bias.size // 4), x.dtype)
        c0, h0 = states[k] if states is not None else (zeros, zeros)
        c, h, hs = c0, h0, []
        for t in range(x.shape[1]):
            h_in, c_in = (h0, c0) if mistake == "never_carried" else (h, c)
            if mistake == "c_from_h":
                c_in = h_in
            h, c = step(x[:, t], h_in, c_in, W["Wx"], W["Wh"], W["b"])
            hs.append(h)
        x = np.stack(hs, axis=1).astype(x.dtype) if hs else x[:, :0, :0]
        finals.append((np.asarray(c, x.dtype), np.asarray(h, x.dtype)))
    return x, finals


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
        ("concat([h, x]) instead of concat([x, h]), or x is multiplied by the recurrent "
         "weights and h by the input weights; TF's kernel has the input rows first",
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
