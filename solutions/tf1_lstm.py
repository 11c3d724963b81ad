"""An LSTM in TensorFlow 1's graph API (`tf.compat.v1`), built from ops, not from `rnn_cell`.

Everything here adds ops to the default `tf.Graph`; nothing runs until a
`tf.compat.v1.Session` runs it. The variables follow TF's own `LSTMCell`, so values copy
between the two unchanged (see book/91_conventions.ipynb):

- `kernel` [I + H, 4H] multiplies concat([x, h]) (the input rows first, then the h rows);
- `bias` [4H], initialized to zeros;
- the four column blocks are the gates in TF's order i, j, f, o (j is the candidate, the
  book's g), and `forget_bias` is added to the f block at run time, never stored:

      i, j, f, o = split(concat([x, h]) @ kernel + bias, 4)
      c_next = sigmoid(f + forget_bias) * c + sigmoid(i) * tanh(j)
      h_next = sigmoid(o) * tanh(c_next)

TensorFlow is imported through `autograde.tfcompat.import_tf()` when this module is.
"""

from autograde.tfcompat import import_tf

tf = import_tf()
v1 = tf.compat.v1


def _as_tensor(name, value, dims):
    """`value` as a floating-point tensor whose rank and last dimension are known.

    dims: the letters that name each axis, e.g. "B, T, I". Raises ValueError naming
    what was expected and what was given.
    """
    value = tf.convert_to_tensor(value)
    rank = len(dims.split(","))
    if value.shape.rank != rank or value.shape[-1] is None:
        raise ValueError(f"{name} must have shape ({dims}) with {dims.split(', ')[-1]} known; "
                         f"got {value.shape}")
    if not value.dtype.is_floating:
        raise ValueError(f"{name} must be float32 or float64; got {value.dtype.name}")
    return value


def _as_state(name, state, batch_like, num_units):
    """A `(c, h)` pair of tensors, each (B, num_units), in the dtype of `batch_like`."""
    if not isinstance(state, (tuple, list)) or len(state) != 2:
        raise ValueError(f"{name} must be a (c, h) pair; got {type(state).__name__}")
    pair = []
    for part, value in zip("ch", state, strict=True):
        value = tf.convert_to_tensor(value, dtype=batch_like.dtype)
        if value.shape.rank != 2 or value.shape[-1] not in (None, num_units):
            raise ValueError(f"{name} {part} must have shape (B, H) = (?, {num_units}); "
                             f"got {value.shape}")
        pair.append(value)
    return tuple(pair)


def lstm_cell(x, state, num_units, forget_bias=1.0):
    """One LSTM step, with its variables created (or reused) in the current variable scope.

    Inputs:  x (B, I) tensor; state, a (c, h) pair of (B, H) tensors; num_units = H;
             forget_bias, a number added to the forget gate's pre-activation.
    Creates: `kernel` [I + H, 4H] and `bias` [4H] (zeros), laid out as TF's LSTMCell.
    Returns: (h_next, (c_next, h_next)), each (B, H), in the dtype of x.
    """
    x = _as_tensor("x", x, "B, I")
    c, h = _as_state("state", state, x, num_units)
    input_size = x.shape[-1]
    kernel = v1.get_variable("kernel", [input_size + num_units, 4 * num_units], dtype=x.dtype)
    bias = v1.get_variable("bias", [4 * num_units], dtype=x.dtype,
                           initializer=v1.zeros_initializer())
    z = tf.matmul(tf.concat([x, h], axis=1), kernel) + bias
    i, j, f, o = tf.split(z, 4, axis=1)
    c_next = tf.sigmoid(f + forget_bias) * c + tf.sigmoid(i) * tf.tanh(j)
    h_next = tf.sigmoid(o) * tf.tanh(c_next)
    return h_next, (c_next, h_next)


def static_lstm(inputs, num_units, initial_state=None, forget_bias=1.0):
    """One LSTM layer unrolled by a Python loop: T copies of the cell that share variables.

    Inputs:  inputs (B, T, I) tensor with T known when the graph is built; num_units = H;
             initial_state, None (zeros) or a (c, h) pair of (B, H) tensors.
    Creates: `kernel` and `bias` in the current variable scope (once; later steps reuse them).
    Returns: (outputs, (c_T, h_T)): outputs (B, T, H), the last state's c and h (B, H).
    """
    inputs = _as_tensor("inputs", inputs, "B, T, I")
    steps = inputs.shape[1]
    if steps is None:
        raise ValueError(f"inputs must have a known number of steps T to be unrolled; "
                         f"got shape {inputs.shape} (use dynamic_lstm for a variable T)")
    if initial_state is None:
        state = zero_state(tf.shape(inputs)[0], [num_units], inputs.dtype)[0]
    else:
        state = _as_state("initial_state", initial_state, inputs, num_units)
    outputs = []
    for t in range(steps):
        # Step 0 creates kernel and bias; every later step must reuse them, not make new ones.
        with v1.variable_scope(v1.get_variable_scope(), reuse=True if t > 0 else None):
            h, state = lstm_cell(inputs[:, t], state, num_units, forget_bias)
        outputs.append(h)
    return tf.stack(outputs, axis=1), state


def zero_state(batch_size, num_units, dtype):
    """All-zero states for a stack of LSTM layers, as `MultiRNNCell.zero_state` returns them.

    Inputs:  batch_size, an int or a scalar int tensor; num_units, a list of H per layer.
    Returns: a tuple with one (c, h) pair per layer, each (batch_size, H).
    """
    return tuple((tf.zeros([batch_size, n], dtype), tf.zeros([batch_size, n], dtype))
                 for n in num_units)


def _check_units(num_units):
    if not isinstance(num_units, (list, tuple)) or not num_units \
            or any(not isinstance(n, int) or n < 1 for n in num_units):
        raise ValueError(f"num_units must be a non-empty list of positive ints, one per layer; "
                         f"got {num_units!r}")
    return list(num_units)


def dynamic_lstm(inputs, num_units, initial_state=None, sequence_length=None,
                 time_major=False, forget_bias=1.0, scope="rnn"):
    """A stack of LSTM layers run over time by `tf.compat.v1.while_loop`, like dynamic_rnn.

    Inputs:  inputs (B, T, I), or (T, B, I) when time_major; T may be unknown until run time.
             num_units, a list with one H_k per layer.
             initial_state, None (zeros) or a tuple with one (c, h) pair per layer.
             sequence_length, None or an int vector (B,): the valid steps of each sequence.
    Creates: `kernel` and `bias` of layer k under `{scope}/cell_{k}/`.
    Returns: (outputs, final_states): outputs (B, T, H_top) (or (T, B, H_top)), zero after
             each sequence's length; final_states, a tuple of one (c, h) pair per layer,
             each the state at that sequence's last valid step.
    """
    inputs = _as_tensor("inputs", inputs, "T, B, I" if time_major else "B, T, I")
    num_units = _check_units(num_units)
    # The loop reads one step at a time, so put time first.
    x = inputs if time_major else tf.transpose(inputs, [1, 0, 2])
    steps, batch_size = tf.shape(x)[0], tf.shape(x)[1]
    if initial_state is None:
        state = zero_state(batch_size, num_units, x.dtype)
    elif not isinstance(initial_state, (tuple, list)) or len(initial_state) != len(num_units):
        raise ValueError(f"initial_state must hold one (c, h) pair per layer "
                         f"({len(num_units)}); got {initial_state!r:.80}")
    else:
        state = tuple(_as_state(f"initial_state[{k}]", s, x, n)
                      for k, (s, n) in enumerate(zip(initial_state, num_units, strict=True)))
    if sequence_length is not None:
        sequence_length = tf.convert_to_tensor(sequence_length, dtype=tf.int32)
        if sequence_length.shape.rank != 1:
            raise ValueError(f"sequence_length must have shape (B,); got {sequence_length.shape}")

    def step(t, state, outputs):
        h, new_state = x_steps.read(t), []
        for k, n in enumerate(num_units):
            with v1.variable_scope(f"cell_{k}"):
                h, layer_state = lstm_cell(h, state[k], n, forget_bias)
            new_state.append(layer_state)
        if sequence_length is not None:
            # Finished sequences output zeros and keep the state of their last valid step.
            running = (t < sequence_length)[:, None]
            h = tf.where(running, h, tf.zeros_like(h))
            new_state = [(tf.where(running, c1, c0), tf.where(running, h1, h0))
                         for (c1, h1), (c0, h0) in zip(new_state, state, strict=True)]
        return t + 1, tuple(new_state), outputs.write(t, h)

    with v1.variable_scope(scope):
        x_steps = tf.TensorArray(x.dtype, size=steps).unstack(x)
        outputs = tf.TensorArray(x.dtype, size=steps, element_shape=[None, num_units[-1]])
        _, final_states, outputs = v1.while_loop(lambda t, *_: t < steps, step,
                                                 (tf.constant(0), state, outputs))
    outputs = outputs.stack()  # (T, B, H_top)
    return (outputs if time_major else tf.transpose(outputs, [1, 0, 2])), final_states
