'''Posted TF1 code: see tests/posted/__init__.py.

Written the way TF1 LSTMs are posted: `tf.compat.v1` classes that create their weights with
`get_variable`, one matmul per gate on slices of the kernel, a hand-built multi-layer loop
under `while_loop`, `tf.squeeze` on each step's input, dropout behind a keep_prob
placeholder. Each is fitted to the exercise by a thin adapter that keeps its bug. The
variables follow the exercise's contract (`kernel` [I + H, 4H], `bias` [4H], TF's gate
order i, j, f, o), since the check loads TF's own values into them by name.
'''

from tests.posted import Post

# --------------------------------------------------------------------- the cell, as a class

_CELL_CLASS = '''
import tensorflow as tf
v1 = tf.compat.v1


class BasicLSTM(object):
    """LSTM cell (TF1). Weights: one kernel for [x, h] and one bias, gates i, j, f, o."""

    def __init__(self, num_units, forget_bias=1.0):
        self.num_units = num_units
        self.forget_bias = forget_bias

    def __call__(self, inputs, state):
        c_prev, h_prev = state
        n_in = inputs.get_shape().as_list()[-1]
        W = v1.get_variable("kernel", [n_in + self.num_units, 4 * self.num_units],
                            dtype=inputs.dtype)
        b = v1.get_variable("bias", [4 * self.num_units], dtype=inputs.dtype,
                            initializer=v1.zeros_initializer())
        gates = tf.matmul(tf.concat([inputs, h_prev], 1), W) + b
        i, j, f, o = tf.split(gates, num_or_size_splits=4, axis=1)
        i, f, o = tf.sigmoid(i), tf.sigmoid(f + self.forget_bias), tf.sigmoid(o)
        {update}
        return h, (c, h)


def lstm_cell(x, state, num_units, forget_bias=1.0):
    return BasicLSTM(num_units, forget_bias)(x, state)
'''

_RIGHT = "c = f * c_prev + i * tf.tanh(j)\n        h = o * tf.tanh(c)"


def _cell_class(update):
    return _CELL_CLASS.replace("{update}", update)


# ------------------------------------------------------------ the cell, one matmul per gate

_PER_GATE = '''
import tensorflow as tf
v1 = tf.compat.v1


def lstm_cell(x, state, num_units, forget_bias=1.0):
    c_prev, h_prev = state
    H = num_units
    I = x.shape[-1]
    kernel = v1.get_variable("kernel", [I + H, 4 * H], dtype=x.dtype)
    bias = v1.get_variable("bias", [4 * H], dtype=x.dtype, initializer=v1.zeros_initializer())
    W_x, W_h = kernel[:I], kernel[I:]     # input weights, recurrent weights

    def gate(k, act):
        cols = slice(k * H, (k + 1) * H)
        return act({product} + bias[cols])

    i = gate(0, tf.sigmoid)
    j = gate(1, tf.tanh)
    f = tf.sigmoid(gate(2, tf.identity) + forget_bias)
    o = gate(3, tf.sigmoid)
    c = f * c_prev + i * j
    h = o * tf.tanh(c)
    return h, (c, h)
'''


def _per_gate(product):
    return _PER_GATE.replace("{product}", product)


# ------------------------------------------------------------------ static_lstm, a loop

_STATIC = '''
import tensorflow as tf
v1 = tf.compat.v1


def _step(x_t, c_prev, h_prev, num_units, forget_bias, n_in):
    kernel = v1.get_variable("kernel", [n_in + num_units, 4 * num_units], dtype=x_t.dtype)
    bias = v1.get_variable("bias", [4 * num_units], dtype=x_t.dtype,
                           initializer=v1.zeros_initializer())
    z = tf.matmul(tf.concat([x_t, h_prev], axis=1), kernel) + bias
    i, j, f, o = tf.split(z, 4, axis=1)
    {cell}
    return c, h


def static_lstm(inputs, num_units, initial_state=None, forget_bias=1.0):
    num_steps, n_in = inputs.get_shape().as_list()[1:]
    if initial_state is None:
        batch = tf.shape(inputs)[0]
        c = h = tf.zeros(tf.stack([batch, num_units]), dtype=inputs.dtype)
    else:
        c, h = initial_state
    {setup}
    outputs = []
    for t in range({steps}):
        with v1.variable_scope(v1.get_variable_scope(), reuse=t > 0):
            {step}
        outputs.append(h)
    return tf.stack(outputs, axis=1), (c, h)
'''

_CELL = ("c = tf.sigmoid(f + forget_bias) * c_prev + tf.sigmoid(i) * tf.tanh(j)\n"
         "    h = tf.sigmoid(o) * tf.tanh(c)")
_STEP = "c, h = _step(inputs[:, t, :], c, h, num_units, forget_bias, n_in)"


def _static(cell=_CELL, steps="num_steps", step=_STEP, setup=""):
    return (_STATIC.replace("{cell}", cell).replace("{steps}", steps)
            .replace("{step}", step).replace("{setup}", setup))


# ------------------------------------------- dynamic_lstm, a hand-built multi-layer while_loop

_DYNAMIC = '''
import tensorflow as tf
v1 = tf.compat.v1


class MultiLayerLSTM(object):
    """A stack of LSTM layers run by tf.while_loop (TF 1.x)."""

    def __init__(self, num_units, forget_bias=1.0, scope="rnn"):
        self.num_units, self.forget_bias, self.scope = list(num_units), forget_bias, scope

    def cell(self, x, c_prev, h_prev, n):
        kernel = v1.get_variable("kernel", [x.shape[-1] + n, 4 * n], dtype=x.dtype)
        bias = v1.get_variable("bias", [4 * n], dtype=x.dtype,
                               initializer=v1.zeros_initializer())
        i, j, f, o = tf.split(tf.matmul(tf.concat([x, h_prev], 1), kernel) + bias, 4, 1)
        {cell}
        return c, h

    def __call__(self, inputs, initial_state=None, sequence_length=None, time_major=False):
        x = inputs if time_major else tf.transpose(inputs, [1, 0, 2])
        T, B = tf.shape(x)[0], tf.shape(x)[1]
        if initial_state is None:
            initial_state = tuple((tf.zeros([B, n], x.dtype), tf.zeros([B, n], x.dtype))
                                  for n in self.num_units)
        initial_state = tuple(tuple(s) for s in initial_state)
        xs = tf.TensorArray(x.dtype, size=T).unstack(x)
        outs = tf.TensorArray(x.dtype, size=T, element_shape=[None, self.num_units[-1]])
        {setup}

        def body(t, state, outs):
            h = xs.read(t)
            new = []
            for k, n in enumerate(self.num_units):
                with v1.variable_scope("cell_%d" % k):
                    {layer}
                {between}
                new.append((c, h))
            if sequence_length is not None:
                alive = tf.expand_dims(t < sequence_length, 1)
                h = tf.where(alive, h, tf.zeros_like(h))
                new = [(tf.where(alive, c1, c0), tf.where(alive, h1, h0))
                       for (c1, h1), (c0, h0) in zip(new, state)]
            return t + 1, tuple(new), outs.write(t, h)

        with v1.variable_scope(self.scope):
            _, final, outs = v1.while_loop(lambda t, *_: t < T, body,
                                           (tf.constant(0), initial_state, outs))
        out = outs.stack()
        return (out if time_major else tf.transpose(out, [1, 0, 2])), final


def dynamic_lstm(inputs, num_units, initial_state=None, sequence_length=None,
                 time_major=False, forget_bias=1.0, scope="rnn"):
    model = MultiLayerLSTM(num_units, forget_bias, scope)
    return model(inputs, initial_state, sequence_length, time_major)
'''

_DCELL = ("c = tf.sigmoid(f + self.forget_bias) * c_prev + tf.sigmoid(i) * tf.tanh(j)\n"
          "        h = tf.sigmoid(o) * tf.tanh(c)")
_LAYER = "c, h = self.cell(h, state[k][0], state[k][1], n)"


def _dynamic(cell=_DCELL, layer=_LAYER, setup="", between=""):
    return (_DYNAMIC.replace("{cell}", cell).replace("{layer}", layer)
            .replace("{setup}", setup).replace("{between}", between))


POSTS = [
    # ---- buggy: the cell
    Post("tf1-cell-class-c-from-h", "lstm_cell",
         _cell_class("c = f * h_prev + i * tf.tanh(j)\n        h = o * tf.tanh(c)"),
         "uses h_prev where it needs c_prev", "cell update reads h_prev"),
    Post("tf1-cell-class-h-from-g", "lstm_cell",
         _cell_class("g = tf.tanh(j)\n        c = f * c_prev + i * g\n"
                     "        h = o * tf.tanh(g)"),
         "h = o * tanh(g)", "h from the candidate"),
    Post("tf1-cell-per-gate-swapped-weights", "lstm_cell",
         _per_gate("tf.matmul(x, W_h[:, cols]) + tf.matmul(h_prev, W_x[:, cols])"),
         "x is multiplied by the recurrent weights", "input and recurrent weights swapped"),
    Post("tf1-cell-class-state-hc", "lstm_cell",
         _cell_class(_RIGHT).replace("c_prev, h_prev = state", "h_prev, c_prev = state")
         .replace("return h, (c, h)", "return h, (h, c)"),
         "the state is read and returned as (h, c)", "state tuple in Keras order"),
    Post("tf1-cell-bias-per-row", "lstm_cell", '''
import tensorflow as tf
v1 = tf.compat.v1


def lstm_cell(x, state, num_units, forget_bias=1.0):
    c, h = state
    batch_size = x.shape[0]
    W = v1.get_variable("kernel", [x.shape[1] + num_units, 4 * num_units], dtype=x.dtype)
    b = v1.get_variable("bias", [batch_size, 4 * num_units], dtype=x.dtype,
                        initializer=v1.zeros_initializer())
    i, j, f, o = tf.split(tf.matmul(tf.concat([x, h], 1), W) + b, 4, 1)
    c = tf.sigmoid(f + forget_bias) * c + tf.sigmoid(i) * tf.tanh(j)
    h = tf.sigmoid(o) * tf.tanh(c)
    return h, (c, h)
''', "uses the batch size", "bias shaped (batch, 4H) with batch None"),
    Post("tf1-cell-class-bias-variable-per-row", "lstm_cell",
         _cell_class(_RIGHT).replace(
             'b = v1.get_variable("bias", [4 * self.num_units], dtype=inputs.dtype,\n'
             '                            initializer=v1.zeros_initializer())',
             'b = tf.Variable(tf.zeros((inputs.shape[0], 4 * self.num_units), inputs.dtype),\n'
             '                        name="bias")'),
         "uses the batch size", "tf.Variable(tf.zeros((batch, 4H))) with batch None"),
    Post("tf1-cell-float32-constant", "lstm_cell",
         _cell_class(_RIGHT).replace("tf.sigmoid(f + self.forget_bias)",
                                     "tf.sigmoid(f + tf.constant(self.forget_bias))"),
         "made without a dtype is float32", "tf.constant(1.0) is float32 in a float64 graph"),
    Post("tf1-cell-book-gate-order", "lstm_cell",
         _cell_class(_RIGHT).replace("i, j, f, o = tf.split", "i, f, j, o = tf.split"),
         "TF's kernel blocks are i, j, f, o", "gates read as i, f, g, o"),
    # ---- buggy: static_lstm
    Post("tf1-static-c-from-h", "static_lstm",
         _static(cell="c = tf.sigmoid(f + forget_bias) * h_prev + tf.sigmoid(i) * tf.tanh(j)\n"
                      "    h = tf.sigmoid(o) * tf.tanh(c)"),
         "uses h_prev where it needs c_prev", "cell update reads h_prev"),
    Post("tf1-static-range-short", "static_lstm", _static(steps="num_steps - 1"),
         "the loop stops one step short", "range(num_steps - 1)"),
    Post("tf1-static-never-carried", "static_lstm",
         _static(setup="c0, h0 = c, h",
                 step="c, h = _step(inputs[:, t, :], c0, h0, num_units, forget_bias, n_in)"),
         "the loop never passes the new (c, h)", "every step starts from the initial state"),
    Post("tf1-static-squeeze", "static_lstm",
         _static(step="x_t = tf.squeeze(inputs[:, t:t + 1, :])\n"
                      "            c, h = _step(x_t, c, h, num_units, forget_bias, n_in)"),
         "tf.squeeze removes every axis of size 1", "tf.squeeze drops the batch axis at B = 1"),
    Post("tf1-static-h-first", "static_lstm",
         _static().replace("tf.concat([x_t, h_prev], axis=1)", "tf.concat([h_prev, x_t], axis=1)"),
         "concat([h, x]) instead of concat([x, h])", "h rows first"),
    Post("tf1-static-ignores-state", "static_lstm",
         _static().replace("if initial_state is None:", "if True:"),
         "initial_state is ignored", "zeros whatever the caller passes"),
    # ---- buggy: dynamic_lstm
    Post("tf1-dynamic-h-from-g", "dynamic_lstm",
         _dynamic(cell="c = tf.sigmoid(f + self.forget_bias) * c_prev + tf.sigmoid(i) * tf.tanh(j)\n"
                       "        h = tf.sigmoid(o) * tf.tanh(tf.tanh(j))"),
         "h = o * tanh(g)", "h from the candidate, multi-layer"),
    Post("tf1-dynamic-never-carried", "dynamic_lstm",
         _dynamic(layer="c, h = self.cell(h, initial_state[k][0], initial_state[k][1], n)"),
         "the loop never passes the new (c, h)", "each step reads the initial state"),
    Post("tf1-dynamic-c-from-h", "dynamic_lstm",
         _dynamic(cell="c = tf.sigmoid(f + self.forget_bias) * h_prev + tf.sigmoid(i) * tf.tanh(j)\n"
                       "        h = tf.sigmoid(o) * tf.tanh(c)"),
         "uses h_prev where it needs c_prev", "cell update reads h_prev, multi-layer"),
    Post("tf1-dynamic-squeeze", "dynamic_lstm",
         _dynamic(layer="c, h = self.cell(h, state[k][0], state[k][1], n, k)")
         .replace("h = xs.read(t)", "h = tf.squeeze(tf.slice(x, [t, 0, 0], [1, -1, -1]))")
         .replace("def cell(self, x, c_prev, h_prev, n):", "def cell(self, x, c_prev, h_prev, n, k):")
         .replace("kernel = v1.get_variable(\"kernel\", [x.shape[-1] + n, 4 * n]",
                  "kernel = v1.get_variable(\"kernel\", [self.sizes[k] + n, 4 * n]")
         .replace("x = inputs if time_major else tf.transpose(inputs, [1, 0, 2])",
                  "x = inputs if time_major else tf.transpose(inputs, [1, 0, 2])\n"
                  "        self.sizes = [inputs.shape[-1]] + self.num_units[:-1]"),
         "tf.squeeze removes every axis of size 1", "tf.squeeze on each step, B = 1"),
    Post("tf1-cell-own-variable-names", "lstm_cell",
         _cell_class(_RIGHT).replace('get_variable("kernel"', 'get_variable("W"')
         .replace('get_variable("bias"', 'get_variable("b"'),
         "This is a naming rule", "variables named W and b"),
    # ---- correct but unusual
    Post("tf1-cell-per-gate-dropout-default", "lstm_cell",
         _per_gate("tf.matmul(x, W_x[:, cols]) + tf.matmul(h_prev, W_h[:, cols])")
         .replace("    return h, (c, h)",
                  "    keep_prob = v1.placeholder_with_default(1.0, [])\n"
                  "    out = tf.nn.dropout(h, rate=1 - keep_prob)\n"
                  "    return out, (c, h)"),
         None, "per-gate matmuls on kernel slices; dropout behind placeholder_with_default(1.0)"),
    Post("tf1-static-own-scope-keep-prob", "static_lstm",
         _static(step="x_t = tf.squeeze(inputs[:, t:t + 1, :], axis=1)\n"
                      "            with v1.variable_scope(\"RNN\", reuse=t > 0):\n"
                      "                c, h = _step(x_t, c, h, num_units, forget_bias, n_in)\n"
                      "            h = v1.nn.dropout(h, keep_prob=keep_prob)",
                 setup="keep_prob = v1.placeholder(tf.float32)")
         .replace("with v1.variable_scope(v1.get_variable_scope(), reuse=t > 0):",
                  "if True:"),
         None, "loop in its own variable_scope; keep_prob = placeholder(tf.float32), unfed"),
    Post("tf1-dynamic-einsum-dropout", "dynamic_lstm",
         _dynamic(cell="i, f, o = tf.sigmoid(i), tf.sigmoid(f + self.forget_bias), tf.sigmoid(o)\n"
                       "        c = tf.add(tf.multiply(f, c_prev), tf.multiply(i, tf.tanh(j)))\n"
                       "        h = o * tf.tanh(c)",
                  setup="keep_prob = v1.placeholder_with_default(1.0, shape=[])",
                  between="h = tf.nn.dropout(h, rate=1.0 - keep_prob)")
         .replace("tf.matmul(tf.concat([x, h_prev], 1), kernel)",
                  "tf.einsum('bi,ij->bj', tf.concat([x, h_prev], 1), kernel)"),
         None, "einsum, tf.add/multiply, dropout between layers at keep_prob 1.0"),
]
