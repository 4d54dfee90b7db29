"""GradOperator: the base class of every differentiable operation."""

import itertools
import weakref

import torch

from autogradlib.errors import DeviceError, DTypeError, GraphError, ShapeError
from autogradlib.grad_mode import grad_mode

_creation_order = itertools.count()
_CONSTANT_TYPES = (torch.Tensor, int, float)
Tensor = torch.Tensor  # a global lookup: saved_versions runs once per recorded operator


class GradOperator:
    """One recorded operation: `forward` computes the output, `pass_grad` applies the chain rule.

    A subclass implements
      - `forward(self, *tensors, **options) -> torch.Tensor`, keeping on `self` what backward needs;
      - `pass_grad(self, grad_output) -> tuple`, one gradient per operand, each shaped like the
        output's broadcast of that operand (the engine sums it back to the operand's shape), or None
        where `self.needs_input_grad[i]` is False (a bare tensor will do for a single operand).
    and is used as `MyOperator.apply(*operands, **options)`, which returns a Variable.
    """

    # Graph structure lives in slots; what a subclass saves for backward lives in the instance
    # dict, so release() frees all of it at once without knowing the operator.
    __slots__ = ("__dict__", "inputs", "needs_input_grad", "output_shape", "sequence")
    # Defaults read through the class until the engine sets them: apply() stays short.
    grad_output = None
    released = False
    retained = None
    # (tensor, version) of each tensor forward saved, which backward checks is unchanged.
    versions = ()
    # True where the output, even when a view, views memory that only this operator made, so
    # that in-place operations on it change nothing else (a chain's transposed output).
    output_view_is_private = False
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
        tensors = []
        sources = []
        needs_input_grad = []
        dtype = None
        mixed_dtypes = False
        for operand in operands:
            if isinstance(operand, Variable):
                tensor = operand.tensor
                if operand.requires_grad:
                    producer = operand.grad_op
                    sources.append(operand if producer is None else producer)
                    needs_input_grad.append(True)
                else:
                    sources.append(None)
                    needs_input_grad.append(False)
            elif isinstance(operand, _CONSTANT_TYPES):
                tensor = operand
                if isinstance(operand, torch.Tensor) and operand.requires_grad:
                    tensor = untracked_tensor(cls.label, len(tensors), operand)
                sources.append(None)
                needs_input_grad.append(False)
            else:
                raise TypeError(
                    f"{cls.label}: operand {len(tensors)} is a {type(operand).__name__}; "
                    "expected a Variable, a torch.Tensor or a Python number"
                )
            tensors.append(tensor)
            if type(tensor) is torch.Tensor:
                if dtype is None:
                    dtype = tensor.dtype
                elif tensor.dtype is not dtype:
                    mixed_dtypes = True
        if mixed_dtypes:
            check_dtypes_match(cls.label, tensors)
        operator = cls.__new__(cls)
        try:
            output = operator.forward(*tensors, **options)
        except (RuntimeError, IndexError) as error:
            raise explain_forward_error(cls.label, tensors, error) from error
        if _anomaly.enabled:
            _anomaly.check_forward(operator, output)
        # Built by hand rather than through a constructor: this is the hottest line of a step.
        variable = Variable.__new__(Variable)
        variable.tensor = output
        variable.grad = None
        variable.name = None
        # torch.no_grad() and torch.inference_mode() stop the recording too, as ported code expects.
        if grad_mode.enabled and True in needs_input_grad and torch.is_grad_enabled():
            # The graph keeps operators and leaves, never the intermediate Variables: an
            # activation lives on only in what the operators that read it saved.
            operator.inputs = sources
            operator.needs_input_grad = needs_input_grad
            operator.sequence = next(_creation_order)
            operator.output_shape = output.shape
            operator.versions = operator.saved_versions()
            variable.grad_op = operator
            variable.requires_grad = True
        else:
            variable.grad_op = None
            variable.requires_grad = False
        return variable

    def saved_versions(self) -> list:
        """(tensor, version) of each tensor forward kept on self: an in-place change to one before
        backward would make pass_grad wrong, so backward checks the versions first."""
        return [
            (value, value._version)
            for value in self.__dict__.values()
            if type(value) is Tensor or isinstance(value, Tensor)
        ]

    def saved_name(self, tensor: torch.Tensor) -> str | None:
        """The attribute under which forward kept `tensor` (for error messages), or None."""
        return next((name for name, value in vars(self).items() if value is tensor), None)

    def release(self) -> None:
        """Free what forward saved; a later backward through here raises GraphError."""
        retained = self.retained
        self.__dict__.clear()
        self.released = True
        if retained is not None:
            self.retained = retained

    def sources(self) -> list:
        """Where each operand's gradient goes: a leaf Variable, the operator that made the operand,
        or None for a constant or an operand that needs no gradient."""
        return self.inputs

    def retain(self, variable: "Variable") -> None:
        """Keep the gradient of this operator's output on `variable` (see Variable.retain_grad)."""
        self.retained = weakref.ref(variable)

    def __repr__(self) -> str:
        return f"<{self.label} operator>"


def untracked_tensor(label: str, position: int, tensor: torch.Tensor) -> torch.Tensor:
    """A torch tensor that requires grad, as an operand: refused while recording, since its .grad
    would never be filled; under no_grad() nothing is recorded, so its values serve as they are."""
    if grad_mode.enabled and torch.is_grad_enabled():
        raise GraphError(
            f"{label}: operand {position} is a torch.Tensor with requires_grad=True (shape "
            f"{tuple(tensor.shape)}), whose .grad Autogradlib would never fill; wrap it as "
            "x = Variable(tensor) and read x.grad after backward()"
        )
    return tensor.detach()


def check_dtypes_match(label: str, tensors: list) -> None:
    """Reject operands of different floating-point dtypes (torch would silently promote them)."""
    floating = {
        tensor.dtype
        for tensor in tensors
        if isinstance(tensor, torch.Tensor) and tensor.dtype.is_floating_point
    }
    if len(floating) > 1:
        names = " and ".join(sorted(str(dtype) for dtype in floating))
        raise DTypeError(
            f"{label}: operands have different dtypes, {names}; convert one with .to(dtype) first"
        )


def describe_operands(tensors: list) -> str:
    """The operands as 'shapes (2, 3) and (4,)' for error messages."""
    shapes = [
        str(tuple(tensor.shape)) if isinstance(tensor, torch.Tensor) else repr(tensor)
        for tensor in tensors
    ]
    return " and ".join(shapes)


def explain_forward_error(label: str, tensors: list, error: Exception) -> Exception:
    """Turn torch's error inside a forward into one that names the operator and the shapes."""
    message = f"{label}: {error} (operand shapes {describe_operands(tensors)})"
    if isinstance(error, IndexError):
        # Out-of-range dimensions and indices stay IndexErrors, as Python and torch raise them.
        return IndexError(message)
    text = str(error).lower()
    if "device" in text:
        return DeviceError(message)
    if "dtype" in text or "scalar type" in text:
        return DTypeError(message)
    return ShapeError(message)


# Imported last: variable.py imports the operators, which import this module, in either order.
from autogradlib import anomaly as _anomaly  # noqa: E402
from autogradlib.variable import Variable  # noqa: E402
