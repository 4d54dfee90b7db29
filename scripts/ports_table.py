"""Write docs/ports.md: each ported program, its source, the lines its port changed, its needs.

.venv/bin/python scripts/ports_table.py      (tests/test_ports.py checks the counts)
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_ports import NAMES, PORTS, count_changes  # noqa: E402

# What each program exercises beyond a plain nn.Linear / optim.SGD loop.
NEEDS = {
    "checkpoint_general": (
        "`nn.Conv2d`, `nn.MaxPool2d`, `torch.save`/`torch.load` of state dicts, SGD momentum state"
    ),
    "d2l_linear_regression_scratch": (
        "`torch.matmul` on Variables, `param -= ...` under `torch.no_grad()`, "
        "`grad.zero_()`, `float(v)`, `tensor - v`"
    ),
    "d2l_mlp_scratch": (
        "`torch.zeros_like`, `torch.max(X, a)`, "
        "`CrossEntropyLoss(reduction='none')`, `isinstance(opt, optim.Optimizer)`"
    ),
    "d2l_softmax_regression_scratch": (
        "`torch.exp`, `torch.log`, `torch.matmul`, `sum(1, "
        "keepdim=True)`, `argmax(axis=1)`, `.type(dtype)`, in-place updates"
    ),
    "d2l_weight_decay_concise": (
        "`param.data.normal_()`, SGD parameter groups with `weight_decay`, "
        "`MSELoss(reduction='none')`, `.norm()`"
    ),
    "d2l_weight_decay_scratch": "`torch.sum`, `torch.norm`, `param -= ...` under `torch.no_grad()`",
    "dynamic_net": "a `torch.nn.Parameter` taken in by a Module, random control flow, SGD momentum",
    "examples_regression": (
        "`F.smooth_l1_loss`, `param.data.add_`, `'{:+.2f}'.format(v)`, PyTorch's `nn.Linear` init"
    ),
    "liuer_logistic_bce": "`nn.BCELoss(reduction='sum')`, `torch.sigmoid`",
    "makemore_adamw": (
        "`optim.AdamW`, `nn.Embedding`, `torch.cat` of Variables, `cross_entropy(ignore_index)`, "
        "`torch.inference_mode()`, `torch.multinomial(v)`"
    ),
    "makemore_bigram": (
        "`F.one_hot`, `tensor @ v`, `sum(1, "
        "keepdims=True)`, `W.data += ...`, `torch.multinomial(v)`"
    ),
    "makemore_mlp": (
        "`torch.tanh`, `C[X]`, `view`, "
        "`F.cross_entropy`, `F.softmax`, `p.data += ...`, `torch.multinomial(v)`"
    ),
    "micrograd_moons": "float64, `p.data -= ...`, `sum()` of Variables, `relu`",
    "nn_tutorial_cnn": (
        "`nn.Conv2d`, `nn.AdaptiveAvgPool2d`, a `Lambda` module, SGD momentum, torch's DataLoader"
    ),
    "nn_tutorial_dataloader": (
        "PyTorch's `nn.Linear` init, torch's DataLoader, `loss.item()` under `torch.no_grad()`"
    ),
    "nn_tutorial_module": (
        "`F.cross_entropy`, `p -= p.grad * lr` under `torch.no_grad()`, `model.zero_grad()`"
    ),
    "nn_tutorial_scratch": (
        "`w -= ...` under `torch.no_grad()`, `grad.zero_()`, `torch.argmax(v)`, `requires_grad_()`"
    ),
    "polynomial_autograd": "`a -= ...` under `torch.no_grad()`, `a.grad = None`",
    "polynomial_module": "`torch.nn.Parameter` members taken in by a Module",
    "polynomial_nn": (
        "`nn.Flatten(0, 1)`, `param -= ...` under `torch.no_grad()`, PyTorch's `nn.Linear` init"
    ),
    "polynomial_optim": "`optim.RMSprop`, `nn.Flatten(0, 1)`, PyTorch's `nn.Linear` init",
    "transfer_learning_steplr": (
        "`lr_scheduler.StepLR`, `torch.max(v, 1)`, `torch.sum`, `torch.set_grad_enabled`"
    ),
    "word_language_model_clip": (
        "`nn.utils.clip_grad_norm_`, `nn.NLLLoss`, `F.one_hot`, `p.data.add_(p.grad, alpha=-lr)`"
    ),
    "yunjey_feedforward": "`optim.Adam`, PyTorch's `nn.Linear` init",
    "yunjey_linear_regression": "PyTorch's `nn.Linear` init, `.detach().numpy()`",
    "yunjey_logistic_regression": "PyTorch's `nn.Linear` init, `torch.max(v.data, 1)`",
    "ztm_circles_bce": (
        "`nn.BCEWithLogitsLoss`, `torch.round`, `torch.sigmoid`, "
        "`torch.eq`, `f'{loss:.5f}'`, `torch.inference_mode()`"
    ),
}

HEADER = """# Public PyTorch programs, ported

Each folder of `examples/ports/` holds a public PyTorch program, shrunk to run in about a second
(`original.py`, its header names the source, the licence and what was shrunk), and its port
(`port.py`): the same file with the imports swapped (`from autogradlib import nn, optim`,
`import autogradlib.nn.functional as F`) and the tensors it learns wrapped in `Variable(...)`
(or `nn.Parameter(...)` written `Variable(...)`). `tests/test_ports.py` runs both from the same
seed and compares the returned results and every printed number (float32: within 1e-4; float64:
1e-10), and checks, line by line with `difflib`, that nothing else changed. Tensors stay
`torch`'s: data, `torch.Generator`, `DataLoader`, `torch.save` are used as they are.

Regenerate this table with `.venv/bin/python scripts/ports_table.py`.

| program | source | import lines | `Variable` lines | needs |
|---|---|---|---|---|
"""


def source(name: str) -> str:
    header = (PORTS / name / "original.py").read_text().split('"""')[1]
    after = header.split("Source:", 1)[1].strip()
    return after.split(",", 1)[0]


def main() -> None:
    rows = []
    for name in NAMES:
        imports, wraps = count_changes(name)
        rows.append(f"| `{name}` | {source(name)} | {imports} | {wraps} | {NEEDS[name]} |")
    (ROOT / "docs" / "ports.md").write_text(HEADER + "\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
