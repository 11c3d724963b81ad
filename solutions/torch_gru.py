"""A GRU in PyTorch, from scratch, with torch.nn.GRU's parameters (one layer, one direction).

The same equations as `solutions.numpy_gru`, in torch's (out, in) layout: the row blocks of
weight_ih_l0 (3H, I) and weight_hh_l0 (3H, H) are r, z, n, and the reset gate scales the
recurrent half of the candidate with its bias, n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).
"""

import math

import torch
from torch import Tensor, nn

from solutions.torch_lstm import expect_tensor


class GRU(nn.Module):
    """A from-scratch GRU whose state dict loads into torch.nn.GRU(I, H) and back.

    GRU(input_size, hidden_size, batch_first=False, device=None, dtype=None).
    Parameters: weight_ih_l0 (3H, I), weight_hh_l0 (3H, H), bias_ih_l0 and bias_hh_l0
    (3H,), initialised from U(-1/sqrt(H), 1/sqrt(H)) as nn.GRU's are.
    forward(input, hx=None) -> (output, h_n):
      input  (T, B, I), or (B, T, I) when batch_first.
      hx     (1, B, H), or None for zeros.
      output (T, B, H), or (B, T, H) when batch_first: h after every step.
      h_n    (1, B, H): the last h.
    A wrong shape raises ShapeError (a ValueError and a RuntimeError, like nn.GRU's errors).
    """

    def __init__(self, input_size, hidden_size, batch_first=False, device=None, dtype=None):
        super().__init__()
        if not (isinstance(input_size, int) and isinstance(hidden_size, int)
                and input_size > 0 and hidden_size > 0):
            raise ValueError(f"input_size and hidden_size must be positive integers; "
                             f"got {input_size!r} and {hidden_size!r}")
        self.input_size, self.hidden_size, self.batch_first = input_size, hidden_size, batch_first
        H3 = 3 * hidden_size

        def parameter(*shape):
            return nn.Parameter(torch.empty(shape, device=device, dtype=dtype))

        self.weight_ih_l0 = parameter(H3, input_size)
        self.weight_hh_l0 = parameter(H3, hidden_size)
        self.bias_ih_l0 = parameter(H3)
        self.bias_hh_l0 = parameter(H3)
        bound = 1 / math.sqrt(hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, input: Tensor, hx: Tensor | None = None):
        x = input.transpose(0, 1) if self.batch_first else input  # time-major from here
        expect_tensor("input", x, (None, None, self.input_size), "T, B, I")
        T, B, _ = x.shape
        H = self.hidden_size
        if hx is None:
            hx = x.new_zeros(1, B, H)
        expect_tensor("hx", hx, (1, B, H), "1, B, H")
        a = x @ self.weight_ih_l0.T + self.bias_ih_l0  # (T, B, 3H): every step's input half
        h, outputs = hx[0], []
        for t in range(T):
            u = h @ self.weight_hh_l0.T + self.bias_hh_l0
            r = torch.sigmoid(a[t, :, :H] + u[:, :H])
            z = torch.sigmoid(a[t, :, H:2 * H] + u[:, H:2 * H])
            n = torch.tanh(a[t, :, 2 * H:] + r * u[:, 2 * H:])
            h = (1 - z) * n + z * h
            outputs.append(h)
        output = torch.stack(outputs)
        return (output.transpose(0, 1) if self.batch_first else output), h[None]

