"""The bug clinic's posted LSTMs, each with its one bug fixed (chapter 51, `51_bug_clinic`).

Each function is the code as the chapter shows it posted, with the line that held the
bug corrected and a comment on that line saying what it was, so the solution reads as
a one-line diff of the broken version. Conventions as in the rest of the book: x (B, T, I)
or (B, I), states (B, H), Wx (I, 4H), Wh (H, 4H), b (4H,), gate blocks i, f, g, o.
"""

import math

import numpy as np
import torch
from torch import nn

from autograde.tfcompat import import_tf


def sigmoid(z):
    """Logistic function, written with tanh so it never overflows: 1 / (1 + exp(-z))."""
    return 0.5 * (np.tanh(0.5 * z) + 1)


def clinic_rnn_step(x, h, Wx, Wh, b):
    """One step of the simple RNN unit: x (B, I), h (B, H), Wx (I, H), Wh (H, H), b (H,).

    Returns h_next = tanh(x @ Wx + h @ Wh + b), (B, H).
    """
    return np.tanh(x @ Wx + h @ Wh + b)  # posted: x @ Wh + h @ Wx, which runs only if I == H


def clinic_rnn_init(input_size, hidden_size, rng):
    """The simple RNN's initial weights {"Wx" (I, H), "Wh" (H, H), "b" (H,)}.

    Wx, then Wh, drawn from N(0, 0.1^2) with `rng` (a np.random.Generator); b zeros.
    """
    return {"Wx": rng.normal(0, 0.1, (input_size, hidden_size)),
            "Wh": rng.normal(0, 0.1, (hidden_size, hidden_size)),
            "b": np.zeros(hidden_size)}  # posted: (batch_size, hidden_size), one batch size only


def clinic_lstm_init(input_size, hidden_size, rng):
    """The LSTM's initial weights {"Wx" (I, 4H), "Wh" (H, 4H), "b" (4H,)}, as PyTorch draws them.

    Wx, then Wh, then b, each uniform on [-1/sqrt(H), 1/sqrt(H)) with `rng`.
    """
    k = 1 / np.sqrt(hidden_size)  # posted: rng.uniform(size=...), on [0, 1): every gate open
    return {"Wx": rng.uniform(-k, k, (input_size, 4 * hidden_size)),
            "Wh": rng.uniform(-k, k, (hidden_size, 4 * hidden_size)),
            "b": rng.uniform(-k, k, 4 * hidden_size)}


def clinic_h_and_c(x, h, c, Wx, Wh, b):
    """One LSTM step: x (B, I), h and c (B, H). Returns (h_next, c_next), each (B, H)."""
    zi, zf, zg, zo = np.split(x @ Wx + h @ Wh + b, 4, axis=1)
    c_next = sigmoid(zf) * c + sigmoid(zi) * np.tanh(zg)
    h_next = sigmoid(zo) * np.tanh(c_next)  # posted: these two names the other way round
    return h_next, c_next


def clinic_last_step(x, h0, c0, Wx, Wh, b):
    """An LSTM over a sequence: x (B, T, I), h0 and c0 (B, H). Returns (hs, cs), each (B, T, H)."""
    B, T, _ = x.shape
    hs = np.zeros((B, T, h0.shape[1]), x.dtype)
    cs = np.zeros_like(hs)
    h, c = h0, c0
    for t in range(T):  # posted: range(T - 1), so the last step was never computed
        zi, zf, zg, zo = np.split(x[:, t] @ Wx + h @ Wh + b, 4, axis=1)
        c = sigmoid(zf) * c + sigmoid(zi) * np.tanh(zg)
        h = sigmoid(zo) * np.tanh(c)
        hs[:, t], cs[:, t] = h, c
    return hs, cs


def clinic_h_from_c(x, h, c, Wx, Wh, b):
    """One LSTM step: x (B, I), h and c (B, H). Returns (h_next, c_next), each (B, H)."""
    zi, zf, zg, zo = np.split(x @ Wx + h @ Wh + b, 4, axis=1)
    g = np.tanh(zg)
    c_next = sigmoid(zf) * c + sigmoid(zi) * g
    h_next = sigmoid(zo) * np.tanh(c_next)  # posted: np.tanh(g), the candidate
    return h_next, c_next


def clinic_initial_state(x, h0, c0, Wx, Wh, b):
    """An LSTM over a sequence from the state (h0, c0): x (B, T, I), h0 and c0 (B, H).

    Returns (hs, cs), each (B, T, H).
    """
    hs, cs = [], []
    h, c = h0, c0  # posted: np.zeros((B, H)) for both, whatever state it was given
    for t in range(x.shape[1]):
        zi, zf, zg, zo = np.split(x[:, t] @ Wx + h @ Wh + b, 4, axis=1)
        c = sigmoid(zf) * c + sigmoid(zi) * np.tanh(zg)
        h = sigmoid(zo) * np.tanh(c)
        hs.append(h)
        cs.append(c)
    return np.stack(hs, axis=1), np.stack(cs, axis=1)


class NaiveLSTMParameters(nn.Module):
    """The parameters of the classic hand-written PyTorch LSTM, and its gates' inputs.

    For each gate k in i, f, g, o: W_ik (H, I) and b_ik (H,) act on the input x_t, W_hk (H, H)
    and b_hk (H,) on h_{t-1}; all drawn as PyTorch draws them, uniform on [-1/sqrt(H), 1/sqrt(H)).
    """

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        for k in "ifgo":
            setattr(self, f"W_i{k}", nn.Parameter(torch.empty(hidden_size, input_size)))
            setattr(self, f"W_h{k}", nn.Parameter(torch.empty(hidden_size, hidden_size)))
            setattr(self, f"b_i{k}", nn.Parameter(torch.empty(hidden_size)))
            setattr(self, f"b_h{k}", nn.Parameter(torch.empty(hidden_size)))
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def gate(self, k, x_t, h):
        """The pre-activation of gate k: x_t W_ik^T + b_ik + h W_hk^T + b_hk, (B, H)."""
        W_i, b_i, W_h, b_h = (getattr(self, f"{name}{k}") for name in ("W_i", "b_i", "W_h", "b_h"))
        return x_t @ W_i.T + b_i + h @ W_h.T + b_h


class ClinicNaiveLSTM(NaiveLSTMParameters):
    """The classic hand-written PyTorch LSTM (parameters: NaiveLSTMParameters).

    forward(x, state=None): x (B, T, I); state (h0, c0), each (B, H), or None for zeros.
    Returns (hs, (h_T, c_T)): hs (B, T, H).
    """

    def forward(self, x, state=None):
        B, T, _ = x.shape  # posted: seq_size = 1, so only x[:, 0] was ever read
        h, c = (x.new_zeros(B, self.hidden_size),) * 2 if state is None else state
        hs = []
        for t in range(T):
            x_t = x[:, t]
            i, f, o = (torch.sigmoid(self.gate(k, x_t, h)) for k in "ifo")
            c = f * c + i * torch.tanh(self.gate("g", x_t, h))
            h = o * torch.tanh(c)
            hs.append(h)
        return torch.stack(hs, dim=1), (h, c)


def clinic_layer_cells(num_units, num_layers):
    """The cells of a TF1 MultiRNNCell: a list of num_layers new LSTMCell(num_units)."""
    rnn_cell = import_tf().compat.v1.nn.rnn_cell
    return [rnn_cell.LSTMCell(num_units) for _ in range(num_layers)]  # posted: [cell] * n


def clinic_test_weights(input_size, hidden_size):
    """Weights (Wx (I, 4H), Wh (H, 4H), b (4H,)) for comparing an LSTM with torch's.

    Random, so that every gate block differs (posted: all 0.5, which makes the four gate
    blocks equal, so that no gate order can be told from another).
    """
    rng = np.random.default_rng(0)
    H4 = 4 * hidden_size
    return (rng.uniform(-1, 1, (input_size, H4)), rng.uniform(-1, 1, (hidden_size, H4)),
            rng.uniform(-1, 1, H4))


class ClinicCarryLSTM(NaiveLSTMParameters):
    """A hand-written PyTorch LSTM (parameters: NaiveLSTMParameters).

    forward(x, state=None): x (B, T, I); state (h0, c0), each (B, H), or None for zeros.
    Returns (hs, (h_T, c_T)): hs (B, T, H).
    """

    def forward(self, x, state=None):
        B, T, _ = x.shape
        h, c = (x.new_zeros(B, self.hidden_size),) * 2 if state is None else state
        hs = []
        for t in range(T):
            x_t = x[:, t]
            i, f, o = (torch.sigmoid(self.gate(k, x_t, h)) for k in "ifo")
            c_next = f * c + i * torch.tanh(self.gate("g", x_t, h))
            h_next = o * torch.tanh(c_next)
            hs.append(h_next)
            h, c = h_next, c_next  # posted: missing, so every step started again from h0, c0
        return torch.stack(hs, dim=1), (h_next, c_next)


def clinic_c_from_h(x, h, c, Wx, Wh, b):
    """One LSTM step: x (B, I), h and c (B, H). Returns (h_next, c_next), each (B, H)."""
    zi, zf, zg, zo = np.split(x @ Wx + h @ Wh + b, 4, axis=1)
    c_next = sigmoid(zf) * c + sigmoid(zi) * np.tanh(zg)  # posted: sigmoid(zf) * h, not c
    h_next = sigmoid(zo) * np.tanh(c_next)
    return h_next, c_next


def clinic_tf1_weights(x, state, num_units, forget_bias=1.0):
    """One step of a TF1 LSTM cell: x (B, I), state (c, h), each (B, H). Returns (h, (c, h)).

    Variables: kernel (I + H, 4H), its first I rows for x and its last H rows for h, and
    bias (4H,), zeros; gate blocks in TF's order i, j, f, o.
    """
    tf = import_tf()
    v1 = tf.compat.v1
    c_prev, h_prev = state
    I, H = x.shape[-1], num_units
    kernel = v1.get_variable("kernel", [I + H, 4 * H], dtype=x.dtype)
    bias = v1.get_variable("bias", [4 * H], dtype=x.dtype, initializer=v1.zeros_initializer())
    W_x, W_h = kernel[:I], kernel[I:]  # input weights (I, 4H), recurrent weights (H, 4H)
    z = tf.matmul(x, W_x) + tf.matmul(h_prev, W_h) + bias  # posted: x @ W_h + h_prev @ W_x
    i, j, f, o = tf.split(z, 4, axis=1)
    c = tf.sigmoid(f + forget_bias) * c_prev + tf.sigmoid(i) * tf.tanh(j)
    h = tf.sigmoid(o) * tf.tanh(c)
    return h, (c, h)


def clinic_tf1_squeeze(inputs, num_units, initial_state=None, forget_bias=1.0):
    """A TF1 LSTM unrolled over inputs (B, T, I), T known: returns (outputs (B, T, H), (c, h)).

    Variables: kernel (I + H, 4H) and bias (4H,), zeros; gate blocks i, j, f, o.
    initial_state: (c0, h0), each (B, H), or None for zeros.
    """
    tf = import_tf()
    v1 = tf.compat.v1
    T, I = inputs.shape[1], inputs.shape[2]
    H = num_units
    kernel = v1.get_variable("kernel", [I + H, 4 * H], dtype=inputs.dtype)
    bias = v1.get_variable("bias", [4 * H], dtype=inputs.dtype,
                           initializer=v1.zeros_initializer())
    if initial_state is None:
        c = h = tf.zeros(tf.stack([tf.shape(inputs)[0], H]), dtype=inputs.dtype)
    else:
        c, h = initial_state
    outputs = []
    for x_t in tf.split(inputs, T, axis=1):
        x_t = tf.squeeze(x_t, axis=1)  # posted: tf.squeeze(x_t), which at B = 1 drops B too
        z = tf.matmul(tf.concat([x_t, h], axis=1), kernel) + bias
        i, j, f, o = tf.split(z, 4, axis=1)
        c = tf.sigmoid(f + forget_bias) * c + tf.sigmoid(i) * tf.tanh(j)
        h = tf.sigmoid(o) * tf.tanh(c)
        outputs.append(h)
    return tf.stack(outputs, axis=1), (c, h)
