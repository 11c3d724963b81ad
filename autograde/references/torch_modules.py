"""Stand-ins for the PyTorch chapters' exercises: tensors in, tensors out.

Each has the signature of the exercise it stands in for and is built on PyTorch's own
LSTM (torch.nn.LSTM, torch.nn.LSTMCell, PackedSequence), its losses, clipping and
optimizers. The checks compute their expected values with these in float64;
`use_working` hands them out. torch is imported on first use.
"""

import functools
import math

GATES = "ifgo"
WEIGHT_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def load_torch():
    import torch

    return torch


# ------------------------------------------------------------------- chapter 11 and 12

def fused_lstm_cell(x_proj_t, h, c, w_hh, b_hh=None):
    """(h_next, c_next) from torch.nn.LSTMCell, fed x_proj_t through an identity W_ih."""
    torch = load_torch()
    H4 = x_proj_t.shape[1]
    cell = torch.nn.LSTMCell(H4, H4 // 4, dtype=x_proj_t.dtype, device=x_proj_t.device)
    zeros = x_proj_t.new_zeros(H4)
    params = dict(weight_ih=torch.eye(H4, dtype=x_proj_t.dtype, device=x_proj_t.device),
                  weight_hh=w_hh, bias_ih=zeros, bias_hh=zeros if b_hh is None else b_hh)
    return torch.func.functional_call(cell, params, (x_proj_t, (h, c)))


def _one_layer(x, w_ih, w_hh, b_ih, b_hh, **config):
    """(torch.nn.LSTM with one layer, its parameters taken from the given tensors)."""
    torch = load_torch()
    bias = b_ih is not None or b_hh is not None
    lstm = torch.nn.LSTM(w_ih.shape[1], w_hh.shape[1], bias=bias, dtype=x.dtype,
                         device=x.device, **config)
    weights = [w_ih, w_hh] + ([b_ih if b_ih is not None else w_ih.new_zeros(w_ih.shape[0]),
                               b_hh if b_hh is not None else w_hh.new_zeros(w_hh.shape[0])]
                              if bias else [])
    return lstm, weights


def lstm_layer(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None):
    """(out, (h_T, c_T)) from a one-layer torch.nn.LSTM; x (T, B, I) time-major."""
    torch = load_torch()
    lstm, weights = _one_layer(x, w_ih, w_hh, b_ih, b_hh)
    params = dict(zip([f"{n}_l0" for n in WEIGHT_NAMES], weights, strict=False))
    out, (h, c) = torch.func.functional_call(lstm, params, (x, (h0[None], c0[None])))
    return out, (h[0], c[0])


def masked_lstm_layer(x, lengths, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
    """torch.nn.LSTM on the PackedSequence of x; for reverse, the backward half of a
    bidirectional one (its forward direction has zero weights and is discarded)."""
    torch = load_torch()
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    lstm, weights = _one_layer(x, w_ih, w_hh, b_ih, b_hh, bidirectional=reverse)
    names = [f"{n}_l0" for n in WEIGHT_NAMES]
    params = dict(zip(names, weights, strict=False))
    if reverse:
        params = {**{n: torch.zeros_like(w) for n, w in zip(names, weights, strict=False)},
                  **{f"{n}_reverse": w for n, w in zip(names, weights, strict=False)}}
        h0, c0 = torch.stack([torch.zeros_like(h0), h0]), torch.stack([torch.zeros_like(c0), c0])
    else:
        h0, c0 = h0[None], c0[None]
    packed = pack_padded_sequence(x, torch.as_tensor(lengths).cpu(), enforce_sorted=False)
    out, (h, c) = torch.func.functional_call(lstm, params, (packed, (h0, c0)))
    out, _ = pad_packed_sequence(out, total_length=x.shape[0])
    H, d = w_hh.shape[1], int(reverse)
    return out[..., d * H:(d + 1) * H], (h[d], c[d])


# Known mistakes in a hand-written loop or cell (for the checks' suspects): torch's own
# cell (fused_lstm_cell) given the wrong state, never the recurrence written out.
LOOP_MISTAKES = ("never_carried", "c_from_h", "h_from_g", "stops_early")


def fused_lstm_cell_mistaken(x_proj_t, h, c, w_hh, b_hh=None, mistake=None):
    """(h_next, c_next) of a step with `mistake`: "c_from_h" (the cell update reads h where
    c belongs: c_next = f * h + i * g, torch's cell given (h, h)), "h_from_g" (h_next =
    o * tanh(g), not o * tanh(c_next)) or "zero_state" (h and c ignored, zeros used)."""
    torch = load_torch()
    if mistake == "zero_state":
        h, c = torch.zeros_like(h), torch.zeros_like(c)
    h_next, c_next = fused_lstm_cell(x_proj_t, h, h if mistake == "c_from_h" else c, w_hh, b_hh)
    if mistake == "h_from_g":
        # o and g read off the pre-activations, as torch_ref's mistaken scan does
        H = c.shape[1]
        z = x_proj_t + h @ w_hh.T + (0 if b_hh is None else b_hh)
        h_next = torch.sigmoid(z[:, 3 * H:]) * torch.tanh(torch.tanh(z[:, 2 * H:3 * H]))
    return h_next, c_next


def lstm_layer_mistaken(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, mistake=None):
    """(out, (h_T, c_T)) of a one-layer LSTM over x (T, B, I) whose loop has `mistake` (one
    of LOOP_MISTAKES): "never_carried" (every step starts again from h0, c0), "stops_early"
    (range(T - 1): out has T - 1 steps), or a cell mistake of fused_lstm_cell_mistaken.
    (h_T, c_T): the last step's state."""
    torch = load_torch()
    x_proj = hoisted_input_projection(x, w_ih, b_ih)
    h, c, out = h0, c0, []
    for t in range(x.shape[0] - (mistake == "stops_early")):
        h_in, c_in = (h0, c0) if mistake == "never_carried" else (h, c)
        h, c = fused_lstm_cell_mistaken(x_proj[t], h_in, c_in, w_hh, b_hh,
                                        None if mistake == "never_carried" else mistake)
        out.append(h)
    out = torch.stack(out) if out else x.new_zeros(0, x.shape[1], w_hh.shape[1])
    return out, (h, c)


def masked_lstm_layer_mistaken(x, lengths, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None,
                               reverse=False, mistake=None):
    """(out, (h_n, c_n)) of masked_lstm_layer with `mistake` in its loop (see
    lstm_layer_mistaken): each sequence run alone over its own steps (backwards for
    reverse), zeros past its end."""
    torch = load_torch()
    out = x.new_zeros(x.shape[0], x.shape[1], w_hh.shape[1])
    h_n, c_n = [], []
    for b, n in enumerate(int(n) for n in lengths):
        seq = x[:n, b:b + 1].flip(0) if reverse else x[:n, b:b + 1]
        o, (h, c) = lstm_layer_mistaken(seq, h0[b:b + 1], c0[b:b + 1], w_ih, w_hh, b_ih, b_hh,
                                        mistake)
        out[:n, b:b + 1] = o.flip(0) if reverse else o
        h_n.append(h)
        c_n.append(c)
    return out, (torch.cat(h_n), torch.cat(c_n))


def LSTM(*args, **kwargs):
    """torch.nn.LSTM itself."""
    return load_torch().nn.LSTM(*args, **kwargs)


def NaiveLSTM(input_size, hidden_size):
    """A module with NaiveLSTM's parameters, run by torch.nn.LSTM."""
    return _classes().NaiveLSTM(input_size, hidden_size)


def LearnableInitLSTM(lstm):
    """`lstm` started from learned initial states: parameters h0 of shape
    (num_layers * num_directions, 1, proj_size or H) and c0 of shape
    (num_layers * num_directions, 1, H), broadcast to the batch and passed as hx.

    (This exercise is glue around a framework LSTM, so its stand-in cannot help showing
    what the wrapper does; it is kept because chapter 12 runs on without the learner's.)
    """
    return _classes().LearnedStateLSTM(lstm)


def naive_parameter_shapes(I, H):
    """NaiveLSTM's parameters: name -> shape, gate by gate."""
    shapes = {}
    for k in GATES:
        shapes |= {f"W_i{k}": (H, I), f"W_h{k}": (H, H), f"b_i{k}": (H,), f"b_h{k}": (H,)}
    return shapes


@functools.cache
def _classes():
    """The torch modules of this file, defined on first use so that torch loads lazily."""
    torch = load_torch()
    nn = torch.nn

    class NaiveLSTM(nn.Module):
        """NaiveLSTM's parameters (W_ik, W_hk, b_ik, b_hk for k in i, f, g, o), whose
        blocks torch.nn.LSTM stacks in the order i, f, g, o."""

        def __init__(self, input_size, hidden_size):
            super().__init__()
            self.input_size, self.hidden_size = input_size, hidden_size
            for name, shape in naive_parameter_shapes(input_size, hidden_size).items():
                setattr(self, name, nn.Parameter(torch.empty(shape)))
            self.reset_parameters()

        def reset_parameters(self):
            bound = 1 / math.sqrt(self.hidden_size)
            for p in self.parameters():
                nn.init.uniform_(p, -bound, bound)

        def forward(self, x, state=None):
            lstm = nn.LSTM(self.input_size, self.hidden_size, batch_first=True, dtype=x.dtype)
            params = {f"{n}_l0": torch.cat([getattr(self, f"{p}{k}") for k in GATES])
                      for n, p in zip(WEIGHT_NAMES, ("W_i", "W_h", "b_i", "b_h"), strict=True)}
            hx = None if state is None else (state[0][None], state[1][None])
            hs, (h, c) = torch.func.functional_call(lstm, params, (x, hx))
            return hs, (h[0], c[0])

    class LearnedStateLSTM(nn.Module):
        def __init__(self, lstm):
            super().__init__()
            self.lstm = lstm
            like = next(lstm.parameters())
            LD = lstm.num_layers * (2 if lstm.bidirectional else 1)
            self.h0 = nn.Parameter(like.new_zeros(LD, 1, lstm.proj_size or lstm.hidden_size))
            self.c0 = nn.Parameter(like.new_zeros(LD, 1, lstm.hidden_size))

        def forward(self, input):
            if isinstance(input, nn.utils.rnn.PackedSequence):
                batch = int(input.batch_sizes[0])
            else:
                batch = input.shape[0 if self.lstm.batch_first else 1]
            return self.lstm(input, tuple(torch.broadcast_to(s, (s.shape[0], batch, s.shape[2]))
                                          for s in (self.h0, self.c0)))

    return type("Classes", (), dict(NaiveLSTM=NaiveLSTM, LearnedStateLSTM=LearnedStateLSTM))


# ------------------------------------------------------------------- chapters 41 and 42

def masked_mse_loss(pred, target, lengths):
    """The mean of (pred - target)**2 over the valid steps: a 0-dim tensor.

    pack_padded_sequence keeps exactly the valid steps (and is differentiable).
    """
    torch = load_torch()
    packed = torch.nn.utils.rnn.pack_padded_sequence((pred - target) ** 2,
                                                     torch.as_tensor(lengths).cpu(),
                                                     enforce_sorted=False)
    return packed.data.mean()


def hoisted_input_projection(x, w_ih, b_ih):
    """x_proj (T, B, 4H) = x @ w_ih.T + b_ih, by torch.nn.functional.linear."""
    return load_torch().nn.functional.linear(x, w_ih, b_ih)


def fused_cell_backward(z, c, dh_next, dc_next, cut_h_to_c=False):
    """(dz, dc): the gradients of the pointwise cell's inputs (torch.nn.LSTMCell fed z
    through an identity W_ih), by torch autograd.

    cut_h_to_c: a known mistake, the gradients as if h_next did not depend on c_next.
    """
    torch = load_torch()
    with torch.enable_grad():
        z, c = z.detach().requires_grad_(), c.detach().requires_grad_()
        w_hh = z.new_zeros(z.shape[1], c.shape[1])
        h_next, c_next = fused_lstm_cell(z, z.new_zeros(c.shape), c, w_hh)
        if cut_h_to_c:  # h_next = o * tanh(c_next), with c_next held constant
            o = torch.sigmoid(z[:, 3 * c.shape[1]:])
            h_next = o * torch.tanh(c_next.detach())
        return torch.autograd.grad((h_next, c_next), (z, c), (dh_next, dc_next))


# ---------------------------------------------------------------------------- chapter 31

def train_step(model, x, y, optimizer, max_norm, loss_fn=None):
    """torch's training step: zero the gradients, loss, backward, clip, step; returns the loss."""
    torch = load_torch()
    loss_fn = torch.nn.functional.cross_entropy if loss_fn is None else loss_fn
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return loss.item()


# ------------------------------------------------------------------------------ chapter 7

def GRU(input_size, hidden_size, batch_first=False, device=None, dtype=None):
    """torch.nn.GRU itself, one layer."""
    return load_torch().nn.GRU(input_size, hidden_size, batch_first=batch_first, device=device,
                               dtype=dtype)


def gru_parameter_shapes(I, H):
    """torch.nn.GRU(I, H)'s parameters, in its order: name -> shape."""
    return {"weight_ih_l0": (3 * H, I), "weight_hh_l0": (3 * H, H), "bias_ih_l0": (3 * H,),
            "bias_hh_l0": (3 * H,)}
