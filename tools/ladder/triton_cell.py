"""The LSTM cell's pointwise work as one Triton kernel (forward) and one (backward).

`triton_lstm_cell(x_proj_t, h, c, w_hh, b_hh)` has the signature and the values of
`solutions.torch_lstm.fused_lstm_cell`. The product h @ w_hh.T stays a cuBLAS GEMM (one
kernel); everything after it, which eager PyTorch runs as about ten small kernels (two
adds, three sigmoids, two tanhs, three products and a sum), is one kernel that reads
the gates once and writes h_next and c_next:

    z = x_proj_t + h @ w_hh.T + b_hh        (B, 4H), blocks i, f, g, o
    c_next = sigmoid(z_f) * c + sigmoid(z_i) * tanh(z_g)
    h_next = sigmoid(z_o) * tanh(c_next)

The backward kernel recomputes the gates from the saved inputs (cheaper than storing
them) and returns dz (B, 4H), the gradient of the gates' pre-activations, and dc (B, H).

Needs Triton. Kernels run on a CUDA GPU, or on the CPU through Triton's interpreter
(environment variable TRITON_INTERPRET=1 set before Triton is imported), which the
tests use. Every kernel argument must be contiguous in its last dimension.
"""

import torch
import triton
import triton.language as tl


@triton.jit
def _tanh(x):
    # tanh through sigmoid: tl.math's tanh is not available in every Triton version.
    return 2 * tl.sigmoid(2 * x) - 1


@triton.jit
def _gates(xp_ptr, hh_ptr, b_ptr, c_ptr, row, cols, mask, xp_stride, hh_stride, c_stride,
           H):
    # One row's gates: column block k of z is x_proj_t + hh + b_hh at columns k*H + cols.
    xp, hh = xp_ptr + row * xp_stride + cols, hh_ptr + row * hh_stride + cols
    b = b_ptr + cols
    z_i = tl.load(xp, mask=mask) + tl.load(hh, mask=mask) + tl.load(b, mask=mask)
    z_f = (tl.load(xp + H, mask=mask) + tl.load(hh + H, mask=mask)
           + tl.load(b + H, mask=mask))
    z_g = (tl.load(xp + 2 * H, mask=mask) + tl.load(hh + 2 * H, mask=mask)
           + tl.load(b + 2 * H, mask=mask))
    z_o = (tl.load(xp + 3 * H, mask=mask) + tl.load(hh + 3 * H, mask=mask)
           + tl.load(b + 3 * H, mask=mask))
    c = tl.load(c_ptr + row * c_stride + cols, mask=mask)
    return tl.sigmoid(z_i), tl.sigmoid(z_f), _tanh(z_g), tl.sigmoid(z_o), c


@triton.jit
def _forward_kernel(xp_ptr, hh_ptr, b_ptr, c_ptr, h_out_ptr, c_out_ptr,
                    xp_stride, hh_stride, c_stride, H, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = cols < H
    i, f, g, o, c = _gates(xp_ptr, hh_ptr, b_ptr, c_ptr, row, cols, mask,
                           xp_stride, hh_stride, c_stride, H)
    c_next = f * c + i * g
    tl.store(c_out_ptr + row * H + cols, c_next, mask=mask)
    tl.store(h_out_ptr + row * H + cols, o * _tanh(c_next), mask=mask)


@triton.jit
def _backward_kernel(xp_ptr, hh_ptr, b_ptr, c_ptr, dh_ptr, dc_ptr, dz_ptr, dc_prev_ptr,
                     xp_stride, hh_stride, c_stride, dh_stride, dc_stride, H,
                     BLOCK: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = cols < H
    i, f, g, o, c = _gates(xp_ptr, hh_ptr, b_ptr, c_ptr, row, cols, mask,
                           xp_stride, hh_stride, c_stride, H)
    tanh_c = _tanh(f * c + i * g)
    dh = tl.load(dh_ptr + row * dh_stride + cols, mask=mask)
    # dc_next arrives from step t+1; h_next = o * tanh(c_next) adds its own share.
    dc = tl.load(dc_ptr + row * dc_stride + cols, mask=mask) + dh * o * (1 - tanh_c * tanh_c)
    dz_row = dz_ptr + row * 4 * H + cols
    tl.store(dz_row, dc * g * i * (1 - i), mask=mask)
    tl.store(dz_row + H, dc * c * f * (1 - f), mask=mask)
    tl.store(dz_row + 2 * H, dc * i * (1 - g * g), mask=mask)
    tl.store(dz_row + 3 * H, dh * tanh_c * o * (1 - o), mask=mask)
    tl.store(dc_prev_ptr + row * H + cols, dc * f, mask=mask)


def _grid_and_block(B, H):
    block = min(triton.next_power_of_2(H), 1024)
    return (B, triton.cdiv(H, block)), block


def _rows(t):
    """t with unit stride along its last dimension (a copy only when it has not)."""
    return t if t.stride(-1) == 1 else t.contiguous()


class _PointwiseCell(torch.autograd.Function):
    """(x_proj_t, hh, b_hh, c) -> (h_next, c_next), where hh = h @ w_hh.T."""

    @staticmethod
    def forward(ctx, x_proj_t, hh, b_hh, c):
        x_proj_t, hh, b_hh, c = (_rows(t) for t in (x_proj_t, hh, b_hh, c))
        B, H = c.shape
        h_next = torch.empty((B, H), dtype=c.dtype, device=c.device)
        c_next = torch.empty_like(h_next)
        grid, block = _grid_and_block(B, H)
        _forward_kernel[grid](x_proj_t, hh, b_hh, c, h_next, c_next, x_proj_t.stride(0),
                              hh.stride(0), c.stride(0), H, BLOCK=block)
        ctx.save_for_backward(x_proj_t, hh, b_hh, c)
        return h_next, c_next

    @staticmethod
    def backward(ctx, dh_next, dc_next):
        x_proj_t, hh, b_hh, c = ctx.saved_tensors
        dh_next, dc_next = _rows(dh_next), _rows(dc_next)
        B, H = c.shape
        dz = torch.empty((B, 4 * H), dtype=c.dtype, device=c.device)
        dc_prev = torch.empty((B, H), dtype=c.dtype, device=c.device)
        grid, block = _grid_and_block(B, H)
        _backward_kernel[grid](x_proj_t, hh, b_hh, c, dh_next, dc_next, dz, dc_prev,
                               x_proj_t.stride(0), hh.stride(0), c.stride(0),
                               dh_next.stride(0), dc_next.stride(0), H, BLOCK=block)
        # z = x_proj_t + hh + b_hh: the same dz for each term; b_hh is broadcast over rows.
        return dz, dz, dz.sum(0), dc_prev


def triton_lstm_cell(x_proj_t, h, c, w_hh, b_hh):
    """One LSTM step: the GEMM h @ w_hh.T, then one Triton kernel for everything else.

    Inputs:  x_proj_t (B, 4H) = x_t @ w_ih.T + b_ih; h, c (B, H); w_hh (4H, H); b_hh (4H,),
             all of one floating dtype, on a CUDA device (or the CPU under
             TRITON_INTERPRET=1).
    Returns: (h_next, c_next), each (B, H), equal to `fused_lstm_cell`'s.
    """
    return _PointwiseCell.apply(x_proj_t, h @ w_hh.t(), b_hh, c)
