"""`import autogradlib` gives its subpackages as attributes, as `import torch` gives torch.nn."""

import subprocess
import sys

import pytest

SUBMODULES = [
    "nn",
    "optim",
    "nn.functional",
    "nn.init",
    "nn.utils",
    "optim.lr_scheduler",
]


def test_a_bare_import_gives_every_subpackage_as_an_attribute():
    # A fresh interpreter: in this one, other tests have imported the subpackages already.
    paths = ", ".join(f"autogradlib.{path}" for path in SUBMODULES)
    program = f"import autogradlib\nprint([type(module).__name__ for module in ({paths},)])"
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(["module"] * len(SUBMODULES))


EVERYDAY_NAMES = {
    "nn": ["Linear", "Flatten", "BCELoss", "BCEWithLogitsLoss", "L1Loss", "SmoothL1Loss",
           "HuberLoss", "NLLLoss", "CrossEntropyLoss", "MSELoss", "Softmax"],
    "nn.utils": ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector"],
    "nn.functional": ["one_hot", "binary_cross_entropy", "binary_cross_entropy_with_logits",
                      "l1_loss", "smooth_l1_loss", "huber_loss", "nll_loss", "cross_entropy"],
    "optim": ["SGD", "Adam", "AdamW", "RMSprop"],
    "optim.lr_scheduler": ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR",
                           "CosineAnnealingLR", "LambdaLR", "LinearLR", "ReduceLROnPlateau",
                           "OneCycleLR"],
}  # fmt: skip


@pytest.mark.parametrize("path", sorted(EVERYDAY_NAMES))
def test_the_everyday_names_are_where_torch_has_them(path):
    import torch

    import autogradlib

    ours, theirs = autogradlib, torch
    for part in path.split("."):
        ours, theirs = getattr(ours, part), getattr(theirs, part)
    for name in EVERYDAY_NAMES[path]:
        assert callable(getattr(ours, name)) and callable(getattr(theirs, name)), name
