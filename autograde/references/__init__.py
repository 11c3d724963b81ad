"""Independent references and stand-ins, one module per framework.

- `numpy_ref`: closed forms that need no framework (finite differences).
- `torch_ref`: NumPy arrays in, NumPy arrays out, computed in float64 by PyTorch
  (torch.nn.RNN, torch.nn.LSTMCell, autograd): the NumPy chapters' references, the
  outputs of known mistakes, and TF1's LSTM run by PyTorch for the TF checks' suspects.
- `torch_modules`: tensors in, tensors out: the stand-ins of the PyTorch chapters'
  exercises, built on torch.nn.LSTM and friends.
- `tf_ref`: TensorFlow's own cells under the book's names, and the porting stand-ins,
  which ask TF's fused LSTM cell for its weight layout.

Nothing here is an exercise's answer written out: a learner's copy ships this package.
The checks (`autograde.checks`) compute their expected outputs with these; `use_working`
hands out the stand-ins. The frameworks are imported on first use.
"""
