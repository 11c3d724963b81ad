"""Reference solutions for *LSTM from Scratch*, one module per track: the answer key.

Only what the book includes (`literalinclude`) and what `python -m autograde solve`
writes into the exercise cells lives here; the tools built on it (benchmarks, training
runs, the performance ladder, DDP) are in `tools/`. Importing this package imports
nothing heavy: `solutions.numpy_rnn` and `solutions.numpy_lstm` need only NumPy;
`solutions.torch_lstm` imports torch and `solutions.tf1_lstm` imports TensorFlow, each
only when you import that module.
"""
