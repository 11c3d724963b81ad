"""The drop-in LSTM against torch.nn.LSTM over its whole interface.

- Every combination of num_layers 1-3, bias, batch_first, bidirectional, proj_size 0 and
  > 0, input form (batched, unbatched, PackedSequence) and with or without (h0, c0):
  output, h_n, c_n and the gradients of the input, the states and every parameter equal
  nn.LSTM's with the same weights, in float64 within 1e-10; and ours calls no LSTM
  kernel while doing it.
- The constructor raises what nn.LSTM raises (exception type) for each bad argument and
  accepts what it accepts; forward raises where nn.LSTM raises, naming the shapes.
- state_dict keys, shapes and order equal nn.LSTM's; loading works both ways.
"""

import contextlib
import itertools

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from solutions.torch_lstm import LSTM

F64 = torch.float64
ATOL = 1e-10
I, H, P = 3, 4, 2  # P: proj_size when projecting
B, T = 3, 4
LENGTHS = torch.tensor([2, 4, 1])  # unsorted, so packing permutes the batch

# (num_layers, bias, batch_first, bidirectional, proj_size, form, with_hx): 288 cases.
GRID = list(itertools.product([1, 2, 3], [True, False], [False, True], [False, True], [0, P],
                              ["batched", "unbatched", "packed"], [False, True]))


def pair(**config):
    """(nn.LSTM, ours) in float64 with nn.LSTM's random weights copied into ours."""
    torch.manual_seed(0)
    ref = nn.LSTM(I, H, dtype=F64, **config)
    ours = LSTM(I, H, dtype=F64, **config)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def grid_inputs(config, form, with_hx):
    """x (a padded tensor, unbatched (T, I) for "unbatched"), hx or None, and fixed upstream
    gradients (d_output for the padded output, d_h, d_c)."""
    g = torch.Generator().manual_seed(1)
    D = 2 if config["bidirectional"] else 1
    LD, R = config["num_layers"] * D, config["proj_size"] or H
    batch = () if form == "unbatched" else (B,)
    x_shape = (T, I) if form == "unbatched" else (B, T, I) if config["batch_first"] else (T, B, I)
    x = torch.randn(x_shape, generator=g, dtype=F64)
    hx = (torch.randn(LD, *batch, R, generator=g, dtype=F64),
          torch.randn(LD, *batch, H, generator=g, dtype=F64)) if with_hx else None
    upstream = (torch.randn(x_shape[:-1] + (D * R,), generator=g, dtype=F64),
                torch.randn(LD, *batch, R, generator=g, dtype=F64),
                torch.randn(LD, *batch, H, generator=g, dtype=F64))
    return x, hx, upstream


def run(module, x, hx, upstream, form, batch_first, guard=contextlib.nullcontext):
    """Forward and backward with fixed upstream gradients, the module's own part of both
    (not the packing and unpacking) inside the context `guard()`.

    Returns (output, h_n, c_n, grads): output padded (a PackedSequence's too), grads maps
    "x", "h0", "c0" (when hx is given) and every parameter's name to its gradient.
    """
    x = x.detach().clone().requires_grad_()
    hx = None if hx is None else tuple(s.detach().clone().requires_grad_() for s in hx)
    module.zero_grad()
    if form == "packed":
        packed = pack_padded_sequence(x, LENGTHS, batch_first=batch_first, enforce_sorted=False)
        with guard():
            out, (h_n, c_n) = module(packed, hx)
        assert isinstance(out, PackedSequence)
        assert torch.equal(out.batch_sizes, packed.batch_sizes)
        assert torch.equal(out.sorted_indices, packed.sorted_indices)
        out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=T)
    else:
        with guard():
            out, (h_n, c_n) = module(x, hx)
    d_out, d_h, d_c = upstream
    loss = torch.sum(d_out * out) + torch.sum(d_h * h_n) + torch.sum(d_c * c_n)
    with guard():
        loss.backward()
    grads = {"x": x.grad, **{n: p.grad for n, p in module.named_parameters()}}
    if hx is not None:
        grads["h0"], grads["c0"] = hx[0].grad, hx[1].grad
    return out, h_n, c_n, grads


def max_deviation(ours, ref):
    """The largest absolute difference between two runs, after checking shapes and dtypes."""
    named = [("output", ours[0], ref[0]), ("h_n", ours[1], ref[1]), ("c_n", ours[2], ref[2])]
    assert ours[3].keys() == ref[3].keys()
    named += [(f"gradient of {n}", ours[3][n], ref[3][n]) for n in ref[3]]
    worst = 0.0
    for name, a, b in named:
        assert a.shape == b.shape, f"{name}: shape {tuple(a.shape)} != {tuple(b.shape)}"
        assert a.dtype == b.dtype, f"{name}: dtype {a.dtype} != {b.dtype}"
        err = (a - b).abs().max().item() if a.numel() else 0.0
        assert err <= ATOL, f"{name}: max abs error {err:.3g} > {ATOL:g}"
        worst = max(worst, err)
    return worst


class _Forbidden:
    def __getattr__(self, name):
        raise AssertionError(f"torch._VF.{name} was called")


def _forbidden(*args, **kwargs):
    raise AssertionError("a framework LSTM kernel was called")


@contextlib.contextmanager
def no_lstm_kernels():
    """Inside, torch._VF (nn.LSTM's way to its kernels), torch.lstm, torch.lstm_cell and
    nn.LSTM.forward fail the test."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(torch._VF, "vf", _Forbidden())
        m.setattr(torch, "lstm", _forbidden)
        m.setattr(torch, "lstm_cell", _forbidden)
        m.setattr(nn.LSTM, "forward", _forbidden)
        yield


@pytest.mark.parametrize(
    "num_layers, bias, batch_first, bidirectional, proj_size, form, with_hx", GRID)
def test_equals_nn_lstm(num_layers, bias, batch_first, bidirectional, proj_size, form, with_hx):
    config = dict(num_layers=num_layers, bias=bias, batch_first=batch_first,
                  bidirectional=bidirectional, proj_size=proj_size)
    ref, ours = pair(**config)
    x, hx, upstream = grid_inputs(config, form, with_hx)
    expected = run(ref, x, hx, upstream, form, batch_first)
    got = run(ours, x, hx, upstream, form, batch_first, guard=no_lstm_kernels)
    max_deviation(got, expected)


@pytest.mark.parametrize("bidirectional, proj_size, batch_first",
                         [(False, 0, False), (True, P, False), (True, P, True), (False, P, True)])
def test_lengths_keyword_equals_nn_lstm_on_the_packed_batch(bidirectional, proj_size,
                                                            batch_first):
    """The contract's `lengths=` on a padded tensor, projections included."""
    config = dict(num_layers=2, bidirectional=bidirectional, proj_size=proj_size,
                  batch_first=batch_first)
    ref, ours = pair(**config)
    x, hx, upstream = grid_inputs(config, "batched", True)
    expected = run(ref, x, hx, upstream, "packed", batch_first)
    x_leaf = x.clone().requires_grad_()
    hx_leaf = tuple(s.clone().requires_grad_() for s in hx)
    out, (h_n, c_n) = ours(x_leaf, hx_leaf, lengths=LENGTHS)
    d_out, d_h, d_c = upstream
    (torch.sum(d_out * out) + torch.sum(d_h * h_n) + torch.sum(d_c * c_n)).backward()
    grads = {"x": x_leaf.grad, **{n: p.grad for n, p in ours.named_parameters()},
             "h0": hx_leaf[0].grad, "c0": hx_leaf[1].grad}
    max_deviation((out, h_n, c_n, grads), expected)


# --- the constructor

CONFIGS = [dict(), dict(proj_size=P), dict(num_layers=3, bias=False, proj_size=1),
           dict(num_layers=2, bidirectional=True, proj_size=P, batch_first=True, dropout=0.25),
           dict(num_layers=2, bidirectional=True)]


@pytest.mark.parametrize("config", CONFIGS)
def test_state_dict_keys_shapes_and_order_and_loading_both_ways(config):
    ref, ours = pair(**config)
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == \
        [(k, v.shape) for k, v in ref.state_dict().items()]
    ours.eval()
    ref.eval()
    x, hx, upstream = grid_inputs({"num_layers": 1, "bidirectional": False, "proj_size": 0,
                                   "batch_first": False, **config}, "batched", True)
    args = (x, hx, upstream, "batched", config.get("batch_first", False))
    max_deviation(run(ours, *args), run(ref, *args))  # nn.LSTM -> ours (in pair)
    ours.reset_parameters()
    ref.load_state_dict(ours.state_dict())  # ours -> nn.LSTM, strict
    max_deviation(run(ours, *args), run(ref, *args))
    assert repr(ours) == repr(ref)


def test_constructor_takes_nn_lstms_arguments_in_order_with_its_defaults():
    import inspect

    # nn.LSTM.__init__ is (*args, **kwargs); RNNBase.__init__ has the real list after `mode`.
    theirs = list(inspect.signature(nn.RNNBase.__init__).parameters.values())[2:]
    ours = list(inspect.signature(LSTM.__init__).parameters.values())[1:]
    assert [(p.name, p.default) for p in ours] == [(p.name, p.default) for p in theirs]
    args = (I, H, 2, False, True, 0.0, True, P)  # all positional, as nn.LSTM takes them
    ref, mine = nn.LSTM(*args, dtype=F64), LSTM(*args, dtype=F64)
    assert repr(mine) == repr(ref)
    assert [(n, p.shape, p.dtype) for n, p in mine.named_parameters()] == \
        [(n, p.shape, p.dtype) for n, p in ref.named_parameters()]
    for name in ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout",
                 "bidirectional", "proj_size"):
        assert getattr(mine, name) == getattr(ref, name), name


BAD_ARGUMENTS = [
    dict(input_size=0), dict(input_size=-1), dict(input_size=3.0), dict(input_size="3"),
    dict(input_size=None),
    dict(hidden_size=0), dict(hidden_size=-4), dict(hidden_size=4.0), dict(hidden_size=None),
    dict(num_layers=0), dict(num_layers=-1), dict(num_layers=2.0), dict(num_layers="2"),
    dict(bias=1), dict(bias="yes"), dict(bias=None),
    dict(batch_first=0), dict(batch_first=None),
    dict(dropout=-0.1), dict(dropout=1.5), dict(dropout=True), dict(dropout="0.5"),
    dict(dropout=None), dict(dropout=[0.5]),
    dict(proj_size=-1), dict(proj_size=H), dict(proj_size=H + 1), dict(proj_size=1.5),
    dict(proj_size="1"), dict(proj_size=True, hidden_size=1),
]


@pytest.mark.parametrize("bad", BAD_ARGUMENTS, ids=repr)
def test_constructor_raises_what_nn_lstm_raises(bad):
    arguments = dict(input_size=I, hidden_size=H, num_layers=2) | bad
    with pytest.raises(Exception) as theirs:
        nn.LSTM(**arguments)
    with pytest.raises(Exception) as ours:
        LSTM(**arguments)
    assert ours.type is theirs.type, f"nn.LSTM raises {theirs.value!r}; ours {ours.value!r}"


@pytest.mark.parametrize("odd", [dict(num_layers=True), dict(input_size=True), dict(dropout=1),
                                 dict(dropout=0), dict(bidirectional=1), dict(proj_size=1)],
                         ids=repr)
def test_constructor_accepts_what_nn_lstm_accepts(odd):
    arguments = dict(input_size=I, hidden_size=H, num_layers=2) | odd
    ref, ours = nn.LSTM(**arguments), LSTM(**arguments)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == \
        [(n, p.shape) for n, p in ref.named_parameters()]


def test_dropout_with_one_layer_warns_as_nn_lstm_does():
    for cls in (nn.LSTM, LSTM):
        with pytest.warns(UserWarning, match="dropout"):
            cls(I, H, dropout=0.5)


# --- forward's errors

def _packed(batch=B):
    return pack_padded_sequence(torch.randn(T, batch, I, dtype=F64), LENGTHS[:batch],
                                enforce_sorted=False)


def _states(LD, batch, h_size, c_size):
    return (torch.zeros(LD, *batch, h_size, dtype=F64), torch.zeros(LD, *batch, c_size, dtype=F64))


# On LSTM(I, H, num_layers=2, bidirectional=True, proj_size=P): L * D = 4, h is (4, B, P).
BAD_CALLS = {
    "input of the wrong width": lambda m: m(torch.randn(T, B, I + 1, dtype=F64)),
    "1-D input": lambda m: m(torch.randn(T, dtype=F64)),
    "4-D input": lambda m: m(torch.randn(T, B, I, 1, dtype=F64)),
    "input of another dtype": lambda m: m(torch.randn(T, B, I, dtype=torch.float32)),
    "integer input": lambda m: m(torch.ones(T, B, I, dtype=torch.int64)),
    "an empty sequence": lambda m: m(torch.randn(0, B, I, dtype=F64)),
    "h0 of size H instead of proj_size": lambda m: m(torch.randn(T, B, I, dtype=F64),
                                                     _states(4, (B,), H, H)),
    "c0 of size proj_size instead of H": lambda m: m(torch.randn(T, B, I, dtype=F64),
                                                     _states(4, (B,), P, P)),
    "states for one layer": lambda m: m(torch.randn(T, B, I, dtype=F64), _states(2, (B,), P, H)),
    "states for another batch size": lambda m: m(torch.randn(T, B, I, dtype=F64),
                                                 _states(4, (B + 1,), P, H)),
    "2-D states for batched input": lambda m: m(torch.randn(T, B, I, dtype=F64),
                                                _states(4, (), P, H)),
    "3-D states for unbatched input": lambda m: m(torch.randn(T, I, dtype=F64),
                                                  _states(4, (1,), P, H)),
    "unbatched input, h0 of size H": lambda m: m(torch.randn(T, I, dtype=F64),
                                                 _states(4, (), H, H)),
    "one tensor as hx": lambda m: m(torch.randn(T, B, I, dtype=F64),
                                    torch.zeros(4, B, P, dtype=F64)),
    "packed, h0 of size H": lambda m: m(_packed(), _states(4, (B,), H, H)),
    "packed, c0 of size proj_size": lambda m: m(_packed(), _states(4, (B,), P, P)),
    # (nn.LSTM drops extra rows of a PackedSequence's states without a word; ours raises.)
    "packed, states for a smaller batch": lambda m: m(_packed(), _states(4, (B - 1,), P, H)),
    "packed input of the wrong width": lambda m: m(pack_padded_sequence(
        torch.randn(T, B, I + 1, dtype=F64), LENGTHS, enforce_sorted=False)),
}


@pytest.mark.parametrize("call", BAD_CALLS.values(), ids=BAD_CALLS.keys())
def test_forward_raises_where_nn_lstm_raises(call):
    ref, ours = pair(num_layers=2, bidirectional=True, proj_size=P)
    with pytest.raises((ValueError, RuntimeError)) as theirs:
        call(ref)
    with pytest.raises(theirs.type) as mine:  # the same type or a subclass of it
        call(ours)
    message = str(mine.value)
    assert ("must have" in message or "must be" in message) and "got" in message, message


@pytest.mark.parametrize("call, expected", [
    (lambda m: m(torch.randn(T, B, I, dtype=F64), _states(4, (B,), H, H)),
     r"h0 must have shape \(num_layers \* num_directions, B, proj_size\) = \(4, 3, 2\); "
     r"got \(4, 3, 4\)"),
    (lambda m: m(torch.randn(T, B, I, dtype=F64), _states(4, (B,), P, P)),
     r"c0 must have shape \(num_layers \* num_directions, B, H\) = \(4, 3, 4\); got \(4, 3, 2\)"),
    (lambda m: m(torch.randn(T, I, dtype=F64), _states(4, (1,), P, H)),
     r"h0 must have shape \(num_layers \* num_directions, proj_size\) = \(4, 2\); "
     r"got \(4, 1, 2\)"),
    (lambda m: m(_packed(), _states(4, (B + 1,), P, H)), r"= \(4, 3, 2\); got \(4, 4, 2\)"),
])
def test_state_shape_errors_name_the_expected_shapes(call, expected):
    _, ours = pair(num_layers=2, bidirectional=True, proj_size=P)
    with pytest.raises(ValueError, match=expected):
        call(ours)
