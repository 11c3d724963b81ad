"""torch references for the NumPy solutions' tests, written here independently of
autograde.references: each builds the torch module, copies the book's weights into its
parameters (a transpose, see book/91_conventions.ipynb) and runs it in float64;
gradients come from torch autograd. Shared by tests/test_numpy_solutions.py and
tests/test_bench_per_step.py."""

import numpy as np
import torch

TOL = {np.float32: 1e-5, np.float64: 1e-10}


def assert_close(got, want, tol, dtype):
    """got has dtype `dtype` and |got - want| <= tol * (1 + |want|) everywhere."""
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    assert type(got) is np.ndarray, f"got a {type(got).__name__}"
    assert got.dtype == dtype, f"got dtype {got.dtype}; expected {np.dtype(dtype)}"
    assert got.shape == want.shape
    err = np.abs(got.astype(np.float64) - want) / (1 + np.abs(want))
    assert err.max(initial=0) <= tol, f"largest relative error {err.max():.3g} > {tol:g}"


def random_arrays(rng, dtype, **shapes):
    return {k: rng.uniform(-1, 1, size=s).astype(dtype) for k, s in shapes.items()}


def t64(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# ---------------------------------------------------------------------------------------
# torch references with ported weights


def torch_rnn(Wx, Wh, b):
    """torch.nn.RNN (float64, batch_first) holding the book's weights."""
    I, H = Wx.shape
    rnn = torch.nn.RNN(I, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(t64(Wx).T)
        rnn.weight_hh_l0.copy_(t64(Wh).T)
        rnn.bias_ih_l0.copy_(t64(b))
        rnn.bias_hh_l0.zero_()
    return rnn


def torch_lstm(Wx, Wh, b, num_layers=1):
    """torch.nn.LSTM (float64, batch_first) holding the book's weights (gate order i, f, g, o).

    With num_layers > 1, Wx, Wh and b are lists, one per layer.
    """
    layers = list(zip(Wx, Wh, b, strict=True)) if num_layers > 1 else [(Wx, Wh, b)]
    lstm = torch.nn.LSTM(layers[0][0].shape[0], layers[0][1].shape[0], num_layers=num_layers,
                         batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        for k, (wx, wh, bias) in enumerate(layers):
            getattr(lstm, f"weight_ih_l{k}").copy_(t64(wx).T)
            getattr(lstm, f"weight_hh_l{k}").copy_(t64(wh).T)
            getattr(lstm, f"bias_ih_l{k}").copy_(t64(bias))
            getattr(lstm, f"bias_hh_l{k}").zero_()
    return lstm


def rnn_args(rng, dtype, B, T, I, H):
    return random_arrays(rng, dtype, x=(B, T, I), h0=(B, H), Wx=(I, H), Wh=(H, H), b=(H,))


def lstm_args(rng, dtype, B, T, I, H):
    return random_arrays(rng, dtype, x=(B, T, I), h0=(B, H), c0=(B, H), Wx=(I, 4 * H),
                         Wh=(H, 4 * H), b=(4 * H,))


def torch_lstm_states(a):
    """hs and cs (B, T, H) from torch.nn.LSTM, stepped one timestep per call to expose each c."""
    lstm = torch_lstm(a["Wx"], a["Wh"], a["b"])
    state, hs, cs = (t64(a["h0"])[None], t64(a["c0"])[None]), [], []
    with torch.no_grad():
        for t in range(a["x"].shape[1]):
            _, state = lstm(t64(a["x"][:, t:t + 1]), state)
            hs.append(state[0][0])
            cs.append(state[1][0])
    return torch.stack(hs, 1), torch.stack(cs, 1)


def rnn_autograd(a, dhs):
    rnn = torch_rnn(a["Wx"], a["Wh"], a["b"])
    x, h0 = t64(a["x"], grad=True), t64(a["h0"], grad=True)
    hs, _ = rnn(x, h0[None])
    hs.backward(t64(dhs))
    return {"x": x.grad, "h0": h0.grad, "Wx": rnn.weight_ih_l0.grad.T,
            "Wh": rnn.weight_hh_l0.grad.T, "b": rnn.bias_ih_l0.grad}


def lstm_autograd(a, dhs):
    lstm = torch_lstm(a["Wx"], a["Wh"], a["b"])
    x, h0, c0 = (t64(a[k], grad=True) for k in ("x", "h0", "c0"))
    hs, _ = lstm(x, (h0[None], c0[None]))
    hs.backward(t64(dhs))
    return {"x": x.grad, "h0": h0.grad, "c0": c0.grad, "Wx": lstm.weight_ih_l0.grad.T,
            "Wh": lstm.weight_hh_l0.grad.T, "b": lstm.bias_ih_l0.grad}
