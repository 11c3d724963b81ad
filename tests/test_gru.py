"""Chapter 7's GRU: the NumPy and PyTorch solutions equal torch.nn.GRU, forward and backward,
in both dtypes; the checks name the GRU's usual mistakes, written as a learner writes them."""

import numpy as np
import pytest
import torch

from autograde import registry
from autograde.check import run_checks
from autograde.references.numpy_ref import numerical_gradient
from solutions import numpy_gru, torch_gru

TOL = {np.float64: 1e-12, np.float32: 2e-6}


def weights(rng, I, H, dtype):
    return dict(Wx=rng.uniform(-1, 1, (I, 3 * H)).astype(dtype),
                Wh=rng.uniform(-1, 1, (H, 3 * H)).astype(dtype),
                bx=rng.uniform(-1, 1, 3 * H).astype(dtype), bh=rng.uniform(-1, 1, 3 * H).astype(dtype))


def nn_gru(w, dtype):
    """torch.nn.GRU with the book's weights: weight_ih_l0 = Wx.T, ..."""
    I, H3 = w["Wx"].shape
    gru = torch.nn.GRU(I, H3 // 3, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        for name, key in (("weight_ih_l0", "Wx"), ("weight_hh_l0", "Wh")):
            getattr(gru, name).copy_(torch.from_numpy(w[key].astype(np.float64).T))
        gru.bias_ih_l0.copy_(torch.from_numpy(w["bx"].astype(np.float64)))
        gru.bias_hh_l0.copy_(torch.from_numpy(w["bh"].astype(np.float64)))
    return gru


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("B,T,I,H", [(1, 1, 2, 3), (3, 5, 4, 2), (2, 4, 3, 3)])
def test_numpy_gru_equals_nn_gru(dtype, B, T, I, H):
    rng = np.random.default_rng(B * 100 + T * 10 + I)
    w = weights(rng, I, H, dtype)
    x, h0 = rng.standard_normal((B, T, I)).astype(dtype), rng.standard_normal((B, H)).astype(dtype)
    dhs = rng.standard_normal((B, T, H)).astype(dtype)
    gru = nn_gru(w, dtype)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    ht = torch.tensor(h0, dtype=torch.float64, requires_grad=True)
    hs_ref, _ = gru(xt, ht[None])
    hs_ref.backward(torch.tensor(dhs, dtype=torch.float64))

    hs = numpy_gru.gru_forward(x, h0, **w)
    assert hs.dtype == dtype
    np.testing.assert_allclose(hs, hs_ref.detach().numpy(), atol=TOL[dtype])
    np.testing.assert_allclose(numpy_gru.gru_step(x[:, 0], h0, **w), hs_ref.detach().numpy()[:, 0],
                               atol=TOL[dtype])
    grads = numpy_gru.gru_backward(dhs, x, h0, **w)
    want = dict(x=xt.grad, h0=ht.grad, Wx=gru.weight_ih_l0.grad.T, Wh=gru.weight_hh_l0.grad.T,
                bx=gru.bias_ih_l0.grad, bh=gru.bias_hh_l0.grad)
    for k, v in want.items():
        assert grads[k].dtype == dtype, k
        np.testing.assert_allclose(grads[k], v.numpy(), atol=20 * TOL[dtype], err_msg=k)


def test_gru_backward_matches_finite_differences():
    rng = np.random.default_rng(7)
    w = weights(rng, 2, 3, np.float64)
    a = dict(x=rng.standard_normal((2, 3, 2)), h0=rng.standard_normal((2, 3)), **w)
    dhs = rng.standard_normal((2, 3, 3))
    grads = numpy_gru.gru_backward(dhs, **a)
    for k in a:
        numeric = numerical_gradient(lambda: numpy_gru.gru_forward(**a), a[k], dhs)
        np.testing.assert_allclose(grads[k], numeric, atol=1e-7, err_msg=k)


def test_numpy_gru_rejects_bad_shapes_by_name():
    rng = np.random.default_rng(0)
    w = weights(rng, 2, 3, np.float64)
    with pytest.raises(ValueError, match=r"Wh must have shape \(H, 3H\) = \(3, 9\); got \(9, 3\)"):
        numpy_gru.gru_forward(np.zeros((1, 2, 2)), np.zeros((1, 3)), w["Wx"], w["Wh"].T, w["bx"], w["bh"])
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, I\)"):
        numpy_gru.gru_forward(np.zeros((2, 2)), np.zeros((1, 3)), **w)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("batch_first", [False, True])
def test_torch_gru_loads_into_nn_gru_both_ways(dtype, batch_first):
    torch.manual_seed(0)
    ours = torch_gru.GRU(3, 4, batch_first=batch_first, dtype=dtype)
    theirs = torch.nn.GRU(3, 4, batch_first=batch_first, dtype=dtype)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(2, 5, 3, dtype=dtype) if batch_first else torch.randn(5, 2, 3, dtype=dtype)
    hx = torch.randn(1, 2, 4, dtype=dtype)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    for direction in range(2):
        if direction:  # and back: nn.GRU's fresh weights into ours
            theirs = torch.nn.GRU(3, 4, batch_first=batch_first, dtype=dtype)
            ours.load_state_dict(theirs.state_dict())
        ours.zero_grad()
        theirs.zero_grad()
        (out, h_n), (out_ref, h_ref) = ours(x, hx), theirs(x, hx)
        torch.testing.assert_close(out, out_ref, atol=tol, rtol=0)
        torch.testing.assert_close(h_n, h_ref, atol=tol, rtol=0)
        (out.square().sum() + h_n.sum()).backward()
        (out_ref.square().sum() + h_ref.sum()).backward()
        for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            torch.testing.assert_close(p.grad, q.grad, atol=10 * tol, rtol=0, msg=name)


def test_torch_gru_rejects_a_wrong_input_size():
    with pytest.raises(RuntimeError,
                       match=r"input must have shape \(T, B, I\) = \(\?, \?, 3\); got \(5, 2, 2\)"):
        torch_gru.GRU(3, 4)(torch.randn(5, 2, 2))


# What learners write: a correct GRU, then the same with one usual mistake each.

def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def learner_forward(x, h0, Wx, Wh, bx, bh, order="rzn", swap_z=False, reset_inside=False,
                    from_h0=False):
    hs, h = [], h0
    for t in range(x.shape[1]):
        state = h0 if from_h0 else h
        gx = np.split(x[:, t] @ Wx + bx, 3, axis=1)
        gh = np.split(state @ Wh + bh, 3, axis=1)
        blocks = {g: (gx[k], gh[k]) for k, g in enumerate(order)}
        r = sigmoid(sum(blocks["r"]))
        z = sigmoid(sum(blocks["z"]))
        if reset_inside:
            H = h0.shape[1]
            n = np.tanh(blocks["n"][0] + (r * state) @ Wh[:, 2 * H:] + bh[2 * H:])
        else:
            n = np.tanh(blocks["n"][0] + r * blocks["n"][1])
        h = z * n + (1 - z) * state if swap_z else (1 - z) * n + z * state
        hs.append(h)
    return np.stack(hs, axis=1).astype(x.dtype)


MISTAKES = [
    (dict(order="zrn"), "order is r, z, n"),
    (dict(swap_z=True), "z and 1 - z are swapped"),
    (dict(reset_inside=True), "the reset gate multiplies h before the product"),
    (dict(from_h0=True), "each step starts again from h0"),
]


# A single step has no loop to carry the state: the last mistake is a sequence's alone.
@pytest.mark.parametrize("exercise,mistake,named",
                         [("gru_forward", *m) for m in MISTAKES] + [("gru_step", *m) for m in MISTAKES[:3]])
def test_checks_name_the_usual_gru_mistakes(mistake, named, exercise):
    if exercise == "gru_step":
        def gru_step(x, h, Wx, Wh, bx, bh):
            return learner_forward(x[:, None], h, Wx, Wh, bx, bh, **mistake)[:, 0]
        obj = gru_step
    else:
        def gru_forward(x, h0, Wx, Wh, bx, bh):
            return learner_forward(x, h0, Wx, Wh, bx, bh, **mistake)
        obj = gru_forward
    for seed in range(3):
        report = run_checks(obj, registry.get(exercise), np.random.default_rng(seed))
        assert not report.passed
        assert named in report.summary(), report.summary()


def test_a_correct_gru_in_another_style_passes():
    def gru_forward(x, h0, Wx, Wh, bx, bh):
        return learner_forward(x, h0, Wx, Wh, bx, bh)

    for seed in range(3):
        assert run_checks(gru_forward, registry.get("gru_forward"), np.random.default_rng(seed)).passed


def test_gru_module_check_names_a_swapped_update_gate():
    class GRU(torch.nn.Module):  # a learner's module: nn.GRU's parameters, z and 1 - z swapped
        def __init__(self, input_size, hidden_size):
            super().__init__()
            k = hidden_size ** -0.5
            self.hidden_size = hidden_size
            self.weight_ih_l0 = torch.nn.Parameter(torch.empty(3 * hidden_size, input_size).uniform_(-k, k))
            self.weight_hh_l0 = torch.nn.Parameter(torch.empty(3 * hidden_size, hidden_size).uniform_(-k, k))
            self.bias_ih_l0 = torch.nn.Parameter(torch.empty(3 * hidden_size).uniform_(-k, k))
            self.bias_hh_l0 = torch.nn.Parameter(torch.empty(3 * hidden_size).uniform_(-k, k))

        def forward(self, x, h=None):
            h = x.new_zeros(1, x.shape[1], self.hidden_size) if h is None else h
            h, outs = h[0], []
            for x_t in x:
                r_x, z_x, n_x = (x_t @ self.weight_ih_l0.T + self.bias_ih_l0).chunk(3, dim=1)
                r_h, z_h, n_h = (h @ self.weight_hh_l0.T + self.bias_hh_l0).chunk(3, dim=1)
                r, z = torch.sigmoid(r_x + r_h), torch.sigmoid(z_x + z_h)
                n = torch.tanh(n_x + r * n_h)
                h = z * n + (1 - z) * h
                outs.append(h)
            return torch.stack(outs), h[None]

    report = run_checks(GRU, registry.get("GRU"), np.random.default_rng(0))
    assert not report.passed
    assert "z and 1 - z are swapped" in report.summary(), report.summary()
    assert run_checks(torch_gru.GRU, registry.get("GRU"), np.random.default_rng(0)).passed
