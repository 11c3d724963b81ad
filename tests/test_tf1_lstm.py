"""solutions.tf1_lstm against TensorFlow's own LSTMCell, MultiRNNCell, static_rnn and dynamic_rnn.

Each test builds the hand-made LSTM and TF's cells in one graph, gives TF's variables
random values, copies them into the hand-made ones and compares outputs, final states
and gradients (tf.compat.v1.gradients).
"""

import numpy as np
import pytest

from autograde.tfcompat import import_tf

tf = import_tf()
v1 = tf.compat.v1
rnn_cell = v1.nn.rnn_cell

from solutions import tf1_lstm  # noqa: E402  (after import_tf, which must come first)

# TF's rnn_cell classes warn that they are deprecated; they are the reference here.
pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated and will be removed")

ATOL = {np.float32: 1e-5, np.float64: 1e-10}


def _copy_tf_variables(sess, rng, mine, scale=0.7):
    """Give TF's cell variables random values and copy them to ours (same shapes, same order).

    mine: our variable name -> TF's variable name.
    """
    variables = {v.op.name: v for v in v1.global_variables()}
    for ours, theirs in mine.items():
        value = rng.uniform(-scale, scale, variables[theirs].shape.as_list())
        variables[theirs].load(value, sess)
        variables[ours].load(value, sess)


def _tf_names(num_units, scope):
    """Our variable names -> the names dynamic_rnn(MultiRNNCell(LSTMCells)) gives them."""
    return {f"mine/cell_{k}/{v}": f"{scope}/multi_rnn_cell/cell_{k}/lstm_cell/{v}"
            for k in range(len(num_units)) for v in ("kernel", "bias")}


def _flat(structure):
    return tf.nest.flatten(structure)


# Every option is covered with each value and each number of layers; the combinations
# alternate so the table stays small (graphs are slow to build).
CONFIGS = [
    # num_units, forget_bias, time_major, ragged, given state, dtype
    ([3], 1.0, False, False, False, np.float64),
    ([3], 0.0, True, True, True, np.float32),
    ([4, 2], 1.0, True, False, True, np.float64),
    ([4, 2], 0.0, False, True, False, np.float64),
    ([2, 5, 3], 1.0, False, True, True, np.float32),
    ([2, 5, 3], 0.0, True, False, False, np.float32),
    ([5, 5], 1.0, False, True, True, np.float64),
    ([1, 3, 2], 1.0, True, True, False, np.float64),
]


def _build_pair(num_units, forget_bias, time_major, ragged, given, dtype, rng, B=3, T=5, I=2):
    """Ours and TF's dynamic LSTM on the same placeholders: (ours, theirs, feed, xs)."""
    x = rng.standard_normal((T, B, I) if time_major else (B, T, I)).astype(dtype)
    inputs = v1.placeholder(dtype, [None, None, I])
    feed = {inputs: x}
    state = lengths = None
    if given:
        state = tuple((v1.placeholder(dtype, [None, n]), v1.placeholder(dtype, [None, n]))
                      for n in num_units)
        for c, h in state:
            feed[c] = rng.standard_normal((B, c.shape[1])).astype(dtype)
            feed[h] = rng.standard_normal((B, h.shape[1])).astype(dtype)
    if ragged:
        lengths = v1.placeholder(tf.int32, [None])
        feed[lengths] = np.array([T, 0, 2][:B])
    ours = tf1_lstm.dynamic_lstm(inputs, num_units, state, lengths, time_major, forget_bias,
                                 scope="mine")
    cell = rnn_cell.MultiRNNCell([rnn_cell.LSTMCell(n, forget_bias=forget_bias)
                                  for n in num_units])
    tf_state = None if state is None else tuple(rnn_cell.LSTMStateTuple(*s) for s in state)
    theirs = v1.nn.dynamic_rnn(cell, inputs, lengths, tf_state, dtype=dtype,
                               time_major=time_major, scope="theirs")
    return ours, theirs, feed, [inputs] + [p for p in feed if p is not inputs
                                           and p.dtype != tf.int32]


@pytest.mark.parametrize("num_units,forget_bias,time_major,ragged,given,dtype", CONFIGS)
def test_dynamic_lstm_equals_dynamic_rnn(num_units, forget_bias, time_major, ragged, given,
                                         dtype):
    rng = np.random.default_rng(len(num_units) + 10 * ragged)
    with tf.Graph().as_default(), v1.Session() as sess:
        ours, theirs, feed, _ = _build_pair(num_units, forget_bias, time_major, ragged,
                                            given, dtype, rng)
        sess.run(v1.global_variables_initializer())
        _copy_tf_variables(sess, rng, _tf_names(num_units, "theirs"))
        got, want = sess.run((ours, theirs), feed)
    outputs, finals = got
    assert outputs.dtype == dtype and outputs.shape == want[0].shape
    assert len(finals) == len(num_units)
    for a, b in zip(_flat(got), _flat(want), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=ATOL[dtype])
    if ragged:  # zero after the end; the empty sequence keeps its initial state
        batch_outputs = outputs.transpose(1, 0, 2) if time_major else outputs
        assert not batch_outputs[1].any() and not batch_outputs[2, 2:].any()
        assert batch_outputs[2, :2].any()


@pytest.mark.parametrize("num_units,ragged,time_major", [([3], True, False), ([4, 2], True, True),
                                                         ([2, 3, 2], False, False)])
def test_gradients_equal_tf_cells(num_units, ragged, time_major):
    rng = np.random.default_rng(7)
    with tf.Graph().as_default(), v1.Session() as sess:
        ours, theirs, feed, wrt = _build_pair(num_units, 1.0, time_major, ragged, True,
                                              np.float64, rng)
        mine = _tf_names(num_units, "theirs")
        variables = {v.op.name: v for v in v1.global_variables()}

        # The same random weighting of every output and final state, for both.
        weights = [rng.standard_normal(t.shape[-1]) for t in _flat(ours)]

        def loss(result):
            return sum(tf.reduce_sum(t * w) for t, w in zip(_flat(result), weights, strict=True))

        ours_grads = v1.gradients(loss(ours), wrt + [variables[n] for n in mine])
        theirs_grads = v1.gradients(loss(theirs), wrt + [variables[n] for n in mine.values()])
        sess.run(v1.global_variables_initializer())
        _copy_tf_variables(sess, np.random.default_rng(0), mine)
        got, want = sess.run((ours_grads, theirs_grads), feed)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)
    assert len(got) == 1 + 2 * len(num_units) + 2 * len(num_units)


@pytest.mark.parametrize("dtype,forget_bias", [(np.float64, 1.0), (np.float32, 0.0)])
def test_lstm_cell_equals_lstmcell(dtype, forget_bias):
    rng = np.random.default_rng(3)
    B, I, H = 4, 3, 5
    with tf.Graph().as_default(), v1.Session() as sess:
        x, c, h = (v1.placeholder(dtype, [None, n]) for n in (I, H, H))
        with v1.variable_scope("mine"):
            ours = tf1_lstm.lstm_cell(x, (c, h), H, forget_bias)
        cell = rnn_cell.LSTMCell(H, forget_bias=forget_bias)
        theirs = cell(x, rnn_cell.LSTMStateTuple(c, h), scope="theirs")
        names = sorted(v.op.name for v in v1.global_variables())
        assert names == ["mine/bias", "mine/kernel", "theirs/bias", "theirs/kernel"]
        sess.run(v1.global_variables_initializer())
        [bias] = [v for v in v1.global_variables() if v.op.name == "mine/bias"]
        assert not sess.run(bias).any()  # zeros: forget_bias is added at run time
        _copy_tf_variables(sess, rng, {"mine/kernel": "theirs/kernel", "mine/bias": "theirs/bias"})
        feed = {p: rng.standard_normal((B, p.shape[1])).astype(dtype) for p in (x, c, h)}
        got, want = sess.run((ours, theirs), feed)
    for a, b in zip(_flat(got), _flat(want), strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=0, atol=ATOL[dtype])


@pytest.mark.parametrize("given", [False, True])
def test_static_lstm_equals_static_rnn(given):
    rng = np.random.default_rng(5)
    B, T, I, H = 2, 4, 3, 2
    with tf.Graph().as_default(), v1.Session() as sess:
        inputs = v1.placeholder(tf.float64, [None, T, I])
        state = (v1.placeholder(tf.float64, [None, H]), v1.placeholder(tf.float64, [None, H]))
        with v1.variable_scope("mine"):
            ours = tf1_lstm.static_lstm(inputs, H, state if given else None)
        cell = rnn_cell.LSTMCell(H)
        outputs, final = v1.nn.static_rnn(cell, tf.unstack(inputs, axis=1),
                                          rnn_cell.LSTMStateTuple(*state) if given else None,
                                          dtype=tf.float64, scope="theirs")
        assert sorted(v.op.name for v in v1.global_variables() if "mine" in v.name) == \
            ["mine/bias", "mine/kernel"]  # one kernel and bias, shared by every step
        sess.run(v1.global_variables_initializer())
        _copy_tf_variables(sess, rng, {"mine/kernel": "theirs/lstm_cell/kernel",
                                       "mine/bias": "theirs/lstm_cell/bias"})
        feed = {inputs: rng.standard_normal((B, T, I))}
        feed.update({p: rng.standard_normal((B, H)) for p in state})
        got, want = sess.run((ours, (tf.stack(outputs, 1), final)), feed)
    for a, b in zip(_flat(got), _flat(want), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)


def test_variable_names_and_reuse():
    with tf.Graph().as_default():
        inputs = v1.placeholder(tf.float32, [None, None, 3])
        tf1_lstm.dynamic_lstm(inputs, [4, 2], scope="encoder")
        shapes = {v.op.name: v.shape.as_list() for v in v1.global_variables()}
        assert shapes == {"encoder/cell_0/kernel": [7, 16], "encoder/cell_0/bias": [16],
                          "encoder/cell_1/kernel": [6, 8], "encoder/cell_1/bias": [8]}
        with pytest.raises(ValueError, match="already exists"):
            tf1_lstm.dynamic_lstm(inputs, [4, 2], scope="encoder")
        with v1.variable_scope(v1.get_variable_scope(), reuse=True):
            tf1_lstm.dynamic_lstm(inputs, [4, 2], scope="encoder")  # shares the variables
        assert len(v1.global_variables()) == 4


@pytest.mark.parametrize("call,message", [
    (lambda x3, x2: tf1_lstm.dynamic_lstm(x3, 4), r"num_units must be a non-empty list"),
    (lambda x3, x2: tf1_lstm.dynamic_lstm(x2, [4]), r"inputs must have shape \(B, T, I\)"),
    (lambda x3, x2: tf1_lstm.dynamic_lstm(x3, [4, 2], initial_state=((x2, x2),)),
     r"initial_state must hold one \(c, h\) pair per layer \(2\)"),
    (lambda x3, x2: tf1_lstm.lstm_cell(x2, (x2, x2), 4), r"state c must have shape \(B, H\) = "
                                                         r"\(\?, 4\); got \(None, 3\)"),
    (lambda x3, x2: tf1_lstm.static_lstm(x3, 4), r"known number of steps T"),
])
def test_bad_input_is_rejected_with_a_clear_message(call, message):
    with tf.Graph().as_default():
        x3 = v1.placeholder(tf.float32, [None, None, 3])
        x2 = v1.placeholder(tf.float32, [None, 3])
        with pytest.raises(ValueError, match=message):
            call(x3, x2)


def test_solutions_pass_their_checks_without_tf_rnn_cells():
    """The checks build the solutions with TF's RNN cells switched off (the contract)."""
    from autograde.check import run_checks
    from autograde.registry import get
    from solutions import port

    for fn in (tf1_lstm.lstm_cell, tf1_lstm.static_lstm, tf1_lstm.dynamic_lstm,
               port.tf1_to_numpy):
        report = run_checks(fn, get(fn.__name__), np.random.default_rng(0))
        assert report.passed, report.summary()


def _swapped_gates_cell(x, state, num_units, forget_bias=1.0):
    """lstm_cell with the book's gate order (i, f, g, o) read from TF's kernel: wrong."""
    c, h = state
    kernel = v1.get_variable("kernel", [x.shape[-1] + num_units, 4 * num_units], x.dtype)
    bias = v1.get_variable("bias", [4 * num_units], x.dtype, v1.zeros_initializer())
    i, f, g, o = tf.split(tf.matmul(tf.concat([x, h], 1), kernel) + bias, 4, axis=1)
    c = tf.sigmoid(f + forget_bias) * c + tf.sigmoid(i) * tf.tanh(g)
    h = tf.sigmoid(o) * tf.tanh(c)
    return h, (c, h)


def test_checks_catch_and_name_tf_specific_mistakes():
    from autograde.check import run_checks
    from autograde.registry import get

    report = run_checks(_swapped_gates_cell, get("lstm_cell"), np.random.default_rng(1))
    assert not report.passed
    assert all("TF's kernel blocks are i, j, f, o" in r.message for r in report.results)

    def stored_forget_bias(x, state, num_units, forget_bias=1.0):
        init = np.zeros(4 * num_units)
        init[2 * num_units:3 * num_units] = forget_bias
        with v1.variable_scope(v1.get_variable_scope(), reuse=v1.AUTO_REUSE):
            v1.get_variable("bias", [4 * num_units], x.dtype, v1.constant_initializer(init))
            return tf1_lstm.lstm_cell(x, state, num_units, forget_bias)

    stored_forget_bias.__name__ = "lstm_cell"
    report = run_checks(stored_forget_bias, get("lstm_cell"), np.random.default_rng(1))
    failed = [r for r in report.results if not r.passed]
    assert len(failed) == 3  # every case with forget_bias != 0
    assert all("stored in the bias variable as well" in r.message for r in failed)

    def calls_tf_cell(x, state, num_units, forget_bias=1.0):
        return rnn_cell.LSTMCell(num_units, forget_bias=forget_bias)(x, state)

    report = run_checks(calls_tf_cell, get("lstm_cell"), np.random.default_rng(1))
    assert all("called one of TensorFlow's RNN cells" in r.message for r in report.results)
