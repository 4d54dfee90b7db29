"""GradOperator: the base class of every differentiable operation."""

import itertools
import weakref

import torch

from autogradlib.errors import DeviceError, DTypeError, ShapeError
from autogradlib.grad_mode import grad_mode

_creation_order = itertools.count()
_CONSTANT_TYPES = (torch.Tensor, int, float)


class GradOperator:
    """One recorded operation: `forward` computes the output, `pass_grad` applies the chain rule.

    A subclass implements
      - `forward(self, *tensors, **options) -> torch.Tensor`, keeping on `self` what backward needs;
      - `pass_grad(self, grad_output) -> tuple`, one gradient per operand, each shaped like the
        output's broadcast of that operand (the engine sums it back to the operand's shape), or None
        where `self.needs_input_grad[i]` is False (a bare tensor will do for a single operand).
    and is used as `MyOperator.apply(*operands, **options)`, which returns a Variable.
    """

    # Graph structure lives in slots; whatever a subclass saves for backward lives in the
    # instance dict, so release() can free all of it at once without knowing the operator.
    __slots__ = (
        "__dict__",
        "grad_output",
        "inputs",
        "needs_input_grad",
        "released",
        "retained",
        "sequence",
    )
    label = "GradOperator"

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "label" not in cls.__dict__:
            cls.label = cls.__name__.removesuffix("Operator")

    def forward(self, *tensors, **options) -> torch.Tensor:
        """Compute the output tensor from the operands' tensors."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def pass_grad(self, grad_output: torch.Tensor) -> tuple:
        """Return dL/d(operand) for each operand, given dL/d(output)."""
        raise NotImplementedError(f"{type(self).__name__} must implement pass_grad()")

    @classmethod
    def apply(cls, *operands, **options) -> "Variable":
        """Run forward on the operands and, when any of them requires grad, record the operation."""
        operator = cls.__new__(cls)
        tensors = []
        inputs = []
        requires_grad = False
        for operand in operands:
            if type(operand) is Variable:
                tensors.append(operand.tensor)
                if operand.requires_grad:
                    inputs.append(operand)
                    requires_grad = True
                else:
                    inputs.append(None)
            elif isinstance(operand, _CONSTANT_TYPES):
                tensors.append(operand)
                inputs.append(None)
            elif isinstance(operand, Variable):
                tensors.append(operand.tensor)
                inputs.append(operand if operand.requires_grad else None)
                requires_grad = requires_grad or operand.requires_grad
            else:
                raise TypeError(
                    f"{cls.label}: operand {len(tensors)} is a {type(operand).__name__}; "
                    "expected a Variable, a torch.Tensor or a Python number"
                )
        if len(tensors) > 1:
            check_operands_match(cls.label, tensors)
        try:
            output = operator.forward(*tensors, **options)
        except RuntimeError as error:
            raise explain_forward_error(cls.label, tensors, error) from error
        if _anomaly.enabled:
            _anomaly.check_forward(operator, output)
        if not (requires_grad and grad_mode.enabled):
            return Variable._from_tensor(output)
        operator.inputs = inputs
        operator.needs_input_grad = [variable is not None for variable in inputs]
        operator.sequence = next(_creation_order)
        operator.grad_output = None
        operator.released = False
        operator.retained = None
        return Variable._from_operator(output, operator)

    def release(self) -> None:
        """Free what forward saved for backward; a later backward through here raises GraphError."""
        self.__dict__.clear()
        self.released = True

    def retain(self, variable: "Variable") -> None:
        """Keep the gradient of this operator's output on `variable` (see Variable.retain_grad)."""
        self.retained = weakref.ref(variable)

    def __repr__(self) -> str:
        return f"<{self.label} operator>"


def check_operands_match(label: str, tensors: list) -> None:
    """Reject operands of different floating-point dtypes or on different devices."""
    first = None
    for tensor in tensors:
        if type(tensor) is not torch.Tensor and not isinstance(tensor, torch.Tensor):
            continue
        if first is None:
            first = tensor
            continue
        both_floating = tensor.is_floating_point() and first.is_floating_point()
        if tensor.dtype is not first.dtype and both_floating:
            raise DTypeError(
                f"{label}: operands have different dtypes, {first.dtype} and {tensor.dtype}; "
                "convert one with .to(dtype) first"
            )
        if tensor.device != first.device and tensor.dim() and first.dim():
            raise DeviceError(
                f"{label}: operands are on different devices, {first.device} and {tensor.device}; "
                "move one with .to(device) first"
            )


def describe_operands(tensors: list) -> str:
    """The operands as 'shapes (2, 3) and (4,)' for error messages."""
    shapes = [
        str(tuple(tensor.shape)) if isinstance(tensor, torch.Tensor) else repr(tensor)
        for tensor in tensors
    ]
    return " and ".join(shapes)


def explain_forward_error(label: str, tensors: list, error: RuntimeError) -> Exception:
    """Turn torch's error inside a forward into one that names the operator and the shapes."""
    message = f"{label}: {error} (operand shapes {describe_operands(tensors)})"
    text = str(error).lower()
    if "device" in text:
        return DeviceError(message)
    if "dtype" in text or "scalar type" in text:
        return DTypeError(message)
    return ShapeError(message)


# Imported last: variable.py imports the operators, which import this module, in either order.
from autogradlib import anomaly as _anomaly  # noqa: E402
from autogradlib.variable import Variable  # noqa: E402
