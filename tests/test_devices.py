"""Devices: what operators, modules, optimizers and the data iterator create follows their inputs.

Without a GPU, the "meta" device stands in for CUDA: meta tensors have shapes, dtypes and a device
but no data, so every operator runs forward and backward on them, and a dispatch mode records any
tensor that torch creates on another device or in another floating dtype (torch silently accepts
a 0-d CPU constant beside a GPU tensor, so running alone would not catch one). Tests marked `cuda`
compare CUDA with the CPU in float64 and skip when no GPU is present.
"""

import json

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

import autogradlib
from autogradlib import GradOperator, Variable, cli, data, experiment, nn, optim
from autogradlib.nn import functional as F

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


class CreatedTensors(TorchDispatchMode):
    """Records every tensor an aten operator returns, to find those off `device` or `dtype`."""

    def __init__(self, device: str, dtype: torch.dtype) -> None:
        super().__init__()
        self.device, self.dtype = torch.device(device), dtype
        self.strays: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        output = func(*args, **(kwargs or {}))
        for tensor in tree_leaves(output):
            if not isinstance(tensor, torch.Tensor):
                continue
            wrong_dtype = tensor.is_floating_point() and tensor.dtype != self.dtype
            if tensor.device != self.device or wrong_dtype:
                self.strays.append(f"{func} made a {tensor.dtype} tensor on {tensor.device}")
        return output


def rand(*shape):
    """An operand factory: values in [0.5, 1.5], where every operator below is smooth."""
    return lambda device, dtype, generator: (
        torch.rand(shape, generator=generator, dtype=dtype).add_(0.5).to(device)
    )


def const(values, dtype=torch.int64):
    """An operand factory for a constant tensor (class indices, index lists) on the device."""
    return lambda device, _dtype, _generator: torch.tensor(values, dtype=dtype, device=device)


def like(variable, values):
    """A constant (a loss's weight) on the variable's device, in its dtype."""
    return torch.tensor(values, dtype=variable.dtype, device=variable.device)


def lib(value):
    """torch for tensors, autogradlib for Variables: lets one case call cat and stack."""
    return torch if isinstance(value, torch.Tensor) else autogradlib


# (id, function of the operands, operand factories): every operator, several of its forms.
OPERATOR_CASES = [
    ("add", lambda a, b: a + b, [rand(2, 3), rand(3)]),
    ("sub-scalar", lambda a: 1 - a, [rand(2, 3)]),
    ("mul", lambda a, b: a * b, [rand(2, 1), rand(3)]),
    ("div", lambda a, b: a / b, [rand(2, 3), rand(2, 3)]),
    ("rdiv", lambda a: 2 / a, [rand(4)]),
    ("pow-tensor", lambda a, b: a**b, [rand(2, 3), rand(3)]),
    ("pow-number", lambda a: a**3, [rand(2, 3)]),
    ("pow-zero", lambda a: a**0, [rand(2, 3)]),
    ("rpow", lambda a: 2**a, [rand(2, 3)]),
    ("matmul", lambda a, b: a @ b, [rand(2, 3), rand(3, 4)]),
    ("matmul-batched", lambda a, b: a @ b, [rand(2, 2, 3), rand(3, 2)]),
    ("matmul-vectors", lambda a, b: a @ b, [rand(3), rand(3)]),
    ("neg", lambda a: -a, [rand(2, 3)]),
    ("exp", lambda a: a.exp(), [rand(2, 3)]),
    ("log", lambda a: a.log(), [rand(2, 3)]),
    ("sqrt", lambda a: a.sqrt(), [rand(2, 3)]),
    ("abs", lambda a: (a - 1).abs(), [rand(2, 3)]),
    ("relu", lambda a: (a - 1).relu(), [rand(2, 3)]),
    ("sigmoid", lambda a: a.sigmoid(), [rand(2, 3)]),
    ("tanh", lambda a: a.tanh(), [rand(2, 3)]),
    ("clamp-both", lambda a: a.clamp(0.8, 1.2), [rand(2, 3)]),
    ("clamp-min", lambda a: a.clamp(min=0.8), [rand(2, 3)]),
    ("clamp-max", lambda a: a.clamp(max=1.2), [rand(2, 3)]),
    ("sum", lambda a: a.sum(), [rand(2, 3)]),
    ("sum-dim", lambda a: a.sum(1, keepdim=True), [rand(2, 3)]),
    ("mean", lambda a: a.mean(0), [rand(2, 3)]),
    ("max", lambda a: a.max(), [rand(2, 3)]),
    ("min", lambda a: a.min(), [rand(2, 3)]),
    ("max-dim", lambda a: a.max(1).values, [rand(2, 3)]),
    ("min-dim", lambda a: a.min(0, keepdim=True).values, [rand(2, 3)]),
    ("softmax", lambda a: a.softmax(1), [rand(2, 3)]),
    ("log-softmax", lambda a: a.log_softmax(0), [rand(2, 3)]),
    ("transpose", lambda a: a.t(), [rand(2, 3)]),
    ("permute", lambda a: a.permute(2, 0, 1), [rand(2, 3, 4)]),
    ("reshape", lambda a: a.reshape(3, 2), [rand(2, 3)]),
    ("view", lambda a: a.view(-1), [rand(2, 3)]),
    ("flatten", lambda a: a.flatten(), [rand(2, 3, 2)]),
    ("unsqueeze", lambda a: a.unsqueeze(1), [rand(2, 3)]),
    ("squeeze", lambda a: a.squeeze(), [rand(2, 1, 3)]),
    ("repeat", lambda a: a.repeat(2, 1), [rand(2, 3)]),
    ("expand", lambda a: a.expand(4, 3), [rand(1, 3)]),
    ("index-basic", lambda a: a[1:, ::2], [rand(3, 4)]),
    ("index-tensor", lambda a, rows: a[rows], [rand(3, 4), const([0, 2, 0])]),
    ("cat", lambda a, b: lib(a).cat([a, b], 1), [rand(2, 3), rand(2, 1)]),
    ("stack", lambda a, b: lib(a).stack([a, b]), [rand(2, 3), rand(2, 3)]),
    ("linear", lambda x, w, b: F.linear(x, w, b), [rand(4, 3), rand(2, 3), rand(2)]),
    ("linear-no-bias", lambda x, w: F.linear(x, w), [rand(2, 4, 3), rand(2, 3)]),
    ("mse-loss", lambda x, y: F.mse_loss(x, y), [rand(4, 2), rand(4, 2)]),
    ("mse-loss-sum", lambda x, y: F.mse_loss(x, y, reduction="sum"), [rand(4, 2), rand(4, 2)]),
    ("cross-entropy", lambda x, y: F.cross_entropy(x, y), [rand(3, 4), const([1, 0, 3])]),
    ("cross-entropy-none",
     lambda x, y: F.cross_entropy(x, y, reduction="none"), [rand(3, 4), const([1, 0, 3])]),
    ("cross-entropy-soft", lambda x, y: F.cross_entropy(x, y.softmax(1)), [rand(3, 4), rand(3, 4)]),
    ("dropout-all", lambda a: F.dropout(a, p=1.0), [rand(2, 3)]),
    ("batch-norm",
     lambda x, w, b: F.batch_norm(x, None, None, w, b, True), [rand(4, 3, 2), rand(3), rand(3)]),
    ("batch-norm-running", lambda x, w: F.batch_norm(
        x, x.tensor.new_zeros(3), x.tensor.new_ones(3), w, training=True),
     [rand(4, 3, 2, 2), rand(3)]),
    ("batch-norm-eval", lambda x: F.batch_norm(
        x, x.tensor.new_zeros(3), x.tensor.new_ones(3), training=False), [rand(4, 3)]),
    ("layer-norm", lambda x, w, b: F.layer_norm(x, (3,), w, b), [rand(2, 4, 3), rand(3), rand(3)]),
    ("gelu", lambda a: F.gelu(a - 1), [rand(2, 3)]),
    ("gelu-tanh", lambda a: F.gelu(a - 1, approximate="tanh"), [rand(2, 3)]),
    ("leaky-relu", lambda a: F.leaky_relu(a - 1, 0.2), [rand(2, 3)]),
    ("silu", lambda a: F.silu(a), [rand(2, 3)]),
    ("elu", lambda a: F.elu(a - 1, 0.5), [rand(2, 3)]),
    ("embedding",
     lambda w, i: F.embedding(i, w, padding_idx=1), [rand(4, 3), const([[0, 1], [3, 0]])]),
    ("dropout2d-all", lambda a: F.dropout2d(a, p=1.0), [rand(2, 3, 2, 2)]),

    ("l1-loss", lambda x, y: F.l1_loss(x, y), [rand(4, 2), rand(4, 2)]),
    ("smooth-l1-loss", lambda x, y: F.smooth_l1_loss(x, y, beta=0.3), [rand(4, 2), rand(4, 2)]),
    ("huber-loss", lambda x, y: F.huber_loss(x, y, "sum", 0.3), [rand(4, 2), rand(4, 2)]),
    ("bce", lambda x, y: F.binary_cross_entropy(x * 0.5, y * 0.5), [rand(4, 2), rand(4, 2)]),
    ("bce-logits",
     lambda x, y: F.binary_cross_entropy_with_logits(x, y * 0.5, pos_weight=like(x, [2.0, 0.5])),
     [rand(4, 2), rand(4, 2)]),
    ("nll-loss", lambda x, y: F.nll_loss(x, y, like(x, [1.0, 2.0, 0.5, 3.0]), ignore_index=0),
     [rand(3, 4, 2), const([[1, 0], [3, 2], [0, 0]])]),
    ("cross-entropy-options",
     lambda x, y: F.cross_entropy(
         x, y, like(x, [1.0, 2.0, 0.5, 3.0]), ignore_index=3, label_smoothing=0.1),
     [rand(3, 4, 2), const([[1, 0], [3, 2], [0, 3]])]),
]  # fmt: skip
CASE_IDS = [case[0] for case in OPERATOR_CASES]


def make_operands(factories, device, dtype, seed=0):
    """The same operand values for every device: drawn on the CPU, then moved."""
    generator = torch.Generator().manual_seed(seed)
    return [factory(device, dtype, generator) for factory in factories]


def forward_backward(fn, operands):
    """fn on leaf Variables, backward from a ones gradient; (output, gradients of the leaves)."""
    leaves = [Variable(operand) if operand.is_floating_point() else operand for operand in operands]
    output = fn(*leaves)
    output.backward(torch.ones_like(output.tensor))
    return output.tensor, [leaf.grad for leaf in leaves if isinstance(leaf, Variable)]


# --- Every operator on meta tensors: nothing made on another device or in another dtype ----------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("name", "fn", "factories"), OPERATOR_CASES, ids=CASE_IDS)
def test_operator_creates_tensors_only_on_its_inputs_device_and_dtype(name, fn, factories, dtype):
    operands = make_operands(factories, "meta", dtype)
    with CreatedTensors("meta", dtype) as created:
        output, grads = forward_backward(fn, operands)
    assert created.strays == []
    assert output.device.type == "meta"
    assert all(grad.device.type == "meta" and grad.dtype == dtype for grad in grads)


class LeakyDoubleOperator(GradOperator):
    """2a, with a backward that forgets the device and dtype of its constant (planted bug)."""

    def forward(self, a):
        return a * 2

    def pass_grad(self, grad_output):
        return (grad_output * torch.tensor(2.0),)


def test_the_dispatch_check_catches_a_constant_made_on_the_cpu():
    leaf = Variable(torch.ones(3, dtype=torch.float64, device="meta"))
    with CreatedTensors("meta", torch.float64) as created:
        LeakyDoubleOperator.apply(leaf).sum().backward()
    # torch accepted the 0-d CPU float32 constant; the gradient even looks right.
    assert leaf.grad.device.type == "meta" and leaf.grad.dtype == torch.float64
    assert created.strays[0] == "aten.lift_fresh.default made a torch.float32 tensor on cpu"


# --- Modules, optimizers and the data iterator on meta tensors ----------------------------------


def reference_network(hidden=5, dtype=torch.float64, generator=None):
    """The seed's 2-h-h-h-2 network (without its generator, Linear draws from torch's)."""
    options = {"dtype": dtype, "generator": generator}
    return nn.Sequential(
        nn.Linear(2, hidden, **options),
        nn.ReLU(),
        nn.Linear(hidden, hidden, **options),
        nn.ReLU(),
        nn.Linear(hidden, 2, **options),
        nn.Softmax(dim=1),
    )


OPTIMIZERS = [
    pytest.param(lambda params: optim.SGD(params, lr=0.1), id="sgd"),
    pytest.param(lambda params: optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True), id="nag"),
    pytest.param(lambda params: optim.Adam(params, lr=0.01, weight_decay=0.1), id="adam"),
    pytest.param(lambda params: optim.Adam(params, lr=0.01, amsgrad=True), id="amsgrad"),
]


@pytest.mark.parametrize("make_optimizer", OPTIMIZERS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_module_to_device_then_training_steps_stay_on_that_device(make_optimizer, dtype):
    model = reference_network(dtype=dtype).to("meta")
    optimizer = make_optimizer(model.parameters())
    inputs = torch.empty(6, 2, dtype=dtype, device="meta")
    targets = torch.empty(6, 2, dtype=dtype, device="meta")
    with CreatedTensors("meta", dtype) as created:
        for _ in range(2):
            optimizer.zero_grad()
            nn.MSELoss()(model(inputs), targets).backward()
            optimizer.step()
    # Adam's step count is a CPU float32 tensor on purpose, as torch.optim.Adam keeps it.
    adam_step = "aten.lift_fresh.default made a torch.float32 tensor on cpu"
    assert set(created.strays) <= ({adam_step} if isinstance(optimizer, optim.Adam) else set())
    for param in model.parameters():
        assert param.device.type == "meta" and param.dtype == dtype
        assert param.grad.device.type == "meta"
        for key, value in optimizer.state.get(param, {}).items():
            expected = "cpu" if key == "step" else "meta"
            assert value.device.type == expected, key


def test_linear_created_on_a_device_draws_on_the_generators_device_first():
    generator = torch.Generator().manual_seed(3)
    layer = nn.Linear(3, 2, dtype=torch.float64, device="meta", generator=generator)
    assert layer.weight.device.type == "meta" and layer.bias.device.type == "meta"
    assert layer.weight.dtype == torch.float64


def test_batches_follow_the_data_device_with_a_cpu_generator():
    inputs = torch.empty(10, 2, device="meta")
    targets = torch.empty(10, 2, device="meta")
    generator = torch.Generator().manual_seed(0)
    shapes = []
    for batch_inputs, batch_targets in data.batches(inputs, targets, 4, generator=generator):
        assert batch_inputs.device.type == "meta" and batch_targets.device.type == "meta"
        shapes.append(batch_inputs.shape[0])
    assert shapes == [4, 4, 2]


# --- Choosing a device on the command line --------------------------------------------------------


def test_auto_device_is_cuda_exactly_when_cuda_is_available(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert experiment.resolve_device("auto") == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert experiment.resolve_device("auto") == torch.device("cpu")
    assert experiment.resolve_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_device_cuda_without_cuda_is_a_one_line_error(device, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--device", device, "--epochs", "1", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert "CUDA is not available" in captured.err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("device", ["gpu", "cuda:x", "meta", "cpu:0:1"])
def test_unknown_device_is_a_one_line_error(device, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--device", device])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "--device" in error


def test_device_auto_trains_on_the_cpu_without_cuda(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    argv = ["train", "--device", "auto", "--epochs", "2", "--repeats", "1", "--quiet"]
    assert cli.main([*argv, "--train-points", "200", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["config"]["device"] == "auto"
    assert results["config"]["resolved_device"] == "cpu"
    capsys.readouterr()


# --- CUDA: the same numbers as the CPU, in float64 ------------------------------------------------


@cuda
@pytest.mark.parametrize(("name", "fn", "factories"), OPERATOR_CASES, ids=CASE_IDS)
def test_operator_on_cuda_gives_the_cpu_numbers(name, fn, factories):
    cpu_output, cpu_grads = forward_backward(fn, make_operands(factories, "cpu", torch.float64))
    operands = make_operands(factories, "cuda", torch.float64)
    with CreatedTensors("cuda:0", torch.float64) as created:
        cuda_output, cuda_grads = forward_backward(fn, operands)
    assert created.strays == []
    torch.testing.assert_close(cuda_output.cpu(), cpu_output, rtol=1e-12, atol=1e-12)
    for cuda_grad, cpu_grad in zip(cuda_grads, cpu_grads, strict=True):
        assert cuda_grad.device.type == "cuda"
        torch.testing.assert_close(cuda_grad.cpu(), cpu_grad, rtol=1e-12, atol=1e-12)


@cuda
def test_to_between_devices_sends_the_gradient_back():
    leaf = Variable(torch.randn(3, dtype=torch.float64))
    moved = leaf.cuda()
    assert moved.device.type == "cuda"
    (moved * moved).sum().backward()
    assert leaf.grad.device.type == "cpu"
    torch.testing.assert_close(leaf.grad, 2 * leaf.tensor)


def train_reference(device: str, optimizer: str) -> experiment.RunState:
    """Three epochs of the reference experiment, float64, on `device`."""
    config = experiment.Config(
        epochs=3, repeats=1, dtype="float64", device=device, optimizer=optimizer, lr=0.01
    )
    state, dataset = experiment.start_run(config, 0)
    for _ in range(config.epochs):
        experiment.train_epoch(state, dataset, config, nn.MSELoss())
    return state


@cuda
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_reference_training_on_cuda_gives_the_cpu_numbers(optimizer):
    on_cpu, on_cuda = train_reference("cpu", optimizer), train_reference("cuda", optimizer)
    for param in on_cuda.model.parameters():
        assert param.device.type == "cuda"
    for (name, cpu_param), cuda_param in zip(
        on_cpu.model.named_parameters(), on_cuda.model.parameters(), strict=True
    ):
        torch.testing.assert_close(
            cuda_param.tensor.cpu(), cpu_param.tensor, rtol=0, atol=1e-10, msg=name
        )
    for metric in experiment.METRICS:
        assert on_cuda.curves[metric] == pytest.approx(on_cpu.curves[metric], abs=1e-10)


@cuda
def test_train_command_on_cuda_matches_the_cpu(tmp_path, capsys):
    argv = ["train", "--epochs", "3", "--repeats", "1", "--dtype", "float64", "--quiet"]
    summaries = {}
    for device in ("cpu", "cuda"):
        out = tmp_path / device
        assert cli.main([*argv, "--device", device, "--out", str(out)]) == 0
        results = json.loads((out / "results.json").read_text())
        summaries[device] = results["summary"]
    assert results["config"]["resolved_device"].startswith("cuda")
    for metric in experiment.METRICS:
        cpu, on_cuda = summaries["cpu"][metric], summaries["cuda"][metric]
        assert on_cuda["median"] == pytest.approx(cpu["median"], abs=1e-10)
    capsys.readouterr()


@cuda
def test_one_hot_and_batches_on_cuda():
    labels = torch.tensor([1, 0, 1], device="cuda")
    targets = data.one_hot(labels, 2, torch.float64)
    assert targets.device.type == "cuda" and targets.dtype == torch.float64
    inputs = torch.arange(6.0, device="cuda").reshape(3, 2)
    generator = torch.Generator().manual_seed(0)
    for batch_inputs, batch_targets in data.batches(inputs, targets, 2, generator=generator):
        assert batch_inputs.device.type == "cuda" and batch_targets.device.type == "cuda"


@cuda
def test_gradcheck_on_cuda_inputs_including_empty_ones():
    assert autogradlib.gradcheck(lambda a: (a * a).sum(), torch.randn(3, device="cuda"))
    assert autogradlib.gradcheck(lambda a: a.exp(), torch.randn(0, device="cuda"))
