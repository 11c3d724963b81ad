"""The PyTorch chapters' checks: they pass the solutions and fail wrong implementations,
naming the mistake where they know it."""

import numpy as np
import pytest
import torch

import solutions.torch_lstm as S
from autograde import registry
from autograde.check import check, run_checks

IDS = ["NaiveLSTM", "fused_lstm_cell", "lstm_layer", "LSTM", "LearnableInitLSTM",
       "masked_lstm_layer"]


def report(obj, id):
    return run_checks(obj, registry.get(id), np.random.default_rng(0))


def assert_fails(obj, id, *phrases):
    """The check of `id` fails for obj, and its feedback contains every phrase."""
    r = report(obj, id)
    assert not r.passed and not r.stub, r.summary()
    text = r.summary()
    for phrase in phrases:
        assert phrase in text, f"{phrase!r} not in:\n{text}"
    return text


# nn.LSTM itself is the LSTM exercise's reference; with proj_size in float32 torch warns
# that it runs without oneDNN, which is expected here.
@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
@pytest.mark.parametrize("id", IDS)
def test_solutions_and_references_pass(id):
    assert report(getattr(S, id), id).passed, report(getattr(S, id), id).summary()
    assert report(registry.get(id).reference, id).passed


@pytest.mark.parametrize("id", IDS)
def test_run_needs_no_framework_lstm(id, monkeypatch):
    """The solutions pass `run` (the grader's child side) with nn.LSTM and torch._VF gone."""

    class Forbidden:
        def __getattr__(self, name):
            raise AssertionError(f"torch._VF.{name} was called")

    exercise = registry.get(id)
    cases = exercise.make_cases(np.random.default_rng(1))
    monkeypatch.setattr(torch._VF, "vf", Forbidden())
    monkeypatch.setattr(torch.nn.LSTM, "forward", Forbidden.__getattr__)
    for case in cases:
        outputs = exercise.run(getattr(S, id), case.inputs)
        assert all(type(v) is np.ndarray for v in outputs.values())


def test_stub_is_reported_as_not_implemented(capsys):
    class NaiveLSTM(torch.nn.Module):
        def __init__(self, input_size, hidden_size):
            raise NotImplementedError

    def masked_lstm_layer(x, lengths, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
        raise NotImplementedError

    for stub in (NaiveLSTM, masked_lstm_layer):
        check(stub)
        assert "not implemented yet" in capsys.readouterr().out


# --- NaiveLSTM


def naive_seeing(transform, state=True):
    """A NaiveLSTM whose forward sees its parameters through `transform` (a mistake)."""

    class NaiveLSTM(S.NaiveLSTM):
        def forward(self, x, st=None):
            plain = S.NaiveLSTM(self.input_size, self.hidden_size).to(x.dtype)
            params = transform(dict(self.named_parameters()))
            return torch.func.functional_call(plain, params, (x, st if state else None))

    return NaiveLSTM


def swap_gates(p, q):
    return lambda w: {n[:-1] + {p: q, q: p}.get(n[-1], n[-1]): v for n, v in w.items()}


def test_naive_gate_mix_up_is_named():
    assert_fails(naive_seeing(swap_gates("g", "o")), "NaiveLSTM", "g and o are mixed up")


def test_naive_transposed_weights_are_named():
    transposed = naive_seeing(lambda w: {n: v.T if n.startswith("W") else v for n, v in w.items()})
    assert_fails(transposed, "NaiveLSTM", "not transposed")


def test_naive_missing_second_bias_is_named():
    no_b_h = naive_seeing(lambda w: {n: v * 0 if n.startswith("b_h") else v for n, v in w.items()})
    assert_fails(no_b_h, "NaiveLSTM", "second bias")


def test_naive_ignoring_the_state_is_named():
    assert_fails(naive_seeing(lambda w: w, state=False), "NaiveLSTM", "initial state is ignored")


def test_naive_one_step_only_fails():
    class NaiveLSTM(S.NaiveLSTM):  # the classic version: the first step only
        def forward(self, x, state=None):
            hs, (h, c) = super().forward(x[:, :1], state)
            return hs, (h, c)

    assert_fails(NaiveLSTM, "NaiveLSTM", "hs has shape")


def test_naive_parameter_shapes_and_initialisation_are_checked():
    class Transposed(S.NaiveLSTM):
        def __init__(self, input_size, hidden_size):
            super().__init__(input_size, hidden_size)
            self.W_ii = torch.nn.Parameter(torch.zeros(input_size, hidden_size))

    assert_fails(Transposed, "NaiveLSTM", "W_ii has shape (2, 3), expected (3, 2)")

    class Normal(S.NaiveLSTM):
        def reset_parameters(self):
            for p in self.parameters():
                torch.nn.init.normal_(p)

    assert_fails(Normal, "NaiveLSTM", "reset_parameters() must fill every parameter")


# --- fused_lstm_cell and lstm_layer


def cell_in_order(order):
    """fused_lstm_cell that reads the gate blocks in `order` (a mistake unless "ifgo")."""

    def fused_lstm_cell(x_proj_t, h, c, w_hh, b_hh=None):
        gates = x_proj_t + h @ w_hh.t() + (0 if b_hh is None else b_hh)
        blocks = dict(zip(order, gates.chunk(4, 1), strict=True))
        i, f, g, o = (blocks[k] for k in "ifgo")
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c

    return fused_lstm_cell


def test_cell_gate_order_is_named():
    assert report(cell_in_order("ifgo"), "fused_lstm_cell").passed
    assert_fails(cell_in_order("ifog"), "fused_lstm_cell", "gates in the wrong order")
    assert_fails(cell_in_order("igfo"), "fused_lstm_cell", "TensorFlow's order")


def test_cell_transposed_weights_and_swapped_outputs_fail():
    def transposed(x_proj_t, h, c, w_hh, b_hh=None):
        return S.fused_lstm_cell(x_proj_t, h, c, w_hh.t(), b_hh)

    def swapped(x_proj_t, h, c, w_hh, b_hh=None):
        return S.fused_lstm_cell(x_proj_t, h, c, w_hh, b_hh)[::-1]

    assert_fails(transposed, "fused_lstm_cell", "raised RuntimeError")
    assert_fails(swapped, "fused_lstm_cell", "h_next is wrong")


def test_layer_ignoring_the_initial_state_is_named():
    def lstm_layer(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None):
        return S.lstm_layer(x, 0 * h0, 0 * c0, w_ih, w_hh, b_ih, b_hh)

    assert_fails(lstm_layer, "lstm_layer", "initial state (h0, c0) is ignored")


def test_layer_reading_batch_major_is_named():
    def lstm_layer(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None):
        out, state = S.lstm_layer(x.transpose(0, 1), h0, c0, w_ih, w_hh, b_ih, b_hh)
        return out.transpose(0, 1), state

    assert_fails(lstm_layer, "lstm_layer", "read as batch-major")


def test_layer_with_transposed_input_weights_fails():
    def lstm_layer(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None):
        return S.lstm_layer(x, h0, c0, w_ih.t().reshape(w_ih.shape), w_hh, b_ih, b_hh)

    assert_fails(lstm_layer, "lstm_layer", "out is wrong")


# --- LSTM


def test_lstm_gate_order_is_named(monkeypatch):
    monkeypatch.setattr(S, "fused_lstm_cell", cell_in_order("ifog"))
    assert_fails(S.LSTM, "LSTM", "gates in the wrong order")


def test_lstm_reverse_direction_running_forwards_is_named(monkeypatch):
    def run_direction(x, h0, c0, weights, lengths, reverse):
        return S.lstm_layer(x, h0, c0, *weights)  # forgets to reverse

    monkeypatch.setattr(S, "_run_direction", run_direction)
    assert_fails(S.LSTM, "LSTM", "backward direction reads the sequence forwards")


def test_lstm_reverse_outputs_not_flipped_back_are_named(monkeypatch):
    def run_direction(x, h0, c0, weights, lengths, reverse):
        return S.lstm_layer(x.flip(0) if reverse else x, h0, c0, *weights)

    monkeypatch.setattr(S, "_run_direction", run_direction)
    assert_fails(S.LSTM, "LSTM", "not flipped back")


def test_lstm_projection_on_the_output_only_is_named(monkeypatch):
    layer = S.lstm_layer

    def lstm_layer(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None):
        if w_hr is None:
            return layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
        pad = (0, w_hr.shape[1] - w_hr.shape[0])  # P columns padded to H
        out, (h, c) = layer(x, torch.nn.functional.pad(h0, pad), c0, w_ih,
                            torch.nn.functional.pad(w_hh, pad), b_ih, b_hh)
        return out @ w_hr.T, (h @ w_hr.T, c)  # the recurrence never sees the projection

    monkeypatch.setattr(S, "lstm_layer", lstm_layer)
    assert_fails(S.LSTM, "LSTM", "projection is applied to the output only")


def test_lstm_without_proj_size_fails():
    class LSTM(S.LSTM):  # the interface before projections
        def __init__(self, input_size, hidden_size, num_layers=1, bias=True,
                     batch_first=False, dropout=0.0, bidirectional=False):
            super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                             bidirectional)

    assert_fails(LSTM, "LSTM", "unexpected keyword argument 'proj_size'")


def test_lstm_missing_reverse_direction_fails():
    class LSTM(S.LSTM):
        def _suffixes(self):
            return ("",)  # no backward direction at all

    assert_fails(LSTM, "LSTM", "missing weight_ih_l0_reverse")


def test_lstm_shared_weights_across_layers_are_named():
    class LSTM(S.LSTM):
        def _weights(self, k, suffix):
            return super()._weights(0, suffix)

    assert_fails(LSTM, "LSTM", "every layer uses layer 0's weights")


def test_lstm_state_order_is_named():
    class LSTM(S.LSTM):
        def forward(self, input, hx=None):
            out, (h, c) = super().forward(input, hx)
            if not self.bidirectional:
                return out, (h, c)
            D, L = 2, self.num_layers
            order = [k * D + d for d in range(D) for k in range(L)]  # direction by direction
            return out, (h[order], c[order])

    assert_fails(LSTM, "LSTM", "ordered direction by direction")


def test_lstm_ignoring_hx_and_batch_first_are_named():
    class NoHx(S.LSTM):
        def forward(self, input, hx=None):
            return super().forward(input)

    class NoBatchFirst(S.LSTM):
        def forward(self, input, hx=None):
            self.batch_first = False
            return super().forward(input, hx)

    assert_fails(NoHx, "LSTM", "hx is ignored")
    assert_fails(NoBatchFirst, "LSTM", "batch_first is ignored")


def test_lstm_dropout_in_eval_mode_fails():
    class LSTM(S.LSTM):
        def forward(self, input, hx=None):
            self.training = True  # dropout whatever the mode
            return super().forward(input, hx)

    assert_fails(LSTM, "LSTM", "dropout=0.5 (in eval mode)")


# --- LearnableInitLSTM


def test_learnable_detached_state_is_named():
    class LearnableInitLSTM(S.LearnableInitLSTM):
        def forward(self, input):
            B = input.shape[0 if self.lstm.batch_first else 1]
            hx = (self.h0.detach().expand(-1, B, -1), self.c0.detach().expand(-1, B, -1))
            return self.lstm(input, hx)

    assert_fails(LearnableInitLSTM, "LearnableInitLSTM", "no gradient reaches h0 and c0")

    class OnlyC0(S.LearnableInitLSTM):
        def forward(self, input):
            B = input.shape[0 if self.lstm.batch_first else 1]
            hx = (self.h0.detach().expand(-1, B, -1), self.c0.expand(-1, B, -1))
            return self.lstm(input, hx)

    assert_fails(OnlyC0, "LearnableInitLSTM", "no gradient reaches h0:")


def test_learnable_swapped_state_is_named():
    class LearnableInitLSTM(S.LearnableInitLSTM):
        def forward(self, input):
            B = input.shape[0 if self.lstm.batch_first else 1]
            return self.lstm(input, (self.c0.expand(-1, B, -1), self.h0.expand(-1, B, -1)))

    assert_fails(LearnableInitLSTM, "LearnableInitLSTM", "h0 and c0 are swapped")


def test_learnable_wrong_batch_axis_and_shape_fail():
    class WrongAxis(S.LearnableInitLSTM):
        def forward(self, input):
            B = input.shape[1]  # ignores batch_first
            return self.lstm(input, (self.h0.expand(-1, B, -1), self.c0.expand(-1, B, -1)))

    class WrongShape(S.LearnableInitLSTM):
        def __init__(self, lstm):
            super().__init__(lstm)
            self.h0 = torch.nn.Parameter(self.h0[:, 0].detach())

    assert_fails(WrongAxis, "LearnableInitLSTM", "batch axis of the input is 0")
    assert_fails(WrongShape, "LearnableInitLSTM", "must have an nn.Parameter h0 of shape")


# --- masked_lstm_layer


def test_masked_ignoring_lengths_is_named():
    def masked_lstm_layer(x, lengths, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
        return S._run_direction(x, h0, c0, (w_ih, w_hh, b_ih, b_hh), None, reverse)

    assert_fails(masked_lstm_layer, "masked_lstm_layer", "lengths are ignored")


def test_masked_state_through_padding_is_named():
    def masked_lstm_layer(x, lengths, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
        out, state = S._run_direction(x, h0, c0, (w_ih, w_hh, b_ih, b_hh), None, reverse)
        valid = (torch.arange(x.shape[0])[:, None] < lengths)[..., None]
        return out * valid, state  # masks the output only

    assert_fails(masked_lstm_layer, "masked_lstm_layer", "state runs on through the padding")


def test_masked_nonzero_padding_is_named():
    def masked_lstm_layer(x, lengths, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
        T, _, _ = x.shape
        valid = (torch.arange(T)[:, None] < lengths)[..., None]
        x_proj = x @ w_ih.t() + b_ih
        h, c, out = h0, c0, [None] * T
        for t in (reversed(range(T)) if reverse else range(T)):
            h_next, c_next = S.fused_lstm_cell(x_proj[t], h, c, w_hh, b_hh)
            h, c = torch.where(valid[t], h_next, h), torch.where(valid[t], c_next, c)
            out[t] = h  # not zeroed past the end
        return torch.stack(out), (h, c)

    assert_fails(masked_lstm_layer, "masked_lstm_layer", "out is not zero past a sequence's end")


# --- More named mistakes: every gate pair, swapped states, one step only, bias_hh


@pytest.mark.parametrize("p, q", [("f", "g"), ("i", "g"), ("i", "o"), ("f", "o")])
def test_naive_every_gate_mix_up_is_named(p, q):
    assert_fails(naive_seeing(swap_gates(p, q)), "NaiveLSTM", f"gates {p} and {q} are mixed up")


def test_naive_swapped_final_states_are_named():
    class NaiveLSTM(S.NaiveLSTM):
        def forward(self, x, state=None):
            hs, (h, c) = super().forward(x, state)
            return hs, (c, h)

    assert_fails(NaiveLSTM, "NaiveLSTM", "h_T and c_T are returned swapped")


def test_naive_one_step_only_is_named():
    class NaiveLSTM(S.NaiveLSTM):  # seq_size = 1 hard-coded: the first step only
        def forward(self, x, state=None):
            return super().forward(x[:, :1], state)

    assert_fails(NaiveLSTM, "NaiveLSTM", "hs has shape", "only the first timestep is read")


def test_lstm_missing_bias_hh_is_named():
    class LSTM(S.LSTM):
        def forward(self, input, hx=None):
            if getattr(self, "inside", False):
                return super().forward(input, hx)
            params = {n: torch.zeros_like(p) if n.startswith("bias_hh") else p
                      for n, p in self.named_parameters()}
            self.inside = True
            try:
                return torch.func.functional_call(self, params, (input, hx))
            finally:
                self.inside = False

    assert_fails(LSTM, "LSTM", "bias_hh is left out")


def test_lstm_swapped_final_states_are_named():
    class LSTM(S.LSTM):
        def forward(self, input, hx=None):
            out, (h, c) = super().forward(input, hx)
            return out, (c, h)

    assert_fails(LSTM, "LSTM", "h_n and c_n are returned swapped")


@pytest.mark.parametrize("id", IDS)
def test_no_hint_for_the_solutions(id):
    r = report(getattr(S, id), id)
    assert r.passed and all("Probably" not in x.message for x in r.results)
