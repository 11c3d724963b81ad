"""solutions.torch_lstm against torch.nn.LSTM itself: outputs, states and gradients."""

import itertools
import warnings

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from solutions.torch_lstm import (
    LSTM,
    LearnableInitLSTM,
    NaiveLSTM,
    fused_lstm_cell,
    lstm_layer,
    masked_lstm_layer,
)

F64 = torch.float64
ATOL = 1e-10
I, H = 3, 4


def pair(**config):
    """(nn.LSTM, ours) in float64 with the same random weights (copied from nn.LSTM's init)."""
    torch.manual_seed(0)
    ref = nn.LSTM(I, H, dtype=F64, **config)
    ours = LSTM(I, H, dtype=F64, **config)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def run(module, x, hx, upstream, **kwargs):
    """Forward and backward with fixed upstream gradients; returns (output, h_n, c_n, grads).

    grads: name -> gradient of x, of h0 and c0 (when hx is given) and of every parameter.
    """
    x = x.detach().clone().requires_grad_()
    if hx is not None:
        hx = tuple(s.detach().clone().requires_grad_() for s in hx)
    module.zero_grad()
    output, (h_n, c_n) = module(x, hx, **kwargs)
    d_out, d_h, d_c = upstream
    (torch.sum(d_out * output) + torch.sum(d_h * h_n) + torch.sum(d_c * c_n)).backward()
    grads = {"x": x.grad, **{f"param {n}": p.grad for n, p in module.named_parameters()}}
    if hx is not None:
        grads["h0"], grads["c0"] = hx[0].grad, hx[1].grad
    return output, h_n, c_n, grads


def assert_close(name, got, want, atol=ATOL):
    assert got.shape == want.shape, f"{name}: shape {tuple(got.shape)} != {tuple(want.shape)}"
    assert got.dtype == want.dtype, f"{name}: dtype {got.dtype} != {want.dtype}"
    err = (got - want).abs().max().item() if got.numel() else 0.0
    assert err <= atol, f"{name}: max abs error {err:.3g} > {atol:g}"


def assert_same_run(a, b, atol=ATOL):
    for name, x, y in zip(("output", "h_n", "c_n"), a[:3], b[:3], strict=True):
        assert_close(name, x, y, atol)
    assert a[3].keys() == b[3].keys()
    for name in a[3]:
        assert_close(f"gradient of {name}", a[3][name], b[3][name], atol)


def random_inputs(config, B, T, with_hx, dtype=F64):
    """x, hx and upstream gradients for an LSTM with this config."""
    g = torch.Generator().manual_seed(B * 100 + T)
    D = 2 if config.get("bidirectional") else 1
    L = config.get("num_layers", 1)
    shape = (B, T, I) if config.get("batch_first") else (T, B, I)
    x = torch.randn(shape, generator=g, dtype=dtype)
    hx = tuple(torch.randn(L * D, B, H, generator=g, dtype=dtype) for _ in range(2)) \
        if with_hx else None
    out_shape = shape[:2] + (D * H,)
    upstream = (torch.randn(out_shape, generator=g, dtype=dtype),
                torch.randn(L * D, B, H, generator=g, dtype=dtype),
                torch.randn(L * D, B, H, generator=g, dtype=dtype))
    return x, hx, upstream


GRID = list(itertools.product([1, 2, 3], [True, False], [True, False], [True, False],
                              [True, False], [1, 5], [1, 7]))


@pytest.mark.parametrize("num_layers, bias, batch_first, bidirectional, with_hx, B, T", GRID)
def test_equals_nn_lstm(num_layers, bias, batch_first, bidirectional, with_hx, B, T):
    config = dict(num_layers=num_layers, bias=bias, batch_first=batch_first,
                  bidirectional=bidirectional)
    ref, ours = pair(**config)
    x, hx, upstream = random_inputs(config, B, T, with_hx)
    assert_same_run(run(ours, x, hx, upstream), run(ref, x, hx, upstream))


def test_parameters_have_nn_lstm_names_shapes_and_order():
    for config in (dict(), dict(num_layers=3, bidirectional=True), dict(num_layers=2, bias=False)):
        ref, ours = pair(**config)
        assert [(n, p.shape) for n, p in ours.named_parameters()] == \
            [(n, p.shape) for n, p in ref.named_parameters()]


def test_load_state_dict_both_ways():
    config = dict(num_layers=2, bidirectional=True, batch_first=True)
    ref = nn.LSTM(I, H, dtype=F64, **config)
    ours = LSTM(I, H, dtype=F64, **config)
    ours.load_state_dict(ref.state_dict())  # nn.LSTM -> ours
    x, hx, upstream = random_inputs(config, 2, 5, True)
    assert_same_run(run(ours, x, hx, upstream), run(ref, x, hx, upstream))
    ours.reset_parameters()
    ref.load_state_dict(ours.state_dict())  # ours -> nn.LSTM
    assert_same_run(run(ours, x, hx, upstream), run(ref, x, hx, upstream))


def test_reset_parameters_is_uniform_within_one_over_sqrt_h():
    torch.manual_seed(1)
    lstm = LSTM(I, 25, num_layers=2, bidirectional=True)
    for name, p in lstm.named_parameters():
        assert p.abs().max() <= 1 / 5, name
        assert p.std() > 0.8 * (2 / 5) / np.sqrt(12), name  # uniform(-a, a) has std a / sqrt(3)


def test_float32_keeps_dtype_and_matches():
    config = dict(num_layers=2, bidirectional=True)
    torch.manual_seed(0)
    ref, ours = nn.LSTM(I, H, **config), LSTM(I, H, **config)
    ours.load_state_dict(ref.state_dict())
    x, hx, upstream = random_inputs(config, 3, 4, True, dtype=torch.float32)
    a, b = run(ours, x, hx, upstream), run(ref, x, hx, upstream)
    assert a[0].dtype == torch.float32
    assert_same_run(a, b, atol=1e-5)


def test_unbatched_input():
    ref, ours = pair(num_layers=2, bidirectional=True)
    x = torch.randn(6, I, dtype=F64)
    hx = (torch.randn(4, H, dtype=F64), torch.randn(4, H, dtype=F64))
    for state in (None, hx):
        a, b = ours(x, state), ref(x, state)
        assert_close("output", a[0], b[0])
        assert_close("h_n", a[1][0], b[1][0])
        assert_close("c_n", a[1][1], b[1][1])


def test_dropout_in_eval_mode_is_off():
    ref, ours = pair(num_layers=3, dropout=0.5, bidirectional=True)
    ref.eval()
    ours.eval()
    x, hx, upstream = random_inputs(dict(num_layers=3, bidirectional=True), 4, 5, True)
    assert_same_run(run(ours, x, hx, upstream), run(ref, x, hx, upstream))


def test_dropout_zero_in_training_mode_changes_nothing():
    ref, ours = pair(num_layers=2, dropout=0.0)
    x, hx, upstream = random_inputs(dict(num_layers=2), 4, 5, True)
    assert ours.training and ref.training
    assert_same_run(run(ours, x, hx, upstream), run(ref, x, hx, upstream))


def test_dropout_in_training_mode_has_nn_lstms_expectation():
    """Many independent dropout masks at once: one sequence repeated over a big batch."""
    p, N = 0.5, 4000
    ref, ours = pair(num_layers=2, dropout=p)
    x = torch.randn(4, 1, I, dtype=F64, generator=torch.Generator().manual_seed(0))
    x = x.expand(-1, N, -1)
    torch.manual_seed(0)
    with torch.no_grad():
        a, b = ours(x)[0], ref(x)[0]  # (T, N, H): N samples of the output
        eval_out = ours.eval()(x[:, :1])[0]
    mean_a, mean_b = a.mean(1), b.mean(1)
    stderr = torch.sqrt((a.var(1) + b.var(1)) / N)
    z = ((mean_a - mean_b) / stderr).abs().max().item()
    assert z < 4.5, f"mean outputs differ by {z:.2f} standard errors"
    # Dropout is on: the samples vary about as much as nn.LSTM's and differ from eval mode.
    ratio = (a.var(1) / b.var(1)).mean().item()
    assert 0.8 < ratio < 1.25, f"variance ratio {ratio:.3f}"
    assert (a[:, :10] - eval_out).abs().max() > 1e-3
    # Dropout acts between layers only: the first layer's output would be exact in eval.
    single_ref = nn.LSTM(I, H, dtype=F64)
    with pytest.warns(UserWarning, match="dropout"):
        single = LSTM(I, H, dropout=p, dtype=F64)
    single.load_state_dict(single_ref.state_dict())
    assert_close("1 layer", single(x[:, :3])[0], single_ref(x[:, :3])[0])


def test_dropout_with_one_layer_warns_as_nn_lstm():
    with pytest.warns(UserWarning, match="dropout"):
        LSTM(I, H, num_layers=1, dropout=0.3)


def packed_batch(B=5, T=6, batch_first=False, enforce_sorted=False, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, T + 1, (B,), generator=g)
    lengths[int(torch.randint(0, B, (1,), generator=g))] = T
    if enforce_sorted:
        lengths = lengths.sort(descending=True).values
    x = torch.randn((B, T, I) if batch_first else (T, B, I), generator=g, dtype=F64)
    return x, lengths


@pytest.mark.parametrize("num_layers, bidirectional, batch_first, enforce_sorted, with_hx", [
    (1, False, False, False, False), (1, True, True, False, True), (2, True, False, True, True),
    (3, True, True, False, False), (2, False, True, True, True)])
def test_packed_sequence_equals_nn_lstm(num_layers, bidirectional, batch_first, enforce_sorted,
                                        with_hx):
    config = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    ref, ours = pair(**config)
    x, lengths = packed_batch(batch_first=batch_first, enforce_sorted=enforce_sorted)
    _, hx, (_, d_h, d_c) = random_inputs(config, 5, 6, with_hx)
    results = []
    for module in (ours, ref):
        x_leaf = x.clone().requires_grad_()
        hx_leaf = tuple(s.clone().requires_grad_() for s in hx) if with_hx else None
        packed = pack_padded_sequence(x_leaf, lengths, batch_first=batch_first,
                                      enforce_sorted=enforce_sorted)
        module.zero_grad()
        out, (h_n, c_n) = module(packed, hx_leaf)
        assert torch.equal(out.batch_sizes, packed.batch_sizes)
        for a, b in ((out.sorted_indices, packed.sorted_indices),
                     (out.unsorted_indices, packed.unsorted_indices)):
            assert (a is None and b is None) or torch.equal(a, b)
        d_out = torch.linspace(-1, 1, out.data.numel(), dtype=F64).reshape(out.data.shape)
        (torch.sum(d_out * out.data) + torch.sum(d_h * h_n) + torch.sum(d_c * c_n)).backward()
        grads = {"x": x_leaf.grad, **{n: p.grad for n, p in module.named_parameters()}}
        if with_hx:
            grads["h0"], grads["c0"] = hx_leaf[0].grad, hx_leaf[1].grad
        results.append((out.data, h_n, c_n, grads))
    assert_same_run(*results)


@pytest.mark.parametrize("batch_first", [False, True])
def test_lengths_on_a_padded_tensor_equal_nn_lstm_on_the_packed_one(batch_first):
    config = dict(num_layers=2, bidirectional=True, batch_first=batch_first)
    ref, ours = pair(**config)
    x, lengths = packed_batch(batch_first=batch_first, seed=3)
    out, (h_n, c_n) = ours(x, lengths=lengths)
    packed_out, (h_ref, c_ref) = ref(pack_padded_sequence(x, lengths, batch_first=batch_first,
                                                          enforce_sorted=False))
    out_ref, _ = pad_packed_sequence(packed_out, batch_first=batch_first,
                                     total_length=x.shape[1 if batch_first else 0])
    assert_close("output", out, out_ref)  # zeros past each sequence's end, as nn.LSTM's
    assert_close("h_n", h_n, h_ref)
    assert_close("c_n", c_n, c_ref)


def test_final_state_is_each_sequences_own_last_step():
    _, ours = pair(num_layers=1)
    x, lengths = packed_batch(B=4, T=6, seed=5)
    _, (h_n, _) = ours(x, lengths=lengths)
    for b, n in enumerate(lengths.tolist()):
        out_b, (h_b, _) = ours(x[:n, b:b + 1])  # the sequence alone, without padding
        assert_close(f"sequence {b}", h_n[:, b], h_b[:, 0])


class _Forbidden:
    def __getattr__(self, name):
        raise AssertionError(f"torch._VF.{name} was called")


def test_never_calls_nn_lstm_torch_lstm_or_vf(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("a forbidden LSTM kernel was called")

    config = dict(num_layers=2, bidirectional=True, dropout=0.3)
    _, ours = pair(**config)
    x, lengths = packed_batch(seed=7)
    packed = pack_padded_sequence(x.requires_grad_(), lengths, enforce_sorted=False)
    monkeypatch.setattr(torch._VF, "vf", _Forbidden())
    monkeypatch.setattr(torch, "lstm", forbidden)
    monkeypatch.setattr(torch, "lstm_cell", forbidden)
    monkeypatch.setattr(nn.LSTM, "forward", forbidden)
    for inputs in ((x,), (x, None, lengths), (packed,)):
        out = ours(*inputs)[0]
        (out.data if isinstance(out, PackedSequence) else out).sum().backward()
    with pytest.raises(AssertionError):  # the patch does catch torch._VF
        torch._VF.lstm()


def test_naive_lstm_equals_nn_lstm_with_both_biases():
    torch.manual_seed(2)
    naive = NaiveLSTM(I, H).double()
    ref = nn.LSTM(I, H, batch_first=True, dtype=F64)
    gates = "ifgo"
    with torch.no_grad():  # nn.LSTM stacks the gates' blocks in the order i, f, g, o
        ref.weight_ih_l0.copy_(torch.cat([getattr(naive, f"W_i{k}") for k in gates]))
        ref.weight_hh_l0.copy_(torch.cat([getattr(naive, f"W_h{k}") for k in gates]))
        ref.bias_ih_l0.copy_(torch.cat([getattr(naive, f"b_i{k}") for k in gates]))
        ref.bias_hh_l0.copy_(torch.cat([getattr(naive, f"b_h{k}") for k in gates]))
    x = torch.randn(3, 5, I, dtype=F64, requires_grad=True)
    h0, c0 = torch.randn(3, H, dtype=F64), torch.randn(3, H, dtype=F64)
    for state in (None, (h0, c0)):
        hs, (h, c) = naive(x, state)
        out, (h_ref, c_ref) = ref(x, None if state is None else (h0[None], c0[None]))
        assert_close("hs", hs, out)
        assert_close("h_T", h, h_ref[0])
        assert_close("c_T", c, c_ref[0])
    (hs.sum() + c.sum()).backward()
    (out.sum() + c_ref.sum()).backward()
    for k in gates:
        block = slice(gates.index(k) * H, (gates.index(k) + 1) * H)
        assert_close(f"dW_i{k}", getattr(naive, f"W_i{k}").grad, ref.weight_ih_l0.grad[block])
        assert_close(f"dW_h{k}", getattr(naive, f"W_h{k}").grad, ref.weight_hh_l0.grad[block])
        assert_close(f"db_h{k}", getattr(naive, f"b_h{k}").grad, ref.bias_hh_l0.grad[block])


def test_naive_lstm_parameters_and_initialisation():
    torch.manual_seed(3)
    naive = NaiveLSTM(2, 16)
    names = {n: tuple(p.shape) for n, p in naive.named_parameters()}
    assert len(names) == 16
    assert names["W_ig"] == (16, 2) and names["W_ho"] == (16, 16) and names["b_hf"] == (16,)
    assert max(p.abs().max().item() for p in naive.parameters()) <= 0.25


def test_cell_and_layer_equal_nn_lstm_and_script():
    torch.manual_seed(4)
    ref = nn.LSTM(I, H, dtype=F64)
    w_ih, w_hh, b_ih, b_hh = ref.weight_ih_l0, ref.weight_hh_l0, ref.bias_ih_l0, ref.bias_hh_l0
    x = torch.randn(6, 2, I, dtype=F64)
    h0, c0 = torch.randn(2, H, dtype=F64), torch.randn(2, H, dtype=F64)
    out_ref, (h_ref, c_ref) = ref(x, (h0[None], c0[None]))
    h1, c1 = fused_lstm_cell(x[0] @ w_ih.T + b_ih, h0, c0, w_hh, b_hh)
    assert_close("one step", h1, out_ref[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.script is deprecated
        scripted = torch.jit.script(lstm_layer)
    for layer in (lstm_layer, scripted):
        out, (h, c) = layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
        assert_close("out", out, out_ref)
        assert_close("c_T", c, c_ref[0])


@pytest.mark.parametrize("reverse", [False, True])
def test_masked_layer_equals_nn_lstm_on_packed_input(reverse):
    ref, _ = pair(bidirectional=True)
    x, lengths = packed_batch(seed=9)
    hx = (torch.randn(2, 5, H, dtype=F64), torch.randn(2, 5, H, dtype=F64))
    packed_out, (h_ref, c_ref) = ref(pack_padded_sequence(x, lengths, enforce_sorted=False), hx)
    out_ref, _ = pad_packed_sequence(packed_out, total_length=6)
    d, suffix = (1, "_reverse") if reverse else (0, "")
    weights = [getattr(ref, f"{n}_l0{suffix}") for n in
               ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    out, (h, c) = masked_lstm_layer(x, lengths, hx[0][d], hx[1][d], *weights, reverse=reverse)
    assert_close("out", out, out_ref[..., d * H:(d + 1) * H])
    assert_close("h_n", h, h_ref[d])
    assert_close("c_n", c, c_ref[d])


@pytest.mark.parametrize("make_lstm", [nn.LSTM, LSTM])
def test_learnable_initial_state_gradients(make_lstm):
    torch.manual_seed(5)
    lstm = make_lstm(I, H, num_layers=2, bidirectional=True, batch_first=True, dtype=F64)
    model = LearnableInitLSTM(lstm)
    assert model.h0.shape == (4, 1, H) and not model.h0.any()
    with torch.no_grad():
        model.h0.normal_()
        model.c0.normal_()
    x = torch.randn(3, 5, I, dtype=F64)
    out, (h_n, c_n) = model(x)
    (out.sum() + (h_n * c_n).sum()).backward()
    # The same through nn.LSTM, with the expanded states as explicit leaves: their
    # gradients summed over the batch are the gradients of the shared h0, c0.
    ref = nn.LSTM(I, H, num_layers=2, bidirectional=True, batch_first=True, dtype=F64)
    ref.load_state_dict(lstm.state_dict())
    h0 = model.h0.detach().expand(-1, 3, -1).clone().requires_grad_()
    c0 = model.c0.detach().expand(-1, 3, -1).clone().requires_grad_()
    out_ref, (h_ref, c_ref) = ref(x, (h0, c0))
    (out_ref.sum() + (h_ref * c_ref).sum()).backward()
    assert_close("output", out, out_ref)
    assert_close("dh0", model.h0.grad, h0.grad.sum(1, keepdim=True))
    assert_close("dc0", model.c0.grad, c0.grad.sum(1, keepdim=True))


@pytest.mark.parametrize("make_lstm", [nn.LSTM, LSTM])
def test_learnable_initial_state_with_projection(make_lstm):
    """With proj_size = P, h has P entries: h0 is (L * D, 1, P), c0 (L * D, 1, H)."""
    torch.manual_seed(7)
    P = 2
    lstm = make_lstm(I, H, num_layers=2, bidirectional=True, proj_size=P, dtype=F64)
    model = LearnableInitLSTM(lstm)
    assert model.h0.shape == (4, 1, P) and model.c0.shape == (4, 1, H)
    with torch.no_grad():
        model.h0.normal_()
        model.c0.normal_()
    x = torch.randn(5, 3, I, dtype=F64)
    out, (h_n, c_n) = model(x)
    (out.sum() + h_n.sum() + c_n.pow(2).sum()).backward()
    ref = nn.LSTM(I, H, num_layers=2, bidirectional=True, proj_size=P, dtype=F64)
    ref.load_state_dict(lstm.state_dict())
    h0 = model.h0.detach().expand(-1, 3, -1).clone().requires_grad_()
    c0 = model.c0.detach().expand(-1, 3, -1).clone().requires_grad_()
    out_ref, (h_ref, c_ref) = ref(x, (h0, c0))
    (out_ref.sum() + h_ref.sum() + c_ref.pow(2).sum()).backward()
    assert_close("output", out, out_ref)
    assert_close("dh0", model.h0.grad, h0.grad.sum(1, keepdim=True))
    assert_close("dc0", model.c0.grad, c0.grad.sum(1, keepdim=True))


def test_learnable_initial_state_passes_gradcheck():
    torch.manual_seed(6)
    model = LearnableInitLSTM(LSTM(2, 3, dtype=F64))
    x = torch.randn(4, 2, 2, dtype=F64)

    def f(h0, c0):
        return torch.func.functional_call(model, {"h0": h0, "c0": c0}, (x,))[0]

    assert torch.autograd.gradcheck(f, (torch.randn(1, 1, 3, dtype=F64, requires_grad=True),
                                        torch.randn(1, 1, 3, dtype=F64, requires_grad=True)))


@pytest.mark.parametrize("call, message", [
    (lambda m: m(torch.randn(5, 2, 4)), r"input must have shape \(T, B, I\) = \(\?, \?, 3\); "
                                        r"got \(5, 2, 4\)"),
    (lambda m: m(torch.randn(5, 2, 3), (torch.zeros(1, 2, 4), torch.zeros(1, 2, 4))),
     r"h0 must have shape .* = \(2, 2, 4\); got \(1, 2, 4\)"),
    (lambda m: m(torch.randn(5, 2, 3), lengths=[5, 6]), r"lengths must be in 1..T = 1..5"),
    (lambda m: m(torch.randn(5, 2, 3), lengths=[5]), r"lengths must be B = 2 integers"),
])
def test_bad_input_names_expected_and_given(call, message):
    with pytest.raises(ValueError, match=message):
        call(LSTM(3, 4, num_layers=2))


def test_constructor_rejects_bad_arguments():
    with pytest.raises(ValueError, match="dropout"):
        LSTM(3, 4, num_layers=2, dropout=1.5)
    with pytest.raises(ValueError, match="num_layers"):
        LSTM(3, 4, num_layers=0)
    assert repr(LSTM(3, 4, num_layers=2, bidirectional=True)) == \
        "LSTM(3, 4, num_layers=2, bidirectional=True)"
