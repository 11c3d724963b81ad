"""Reference solutions for *LSTM from Scratch*, one module per track.

Importing this package imports nothing heavy: `solutions.numpy_rnn` and
`solutions.numpy_lstm` need only NumPy; `solutions.torch_lstm` imports torch and
`solutions.tf1_lstm` imports TensorFlow, each only when you import that module.
"""
