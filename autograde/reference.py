"""Framework-backed references for the NumPy track, independent of `solutions`.

Each function has the signature of the exercise it stands in for, takes NumPy
arrays, runs torch.nn.RNN / torch.nn.LSTMCell in float64 with the book's weights
ported (a transpose; see CONTRACT.md) and returns NumPy arrays in the input dtype.
Gradients come from torch autograd. torch is imported on first use.
"""

import numpy as np


def _torch():
    import torch

    return torch


def _t(a):
    """NumPy -> float64 torch tensor that requires grad."""
    return _torch().tensor(np.array(a, dtype=np.float64, order="C"), requires_grad=True)


def _rnn_hs(x, h0, Wx, Wh, b):
    torch = _torch()
    I, H = Wx.shape
    rnn = torch.nn.RNN(I, H, batch_first=True, dtype=torch.float64)
    params = dict(weight_ih_l0=Wx.T, weight_hh_l0=Wh.T, bias_ih_l0=b, bias_hh_l0=0 * b)
    hs, _ = torch.func.functional_call(rnn, params, (x, h0[None]))
    return hs


def rnn_forward(x, h0, Wx, Wh, b):
    """hs (B, T, H) from torch.nn.RNN with the book's weights."""
    with _torch().no_grad():
        hs = _rnn_hs(*(_t(a) for a in (x, h0, Wx, Wh, b)))
    return hs.numpy().astype(x.dtype)


def rnn_step(x, h, Wx, Wh, b):
    """h_next (B, H): one step of torch.nn.RNN."""
    return rnn_forward(x[:, None], h, Wx, Wh, b)[:, 0]


def rnn_backward(dhs, x, h0, Wx, Wh, b):
    """Gradients of sum(dhs * hs) by torch autograd: dict x, h0, Wx, Wh, b."""
    args = {k: _t(a) for k, a in dict(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b).items()}
    hs = _rnn_hs(*args.values())
    hs.backward(_t(dhs).detach())
    return {k: a.grad.numpy().astype(x.dtype) for k, a in args.items()}


def _lstm_scan(x, h0, c0, Wx, Wh, b):
    """hs, cs (B, T, H) from torch.nn.LSTMCell stepped over time (to expose every c)."""
    torch = _torch()
    I, H4 = Wx.shape
    cell = torch.nn.LSTMCell(I, H4 // 4, dtype=torch.float64)
    params = dict(weight_ih=Wx.T, weight_hh=Wh.T, bias_ih=b, bias_hh=0 * b)
    hs, cs, state = [], [], (h0, c0)
    for t in range(x.shape[1]):
        state = torch.func.functional_call(cell, params, (x[:, t], state))
        hs.append(state[0])
        cs.append(state[1])
    return torch.stack(hs, 1), torch.stack(cs, 1)


def lstm_forward(x, h0, c0, Wx, Wh, b):
    """(hs, cs), each (B, T, H), from torch.nn.LSTMCell with the book's weights."""
    with _torch().no_grad():
        hs, cs = _lstm_scan(*(_t(a) for a in (x, h0, c0, Wx, Wh, b)))
    return hs.numpy().astype(x.dtype), cs.numpy().astype(x.dtype)


def lstm_step(x, h, c, Wx, Wh, b):
    """(h_next, c_next), each (B, H): one step of torch.nn.LSTMCell."""
    hs, cs = lstm_forward(x[:, None], h, c, Wx, Wh, b)
    return hs[:, 0], cs[:, 0]


def lstm_backward(dhs, x, h0, c0, Wx, Wh, b):
    """Gradients of sum(dhs * hs) by torch autograd: dict x, h0, c0, Wx, Wh, b."""
    args = {k: _t(a) for k, a in dict(x=x, h0=h0, c0=c0, Wx=Wx, Wh=Wh, b=b).items()}
    hs, _ = _lstm_scan(*args.values())
    hs.backward(_t(dhs).detach())
    return {k: a.grad.numpy().astype(x.dtype) for k, a in args.items()}


def stacked_lstm_forward(x, layers, states=None):
    """(hs, final_states) for a stack of layers, each run by `lstm_forward` above."""
    hs, final_states = x, []
    for k, layer in enumerate(layers):
        H = layer["Wh"].shape[0]
        h0, c0 = states[k] if states is not None else (np.zeros((x.shape[0], H), x.dtype),) * 2
        hs, cs = lstm_forward(hs, h0, c0, layer["Wx"], layer["Wh"], layer["b"])
        final_states.append((hs[:, -1], cs[:, -1]))
    return hs, final_states


def numerical_gradient(f, a, dout, eps=1e-6):
    """Centred finite differences of sum(dout * f()) with respect to the float64 array `a`.

    f takes no arguments and reads `a`, which is perturbed in place one entry at a time.
    """
    grad = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        old = a[idx]
        a[idx] = old + eps
        plus = np.sum(dout * f())
        a[idx] = old - eps
        minus = np.sum(dout * f())
        a[idx] = old
        grad[idx] = (plus - minus) / (2 * eps)
    return grad
