"""Module: the base class of layers and models, which finds its parameters in its own attributes.

A Module's members are its attributes, in the order they were set: a Variable is a parameter, a
Module is a child, and a list, tuple or dict is walked for more of both (PyTorch's ModuleList,
ModuleDict and ParameterList, without the wrapper). Names are dotted as PyTorch gives them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import torch

from autogradlib.errors import StateDictError
from autogradlib.hooks import RemovableHandle
from autogradlib.nn.module_hooks import ModuleHooks, call_with_hooks
from autogradlib.variable import Variable

Container = (list, tuple, dict)


class IncompatibleKeys(NamedTuple):
    """What load_state_dict(strict=False) could not match, as torch's _IncompatibleKeys."""

    missing_keys: list
    unexpected_keys: list


class Module:
    """A layer or a model: set Variables and Modules as attributes and define forward()."""

    # A class default too, so that a subclass that forgets super().__init__() still works.
    training: bool = True
    # For the built-in layers, a method that tells Sequential how to record the layer inside one
    # ChainOperator: it appends the layer's parameters to a list of operands and returns the
    # stage, (operator class, parameter count, options of its forward). None: call the layer.
    _chain_stage = None
    _chain_forward = None  # the forward that the class's _chain_stage reproduces (None: none)
    _hooks = None  # a ModuleHooks once a hook is registered: until then, __call__ is forward

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "_chain_stage" in cls.__dict__:
            cls._chain_forward = cls.forward if cls._chain_stage is not None else None

    def __init__(self) -> None:
        self.training = True
        self._buffers: dict[str, bool] = {}  # name -> persistent (saved in the state dict)

    def __setattr__(self, name: str, value: Any) -> None:
        # A torch tensor that requires grad (a PyTorch Parameter) is taken in as a parameter, a
        # leaf Variable on the same memory, so that parameters() finds it and training moves it.
        # A registered buffer stays a buffer, as in torch.
        if (
            isinstance(value, torch.Tensor)
            and value.requires_grad
            and name not in vars(self).get("_buffers", ())
        ):
            value = Variable(value, requires_grad=True)
        object.__setattr__(self, name, value)

    def forward(self, *args, **kwargs):
        """The module's computation; subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args, **kwargs):
        if self._hooks is None:
            return self.forward(*args, **kwargs)
        return call_with_hooks(self, args, kwargs)

    # --- Hooks, as PyTorch's ---------------------------------------------------------------------

    def register_forward_pre_hook(self, hook) -> RemovableHandle:
        """hook(module, args) runs before forward; a result (a tuple or one value) replaces args."""
        return self._hook_registry().add("forward_pre", hook)

    def register_forward_hook(self, hook) -> RemovableHandle:
        """hook(module, args, output) runs after forward; a result replaces the output."""
        return self._hook_registry().add("forward", hook)

    def register_full_backward_hook(self, hook) -> RemovableHandle:
        """hook(module, grad_input, grad_output) runs when the gradient with respect to the
        module's input is computed (tuples of one); a result replaces grad_input."""
        return self._hook_registry().add("backward", hook)

    def _hook_registry(self) -> ModuleHooks:
        if self._hooks is None:
            self._hooks = ModuleHooks()
        return self._hooks

    def _members(self) -> Iterable[tuple[str, Any]]:
        """(name, value) for each attribute that may hold parameters or children, in order."""
        return (
            (name, value)
            for name, value in vars(self).items()
            if name != "_buffers" and name != "_hooks"
        )

    # --- Parameters, children, buffers -----------------------------------------------------------

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Variable]]:
        """(dotted name, Variable) for every parameter, each shared one once, in PyTorch's order."""
        seen: set[int] = set()
        branches = _walk(self, prefix, remove_duplicate) if recurse else [(prefix, self)]
        for branch_prefix, branch in branches:
            for name, value in _direct_members(branch):
                if not isinstance(value, Variable) or id(value) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(value))
                yield _join(branch_prefix, name), value

    def parameters(self, recurse: bool = True) -> Iterator[Variable]:
        """Every parameter once, in named_parameters() order."""
        return (variable for _, variable in self.named_parameters(recurse=recurse))

    def params(self) -> list[Variable]:
        """The parameters as a list (the seed's name for parameters())."""
        return list(self.parameters())

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) for each direct child; a list entry is named like 'layers.0'."""
        seen: set[int] = set()
        for name, module in _child_modules(self, ""):
            if id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        """Each direct child module once."""
        return (module for _, module in self.named_children())

    def named_modules(
        self, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module ('') and every module below it, depth first."""
        for name, branch in _walk(self, prefix, remove_duplicate):
            if isinstance(branch, Module):
                yield name, branch

    def modules(self) -> Iterator[Module]:
        """This module and every module below it, each once."""
        return (module for _, module in self.named_modules())

    def register_buffer(self, name: str, tensor: torch.Tensor | None, persistent: bool = True):
        """Keep `tensor` as attribute `name`: state, not a parameter, saved in the state dict."""
        if "_buffers" not in vars(self):
            raise AttributeError("cannot register a buffer before Module.__init__() is called")
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"register_buffer: invalid buffer name {name!r}")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"register_buffer: attribute {name!r} already exists")
        if tensor is not None and not isinstance(tensor, torch.Tensor):
            raise TypeError(
                f"register_buffer: expected a torch.Tensor or None for {name!r}, got "
                f"{type(tensor).__name__} (a Variable attribute is a parameter already)"
            )
        self._buffers[name] = persistent
        setattr(self, name, tensor)

    def add_module(self, name: str, module: Module | None) -> None:
        """Make `module` a child named `name` (torch's checks and errors)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        _check_member_name("module", name)
        if hasattr(self, name) and not isinstance(vars(self).get(name), Module):
            raise KeyError(f"attribute '{name}' already exists")
        self._set_child(name, module)

    def register_module(self, name: str, module: Module | None) -> None:
        """Alias for add_module."""
        self.add_module(name, module)

    def _set_child(self, name: str, module: Module | None) -> None:
        # Containers (Sequential, ModuleList, ModuleDict) keep their children elsewhere.
        setattr(self, name, module)

    def register_parameter(self, name: str, param: Variable | None) -> None:
        """Make `param` (a leaf Variable, or None) a parameter named `name`."""
        if "_buffers" not in vars(self):
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_member_name("parameter", name)
        if hasattr(self, name) and not isinstance(vars(self).get(name), Variable):
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Variable):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                "(a Variable or None required)"
            )
        if param is not None and not param.is_leaf:
            raise ValueError(
                f"Cannot assign non-leaf Variable to parameter '{name}'. Model parameters must be "
                "created explicitly; use .detach() to make a leaf"
            )
        setattr(self, name, param)

    def get_submodule(self, target: str) -> Module:
        """The module at dotted path `target` ('' is this module), as torch's get_submodule."""
        found = self._find(target)
        if not isinstance(found, Module):
            raise AttributeError(f"`{target.rpartition('.')[2]}` is not an nn.Module")
        return found

    def get_parameter(self, target: str) -> Variable:
        """The parameter at dotted path `target`, such as 'layers.0.weight'."""
        found = self._find(target)
        if not isinstance(found, Variable):
            raise AttributeError(f"`{target.rpartition('.')[2]}` is not an nn.Parameter")
        return found

    def get_buffer(self, target: str) -> torch.Tensor:
        """The buffer at dotted path `target`, such as 'norm.running_mean'."""
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        found = self._find(target)
        if name not in vars(module).get("_buffers", {}) or found is None:
            raise AttributeError(f"`{name}` is not a buffer")
        return found

    def _find(self, target: str):
        """What lies at the dotted path `target`, looking into modules and containers."""
        found = self
        if target == "":
            return found
        for item in target.split("."):
            members = dict(_direct_members(found))
            if item not in members:
                owner = type(found).__name__
                raise AttributeError(f"{owner} has no attribute `{item}`")
            found = members[item]
        return found

    def _own_buffers(self, persistent_only: bool = False) -> Iterator[tuple[str, torch.Tensor]]:
        for name, persistent in vars(self).get("_buffers", {}).items():
            tensor = getattr(self, name)
            if tensor is not None and (persistent or not persistent_only):
                yield name, tensor

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, torch.Tensor]]:
        """(dotted name, tensor) for every buffer of this module and the modules below it."""
        for module_prefix, module in self.named_modules(prefix):
            for name, tensor in module._own_buffers():
                yield _join(module_prefix, name), tensor

    def buffers(self) -> Iterator[torch.Tensor]:
        """Every buffer tensor."""
        return (tensor for _, tensor in self.named_buffers())

    def apply(self, function) -> Module:
        """Call `function(module)` on every child module, then on this one (as torch does)."""
        for child in self.children():
            child.apply(function)
        function(self)
        return self

    # --- Training state --------------------------------------------------------------------------

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the parameters' gradients (None, or new zero tensors with set_to_none=False)."""
        for variable in self.parameters():
            if set_to_none or variable.grad is None:
                variable.grad = None
            else:
                # A new tensor, never zero_(): the old gradient may be shared with other code.
                variable.grad = torch.zeros_like(variable.grad)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze every parameter: optimizers skip those without gradients."""
        for variable in self.parameters():
            variable.requires_grad_(requires_grad)
        return self

    def train(self, mode: bool = True) -> Module:
        """Set training mode (Dropout drops) on this module and every module below it."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode must be a bool, got {mode!r}")
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Set evaluation mode: train(False)."""
        return self.train(False)

    def to(self, *args, **kwargs) -> Module:
        """Move parameters, their gradients and buffers to a device and/or floating dtype, in place.

        The Variables stay the same objects (an optimizer made before still holds them); only their
        tensors are replaced. Integer buffers change device only, as in torch.
        """
        device, dtype = _parse_to(args, kwargs)

        def convert(tensor: torch.Tensor) -> torch.Tensor:
            if tensor.is_floating_point() or tensor.is_complex():
                return tensor.to(device=device, dtype=dtype)
            return tensor.to(device=device)

        for variable in self.parameters():
            variable.tensor = convert(variable.tensor)
            if variable.grad is not None:
                variable.grad = convert(variable.grad)
        for module in self.modules():
            for name, tensor in list(module._own_buffers()):
                setattr(module, name, convert(tensor))
        return self

    def double(self) -> Module:
        """to(torch.float64)."""
        return self.to(torch.float64)

    def float(self) -> Module:
        """to(torch.float32)."""
        return self.to(torch.float32)

    # --- State dict ------------------------------------------------------------------------------

    def state_dict(self, prefix: str = "", keep_vars: bool = False) -> dict[str, Any]:
        """Parameters and persistent buffers by dotted name, as torch: shared ones under each name.

        Values are the parameters' own tensors (not copies, as torch), or the Variables with
        keep_vars=True.
        """
        result: dict[str, Any] = {}
        # torch prepends `prefix` as it is ('model.'), where named_parameters() adds the dot.
        for branch_prefix, branch in _walk(self, "", remove_duplicate=False):
            for name, value in _direct_members(branch):
                if isinstance(value, Variable):
                    key = prefix + _join(branch_prefix, name)
                    result[key] = value if keep_vars else value.tensor
            if isinstance(branch, Module):
                for name, tensor in branch._own_buffers(persistent_only=True):
                    result[prefix + _join(branch_prefix, name)] = tensor
        return result

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy a state dict's values into this module's tensors in place (cast to their dtype).

        Raises StateDictError naming every missing and unexpected key (with strict=True) and every
        entry whose shape differs (always); nothing is copied then.
        """
        targets = self.state_dict(keep_vars=True)
        missing = [key for key in targets if key not in state_dict]
        unexpected = [key for key in state_dict if key not in targets]
        mismatched = [
            (key, problem)
            for key, target in targets.items()
            if key in state_dict and (problem := _copy_problem(key, target, state_dict[key]))
        ]
        reported_missing, reported_unexpected = (missing, unexpected) if strict else ([], [])
        if mismatched or reported_missing or reported_unexpected:
            name = type(self).__name__
            message = _state_dict_message(name, reported_missing, reported_unexpected, mismatched)
            raise StateDictError(message, reported_missing, reported_unexpected, mismatched)
        for key, target in targets.items():
            if key in state_dict:
                value = state_dict[key]
                # Detached: copying from a torch Parameter would put the target on torch's tape.
                value = value.tensor if isinstance(value, Variable) else value.detach()
                target_tensor = target.tensor if isinstance(target, Variable) else target
                target_tensor.copy_(value)
        return IncompatibleKeys(missing, unexpected)

    # --- Printing --------------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The text inside this module's parentheses in repr, before the children."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = []
        for name, value in self._members():
            text = _member_repr(value)
            if text is not None:
                child_lines.append(f"({name}): {_indent(text)}")
        return _format_block(type(self).__name__, extra_lines, child_lines)


# --- Walking the members -------------------------------------------------------------------------


def _check_member_name(kind: str, name) -> None:
    """torch's checks on a module or parameter name: a non-empty string without dots."""
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain ".", got: {name}')
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _direct_members(branch) -> Iterable[tuple[str, Any]]:
    """The (name, value) pairs right inside a Module or a container."""
    if isinstance(branch, Module):
        return branch._members()
    if isinstance(branch, dict):
        return ((str(key), value) for key, value in branch.items())
    return ((str(index), value) for index, value in enumerate(branch))


def records_as_stage(layer: Module) -> bool:
    """Whether Sequential may record `layer` as a chain's stage: a built-in layer whose forward is
    still the one its stage reproduces, not a mixin's, one patched on its class or on the layer."""
    kind = type(layer)
    return (
        kind.forward is kind._chain_forward  # never None: so the class has a _chain_stage
        and kind.__call__ is Module.__call__
        and "forward" not in layer.__dict__
        and layer._hooks is None  # a layer with hooks is called as itself
    )


def _walk(root, prefix: str, remove_duplicate: bool) -> Iterator[tuple[str, Any]]:
    """(dotted name, branch) for root and each Module or container below it, depth first.

    With remove_duplicate, a branch reached twice is given once (torch's named_modules); without
    it, only a branch that contains itself (a module holding its parent) is cut, as state_dict
    lists a shared module under each of its names.
    """
    seen: set[int] = set()

    def visit(branch, name: str, ancestors: frozenset) -> Iterator[tuple[str, Any]]:
        key = id(branch)
        if key in ancestors or (remove_duplicate and key in seen):
            return
        seen.add(key)
        yield name, branch
        ancestors = ancestors | {key}
        for member_name, value in _direct_members(branch):
            if isinstance(value, (Module, *Container)):
                yield from visit(value, _join(name, member_name), ancestors)

    return visit(root, prefix, frozenset())


def _child_modules(branch, prefix: str) -> Iterator[tuple[str, Module]]:
    """The modules right inside `branch`, looking through containers but not into modules."""
    for name, value in _direct_members(branch):
        if isinstance(value, Module):
            yield _join(prefix, name), value
        elif isinstance(value, Container):
            yield from _child_modules(value, _join(prefix, name))


def _parse_to(args: tuple, kwargs: dict) -> tuple[torch.device | None, torch.dtype | None]:
    """Module.to's device and dtype: from (device), (dtype), (device, dtype) or (tensor)."""
    device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    if kwargs:
        raise TypeError(f"to: unexpected keyword arguments {sorted(kwargs)}")
    for arg in args:
        if isinstance(arg, torch.dtype):
            dtype = arg
        elif isinstance(arg, (torch.Tensor, Variable)):
            device, dtype = arg.device, arg.dtype
        else:
            device = torch.device(arg)
    if dtype is not None and not (dtype.is_floating_point or dtype.is_complex):
        raise TypeError(f"to: only floating-point or complex dtypes, got {dtype}")
    return device, dtype


# --- State dict checks ---------------------------------------------------------------------------


def _copy_problem(key: str, target, value) -> str | None:
    """Why `value` cannot be copied into `target` (a Variable or a buffer), or None."""
    value = value.tensor if isinstance(value, Variable) else value
    if not isinstance(value, torch.Tensor):
        return (
            f'While copying the parameter named "{key}", expected a tensor from checkpoint but '
            f"received {type(value).__name__}."
        )
    if value.shape != target.shape:
        return (
            f"size mismatch for {key}: copying a param with shape {value.shape} from checkpoint, "
            f"the shape in current model is {target.shape}."
        )
    return None


def _state_dict_message(name: str, missing: list, unexpected: list, mismatched: list) -> str:
    """torch's message: every missing and unexpected key and every mis-shaped entry."""
    lines = [f"Error(s) in loading state_dict for {name}:"]
    if missing:
        lines.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
    if unexpected:
        keys = ", ".join(f'"{key}"' for key in unexpected)
        lines.append(f"Unexpected key(s) in state_dict: {keys}.")
    lines.extend(problem for _, problem in mismatched)
    return "\n\t".join(lines)


# --- repr, as torch prints it --------------------------------------------------------------------


def _member_repr(value) -> str | None:
    """How torch prints a member: a Module as itself, a list of modules as a ModuleList, a dict as
    a ModuleDict; None for what torch would not print here (parameters, other values)."""
    if isinstance(value, Module):
        return repr(value)
    if isinstance(value, dict):
        entries = [(str(key), _member_repr(item)) for key, item in value.items()]
    elif isinstance(value, (list, tuple)):
        entries = [(str(index), _member_repr(item)) for index, item in enumerate(value)]
    else:
        return None
    entries = [(name, text) for name, text in entries if text is not None]
    if not entries:
        return None
    if isinstance(value, dict):
        lines = [f"({name}): {_indent(text)}" for name, text in entries]
        return _format_block("ModuleDict", [], lines)
    return _format_block("ModuleList", [], _grouped_lines(entries))


def _grouped_lines(entries: list[tuple[str, str]]) -> list[str]:
    """ModuleList's lines: consecutive equal entries printed once, as '(0-2): 3 x Linear(...)'."""
    groups: list[list] = []  # [first name, last name, count, text]
    for name, text in entries:
        if groups and groups[-1][3] == text:
            groups[-1][1] = name
            groups[-1][2] += 1
        else:
            groups.append([name, name, 1, text])
    return [
        _indent(f"({first}): {text}" if count == 1 else f"({first}-{last}): {count} x {text}")
        for first, last, count, text in groups
    ]


def _format_block(name: str, extra_lines: list[str], child_lines: list[str]) -> str:
    """'Name(extra)' on one line, or 'Name(' + one indented line per entry + ')'."""
    lines = extra_lines + child_lines
    if not lines:
        return f"{name}()"
    if len(extra_lines) == 1 and not child_lines:
        return f"{name}({extra_lines[0]})"
    return f"{name}(\n  " + "\n  ".join(lines) + "\n)"


def _indent(text: str, spaces: int = 2) -> str:
    """Indent every line of `text` but the first."""
    return text.replace("\n", "\n" + " " * spaces)
