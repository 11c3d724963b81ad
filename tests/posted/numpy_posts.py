"""Posted numpy code: see tests/posted/__init__.py.

RNNs and LSTMs in the styles they are posted in (a blog's class, a forum answer's one
function, column vectors, one weight per gate, einsum), each fitted to an exercise of
chapters 1 to 5 and the bug clinic by a thin adapter that keeps its bug.
"""

from tests.posted import Post

# The phrases a TA would say; the diagnosis must contain them.
NEVER_CARRIED_H = "each step starts again from h0"
NEVER_CARRIED = "each step starts again from h0 and c0"
FROM_ZEROS = "ignores the state it is given and starts from zeros"
H_FOR_C = "uses h_prev where it needs c_prev"
SIGMOID = "sigmoid where it needs tanh"
STOPS_EARLY = "range(T - 1)"
H_FROM_G = "h = o * tanh(g)"

POSTS: list[Post] = [
    # ------------------------------------------------------------------ rnn_step
    Post("numpy-rnn-step-sigmoid", "rnn_step", '''
        import numpy as np

        def sigmoid(x):
            return 1.0 / (1.0 + np.exp(-x))

        def rnn_step(x, h, Wx, Wh, b):
            # vanilla RNN cell: squash the weighted sum into (0, 1)
            a = np.dot(x, Wx) + np.dot(h, Wh) + b
            return sigmoid(a)
        ''', SIGMOID, "sigmoid instead of tanh"),
    Post("numpy-rnn-step-fresh-state", "rnn_step", '''
        import numpy as np

        class RNNCell:
            def __init__(self, Wxh, Whh, bh):
                self.Wxh, self.Whh, self.bh = Wxh, Whh, bh

            def step(self, x, h_prev):
                h_prev = np.zeros((x.shape[0], self.Whh.shape[0]), dtype=x.dtype)  # init hidden
                return np.tanh(x @ self.Wxh + h_prev @ self.Whh + self.bh)

        def rnn_step(x, h, Wx, Wh, b):
            return RNNCell(Wx, Wh, b).step(x, h)
        ''', FROM_ZEROS, "the step resets its hidden state"),
    Post("numpy-rnn-step-column-vectors-wh-not-transposed", "rnn_step", '''
        import numpy as np

        def step_column(x_t, h_prev, W_xh, W_hh, b_h):
            """Karpathy-style: x_t (I, 1), h_prev (H, 1), W_xh (H, I), W_hh (H, H)."""
            return np.tanh(W_xh @ x_t + W_hh @ h_prev + b_h)

        def rnn_step(x, h, Wx, Wh, b):
            # our weights are (in, out): transpose them for the column form
            return step_column(x.T, h.T, Wx.T, Wh, b[:, None]).T
        ''', "Wh are used transposed", "column vectors, one weight not transposed"),
    # ------------------------------------------------------------------ rnn_forward
    Post("numpy-rnn-forward-never-carried", "rnn_forward", '''
        import numpy as np

        class SimpleRNN:
            def __init__(self, Wx, Wh, b):
                self.Wx, self.Wh, self.b = Wx, Wh, b

            def forward(self, inputs, h0):
                outputs = []
                for t in range(inputs.shape[1]):
                    h_next = np.tanh(inputs[:, t] @ self.Wx + h0 @ self.Wh + self.b)
                    outputs.append(h_next)
                return np.stack(outputs, axis=1)

        def rnn_forward(x, h0, Wx, Wh, b):
            return SimpleRNN(Wx, Wh, b).forward(x, h0)
        ''', NEVER_CARRIED_H, "h_next never passed on"),
    Post("numpy-rnn-forward-sigmoid", "rnn_forward", '''
        import numpy as np

        def rnn_forward(x, h0, Wx, Wh, b):
            N, T, D = x.shape
            H = h0.shape[1]
            h = np.zeros((N, T, H), dtype=x.dtype)
            prev_h = h0
            for t in range(T):
                prev_h = 1 / (1 + np.exp(-(x[:, t, :].dot(Wx) + prev_h.dot(Wh) + b)))
                h[:, t, :] = prev_h
            return h
        ''', SIGMOID, "cs231n layout, sigmoid activation"),
    Post("numpy-rnn-forward-range-minus-one", "rnn_forward", '''
        import numpy as np

        def rnn_forward(x, h0, Wx, Wh, b):
            batch, seq_len, _ = x.shape
            hidden = np.zeros((batch, seq_len - 1, Wh.shape[0]), dtype=x.dtype)
            h = h0
            for t in range(seq_len - 1):  # t+1 is the next input
                h = np.tanh(x[:, t] @ Wx + h @ Wh + b)
                hidden[:, t] = h
            return hidden
        ''', STOPS_EARLY, "loop over range(T - 1)"),
    Post("numpy-rnn-forward-ignores-h0", "rnn_forward", '''
        import numpy as np

        def rnn_forward(x, h0, Wx, Wh, b):
            hs = []
            h = np.zeros_like(h0)
            for x_t in np.moveaxis(x, 1, 0):
                h = np.tanh(x_t @ Wx + h @ Wh + b)
                hs.append(h)
            return np.stack(hs, 1)
        ''', "the initial state h0 is ignored", "h starts from zeros"),
    # ------------------------------------------------------------------ lstm_step
    Post("numpy-lstm-step-c-from-h", "lstm_step", '''
        import numpy as np

        sigmoid = lambda z: 1 / (1 + np.exp(-z))

        def lstm_step(x, h, c, Wx, Wh, b):
            H = h.shape[1]
            a = x @ Wx + h @ Wh + b
            i = sigmoid(a[:, :H])
            f = sigmoid(a[:, H:2*H])
            g = np.tanh(a[:, 2*H:3*H])
            o = sigmoid(a[:, 3*H:])
            c = f * h + i * g
            h = o * np.tanh(c)
            return h, c
        ''', H_FOR_C, "c = f * h + i * g"),
    Post("numpy-lstm-step-column-vectors-c-from-h", "lstm_step", '''
        import numpy as np

        def sig(v):
            return 1. / (1. + np.exp(-v))

        class LSTMCell:
            """x (I, 1), h and c (H, 1): one column per example."""
            def __init__(self, W, U, bias):
                self.W, self.U, self.bias = W, U, bias  # (4H, I), (4H, H), (4H, 1)

            def __call__(self, x, h_prev, c_prev):
                H = h_prev.shape[0]
                gates = self.W @ x + self.U @ h_prev + self.bias
                i, f = sig(gates[:H]), sig(gates[H:2*H])
                g, o = np.tanh(gates[2*H:3*H]), sig(gates[3*H:])
                c_t = f * h_prev + i * g
                h_t = o * np.tanh(c_t)
                return h_t, c_t

        def lstm_step(x, h, c, Wx, Wh, b):
            h_t, c_t = LSTMCell(Wx.T, Wh.T, b[:, None])(x.T, h.T, c.T)
            return h_t.T, c_t.T
        ''', H_FOR_C, "column vectors, h_prev in the cell update"),
    Post("numpy-lstm-step-zero-state", "lstm_step", '''
        import numpy as np

        def _sigmoid(z):
            return np.exp(-np.logaddexp(0, -z))

        def lstm_step(x, h, c, Wx, Wh, b):
            hidden = Wh.shape[0]
            # start every step with a clean state
            h_prev = np.zeros((x.shape[0], hidden), x.dtype)
            c_prev = np.zeros((x.shape[0], hidden), x.dtype)
            zi, zf, zg, zo = np.split(x @ Wx + h_prev @ Wh + b, 4, axis=1)
            c_new = _sigmoid(zf) * c_prev + _sigmoid(zi) * np.tanh(zg)
            return _sigmoid(zo) * np.tanh(c_new), c_new
        ''', FROM_ZEROS, "the step starts from zeros"),
    Post("numpy-lstm-step-per-gate-h-from-g", "lstm_step", '''
        import numpy as np

        def sigmoid(x):
            return 1 / (1 + np.exp(-x))

        def cell(x, h, c, p):
            i = sigmoid(x @ p["W_i"] + h @ p["U_i"] + p["b_i"])
            f = sigmoid(x @ p["W_f"] + h @ p["U_f"] + p["b_f"])
            g = np.tanh(x @ p["W_c"] + h @ p["U_c"] + p["b_c"])
            o = sigmoid(x @ p["W_o"] + h @ p["U_o"] + p["b_o"])
            c = f * c + i * g
            h = o * np.tanh(g)
            return h, c

        def lstm_step(x, h, c, Wx, Wh, b):
            p = {}
            for name, W, U, bb in zip("ifco", np.split(Wx, 4, 1), np.split(Wh, 4, 1),
                                      np.split(b, 4)):
                p["W_" + name], p["U_" + name], p["b_" + name] = W, U, bb
            return cell(x, h, c, p)
        ''', H_FROM_G, "per-gate weights, h from the candidate"),
    Post("numpy-lstm-step-tf-order", "lstm_step", '''
        import numpy as np

        def lstm_step(x, h, c, Wx, Wh, b):
            # i = input_gate, j = new_input, f = forget_gate, o = output_gate
            i, j, f, o = np.split(np.matmul(x, Wx) + np.matmul(h, Wh) + b, 4, axis=-1)
            sig = lambda v: 1 / (1 + np.exp(-v))
            new_c = c * sig(f) + sig(i) * np.tanh(j)
            new_h = np.tanh(new_c) * sig(o)
            return new_h, new_c
        ''', "TensorFlow's order", "TF's i, j, f, o split"),
    # ------------------------------------------------------------------ lstm_forward
    Post("numpy-lstm-forward-never-carried", "lstm_forward", '''
        import numpy as np

        class LSTM:
            def __init__(self, Wx, Wh, b):
                self.Wx, self.Wh, self.b = Wx, Wh, b
                self.H = Wh.shape[0]

            def cell(self, x_t, h_prev, c_prev):
                H = self.H
                z = x_t @ self.Wx + h_prev @ self.Wh + self.b
                i, f, o = (1 / (1 + np.exp(-z[:, k*H:(k+1)*H])) for k in (0, 1, 3))
                g = np.tanh(z[:, 2*H:3*H])
                c_next = f * c_prev + i * g
                return o * np.tanh(c_next), c_next

            def forward(self, x, init_states):
                h_t, c_t = init_states
                hs, cs = [], []
                for t in range(x.shape[1]):
                    h_next, c_next = self.cell(x[:, t], h_t, c_t)
                    hs.append(h_next)
                    cs.append(c_next)
                return np.stack(hs, 1), np.stack(cs, 1)

        def lstm_forward(x, h0, c0, Wx, Wh, b):
            return LSTM(Wx, Wh, b).forward(x, (h0, c0))
        ''', NEVER_CARRIED, "h_next, c_next computed but never passed on"),
    Post("numpy-lstm-forward-c-from-h", "lstm_forward", '''
        import numpy as np

        def sigmoid(z):
            return 1.0 / (1.0 + np.exp(-z))

        def lstm_forward(x, h0, c0, Wx, Wh, b):
            N, T, _ = x.shape
            H = h0.shape[1]
            hs = np.zeros((N, T, H), x.dtype)
            cs = np.zeros((N, T, H), x.dtype)
            prev_h, prev_c = h0, c0
            for t in range(T):
                a = x[:, t].dot(Wx) + prev_h.dot(Wh) + b
                ai, af, ag, ao = a[:, :H], a[:, H:2*H], a[:, 2*H:3*H], a[:, 3*H:]
                next_c = sigmoid(af) * prev_h + sigmoid(ai) * np.tanh(ag)
                next_h = sigmoid(ao) * np.tanh(next_c)
                hs[:, t], cs[:, t] = next_h, next_c
                prev_h, prev_c = next_h, next_c
            return hs, cs
        ''', H_FOR_C, "prev_h in the cell update"),
    Post("numpy-lstm-forward-range-minus-one", "lstm_forward", '''
        import numpy as np

        def step(x, h, c, Wx, Wh, b):
            gi, gf, gg, go = np.split(x @ Wx + h @ Wh + b, 4, axis=1)
            s = lambda v: 1 / (1 + np.exp(-v))
            c = s(gf) * c + s(gi) * np.tanh(gg)
            return s(go) * np.tanh(c), c

        def lstm_forward(x, h0, c0, Wx, Wh, b):
            B, T, _ = x.shape
            hs = np.zeros((B, T - 1, h0.shape[1]), x.dtype)
            cs = np.zeros_like(hs)
            h, c = h0, c0
            for t in range(T - 1):
                h, c = step(x[:, t], h, c, Wx, Wh, b)
                hs[:, t], cs[:, t] = h, c
            return hs, cs
        ''', STOPS_EARLY, "loop over range(T - 1), preallocated outputs"),
    Post("numpy-lstm-forward-einsum-h-from-g", "lstm_forward", '''
        import numpy as np

        def lstm_forward(x, h0, c0, Wx, Wh, b):
            # project every timestep at once
            xw = np.einsum("bti,ij->btj", x, Wx) + b
            h, c = h0, c0
            hs, cs = [], []
            for t in range(x.shape[1]):
                z = xw[:, t] + np.einsum("bh,hj->bj", h, Wh)
                i, f, g, o = np.split(z, 4, axis=-1)
                i, f, o = (1 / (1 + np.exp(-v)) for v in (i, f, o))
                g = np.tanh(g)
                c = f * c + i * g
                h = o * np.tanh(g)
                hs.append(h)
                cs.append(c)
            return np.stack(hs, 1), np.stack(cs, 1)
        ''', H_FROM_G, "einsum, h from the candidate"),
    Post("numpy-lstm-forward-ignores-state", "lstm_forward", '''
        import numpy as np

        def lstm_forward(x, h0, c0, Wx, Wh, b):
            B, T, _ = x.shape
            H = Wh.shape[0]
            h = np.zeros((B, H), dtype=x.dtype)
            c = np.zeros((B, H), dtype=x.dtype)
            H_all, C_all = [], []
            for t in range(T):
                z = x[:, t] @ Wx + h @ Wh + b
                i = 1 / (1 + np.exp(-z[:, :H]))
                f = 1 / (1 + np.exp(-z[:, H:2 * H]))
                o = 1 / (1 + np.exp(-z[:, 3 * H:]))
                c = f * c + i * np.tanh(z[:, 2 * H:3 * H])
                h = o * np.tanh(c)
                H_all.append(h)
                C_all.append(c)
            return np.stack(H_all, axis=1), np.stack(C_all, axis=1)
        ''', "the initial state (h0, c0) is ignored", "the state made from zeros"),
    Post("numpy-lstm-forward-gate-order-ifog", "lstm_forward", '''
        import numpy as np

        def lstm_forward(x, h0, c0, Wx, Wh, b):
            sigm = lambda z: 1 / (1 + np.exp(-z))
            H = h0.shape[-1]
            h, c, hs, cs = h0, c0, [], []
            for t in range(x.shape[1]):
                gates = x[:, t] @ Wx + h @ Wh + b
                ifo = sigm(gates[:, :3 * H])
                i, f, o = ifo[:, :H], ifo[:, H:2 * H], ifo[:, 2 * H:]
                g = np.tanh(gates[:, 3 * H:])
                c = f * c + i * g
                h = o * np.tanh(c)
                hs.append(h)
                cs.append(c)
            return np.stack(hs, 1), np.stack(cs, 1)
        ''', "gates in the wrong order", "the sigmoid gates first, then g"),
    # ------------------------------------------------------------------ stacked_lstm_forward
    Post("numpy-stacked-h-from-g", "stacked_lstm_forward", '''
        import numpy as np

        def lstm_layer(x, h, c, Wx, Wh, b):
            H = Wh.shape[0]
            out = []
            for t in range(x.shape[1]):
                z = x[:, t] @ Wx + h @ Wh + b
                i = 1 / (1 + np.exp(-z[:, 0:H]))
                f = 1 / (1 + np.exp(-z[:, H:2*H]))
                g = np.tanh(z[:, 2*H:3*H])
                o = 1 / (1 + np.exp(-z[:, 3*H:4*H]))
                c = f * c + i * g
                h = o * np.tanh(g)
                out.append(h)
            return np.stack(out, 1), (h, c)

        def stacked_lstm_forward(x, layers, states=None):
            B = x.shape[0]
            finals, inp = [], x
            for k, p in enumerate(layers):
                H = p["Wh"].shape[0]
                h, c = states[k] if states is not None else (np.zeros((B, H), x.dtype),) * 2
                inp, final = lstm_layer(inp, h, c, p["Wx"], p["Wh"], p["b"])
                finals.append(final)
            return inp, finals
        ''', H_FROM_G, "a stack whose layers use the candidate for h"),
    Post("numpy-stacked-never-carried", "stacked_lstm_forward", '''
        import numpy as np

        class Layer:
            def __init__(self, Wx, Wh, b):
                self.Wx, self.Wh, self.b = Wx, Wh, b

            def __call__(self, xs, h0, c0):
                H = self.Wh.shape[0]
                hs = []
                for t in range(xs.shape[1]):
                    gates = xs[:, t] @ self.Wx + h0 @ self.Wh + self.b
                    i, f, g, o = (gates[:, k * H:(k + 1) * H] for k in range(4))
                    c = 1 / (1 + np.exp(-f)) * c0 + 1 / (1 + np.exp(-i)) * np.tanh(g)
                    h = 1 / (1 + np.exp(-o)) * np.tanh(c)
                    hs.append(h)
                return np.stack(hs, axis=1), (h, c)

        def stacked_lstm_forward(x, layers, states=None):
            out, finals = x, []
            for k, w in enumerate(layers):
                H = w["Wh"].shape[0]
                if states is None:
                    h0 = c0 = np.zeros((x.shape[0], H), x.dtype)
                else:
                    h0, c0 = states[k]
                out, state = Layer(**w)(out, h0, c0)
                finals.append(state)
            return out, finals
        ''', NEVER_CARRIED, "each layer's steps restart from its initial state"),
    Post("numpy-stacked-c-from-h", "stacked_lstm_forward", '''
        import numpy as np

        def sigmoid(a):
            return 1 / (1 + np.exp(-a))

        def stacked_lstm_forward(x, layers, states=None):
            B, T, _ = x.shape
            seq = x
            final_states = []
            for l, layer in enumerate(layers):
                H = layer["Wh"].shape[0]
                h, c = (states[l] if states else
                        (np.zeros((B, H), x.dtype), np.zeros((B, H), x.dtype)))
                outs = np.zeros((B, T, H), x.dtype)
                for t in range(T):
                    a = seq[:, t] @ layer["Wx"] + h @ layer["Wh"] + layer["b"]
                    i, f, g, o = np.split(a, 4, axis=1)
                    c = sigmoid(f) * h + sigmoid(i) * np.tanh(g)
                    h = sigmoid(o) * np.tanh(c)
                    outs[:, t] = h
                final_states.append((h, c))
                seq = outs
            return seq, final_states
        ''', H_FOR_C, "a stack with h in the cell update"),
    Post("numpy-stacked-range-minus-one", "stacked_lstm_forward", '''
        import numpy as np

        def run_layer(inputs, h, c, Wx, Wh, b):
            T = inputs.shape[1]
            hs = np.zeros((inputs.shape[0], T - 1, Wh.shape[0]), inputs.dtype)
            for t in range(T - 1):
                i, f, g, o = np.split(inputs[:, t] @ Wx + h @ Wh + b, 4, axis=1)
                c = c / (1 + np.exp(-f)) + np.tanh(g) / (1 + np.exp(-i))
                h = np.tanh(c) / (1 + np.exp(-o))
                hs[:, t] = h
            return hs, (h, c)

        def stacked_lstm_forward(x, layers, states=None):
            finals = []
            for k, layer in enumerate(layers):
                H = layer["Wh"].shape[0]
                h0, c0 = states[k] if states is not None else \\
                    (np.zeros((x.shape[0], H), x.dtype), np.zeros((x.shape[0], H), x.dtype))
                x, state = run_layer(x, h0, c0, layer["Wx"], layer["Wh"], layer["b"])
                finals.append(state)
            return x, finals
        ''', STOPS_EARLY, "every layer loops over range(T - 1)"),
    # ------------------------------------------------------------------ bug clinic
    Post("numpy-clinic-rnn-init-uniform", "clinic_rnn_init", '''
        import numpy as np

        def clinic_rnn_init(input_size, hidden_size, rng):
            return {"Wx": rng.random((input_size, hidden_size)),
                    "Wh": rng.random((hidden_size, hidden_size)),
                    "b": np.zeros(hidden_size)}
        ''', "draws only non-negative weights", "rng.random: uniform on [0, 1)"),
    Post("numpy-clinic-h-and-c-from-h", "clinic_h_and_c", '''
        import numpy as np

        def clinic_h_and_c(x, h, c, Wx, Wh, b):
            H = h.shape[1]
            z = x @ Wx + h @ Wh + b
            sg = lambda a: 0.5 * (1 + np.tanh(0.5 * a))
            c_next = sg(z[:, H:2*H]) * h + sg(z[:, :H]) * np.tanh(z[:, 2*H:3*H])
            h_next = sg(z[:, 3*H:]) * np.tanh(c_next)
            return h_next, c_next
        ''', H_FOR_C, "the clinic's cell, h in the cell update"),

    # ------------------------------------------------------------------ correct, unusual
    Post("numpy-rnn-forward-helper-other-names", "rnn_forward", '''
        import numpy as np

        def _cell(inp, state, W_in, W_rec, bias):
            return np.tanh(inp @ W_in + state @ W_rec + bias)

        def rnn_forward(x, h0, Wx, Wh, b):
            states = [h0]
            for inp in x.swapaxes(0, 1):
                states.append(_cell(inp, states[-1], Wx, Wh, b))
            return np.stack(states[1:], axis=1)
        ''', None, "helper function, other names, swapaxes"),
    Post("numpy-lstm-step-einsum-split", "lstm_step", '''
        import numpy as np

        def lstm_step(x, h, c, Wx, Wh, b):
            pre = np.einsum("bi,ij->bj", x, Wx) + np.einsum("bh,hj->bj", h, Wh) + b
            in_gate, forget_gate, cand, out_gate = np.split(pre, 4, axis=1)
            act = lambda v: 1 / (1 + np.exp(-v))
            c_new = act(forget_gate) * c + act(in_gate) * np.tanh(cand)
            return act(out_gate) * np.tanh(c_new), c_new
        ''', None, "einsum and np.split"),
    Post("numpy-lstm-forward-column-vectors", "lstm_forward", '''
        import numpy as np

        def sigmoid(v):
            return 1 / (1 + np.exp(-v))

        class ColumnLSTM:
            """The textbook form: W (4H, I), U (4H, H), states as columns (H, B)."""
            def __init__(self, W, U, bias):
                self.W, self.U, self.bias = W, U, bias

            def run(self, xs, h, c):
                H = h.shape[0]
                hs, cs = [], []
                for x_t in xs:
                    a = self.W @ x_t + self.U @ h + self.bias
                    i, f, o = sigmoid(a[:H]), sigmoid(a[H:2*H]), sigmoid(a[3*H:])
                    c = f * c + i * np.tanh(a[2*H:3*H])
                    h = o * np.tanh(c)
                    hs.append(h)
                    cs.append(c)
                return hs, cs

        def lstm_forward(x, h0, c0, Wx, Wh, b):
            xs = [x[:, t].T for t in range(x.shape[1])]
            hs, cs = ColumnLSTM(Wx.T, Wh.T, b[:, None]).run(xs, h0.T, c0.T)
            return (np.stack([h.T for h in hs], 1).astype(x.dtype),
                    np.stack([c.T for c in cs], 1).astype(x.dtype))
        ''', None, "column vectors, adapted by transposes"),
    Post("numpy-stacked-per-gate-layer-class", "stacked_lstm_forward", '''
        import numpy as np

        class GateLSTM:
            """One weight set per gate, split from the fused ones."""
            def __init__(self, Wx, Wh, b):
                names = ("input", "forget", "cell", "output")
                self.p = {n: (wx, wh, bb) for n, wx, wh, bb in
                          zip(names, np.split(Wx, 4, 1), np.split(Wh, 4, 1), np.split(b, 4))}

            def gate(self, name, x, h, fn):
                wx, wh, bb = self.p[name]
                return fn(x @ wx + h @ wh + bb)

            def __call__(self, seq, h, c):
                sig = lambda v: 1 / (1 + np.exp(-v))
                outs = []
                for t in range(seq.shape[1]):
                    x = seq[:, t]
                    i = self.gate("input", x, h, sig)
                    f = self.gate("forget", x, h, sig)
                    g = self.gate("cell", x, h, np.tanh)
                    o = self.gate("output", x, h, sig)
                    c = f * c + i * g
                    h = o * np.tanh(c)
                    outs.append(h)
                return np.stack(outs, 1), (h, c)

        def stacked_lstm_forward(x, layers, states=None):
            finals = []
            for k, layer in enumerate(layers):
                zeros = np.zeros((x.shape[0], layer["Wh"].shape[0]), x.dtype)
                h, c = (zeros, zeros) if states is None else states[k]
                x, final = GateLSTM(layer["Wx"], layer["Wh"], layer["b"])(x, h, c)
                finals.append(final)
            return x, finals
        ''', None, "per-gate weights, a layer class adapted by a function"),
    Post("numpy-clinic-rnn-init-normal", "clinic_rnn_init", '''
        import numpy as np

        def clinic_rnn_init(input_size, hidden_size, rng):
            scale = 1 / np.sqrt(hidden_size)
            return dict(Wx=rng.uniform(-scale, scale, (input_size, hidden_size)),
                        Wh=rng.uniform(-scale, scale, (hidden_size, hidden_size)),
                        b=np.zeros(hidden_size))
        ''', None, "PyTorch's range, not the book's normal"),
]
