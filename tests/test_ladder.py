"""The performance ladder: every rung equals torch.nn.LSTM, the harness writes what it says,
and the chapter's exercise checks catch the mistakes they name.

Rungs on the CPU in float64 (within 1e-10), and on a GPU, when there is one, in float32
(within 1e-4, TF32 off); the GPU tests skip without one. The Triton rung runs on a GPU,
or on the CPU under Triton's interpreter (TRITON_INTERPRET=1, in a child process) when
Triton is installed. It is not in requirements.txt: with triton 3.8.0 installed beside
tensorflow-cpu 2.21, a process that imports TensorFlow and then Triton segfaults, and
torch imports Triton whenever it is installed (torch.optim loads TorchDynamo, which
looks for it), so the grader's and the TF chapters' processes crash. Without it those
tests skip; with it (`pip install triton==3.8.0`) the interpreter test passes.
"""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from autograde.check import run_checks
from autograde.registry import exercises
from solutions.batching import length_mask, masked_mse_loss
from solutions.ladder import fused_cell_backward, hoisted_input_projection
from solutions.torch_lstm import fused_lstm_cell
from tools import ladder
from tools.bench import core, ladder_bench, ladder_records
from tools.ladder import rungs

HAS_CUDA = torch.cuda.is_available()
HAS_TRITON = importlib.util.find_spec("triton") is not None
CPU_RUNGS = [n for n in ladder.RUNGS if ladder.available(n, "cpu")[0]]
needs_cuda = pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")


def problem(device, dtype, L=2, T=5, B=3, I=4, H=6, seed=0):
    """(lstm, x, hx, upstream gradients) with random weights, inputs and initial state."""
    torch.manual_seed(seed)
    lstm = nn.LSTM(I, H, num_layers=L, dtype=dtype).to(device)
    x = torch.randn(T, B, I, dtype=dtype, device=device)
    hx = tuple(torch.randn(L, B, H, dtype=dtype, device=device) for _ in range(2))
    upstream = (torch.randn(T, B, H, dtype=dtype, device=device),
                torch.randn(L, B, H, dtype=dtype, device=device),
                torch.randn(L, B, H, dtype=dtype, device=device))
    return lstm, x, hx, upstream


def forward_backward(run, lstm, x, hx, upstream):
    """Outputs and the gradients of x, h0, c0 and every weight, from one fresh run."""
    x = x.detach().clone().requires_grad_()
    hx = tuple(s.detach().clone().requires_grad_() for s in hx)
    lstm.zero_grad()
    out, (h_n, c_n) = run(x, hx)
    (torch.sum(upstream[0] * out) + torch.sum(upstream[1] * h_n)
     + torch.sum(upstream[2] * c_n)).backward()
    grads = {"x": x.grad, "h0": hx[0].grad, "c0": hx[1].grad,
             **{n: p.grad.clone() for n, p in lstm.named_parameters()}}
    return {"out": out.detach().clone(), "h_n": h_n.detach().clone(),
            "c_n": c_n.detach().clone(), **grads}


def assert_all_close(got, want, atol):
    assert got.keys() == want.keys()
    for name in want:
        assert got[name].shape == want[name].shape, name
        err = (got[name] - want[name]).abs().max().item()
        assert err <= atol, f"{name}: max error {err:.3g} > {atol:g}"


def rung_equals_nn_lstm(name, device, dtype, atol, **sizes):
    lstm, x, hx, upstream = problem(device, dtype, **sizes)
    want = forward_backward(lstm, lstm, x, hx, upstream)
    sample = (x.detach().clone().requires_grad_(),
              tuple(s.detach().clone().requires_grad_() for s in hx))
    run = ladder.build(name, lstm, *sample)
    assert_all_close(forward_backward(run, lstm, x, hx, upstream), want, atol)
    with torch.no_grad():  # inference: the graphed rungs capture a forward-only graph
        run = ladder.build(name, lstm, x, hx)
        out, (h_n, c_n) = run(x, hx)
        ref_out, (ref_h, ref_c) = lstm(x, hx)
    assert_all_close({"out": out, "h_n": h_n, "c_n": c_n},
                     {"out": ref_out, "h_n": ref_h, "c_n": ref_c}, atol)


# ---------------------------------------------------------------------------------------
# Every rung equals nn.LSTM


@pytest.mark.slow
@pytest.mark.early  # the compiled rung compiles for half a minute: start this module first
@pytest.mark.parametrize("name", CPU_RUNGS)
def test_rung_equals_nn_lstm_on_the_cpu_in_float64(name):
    rung_equals_nn_lstm(name, "cpu", torch.float64, 1e-10)


@pytest.mark.parametrize("name", [n for n in CPU_RUNGS if n not in ("compiled",)])
def test_rung_equals_nn_lstm_with_one_layer_and_batch_one(name):
    rung_equals_nn_lstm(name, "cpu", torch.float64, 1e-10, L=1, B=1, T=1)


@needs_cuda
@pytest.mark.parametrize("name", list(ladder.RUNGS))
def test_rung_equals_nn_lstm_on_the_gpu_in_float32(name):
    ok, reason = ladder.available(name, "cuda")
    if not ok:
        pytest.skip(reason)
    tf32 = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    ladder_bench.set_tf32(False)
    try:
        rung_equals_nn_lstm(name, "cuda", torch.float32, 1e-4, L=2, T=7, B=5, I=16, H=32)
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32


TRITON_ON_CPU = """\
import torch
from tests.test_ladder import rung_equals_nn_lstm
rung_equals_nn_lstm("triton", "cpu", torch.float64, 1e-10)
rung_equals_nn_lstm("triton", "cpu", torch.float64, 1e-10, L=1, B=2, H=33)  # masked block
print("ok")
"""


@pytest.mark.skipif(not HAS_TRITON, reason="Triton is not installed (not in requirements.txt: it "
                    "crashes processes that import TensorFlow first); the Triton rung is "
                    "tested on a GPU or after `pip install triton`, under TRITON_INTERPRET=1")
def test_triton_rung_equals_nn_lstm_under_the_interpreter():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run([sys.executable, "-c", TRITON_ON_CPU], cwd=root,
                            env={**os.environ, "TRITON_INTERPRET": "1"},
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]


def test_triton_rung_is_not_offered_without_a_gpu_or_the_interpreter(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    ok, reason = ladder.available("triton", "cpu")
    assert not ok and "GPU" in reason
    assert not ladder.available("triton_graph", "cpu")[0]
    assert not ladder.available("cuda_graph", "cpu")[0]


def test_fused_cell_backward_is_the_pointwise_cells_autograd():
    torch.manual_seed(1)
    B, H = 3, 4
    z = torch.randn(B, 4 * H, dtype=torch.float64, requires_grad=True)
    c = torch.randn(B, H, dtype=torch.float64, requires_grad=True)
    dh, dc = torch.randn(B, H, dtype=torch.float64), torch.randn(B, H, dtype=torch.float64)
    # fused_lstm_cell with h = 0 and x_proj_t = z is the pointwise cell alone
    h_next, c_next = fused_lstm_cell(z, torch.zeros(B, H, dtype=torch.float64), c,
                                            torch.zeros(4 * H, H, dtype=torch.float64))
    want = torch.autograd.grad((h_next, c_next), (z, c), (dh, dc))
    got = fused_cell_backward(z.detach(), c.detach(), dh, dc)
    for g, w in zip(got, want, strict=True):
        assert (g - w).abs().max() <= 1e-12


# ---------------------------------------------------------------------------------------
# build() rejects what it cannot run


@pytest.mark.parametrize("change, message", [
    (lambda lstm, x, hx: ("warp", lstm, x, hx), "no rung is called 'warp'"),
    (lambda lstm, x, hx: ("hoisted", lstm, x[0], hx), r"x must have shape \(T, B, I\)"),
    (lambda lstm, x, hx: ("hoisted", lstm, x, (hx[0][:1], hx[1])), r"h0 must have shape"),
    (lambda lstm, x, hx: ("hoisted", nn.LSTM(4, 6, bidirectional=True), x, hx), "one direction"),
    (lambda lstm, x, hx: ("hoisted", nn.GRU(4, 6), x, hx), "must be a torch.nn.LSTM"),
    (lambda lstm, x, hx: ("triton_graph", lstm, x, hx), "needs a CUDA GPU"),
])
def test_build_rejects_bad_input_with_a_reason(change, message):
    lstm, x, hx, _ = problem("cpu", torch.float32)
    with pytest.raises(ValueError, match=message):
        ladder.build(*change(lstm, x, hx))


# ---------------------------------------------------------------------------------------
# Batching helpers


def test_length_mask_and_masked_loss_ignore_the_padding():
    lengths = torch.tensor([3, 1, 4])
    mask = length_mask(lengths, 4)
    assert mask.tolist() == [[True, True, True], [True, False, True], [True, False, True],
                             [False, False, True]]
    torch.manual_seed(0)
    pred = torch.randn(4, 3, 2, dtype=torch.float64, requires_grad=True)
    target = torch.randn(4, 3, 2, dtype=torch.float64)
    loss = masked_mse_loss(pred, target, lengths)
    loss.backward()
    valid = [(pred[:n, b] - target[:n, b]) ** 2 for b, n in enumerate(lengths.tolist())]
    assert abs(loss.item() - torch.cat([v.flatten() for v in valid]).mean().item()) < 1e-14
    assert (pred.grad[~mask] == 0).all() and (pred.grad[mask] != 0).all()
    with pytest.raises(ValueError, match="lengths must be in 0..T"):
        length_mask([5], 4)


# ---------------------------------------------------------------------------------------
# The exercises: the solutions pass, and mistakes fail with the hint they deserve


def test_the_solutions_and_references_pass_their_checks():
    from solutions.batching import masked_mse_loss as loss_solution

    registered = exercises()
    for id, solution in (("masked_mse_loss", loss_solution),
                         ("hoisted_input_projection", hoisted_input_projection),
                         ("fused_cell_backward", fused_cell_backward)):
        assert registered[id].solution in ("solutions.ladder", "solutions.batching")
        for candidate in (solution, registered[id].reference):
            report = run_checks(candidate, registered[id], np.random.default_rng(0))
            assert report.passed, report.summary()


def _loss_counting_padding(pred, target, lengths):
    mask = length_mask(lengths, pred.shape[0])[..., None]
    return torch.sum(mask * (pred - target) ** 2) / pred.numel()


def _backward_without_dh_in_dc(z, c, dh_next, dc_next):
    i, f, g, o = z.chunk(4, 1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    tanh_c = torch.tanh(f * c + i * g)
    dz = torch.cat([dc_next * g * i * (1 - i), dc_next * c * f * (1 - f),
                    dc_next * i * (1 - g**2), dh_next * tanh_c * o * (1 - o)], 1)
    return dz, dc_next * f


def _backward_in_order_ifog(z, c, dh_next, dc_next):
    H = c.shape[1]
    swap = torch.cat([torch.arange(2 * H), torch.arange(3 * H, 4 * H), torch.arange(2 * H, 3 * H)])
    dz, dc = fused_cell_backward(z[:, swap], c, dh_next, dc_next)
    return dz[:, swap], dc


MISTAKES = [
    ("masked_mse_loss", "no mask", lambda p, t, n: ((p - t) ** 2).mean(),
     "the padded steps are counted in the loss"),
    ("masked_mse_loss", "padding in the denominator", _loss_counting_padding,
     "counted in the mean's denominator"),
    ("masked_mse_loss", "a NumPy loss", lambda p, t, n: masked_mse_loss(p, t, n).item(),
     "must return a 0-dim tensor"),
    ("hoisted_input_projection", "no bias", lambda x, w, b: x @ w.t(), "b_ih is not added"),
    ("hoisted_input_projection", "batch-major result", lambda x, w, b: (x @ w.t() + b)
     .transpose(0, 1).contiguous(), None),
    ("fused_cell_backward", "dc without the path through h", _backward_without_dh_in_dc,
     "dc misses the path through h_next"),
    ("fused_cell_backward", "gate order i, f, o, g", _backward_in_order_ifog,
     "gates in the wrong order"),
    ("fused_cell_backward", "dc not scaled by f",
     lambda z, c, dh, dc: (fused_cell_backward(z, c, dh, dc)[0],
                           fused_cell_backward(z, c, dh, dc)[1] / torch.sigmoid(
                               z[:, c.shape[1]:2 * c.shape[1]])), None),
]


@pytest.mark.parametrize("id, mistake, wrong, hint", MISTAKES,
                         ids=[f"{m[0]}: {m[1]}" for m in MISTAKES])
def test_a_mistake_fails_its_check_and_is_named(id, mistake, wrong, hint):
    wrong.__name__ = id
    report = run_checks(wrong, exercises()[id], np.random.default_rng(0))
    assert not report.passed, f"{mistake} passed the check"
    if hint:
        assert hint in report.summary(), report.summary()


# ---------------------------------------------------------------------------------------
# The benchmark harness


@pytest.mark.slow  # fresh interpreters import the ladder and the harness
def test_the_ladder_and_the_harness_import_no_tensorflow():
    code = ("import sys, tools.ladder.rungs, tools.bench.ladder_bench, tools.ddp.train, "
            "solutions.batching; print(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr[-2000:]


def test_every_rung_listed_is_built_and_in_the_same_order():
    assert list(rungs.BUILDERS) == list(ladder.RUNGS)


def test_the_rungs_list_and_the_records_need_neither_torch_nor_the_answer_key():
    """Chapter 42 imports them in the learner's copy, which has no solutions/."""
    code = ("import sys, tools.ladder, tools.bench.ladder_records; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'solutions')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr[-2000:]


def test_configurations_merge_repeated_sizes():
    configs = ladder_bench.configurations("cuda", ["main", "batch", "hidden"], ["float32"])
    keys = [(tuple(s.values()), d) for s, _, d in configs]
    assert len(keys) == len(set(keys))
    assert ladder_records.config_sizes(100, 64, 512) in [s for s, _, _ in configs]


def test_flops_count_every_layer():
    one = core.lstm_flops(T=2, B=3, I=5, H=7, layers=1, backward=False)
    assert one == 2 * 2 * 3 * 4 * 7 * (5 + 7)
    two = core.lstm_flops(T=2, B=3, I=5, H=7, layers=2, backward=False)
    assert two == one + 2 * 2 * 3 * 4 * 7 * (7 + 7)
    assert core.lstm_flops(T=2, B=3, I=5, H=7, layers=2) == 3 * two
    # the NumPy bench's closed form for one layer, forward + backward: 24·T·B·H·(I+H)
    assert core.lstm_flops(T=2, B=3, I=5, H=7) == 24 * 2 * 3 * 7 * (5 + 7)


@pytest.mark.slow  # runs the benchmark harness
def test_measure_writes_records_with_the_promised_fields(tmp_path):
    sizes = ladder_records.config_sizes(T=4, B=2, H=8)
    records = ladder_bench.measure(sizes, ladder_records.ALL_MODES, "float32", torch.device("cpu"),
                                ["naive", "hoisted", "cudnn"], repeats=2, warmup=1,
                                profile=1, done=set(), log=lambda text: None)
    info = core.device_description(torch.device("cpu"))
    records = [dict(info, tf32=False, **r) for r in records]
    assert len(records) == 6
    for r in records:
        assert {"device", "torch", "cuda", "cudnn", "date", "config", "impl", "mode", "ms",
                "tflops", "ratio_to_cudnn"} <= r.keys()
        assert r["config"] == dict(T=4, B=2, I=8, H=8, layers=1, dtype="float32")
        assert r["ms"] > 0 and r["cpu_ms"] > 0 and r["max_abs_diff"] < 1e-5
        assert r["mode"] == "forward" or r["max_abs_diff_grads"] < 1e-4
        flops = core.lstm_flops(**sizes, backward=r["mode"] == "forward_backward")
        assert abs(r["tflops"] - flops / r["ms"] / 1e9) < 1e-12
        assert r["launches_per_step"] > 0 and r["kernels_per_step"] is None
    by = {(r["impl"], r["mode"]): r for r in records}
    assert by["cudnn", "forward"]["ratio_to_cudnn"] == 1.0
    # naive runs more operators per step than the hoisted loop, which runs more than cuDNN
    assert (by["naive", "forward"]["launches_per_step"]
            > by["hoisted", "forward"]["launches_per_step"]
            > by["cudnn", "forward"]["launches_per_step"])
    output = tmp_path / "ladder_cpu.json"
    ladder_records.write(records, output)
    assert json.loads(output.read_text()) == sorted(records, key=ladder_records.key)
    table = output.with_suffix(".md").read_text()
    assert "| hoisted |" in table and "T=4 B=2 I=8 H=8 layers=1 float32" in table
    assert output.with_suffix(".png").stat().st_size > 0


def test_merge_joins_partial_runs_and_the_later_file_wins(tmp_path):
    record = dict(device="cpu: test", torch="x", cuda=None, cudnn=None, date="d", tf32=False,
                  config=dict(T=4, B=2, I=8, H=8, layers=1, dtype="float32"), impl="cudnn",
                  mode="forward", ms=1.0, tflops=1e-6, ratio_to_cudnn=1.0, repeats=1)
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps([record, dict(record, impl="hoisted", ms=3.0)]))
    second.write_text(json.dumps([dict(record, impl="hoisted", ms=2.0)]))
    output = tmp_path / "merged" / "ladder_cpu.json"
    assert ladder_bench.main(["--merge", str(first), str(second), "--output", str(output)]) == 0
    merged = {r["impl"]: r["ms"] for r in json.loads(output.read_text())}
    assert merged == {"cudnn": 1.0, "hoisted": 2.0}
    other = tmp_path / "c.json"
    other.write_text(json.dumps([dict(record, device="NVIDIA X")]))
    with pytest.raises(ValueError, match="several devices"):
        ladder_records.merge([first, other])
