"""Posted torch code: see tests/posted/__init__.py.

PyTorch LSTMs in the styles they are posted in (an nn.Module with one nn.Parameter per
gate, a layer class, a compact nn.LSTM look-alike), each fitted to an exercise of
chapters 11 and 12 by a thin adapter that keeps its bug.
"""

from tests.posted import Post

NEVER_CARRIED = "each step starts again from h0 and c0"
H_FOR_C = "uses h_prev where it needs c_prev"
STOPS_EARLY = "range(T - 1)"
H_FROM_G = "h = o * tanh(g)"
FROM_ZEROS = "ignores the state it is given and starts from zeros"

# The skeleton of a NaiveLSTM as blogs post it: one nn.Parameter per gate and input,
# PyTorch's initialisation; `STEP` is filled in with the post's loop.
NAIVE = '''
import math
import torch
import torch.nn as nn


class NaiveLSTM(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        for gate in "ifgo":
            setattr(self, "W_i" + gate, nn.Parameter(torch.empty(hidden_size, input_size)))
            setattr(self, "W_h" + gate, nn.Parameter(torch.empty(hidden_size, hidden_size)))
            setattr(self, "b_i" + gate, nn.Parameter(torch.empty(hidden_size)))
            setattr(self, "b_h" + gate, nn.Parameter(torch.empty(hidden_size)))
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            weight.data.uniform_(-stdv, stdv)

    def forward(self, x, init_states=None):
        bs, seq_sz, _ = x.size()
        hidden_seq = []
        if init_states is None:
            h_t = torch.zeros(bs, self.hidden_size, dtype=x.dtype)
            c_t = torch.zeros(bs, self.hidden_size, dtype=x.dtype)
        else:
            h_t, c_t = init_states
STEP
'''


# A masked layer as posted for padded batches: a float mask blends the new state with the
# old; CELL_UPDATE is the new cell state, STATE the (h, c) the gates read.
MASKED = '''
import torch


def masked_lstm_layer(x, lengths, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
    T, B, _ = x.shape
    lengths = torch.as_tensor(lengths)
    mask = (torch.arange(T)[:, None] < lengths[None, :]).unsqueeze(-1).to(x.dtype)
    h, c = h0, c0
    outs = [None] * T
    for t in (reversed(range(T)) if reverse else range(T)):
        h_in, c_in = STATE
        gates = x[t] @ w_ih.T + h_in @ w_hh.T
        if b_ih is not None:
            gates = gates + b_ih
        if b_hh is not None:
            gates = gates + b_hh
        i, f, g, o = gates.chunk(4, 1)
        c_new = CELL_UPDATE
        h_new = o.sigmoid() * c_new.tanh()
        m = mask[t]
        h = m * h_new + (1 - m) * h
        c = m * c_new + (1 - m) * c
        outs[t] = h * m
    return torch.stack(outs), (h, c)
'''


def naive(step):
    """The NaiveLSTM post with the loop `step` (indented for forward's body)."""
    return NAIVE.replace("STEP\n", step)


POSTS: list[Post] = [
    # ------------------------------------------------------------------ NaiveLSTM
    Post("torch-naive-never-carried", "NaiveLSTM", naive('''\
        for t in range(seq_sz):
            x_t = x[:, t, :]
            i_t = torch.sigmoid(x_t @ self.W_ii.T + self.b_ii + h_t @ self.W_hi.T + self.b_hi)
            f_t = torch.sigmoid(x_t @ self.W_if.T + self.b_if + h_t @ self.W_hf.T + self.b_hf)
            g_t = torch.tanh(x_t @ self.W_ig.T + self.b_ig + h_t @ self.W_hg.T + self.b_hg)
            o_t = torch.sigmoid(x_t @ self.W_io.T + self.b_io + h_t @ self.W_ho.T + self.b_ho)
            c_next = f_t * c_t + i_t * g_t
            h_next = o_t * torch.tanh(c_next)
            hidden_seq.append(h_next.unsqueeze(1))
        hidden_seq = torch.cat(hidden_seq, dim=1)
        return hidden_seq, (h_next, c_next)
'''), NEVER_CARRIED, "h_next, c_next computed, h_t, c_t never updated"),
    Post("torch-naive-c-from-h", "NaiveLSTM", naive('''\
        for t in range(seq_sz):
            x_t = x[:, t, :]
            i_t = torch.sigmoid(x_t @ self.W_ii.T + self.b_ii + h_t @ self.W_hi.T + self.b_hi)
            f_t = torch.sigmoid(x_t @ self.W_if.T + self.b_if + h_t @ self.W_hf.T + self.b_hf)
            g_t = torch.tanh(x_t @ self.W_ig.T + self.b_ig + h_t @ self.W_hg.T + self.b_hg)
            o_t = torch.sigmoid(x_t @ self.W_io.T + self.b_io + h_t @ self.W_ho.T + self.b_ho)
            c_t = f_t * h_t + i_t * g_t
            h_t = o_t * torch.tanh(c_t)
            hidden_seq.append(h_t.unsqueeze(0))
        hidden_seq = torch.cat(hidden_seq, dim=0).transpose(0, 1).contiguous()
        return hidden_seq, (h_t, c_t)
'''), H_FOR_C, "c_t = f_t * h_t + i_t * g_t"),
    Post("torch-naive-h-from-g", "NaiveLSTM", naive('''\
        for t in range(seq_sz):
            x_t = x[:, t, :]
            gates = {}
            for k, act in zip("ifgo", (torch.sigmoid, torch.sigmoid, torch.tanh, torch.sigmoid)):
                W_i, W_h = getattr(self, "W_i" + k), getattr(self, "W_h" + k)
                b = getattr(self, "b_i" + k) + getattr(self, "b_h" + k)
                gates[k] = act(x_t @ W_i.T + h_t @ W_h.T + b)
            c_t = gates["f"] * c_t + gates["i"] * gates["g"]
            h_t = gates["o"] * torch.tanh(gates["g"])
            hidden_seq.append(h_t)
        return torch.stack(hidden_seq, dim=1), (h_t, c_t)
'''), H_FROM_G, "h from the candidate"),
    Post("torch-naive-range-minus-one", "NaiveLSTM", naive('''\
        for t in range(seq_sz - 1):
            x_t = x[:, t, :]
            i_t = torch.sigmoid(x_t @ self.W_ii.T + self.b_ii + h_t @ self.W_hi.T + self.b_hi)
            f_t = torch.sigmoid(x_t @ self.W_if.T + self.b_if + h_t @ self.W_hf.T + self.b_hf)
            g_t = torch.tanh(x_t @ self.W_ig.T + self.b_ig + h_t @ self.W_hg.T + self.b_hg)
            o_t = torch.sigmoid(x_t @ self.W_io.T + self.b_io + h_t @ self.W_ho.T + self.b_ho)
            c_t = f_t * c_t + i_t * g_t
            h_t = o_t * torch.tanh(c_t)
            hidden_seq.append(h_t)
        return torch.stack(hidden_seq, dim=1), (h_t, c_t)
'''), STOPS_EARLY, "range(seq_sz - 1)"),
    Post("torch-naive-state-ignored", "NaiveLSTM", naive('''\
        h_t = torch.zeros(bs, self.hidden_size, dtype=x.dtype)  # reset for each batch
        c_t = torch.zeros(bs, self.hidden_size, dtype=x.dtype)
        for t in range(seq_sz):
            x_t = x[:, t, :]
            i_t = torch.sigmoid(x_t @ self.W_ii.T + self.b_ii + h_t @ self.W_hi.T + self.b_hi)
            f_t = torch.sigmoid(x_t @ self.W_if.T + self.b_if + h_t @ self.W_hf.T + self.b_hf)
            g_t = torch.tanh(x_t @ self.W_ig.T + self.b_ig + h_t @ self.W_hg.T + self.b_hg)
            o_t = torch.sigmoid(x_t @ self.W_io.T + self.b_io + h_t @ self.W_ho.T + self.b_ho)
            c_t = f_t * c_t + i_t * g_t
            h_t = o_t * torch.tanh(c_t)
            hidden_seq.append(h_t)
        return torch.stack(hidden_seq, dim=1), (h_t, c_t)
'''), "the initial state is ignored", "the state reset to zeros"),
    Post("torch-naive-f-and-g-mixed", "NaiveLSTM", naive('''\
        for t in range(seq_sz):
            x_t = x[:, t, :]
            i_t = torch.sigmoid(x_t @ self.W_ii.T + self.b_ii + h_t @ self.W_hi.T + self.b_hi)
            f_t = torch.sigmoid(x_t @ self.W_ig.T + self.b_ig + h_t @ self.W_hg.T + self.b_hg)
            g_t = torch.tanh(x_t @ self.W_if.T + self.b_if + h_t @ self.W_hf.T + self.b_hf)
            o_t = torch.sigmoid(x_t @ self.W_io.T + self.b_io + h_t @ self.W_ho.T + self.b_ho)
            c_t = f_t * c_t + i_t * g_t
            h_t = o_t * torch.tanh(c_t)
            hidden_seq.append(h_t)
        return torch.stack(hidden_seq, dim=1), (h_t, c_t)
'''), "the gates f and g are mixed up", "copy-paste: f reads g's parameters"),
    # ------------------------------------------------------------------ fused_lstm_cell
    Post("torch-cell-c-from-h", "fused_lstm_cell", '''
        import torch

        def fused_lstm_cell(x_proj_t, h, c, w_hh, b_hh=None):
            gates = x_proj_t + torch.mm(h, w_hh.t())
            if b_hh is not None:
                gates += b_hh
            ingate, forgetgate, cellgate, outgate = gates.chunk(4, 1)
            ingate = torch.sigmoid(ingate)
            forgetgate = torch.sigmoid(forgetgate)
            cellgate = torch.tanh(cellgate)
            outgate = torch.sigmoid(outgate)
            cy = (forgetgate * h) + (ingate * cellgate)
            hy = outgate * torch.tanh(cy)
            return hy, cy
        ''', H_FOR_C, "cy from h"),
    Post("torch-cell-h-from-g", "fused_lstm_cell", '''
        import torch

        def fused_lstm_cell(x_proj_t, h, c, w_hh, b_hh=None):
            z = x_proj_t + h @ w_hh.T + (b_hh if b_hh is not None else 0)
            H = h.shape[1]
            i, f, o = (torch.sigmoid(z[:, k * H:(k + 1) * H]) for k in (0, 1, 3))
            g = torch.tanh(z[:, 2 * H:3 * H])
            c_next = f * c + i * g
            return o * torch.tanh(g), c_next
        ''', H_FROM_G, "h from the candidate"),
    Post("torch-cell-zero-state", "fused_lstm_cell", '''
        import torch

        def fused_lstm_cell(x_proj_t, h, c, w_hh, b_hh=None):
            B, H = x_proj_t.shape[0], w_hh.shape[1]
            hx = x_proj_t.new_zeros(B, H)
            cx = x_proj_t.new_zeros(B, H)
            gates = x_proj_t + hx @ w_hh.t()
            if b_hh is not None:
                gates = gates + b_hh
            i, f, g, o = gates.chunk(4, dim=1)
            cy = torch.sigmoid(f) * cx + torch.sigmoid(i) * torch.tanh(g)
            return torch.sigmoid(o) * torch.tanh(cy), cy
        ''', FROM_ZEROS, "hx, cx made afresh"),
    # ------------------------------------------------------------------ lstm_layer
    Post("torch-layer-class-never-carried", "lstm_layer", '''
        import torch

        class LSTMLayer:
            def __init__(self, w_ih, w_hh, b_ih=None, b_hh=None):
                self.w_ih, self.w_hh = w_ih, w_hh
                zeros = w_ih.new_zeros(w_ih.shape[0])
                self.b = (b_ih if b_ih is not None else zeros) + \\
                    (b_hh if b_hh is not None else zeros)

            def cell(self, x, state):
                hx, cx = state
                gates = x @ self.w_ih.t() + hx @ self.w_hh.t() + self.b
                i, f, g, o = gates.chunk(4, 1)
                cy = torch.sigmoid(f) * cx + torch.sigmoid(i) * torch.tanh(g)
                return torch.sigmoid(o) * torch.tanh(cy), cy

            def __call__(self, inputs, state):
                outputs = []
                for x in inputs.unbind(0):
                    out_state = self.cell(x, state)
                    outputs.append(out_state[0])
                return torch.stack(outputs), out_state

        def lstm_layer(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None):
            return LSTMLayer(w_ih, w_hh, b_ih, b_hh)(x, (h0, c0))
        ''', NEVER_CARRIED, "a layer class whose loop keeps the first state"),
    Post("torch-layer-c-from-h", "lstm_layer", '''
        import torch

        def lstm_layer(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None):
            T = x.size(0)
            xw = torch.nn.functional.linear(x, w_ih, b_ih)
            h, c = h0, c0
            out = []
            for t in range(T):
                z = xw[t] + torch.nn.functional.linear(h, w_hh, b_hh)
                i, f, g, o = torch.split(z, w_hh.shape[1], dim=1)
                c = torch.sigmoid(f) * h + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                out += [h]
            return torch.stack(out, 0), (h, c)
        ''', H_FOR_C, "F.linear, h in the cell update"),
    Post("torch-layer-range-minus-one", "lstm_layer", '''
        import torch

        def lstm_layer(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None):
            T, B, _ = x.shape
            H = w_hh.shape[1]
            out = x.new_zeros(T - 1, B, H)
            h, c = h0, c0
            for t in range(T - 1):
                gates = x[t] @ w_ih.T + h @ w_hh.T
                if b_ih is not None:
                    gates = gates + b_ih + b_hh
                i, f, g, o = gates.chunk(4, 1)
                c = f.sigmoid() * c + i.sigmoid() * g.tanh()
                h = o.sigmoid() * c.tanh()
                out[t] = h
            return out, (h, c)
        ''', STOPS_EARLY, "preallocated T - 1 outputs"),
    # ------------------------------------------------------------------ masked_lstm_layer
    Post("torch-masked-c-from-h", "masked_lstm_layer", MASKED.replace(
        "CELL_UPDATE", "f.sigmoid() * h_in + i.sigmoid() * g.tanh()").replace("STATE", "h, c"),
        H_FOR_C, "a padded batch, mask arithmetic, h in the cell update"),
    Post("torch-masked-never-carried", "masked_lstm_layer", MASKED.replace(
        "CELL_UPDATE", "f.sigmoid() * c_in + i.sigmoid() * g.tanh()").replace("STATE", "h0, c0"),
        NEVER_CARRIED, "a padded batch whose steps restart from h0, c0"),
    # ------------------------------------------------------------------ LSTM
    Post("torch-lstm-module-never-carried", "LSTM", '''
        import math
        import torch
        from torch import nn

        class LSTM(nn.Module):
            """nn.LSTM's interface, without projections."""

            def __init__(self, input_size, hidden_size, num_layers=1, bias=True,
                         batch_first=False, dropout=0.0, bidirectional=False, proj_size=0):
                super().__init__()
                self.hidden_size, self.num_layers, self.bias = hidden_size, num_layers, bias
                self.batch_first, self.dirs = batch_first, 2 if bidirectional else 1
                for k in range(num_layers):
                    for sfx in ("", "_reverse")[:self.dirs]:
                        I = input_size if k == 0 else self.dirs * hidden_size
                        H4 = 4 * hidden_size
                        setattr(self, f"weight_ih_l{k}{sfx}", nn.Parameter(torch.empty(H4, I)))
                        setattr(self, f"weight_hh_l{k}{sfx}",
                                nn.Parameter(torch.empty(H4, hidden_size)))
                        if bias:
                            setattr(self, f"bias_ih_l{k}{sfx}", nn.Parameter(torch.empty(H4)))
                            setattr(self, f"bias_hh_l{k}{sfx}", nn.Parameter(torch.empty(H4)))
                self.reset_parameters()

            def reset_parameters(self):
                bound = 1 / math.sqrt(self.hidden_size)
                for p in self.parameters():
                    nn.init.uniform_(p, -bound, bound)

            def _run(self, x, h0, c0, name, reverse):
                w_ih, w_hh = getattr(self, "weight_ih_" + name), getattr(self, "weight_hh_" + name)
                b = (getattr(self, "bias_ih_" + name) + getattr(self, "bias_hh_" + name)
                     if self.bias else 0)
                T = x.shape[0]
                outs = [None] * T
                for t in (range(T - 1, -1, -1) if reverse else range(T)):
                    i, f, g, o = (x[t] @ w_ih.T + h0 @ w_hh.T + b).chunk(4, 1)
                    c = torch.sigmoid(f) * c0 + torch.sigmoid(i) * torch.tanh(g)
                    h = torch.sigmoid(o) * torch.tanh(c)
                    outs[t] = h
                return torch.stack(outs), h, c

            def forward(self, x, hx=None):
                if self.batch_first:
                    x = x.transpose(0, 1)
                LD, B = self.num_layers * self.dirs, x.shape[1]
                if hx is None:
                    zeros = x.new_zeros(LD, B, self.hidden_size)
                    hx = (zeros, zeros)
                h_n, c_n = [], []
                for k in range(self.num_layers):
                    outs = []
                    for d, sfx in enumerate(("", "_reverse")[:self.dirs]):
                        j = k * self.dirs + d
                        out, h, c = self._run(x, hx[0][j], hx[1][j], f"l{k}{sfx}", d == 1)
                        outs.append(out)
                        h_n.append(h)
                        c_n.append(c)
                    x = torch.cat(outs, 2)
                out = x.transpose(0, 1) if self.batch_first else x
                return out, (torch.stack(h_n), torch.stack(c_n))
        ''', NEVER_CARRIED, "an nn.LSTM look-alike whose steps restart from hx"),

    # ------------------------------------------------------------------ correct, unusual
    Post("torch-naive-gate-helper", "NaiveLSTM", naive('''\
        def gate(k, act, x_t, h):
            return act(x_t @ getattr(self, "W_i" + k).T + getattr(self, "b_i" + k)
                       + h @ getattr(self, "W_h" + k).T + getattr(self, "b_h" + k))

        for x_t in x.unbind(1):
            i, f = gate("i", torch.sigmoid, x_t, h_t), gate("f", torch.sigmoid, x_t, h_t)
            g, o = gate("g", torch.tanh, x_t, h_t), gate("o", torch.sigmoid, x_t, h_t)
            c_t = torch.addcmul(f * c_t, i, g)
            h_t = o * c_t.tanh()
            hidden_seq.append(h_t)
        return torch.stack(hidden_seq, 1), (h_t, c_t)
'''), None, "a gate helper, unbind, addcmul"),
    Post("torch-naive-column-vectors", "NaiveLSTM", naive('''\
        # the textbook's column form: W @ x_t with x_t (I, B)
        h_col, c_col = h_t.T, c_t.T
        for t in range(seq_sz):
            x_col = x[:, t].T
            pre = {k: getattr(self, "W_i" + k) @ x_col + getattr(self, "W_h" + k) @ h_col
                   + (getattr(self, "b_i" + k) + getattr(self, "b_h" + k))[:, None]
                   for k in "ifgo"}
            c_col = torch.sigmoid(pre["f"]) * c_col + torch.sigmoid(pre["i"]) * torch.tanh(pre["g"])
            h_col = torch.sigmoid(pre["o"]) * torch.tanh(c_col)
            hidden_seq.append(h_col.T)
        return torch.stack(hidden_seq, 1), (h_col.T, c_col.T)
'''), None, "column vectors inside the module"),
    Post("torch-cell-einsum-split", "fused_lstm_cell", '''
        import torch

        def fused_lstm_cell(x_proj_t, h, c, w_hh, b_hh=None):
            pre = x_proj_t + torch.einsum("bh,gh->bg", h, w_hh)
            if b_hh is not None:
                pre = pre + b_hh
            in_g, forget_g, cand, out_g = torch.split(pre, h.shape[-1], dim=-1)
            c_new = forget_g.sigmoid() * c + in_g.sigmoid() * cand.tanh()
            return out_g.sigmoid() * c_new.tanh(), c_new
        ''', None, "einsum and torch.split"),
    Post("torch-masked-mask-arithmetic", "masked_lstm_layer", MASKED.replace(
        "CELL_UPDATE", "f.sigmoid() * c_in + i.sigmoid() * g.tanh()").replace("STATE", "h, c"),
        None, "a float mask instead of torch.where"),
    Post("torch-layer-module-adapted", "lstm_layer", '''
        import torch
        from torch import nn

        class Cell(nn.Module):
            def forward(self, xw, state, w_hh, b_hh):
                h, c = state
                z = xw + h @ w_hh.T
                if b_hh is not None:
                    z = z + b_hh
                i, f, g, o = z.chunk(4, -1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                return torch.sigmoid(o) * torch.tanh(c), c

        def lstm_layer(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None):
            cell, state, outputs = Cell(), (h0, c0), []
            xw = torch.nn.functional.linear(x, w_ih, b_ih)
            for step in xw:
                state = cell(step, state, w_hh, b_hh)
                outputs.append(state[0])
            return torch.stack(outputs), state
        ''', None, "an nn.Module cell adapted by a function"),
]
