"""An LSTM in PyTorch, from scratch: a naive module, a fused cell and a drop-in nn.LSTM.

Conventions (those of torch.nn.LSTM; see CONTRACT.md). Weights are (out, in), and the
four row blocks of W_ih (4H, I) and W_hh (4H, H) are the gates in the order i, f, g, o:

    gates = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh          (B, 4H)
    i, f, o = sigmoid(.)    g = tanh(.)    c_next = f * c + i * g    h_next = o * tanh(c_next)

`NaiveLSTM` reads batch-major sequences (B, T, I), like the classic hand-written
version; the layer functions read time-major ones (T, B, I), as nn.LSTM does by default,
so that step t is the contiguous slice x[t].

- `NaiveLSTM`: one parameter per gate and per input, 8 small products per step.
- `fused_lstm_cell`: one fused step; `lstm_layer`: a sequence with the input projection
  computed for all steps before the loop; both can be compiled by torch.jit.script.
- `masked_lstm_layer`: the same for a padded batch of sequences of different lengths.
- `LSTM`: torch.nn.LSTM's interface and parameter names, built from the functions above;
  it never calls torch.nn.LSTM, torch.lstm or torch._VF.
- `LearnableInitLSTM`: wraps an LSTM and learns its initial state.
"""

import math
import warnings

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from solutions.shapes import expect_shape


def _expect(name, tensor, shape, dims):
    """Check that `tensor` is a tensor of the given shape (None: any size) or raise ValueError."""
    if not isinstance(tensor, Tensor):
        raise ValueError(f"{name} must be a tensor of shape ({dims}); got {type(tensor).__name__}")
    expect_shape(name, tensor.shape, shape, dims)


class NaiveLSTM(nn.Module):
    """The classic hand-written LSTM: one weight matrix and one bias per gate and per input.

    Parameters, for each gate k in i, f, g, o (the names of torch.nn.LSTM's documentation):
    W_ik (H, I) and b_ik (H,) act on the input x_t; W_hk (H, H) and b_hk (H,) on h_{t-1}.
    forward(x, state=None): x (B, T, I); state (h0, c0), each (B, H), or None for zeros.
    Returns (hs, (h_T, c_T)): hs (B, T, H), the hidden state after every step.
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
        """PyTorch's LSTM initialisation: every parameter uniform in [-1/sqrt(H), 1/sqrt(H)]."""
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x, state=None):
        _expect("x", x, (None, None, self.input_size), "B, T, I")
        B, T, _ = x.shape
        if state is None:
            h = c = x.new_zeros(B, self.hidden_size)
        else:
            h, c = state
            _expect("h0", h, (B, self.hidden_size), "B, H")
            _expect("c0", c, (B, self.hidden_size), "B, H")
        hs = []
        for t in range(T):  # the classic version stops after this loop's body: one step
            x_t = x[:, t]
            i = torch.sigmoid(x_t @ self.W_ii.T + self.b_ii + h @ self.W_hi.T + self.b_hi)
            f = torch.sigmoid(x_t @ self.W_if.T + self.b_if + h @ self.W_hf.T + self.b_hf)
            g = torch.tanh(x_t @ self.W_ig.T + self.b_ig + h @ self.W_hg.T + self.b_hg)
            o = torch.sigmoid(x_t @ self.W_io.T + self.b_io + h @ self.W_ho.T + self.b_ho)
            c = f * c + i * g
            h = o * torch.tanh(c)
            hs.append(h)
        return torch.stack(hs, dim=1), (h, c)


def fused_lstm_cell(x_proj_t: Tensor, h: Tensor, c: Tensor, w_hh: Tensor,
              b_hh: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """One fused LSTM step, given the input's part of the gates.

    Inputs:  x_proj_t (B, 4H) = x_t @ w_ih.T + b_ih, computed by the caller;
             h, c (B, H); w_hh (4H, H); b_hh (4H,) or None.
    Returns: (h_next, c_next), each (B, H).
    """
    # One product for all four gates; chunk(4) then cuts the columns into i, f, g, o (views).
    gates = x_proj_t + h @ w_hh.t()
    if b_hh is not None:
        gates = gates + b_hh
    i, f, g, o = gates.chunk(4, 1)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_next = torch.sigmoid(o) * torch.tanh(c_next)
    return h_next, c_next


def lstm_layer(x: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor,
               b_ih: Tensor | None = None,
               b_hh: Tensor | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """One LSTM layer over a whole sequence, the input projection hoisted out of the loop.

    Inputs:  x (T, B, I) time-major; h0, c0 (B, H); w_ih (4H, I); w_hh (4H, H);
             b_ih, b_hh (4H,) or None.
    Returns: (out, (h_T, c_T)): out (T, B, H), the hidden state after every step.
    """
    # x_t @ w_ih.T does not depend on h: one (T*B, I) @ (I, 4H) product replaces T small ones.
    x_proj = x @ w_ih.t()
    if b_ih is not None:
        x_proj = x_proj + b_ih
    h, c = h0, c0
    out: list[Tensor] = []
    for x_proj_t in x_proj.unbind(0):
        h, c = fused_lstm_cell(x_proj_t, h, c, w_hh, b_hh)
        out.append(h)
    return torch.stack(out), (h, c)


def masked_lstm_layer(x, lengths, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
    """`lstm_layer` for a padded batch of sequences of different lengths.

    Inputs:  x (T, B, I) time-major, padded: sequence b is x[:lengths[b], b];
             lengths (B,) integers in 1..T (a tensor or a list); the rest as `lstm_layer`.
             reverse: run each sequence from its own last step back to its first (the
             backward direction of a bidirectional LSTM).
    Returns: (out, (h_n, c_n)): out (T, B, H) with zeros past each sequence's end;
             h_n, c_n (B, H), the state after each sequence's own last step (its
             first step when reverse), as torch.nn.LSTM gives for a PackedSequence.
    """
    T, B, _ = x.shape
    lengths = _check_lengths(lengths, B, T)
    # valid[t, b]: step t is inside sequence b. A padded step leaves the state as it was,
    # so going backwards each sequence starts from (h0, c0) at its own last step.
    valid = (torch.arange(T)[:, None] < lengths).to(x.device)[..., None]
    x_proj = x @ w_ih.t()
    if b_ih is not None:
        x_proj = x_proj + b_ih
    h, c = h0, c0
    out = [None] * T
    for t in (reversed(range(T)) if reverse else range(T)):
        h_next, c_next = fused_lstm_cell(x_proj[t], h, c, w_hh, b_hh)
        h = torch.where(valid[t], h_next, h)
        c = torch.where(valid[t], c_next, c)
        out[t] = h * valid[t]
    return torch.stack(out), (h, c)


def _check_lengths(lengths, B, T):
    """lengths as a (B,) int64 CPU tensor, after checking every length is in 1..T."""
    lengths = torch.as_tensor(lengths).cpu()
    if lengths.shape != (B,) or lengths.is_floating_point():
        raise ValueError(f"lengths must be B = {B} integers; got {lengths.dtype} of shape "
                         f"{tuple(lengths.shape)}")
    if B and (lengths.min() < 1 or lengths.max() > T):
        raise ValueError(f"lengths must be in 1..T = 1..{T}; got {lengths.tolist()}")
    return lengths.long()


def unpack_sequence(packed):
    """A PackedSequence as (padded, lengths): padded (T, B, *) time-major, zeros past each
    sequence's end, in the batch order the sequences were given; lengths (B,) int64.

    torch.nn.utils.rnn.pad_packed_sequence does the same through torch._VF.
    """
    data, batch_sizes, _, unsorted_indices = packed
    valid = _packed_mask(batch_sizes)
    padded = data.new_zeros(*valid.shape, *data.shape[1:])
    # The data holds step 0 of every sequence (longest first), then step 1 of those still
    # running, and so on: the True entries of `valid` read row by row.
    padded[valid.to(data.device)] = data
    lengths = valid.sum(0)
    if unsorted_indices is not None:
        padded, lengths = padded[:, unsorted_indices], lengths[unsorted_indices.cpu()]
    return padded, lengths


def pack_like(padded, like):
    """The padded (T, B, *) tensor as a PackedSequence with the layout of `like`."""
    if like.sorted_indices is not None:
        padded = padded[:, like.sorted_indices]
    data = padded[_packed_mask(like.batch_sizes).to(padded.device)]
    return PackedSequence(data, like.batch_sizes, like.sorted_indices, like.unsorted_indices)


def _packed_mask(batch_sizes):
    """(T, B) bool: step t of the b-th longest sequence exists (batch_sizes[t] are running)."""
    return torch.arange(int(batch_sizes[0]))[None, :] < batch_sizes[:, None]


def inverted_dropout(x, p):
    """Inverted dropout: each entry zeroed with probability p, the rest scaled by 1/(1 - p).

    Written out because torch.nn.functional.dropout goes through torch._VF.
    """
    if p >= 1:
        return torch.zeros_like(x)
    keep = torch.empty_like(x).bernoulli_(1 - p)
    return x * keep / (1 - p)


class LSTM(nn.Module):
    """A from-scratch drop-in replacement for torch.nn.LSTM (without proj_size).

    LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, device=None, dtype=None) has nn.LSTM's parameters, names and
    shapes: for layer k, weight_ih_l{k} (4H, I_k), weight_hh_l{k} (4H, H), bias_ih_l{k},
    bias_hh_l{k} (4H,) and the same with the suffix _reverse for the backward direction,
    where I_0 = input_size and I_k = H * num_directions above. So state dicts load both ways.

    forward(input, hx=None, lengths=None) -> (output, (h_n, c_n)):
      input  (T, B, I), or (B, T, I) when batch_first, or (T, I) for one sequence, or a
             PackedSequence; `lengths` (B,) marks a padded tensor's sequence lengths.
      hx     (h0, c0), each (num_layers * num_directions, B, H); zeros when None.
      output (T, B, num_directions * H) (batch-first if batch_first): the top layer's
             hidden states, both directions concatenated; zeros past each sequence's end;
             a PackedSequence for a PackedSequence input.
      h_n, c_n (num_layers * num_directions, B, H): the final states, layer by layer,
             forward then backward; with lengths, each sequence's own last step.
    Dropout acts on the outputs of every layer except the last, in training mode only.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__()
        if not (isinstance(num_layers, int) and num_layers >= 1):
            raise ValueError(f"num_layers must be an integer >= 1; got {num_layers!r}")
        if not 0 <= dropout <= 1:
            raise ValueError(f"dropout must be a probability in [0, 1]; got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"dropout acts between layers only, so dropout={dropout} does "
                          f"nothing with num_layers=1", stacklevel=2)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        directions = 2 if bidirectional else 1
        H4 = 4 * hidden_size
        for k in range(num_layers):  # registered in nn.LSTM's order, so state dicts match
            width = input_size if k == 0 else hidden_size * directions
            for suffix in self._suffixes():
                name = f"l{k}{suffix}"
                self.register_parameter(f"weight_ih_{name}", nn.Parameter(
                    torch.empty(H4, width, device=device, dtype=dtype)))
                self.register_parameter(f"weight_hh_{name}", nn.Parameter(
                    torch.empty(H4, hidden_size, device=device, dtype=dtype)))
                if bias:
                    self.register_parameter(f"bias_ih_{name}", nn.Parameter(
                        torch.empty(H4, device=device, dtype=dtype)))
                    self.register_parameter(f"bias_hh_{name}", nn.Parameter(
                        torch.empty(H4, device=device, dtype=dtype)))
        self.reset_parameters()

    def _suffixes(self):
        return ("", "_reverse") if self.bidirectional else ("",)

    def reset_parameters(self):
        """nn.LSTM's initialisation: every parameter uniform in [-1/sqrt(H), 1/sqrt(H)]."""
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        defaults = dict(num_layers=1, bias=True, batch_first=False, dropout=0.0,
                        bidirectional=False)
        return s + "".join(f", {k}={getattr(self, k)}" for k, v in defaults.items()
                           if getattr(self, k) != v)

    def _weights(self, k, suffix):
        """(w_ih, w_hh, b_ih, b_hh) of layer k in one direction; biases None without bias."""
        name = f"l{k}{suffix}"
        return (getattr(self, f"weight_ih_{name}"), getattr(self, f"weight_hh_{name}"),
                getattr(self, f"bias_ih_{name}", None), getattr(self, f"bias_hh_{name}", None))

    def forward(self, input, hx=None, lengths=None):
        x, lengths, batched = self._time_major(input, lengths)
        T, B, _ = x.shape
        h0, c0 = self._initial_state(hx, B, x, batched)
        h_n, c_n = [], []
        for k in range(self.num_layers):
            outs = []
            for d, suffix in enumerate(self._suffixes()):
                j = k * len(self._suffixes()) + d  # the index of (layer k, direction d) in hx
                out, (h, c) = _run_direction(x, h0[j], c0[j], self._weights(k, suffix),
                                             lengths, reverse=d == 1)
                outs.append(out)
                h_n.append(h)
                c_n.append(c)
            x = torch.cat(outs, dim=2) if len(outs) > 1 else outs[0]
            if self.training and self.dropout > 0 and k < self.num_layers - 1:
                x = inverted_dropout(x, self.dropout)
        state = (torch.stack(h_n), torch.stack(c_n))
        if isinstance(input, PackedSequence):
            return pack_like(x, input), state
        if not batched:
            return x[:, 0], (state[0][:, 0], state[1][:, 0])
        return (x.transpose(0, 1) if self.batch_first else x), state

    def _time_major(self, input, lengths):
        """(x (T, B, I), lengths or None, whether the input had a batch axis)."""
        if isinstance(input, PackedSequence):
            if lengths is not None:
                raise ValueError("give lengths or a PackedSequence, not both")
            x, lengths = unpack_sequence(input)
            _expect("the PackedSequence's data", input.data, (None, self.input_size), "N, I")
            return x, lengths, True
        layout = "B, T, I" if self.batch_first else "T, B, I"
        if not isinstance(input, Tensor) or input.dim() not in (2, 3):
            _expect("input", input, (None, None, self.input_size), layout)
        if input.dim() == 2:
            _expect("input", input, (None, self.input_size), "T, I")
            x = input[:, None]
        else:
            _expect("input", input, (None, None, self.input_size), layout)
            x = input.transpose(0, 1) if self.batch_first else input
        if lengths is not None:
            lengths = _check_lengths(lengths, x.shape[1], x.shape[0])
        return x, lengths, input.dim() == 3

    def _initial_state(self, hx, B, x, batched):
        """(h0, c0), each (num_layers * num_directions, B, H)."""
        shape = (self.num_layers * len(self._suffixes()), B, self.hidden_size)
        if hx is None:
            zeros = x.new_zeros(shape)
            return zeros, zeros
        if not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise ValueError("hx must be a tuple (h0, c0)")
        dims = "num_layers * num_directions, B, H" if batched else "num_layers * num_directions, H"
        for name, s in zip(("h0", "c0"), hx, strict=True):
            _expect(f"hx's {name}", s, shape if batched else (shape[0], shape[2]), dims)
        return hx if batched else (hx[0][:, None], hx[1][:, None])


def _run_direction(x, h0, c0, weights, lengths, reverse):
    """One direction of one layer: out (T, B, H), (h_n, c_n)."""
    if lengths is not None:
        return masked_lstm_layer(x, lengths, h0, c0, *weights, reverse=reverse)
    if not reverse:
        return lstm_layer(x, h0, c0, *weights)
    # The backward direction is the forward recurrence run on the time-reversed sequence,
    # its outputs flipped back so that out[t] belongs to step t.
    out, state = lstm_layer(x.flip(0), h0, c0, *weights)
    return out.flip(0), state


class LearnableInitLSTM(nn.Module):
    """An LSTM whose initial state (h0, c0) is learned instead of fixed at zero.

    lstm: any module with torch.nn.LSTM's interface (ours, or torch.nn.LSTM itself).
    Parameters: h0, c0 of shape (num_layers * num_directions, 1, H), zeros at first,
    shared by every sequence of a batch.
    forward(input) -> lstm(input, (h0, c0) expanded to the batch): input (T, B, I),
    (B, T, I) when lstm.batch_first, or a PackedSequence.
    """

    def __init__(self, lstm):
        super().__init__()
        self.lstm = lstm
        directions = 2 if lstm.bidirectional else 1
        like = next(lstm.parameters())
        shape = (lstm.num_layers * directions, 1, lstm.hidden_size)
        self.h0 = nn.Parameter(torch.zeros(shape, dtype=like.dtype, device=like.device))
        self.c0 = nn.Parameter(torch.zeros(shape, dtype=like.dtype, device=like.device))

    def forward(self, input):
        if isinstance(input, PackedSequence):
            B = int(input.batch_sizes[0])
        else:
            _expect("input", input, (None, None, None), "B, T, I" if self.lstm.batch_first
                    else "T, B, I")
            B = input.shape[0 if self.lstm.batch_first else 1]
        # expand makes a view with a batch axis of stride 0: no copy, and autograd sums
        # the gradients of all B rows into h0 and c0.
        return self.lstm(input, (self.h0.expand(-1, B, -1), self.c0.expand(-1, B, -1)))
