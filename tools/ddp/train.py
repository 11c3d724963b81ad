"""Data-parallel training of the from-scratch LSTM with torch.distributed (DDP).

    torchrun --nproc_per_node=2 -m tools.ddp                  # 2 GPUs, NCCL
    torchrun --nproc_per_node=2 -m tools.ddp --device cpu     # 2 processes, gloo

Every process holds a copy of the model (`solutions.torch_lstm.LSTM` and a linear
read-out) and takes its share of every global batch of padded sequences. In backward,
DistributedDataParallel all-reduces the gradients (their mean over processes), bucket by
bucket while the rest of the backward still runs, so every copy takes the same step:
the step that one process would take on the whole global batch, provided each
process's loss is scaled so that the mean of the processes' gradients is the gradient
of the whole batch's loss. With padded sequences that takes care: the processes' shares
hold different numbers of valid steps, so each one divides its sum of squared errors by
the global count of valid steps (one all-reduce), not by its own.

The task: read a sequence x (T, B, 2) and predict, at every step, the running mean of
its first feature so far; sequence lengths vary within a batch. Options: --steps,
--global-batch (split evenly over the processes), --hidden, --layers, --lr (plain SGD),
--dtype, --seed, --save PATH (rank 0 saves the run for `tests/test_ddp.py`: the initial
weights, the data indices of every global batch, the first step's gradients, the final
weights and the losses). The model and the loss are the book's answers
(`solutions.torch_lstm.LSTM`, `solutions.batching.masked_mse_loss`): this needs the answer key.
"""

import argparse
import os

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

from solutions.batching import masked_mse_loss
from solutions.torch_lstm import LSTM

INPUTS, OUTPUTS = 2, 1
PROG = "torchrun --nproc_per_node=N -m tools.ddp"


def make_dataset(n, T, seed, dtype=torch.float32):
    """n padded sequences: (index, x (T, 2), length, target (T, 1)), batch-major storage.

    target[t] is the mean of x[0..t, 0]; steps from `length` on are padding (zeros).
    """
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.randint(T // 2, T + 1, (n,), generator=gen)
    x = torch.randn(n, T, INPUTS, generator=gen, dtype=dtype)
    valid = torch.arange(T)[None, :] < lengths[:, None]  # (n, T)
    x = x * valid[..., None]
    steps = torch.arange(1, T + 1, dtype=dtype)
    target = (x[..., :1].cumsum(1) / steps[None, :, None]) * valid[..., None]
    return TensorDataset(torch.arange(n), x, lengths, target)


class SequenceRegressor(nn.Module):
    """The from-scratch LSTM and a linear read-out at every step.

    forward(x (T, B, I), lengths (B,)) -> predictions (T, B, O), zero past each end.
    """

    def __init__(self, hidden, layers):
        super().__init__()
        self.lstm = LSTM(INPUTS, hidden, num_layers=layers)
        self.readout = nn.Linear(hidden, OUTPUTS)

    def forward(self, x, lengths):
        out, _ = self.lstm(x, lengths=lengths)
        return self.readout(out)


def global_batch_loss(model, x, lengths, target, world_size):
    """This process's loss, scaled so that DDP's mean of gradients is the global batch's.

    Returns (loss to backpropagate, this process's sum of squared errors, global count of
    valid entries). The gradient DDP ends with is that of
    sum of squared errors over the whole global batch / global count.
    """
    local_count = lengths.sum() * target.shape[2]
    count = local_count.clone().to(x.device)
    dist.all_reduce(count)  # the valid entries of every process's share
    pred = model(x, lengths)
    # masked_mse_loss divides by this share's own count; undo that, divide by the global
    # count, and multiply by world_size because DDP averages over the processes.
    sse = masked_mse_loss(pred, target, lengths) * local_count
    return sse * world_size / count, sse.detach(), count


def train(args):
    """Run the training loop in this process (one of torchrun's); returns rank 0's record."""
    rank, world_size = dist.get_rank(), dist.get_world_size()
    if args.device == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    dtype = getattr(torch, args.dtype)
    if args.global_batch % world_size:
        raise ValueError(f"--global-batch {args.global_batch} must be a multiple of the "
                         f"number of processes, {world_size}")
    torch.manual_seed(args.seed)  # the same initial weights everywhere (DDP also
    model = SequenceRegressor(args.hidden, args.layers).to(device, dtype)  # broadcasts rank 0's)
    record = dict(initial_state={k: v.detach().cpu().clone()
                                 for k, v in model.state_dict().items()})
    ddp = DistributedDataParallel(model)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=args.lr)
    data = make_dataset(args.global_batch * args.steps, args.T, args.seed + 1, dtype)
    sampler = DistributedSampler(data, world_size, rank, shuffle=True, seed=args.seed,
                                 drop_last=True)
    loader = DataLoader(data, batch_size=args.global_batch // world_size, sampler=sampler,
                        drop_last=True)
    record.update(indices=[], losses=[])
    for step, (index, x, lengths, target) in enumerate(loader):
        x, target = x.transpose(0, 1).to(device), target.transpose(0, 1).to(device)
        optimizer.zero_grad()
        loss, sse, count = global_batch_loss(ddp, x, lengths, target, world_size)
        loss.backward()  # DDP averages the gradients over the processes here
        dist.all_reduce(sse)
        every_index = [torch.empty_like(index) for _ in range(world_size)]
        dist.all_gather(every_index, index)
        record["indices"].append(torch.cat(every_index).tolist())
        record["losses"].append(float(sse / count))
        if step == 0:
            record["first_grads"] = {n: p.grad.detach().cpu().clone()
                                     for n, p in model.named_parameters()}
        optimizer.step()
        if rank == 0 and (step % max(1, args.steps // 10) == 0 or step == args.steps - 1):
            print(f"step {step:4d}  loss {record['losses'][-1]:.5f}", flush=True)
    record["final_state"] = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    return record


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog=PROG,
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cuda", "cpu"),
                        default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--global-batch", type=int, default=64)
    parser.add_argument("--T", type=int, default=30, help="the longest sequence length")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", help="rank 0 saves the run here (torch.save)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    dist.init_process_group("nccl" if args.device == "cuda" else "gloo")
    try:
        record = train(args)
        if args.save and dist.get_rank() == 0:
            torch.save(dict(record, args=vars(args), world_size=dist.get_world_size()),
                       args.save)
    finally:
        dist.destroy_process_group()
    return 0
