"""Posted code whose tensors' dtypes disagree (PyTorch and NumPy): see tests/posted/__init__.py.

The exercises' float64 cases pass float64 inputs; a state or constant made without a dtype
(`torch.zeros(1, H)`, `torch.ones(H)`) is float32, and PyTorch refuses the product. The
diagnosis must say which tensor it is and where it came from, not just repeat PyTorch.
"""

from tests.posted import Post

_NAIVE = '''
import math
import torch
import torch.nn as nn


class NaiveLSTM(nn.Module):
    """LSTM from scratch, one weight per gate (W_i* act on x, W_h* on h)."""

    def __init__(self, input_sz, hidden_sz):
        super().__init__()
        self.input_size, self.hidden_size = input_sz, hidden_sz
        for g in "ifgo":
            setattr(self, "W_i" + g, nn.Parameter(torch.Tensor(hidden_sz, input_sz)))
            setattr(self, "W_h" + g, nn.Parameter(torch.Tensor(hidden_sz, hidden_sz)))
            setattr(self, "b_i" + g, nn.Parameter(torch.Tensor(hidden_sz)))
            setattr(self, "b_h" + g, nn.Parameter(torch.Tensor(hidden_sz)))
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            weight.data.uniform_(-stdv, stdv)

    def gate(self, g, x_t, h_t):
        return (x_t @ getattr(self, "W_i" + g).t() + getattr(self, "b_i" + g)
                + h_t @ getattr(self, "W_h" + g).t() + getattr(self, "b_h" + g))

    def forward(self, x, init_states=None):
        bs, seq_sz, _ = x.size()
        hidden_seq = []
        if init_states is None:
            {default}
        else:
            h_t, c_t = init_states
        for t in range(seq_sz):
            x_t = x[:, t, :]
            i_t = torch.sigmoid(self.gate("i", x_t, h_t))
            f_t = torch.sigmoid(self.gate("f", x_t, h_t){forget})
            g_t = torch.tanh(self.gate("g", x_t, h_t))
            o_t = torch.sigmoid(self.gate("o", x_t, h_t))
            c_t = f_t * c_t + i_t * g_t
            h_t = o_t * torch.tanh(c_t)
            hidden_seq.append(h_t)
        return torch.stack(hidden_seq, dim=1), (h_t, c_t)
'''


def _naive(default="h_t, c_t = (torch.zeros(bs, self.hidden_size, dtype=x.dtype),\n"
                   "                        torch.zeros(bs, self.hidden_size, dtype=x.dtype))",
           forget=""):
    return _NAIVE.replace("{default}", default).replace("{forget}", forget)


POSTS = [
    Post("torch-naive-default-state-float32", "NaiveLSTM",
         _naive(default="h_t, c_t = (torch.zeros(1, self.hidden_size),\n"
                        "                        torch.zeros(1, self.hidden_size))"),
         "the initial state is float32 (torch.zeros(1, H) makes float32)",
         "default state torch.zeros(1, H), float32, with float64 input"),
    Post("torch-naive-float32-constant", "NaiveLSTM",
         _naive(forget=" * torch.ones(self.hidden_size)").replace(
             "f_t = torch.sigmoid(self.gate(\"f\", x_t, h_t) * torch.ones(self.hidden_size))",
             "f_t = torch.sigmoid(self.gate(\"f\", x_t, h_t)) @ torch.eye(self.hidden_size)"),
         "a tensor made without a dtype is float32",
         "torch.eye(H) (float32) in a float64 model"),
    Post("numpy-rnn-int-accumulator", "rnn_forward", '''
import numpy as np


def rnn_forward(x, h0, Wx, Wh, b):
    B, T, _ = x.shape
    hs = np.zeros((B, T, h0.shape[1]), dtype=x.dtype)
    h = h0
    for t in range(T):
        a = np.zeros(h.shape, dtype=int)     # pre-activation
        a += x[:, t] @ Wx
        a += h @ Wh + b
        h = np.tanh(a)
        hs[:, t] = h
    return hs
''', "writes float64 values into an array of dtype int64",
         "an int accumulator updated in place"),
    Post("torch-naive-default-state-right", "NaiveLSTM", _naive(), None,
         "default state made with x's dtype"),
]
