"""The NumPy benchmark's baseline, tools.bench.per_step_lstm, computes the same gradients as
torch.nn.LSTM's autograd (and so as solutions.numpy_lstm), before anyone times it."""

import numpy as np
import pytest

from tests.helpers.torch_references import (
    TOL,
    assert_close,
    lstm_args,
    lstm_autograd,
    torch_lstm_states,
)
from tools.bench import per_step_lstm


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("B, T, I, H", [(1, 1, 2, 3), (3, 6, 4, 5)])
def test_per_step_lstm_equals_torch(B, T, I, H, dtype):
    rng = np.random.default_rng(B * T + I * H)
    a = lstm_args(rng, dtype, B, T, I, H)
    dhs = rng.uniform(-1, 1, (B, T, H)).astype(dtype)
    hs, caches = per_step_lstm.forward(a["x"], a["h0"], a["c0"], a["Wx"], a["Wh"], a["b"])
    assert len(caches) == T
    assert_close(hs, torch_lstm_states(a)[0], TOL[dtype], dtype)
    got, want = per_step_lstm.backward(dhs, caches), lstm_autograd(a, dhs)
    assert set(got) == set(want)
    for k in want:
        assert_close(got[k], want[k], TOL[dtype], dtype)
