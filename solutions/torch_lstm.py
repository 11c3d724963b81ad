"""An LSTM in PyTorch, from scratch: a naive module, a fused cell and a drop-in nn.LSTM.

Conventions (those of torch.nn.LSTM; see book/91_conventions.ipynb). Weights are (out, in), and the
four row blocks of W_ih (4H, I) and W_hh (4H, H) are the gates in the order i, f, g, o:

    gates = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh          (B, 4H)
    i, f, o = sigmoid(.)    g = tanh(.)    c_next = f * c + i * g    h_next = o * tanh(c_next)

With projections (nn.LSTM's proj_size = P > 0; Sak et al. 2014), h_next is multiplied
by W_hr (P, H) once more, h_next = (o * tanh(c_next)) @ W_hr.T, so h is (B, P), c stays
(B, H) and W_hh is (4H, P).

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
import numbers
import warnings

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from solutions.shapes import expect_shape


class ShapeError(ValueError, RuntimeError):
    """A tensor of the wrong shape: a ValueError, as for every bad input to the solutions,
    and a RuntimeError, which is what torch.nn.LSTM raises for an input or a state of the
    wrong size, so that code written to catch either catches ours."""


def expect_tensor(name, tensor, shape, dims):
    """Check that `tensor` is a tensor of the given shape (None: any size) or raise ShapeError."""
    if not isinstance(tensor, Tensor):
        raise ShapeError(f"{name} must be a tensor of shape ({dims}); got {type(tensor).__name__}")
    try:
        expect_shape(name, tensor.shape, shape, dims)
    except ValueError as error:
        raise ShapeError(str(error)) from None


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
        expect_tensor("x", x, (None, None, self.input_size), "B, T, I")
        B, T, _ = x.shape
        if state is None:
            h = c = x.new_zeros(B, self.hidden_size)
        else:
            h, c = state
            expect_tensor("h0", h, (B, self.hidden_size), "B, H")
            expect_tensor("c0", c, (B, self.hidden_size), "B, H")
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
               b_ih: Tensor | None = None, b_hh: Tensor | None = None,
               w_hr: Tensor | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """One LSTM layer over a whole sequence, the input projection hoisted out of the loop.

    Inputs:  x (T, B, I) time-major; h0, c0 (B, H); w_ih (4H, I); w_hh (4H, H);
             b_ih, b_hh (4H,) or None; w_hr (P, H) or None: the projection of
             nn.LSTM(proj_size=P), which makes h0, h_T and out's rows (B, P), w_hh (4H, P).
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
        if w_hr is not None:  # the projected h is what the next step and layer read
            h = h @ w_hr.t()
        out.append(h)
    return torch.stack(out), (h, c)


def masked_lstm_layer(x, lengths, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False,
                      w_hr=None):
    """`lstm_layer` for a padded batch of sequences of different lengths.

    Inputs:  x (T, B, I) time-major, padded: sequence b is x[:lengths[b], b];
             lengths (B,) integers in 1..T (a tensor or a list); the rest as `lstm_layer`
             (w_hr: the optional projection).
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
        if w_hr is not None:
            h_next = h_next @ w_hr.t()
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
    """A from-scratch drop-in replacement for torch.nn.LSTM.

    LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, proj_size=0, device=None, dtype=None) takes nn.LSTM's arguments
    and rejects the values it rejects, with the same exception types. Write H for
    hidden_size, P for proj_size, R = P if P > 0 else H (the size of h), L for num_layers
    and D = 2 if bidirectional else 1. The parameters have nn.LSTM's names, shapes and
    order, so state dicts load both ways: for layer k and each direction (suffix "" or
    "_reverse"), weight_ih_l{k} (4H, I_k), weight_hh_l{k} (4H, R), bias_ih_l{k} and
    bias_hh_l{k} (4H,) unless bias=False, weight_hr_l{k} (P, H) if P > 0, where
    I_0 = input_size and I_k = D * R above.

    forward(input, hx=None, lengths=None) -> (output, (h_n, c_n)):
      input  (T, B, I), or (B, T, I) when batch_first, or (T, I) for one sequence, or a
             PackedSequence; `lengths` (B,) marks a padded tensor's sequence lengths.
      hx     (h0, c0): h0 (L * D, B, R), c0 (L * D, B, H), or (L * D, R) and (L * D, H)
             for one sequence; zeros when None.
      output (T, B, D * R), or (B, T, D * R) when batch_first, or (T, D * R) for one
             sequence: the top layer's h at every step, both directions concatenated;
             zeros past each sequence's end; a PackedSequence for a PackedSequence input.
      h_n (L * D, B, R), c_n (L * D, B, H) (no B axis for one sequence): the final
             states, layer by layer, forward then backward; with lengths, the state after
             each sequence's own last step.
    Dropout acts on the outputs of every layer except the last, in training mode only.
    A wrong shape raises ShapeError, a RuntimeError as nn.LSTM's errors and a ValueError.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.bidirectional = bias, batch_first, bidirectional
        self.dropout = float(dropout)  # first, as in nn.LSTM: dropout=None is a TypeError
        self.proj_size = proj_size
        _check_lstm_arguments(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                              proj_size)
        H4, R = 4 * hidden_size, self._h_size()

        def parameter(*shape):
            return nn.Parameter(torch.empty(shape, device=device, dtype=dtype))

        for k in range(num_layers):  # registered in nn.LSTM's order, so state dicts match
            width = input_size if k == 0 else R * len(self._suffixes())
            for suffix in self._suffixes():
                name = f"l{k}{suffix}"
                self.register_parameter(f"weight_ih_{name}", parameter(H4, width))
                self.register_parameter(f"weight_hh_{name}", parameter(H4, R))
                if bias:
                    self.register_parameter(f"bias_ih_{name}", parameter(H4))
                    self.register_parameter(f"bias_hh_{name}", parameter(H4))
                if proj_size > 0:
                    self.register_parameter(f"weight_hr_{name}",
                                            parameter(proj_size, hidden_size))
        self.reset_parameters()

    def _suffixes(self):
        return ("", "_reverse") if self.bidirectional else ("",)

    def _h_size(self):
        """R, the size of h: proj_size with a projection, else hidden_size."""
        return self.proj_size if self.proj_size > 0 else self.hidden_size

    def reset_parameters(self):
        """nn.LSTM's initialisation: every parameter uniform in [-1/sqrt(H), 1/sqrt(H)]."""
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def flatten_parameters(self):
        """nn.LSTM copies its weights into one buffer for cuDNN here; ours have nothing to do."""

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        defaults = dict(proj_size=0, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                        bidirectional=False)
        return s + "".join(f", {k}={getattr(self, k)}" for k, v in defaults.items()
                           if getattr(self, k) != v)

    def _weights(self, k, suffix):
        """(w_ih, w_hh, b_ih, b_hh, w_hr) of layer k in one direction; None where absent."""
        name = f"l{k}{suffix}"
        return (getattr(self, f"weight_ih_{name}"), getattr(self, f"weight_hh_{name}"),
                getattr(self, f"bias_ih_{name}", None), getattr(self, f"bias_hh_{name}", None),
                getattr(self, f"weight_hr_{name}", None))

    def forward(self, input, hx=None, lengths=None):
        x, lengths, batched = self._time_major(input, lengths)
        h0, c0 = self._initial_state(hx, x, batched)
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
        """(x (T, B, I), lengths or None, whether the input had a batch axis).

        Raises where nn.LSTM raises: ShapeError for a wrong shape, ValueError for a dtype
        other than the parameters'.
        """
        if isinstance(input, PackedSequence):
            if lengths is not None:
                raise ValueError("give lengths or a PackedSequence, not both")
            expect_tensor("the PackedSequence's data", input.data, (None, self.input_size), "N, I")
            self._check_dtype(input.data)
            x, lengths = unpack_sequence(input)
            return x, lengths, True
        batched = isinstance(input, Tensor) and input.dim() == 3
        if batched:
            expect_tensor("input", input, (None, None, self.input_size),
                    "B, T, I" if self.batch_first else "T, B, I")
            x = input.transpose(0, 1) if self.batch_first else input
        else:  # one sequence (T, I): a batch of one
            expect_tensor("input", input, (None, self.input_size), "T, I")
            x = input[:, None]
        self._check_dtype(x)
        if x.shape[0] == 0:
            raise ShapeError(f"input must have at least one step; got shape {tuple(input.shape)}")
        if lengths is not None:
            lengths = _check_lengths(lengths, x.shape[1], x.shape[0])
        return x, lengths, batched

    def _check_dtype(self, x):
        want = self.weight_ih_l0.dtype
        if x.dtype != want:
            raise ValueError(f"input must have the parameters' dtype {want}; got {x.dtype} "
                             f"(convert the input with .to({want}) or the model with "
                             f".to({x.dtype}))")

    def _initial_state(self, hx, x, batched):
        """(h0, c0) for the time-major x: h0 (L * D, B, R), c0 (L * D, B, H)."""
        LD, B, H, R = self.num_layers * len(self._suffixes()), x.shape[1], self.hidden_size, \
            self._h_size()
        if hx is None:
            return x.new_zeros(LD, B, R), x.new_zeros(LD, B, H)
        if not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise ShapeError(f"hx must be a pair (h0, c0); got {type(hx).__name__}")
        R_name = "proj_size" if self.proj_size > 0 else "H"
        for name, state, size, size_name in (("h0", hx[0], R, R_name), ("c0", hx[1], H, "H")):
            if batched:
                expect_tensor(f"hx's {name}", state, (LD, B, size),
                        f"num_layers * num_directions, B, {size_name}")
            else:
                expect_tensor(f"hx's {name}", state, (LD, size),
                        f"num_layers * num_directions, {size_name}")
        return tuple(hx) if batched else (hx[0][:, None], hx[1][:, None])


def _check_lstm_arguments(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                          proj_size):
    """Raise what torch.nn.LSTM raises for these constructor arguments, in its order (its
    RNNBase.__init__), and warn as it does when dropout can have no effect."""
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Number) \
            or not 0 <= dropout <= 1:
        raise ValueError(f"dropout must be a number in [0, 1], the probability of zeroing "
                         f"an element; got {dropout!r}")
    if dropout > 0 and num_layers == 1:
        warnings.warn(f"dropout acts between layers only, so dropout={dropout} does "
                      f"nothing with num_layers=1", stacklevel=3)
    for name, value in (("bias", bias), ("batch_first", batch_first)):
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be a bool; got {type(value).__name__}")
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                        ("num_layers", num_layers)):
        if not isinstance(value, int):
            raise TypeError(f"{name} must be an int; got {type(value).__name__}")
        if value <= 0:
            raise ValueError(f"{name} must be greater than zero; got {value}")
    if not isinstance(proj_size, int):
        raise TypeError(f"proj_size must be an int; got {type(proj_size).__name__}")
    if proj_size < 0:
        raise ValueError(f"proj_size must be 0 (no projection) or positive; got {proj_size}")
    if proj_size >= hidden_size:
        raise ValueError(f"proj_size must be smaller than hidden_size = {hidden_size}; "
                         f"got {proj_size}")


def _run_direction(x, h0, c0, weights, lengths, reverse):
    """One direction of one layer: out (T, B, R), (h_n, c_n).

    weights: (w_ih, w_hh, b_ih, b_hh, w_hr), the biases and w_hr None where absent.
    """
    if lengths is not None:
        w_ih, w_hh, b_ih, b_hh, w_hr = weights
        return masked_lstm_layer(x, lengths, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse, w_hr)
    if not reverse:
        return lstm_layer(x, h0, c0, *weights)
    # The backward direction is the forward recurrence run on the time-reversed sequence,
    # its outputs flipped back so that out[t] belongs to step t.
    out, state = lstm_layer(x.flip(0), h0, c0, *weights)
    return out.flip(0), state


class LearnableInitLSTM(nn.Module):
    """An LSTM whose initial state (h0, c0) is learned instead of fixed at zero.

    lstm: any module with torch.nn.LSTM's interface (ours, or torch.nn.LSTM itself).
    Parameters: h0 of shape (num_layers * num_directions, 1, R) and c0 of shape
    (num_layers * num_directions, 1, H), R = proj_size or H (the size of h), zeros at
    first, shared by every sequence of a batch.
    forward(input) -> lstm(input, (h0, c0) expanded to the batch): input (T, B, I),
    (B, T, I) when lstm.batch_first, or a PackedSequence.
    """

    def __init__(self, lstm):
        super().__init__()
        self.lstm = lstm
        directions = 2 if lstm.bidirectional else 1
        like = next(lstm.parameters())
        LD, R = lstm.num_layers * directions, lstm.proj_size or lstm.hidden_size
        self.h0 = nn.Parameter(torch.zeros(LD, 1, R, dtype=like.dtype, device=like.device))
        self.c0 = nn.Parameter(torch.zeros(LD, 1, lstm.hidden_size, dtype=like.dtype,
                                           device=like.device))

    def forward(self, input):
        if isinstance(input, PackedSequence):
            B = int(input.batch_sizes[0])
        else:
            expect_tensor("input", input, (None, None, None), "B, T, I" if self.lstm.batch_first
                    else "T, B, I")
            B = input.shape[0 if self.lstm.batch_first else 1]
        # expand makes a view with a batch axis of stride 0: no copy, and autograd sums
        # the gradients of all B rows into h0 and c0.
        return self.lstm(input, (self.h0.expand(-1, B, -1), self.c0.expand(-1, B, -1)))
