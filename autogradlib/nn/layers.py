"""The layers: Linear, the activations, Dropout and Sequential, printed as PyTorch prints them."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterator

import torch

from autogradlib import anomaly, operators as ops
from autogradlib.errors import DeviceError, DTypeError, ShapeError
from autogradlib.grad_mode import grad_mode
from autogradlib.nn import functional as F, init
from autogradlib.nn.module import Module, records_as_stage
from autogradlib.variable import Variable

# Options of the stages that Sequential records in one ChainOperator (see Module._chain_stage).
NO_OPTIONS: dict = {}
INSIDE_CHAIN = {"contiguous": False}


class Linear(Module):
    """x @ weight^T + bias; weight (out_features, in_features) and bias initialised as torch's.

    weight ~ kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(in_features), 1/sqrt(in_features)), then
    bias ~ U(-1/sqrt(in_features), 1/sqrt(in_features)): the same draws, in the same order, from the
    same generator (torch's global one unless `generator` is given) as PyTorch's Linear.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        # Drawn where the generator lives (a CPU generator cannot fill a GPU tensor), then moved.
        draw_device = generator.device if generator is not None else device
        self.weight = Variable(
            torch.empty(out_features, in_features, dtype=dtype, device=draw_device)
        )
        self.bias = (
            Variable(torch.empty(out_features, dtype=dtype, device=draw_device)) if bias else None
        )
        self.reset_parameters(generator)
        if device is not None and generator is not None:
            self.to(device)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Draw the weight, then the bias, as PyTorch's Linear.reset_parameters does."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            fan_in, _ = init.calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound, generator)

    def forward(self, input) -> Variable:
        shape = input.shape
        # The weight's width, not in_features: a weight replaced by another width is used as it
        # is, as torch does (and as a chain, which never calls this method, does).
        expected = self.weight.shape[-1]
        if not shape or shape[-1] != expected:
            raise ShapeError(
                f"{self!r}: expected input with last dimension {expected}, "
                f"got shape {tuple(input.shape)}"
            )
        # Straight to the operator: F.linear would check the shapes a second time.
        if self.bias is None:
            return ops.Linear.apply(input, self.weight)
        return ops.Linear.apply(input, self.weight, self.bias)

    def _chain_stage(self, operands: list) -> tuple:
        if self.bias is None:
            operands.append(self.weight)
            return (ops.Linear, 1, INSIDE_CHAIN)
        operands += (self.weight, self.bias)
        return (ops.Linear, 2, INSIDE_CHAIN)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class ReLU(Module):
    """max(x, 0)."""

    def forward(self, input) -> Variable:
        return ops.ReLU.apply(input)

    def _chain_stage(self, operands: list) -> tuple:
        return (ops.ReLU, 0, NO_OPTIONS)


class Tanh(Module):
    """tanh(x)."""

    def forward(self, input) -> Variable:
        return F.tanh(input)

    def _chain_stage(self, operands: list) -> tuple:
        return (ops.Tanh, 0, NO_OPTIONS)


class Sigmoid(Module):
    """1 / (1 + exp(-x))."""

    def forward(self, input) -> Variable:
        return F.sigmoid(input)

    def _chain_stage(self, operands: list) -> tuple:
        return (ops.Sigmoid, 0, NO_OPTIONS)


class Softmax(Module):
    """exp(x_i) / sum_j exp(x_j) along `dim` (None: torch's implicit choice, with its warning)."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input) -> Variable:
        # _stacklevel: the warning names the caller of the module, as torch's does.
        return F.softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

    def _chain_stage(self, operands: list) -> tuple:
        # Every chained layer keeps the number of dimensions, so the chain's input has this one's.
        dim = self.dim if self.dim is not None else F.implicit_softmax_dim("softmax", operands[0])
        return (ops.Softmax, 0, {"dim": dim})


class LogSoftmax(Module):
    """x_i - log(sum_j exp(x_j)) along `dim` (None: torch's implicit choice, with its warning)."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input) -> Variable:
        return F.log_softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

    def _chain_stage(self, operands: list) -> tuple:
        dim = self.dim
        if dim is None:
            dim = F.implicit_softmax_dim("log_softmax", operands[0])
        return (ops.LogSoftmax, 0, {"dim": dim})


class Flatten(Module):
    """input.flatten(start_dim, end_dim): the dimensions start_dim..end_dim merged into one."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input) -> Variable:
        # The shape from torch's own flatten of the tensor (a view: nothing is copied).
        tensor = input.tensor if isinstance(input, Variable) else input
        shape = tensor.flatten(self.start_dim, self.end_dim).shape
        return ops.Reshape.apply(input, shape=shape)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """In training, zero each element with probability p and scale the rest by 1 / (1 - p)."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        F.check_dropout_probability(p)
        self.p = p

    def forward(self, input) -> Variable:
        return F.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        # Never in place (a Variable's tensor may be needed by backward); printed as torch does.
        return f"p={self.p}, inplace=False"


class Sequential(Module):
    """Layers applied in order; built from modules, or from an OrderedDict of named modules."""

    _runs = None  # see _plan_runs (a class default too, for Sequentials pickled without it)

    def __init__(self, *layers) -> None:
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], OrderedDict):
            named = list(layers[0].items())
        else:
            named = [(str(index), layer) for index, layer in enumerate(layers)]
        self._layers: dict[str, Module] = {}
        self._runs = None  # planned again whenever a layer is added
        for name, layer in named:
            self._add(name, layer)

    def _add(self, name: str, layer: Module) -> None:
        if not isinstance(layer, Module):
            raise TypeError(f"Sequential: layer ({name}) is a {type(layer).__name__}, not a Module")
        self._layers[name] = layer
        self._runs = None

    _set_child = _add  # add_module / register_module add a layer, as in torch

    def _members(self):
        # The layers take the place of the dict that holds them, so their names are '0', '1', ...
        for name, value in super()._members():
            if name == "_layers":
                yield from value.items()
            elif name != "_runs":
                yield name, value

    def forward(self, input):
        if not grad_mode.enabled or anomaly.enabled:
            # Nothing to record, or every layer's own operator wanted for anomaly reports.
            return self._forward_layers(input, self._layers.items())
        for chained, layers in self._runs or self._plan_runs():
            if chained:
                input = self._forward_chained(input, layers)
            else:
                input = self._forward_layers(input, layers)
        return input

    def _plan_runs(self) -> list:
        """(chained, layers): runs of two or more built-in layers are recorded as one operator."""
        runs = []
        for item in self._layers.items():
            chained = records_as_stage(item[1])
            if runs and runs[-1][0] == chained:
                runs[-1][1].append(item)
            else:
                runs.append((chained, [item]))
        self._runs = [(chained and len(layers) > 1, layers) for chained, layers in runs]
        return self._runs

    def _forward_chained(self, input, layers: list):
        """The layers as one ChainOperator: the engine then pays for one operator, not one each."""
        operands = [input]
        stages = [
            layer._chain_stage(operands) if records_as_stage(layer) else None  # patched since?
            for _, layer in layers
        ]
        if None not in stages:
            try:
                return ops.Chain.apply(*operands, stages=stages)
            except Exception:
                pass  # the layers raise it again, below, as the user's own calls would
        # Outside the except clause, so that an error is the layer's alone, not chained to the
        # chain's: layer by layer, it names the layer and comes with the layer's own checks.
        return self._forward_layers(input, layers)

    @staticmethod
    def _forward_layers(input, layers):
        for name, layer in layers:
            try:
                input = layer(input)
            except (ShapeError, DTypeError, DeviceError) as error:
                raise type(error)(f"Sequential layer ({name}): {error}") from error
        return input

    def append(self, layer: Module) -> Sequential:
        """Add `layer` at the end."""
        self._add(str(len(self._layers)), layer)
        return self

    def __getitem__(self, index: int | slice):
        if isinstance(index, slice):
            return Sequential(OrderedDict(list(self._layers.items())[index]))
        layers = list(self._layers.values())
        if not -len(layers) <= index < len(layers):
            raise IndexError(f"index {index} is out of range for a Sequential of {len(layers)}")
        return layers[index]

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._layers.values())
