"""The examples of examples/, at small sizes: each agrees with PyTorch, and prints."""

import importlib.util
import pathlib
import subprocess
import sys

import torch

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gradient_penalty_training_has_pytorch_losses():
    ours, theirs = load("gradient_penalty").train(epochs=2, points=100)
    assert len(ours) == 2
    torch.testing.assert_close(torch.tensor(ours), torch.tensor(theirs), rtol=1e-12, atol=1e-14)


def test_newton_iterates_and_the_network_hessian_equal_torch_func():
    example = load("newton_hessian")
    import torch.func

    from autogradlib import func

    for ours, theirs in zip(example.newton(func, 6), example.newton(torch.func, 6), strict=True):
        torch.testing.assert_close(ours, theirs)
    assert torch.allclose(example.newton(func, 8)[-1], torch.ones(2, dtype=torch.float64))
    ours, theirs = example.network_hessians(points=12)
    assert ours.shape == (25, 2, 25, 2)
    torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-14)


def test_one_maml_step_equals_pytorch():
    ours, theirs, difference = load("maml").compare(task_count=2)
    assert abs(ours - theirs) < 1e-12
    assert difference < 1e-12


def test_physics_informed_fit_equals_pytorch_and_plots(tmp_path):
    example = load("physics_informed")
    (our_loss, their_loss), grid, ours, theirs = example.train(steps=15)
    assert abs(our_loss - their_loss) < 1e-10
    torch.testing.assert_close(ours, theirs)
    path = tmp_path / "fit.png"
    example.plot(str(path), grid, ours, theirs)
    assert path.stat().st_size > 1000


def test_an_example_runs_from_the_command_line_and_prints_the_comparison():
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "maml.py"), "--tasks", "1"],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(EXAMPLES.parent)},
    )
    assert "meta-loss: Autogradlib" in result.stdout and "PyTorch" in result.stdout
