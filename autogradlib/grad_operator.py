"""GradOperator: the base class of every differentiable operation."""

import weakref
from itertools import count, repeat
from operator import attrgetter, is_

import torch

from autogradlib.errors import DeviceError, DTypeError, GraphError, ShapeError
from autogradlib.grad_mode import grad_mode

_creation_order = count()
_CONSTANT_TYPES = (torch.Tensor, int, float)
Tensor = torch.Tensor  # a global lookup: snapshot_saved runs once per recorded operator
version_of = attrgetter("_version")


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
    released = False
    retained = None
    # What forward saved: (tensors, their versions then, the operands among them, the output if
    # among them). See snapshot_saved.
    saved = ((), (), (), None)
    # True for an operator whose forward keeps only its operands and tensors it makes itself (no
    # view of an operand, not the output), which no other code sees: then only the operands'
    # versions need checking, found without looking through what forward kept.
    keeps_operands_only = False
    # True where the output, even when a view, views memory that only this operator made, so
    # that in-place operations on it change nothing else (a chain's transposed output).
    output_view_is_private = False

    hooks = None
    # Names of saved floating tensors that depend on no operand (a loss's class weights, say):
    # under create_graph they stay constants, rightly.
    constants: tuple = ()
    backward_of = None  # for an operator recorded by a backward (create_graph): whose pass_grad
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
            operator.saved = operator.snapshot_saved(tensors, output)
            variable.grad_op = operator
            variable.requires_grad = True
        else:
            variable.grad_op = None
            variable.requires_grad = False
        return variable

    def snapshot_saved(self, operands: list, output) -> tuple:
        """(tensors, versions, kept operands, kept output) for the tensors forward kept on self. An
        in-place change to one before backward would make pass_grad wrong, so backward checks the
        versions first. The operands and the output that are among them (None for the others) are
        what create_graph connects to the graph.

        Operands are found by identity, not through id()s, and the versions kept in a list, not
        a tuple: either of those, made on every operator, was measured to grow a training's
        resident memory by 100-300 KiB (the heap fragments), where this keeps it at 0-4 KiB."""
        if self.keeps_operands_only:
            tensors = [operand for operand in operands if isinstance(operand, Tensor)]
            return tensors, [*map(version_of, tensors)], operands, None
        tensors = [value for value in self.__dict__.values() if isinstance(value, Tensor)]
        kept = [
            operand if any(map(is_, tensors, repeat(operand))) else None for operand in operands
        ]
        kept_output = output if any(map(is_, tensors, repeat(output))) else None
        return tensors, [*map(version_of, tensors)], kept, kept_output

    def saved_name(self, tensor: torch.Tensor) -> str | None:
        """The attribute under which forward kept `tensor` (for error messages), or None."""
        return next((name for name, value in vars(self).items() if value is tensor), None)

    def pass_grad_on_variables(self, grad_output: "Variable") -> tuple:
        """pass_grad's formulas on Variables (see pass_grad_recorded): pass_grad itself, unless an
        operator's pass_grad uses tensor-only operations (in-place ones, say) for speed."""
        return self.pass_grad(grad_output)

    def pass_grad_recorded(self, grad_output: "Variable") -> tuple:
        """pass_grad on Variables, for create_graph=True: it runs on a copy of this operator whose
        saved operands and output are Variables of the graph, so its arithmetic is recorded and
        the gradients it returns can be differentiated again."""
        start = next(_creation_order)
        copy = self.recorded_copy()
        try:
            grads = copy.pass_grad_on_variables(grad_output)
        except (AttributeError, TypeError) as error:
            # A pass_grad that calls what Variables lack (a raw torch function, a tensor method).
            raise GraphError(
                f"{self.label}: its pass_grad failed on Variables under create_graph=True "
                f"({type(error).__name__}: {error}), so {self.label} is not twice "
                "differentiable; write its pass_grad with operations Variables support"
            ) from error
        if isinstance(grads, (torch.Tensor, Variable)):
            grads = (grads,)
        grads = tuple(grads)
        mark_recorded_by(self.label, grads, start)
        for index, grad in enumerate(grads):
            if isinstance(grad, torch.Tensor):
                raise GraphError(
                    f"{self.label}: pass_grad returned a torch.Tensor for operand {index} under "
                    "create_graph=True, so that gradient cannot be differentiated again (it was "
                    "computed with raw torch functions); write pass_grad with Variable operations"
                )
        return grads

    def recorded_copy(self) -> "GradOperator":
        """A copy of this operator whose saved tensors are Variables: an operand's is connected to
        where that operand came from, the output's to this operator; `rebuild_saved` remakes any
        other floating tensor from those, else GraphError (it would silently be a constant)."""
        copy = object.__new__(type(self))
        copy.inputs = self.inputs
        copy.needs_input_grad = self.needs_input_grad
        copy.output_shape = self.output_shape
        copy.sequence = self.sequence
        known = {}  # id(tensor) -> its Variable (None for a constant operand)
        _, _, kept, kept_output = self.saved
        for tensor, source in zip(kept, self.inputs, strict=True):
            if tensor is not None and known.get(id(tensor)) is None:  # an operand given twice
                known[id(tensor)] = source
        if kept_output is not None:
            known[id(kept_output)] = self

        for name, value in self.__dict__.items():
            if name != "saved":
                setattr(copy, name, as_recorded(value, known))
        copy.rebuild_saved()
        for name, value in copy.__dict__.items():
            if name in self.constants:
                continue
            items = value if isinstance(value, (tuple, list)) else (value,)
            for item in items:
                if (
                    isinstance(item, torch.Tensor)
                    and item.is_floating_point()
                    and id(item) not in known
                ):
                    raise GraphError(
                        f"{self.label}: saved tensor {name!r} is neither an operand nor the "
                        "output, so under create_graph=True it would be a constant and the second "
                        "derivative wrong; define rebuild_saved() to compute it from the saved "
                        "operands, or save operands instead"
                    )
        return copy

    def recorded_operand(self, index: int, value: torch.Tensor):
        """Operand `index` as a Variable of the graph (for rebuild_saved), its tensor `value`: the
        operand itself, or what forward kept of it (a view, or a copy made before an in-place
        change); None for an operand that needs no gradient."""
        source = self.inputs[index]
        if source is None or isinstance(source, Variable):
            return source  # a leaf: its own tensor is the operand
        if isinstance(value, Variable):  # made from the output, say, which is one by now
            value = value.tensor
        return Variable._from_operator(value, source)

    def rebuild_saved(self) -> None:
        """Under create_graph, recompute saved tensors derived in forward from the saved operands
        (now Variables); an operator that saves only operands and its output needs none."""

    def release(self) -> None:
        """Free what forward saved; a later backward through here raises GraphError."""
        retained, hooks, backward_of = self.retained, self.hooks, self.backward_of
        self.__dict__.clear()
        self.released = True
        if retained is not None:
            self.retained = retained
        if hooks is not None:
            self.hooks = hooks
        if backward_of is not None:
            self.backward_of = backward_of

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


def as_recorded(value, known: dict):
    """A saved value with its operand and output tensors as Variables of the graph (see
    recorded_copy); a module-level function, as a recursive closure would be a reference cycle."""
    if isinstance(value, torch.Tensor):
        source = known.get(id(value), value)
        if source is None or source is value:
            return value
        if isinstance(source, Variable):
            return source  # a leaf
        return Variable._from_operator(value, source)
    if isinstance(value, (tuple, list)):
        return type(value)(as_recorded(item, known) for item in value)
    return value


def mark_recorded_by(label: str, grads: tuple, start: int) -> None:
    """Mark the operators that `label`'s pass_grad recorded (those created after `start`), so
    that a drawing of a double-backward graph tells them apart."""
    stack = [grad.grad_op for grad in grads if isinstance(grad, Variable) and grad.grad_op]
    while stack:
        operator = stack.pop()
        if operator.sequence <= start or operator.backward_of is not None:
            continue
        operator.backward_of = label
        stack += [source for source in operator.inputs if isinstance(source, GradOperator)]


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
