"""Bad input fails loudly and precisely: the exception type, and a message that names the operator
(or layer, optimizer, option) and the shapes or values involved, raised where the mistake is made.
Then detect_anomaly(), which does the same for values that stop being finite."""

import contextlib
import inspect
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import autogradlib
from autogradlib import (
    AnomalyError,
    CheckpointError,
    DeviceError,
    DTypeError,
    GradcheckError,
    GraphError,
    ShapeError,
    StateDictError,
    Variable,
    cli,
    detect_anomaly,
    experiment,
    nn,
    optim,
)

PACKAGE_DIR = Path(autogradlib.__file__).parent
REPOSITORY = PACKAGE_DIR.parent


def leaf(*shape, dtype=torch.float32, device="cpu") -> Variable:
    return Variable(torch.ones(*shape, dtype=dtype, device=device))


def reference_model() -> nn.Sequential:
    generator = torch.Generator().manual_seed(0)
    return nn.Sequential(
        nn.Linear(2, 25, generator=generator), nn.ReLU(), nn.Linear(25, 2, generator=generator)
    )


def backward_twice() -> None:
    total = (leaf(2, 3) * 2).sum()
    total.backward()
    total.backward()


def load_state_dict_with(change) -> None:
    model = reference_model()
    state = dict(model.state_dict())
    change(state)
    model.load_state_dict(state)


def parameters() -> list[Variable]:
    return reference_model().params()


NAN = float("nan")

# (id, action, exception type, fragments that the message must contain)
BAD_INPUTS = [
    # Shapes that do not fit, in elementwise operations and matmul.
    ("add-shapes", lambda: leaf(2, 3) + leaf(4), ShapeError, ["Add", "(2, 3)", "(4,)"]),
    ("mul-tensor", lambda: leaf(2, 3) * torch.ones(5), ShapeError, ["Mul", "(2, 3)", "(5,)"]),
    ("sub-left", lambda: torch.ones(3, 1, 2) - leaf(4, 3), ShapeError, ["Sub", "(3, 1, 2)"]),
    ("div-shapes", lambda: leaf(2, 3) / leaf(3, 2), ShapeError, ["Div", "(2, 3)", "(3, 2)"]),
    ("matmul-vector", lambda: leaf(2, 3) @ leaf(4), ShapeError, ["MatMul", "(2, 3)", "(4,)"]),
    ("matmul-matrix", lambda: leaf(2, 3) @ leaf(2, 3), ShapeError, ["MatMul", "(2, 3) and (2, 3)"]),
    ("mse-shapes", lambda: nn.MSELoss()(leaf(4, 2), torch.ones(4)), ShapeError, ["(4, 2)", "(4,)"]),
    # Out-of-range dimensions stay IndexErrors, as in torch, but name the operator.
    ("sum-dim", lambda: leaf(2, 3).sum(5), IndexError, ["Sum", "(2, 3)"]),
    ("softmax-dim", lambda: leaf(2, 3).softmax(2), IndexError, ["Softmax", "(2, 3)"]),
    # backward() that cannot run.
    (
        "backward-non-scalar",
        lambda: (leaf(2, 3) * 2).backward(),
        ShapeError,
        ["backward", "(2, 3)"],
    ),
    (
        "backward-gradient-shape",
        lambda: (leaf(2, 3) * 2).backward(torch.ones(3, 2)),
        ShapeError,
        ["backward", "gradient has shape (3, 2)", "output has shape (2, 3)"],
    ),
    ("backward-released", backward_twice, GraphError, ["backward", "Sum", "released"]),
    # Operands that are neither a Variable, a tensor nor a number.
    ("operand-str", lambda: leaf(2) + "1", TypeError, ["Add", "operand 1", "str"]),
    ("operand-list", lambda: [1.0, 2.0] * leaf(2), TypeError, ["Mul", "operand 0", "list"]),
    ("operand-none", lambda: leaf(2) @ None, TypeError, ["MatMul", "operand 1", "NoneType"]),
    # Mixed devices ("meta" stands in for a GPU) and mixed floating dtypes.
    (
        "devices",
        lambda: leaf(2, 3) + leaf(2, 3, device="meta"),
        DeviceError,
        ["Add", "cpu", "meta", "(2, 3) and (2, 3)"],
    ),
    (
        "devices-model",
        lambda: reference_model()(torch.ones(5, 2, device="meta")),
        DeviceError,
        ["layer (0)", "Linear", "cpu", "meta", "(5, 2)"],
    ),
    (
        "dtypes",
        lambda: leaf(2) * leaf(2, dtype=torch.float64),
        DTypeError,
        ["Mul", "torch.float32", "torch.float64"],
    ),
    (
        "dtypes-model",
        lambda: reference_model()(torch.ones(5, 2, dtype=torch.float64)),
        DTypeError,
        ["layer (0)", "Linear", "torch.float32", "torch.float64"],
    ),
    # A model called with the wrong number of features: the error names the layer.
    (
        "feature-size",
        lambda: reference_model()(torch.ones(5, 3)),
        ShapeError,
        ["layer (0)", "Linear(in_features=2, out_features=25", "(5, 3)"],
    ),
    (
        "feature-size-linear",
        lambda: nn.Linear(25, 2)(torch.ones(7, 24)),
        ShapeError,
        ["Linear(in_features=25, out_features=2", "(7, 24)"],
    ),
    # load_state_dict with missing, unexpected or mis-shaped entries.
    (
        "state-missing",
        lambda: load_state_dict_with(lambda state: state.pop("2.bias")),
        StateDictError,
        ["Sequential", "Missing", '"2.bias"'],
    ),
    (
        "state-unexpected",
        lambda: load_state_dict_with(lambda state: state.update(extra=torch.ones(1))),
        StateDictError,
        ["Sequential", "Unexpected", '"extra"'],
    ),
    (
        "state-shape",
        lambda: load_state_dict_with(lambda state: state.update({"2.weight": torch.ones(3, 25)})),
        StateDictError,
        ["Sequential", "2.weight", "[3, 25]", "[2, 25]"],
    ),
    # Learning rates that are negative or NaN, and betas outside [0, 1).
    ("sgd-lr-negative", lambda: optim.SGD(parameters(), lr=-0.1), ValueError, ["SGD", "lr -0.1"]),
    ("sgd-lr-nan", lambda: optim.SGD(parameters(), lr=NAN), ValueError, ["SGD", "lr nan"]),
    ("adam-lr-nan", lambda: optim.Adam(parameters(), lr=NAN), ValueError, ["Adam", "lr nan"]),
    (
        "adam-lr-negative",
        lambda: optim.Adam(parameters(), lr=-1e-3),
        ValueError,
        ["Adam", "lr -0.001"],
    ),
    (
        "adam-beta-one",
        lambda: optim.Adam(parameters(), betas=(0.9, 1.0)),
        ValueError,
        ["Adam", "betas[1] 1.0"],
    ),
    (
        "adam-beta-negative",
        lambda: optim.Adam(parameters(), betas=(-0.5, 0.999)),
        ValueError,
        ["Adam", "betas[0] -0.5"],
    ),
    (
        "adam-beta-nan",
        lambda: optim.Adam(parameters(), betas=(0.9, NAN)),
        ValueError,
        ["Adam", "betas[1] nan"],
    ),
    (
        "adam-betas-single",
        lambda: optim.Adam(parameters(), betas=(0.9,)),
        ValueError,
        ["Adam", "betas (0.9,)"],
    ),
]


@pytest.mark.parametrize(
    ("action", "expected", "fragments"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input_raises_a_precise_error_where_the_mistake_is_made(action, expected, fragments):
    with pytest.raises(expected) as caught:
        action()
    message = str(caught.value)
    missing = [fragment for fragment in fragments if fragment not in message]
    assert not missing, f"{message!r} does not name {missing}"
    # Raised by Autogradlib itself, at the call, not by torch somewhere later.
    assert Path(caught.traceback[-1].path).is_relative_to(PACKAGE_DIR)


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (ShapeError, ValueError),
        (DTypeError, TypeError),
        (DeviceError, RuntimeError),
        (GraphError, RuntimeError),
        (StateDictError, RuntimeError),
        (CheckpointError, ValueError),
        (AnomalyError, RuntimeError),
        (GradcheckError, RuntimeError),
    ],
)
def test_every_error_type_is_exported_and_derives_from_the_builtin_users_catch(error, builtin):
    assert issubclass(error, builtin)
    assert getattr(autogradlib, error.__name__) is error
    assert error.__name__ in autogradlib.__all__
    assert error.__module__ == "autogradlib.errors"


def test_state_dict_error_is_also_reachable_from_nn():
    assert nn.StateDictError is StateDictError


# --- The command line ----------------------------------------------------------------------------


def write_training_checkpoint(path: Path) -> None:
    config = experiment.Config(epochs=3, repeats=1, train_points=20, test_points=20, hidden=4)
    state, _ = experiment.start_run(config, 0)
    autogradlib.save(experiment.checkpoint_document(config, [], state, every=1), path)


# (id, arguments after `train`, fragments of the one line on stderr)
BAD_COMMAND_LINES = [
    ("epochs-zero", ["--epochs", "0"], ["--epochs", ">= 1", "got 0"]),
    ("repeats-negative", ["--repeats", "-3"], ["--repeats", "got -3"]),
    ("batch-size-text", ["--batch-size", "ten"], ["--batch-size", "'ten'"]),
    ("lr-negative", ["--lr", "-0.1"], ["--lr", "> 0", "got -0.1"]),
    ("lr-nan", ["--lr", "nan"], ["--lr", "finite", "got nan"]),
    ("lr-infinite", ["--lr", "inf"], ["--lr", "finite", "got inf"]),
    ("momentum-one", ["--momentum", "1"], ["--momentum", "[0, 1)", "got 1"]),
    ("seed-negative", ["--seed", "-1"], ["--seed", ">= 0", "got -1"]),
    ("train-points-one", ["--train-points", "1"], ["--train-points", ">= 2", "got 1"]),
    ("optimizer-unknown", ["--optimizer", "rmsprop"], ["--optimizer", "'rmsprop'"]),
    ("dtype-unknown", ["--dtype", "float16"], ["--dtype", "'float16'"]),
    ("device-unknown", ["--device", "tpu"], ["--device", "'tpu'"]),
    ("device-absent", ["--device", "cuda:99"], ["--device", "cuda:99"]),
    ("checkpoint-every-negative", ["--checkpoint-every", "-2"], ["--checkpoint-every", "got -2"]),
    ("option-unknown", ["--epoch-count", "5"], ["unrecognized", "--epoch-count"]),
    ("resume-missing", ["--resume", "{missing}"], ["{missing}", "no such file"]),
    ("resume-foreign", ["--resume", "{foreign}"], ["{foreign}", "not a file written by"]),
    ("out-a-file", ["--out", "{foreign}"], ["--out", "{foreign} is a file, not a folder"]),
    ("out-below-a-file", ["--out", "{foreign}/run"], ["--out", "{foreign} is a file"]),
    (
        "resume-conflict",
        ["--resume", "{checkpoint}", "--epochs", "5", "--lr", "0.1", "--seed", "9"],
        ["{checkpoint}", "--epochs 5 (it has 3)", "--seed 9 (it has 0)"],
    ),
]


@pytest.mark.parametrize(
    ("arguments", "fragments"),
    [case[1:] for case in BAD_COMMAND_LINES],
    ids=[case[0] for case in BAD_COMMAND_LINES],
)
def test_bad_command_line_exits_2_with_one_line_naming_the_option(tmp_path, arguments, fragments):
    files = {
        "missing": tmp_path / "absent.pt",
        "foreign": tmp_path / "notes.txt",
        "checkpoint": tmp_path / "checkpoint.pt",
    }
    files["foreign"].write_text("not a checkpoint\n")
    write_training_checkpoint(files["checkpoint"])
    arguments = [argument.format(**files) for argument in arguments]
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = cli.main(["train", "--quiet", "--out", str(tmp_path / "out"), *arguments])
        except SystemExit as exit:
            code = exit.code
    assert code == 2
    lines = stderr.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("autogradlib")
    for fragment in fragments:
        assert fragment.format(**files) in lines[0]
    assert not (tmp_path / "out").exists()  # refused before anything ran


@pytest.mark.parametrize("arguments", [["--epochs", "0"], ["--resume", "absent.pt"]])
def test_the_real_command_exits_2_with_one_line_and_no_traceback(tmp_path, arguments):
    result = subprocess.run(
        [sys.executable, "-m", "autogradlib", "train", *arguments],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert arguments[0] in result.stderr
    assert result.stdout == ""


def test_a_run_whose_losses_are_all_nan_still_writes_every_file(tmp_path):
    # An lr this large makes every loss NaN; the log-scaled loss panel used to crash the report.
    arguments = ["--epochs", "1", "--repeats", "1", "--train-points", "20", "--test-points", "20"]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = cli.main(["train", "--quiet", "--lr", "1e30", *arguments, "--out", str(tmp_path)])
    assert code == 0
    for name in ("results.json", "model.pt", "curves.png", "model.gv"):
        assert (tmp_path / name).is_file(), name
    # Strict JSON (no NaN): the diverged losses are null.
    results = json.loads((tmp_path / "results.json").read_text(), parse_constant=reject_constant)
    assert results["runs"][0]["train_loss"] is None


def reject_constant(name: str):
    raise ValueError(f"results.json holds {name}, which strict JSON parsers refuse")


# --- detect_anomaly() ----------------------------------------------------------------------------


def next_line() -> str:
    """'this file:N', N the line after the caller's: where the next statement creates operators."""
    caller = inspect.currentframe().f_back
    return f"{caller.f_code.co_filename}:{caller.f_lineno + 1}"


def test_forward_nan_names_the_operator_and_the_line_that_created_it():
    x = Variable(torch.tensor([1.0, -1.0]))
    with detect_anomaly(), pytest.raises(AnomalyError) as caught:
        where = next_line()
        (x - 2).log()
    message = str(caught.value)
    assert message.startswith("Log produced a non-finite output of shape (2,) in forward")
    assert f"at {where} in test_forward_nan" in message


def test_forward_nan_inside_a_model_points_at_the_users_call_not_the_library():
    model = reference_model()
    model[2].weight.tensor[0, 0] = float("inf")
    model[2].weight.tensor[1, 0] = -float("inf")
    with detect_anomaly(), pytest.raises(AnomalyError) as caught:
        where = next_line()
        model(torch.ones(4, 2))
    assert str(caught.value).startswith("Linear produced a non-finite output")
    assert f"at {where} in test_forward_nan_inside" in str(caught.value)


def test_backward_infinite_gradient_names_the_operator_and_where_it_was_created():
    x = Variable(torch.tensor([0.0, 4.0]))
    with detect_anomaly():
        where = next_line()
        root = x.sqrt()
        total = (root * 3).sum()
        with pytest.raises(AnomalyError) as caught:
            total.backward()
    message = str(caught.value)
    assert message.startswith("Sqrt returned a non-finite gradient for operand 0 (shape (2,))")
    assert f"created at {where} in test_backward_infinite" in message


def test_backward_inside_detect_anomaly_checks_a_graph_built_outside_it():
    root = Variable(torch.tensor([0.0])).sqrt()
    with detect_anomaly(), pytest.raises(AnomalyError, match="created outside detect_anomaly"):
        root.sum().backward()


def test_outside_detect_anomaly_nothing_is_checked():
    x = Variable(torch.tensor([0.0, -1.0]))
    logarithm = x.log()
    assert torch.isnan(logarithm.tensor[1])
    x.sqrt().sum().backward()
    assert torch.isinf(x.grad[0])


def test_detect_anomaly_ends_with_its_block_even_after_an_error_and_works_as_a_decorator():
    negative = Variable(torch.tensor([-1.0]))
    with pytest.raises(AnomalyError), detect_anomaly():
        with detect_anomaly():
            pass
        negative.log()  # still checked after the inner block ended
    negative.log()  # not checked any more

    @detect_anomaly()
    def logarithm(x):
        return x.log()

    with pytest.raises(AnomalyError, match="Log"):
        logarithm(negative)
    assert torch.isnan(negative.log().tensor).all()
