"""The models of the training runs: an LSTM (the book's or torch's) and a linear read-out.

`rnn_model` builds a `SequenceModel`: a batch-first LSTM or tanh RNN over the whole
sequence, then a linear layer on its last output, seeded and in the dtype asked for.
The from-scratch LSTM (impl="scratch") and the learned initial state are the book's
answers (`solutions.torch_lstm`): they need the answer key; impl="torch" does not.
"""

import torch
from torch import nn


def lstm(input_size, hidden_size, num_layers=1, dropout=0.0, impl="scratch"):
    """A batch-first LSTM: the book's from-scratch one (impl="scratch") or torch.nn.LSTM."""
    if impl == "scratch":
        from solutions.torch_lstm import LSTM
    elif impl == "torch":
        LSTM = nn.LSTM
    else:
        raise ValueError(f"impl must be 'scratch' or 'torch'; got {impl!r}")
    return LSTM(input_size, hidden_size, num_layers=num_layers, dropout=dropout,
                batch_first=True)


class SequenceModel(nn.Module):
    """A recurrent network over the whole sequence, then a linear layer on its last output.

    rnn:         a batch-first module with torch.nn.LSTM's (or torch.nn.RNN's) interface,
                 rnn(x) -> (outputs (B, T, hidden_size), final state).
    num_outputs: classes for a classifier, 1 for a regression.
    forward(x): x (B, T, I) -> (B, num_outputs).
    """

    def __init__(self, rnn, hidden_size, num_outputs):
        super().__init__()
        self.rnn = rnn
        self.head = nn.Linear(hidden_size, num_outputs)

    def forward(self, x):
        outputs, _ = self.rnn(x)
        return self.head(outputs[:, -1])


def rnn_model(kind, input_size, hidden_size, num_outputs, num_layers=1, dropout=0.0,
              impl="scratch", learned_init=False, forget_bias=0.0, dtype=torch.float32, seed=0):
    """A SequenceModel around an LSTM (kind="lstm") or a tanh RNN (kind="rnn").

    impl picks the LSTM (see `lstm`). learned_init: the LSTM learns its initial state
    (solutions.torch_lstm.LearnableInitLSTM; it starts at zero, so the model is the same
    as without it until training moves it). forget_bias is added to the LSTM's forget-gate
    biases after PyTorch's initialisation (0: PyTorch's default; 1 makes the forget gate
    start mostly open, sigmoid(1) = 0.73). The parameters are drawn after
    torch.manual_seed(seed), so two calls with the same arguments build the same model,
    then converted to `dtype`.
    """
    torch.manual_seed(seed)
    if kind == "lstm":
        rnn = lstm(input_size, hidden_size, num_layers, dropout, impl)
        with torch.no_grad():
            for name, p in rnn.named_parameters():
                if name.startswith("bias_ih"):  # the blocks are i, f, g, o: f is the second
                    p[hidden_size:2 * hidden_size] += forget_bias
        if learned_init:
            from solutions.torch_lstm import LearnableInitLSTM

            rnn = LearnableInitLSTM(rnn)
    elif kind == "rnn":
        if forget_bias:
            raise ValueError("an RNN has no forget gate; use forget_bias=0")
        rnn = nn.RNN(input_size, hidden_size, num_layers=num_layers, dropout=dropout,
                     batch_first=True)
    else:
        raise ValueError(f"kind must be 'lstm' or 'rnn'; got {kind!r}")
    return SequenceModel(rnn, hidden_size, num_outputs).to(dtype)


def count_parameters(model):
    """The number of trainable numbers in `model`."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
