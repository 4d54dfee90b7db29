"""gradcheck: compare an operator's analytical gradients with central differences, in float64."""

import torch

from autogradlib.engine import grad
from autogradlib.errors import GradcheckError
from autogradlib.functional import cat
from autogradlib.variable import Variable


def gradcheck(
    fn,
    *inputs,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """True when fn's backward matches (f(x + eps) - f(x - eps)) / 2 eps for every input element.

    `fn` takes Variables and returns a Variable. Every floating-point input is converted to a
    float64 leaf that requires grad; others are passed as they are. On a mismatch, raises
    GradcheckError naming the worst element (or returns False with raise_exception=False).
    """
    tensors = [_as_float64(value) for value in inputs]
    leaves = [
        Variable(tensor, requires_grad=True) if _is_float(tensor) else tensor for tensor in tensors
    ]
    output = fn(*leaves)
    if not isinstance(output, Variable):
        raise TypeError(f"gradcheck: fn must return a Variable, got {type(output).__name__}")
    for index, leaf in enumerate(leaves):
        if not isinstance(leaf, Variable):
            continue
        analytical = _analytical_jacobian(fn, leaves, index)
        numerical = _numerical_jacobian(fn, leaves, index, eps)
        error = (analytical - numerical).abs() - (atol + rtol * numerical.abs())
        # Written as "not within tolerance" so that a NaN gradient fails too.
        if not bool((error <= 0).all()):
            if not raise_exception:
                return False
            raise GradcheckError(_describe_mismatch(index, leaf, analytical, numerical, error))
    return True


def _is_float(value) -> bool:
    return isinstance(value, torch.Tensor) and value.is_floating_point()


def _as_float64(value):
    if isinstance(value, Variable):
        value = value.tensor
    if _is_float(value):
        # Contiguous, so that the numerical Jacobian can nudge elements through a flat view.
        return value.detach().to(torch.float64).clone(memory_format=torch.contiguous_format)
    return value


def _evaluate(fn, leaves) -> torch.Tensor:
    # A copy: a view-like fn (reshape, slicing) returns the input's storage, nudged afterwards.
    return fn(*leaves).tensor.reshape(-1).clone()


def _analytical_jacobian(fn, leaves, index: int) -> torch.Tensor:
    """Row j is the gradient of output element j with respect to input `index`, by backward."""
    leaf = leaves[index]
    output = fn(*leaves)
    rows = []
    for position in range(output.numel()):
        for other in leaves:
            if isinstance(other, Variable):
                other.grad = None
        selector = torch.zeros_like(output.tensor).reshape(-1)
        selector[position] = 1
        output.backward(selector.reshape(output.shape), retain_graph=True)
        grad = leaf.grad if leaf.grad is not None else torch.zeros_like(leaf.tensor)
        rows.append(grad.reshape(-1))
    for other in leaves:
        if isinstance(other, Variable):
            other.grad = None
    if not rows:
        return torch.zeros(0, leaf.numel(), dtype=torch.float64, device=leaf.device)
    return torch.stack(rows)


def _numerical_jacobian(fn, leaves, index: int, eps: float) -> torch.Tensor:
    """Column k is (f(x + eps e_k) - f(x - eps e_k)) / 2 eps."""
    flat = leaves[index].tensor.view(-1)
    columns = []
    for position in range(flat.numel()):
        original = flat[position].item()
        flat[position] = original + eps
        plus = _evaluate(fn, leaves)
        flat[position] = original - eps
        minus = _evaluate(fn, leaves)
        flat[position] = original
        columns.append((plus - minus) / (2 * eps))
    if not columns:
        return torch.zeros(
            _evaluate(fn, leaves).numel(), 0, dtype=torch.float64, device=flat.device
        )
    return torch.stack(columns, dim=1)


def _describe_mismatch(index, leaf, analytical, numerical, error) -> str:
    worst = int(error.reshape(-1).argmax())
    output_position, input_position = divmod(worst, analytical.shape[1])
    unravelled = torch.unravel_index(torch.tensor(input_position), leaf.shape)
    input_index = tuple(int(i) for i in unravelled)
    a = analytical.reshape(-1)[worst].item()
    n = numerical.reshape(-1)[worst].item()
    return (
        f"gradcheck: input {index} (shape {tuple(leaf.shape)}) has a wrong gradient; worst at "
        f"output element {output_position}, input element {input_index}: analytical {a:.6g}, "
        f"numerical {n:.6g} (difference {abs(a - n):.3g})"
    )


def gradgradcheck(
    fn,
    inputs,
    grad_outputs=None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """gradcheck of fn's first derivative, as PyTorch's gradgradcheck: the vector-Jacobian
    product (inputs, v) -> v^T d fn/d inputs, computed by backward with create_graph=True, is
    differentiated by backward again and compared with central differences.

    `inputs` is a tensor or a tuple of them; `grad_outputs` (v) defaults to a random tensor of the
    output's shape. The error names the operand (an input, or v) and the largest error.
    """
    inputs = (inputs,) if isinstance(inputs, torch.Tensor | Variable) else tuple(inputs)
    tensors = [_as_float64(value) for value in inputs]
    differentiable = [index for index, tensor in enumerate(tensors) if _is_float(tensor)]
    if grad_outputs is None:
        leaves = [Variable(t, requires_grad=True) if _is_float(t) else t for t in tensors]
        shape = fn(*leaves).shape
        generator = torch.Generator().manual_seed(0)
        grad_outputs = torch.randn(shape, dtype=torch.float64, generator=generator)
    grad_outputs = _as_float64(grad_outputs)

    def first_derivative(*values):
        *operands, v = values
        output = fn(*operands)
        wanted = [operands[index] for index in differentiable]
        grads = grad(output, wanted, v, create_graph=True, allow_unused=True)
        flat = [
            (grad if grad is not None else Variable(torch.zeros_like(w.tensor), False)).reshape(-1)
            for grad, w in zip(grads, wanted, strict=True)
        ]
        return cat(flat)

    try:
        return gradcheck(
            first_derivative,
            *tensors,
            grad_outputs,
            eps=eps,
            atol=atol,
            rtol=rtol,
            raise_exception=raise_exception,
        )
    except GradcheckError as error:
        raise GradcheckError(
            f"gradgradcheck: the second derivative is wrong ({error}); input {len(tensors)} "
            "is grad_outputs, the others are fn's own inputs"
        ) from None
