"""References for the NumPy chapters, computed in float64 by PyTorch.

Each function takes and returns NumPy arrays (in the input dtype) and has the signature
of the exercise it stands in for. The book's weights are ported to torch.nn.RNN /
torch.nn.LSTMCell / torch.nn.LSTM by a transpose (gate order i, f, g, o is PyTorch's);
gradients come from torch autograd. Also here: the outputs and gradients of known
mistakes, made by changing what autograd sees (a detached state, a permuted gradient),
never by writing the LSTM out. torch is imported on first use.
"""

import numpy as np


def load_torch():
    import torch

    return torch


def tensor64(a, grad=True):
    """NumPy -> float64 torch tensor (that requires grad, by default)."""
    return load_torch().tensor(np.array(a, dtype=np.float64, order="C"), requires_grad=grad)


def _numpy(t, dtype):
    return t.detach().numpy().astype(dtype)


# ------------------------------------------------------------------------------ simple RNN

def _rnn_hs(x, h0, Wx, Wh, b):
    torch = load_torch()
    I, H = Wx.shape
    rnn = torch.nn.RNN(I, H, batch_first=True, dtype=torch.float64)
    params = dict(weight_ih_l0=Wx.T, weight_hh_l0=Wh.T, bias_ih_l0=b, bias_hh_l0=0 * b)
    hs, _ = torch.func.functional_call(rnn, params, (x, h0[None]))
    return hs


def rnn_forward(x, h0, Wx, Wh, b):
    """hs (B, T, H) from torch.nn.RNN with the book's weights."""
    with load_torch().no_grad():
        hs = _rnn_hs(*(tensor64(a) for a in (x, h0, Wx, Wh, b)))
    return _numpy(hs, x.dtype)


def rnn_step(x, h, Wx, Wh, b):
    """h_next (B, H): one step of torch.nn.RNN."""
    return rnn_forward(x[:, None], h, Wx, Wh, b)[:, 0]


def rnn_backward(dhs, x, h0, Wx, Wh, b):
    """Gradients of sum(dhs * hs) by torch autograd: dict x, h0, Wx, Wh, b."""
    args = {k: tensor64(a) for k, a in dict(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b).items()}
    _rnn_hs(*args.values()).backward(tensor64(dhs, grad=False))
    return {k: _numpy(a.grad, x.dtype) for k, a in args.items()}


# ------------------------------------------------------------------------------------ LSTM

def _lstm_scan(x, h0, c0, Wx, Wh, b):
    """hs, cs (B, T, H) from torch.nn.LSTMCell stepped over time (to expose every c)."""
    torch = load_torch()
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
    with load_torch().no_grad():
        hs, cs = _lstm_scan(*(tensor64(a) for a in (x, h0, c0, Wx, Wh, b)))
    return _numpy(hs, x.dtype), _numpy(cs, x.dtype)


def lstm_step(x, h, c, Wx, Wh, b):
    """(h_next, c_next), each (B, H): one step of torch.nn.LSTMCell."""
    hs, cs = lstm_forward(x[:, None], h, c, Wx, Wh, b)
    return hs[:, 0], cs[:, 0]


def lstm_backward(dhs, x, h0, c0, Wx, Wh, b):
    """Gradients of sum(dhs * hs) by torch autograd: dict x, h0, c0, Wx, Wh, b."""
    args = {k: tensor64(a) for k, a in dict(x=x, h0=h0, c0=c0, Wx=Wx, Wh=Wh, b=b).items()}
    hs, _ = _lstm_scan(*args.values())
    hs.backward(tensor64(dhs, grad=False))
    return {k: _numpy(a.grad, x.dtype) for k, a in args.items()}


def stacked_lstm_forward(x, layers, states=None):
    """(hs, final_states) of a stack of LSTM layers of any widths, each a one-layer
    torch.nn.LSTM reading the hidden states of the layer below. (One layer at a time, so
    that a stack equals its layers applied one after the other, bit for bit: chapter 5
    checks that.)"""
    torch = load_torch()
    B = x.shape[0]
    hs, finals = tensor64(x, grad=False), []
    for k, layer in enumerate(layers):
        I, H = layer["Wx"].shape[0], layer["Wh"].shape[0]
        lstm = torch.nn.LSTM(I, H, batch_first=True, dtype=torch.float64)
        params = dict(weight_ih_l0=tensor64(layer["Wx"].T, False),
                      weight_hh_l0=tensor64(layer["Wh"].T, False),
                      bias_ih_l0=tensor64(layer["b"], False),
                      bias_hh_l0=torch.zeros(4 * H, dtype=torch.float64))
        h0, c0 = ((tensor64(s, False) for s in states[k]) if states is not None
                  else (torch.zeros(B, H, dtype=torch.float64),) * 2)
        with torch.no_grad():
            hs, (h_n, c_n) = torch.func.functional_call(lstm, params, (hs, (h0[None], c0[None])))
        hs = hs.contiguous()  # as the next layer would get it from NumPy
        finals.append((_numpy(h_n[0], x.dtype), _numpy(c_n[0], x.dtype)))
    return _numpy(hs, x.dtype), finals


def masked_stack(x, layers, states=None, lengths=None, past_the_end="zero"):
    """A stack of LSTM layers over sequences of different lengths, run sequence by sequence.

    x (B, T, I); layers: list of {"Wx", "Wh", "b"}; states: list of (h0, c0) per layer or
    None; lengths (B,) or None. Sequence r runs over its first lengths[r] steps only, so
    its final states are those of its last valid step and its outputs past the end are
    zero, or, with past_the_end="step", one more LSTM step from the frozen states (what a
    loop that freezes the state but outputs every step's h gives).
    Returns (outputs (B, T, H_top), [(h_T, c_T) per layer]).
    """
    B, T, _ = x.shape
    widths = [layer["Wh"].shape[0] for layer in layers]
    if states is None:
        states = [(np.zeros((B, H), x.dtype),) * 2 for H in widths]
    outputs = np.zeros((B, T, widths[-1]), x.dtype)
    finals = [tuple(np.zeros_like(s) for s in pair) for pair in states]
    for r in range(B):
        n = T if lengths is None else int(lengths[r])
        row = [tuple(s[r:r + 1] for s in pair) for pair in states]
        if n:
            hs, row = stacked_lstm_forward(x[r:r + 1, :n], layers, row)
            outputs[r, :n] = hs[0]
        for t in range(n, T if past_the_end == "step" else n):
            inp = x[r:r + 1, t]
            for k, layer in enumerate(layers):
                inp = lstm_step(inp, *row[k], **layer)[0]
            outputs[r, t] = inp[0]
        for k, (h, c) in enumerate(row):
            finals[k][0][r], finals[k][1][r] = h[0], c[0]
    return outputs, finals


# ------------------------------------------------------------------- known LSTM mistakes

# Mistakes in a hand-written backward pass, by the gradients they give. Each is made by
# changing what autograd differentiates, around torch's own LSTM cell.
BACKWARD_MISTAKES = {
    "gate blocks of dz in the order i, f, o, g": "ifog",
    "gate blocks of dz in the order i, g, f, o": "igfo",
    "no carried dc (dc_prev = 0)": "no_forget_path",
    "dc_prev = dc (without * f)": "dc_without_f",
    "no tanh'(c)": "no_tanh_derivative",
    "carried dh only": "no_dhs",
    "dhs[t] only": "no_carried_dh",
    "skips t = 0": "skips_first_step",
    "skips t = T-1": "skips_last_step",
}


def _pointwise_cell(H):
    """(torch.nn.LSTMCell, parameters) that turn gate pre-activations z (B, 4H) into
    (h_next, c_next): W_ih is the identity and W_hh zero."""
    torch = load_torch()
    cell = torch.nn.LSTMCell(4 * H, H, dtype=torch.float64)
    zeros = torch.zeros(4 * H, dtype=torch.float64)
    return cell, dict(weight_ih=torch.eye(4 * H, dtype=torch.float64),
                      weight_hh=torch.zeros(4 * H, H, dtype=torch.float64),
                      bias_ih=zeros, bias_hh=zeros)


def _gradient_permuted(z, order):
    """z, except that its gradient comes back with the gate blocks read in `order`."""
    H = z.shape[1] // 4
    cols = np.concatenate([np.arange(H) + H * "ifgo".index(gate) for gate in order])
    return z.detach() + _moving(z[:, cols])


def _moving(t):
    """t's gradient path alone: value 0, derivative that of t."""
    return t - t.detach()


def _mistaken_scan(x, h0, c0, Wx, Wh, b, mistake):
    """hs (B, T, H) of torch's LSTM cell on z = x_t @ Wx + h @ Wh + b, with `mistake`:
    "h_from_g" changes the forward (h = o * tanh(g)); the others change only what
    autograd sends back (see BACKWARD_MISTAKES)."""
    torch = load_torch()
    H = Wh.shape[0]
    cell, params = _pointwise_cell(H)
    hs, h, c = [], h0, c0
    for t in range(x.shape[1]):
        h_in = h.detach() if mistake == "no_carried_dh" and t > 0 else h
        c_in = c.detach() if mistake in ("no_forget_path", "dc_without_f") else c
        z = x[:, t] @ Wx + h_in @ Wh + b
        if mistake in ("ifog", "igfo"):
            z = _gradient_permuted(z, mistake)
        h_next, c_next = torch.func.functional_call(cell, params, (z, (h_in, c_in)))
        o = torch.sigmoid(z[:, 3 * H:])
        if mistake == "dc_without_f":  # the whole dc at step t passes back as it is
            c_cell, c_next = c_next, c_next + (c - c.detach())
            # h's share of dc must reach c_next too (the cell sends it to c_cell only)
            h_next = h_next + o.detach() * (_moving(torch.tanh(c_next))
                                            - _moving(torch.tanh(c_cell)))
        if mistake == "no_tanh_derivative":  # dc gets dh * o, not dh * o * (1 - tanh(c)**2)
            tanh_c = torch.tanh(c_next)
            h_next = h_next + o.detach() * (_moving(c_next) - _moving(tanh_c))
        if mistake == "h_from_g":
            h_next = o * torch.tanh(torch.tanh(z[:, 2 * H:3 * H]))
        hs.append(h_next)
        h, c = h_next, c_next
    return torch.stack(hs, 1)


def lstm_forward_h_from_g(x, h0, c0, Wx, Wh, b):
    """(hs, cs) of an LSTM that computes h = o * tanh(g), not o * tanh(c)."""
    torch = load_torch()
    args = [tensor64(a, grad=False) for a in (x, h0, c0, Wx, Wh, b)]
    with torch.no_grad():
        hs = _mistaken_scan(*args, "h_from_g")
        # cs: the cell states of that LSTM, from torch's cell fed each step's wrong h.
        h_prev = torch.cat([args[1][:, None], hs[:, :-1]], 1)
        cs, c = [], args[2]
        cell, params = _pointwise_cell(Wh.shape[0])
        for t in range(x.shape[1]):
            z = args[0][:, t] @ args[3] + h_prev[:, t] @ args[4] + args[5]
            c = torch.func.functional_call(cell, params, (z, (h_prev[:, t], c)))[1]
            cs.append(c)
    return _numpy(hs, x.dtype), _numpy(torch.stack(cs, 1), x.dtype)


def lstm_step_h_from_g(x, h, c, Wx, Wh, b):
    """(h_next, c_next) of one step of `lstm_forward_h_from_g`; x (B, I)."""
    hs, cs = lstm_forward_h_from_g(x[:, None], h, c, Wx, Wh, b)
    return hs[:, 0], cs[:, 0]


def lstm_backward_mistaken(dhs, x, h0, c0, Wx, Wh, b, mistake):
    """The gradients (dict x, h0, c0, Wx, Wh, b) that a backward pass with `mistake`
    (a value of BACKWARD_MISTAKES) returns, in x's dtype."""
    torch = load_torch()
    args = {k: tensor64(a) for k, a in dict(x=x, h0=h0, c0=c0, Wx=Wx, Wh=Wh, b=b).items()}
    dhs = tensor64(dhs, grad=False)
    if mistake == "skips_last_step":
        dhs[:, -1] = 0
    if mistake == "no_dhs":  # only the last step's dhs enters (as the first carried dh)
        dhs[:, :-1] = 0
    grads = {}
    if mistake == "skips_first_step":  # the loop stops at t = 1: h0 is what reaches h_1
        with torch.no_grad():
            h1, c1 = torch.func.functional_call(*_pointwise_cell(Wh.shape[0]), (
                args["x"][:, 0] @ args["Wx"] + args["h0"] @ args["Wh"] + args["b"],
                (args["h0"], args["c0"])))
        h1, c1 = h1.requires_grad_(), c1.requires_grad_()
        if x.shape[1] > 1:
            hs = _mistaken_scan(args["x"][:, 1:], h1, c1, args["Wx"], args["Wh"], args["b"],
                                None)
            hs.backward(dhs[:, 1:])
        grads = {"h0": h1.grad, "c0": c1.grad}
    else:
        hs = _mistaken_scan(*args.values(), mistake)
        hs.backward(dhs)
    return {k: _numpy(grads.get(k, a.grad) if grads.get(k, a.grad) is not None
                      else torch.zeros_like(a), x.dtype) for k, a in args.items()}


# ------------------------------------------------------------ known loop and cell mistakes
# Each is torch's own cell (torch.nn.RNN, torch.nn.LSTMCell, through rnn_step and
# lstm_step) given the wrong state, or its output reshaped: never the recurrence written out.

def lstm_forward_mistaken(x, h0, c0, Wx, Wh, b, mistake):
    """(hs, cs), each (B, T, H), of an LSTM loop with `mistake`:

    "never_carried": every step starts again from (h0, c0) (h_next, c_next never passed on);
    "c_from_h": the cell update reads h_prev where c_prev belongs (c = f * h_prev + i * g),
    which is torch's cell given (h_prev, h_prev) as its state;
    "h_from_g": h = o * tanh(g) (lstm_forward_h_from_g).
    """
    if mistake == "h_from_g":
        return lstm_forward_h_from_g(x, h0, c0, Wx, Wh, b)
    dtype = x.dtype
    x, h0, c0, Wx, Wh, b = (np.asarray(a, np.float64) for a in (x, h0, c0, Wx, Wh, b))
    hs, cs, h, c = [], [], h0, c0
    for t in range(x.shape[1]):
        state = {"never_carried": (h0, c0), "c_from_h": (h, h)}[mistake]
        h, c = lstm_step(x[:, t], *state, Wx, Wh, b)
        hs.append(h)
        cs.append(c)
    return _stack_steps(hs, h0).astype(dtype), _stack_steps(cs, c0).astype(dtype)


def lstm_step_mistaken(x, h, c, Wx, Wh, b, mistake):
    """(h_next, c_next) of one step with `mistake`: "c_from_h" or "h_from_g" (see
    lstm_forward_mistaken), "zero_state" (the step ignores h and c and starts from zeros)
    or "zero_c" (it ignores c)."""
    zeros = np.zeros_like(h)
    if mistake == "zero_state":
        return lstm_step(x, zeros, zeros, Wx, Wh, b)
    if mistake == "zero_c":
        return lstm_step(x, h, zeros, Wx, Wh, b)
    hs, cs = lstm_forward_mistaken(x[:, None], h, c, Wx, Wh, b, mistake)
    return hs[:, 0], cs[:, 0]


def _stack_steps(steps, like):
    """The (B, H) arrays of `steps` stacked on axis 1: (B, len(steps), H)."""
    if not steps:
        return np.zeros((like.shape[0], 0, like.shape[1]), like.dtype)
    return np.stack(steps, 1)


def rnn_forward_mistaken(x, h0, Wx, Wh, b, mistake):
    """hs (B, T, H) of a simple RNN loop with `mistake`: "never_carried" (every step starts
    again from h0) or "sigmoid" (h = sigmoid(z) where tanh(z) belongs; sigmoid(z) =
    (1 + tanh(z / 2)) / 2, so torch.nn.RNN with halved weights computes it)."""
    dtype = x.dtype
    x, h0, Wx, Wh, b = (np.asarray(a, np.float64) for a in (x, h0, Wx, Wh, b))
    hs, h = [], h0
    for t in range(x.shape[1]):
        if mistake == "never_carried":
            h = rnn_step(x[:, t], h0, Wx, Wh, b)
        else:
            h = (1 + rnn_step(x[:, t], h, Wx / 2, Wh / 2, b / 2)) / 2
        hs.append(h)
    return _stack_steps(hs, h0).astype(dtype)


def rnn_step_mistaken(x, h, Wx, Wh, b, mistake):
    """h_next (B, H) of one step with `mistake`: "zero_state" (h ignored) or "sigmoid"."""
    if mistake == "zero_state":
        return rnn_step(x, np.zeros_like(h), Wx, Wh, b)
    return rnn_forward_mistaken(x[:, None], h, Wx, Wh, b, mistake)[:, 0]


def stacked_lstm_forward_mistaken(x, layers, states, mistake):
    """(hs, final_states) of a stack whose every layer has `mistake`: one of
    lstm_forward_mistaken's, or "stops_early" (every layer's loop runs over range(T - 1)).
    The final states are each layer's last (h, c)."""
    B = x.shape[0]
    hs, finals = x, []
    for k, layer in enumerate(layers):
        H = layer["Wh"].shape[0]
        h0, c0 = states[k] if states is not None else (np.zeros((B, H), x.dtype),) * 2
        if mistake == "stops_early":
            if hs.shape[1] > 1:
                hs, cs = lstm_forward(hs[:, :-1], h0, c0, **layer)
            else:
                hs = cs = np.zeros((B, 0, H), x.dtype)
        else:
            hs, cs = lstm_forward_mistaken(hs, h0, c0, **layer, mistake=mistake)
        finals.append((hs[:, -1], cs[:, -1]) if hs.shape[1] else (h0, c0))
    return hs, finals


# ---------------------------------------------------------------- learned initial states

def learned_state_lstm_grads(dhs, x, h0_vec, c0_vec, Wx, Wh, b):
    """torch.nn.LSTM started from learned vectors h0_vec, c0_vec (H,) expanded to the batch.

    Returns the gradients of sum(dhs * hs), by autograd, as float64 arrays:
    dh0, dc0 (B, H) (of the expanded states) and h0_vec, c0_vec (H,) (of the vectors).
    """
    torch = load_torch()
    B, H = x.shape[0], h0_vec.shape[0]
    lstm = torch.nn.LSTM(Wx.shape[0], H, batch_first=True, dtype=torch.float64)
    params = dict(weight_ih_l0=tensor64(Wx.T), weight_hh_l0=tensor64(Wh.T),
                  bias_ih_l0=tensor64(b), bias_hh_l0=tensor64(np.zeros_like(b)))
    vectors = {"h0_vec": tensor64(h0_vec), "c0_vec": tensor64(c0_vec)}
    states = {"dh0": vectors["h0_vec"].expand(B, H), "dc0": vectors["c0_vec"].expand(B, H)}
    for state in states.values():
        state.retain_grad()
    hs, _ = torch.func.functional_call(lstm, params, (tensor64(x), (states["dh0"][None],
                                                                  states["dc0"][None])))
    hs.backward(tensor64(dhs, grad=False))
    return {k: a.grad.numpy() for k, a in {**states, **vectors}.items()}


def initial_state_grads(dh0, dc0):
    """(dh0_vec, dc0_vec) (H,): torch autograd through `expand` of a vector to (B, H)."""
    torch = load_torch()
    grads = []
    for d in (dh0, dc0):
        vec = torch.zeros(d.shape[1], dtype=torch.float64, requires_grad=True)
        vec.expand(*d.shape).backward(tensor64(d, grad=False))
        grads.append(_numpy(vec.grad, d.dtype))
    return tuple(grads)


def _init_states(x, Wh0, bh0, Wc0, bc0):
    """h0, c0 (B, H) as torch tensors: nn.functional.linear on x[:, 0], tanh for h0."""
    torch = load_torch()
    linear = torch.nn.functional.linear
    return torch.tanh(linear(x[:, 0], Wh0.T, bh0)), linear(x[:, 0], Wc0.T, bc0)


def initial_state_from_input(x, Wh0, bh0, Wc0, bc0):
    """(h0, c0) (B, H) computed in float64 by torch, returned in the dtype of x."""
    with load_torch().no_grad():
        h0, c0 = _init_states(*(tensor64(a) for a in (x, Wh0, bh0, Wc0, bc0)))
    return _numpy(h0, x.dtype), _numpy(c0, x.dtype)


def initial_state_from_input_backward(dh0, dc0, x, Wh0, bh0, Wc0, bc0, *, mistake=None):
    """Gradients of sum(dh0 * h0 + dc0 * c0) by torch autograd: dict x, Wh0, bh0, Wc0, bc0.

    mistake (for suspects): "no tanh'" (h0's gradient passes tanh unchanged),
    "tanh' of h0" (it is multiplied by 1 - tanh(h0)**2) or "no c0 path to x".
    """
    torch = load_torch()
    args = {k: tensor64(a) for k, a in dict(x=x, Wh0=Wh0, bh0=bh0, Wc0=Wc0, bc0=bc0).items()}
    h0, c0 = _init_states(*args.values())
    if mistake in ("no tanh'", "tanh' of h0"):
        z = torch.nn.functional.linear(args["x"][:, 0], args["Wh0"].T, args["bh0"])
        slope = 1 if mistake == "no tanh'" else 1 - torch.tanh(h0.detach()) ** 2
        h0 = h0.detach() + slope * _moving(z)
    if mistake == "no c0 path to x":
        c0 = _init_states(args["x"].detach(), *list(args.values())[1:])[1]
    load_torch().autograd.backward((h0, c0), (tensor64(dh0, False), tensor64(dc0, False)))
    return {k: _numpy(a.grad, x.dtype) for k, a in args.items()}


# ------------------------------------------------------------------ training (chapter 33)

def softmax_cross_entropy(logits, y):
    """(loss, dlogits) by torch's F.cross_entropy and autograd, in float64."""
    torch = load_torch()
    z = tensor64(logits)
    loss = torch.nn.functional.cross_entropy(z, torch.as_tensor(y))
    loss.backward()
    return loss.item(), _numpy(z.grad, logits.dtype)


def clip_gradients(grads, max_norm):
    """(clipped, norm) by torch.nn.utils.clip_grad_norm_ on copies of the arrays."""
    torch = load_torch()
    tensors = {k: torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64))
               for k, g in grads.items()}
    for k, p in tensors.items():
        p.grad = tensor64(grads[k], grad=False)
    norm = torch.nn.utils.clip_grad_norm_(list(tensors.values()), max_norm)
    return {k: _numpy(p.grad, grads[k].dtype) for k, p in tensors.items()}, norm.item()


def adam_update(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, *,
                resumed_at=None):
    """(param, m, v) after one step of torch.optim.Adam resumed at step t - 1 with state m, v.

    resumed_at: the step count to resume from instead of t - 1 (for known mistakes).
    """
    torch = load_torch()
    p = torch.nn.Parameter(tensor64(param, grad=False))
    p.grad = tensor64(grad, grad=False)
    optimizer = torch.optim.Adam([p], lr=lr, betas=(beta1, beta2), eps=eps, foreach=False)
    optimizer.state[p] = {"step": torch.tensor(float(t - 1 if resumed_at is None else resumed_at)),
                          "exp_avg": tensor64(m, grad=False),
                          "exp_avg_sq": tensor64(v, grad=False)}
    optimizer.step()
    state = optimizer.state[p]
    return tuple(_numpy(a, param.dtype) for a in (p, state["exp_avg"], state["exp_avg_sq"]))


# ------------------------------------------------------------------------------ initial weights


def _initial_weights(module, input_size, hidden_size, rng):
    """A torch.nn module's initial weights, drawn with a seed from `rng` (torch's global
    generator is left as it was), as {"Wx" (I, nH), "Wh" (H, nH), "b" (nH,)}. b is bias_ih
    alone: PyTorch draws each of its two biases from its range, and the book has one."""
    torch = load_torch()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(rng.integers(2**31)))
        params = dict(module(input_size, hidden_size, dtype=torch.float64).named_parameters())
    weight = {k.removesuffix("_l0"): p.detach().numpy().copy() for k, p in params.items()}
    return {"Wx": weight["weight_ih"].T.copy(), "Wh": weight["weight_hh"].T.copy(),
            "b": weight["bias_ih"]}


def rnn_init(input_size, hidden_size, rng):
    """torch.nn.RNN's initial weights: {"Wx" (I, H), "Wh" (H, H), "b" (H,)}, float64."""
    return _initial_weights(load_torch().nn.RNN, input_size, hidden_size, rng)


def lstm_init(input_size, hidden_size, rng):
    """torch.nn.LSTMCell's initial weights: {"Wx" (I, 4H), "Wh" (H, 4H), "b" (4H,)}, float64,
    each uniform on [-1/sqrt(H), 1/sqrt(H)]."""
    return _initial_weights(load_torch().nn.LSTMCell, input_size, hidden_size, rng)


# ------------------------------------------------------------------------------------- GRU

def _gru_hs(x, h0, Wx, Wh, bx, bh):
    """hs (B, T, H) from torch.nn.GRU with the book's weights (Wx = weight_ih_l0.T, ...)."""
    torch = load_torch()
    I, H3 = Wx.shape
    gru = torch.nn.GRU(I, H3 // 3, batch_first=True, dtype=torch.float64)
    params = dict(weight_ih_l0=Wx.T, weight_hh_l0=Wh.T, bias_ih_l0=bx, bias_hh_l0=bh)
    hs, _ = torch.func.functional_call(gru, params, (x, h0[None]))
    return hs


def gru_forward(x, h0, Wx, Wh, bx, bh):
    """hs (B, T, H) from torch.nn.GRU: gate blocks r, z, n of Wx (I, 3H), Wh (H, 3H)."""
    with load_torch().no_grad():
        hs = _gru_hs(*(tensor64(a) for a in (x, h0, Wx, Wh, bx, bh)))
    return _numpy(hs, x.dtype)


def gru_step(x, h, Wx, Wh, bx, bh):
    """h_next (B, H): one step of torch.nn.GRU."""
    return gru_forward(x[:, None], h, Wx, Wh, bx, bh)[:, 0]


def gru_backward(dhs, x, h0, Wx, Wh, bx, bh):
    """Gradients of sum(dhs * hs) by torch autograd: dict x, h0, Wx, Wh, bx, bh."""
    args = {k: tensor64(a) for k, a in dict(x=x, h0=h0, Wx=Wx, Wh=Wh, bx=bx, bh=bh).items()}
    _gru_hs(*args.values()).backward(tensor64(dhs, grad=False))
    return {k: _numpy(a.grad, x.dtype) for k, a in args.items()}


def _gru_blocks(weights, order):
    """Each of Wx, Wh, bx, bh with its gate blocks (columns r, z, n) taken in `order`."""
    H = weights["Wh"].shape[0]
    cols = np.concatenate([np.arange(H) + H * "rzn".index(gate) for gate in order])
    return {k: v[..., cols] for k, v in weights.items()}


def gru_forward_mistaken(x, h0, Wx, Wh, bx, bh, mistake):
    """hs (B, T, H) of a GRU with one of the usual mistakes, all made through torch.nn.GRU
    by changing the weights it sees, except "reset_paper":
      "zrn":         the blocks read as z, r, n (nn.GRU fed the r and z blocks swapped);
      "z_swapped":   h_next = z * n + (1 - z) * h (the z block negated: sigmoid(-a) = 1 - z);
      "reset_paper": n = tanh(a_n + (r * h) @ Wh_n + bh_n), the paper's reset gate, which
                     nn.GRU cannot express; written out with torch's own sigmoid and tanh.
    """
    w = dict(Wx=Wx, Wh=Wh, bx=bx, bh=bh)
    if mistake == "zrn":
        return gru_forward(x, h0, **_gru_blocks(w, "zrn"))
    if mistake == "z_swapped":
        H = Wh.shape[0]
        sign = np.ones(3 * H)
        sign[H:2 * H] = -1
        return gru_forward(x, h0, **{k: v * sign for k, v in w.items()})
    assert mistake == "reset_paper", mistake
    torch = load_torch()
    x, h, Wx, Wh, bx, bh = (tensor64(a, grad=False) for a in (x, h0, Wx, Wh, bx, bh))
    H, hs = h.shape[1], []
    for t in range(x.shape[1]):
        a, u = x[:, t] @ Wx + bx, h @ Wh + bh
        r, z = torch.sigmoid(a[:, :H] + u[:, :H]), torch.sigmoid(a[:, H:2 * H] + u[:, H:2 * H])
        n = torch.tanh(a[:, 2 * H:] + (r * h) @ Wh[:, 2 * H:] + bh[2 * H:])
        h = (1 - z) * n + z * h
        hs.append(h)
    return _numpy(torch.stack(hs, 1), h0.dtype)
