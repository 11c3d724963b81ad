"""The one home for the frameworks' names: what each track's exercises may not use.

Read by the grader's static check of a cell (`autograde.tracks`), by the guards that make
those calls raise while a submission runs (`autograde.sandbox.guards`, and
`autograde.tracks.track_window` in `check()` and in the sandbox alike), and by the TF1
checks, which switch TF's own cells off while a learner's graph is built
(`autograde.checks.tf1_run`). Importing this module imports no framework.
"""



class ForbiddenFrameworkCall(Exception):
    """A submission called what its exercise's track does not allow (the message says what,
    and on which line)."""


# Attribute names that mean "the framework's own recurrent layer or kernel": torch
# (torch.nn.LSTM, torch.lstm, torch._VF, ...), TensorFlow 1 (dynamic_rnn, the rnn_cell
# classes, contrib cells) and Keras layers. No exercise written from scratch may use them.
FRAMEWORK_RNN_NAMES = frozenset({
    "LSTM", "LSTMCell", "RNN", "RNNCell", "RNNBase", "RNNCellBase", "GRU", "GRUCell", "_VF",
    "lstm", "lstm_cell", "gru", "gru_cell", "rnn_tanh", "rnn_relu", "rnn_tanh_cell",
    "rnn_relu_cell", "dynamic_rnn", "static_rnn", "bidirectional_dynamic_rnn",
    "static_bidirectional_rnn", "raw_rnn", "static_state_saving_rnn", "BasicLSTMCell",
    "BasicRNNCell", "MultiRNNCell", "LSTMBlockCell", "LSTMBlockFusedCell", "CudnnLSTM",
    "CuDNNLSTM", "CudnnRNNTanh", "SimpleRNN", "SimpleRNNCell", "StackedRNNCells",
    "LayerNormBasicLSTMCell", "ConvLSTM2D",
})

# The frameworks whose RNN layers those names are (top-level module names).
FRAMEWORKS = ("torch", "tensorflow", "keras", "tf_keras")

# What a NumPy-track exercise may not use at all: any framework, and any automatic
# differentiation (HIPS autograd, JAX), however imported.
NOT_NUMPY = ("torch", "tensorflow", "keras", "tf_keras", "jax", "jaxlib", "autograd")

# The ways into those libraries from NumPy inputs, and their automatic differentiation:
# (module, attribute path). A NumPy-track exercise's inputs are NumPy arrays, so it can
# use a framework only through one of these; while its checks run, each raises
# (`autograde.tracks.track_window`).
NUMPY_TRACK_ENTRY_POINTS = (
    ("torch", "from_numpy"), ("torch", "tensor"), ("torch", "as_tensor"),
    ("torch", "asarray"), ("torch", "Tensor.backward"), ("torch.autograd", "grad"),
    ("torch.autograd", "backward"), ("torch.autograd.functional", "jacobian"),
    ("torch.autograd.functional", "vjp"), ("torch.autograd.functional", "jvp"),
    ("torch.autograd.functional", "hessian"), ("torch.func", "grad"), ("torch.func", "vjp"),
    ("torch.func", "jacrev"), ("torch.func", "jacfwd"), ("torch.func", "grad_and_value"),
    ("tensorflow", "constant"), ("tensorflow", "convert_to_tensor"),
    ("tensorflow", "Variable"), ("tensorflow", "GradientTape.__init__"),
    ("tensorflow", "gradients"), ("tensorflow.compat.v1", "placeholder"),
    ("tensorflow.compat.v1", "gradients"), ("tensorflow.compat.v1", "Session.run"),
    ("jax", "grad"), ("jax", "vjp"), ("jax", "value_and_grad"), ("jax", "jacrev"),
    ("jax", "jacfwd"), ("jax.numpy", "asarray"), ("jax.numpy", "array"),
    ("autograd", "grad"), ("autograd", "value_and_grad"), ("autograd", "elementwise_grad"),
    ("autograd", "jacobian"),
)
