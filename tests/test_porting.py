"""solutions.port: one set of LSTM weights gives the same outputs in TF1, NumPy, PyTorch and Keras.

The start is TF's own MultiRNNCell of LSTMCells with random variables; its weights go
TF1 -> NumPy -> PyTorch -> Keras -> NumPy -> TF1, and each framework's own LSTM must
reproduce TF's outputs and final states; the round trip must give the variables back.
"""

import numpy as np
import pytest
import torch

from autograde.tfcompat import import_tf
from solutions import port
from solutions.numpy_lstm import stacked_lstm_forward

tf = import_tf()
v1 = tf.compat.v1
rnn_cell = v1.nn.rnn_cell

pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated and will be removed")

B, T, I = 3, 5, 2
UNITS = [4, 3]


def _tf1_stack(x, forget_bias, rng):
    """TF's dynamic_rnn over MultiRNNCell with random variables.

    Returns (outputs (B, T, H_top), [(h_T, c_T) per layer], [(kernel, bias) per layer]).
    """
    with tf.Graph().as_default(), v1.Session() as sess:
        cell = rnn_cell.MultiRNNCell([rnn_cell.LSTMCell(n, forget_bias=forget_bias)
                                      for n in UNITS])
        outputs, states = v1.nn.dynamic_rnn(cell, tf.constant(x), dtype=tf.float64)
        sess.run(v1.global_variables_initializer())
        variables = v1.global_variables()  # kernel, bias of layer 0, then layer 1
        for v in variables:
            v.load(rng.uniform(-0.7, 0.7, v.shape.as_list()), sess)
        outputs, states, values = sess.run((outputs, states, variables))
    return outputs, [(s.h, s.c) for s in states], list(zip(values[::2], values[1::2], strict=True))


def _torch_stack(x, state_dicts):
    """One torch.nn.LSTM per layer (widths differ): (outputs, [(h_T, c_T) per layer])."""
    hs, finals = torch.tensor(x), []
    for params in state_dicts:
        lstm = torch.nn.LSTM(hs.shape[-1], params["weight_hh_l0"].shape[1], batch_first=True,
                             dtype=torch.float64)
        lstm.load_state_dict({k: torch.tensor(v) for k, v in params.items()})
        with torch.no_grad():
            hs, (h, c) = lstm(hs)
        finals.append((h[0].numpy(), c[0].numpy()))
    return hs.numpy(), finals


def _keras_stack(x, keras_weights):
    """One tf_keras.layers.LSTM per layer: (outputs, [(h_T, c_T) per layer])."""
    hs, finals = tf.constant(x), []
    for weights in keras_weights:
        layer = tf.keras.layers.LSTM(weights[1].shape[0], return_sequences=True,
                                     return_state=True, dtype="float64")
        layer.build(hs.shape)
        layer.set_weights(weights)
        hs, h, c = layer(hs)
        finals.append((h.numpy(), c.numpy()))
    return hs.numpy(), finals


def _assert_same(got, want):
    for a, b in zip(tf.nest.flatten(got), tf.nest.flatten(want), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)


@pytest.mark.parametrize("forget_bias", [1.0, 0.0])
def test_one_set_of_weights_runs_the_same_in_every_framework(forget_bias):
    rng = np.random.default_rng(int(forget_bias))
    x = rng.standard_normal((B, T, I))
    want_hs, want_finals, tf1_layers = _tf1_stack(x, forget_bias, rng)

    book = [port.tf1_to_numpy(kernel, bias, forget_bias) for kernel, bias in tf1_layers]
    _assert_same(stacked_lstm_forward(x, book), (want_hs, want_finals))

    torch_params = [port.numpy_to_torch(**W) for W in book]
    _assert_same(_torch_stack(x, torch_params), (want_hs, want_finals))

    keras_weights = [port.numpy_to_keras(**port.torch_to_numpy(p)) for p in torch_params]
    _assert_same(_keras_stack(x, keras_weights), (want_hs, want_finals))

    back = [port.numpy_to_tf1(**port.keras_to_numpy(w), forget_bias=forget_bias)
            for w in keras_weights]
    for (kernel, bias), (kernel_back, bias_back) in zip(tf1_layers, back, strict=True):
        np.testing.assert_allclose(kernel_back, kernel, rtol=0, atol=1e-15)
        np.testing.assert_allclose(bias_back, bias, rtol=0, atol=1e-15)


def test_torch_state_dict_round_trip_with_two_biases():
    """torch keeps two biases; the book keeps their sum."""
    lstm = torch.nn.LSTM(3, 2, num_layers=2)
    params = {k: v.detach().numpy() for k, v in lstm.state_dict().items()}
    for layer in (0, 1):
        W = port.torch_to_numpy(params, layer)
        np.testing.assert_array_equal(W["b"], params[f"bias_ih_l{layer}"]
                                      + params[f"bias_hh_l{layer}"])
        again = port.numpy_to_torch(**W, layer=layer)
        np.testing.assert_array_equal(again[f"weight_ih_l{layer}"],
                                      params[f"weight_ih_l{layer}"])
        assert set(again) == {f"{p}_l{layer}" for p in ("weight_ih", "weight_hh", "bias_ih",
                                                        "bias_hh")}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_porting_keeps_dtype_and_does_not_modify_its_inputs(dtype):
    rng = np.random.default_rng(3)
    kernel = rng.standard_normal((5, 12)).astype(dtype)
    bias = rng.standard_normal(12).astype(dtype)
    kernel0, bias0 = kernel.copy(), bias.copy()
    W = port.tf1_to_numpy(kernel, bias)
    assert {k: (v.shape, v.dtype) for k, v in W.items()} == {
        "Wx": ((2, 12), dtype), "Wh": ((3, 12), dtype), "b": ((12,), dtype)}
    kernel_back, bias_back = port.numpy_to_tf1(**W)
    np.testing.assert_array_equal(kernel, kernel0)
    np.testing.assert_array_equal(bias, bias0)
    np.testing.assert_allclose(kernel_back, kernel, rtol=0, atol=0)
    np.testing.assert_allclose(bias_back, bias, rtol=0, atol=1e-6)
    assert bias_back.dtype == dtype


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match=r"kernel must have shape \(I \+ H, 4H\)"):
        port.tf1_to_numpy(np.zeros((5, 10)), np.zeros(10))
    with pytest.raises(ValueError, match=r"bias must have shape \(4H,\) = \(12,\)"):
        port.tf1_to_numpy(np.zeros((5, 12)), np.zeros(8))
    with pytest.raises(ValueError, match=r"Wh must have shape \(H, 4H\) = \(3, 12\)"):
        port.numpy_to_tf1(np.zeros((2, 12)), np.zeros((2, 12)), np.zeros(12))
    with pytest.raises(ValueError, match="recurrent_kernel, bias"):
        port.keras_to_numpy([np.zeros((2, 12)), np.zeros((3, 12))])
