"""Port one LSTM layer's weights between the book's NumPy layout, TF1, PyTorch and Keras.

The book's layout (book/91_conventions.ipynb) is the hub; each framework converts to and from it.
All functions take and return NumPy arrays (pass `tensor.detach().numpy()` for torch),
keep the dtype, and need only NumPy. H is the hidden size, I the input size.

| layout        | weights                                   | gates      | forget bias       |
|---------------|-------------------------------------------|------------|-------------------|
| book (NumPy)  | Wx (I, 4H), Wh (H, 4H), b (4H,)           | i, f, g, o | in b              |
| TF1 LSTMCell  | kernel (I + H, 4H) = [Wx; Wh], bias (4H,) | i, j, f, o | added at run time |
| Keras 2 LSTM  | kernel (I, 4H), recurrent_kernel (H, 4H), | i, f, c, o | in bias           |
|               | bias (4H,)                                |            |                   |
| torch.nn.LSTM | weight_ih (4H, I), weight_hh (4H, H),     | i, f, g, o | in the biases     |
|               | bias_ih (4H,), bias_hh (4H,)              |            |                   |

TF1's j and Keras's c are the book's g (the candidate). So Keras is the book's layout
as it is, PyTorch is its transpose, and TF1 stacks Wx over Wh, swaps the f and g blocks
and keeps `forget_bias` out of the stored bias.
"""

import numpy as np

from solutions.shapes import expect


def _swap_f_and_g(a):
    """Swap column blocks 1 and 2 of a (..., 4H) array: i, f, g, o <-> i, g(j), f, o.

    The swap is its own inverse, so it converts in both directions.
    """
    i, b1, b2, o = np.split(a, 4, axis=-1)
    return np.concatenate([i, b2, b1, o], axis=-1)


def _check_book(Wx, Wh, b):
    """Return (I, H) after checking the book's Wx (I, 4H), Wh (H, 4H) and b (4H,)."""
    expect("Wx", Wx, (None, None), "I, 4H")
    I, H4 = Wx.shape
    if H4 % 4:
        raise ValueError(f"Wx must have shape (I, 4H), a multiple of 4 columns; got {Wx.shape}")
    expect("Wh", Wh, (H4 // 4, H4), "H, 4H")
    expect("b", b, (H4,), "4H,")
    return I, H4 // 4


def tf1_to_numpy(kernel, bias, forget_bias=1.0):
    """TF1 LSTMCell variables -> the book's weights.

    Inputs:  kernel (I + H, 4H) and bias (4H,) as TF's LSTMCell stores them (gates
             i, j, f, o); forget_bias, the value the cell adds at run time.
    Returns: dict with Wx (I, 4H), Wh (H, 4H), b (4H,) in the book's order i, f, g, o.
    """
    expect("kernel", kernel, (None, None), "I + H, 4H")
    H4 = kernel.shape[1]
    if H4 % 4 or kernel.shape[0] < H4 // 4:
        raise ValueError(f"kernel must have shape (I + H, 4H); got {kernel.shape}")
    expect("bias", bias, (H4,), "4H,")
    H = H4 // 4
    kernel = _swap_f_and_g(kernel)
    b = _swap_f_and_g(bias)
    b[H:2 * H] += forget_bias  # the book stores in b what TF adds at run time
    return {"Wx": kernel[:-H], "Wh": kernel[-H:], "b": b}


def numpy_to_tf1(Wx, Wh, b, forget_bias=1.0):
    """The book's weights -> (kernel (I + H, 4H), bias (4H,)) for TF1's LSTMCell.

    forget_bias is the value the TF cell will add at run time, so it is taken out of b.
    """
    _, H = _check_book(Wx, Wh, b)
    b = b.copy()
    b[H:2 * H] -= forget_bias
    return _swap_f_and_g(np.concatenate([Wx, Wh], axis=0)), _swap_f_and_g(b)


def numpy_to_torch(Wx, Wh, b, layer=0):
    """The book's weights -> a state dict fragment for layer `layer` of torch.nn.LSTM.

    Returns: dict weight_ih_l{k} (4H, I), weight_hh_l{k} (4H, H), bias_ih_l{k} (4H,),
             bias_hh_l{k} (4H,); the whole bias goes in bias_ih, bias_hh is zero.
    """
    _check_book(Wx, Wh, b)
    return {f"weight_ih_l{layer}": Wx.T.copy(), f"weight_hh_l{layer}": Wh.T.copy(),
            f"bias_ih_l{layer}": b.copy(), f"bias_hh_l{layer}": np.zeros_like(b)}


def torch_to_numpy(params, layer=0):
    """Layer `layer` of a torch.nn.LSTM state dict (values as arrays) -> the book's weights.

    torch adds two biases; the book has one, their sum.
    """
    get = {name: np.asarray(params[f"{name}_l{layer}"])
           for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    return {"Wx": get["weight_ih"].T.copy(), "Wh": get["weight_hh"].T.copy(),
            "b": get["bias_ih"] + get["bias_hh"]}


def numpy_to_keras(Wx, Wh, b):
    """The book's weights -> [kernel, recurrent_kernel, bias] for `layer.set_weights`."""
    _check_book(Wx, Wh, b)
    return [Wx.copy(), Wh.copy(), b.copy()]


def keras_to_numpy(weights):
    """`layer.get_weights()` of a Keras LSTM ([kernel, recurrent_kernel, bias]) -> the book's."""
    if len(weights) != 3:
        raise ValueError(f"weights must be [kernel, recurrent_kernel, bias] (a Keras LSTM with "
                         f"use_bias=True); got {len(weights)} arrays")
    kernel, recurrent_kernel, bias = (np.asarray(w) for w in weights)
    _check_book(kernel, recurrent_kernel, bias)
    return {"Wx": kernel.copy(), "Wh": recurrent_kernel.copy(), "b": bias.copy()}
