"""Data-parallel training of the from-scratch LSTM: `torchrun --nproc_per_node=N -m tools.ddp`.

The training itself is `tools.ddp.train`; `__main__` runs it, or says in one line that
it needs the answer key where there is none.
"""
