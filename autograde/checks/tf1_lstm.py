"""Checks for the TensorFlow 1 chapters: lstm_cell, tf1_to_numpy, static_lstm, dynamic_lstm
and numpy_to_tf1.

The TF exercises build graphs, so a check runs them: `make_cases` (parent) builds TF's
own cells (LSTMCell, MultiRNNCell, static_rnn, dynamic_rnn) in a fresh tf.Graph, gives
their variables random values and runs them; `run` (child) builds the learner's graph
in another fresh tf.Graph, gives its variables the same values by name and runs it.
Variables are compared by name and shape, so the learner's graph must create exactly
the ones the conventions name (book/91_conventions.ipynb, `solutions.tf1_lstm`).

While the learner's graph is built, TF's own RNN cells refuse to run (`_run_learner`),
except inside `autograde.references.tf_ref.lstm_cell`, which chapters 23 and 24 hand out
so that the loop exercises do not depend on the learner's cell.

The stand-ins that `use_working` hands out are in `autograde.references.tf_ref`. The
outputs of known mistakes (`suspects`) are computed by PyTorch on weights ported with
`tf_ref.tf1_to_numpy` (`_tf1_by_torch`). TensorFlow is imported on first use.
"""

import contextlib

import numpy as np

from autograde.references import tf_ref
from autograde.references import torch_ref as ref
from autograde.references.tf_ref import CELL_ALLOWED as _CELL_ALLOWED
from autograde.references.tf_ref import dynamic_lstm, lstm_cell, static_lstm
from autograde.registry import exercise
from autograde.spec import DTYPES, SubmissionError, case, random_array

CHAPTER_CELL = "22_tf1_lstm_cell.ipynb"
CHAPTER_LOOP = "23_tf1_dynamic_stacking.ipynb"
CHAPTER_PORT = "24_tf1_initial_states_keras.ipynb"


def _tf():
    return tf_ref.load_tf()


# ---------------------------------------------------------------------------------------
# Running a graph with given variable values.

def _run_graph(build, values):
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
    (`autograde.sandbox.guards.FRAMEWORK_RNN_NAMES`): each is switched off where a call
    to it goes through, the nearest `__call__` defined in these modules (RNNCell's, or
    LayerRNNCell's for LSTMCell; RNN's for Keras layers), else its own `call` (Keras
    cells). The one exception is this module's `lstm_cell`, which the later chapters
    hand to learners whose own cell is not at hand: the loop is graded there, not the cell.
    """
    from autograde.sandbox.guards import FRAMEWORK_RNN_NAMES

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


def _pair(value, what):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise SubmissionError(f"must return {what}; got {type(value).__name__}")
    return value


def _placeholder(array, batch_axes):
    """A placeholder for `array` with the sizes in `batch_axes` left unknown (None)."""
    v1 = _tf().compat.v1
    shape = [None if axis in batch_axes else n for axis, n in enumerate(array.shape)]
    return v1.placeholder(array.dtype, shape)


# ---------------------------------------------------------------------------------------
# What TF1's LSTM gives with other weights or inputs: only for `suspects`.

def _tf1_by_torch(x, layers, forget_bias, states=None, lengths=None, past_the_end="zero"):
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


def _layer_mistakes(layers, forget_bias):
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


def _random_layers(rng, dtype, input_size, num_units):
    """Random (kernel, bias) per layer, in TF's layout."""
    layers, width = [], input_size
    for n in num_units:
        layers.append((random_array(rng, (width + n, 4 * n), dtype, 0.8),
                       random_array(rng, (4 * n,), dtype, 0.5)))
        width = n
    return layers


# ---------------------------------------------------------------------------------------
# lstm_cell

def run_lstm_cell(fn, inputs):
    """Build fn(x, (c, h), num_units, forget_bias) under variable scope "lstm" and run it."""
    v1 = _tf().compat.v1
    x, c, h = inputs["x"], inputs["c"], inputs["h"]

    def build():
        ph = {name: _placeholder(inputs[name], {0}) for name in ("x", "c", "h")}
        with v1.variable_scope("lstm"):
            out = fn(ph["x"], (ph["c"], ph["h"]), inputs["num_units"], inputs["forget_bias"])
        output, state = _pair(out, "(h, (c, h))")
        c_next, h_next = _pair(state, "(h, (c, h)): the state is a (c, h) pair")
        return ({"output": output, "c_next": c_next, "h_next": h_next},
                {ph["x"]: x, ph["c"]: c, ph["h"]: h})

    outputs, initial = _run_graph(build, inputs["variables"])
    return {**outputs, "bias at initialization": initial["lstm/bias"]}


def _run_learner(run):
    """`run`, with TF's RNN cells switched off while the learner's graph is built."""

    def guarded(fn, inputs):
        with _no_framework_rnn():
            return run(fn, inputs)

    return guarded


@exercise("lstm_cell", points=3, chapter=CHAPTER_CELL, run=_run_learner(run_lstm_cell),
          reference=lstm_cell, solution="solutions.tf1_lstm")
def lstm_cell_cases(rng):
    cases = []
    I = int(rng.integers(2, 5))
    edge, full = dict(B=1, I=2, H=3), dict(B=int(rng.integers(2, 5)), I=I,
                                          H=int(rng.choice([h for h in range(2, 5) if h != I])))
    # Each dtype gets the edge case and the full one (B > 1, I != H).
    for dtype, s, forget_bias in zip(DTYPES * 2, (edge, full, full, edge), (1.0, 1.0, 0.0, 0.5),
                                     strict=True):
        B, I, H = s["B"], s["I"], s["H"]
        [(kernel, bias)] = _random_layers(rng, dtype, I, [H])
        a = dict(x=random_array(rng, (B, I), dtype), c=random_array(rng, (B, H), dtype),
                 h=random_array(rng, (B, H), dtype), num_units=H, forget_bias=forget_bias,
                 variables={"lstm/kernel": kernel, "lstm/bias": bias})
        expected = run_lstm_cell(lstm_cell, a)

        def step(layers, fb, c=a["c"], h=a["h"], a=a):
            out, [(c_next, h_next)] = _tf1_by_torch(a["x"][:, None], layers, fb, [(c, h)])
            return {"output": out[:, 0], "c_next": c_next, "h_next": h_next}

        suspects = {hint: step(layers, fb)
                    for hint, layers, fb in _layer_mistakes([(kernel, bias)], forget_bias)}
        swapped = step([(kernel, bias)], forget_bias, c=a["h"], h=a["c"])
        suspects["the state is read and returned as (h, c); TF's state is (c, h)"] = \
            {**swapped, "c_next": swapped["h_next"], "h_next": swapped["c_next"]}
        if forget_bias:
            stored = np.zeros(4 * H, dtype)
            stored[2 * H:3 * H] = forget_bias
            suspects["forget_bias is stored in the bias variable as well as added at run time "
                     "(TF's bias starts at zeros)"] = {"bias at initialization": stored}
        cases.append(case(dtype, dict(B=B, I=I, H=H), a, expected,
                          f"forget_bias={forget_bias:g}",
                          axes={k: ("B", "H") for k in ("output", "c_next", "h_next")},
                          suspects=suspects))
    return cases


# ---------------------------------------------------------------------------------------
# tf1_to_numpy (NumPy only; the expected outputs come from TF's LSTMCell)

def run_tf1_to_numpy(fn, inputs):
    """Port with fn(kernel, bias, forget_bias); run torch's LSTMCell with the ported weights."""
    out = fn(inputs["kernel"], inputs["bias"], inputs["forget_bias"])
    if not isinstance(out, dict) or set(out) != {"Wx", "Wh", "b"}:
        got = sorted(out) if isinstance(out, dict) else type(out).__name__
        raise SubmissionError(f"must return a dict with keys ['Wx', 'Wh', 'b']; got {got}")
    W = {k: out[k] for k in ("Wx", "Wh", "b")}
    try:
        h_next, c_next = ref.lstm_step(inputs["x"], inputs["h"], inputs["c"], **W)
    except Exception:  # wrong shapes: reported by the comparison of Wx, Wh, b
        h_next = c_next = None
    return {**W, "h_next (the book's LSTM with your weights)": h_next,
            "c_next (the book's LSTM with your weights)": c_next}


@exercise("tf1_to_numpy", points=2, chapter=CHAPTER_CELL, run=run_tf1_to_numpy,
          reference=tf_ref.tf1_to_numpy, solution="solutions.port")
def tf1_to_numpy_cases(rng):
    cases = []
    for dtype, (I, H), forget_bias in zip(DTYPES * 2, ((2, 3), (4, 2), (3, 3), (1, 4)),
                                          (1.0, 1.0, 0.0, 0.5), strict=True):
        B = int(rng.integers(1, 4))
        [(kernel, bias)] = _random_layers(rng, dtype, I, [H])
        a = dict(kernel=kernel, bias=bias, forget_bias=forget_bias,
                 x=random_array(rng, (B, I), dtype), h=random_array(rng, (B, H), dtype),
                 c=random_array(rng, (B, H), dtype))
        cell = run_lstm_cell(lstm_cell, dict(x=a["x"], c=a["c"], h=a["h"], num_units=H,
                                             forget_bias=forget_bias,
                                             variables={"lstm/kernel": kernel,
                                                        "lstm/bias": bias}))
        expected = {**tf_ref.tf1_to_numpy(kernel, bias, forget_bias),
                    "h_next (the book's LSTM with your weights)": cell["h_next"],
                    "c_next (the book's LSTM with your weights)": cell["c_next"]}
        unswapped = {"Wx": kernel[:I], "Wh": kernel[I:]}
        suspects = {"the gate blocks are still in TF's order i, j, f, o; the book's is "
                    "i, f, g, o": unswapped}
        if forget_bias:
            suspects["forget_bias is not added to the f block of b"] = \
                {"b": tf_ref.tf1_to_numpy(kernel, bias, 0.0)["b"]}
        cases.append(case(dtype, dict(I=I, H=H), a, expected, f"forget_bias={forget_bias:g}",
                          axes={"Wx": ("I", "4H"), "Wh": ("H", "4H"), "b": ("4H",)},
                          suspects=suspects))
    return cases


# ---------------------------------------------------------------------------------------
# static_lstm

def run_static_lstm(fn, inputs):
    """Build fn(inputs, num_units, initial_state, forget_bias) under scope "rnn" and run it."""
    v1 = _tf().compat.v1
    x, state = inputs["inputs"], inputs["initial_state"]

    def build():
        ph = _placeholder(x, {0})
        feed = {ph: x}
        initial = None
        if state is not None:
            initial = tuple(_placeholder(s, {0}) for s in state)
            feed.update(zip(initial, state, strict=True))
        with v1.variable_scope("rnn"):
            out = fn(ph, inputs["num_units"], initial_state=initial,
                     forget_bias=inputs["forget_bias"])
        outputs, final = _pair(out, "(outputs, (c, h))")
        c, h = _pair(final, "(outputs, (c, h)): the final state is a (c, h) pair")
        return {"outputs": outputs, "c_T": c, "h_T": h}, feed

    return _run_graph(build, inputs["variables"])[0]


# static_lstm and dynamic_lstm are graded on the loop, not the cell: the chapter hands out
# this module's `lstm_cell` (TF's LSTMCell inside), so the grader's blanket ban on TF's cells
# (from_scratch) would refuse it. `_run_learner` bans them itself, except through it.
@exercise("static_lstm", points=2, chapter=CHAPTER_LOOP, run=_run_learner(run_static_lstm),
          reference=static_lstm, solution="solutions.tf1_lstm", from_scratch=False)
def static_lstm_cases(rng):
    cases = []
    n = int(rng.integers(2, 5))
    for dtype, (B, T, I, H), given, forget_bias in zip(
            DTYPES * 2, ((1, 1, 2, 3), (n, n, n + 1, 3), (2, 4, 3, 2), (3, 2, 1, 4)),
            (False, True, True, False), (1.0, 1.0, 0.0, 1.0), strict=True):
        [(kernel, bias)] = _random_layers(rng, dtype, I, [H])
        state = (random_array(rng, (B, H), dtype), random_array(rng, (B, H), dtype)) \
            if given else None
        a = dict(inputs=random_array(rng, (B, T, I), dtype), num_units=H, initial_state=state,
                 forget_bias=forget_bias, variables={"rnn/kernel": kernel, "rnn/bias": bias})
        expected = run_static_lstm(static_lstm, a)

        def forward(layers, fb, state=state, a=a):
            outputs, [(c, h)] = _tf1_by_torch(a["inputs"], layers, fb,
                                              None if state is None else [state])
            return {"outputs": outputs, "c_T": c, "h_T": h}

        suspects = {hint: forward(layers, fb)
                    for hint, layers, fb in _layer_mistakes([(kernel, bias)], forget_bias)}
        if given:
            suspects["initial_state is ignored (zeros used instead)"] = \
                forward([(kernel, bias)], forget_bias, state=None)
        notes = (["given initial_state"] if given else []) + [f"forget_bias={forget_bias:g}"]
        cases.append(case(dtype, dict(B=B, T=T, I=I, H=H), a, expected, *notes,
                          axes={"outputs": ("B", "T", "H"), "c_T": ("B", "H"),
                                "h_T": ("B", "H")},
                          suspects=suspects))
    return cases


# ---------------------------------------------------------------------------------------
# dynamic_lstm

def run_dynamic_lstm(fn, inputs):
    """Build fn(inputs, num_units, ...) with every option given by keyword, and run it.

    Returns outputs, and c_T[k], h_T[k] for each layer k.
    """
    x, states, lengths = inputs["inputs"], inputs["initial_state"], inputs["sequence_length"]
    num_units = inputs["num_units"]

    def build():
        ph = _placeholder(x, {0, 1})  # T and B unknown until run time
        feed = {ph: x}
        initial = seq = None
        if states is not None:
            initial = tuple(tuple(_placeholder(s, {0}) for s in pair) for pair in states)
            for pair, values in zip(initial, states, strict=True):
                feed.update(zip(pair, values, strict=True))
        if lengths is not None:
            seq = _placeholder(lengths, {0})
            feed[seq] = lengths
        out = fn(ph, list(num_units), initial_state=initial, sequence_length=seq,
                 time_major=inputs["time_major"], forget_bias=inputs["forget_bias"],
                 scope=inputs["scope"])
        outputs, finals = _pair(out, "(outputs, final_states)")
        if not isinstance(finals, (tuple, list)) or len(finals) != len(num_units):
            raise SubmissionError(f"must return final_states with one (c, h) pair per layer "
                                  f"({len(num_units)} layers)")
        fetches = {"outputs": outputs}
        for k, pair in enumerate(finals):
            fetches[f"c_T[{k}]"], fetches[f"h_T[{k}]"] = _pair(
                pair, f"one (c, h) pair per layer in final_states; layer {k}'s is not")
        return fetches, feed

    return _run_graph(build, inputs["variables"])[0]


def _dynamic_results(a, layers, forget_bias, states="given", lengths="given",
                     past_the_end="zero"):
    """run_dynamic_lstm's outputs for TF1's LSTM (by PyTorch), with some inputs replaced."""
    states = a["initial_state"] if states == "given" else states
    lengths = a["sequence_length"] if lengths == "given" else lengths
    x = a["inputs"].transpose(1, 0, 2) if a["time_major"] else a["inputs"]
    outputs, finals = _tf1_by_torch(x, layers, forget_bias, states, lengths, past_the_end)
    out = {"outputs": outputs.transpose(1, 0, 2) if a["time_major"] else outputs}
    for k, (c, h) in enumerate(finals):
        out[f"c_T[{k}]"], out[f"h_T[{k}]"] = c, h
    return out


@exercise("dynamic_lstm", points=4, chapter=CHAPTER_LOOP, run=_run_learner(run_dynamic_lstm),
          reference=dynamic_lstm, solution="solutions.tf1_lstm", from_scratch=False)
def dynamic_lstm_cases(rng):
    cases = []
    settings = [  # (units, time_major, ragged, given state, forget_bias, scope)
        ([3], False, False, False, 1.0, "rnn"),
        ([4, 2], True, True, True, 0.0, "encoder"),
        ([2, 5, 3], False, True, False, 1.0, "rnn"),
        ([3, 4], False, False, True, 1.0, "decoder"),
    ]
    for dtype, setting in zip(DTYPES * 2, settings, strict=True):
        units, time_major, ragged, given, forget_bias, scope = setting
        B, T, I = int(rng.integers(2, 5)), int(rng.integers(2, 6)), int(rng.integers(1, 4))
        layers = _random_layers(rng, dtype, I, units)
        x = random_array(rng, (B, T, I), dtype)
        a = dict(inputs=x.transpose(1, 0, 2) if time_major else x, num_units=units,
                 initial_state=None, sequence_length=None, time_major=time_major,
                 forget_bias=forget_bias, scope=scope, variables={})
        if given:
            a["initial_state"] = tuple((random_array(rng, (B, n), dtype),
                                        random_array(rng, (B, n), dtype)) for n in units)
        if ragged:  # one empty sequence, one full one, the rest in between
            a["sequence_length"] = rng.integers(0, T + 1, size=B).astype(np.int32)
            a["sequence_length"][:2] = 0, T
        for k, (kernel, bias) in enumerate(layers):
            a["variables"][f"{scope}/cell_{k}/kernel"] = kernel
            a["variables"][f"{scope}/cell_{k}/bias"] = bias
        expected = run_dynamic_lstm(dynamic_lstm, a)
        suspects = {hint: _dynamic_results(a, wrong, fb)
                    for hint, wrong, fb in _layer_mistakes(layers, forget_bias)}
        if given:
            suspects["initial_state is ignored (zeros used instead)"] = \
                _dynamic_results(a, layers, forget_bias, states=None)
        if ragged:
            suspects["sequence_length is ignored"] = \
                _dynamic_results(a, layers, forget_bias, lengths=None)
            suspects["the final state keeps changing after a sequence's end; it must stay at "
                     "the last valid step"] = {
                **_dynamic_results(a, layers, forget_bias, lengths=None),
                "outputs": expected["outputs"]}
            suspects["outputs past a sequence's length are not zero"] = \
                _dynamic_results(a, layers, forget_bias, past_the_end="step")
        notes = ([f"num_units={units}"] + (["time_major"] if time_major else [])
                 + ([f"sequence_length={a['sequence_length'].tolist()}"] if ragged else [])
                 + (["given initial_state"] if given else [])
                 + [f"forget_bias={forget_bias:g}", f"scope={scope!r}"])
        time_axes = ("T", "B", "H") if time_major else ("B", "T", "H")
        cases.append(case(dtype, dict(B=B, T=T, I=I), a, expected, *notes,
                          axes={"outputs": time_axes}, suspects=suspects))
    return cases


# ---------------------------------------------------------------------------------------
# numpy_to_tf1 (NumPy only; the outputs come from TF's LSTMCell with the ported variables)

def run_numpy_to_tf1(fn, inputs):
    """Port with fn(Wx, Wh, b, forget_bias); run TF's LSTMCell with the ported variables."""
    out = fn(inputs["Wx"], inputs["Wh"], inputs["b"], inputs["forget_bias"])
    kernel, bias = _pair(out, "(kernel, bias)")
    ported = {"kernel": kernel, "bias": bias}
    Wx, b = inputs["Wx"], inputs["b"]
    shapes = {"kernel": (Wx.shape[0] + b.size // 4, b.size), "bias": b.shape}
    if any(type(v) is not np.ndarray or v.shape != shapes[k] for k, v in ported.items()):
        return ported  # the comparison says what is wrong with them
    cell = run_lstm_cell(lstm_cell, dict(x=inputs["x"], c=inputs["c"], h=inputs["h"],
                                         num_units=b.size // 4,
                                         forget_bias=inputs["forget_bias"],
                                         variables={"lstm/kernel": kernel.astype(Wx.dtype),
                                                    "lstm/bias": bias.astype(Wx.dtype)}))
    return {**ported, "h_next (TF's LSTMCell with your variables)": cell["h_next"],
            "c_next (TF's LSTMCell with your variables)": cell["c_next"]}


@exercise("numpy_to_tf1", points=2, chapter=CHAPTER_PORT, run=run_numpy_to_tf1,
          reference=tf_ref.numpy_to_tf1, solution="solutions.port")
def numpy_to_tf1_cases(rng):
    cases = []
    for dtype, (I, H), forget_bias in zip(DTYPES * 2, ((2, 3), (4, 2), (3, 3), (1, 4)),
                                          (1.0, 1.0, 0.0, 0.5), strict=True):
        B = int(rng.integers(1, 4))
        a = dict(Wx=random_array(rng, (I, 4 * H), dtype, 0.8),
                 Wh=random_array(rng, (H, 4 * H), dtype, 0.8),
                 b=random_array(rng, (4 * H,), dtype, 0.5), forget_bias=forget_bias,
                 x=random_array(rng, (B, I), dtype), h=random_array(rng, (B, H), dtype),
                 c=random_array(rng, (B, H), dtype))
        kernel, bias = tf_ref.numpy_to_tf1(a["Wx"], a["Wh"], a["b"], forget_bias)
        h_next, c_next = ref.lstm_step(a["x"], a["h"], a["c"], a["Wx"], a["Wh"], a["b"])
        expected = {"kernel": kernel, "bias": bias,
                    "h_next (TF's LSTMCell with your variables)": h_next,
                    "c_next (TF's LSTMCell with your variables)": c_next}
        suspects = {"the gate blocks are still in the book's order i, f, g, o; TF's is "
                    "i, j, f, o": {"kernel": np.concatenate([a["Wx"], a["Wh"]])}}
        if forget_bias:
            suspects["forget_bias is left in the bias; TF's cell adds it again at run time"] = \
                {"bias": tf_ref.numpy_to_tf1(a["Wx"], a["Wh"], a["b"], 0.0)[1]}
        cases.append(case(dtype, dict(I=I, H=H), a, expected, f"forget_bias={forget_bias:g}",
                          suspects=suspects))
    return cases
