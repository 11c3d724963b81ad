"""The performance ladder's exercises (chapter 42): the hoisted input projection and the
fused cell's backward.

The ladder itself, whose rungs run these, is a tool: `tools.ladder`.
"""

import torch


def hoisted_input_projection(x, w_ih, b_ih):
    """The input's part of the gates for every step at once.

    Inputs:  x (T, B, I) time-major; w_ih (4H, I); b_ih (4H,).
    Returns: x_proj (T, B, 4H), x_proj[t] = x[t] @ w_ih.T + b_ih.
    """
    # x_t does not depend on h, so the T products of (B, I) by (I, 4H) are one product of
    # (T*B, I) by (I, 4H): a large matrix product that keeps the GPU busy.
    return x @ w_ih.t() + b_ih


def fused_cell_backward(z, c, dh_next, dc_next):
    """The backward of the cell's pointwise part: what a fused cell kernel computes.

    Inputs:  z (B, 4H), the gates' pre-activations (blocks i, f, g, o); c (B, H), the
             cell state before the step; dh_next, dc_next (B, H), the gradients of the
             loss with respect to h_next and c_next.
    Returns: (dz, dc): dz (B, 4H), the gradient of z; dc (B, H), that of c.
    The gates are recomputed from z (one pass over memory, no stored activations).
    """
    zi, zf, zg, zo = z.chunk(4, 1)
    i, f, g, o = torch.sigmoid(zi), torch.sigmoid(zf), torch.tanh(zg), torch.sigmoid(zo)
    tanh_c = torch.tanh(f * c + i * g)
    # c_next reaches the loss directly (dc_next) and through h_next = o * tanh(c_next).
    dc_total = dc_next + dh_next * o * (1 - tanh_c**2)
    dz = torch.cat([dc_total * g * i * (1 - i),    # i: sigmoid' = i (1 - i)
                    dc_total * c * f * (1 - f),    # f
                    dc_total * i * (1 - g**2),     # g: tanh' = 1 - g^2
                    dh_next * tanh_c * o * (1 - o)], dim=1)  # o
    return dz, dc_total * f
