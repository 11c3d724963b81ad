"""autograde/references: the stand-ins and references the checks and `use_working` use.

Each is compared here with the frameworks' own LSTMs, independently of the code under
test: TF's LSTMCell for the porting stand-ins, torch.nn.LSTM layer by layer for stacks.
"""

import numpy as np
import pytest
import torch

from autograde import registry
from autograde.check import run_checks
from autograde.references import tf_ref, torch_ref
from autograde.tfcompat import import_tf

pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated and will be removed")


@pytest.mark.parametrize("id", ["rnn_step", "rnn_forward", "rnn_backward", "lstm_step",
                                "lstm_forward", "lstm_backward", "stacked_lstm_forward",
                                "tf1_to_numpy", "numpy_to_tf1"])
def test_the_stand_in_passes_its_check(id):
    report = run_checks(registry.get(id).reference, registry.get(id), np.random.default_rng(5))
    assert report.passed, report.summary()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("forget_bias", [1.0, 0.0, 0.5])
def test_ported_weights_reproduce_tfs_own_cell(dtype, forget_bias):
    tf = import_tf()
    rng = np.random.default_rng(0)
    B, I, H = 3, 2, 4
    kernel = rng.uniform(-1, 1, (I + H, 4 * H)).astype(dtype)
    bias = rng.uniform(-1, 1, 4 * H).astype(dtype)
    x, h, c = (rng.uniform(-1, 1, s).astype(dtype) for s in ((B, I), (B, H), (B, H)))
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        cell = tf.compat.v1.nn.rnn_cell.LSTMCell(H, forget_bias=forget_bias)
        _, state = cell(tf.constant(x), tf.compat.v1.nn.rnn_cell.LSTMStateTuple(c, h))
        sess.run(tf.compat.v1.global_variables_initializer())
        for var, value in zip(cell.variables, (kernel, bias), strict=True):
            var.load(value, sess)
        tf_c, tf_h = sess.run([state.c, state.h])
    book = tf_ref.tf1_to_numpy(kernel, bias, forget_bias)
    h_next, c_next = torch_ref.lstm_step(x, h, c, **book)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(h_next, tf_h, atol=tol)
    np.testing.assert_allclose(c_next, tf_c, atol=tol)
    back = tf_ref.numpy_to_tf1(book["Wx"], book["Wh"], book["b"], forget_bias)
    np.testing.assert_allclose(back[0], kernel, atol=tol)
    np.testing.assert_allclose(back[1], bias, atol=tol)


def test_a_stack_of_different_widths_equals_torch_layer_by_layer():
    rng = np.random.default_rng(1)
    B, T, widths = 2, 4, [3, 5, 2, 4]
    x = rng.uniform(-1, 1, (B, T, widths[0]))
    layers = [dict(Wx=rng.uniform(-1, 1, (i, 4 * h)), Wh=rng.uniform(-1, 1, (h, 4 * h)),
                   b=rng.uniform(-1, 1, 4 * h)) for i, h in zip(widths, widths[1:])]
    states = [(rng.uniform(-1, 1, (B, h)), rng.uniform(-1, 1, (B, h))) for h in widths[1:]]
    hs, finals = torch_ref.stacked_lstm_forward(x, layers, states)
    inp = torch.tensor(x)
    for layer, (h0, c0), (h_T, c_T) in zip(layers, states, finals, strict=True):
        lstm = torch.nn.LSTM(layer["Wx"].shape[0], layer["Wh"].shape[0], batch_first=True,
                             dtype=torch.float64)
        with torch.no_grad():
            lstm.weight_ih_l0.copy_(torch.tensor(layer["Wx"].T))
            lstm.weight_hh_l0.copy_(torch.tensor(layer["Wh"].T))
            lstm.bias_ih_l0.copy_(torch.tensor(layer["b"]))
            lstm.bias_hh_l0.zero_()
            inp, (h, c) = lstm(inp, (torch.tensor(h0)[None], torch.tensor(c0)[None]))
        np.testing.assert_allclose(h_T, h[0].numpy(), atol=1e-12)
        np.testing.assert_allclose(c_T, c[0].numpy(), atol=1e-12)
    np.testing.assert_allclose(hs, inp.numpy(), atol=1e-12)


def test_the_mistaken_backward_without_a_mistake_is_autograds():
    rng = np.random.default_rng(2)
    B, T, I, H = 2, 3, 2, 3
    args = dict(dhs=rng.uniform(-1, 1, (B, T, H)), x=rng.uniform(-1, 1, (B, T, I)),
                h0=rng.uniform(-1, 1, (B, H)), c0=rng.uniform(-1, 1, (B, H)),
                Wx=rng.uniform(-1, 1, (I, 4 * H)), Wh=rng.uniform(-1, 1, (H, 4 * H)),
                b=rng.uniform(-1, 1, 4 * H))
    right, plain = torch_ref.lstm_backward(**args), torch_ref.lstm_backward_mistaken(
        **args, mistake=None)
    for k in right:
        np.testing.assert_allclose(plain[k], right[k], atol=1e-12)


def test_learnable_init_stand_in_starts_from_its_parameters():
    lstm = torch.nn.LSTM(3, 4, num_layers=2, batch_first=True, dtype=torch.float64)
    model = registry.get("LearnableInitLSTM").reference(lstm)
    with torch.no_grad():
        model.h0.uniform_(-1, 1)
        model.c0.uniform_(-1, 1)
    x = torch.randn(5, 6, 3, dtype=torch.float64)
    out, _ = model(x)
    plain = torch.nn.LSTM(3, 4, num_layers=2, batch_first=True, dtype=torch.float64)
    plain.load_state_dict(model.lstm.state_dict())
    want, _ = plain(x, (model.h0.expand(-1, 5, -1), model.c0.expand(-1, 5, -1)))
    torch.testing.assert_close(out, want)


def test_learnable_init_stand_in_wraps_a_projected_lstm():
    """With proj_size = P, the stand-in's h0 has P entries (c0 keeps H)."""
    lstm = torch.nn.LSTM(3, 4, num_layers=2, proj_size=2, dtype=torch.float64)
    model = registry.get("LearnableInitLSTM").reference(lstm)
    assert model.h0.shape == (2, 1, 2) and model.c0.shape == (2, 1, 4)
    with torch.no_grad():
        model.h0.uniform_(-1, 1)
        model.c0.uniform_(-1, 1)
    x = torch.randn(5, 6, 3, dtype=torch.float64)
    out, _ = model(x)
    want, _ = lstm(x, (model.h0.expand(-1, 6, -1), model.c0.expand(-1, 6, -1)))
    torch.testing.assert_close(out, want)
