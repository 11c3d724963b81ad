"""TensorFlow's own LSTM under the book's names, and the porting stand-ins.

`lstm_cell`, `static_lstm` and `dynamic_lstm` are TF's LSTMCell, static_rnn and
dynamic_rnn(MultiRNNCell) behind the exercises' signatures, their variables renamed to
the contract's `kernel` and `bias` by a custom getter. Chapters 23 and 24 hand them out.

`tf1_to_numpy` and `numpy_to_tf1` move weights between TF1's LSTMCell layout and the
book's. They do not spell that layout out: they ask TF's fused LSTM cell
(`tf.raw_ops.LSTMBlockCell`, which uses LSTMCell's kernel and bias) which column block
feeds which gate and what it adds at run time, then move the blocks accordingly.
TensorFlow is imported on first use, through `autograde.tfcompat`.
"""

import functools
import re

import numpy as np

GATES = "ifgo"  # the book's gate order

# Non-empty while `lstm_cell` runs TF's LSTMCell: the TF checks' ban on TF's RNN cells
# (autograde.checks.tf1_run) lets this one call through.
CELL_ALLOWED = []


def load_tf():
    from autograde.tfcompat import import_tf

    return import_tf()


def _contract_names(getter, name, *args, **kwargs):
    """A variable_scope custom getter: `.../multi_rnn_cell/cell_k/lstm_cell/kernel` is
    created as `.../cell_k/kernel`, and `.../lstm_cell/bias` as `.../bias`."""
    name = re.sub(r"(multi_rnn_cell/)?(cell_\d+/)?lstm_cell/(kernel|bias)$", r"\2\3", name)
    return getter(name, *args, **kwargs)


def lstm_cell(x, state, num_units, forget_bias=1.0):
    """TF's LSTMCell with `kernel` and `bias` in the current variable scope: (h, (c, h))."""
    tf = load_tf()
    rnn_cell = tf.compat.v1.nn.rnn_cell
    cell = rnn_cell.LSTMCell(num_units, forget_bias=forget_bias)
    CELL_ALLOWED.append(True)
    try:
        h, new_state = cell(x, rnn_cell.LSTMStateTuple(*state),
                            scope=tf.compat.v1.get_variable_scope())
    finally:
        CELL_ALLOWED.pop()
    return h, (new_state.c, new_state.h)


def static_lstm(inputs, num_units, initial_state=None, forget_bias=1.0):
    """TF's static_rnn over one LSTMCell; `kernel` and `bias` in the current variable scope."""
    tf = load_tf()
    v1 = tf.compat.v1
    cell = v1.nn.rnn_cell.LSTMCell(num_units, forget_bias=forget_bias)
    if initial_state is not None:
        initial_state = v1.nn.rnn_cell.LSTMStateTuple(*initial_state)
    with v1.variable_scope(v1.get_variable_scope(), custom_getter=_contract_names) as scope:
        outputs, state = v1.nn.static_rnn(cell, tf.unstack(inputs, axis=1), initial_state,
                                          dtype=inputs.dtype, scope=scope)
    return tf.stack(outputs, axis=1), (state.c, state.h)


def dynamic_lstm(inputs, num_units, initial_state=None, sequence_length=None,
                 time_major=False, forget_bias=1.0, scope="rnn"):
    """TF's dynamic_rnn over MultiRNNCell([LSTMCell(n) for n in num_units]), with layer k's
    variables under `{scope}/cell_{k}/`: (outputs, ((c, h) per layer))."""
    tf = load_tf()
    v1 = tf.compat.v1
    rnn_cell = v1.nn.rnn_cell
    cell = rnn_cell.MultiRNNCell([rnn_cell.LSTMCell(n, forget_bias=forget_bias)
                                  for n in num_units])
    if initial_state is not None:
        initial_state = tuple(rnn_cell.LSTMStateTuple(c, h) for c, h in initial_state)
    with v1.variable_scope(scope, custom_getter=_contract_names) as vs:
        outputs, states = v1.nn.dynamic_rnn(cell, inputs, sequence_length, initial_state,
                                            dtype=inputs.dtype, time_major=time_major,
                                            scope=vs)
    return outputs, tuple((s.c, s.h) for s in states)


# ---------------------------------------------------------------------------------- porting

@functools.cache
def layer_cells(num_units, num_layers):
    """TF's own LSTMCell, a new one for each layer of a MultiRNNCell: a list of num_layers."""
    rnn_cell = load_tf().compat.v1.nn.rnn_cell
    return [rnn_cell.LSTMCell(num_units) for _ in range(num_layers)]


def tf1_layout():
    """TF1's LSTMCell layout, as TF's fused cell reports it on a one-unit probe:
    (block: {gate: which column block of the kernel feeds it},
     added: {gate: what is added to its pre-activation per unit of forget_bias},
     input_rows_first: True if the kernel's rows for x come before those for h)."""
    tf = load_tf()
    f32 = np.float32

    def pre_activations(bias, forget_bias, x=0.0, w_row=1):
        w = np.zeros((2, 4), f32)
        w[w_row] = 1.0
        out = tf.raw_ops.LSTMBlockCell(
            x=np.full((1, 1), x, f32), cs_prev=np.zeros((1, 1), f32),
            h_prev=np.zeros((1, 1), f32), w=w, wci=np.zeros(1, f32), wcf=np.zeros(1, f32),
            wco=np.zeros(1, f32), b=np.asarray(bias, f32), forget_bias=forget_bias,
            cell_clip=-1.0, use_peephole=False)
        logit = {g: float(np.log(p / (1 - p))) for g, p in
                 (("i", out.i.numpy()[0, 0]), ("f", out.f.numpy()[0, 0]),
                  ("o", out.o.numpy()[0, 0]))}
        return {**logit, "g": float(np.arctanh(out.ci.numpy()[0, 0]))}

    block = {g: round(z) for g, z in pre_activations(np.arange(4), 0.0).items()}
    added = {g: round(z) for g, z in pre_activations(np.zeros(4), 1.0).items()}
    input_rows_first = pre_activations(np.zeros(4), 0.0, x=1.0, w_row=0)["i"] > 0.5
    return block, added, input_rows_first


def _columns(H):
    """Column indices that take a TF1 kernel's blocks to the book's order i, f, g, o."""
    block = tf1_layout()[0]
    return np.concatenate([np.arange(H) + H * block[g] for g in GATES])


def tf1_to_numpy(kernel, bias, forget_bias=1.0):
    """The book's weights {Wx, Wh, b} from TF1's kernel (I + H, 4H) and bias (4H,)."""
    _, added, input_rows_first = tf1_layout()
    H = bias.size // 4
    I = kernel.shape[0] - H
    cols = _columns(H)
    W = kernel[:, cols]
    Wx, Wh = (W[:I], W[I:]) if input_rows_first else (W[H:], W[:H])
    b = bias[cols] + forget_bias * np.repeat([added[g] for g in GATES], H)
    return {"Wx": Wx, "Wh": Wh, "b": b.astype(bias.dtype)}


def numpy_to_tf1(Wx, Wh, b, forget_bias=1.0):
    """(kernel (I + H, 4H), bias (4H,)) for TF1's LSTMCell from the book's Wx, Wh, b."""
    _, added, input_rows_first = tf1_layout()
    H = b.size // 4
    cols = _columns(H)
    kernel, bias = np.empty((Wx.shape[0] + H, 4 * H), Wx.dtype), np.empty(4 * H, b.dtype)
    kernel[:, cols] = np.concatenate([Wx, Wh] if input_rows_first else [Wh, Wx])
    bias[cols] = b - forget_bias * np.repeat([added[g] for g in GATES], H)
    return kernel, bias
