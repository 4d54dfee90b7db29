"""jit: record the torch operations of a step once, replay them as one flat Python function.

The first call with a signature (argument shapes, dtypes, devices, grad mode, structure) runs
eagerly, so that momentum buffers and gradients exist as they do in every later step; the second
runs eagerly too, under a `TorchFunctionMode` that writes each tensor-level torch call as a line
of Python; later calls run that generated function. The engine, the operators and the layers are
recorded only through the torch calls they make, so the jit depends on none of their internals.

What is not a torch call is handled explicitly:
  - an optimizer's `step()` and `zero_grad()`, and a learning-rate scheduler's `step()`, are
    called again on replay (opaque calls), so that learning rates, Adam's step counts and new
    state take effect as data;
  - the gradients backward leaves on Variables, and Variables given new tensors, are written back
    on replay;
  - reading into Python (`item()`, `bool()`, ...) a value computed from data (the arguments,
    parameters, anything from outside, random numbers) while recording is an error; a value
    computed from shapes alone is fixed by the signature and may be read;
  - a parameter replaced or frozen, a module switched between train() and eval(), a gradient
    None where it was not: the plan's guards fail before any work, the call runs eagerly and the
    next one records a plan for that case, kept beside the others;
  - a step that gives a module a new tensor, number or flag cannot be recorded.

The plan is then rewritten, each rewrite keeping the numbers bit-identical (docs/performance.md,
"jit"): unused calls dropped, small tensors made from shapes alone folded into constants,
zero_grad() as the '.grad = None' it does and our optimizers' step() as their _update_group,
views of parameters kept while the parameter is the same tensor, addmm then relu as one call,
transposes of transposes removed, small results written into buffers allocated once (out=). A
replay skips torch's autograd dispatch when no tensor requires torch's grad.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import threading
import time
import traceback
import types
import warnings
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch.overrides import TorchFunctionMode

from autogradlib import anomaly, jit_recording
from autogradlib.errors import JitError
from autogradlib.grad_mode import grad_mode
from autogradlib.nn.module import Module
from autogradlib.optim.lr_scheduler import LRScheduler
from autogradlib.optim.optimizer import Optimizer
from autogradlib.variable import Variable

# Calls whose result is a tensor's value in Python: a replay would keep the recorded one.
READS_VALUE = {
    "item", "tolist", "__bool__", "__float__", "__int__", "__index__", "__complex__", "numpy",
    "__array__", "nonzero", "masked_select", "unique", "unique_consecutive", "argwhere", "equal",
    "allclose", "is_nonzero",
}  # fmt: skip
# Calls that only describe a tensor (or print it): nothing to replay when they return no tensor.
DESCRIBES = {
    "__get__", "dim", "ndimension", "numel", "nelement", "size", "stride", "_is_view",
    "is_contiguous", "is_floating_point", "is_complex", "element_size", "storage_offset",
    "__len__", "__repr__", "__str__", "__format__", "data_ptr", "get_device", "is_signed",
}  # fmt: skip
# Random calls (torch.rand, dropout, bernoulli_, normal_, ...): their results are data.
RANDOM_PREFIXES = (
    "rand", "normal", "bernoulli", "dropout", "multinomial", "uniform", "exponential", "poisson",
    "cauchy", "geometric", "log_normal", "random", "feature_dropout", "alpha_dropout",
)  # fmt: skip
IN_PLACE_DUNDERS = {"__setitem__", "__iadd__", "__isub__", "__imul__", "__itruediv__"}
# Calls whose result depends on their tensor argument's shape alone (ones_like(loss), ...).
SHAPE_ONLY_CALLS = {"ones_like", "zeros_like", "full_like", "new_ones", "new_zeros", "new_full"}
# Calls that may raise on some data (an index out of range, a probability above 1, a singular
# matrix): kept even when their result is unused. Names starting with, then names containing:
MAY_RAISE_ON_DATA = (
    "index", "take", "put", "one_hot", "bincount", "histc", "searchsorted", "cholesky",
    "inverse", "solve", "lu", "_assert", "__getitem__", "masked_scatter",
)  # fmt: skip
MAY_RAISE_ON_DATA_IN = (
    "gather", "scatter", "embedding", "nll", "cross_entropy", "margin", "ctc", "linalg",
    "unpool", "histogram", "segment",
)  # fmt: skip
# Views of a parameter kept from one replay to the next while the parameter is the same tensor.
CACHED_VIEWS = {"t", "unsqueeze", "transpose", "permute", "view", "expand", "squeeze"}
FOLD_LIMIT = 1024  # elements: a tensor made from shapes alone, up to this size, becomes a constant
# elements: a result up to this size is written into a buffer allocated once (out=); larger
# ones cost more to compute than to allocate, and would hold memory between calls
BUFFER_LIMIT = 8192
OPAQUE_METHODS = ("step", "zero_grad")
MAX_RECORDINGS = 8
MAX_PLANS = 4  # per signature
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_TORCH_DIR = os.path.dirname(os.path.abspath(torch.__file__))
_LITERALS = (bool, int, str, type(None))
_TENSOR_NAME = re.compile(r"\b[avx]\d+\b")
_OPAQUE_CALL = re.compile(r"c\d+\(\)$")
_MISSING = object()
_RELU = (torch.relu, torch.Tensor.relu)
_ALIAS = re.compile(r"(v\d+) = (v\d+)$")
_CONSTANT = re.compile(r"v\d+ = c\d+$")
_RESHAPES_IN_PLACE = {
    "resize_", "resize_as_", "set_", "as_strided_", "t_", "transpose_", "squeeze_",
    "unsqueeze_", "swapdims_", "swapaxes_",
}  # fmt: skip
# Calls whose result a replay writes into a buffer, and the function with out= that does so.
_OUT_FORMS = {
    torch.addmm: torch.addmm, torch._addmm_activation: torch._addmm_activation,
    torch.mm: torch.mm, torch.Tensor.mm: torch.mm, torch.Tensor.sign: torch.sign,
    torch.Tensor.sub: torch.sub, torch.Tensor.mul: torch.mul, torch.Tensor.sum: torch.sum,
    torch.Tensor.softmax: torch.softmax,
}  # fmt: skip
_OPTIMIZER_STEP = Optimizer.step
_OPTIMIZER_ZERO_GRAD = Optimizer.zero_grad


class Stale(Exception):
    """A plan's guard failed: the call runs eagerly instead."""


class Line(NamedTuple):
    """One statement of the generated function (its text may span several physical lines)."""

    text: str
    defines: tuple[str, ...] = ()
    pure: bool = False  # no effect but binding `defines`: dropped when none of them is used
    func: Any = None  # the torch function it calls, and the text of its arguments
    arguments: str = ""


def jit(function: Callable | None = None, *, max_recordings: int = MAX_RECORDINGS):
    """Decorator: record `function`'s torch operations once per signature and replay them."""
    if function is None:
        return functools.partial(jit, max_recordings=max_recordings)
    return JitFunction(function, max_recordings)


class JitFunction:
    """A function whose later calls replay a recorded plan (see the module's docstring)."""

    def __init__(self, function: Callable, max_recordings: int = MAX_RECORDINGS) -> None:
        functools.update_wrapper(self, function)
        self.function = function
        self.max_recordings = max_recordings
        # Each signature's plans, tried in turn: each guards what it assumed (parameters, modules'
        # train()/eval(), which gradients exist), so several may serve one signature, as when
        # gradients accumulate over calls and are sometimes None.
        self.plans: dict[tuple, list[Callable]] = {}
        self.missed: set[tuple] = set()  # signatures whose last miss ran eagerly
        # The plan that ran last, entered without building the signature when the arguments
        # are tensors alone: it checks their shapes, dtypes and devices itself.
        self.fast: Callable | None = None
        self.recordings = 0
        self.recording_seconds = 0.0
        # Plans write into buffers of their own: two threads replaying one at once would mix them.
        self.lock = threading.RLock()

    def __get__(self, instance: Any, owner: type | None = None) -> Callable:
        """As a method: the instance is the first argument (and part of the signature)."""
        return self if instance is None else functools.partial(self, instance)

    def __call__(self, *args, **kwargs):
        if jit_recording.recorder is not None or anomaly.enabled:
            return self.function(*args, **kwargs)  # the outer recording, or checked eagerly
        if not self.lock.acquire(blocking=False):
            raise JitError(
                f"autogradlib.jit: {self.function.__qualname__} was called from a second thread "
                "while a call was running; its plans reuse buffers between calls, so call it from "
                "one thread at a time (or jit a separate function for each thread)"
            )
        try:
            return self.call(args, kwargs)
        finally:
            self.lock.release()

    def call(self, args: tuple, kwargs: dict):
        if self.fast is not None and not kwargs:
            try:
                return self.fast(args)
            except Stale:  # another signature, or a guard failed: before any work
                pass
        flat: list = []
        key = (signature(args, flat), signature(kwargs, flat), grad_mode.enabled)
        key += (torch.is_grad_enabled(),)
        plans = self.plans.get(key)
        if plans is None:
            self.plans[key] = []  # the first call runs eagerly: optimizer state, gradients
            self.missed.add(key)
            return self.function(*args, **kwargs)
        for plan in plans:
            try:
                result = plan(flat)
            except Stale:  # a guard failed before any work
                continue
            self.fast = plan.enter
            return result
        # No plan fits: run eagerly once (a new parameter gets its optimizer state), then record.
        if key not in self.missed:
            self.missed.add(key)
            return self.function(*args, **kwargs)
        result = self.record(key, flat, args, kwargs)
        self.missed.discard(key)  # kept after a failed recording: the next call fails alike
        return result

    def record(self, key: tuple, flat: list, args: tuple, kwargs: dict):
        """Run the function eagerly while writing its plan; keep the plan for `key`."""
        self.recordings += 1
        if self.recordings == self.max_recordings + 1:
            warnings.warn(
                f"autogradlib.jit: {self.function.__qualname__} has been recorded "
                f"{self.recordings} times (new argument shapes, dtypes or grad mode, or a "
                "parameter, a module's train()/eval() or requires_grad changing between calls); "
                "every recording runs eagerly and is slower than a replay",
                stacklevel=4,
            )
        recorder = Recorder(self.function, flat, args, kwargs)
        started = time.perf_counter()
        result = recorder.run()
        plans = self.plans[key]
        self.fast = None
        plans.append(recorder.compile(result, key))
        del plans[:-MAX_PLANS]  # the oldest go first
        self.recording_seconds += time.perf_counter() - started
        return result


def signature(value: Any, flat: list) -> Any:
    """A hashable description of `value`'s structure and tensors; tensors go to `flat`."""
    kind = type(value)
    if kind is Variable or kind is torch.Tensor or isinstance(value, (Variable, torch.Tensor)):
        flat.append(value)
        tensor = value.tensor if isinstance(value, Variable) else value
        return (kind, tensor.shape, tensor.dtype, tensor.device, value.requires_grad)
    if kind is tuple or kind is list:
        return (kind, *(signature(item, flat) for item in value))
    if kind is dict:
        return (dict, *((name, signature(item, flat)) for name, item in value.items()))
    if kind is float and value != value:
        return (float, "nan")
    try:
        hash(value)
    except TypeError:
        return (kind, id(value))
    return (kind, value)


class Recorder(TorchFunctionMode):
    """Runs a function eagerly and writes each of its tensor-level torch calls as Python."""

    def __init__(self, function: Callable, flat: list, args: tuple, kwargs: dict) -> None:
        super().__init__()
        self.function = function
        self.args = args
        self.kwargs = kwargs
        # id(tensor) -> (its name in the generated code, a weak reference): a tensor freed while
        # recording frees its memory as in eager mode, and a later tensor with its id is new.
        self.named: dict[int, tuple[str, weakref.ref]] = {}
        self.count = itertools.count()
        self.namespace: dict[str, Any] = {
            "Stale": Stale, "_wrap": _wrap, "_check": _check, "_refresh": _refresh,
            "_below_autograd": torch._C._AutoDispatchBelowAutograd, "_grad_mode": grad_mode,
            "_is_grad_enabled": torch.is_grad_enabled,
        }  # fmt: skip
        self.torch_autograd = False  # whether a recorded call saw a tensor requiring torch grad
        self.constants: dict[int, str] = {}
        self.lines: list[Line] = []
        self.opaque_depth = 0
        self.opaque_calls = 0
        self.born_opaque: dict[int, weakref.ref] = {}
        self.sources: dict[int, tuple] = {}  # id(tensor) -> (weak reference, holder, template)
        self.shape_only: set[str | None] = set()  # names of tensors made from shapes alone
        # Small tensors made from shapes alone: name -> (line index, a copy of the value, storage)
        self.foldable: dict[str, tuple[int, torch.Tensor, int]] = {}
        # name -> (its memory, (shape, strides, dtype, device), elements): for out= buffers
        self.layouts: dict[str, tuple[int, tuple, int]] = {}
        self.memories: dict[int, tuple[int, list]] = {}  # storage -> (its number, holders)
        self.memory_numbers = itertools.count()
        self.mutated_storages: set[int] = set()
        self.from_data = True  # whether the call being bound read data
        self.inputs = flat
        self.leaves: dict[int, Variable] = {}
        self.leaf_names: dict[int, str] = {}
        self.last_seen: dict[int, tuple] = {}  # id(leaf) -> (tensor, grad) at the last sync
        self.modules: list[Module] = []
        self.guards: list[str] = []
        self.attributes_before: dict[int, dict] = {}
        for index, value in enumerate(flat):
            tensor = value.tensor if isinstance(value, Variable) else value
            name = self.name_tensor(tensor, "a")
            binding = f"{name} = A[{index}]" + (".tensor" if tensor is not value else "")
            self.lines.append(Line(binding, (name,), pure=True))
            if isinstance(value, Variable) and value.requires_grad:
                self.add_leaf(value, f"A[{index}]")
        self.discover(function, args, kwargs)

    # --- What the function can reach ----------------------------------------------------------

    def discover(self, function: Callable, args: tuple, kwargs: dict) -> None:
        """Find the modules, optimizers and Variables the function can reach: its closure, the
        globals it names, its bound object and its arguments."""
        found: list = []
        code_objects = []
        target = function
        if isinstance(function, types.MethodType):
            found.append(function.__self__)
            target = function.__func__
        if isinstance(target, types.FunctionType):
            for cell in target.__closure__ or ():
                if _filled(cell):
                    found.append(cell.cell_contents)
                    self.add_source(cell.cell_contents, cell, "{}.cell_contents")
            code_objects.append(target.__code__)
            namespace = target.__globals__
            while code_objects:
                code = code_objects.pop()
                for name in code.co_names:
                    if name in namespace:
                        found.append(namespace[name])
                        self.add_source(namespace[name], namespace, f"{{}}.get({name!r})")
                code_objects.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
        found.extend(args)
        found.extend(kwargs.values())
        seen: set[int] = set()
        for value in found:
            self.discover_value(value, seen, depth=0)

    def discover_value(self, value: Any, seen: set, depth: int) -> None:
        if id(value) in seen or depth > 3:
            return
        seen.add(id(value))
        if isinstance(value, Module):
            for module in value.modules():
                if id(module) in seen and module is not value:
                    continue
                seen.add(id(module))
                self.add_module(module)
        elif isinstance(value, Optimizer):
            for group in value.param_groups:
                for param in group["params"]:
                    self.add_leaf(param)
        elif isinstance(value, Variable) and value.is_leaf:
            self.add_leaf(value)
        elif isinstance(value, (list, tuple)):
            for item in value:
                self.discover_value(item, seen, depth + 1)
        elif isinstance(value, dict):
            for item in value.values():
                self.discover_value(item, seen, depth + 1)
        elif not isinstance(value, (type, types.ModuleType, Callable)) and hasattr(
            value, "__dict__"
        ):
            for item in vars(value).values():  # a trainer object holding the model, ...
                self.discover_value(item, seen, depth + 1)

    def add_module(self, module: Module) -> None:
        name = self.constant(module)
        self.modules.append(module)
        self.guards.append(f"{name}.training is not {module.training}")
        self.attributes_before[id(module)] = dict(vars(module))
        for attribute, value in vars(module).items():
            if isinstance(value, Variable):
                leaf = self.add_leaf(value)
                self.guards.append(f"{name}.__dict__.get({attribute!r}) is not {leaf}")
            self.add_source(value, module, f"{{}}.__dict__.get({attribute!r})")

    def add_source(self, value: Any, holder: Any, template: str) -> None:
        """Where a tensor the function can reach lives, to guard that it is still there."""
        if isinstance(value, torch.Tensor):
            self.sources[id(value)] = (weakref.ref(value), holder, template)

    def add_leaf(self, variable: Variable, expression: str | None = None) -> str:
        if id(variable) in self.leaf_names:
            return self.leaf_names[id(variable)]
        name = expression or self.constant(variable)
        self.leaves[id(variable)] = variable
        self.leaf_names[id(variable)] = name
        self.last_seen[id(variable)] = (variable.tensor, variable.grad)
        if expression is None:
            self.guards.append(f"{name}.requires_grad is not {variable.requires_grad}")
        if not self.opaque_calls:
            # Backward accumulates into a gradient that exists and sets one that does not: a
            # plan holds for one of the two.
            self.guards.append(f"{name}.grad is {'not ' if variable.grad is None else ''}None")
        return name

    def constant(self, value: Any) -> str:
        """The name of `value` in the generated code's namespace."""
        if id(value) not in self.constants:
            name = f"c{len(self.constants)}"
            self.constants[id(value)] = name
            self.namespace[name] = value
        return self.constants[id(value)]

    # --- Recording ----------------------------------------------------------------------------

    def run(self):
        if jit_recording.recorder is not None:
            raise JitError("autogradlib.jit: a jitted function cannot be recorded inside another")
        originals = patch_methods(self)
        jit_recording.recorder = self
        try:
            with self:
                result = self.function(*self.args, **self.kwargs)
        finally:
            jit_recording.recorder = None
            for owner, name, method in originals:
                setattr(owner, name, method)
        self.sync()
        self.check_module_attributes()
        return result

    def __torch_function__(self, func, types_, args=(), kwargs=None):
        kwargs = kwargs or {}
        if any(issubclass(kind, Variable) for kind in types_):
            with self:  # Variable's own dispatch: record the tensor calls it makes
                return Variable.__torch_function__(func, types_, args, kwargs)
        name = getattr(func, "__name__", "")
        if self.opaque_depth:
            result = func(*args, **kwargs)
            for tensor in tensors_in(result):
                self.born_opaque[id(tensor)] = weakref.ref(tensor)
            return result
        if not self.torch_autograd:
            arguments = tensors_in([args, list(kwargs.values())])
            self.torch_autograd = any(tensor.requires_grad for tensor in arguments)
        random = name.startswith(RANDOM_PREFIXES)
        # ones_like(loss) reads loss's shape alone; its other arguments (a fill value) are read
        read = [args[1:] if name in SHAPE_ONLY_CALLS else args, list(kwargs.values())]
        from_data = random or any(self.is_data(tensor) for tensor in tensors_in(read))
        if name in READS_VALUE and from_data:
            raise JitError(
                f"autogradlib.jit: {name}() reads a tensor's value into Python at {user_line()} "
                "while recording; a replay would keep the recorded value. Compute with tensors "
                "(torch.where, masks) instead, or return the tensor and read it after the "
                "jitted call"
            )
        result = func(*args, **kwargs)
        if name in READS_VALUE:
            return result  # computed from shapes alone, which the signature fixes
        mutated = mutated_tensors(name, args, kwargs)
        for tensor in mutated:
            self.mutated_storages.add(_storage(tensor))
            if from_data:
                self.shape_only.discard(self.name_of(tensor))
        self.from_data = from_data
        outputs = list(tensors_in(result))
        if not outputs and (name in DESCRIBES or not mutated):
            return result
        self.note_aliases(args, kwargs, outputs)
        if name == "matmul" and not kwargs and all(tensor.dim() == 2 for tensor in args):
            func = torch.mm  # what matmul calls for two matrices, without its checks
        call = f"{self.constant(func)}({self.arguments(args, kwargs)})"
        fresh = [tensor for tensor in outputs if self.name_of(tensor) is None]
        source = self.name_of(args[0]) if name in CACHED_VIEWS else None
        literal = all(type(value) in (int, tuple) for value in [*args[1:], *kwargs.values()])
        if fresh and literal and source is not None and source.startswith("x"):
            return self.cache_view(call, source, result)
        if not fresh:
            if mutated or not outputs:
                self.lines.append(Line(call))
            return result
        target = self.bind(result)
        may_raise = name.startswith(MAY_RAISE_ON_DATA) or any(
            part in name for part in MAY_RAISE_ON_DATA_IN
        )
        pure = not (mutated or random or may_raise)
        defines = tuple(_TENSOR_NAME.findall(target))
        arguments = self.arguments(args, kwargs)
        self.lines.append(Line(f"{target} = {call}", defines, pure, func, arguments))
        small = isinstance(result, torch.Tensor) and result.numel() <= FOLD_LIMIT
        if pure and small and not from_data:
            value = result.detach().clone()
            self.foldable[target] = (len(self.lines) - 1, value, _storage(result))
        return result

    def note_aliases(self, args: tuple, kwargs: dict, outputs: list) -> None:
        """A foldable tensor that an output shares memory with (a view of it) stays a call: the
        view must not be shared between replays."""
        inputs = [t for t in tensors_in([args, list(kwargs.values())]) if self.name_of(t)]
        for tensor in inputs:
            name = self.name_of(tensor)
            if name in self.foldable:
                storage = self.foldable[name][2]
                if any(_storage(output) == storage for output in outputs):
                    del self.foldable[name]

    def cache_view(self, call: str, source: str, result: torch.Tensor) -> torch.Tensor:
        """A parameter's transpose (or another view), made again only when the parameter is a
        new tensor: the view follows the in-place updates of the same one."""
        cache = self.constant([None, None])
        name = self.name_tensor(result, "v")
        refresh = f"_refresh({cache}, {source}, {call})"
        text = f"{name} = {cache}[1] if {source} is {cache}[0] else {refresh}"
        self.lines.append(Line(text, (name,), pure=True))
        return result

    def bind(self, result: Any) -> str:
        """Names for a call's result: new tensors get new names, the rest are discarded."""
        if isinstance(result, torch.Tensor):
            if self.name_of(result) is not None:
                return "_"
            return self.name_tensor(result, "v")
        if isinstance(result, (tuple, list)):
            return "(" + "".join(f"{self.bind(item)}, " for item in result) + ")"
        return "_"

    def name_tensor(self, tensor: torch.Tensor, prefix: str) -> str:
        name = f"{prefix}{next(self.count)}"
        self.named[id(tensor)] = (name, weakref.ref(tensor))
        # Tensors alive together on one memory share it (views); a later tensor given memory
        # that a freed one had does not.
        storage = _storage(tensor)
        memory, holders = self.memories.get(storage, (None, []))
        if not any(holder() is not None for holder in holders):
            memory, holders = next(self.memory_numbers), []
        holders.append(weakref.ref(tensor))
        self.memories[storage] = (memory, holders)
        if tensor.layout is torch.strided and not tensor.is_nested:
            layout = (tuple(tensor.shape), tensor.stride(), tensor.dtype, tensor.device)
            self.layouts[name] = (memory, layout, tensor.numel())
        else:  # sparse, nested, ...: never in a buffer
            self.layouts[name] = (memory, None, BUFFER_LIMIT + 1)
        if prefix == "v" and not self.from_data:
            self.shape_only.add(name)
        return name

    def is_data(self, tensor: torch.Tensor) -> bool:
        """Whether the tensor's values may depend on the arguments, the parameters or anything
        else from outside; False for what the step made from shapes alone (arange, zeros, ...)."""
        return self.name_of(tensor) not in self.shape_only

    def name_of(self, tensor: torch.Tensor) -> str | None:
        """The tensor's name in the generated code, if the recorded calls made or read it."""
        entry = self.named.get(id(tensor))
        return entry[0] if entry is not None and entry[1]() is tensor else None

    def arguments(self, args: tuple, kwargs: dict) -> str:
        parts = [self.argument(value) for value in args]
        parts += [f"{key}={self.argument(value)}" for key, value in kwargs.items()]
        return ", ".join(parts)

    def argument(self, value: Any) -> str:
        if isinstance(value, torch.Tensor):
            return self.name_of(value) or self.read_external(value)
        if type(value) in (tuple, list):
            inner = "".join(f"{self.argument(item)}, " for item in value)
            return f"({inner})" if type(value) is tuple else f"[{inner}]"
        if type(value) is float and value == value and abs(value) != float("inf"):
            return repr(value)
        if type(value) in _LITERALS:
            return repr(value)
        return self.constant(value)

    def read_external(self, tensor: torch.Tensor) -> str:
        """A tensor the step did not make: a Variable's tensor or gradient, read on each replay;
        anything else is captured by reference (a constant, or a buffer updated in place)."""
        for key, leaf in self.leaves.items():
            for attribute in ("tensor", "grad"):
                if getattr(leaf, attribute) is tensor:
                    slot = f"{self.leaf_names[key]}.{attribute}"
                    name = self.name_tensor(tensor, "x")
                    meta = self.constant((tensor.shape, tensor.dtype, tensor.device))
                    expected = self.constant([tensor])
                    check = f"{name} = _check({name}, {expected}, {meta}, {slot!r})"
                    text = f"{name} = {slot}\nif {name} is not {expected}[0]: {check}"
                    self.lines.append(Line(text, (name,), pure=True))
                    return name
        born = self.born_opaque.get(id(tensor))
        if born is not None and born() is tensor:
            raise JitError(
                f"autogradlib.jit: at {user_line()}, the step reads a tensor that an "
                "optimizer's step() or zero_grad() made and that is no parameter's tensor or "
                "gradient; the jit cannot find it again on replay"
            )
        name = self.constant(tensor)
        source = self.sources.get(id(tensor))
        if source is not None and source[0]() is tensor:
            # Captured from a closure, a global or a module: a new tensor there needs a new plan.
            self.guards.append(f"{source[2].format(self.constant(source[1]))} is not {name}")
        return name

    # --- Python state: gradients and optimizer calls --------------------------------------------

    def sync(self) -> None:
        """Write the gradients and tensors that Variables were given since the last sync."""
        for key, leaf in self.leaves.items():
            tensor, grad = self.last_seen[key]
            for attribute, before in (("tensor", tensor), ("grad", grad)):
                now = getattr(leaf, attribute)
                if now is before:
                    continue
                if now is None:
                    value = "None"
                elif self.name_of(now) is not None:
                    value = self.name_of(now)
                else:
                    raise JitError(
                        f"autogradlib.jit: a Variable's .{attribute} was set to a tensor that the "
                        "recorded torch calls did not make; the jit cannot replay it"
                    )
                self.lines.append(Line(f"{self.leaf_names[key]}.{attribute} = {value}"))
            self.last_seen[key] = (leaf.tensor, leaf.grad)

    def opaque_call(self, method: Callable, owner: Any, args: tuple, kwargs: dict):
        """Call an optimizer's step() or zero_grad(), or a scheduler's step(), now and again on
        every replay."""
        values = [*args, *kwargs.values()]
        if any(callable(value) or isinstance(value, Variable) for value in values) or any(
            tensors_in(values)
        ):
            raise JitError(
                f"autogradlib.jit: {type(owner).__name__}.{method.__name__}() with a closure or "
                "tensor arguments cannot be recorded; call it with plain options"
            )
        if isinstance(owner, Optimizer):
            for group in owner.param_groups:
                for param in group["params"]:
                    self.add_leaf(param)
        self.sync()
        self.opaque_calls += 1
        call = self.constant(functools.partial(method, owner, *args, **kwargs))
        updated = self.updated_groups(owner) if method is _OPTIMIZER_STEP and not values else None
        self.opaque_depth += 1
        try:
            result = method(owner, *args, **kwargs)
        finally:
            self.opaque_depth -= 1
        set_to_none = values[0] if values else True
        if method is _OPTIMIZER_ZERO_GRAD and set_to_none:
            self.guard_groups(owner)
            # As `.grad = None` lines, kept even where backward sets the gradient again: freeing
            # the old gradients first, as eager mode does, was measured to keep the resident
            # memory of a full-batch training 300-800 KiB lower (the heap fragments less).
            self.sync()
            return result
        self.lines.append(Line(self.inline_step(owner, updated) if updated else f"{call}()"))
        for key, leaf in self.leaves.items():
            self.last_seen[key] = (leaf.tensor, leaf.grad)
        return result

    def updated_groups(self, optimizer: Optimizer) -> list[list[Variable]] | None:
        """Each group's parameters that step() is about to update, for one of our optimizers
        (their `_update_group` is ours)."""
        if not type(optimizer).__module__.startswith("autogradlib.optim."):
            return None
        groups = optimizer.param_groups
        return [[param for param in group["params"] if param.grad is not None] for group in groups]

    def guard_groups(self, optimizer: Optimizer) -> None:
        """The optimizer's groups hold the parameters they held when recorded (their
        hyper-parameters may change: they are read on each call)."""
        name = self.constant(optimizer)
        groups = optimizer.param_groups
        guard = f"len({name}.param_groups) != {len(groups)}"
        for index, group in enumerate(groups):
            params = f"{name}.param_groups[{index}]['params']"
            guard += f" or {params} is not {self.constant(group['params'])}"
            guard += f" or len({params}) != {len(group['params'])}"
        if guard not in self.guards:
            self.guards.append(guard)

    def inline_step(self, optimizer: Optimizer, updated: list[list[Variable]]) -> str:
        """An optimizer's step() as calls of its `_update_group` with the lists written out, the
        hyper-parameters read from its groups as they are then."""
        self.guard_groups(optimizer)
        name = self.constant(optimizer)
        update = self.constant(optimizer._update_group)
        lines = [f"{name}._opt_called = True"]
        for index, params in enumerate(updated):
            if params:
                # The plan's own names where it has them (no attribute to read), as they are now
                tensors = ", ".join(self.current(param, "tensor") for param in params)
                grads = ", ".join(self.current(param, "grad") for param in params)
                group = f"{name}.param_groups[{index}]"
                lines.append(f"{update}({group}, {self.constant(params)}, [{tensors}], [{grads}])")
        return "\n".join(lines)

    def current(self, leaf: Variable, attribute: str) -> str:
        """An expression for the leaf's tensor or gradient as it is at this point of the plan."""
        name = self.name_of(getattr(leaf, attribute))
        return name or f"{self.leaf_names[id(leaf)]}.{attribute}"

    def before_backward(self, root: Variable) -> None:
        """Know every leaf this backward writes a gradient to, as it is before."""
        stack = [root.grad_op] if root.grad_op is not None else []
        if root.grad_op is None and root.requires_grad:
            self.add_leaf(root)
        visited: set[int] = set()
        while stack:
            operator = stack.pop()
            if id(operator) in visited:
                continue
            visited.add(id(operator))
            for source in operator.sources():
                if isinstance(source, Variable):
                    self.add_leaf(source)
                elif source is not None:
                    stack.append(source)

    def check_module_attributes(self) -> None:
        """A module's tensor, number or flag set anew by the step would not be set by a replay."""
        for module in self.modules:
            before = self.attributes_before[id(module)]
            for attribute, value in vars(module).items():
                public_number = isinstance(value, (bool, int, float)) and attribute[0] != "_"
                watched = public_number or isinstance(value, torch.Tensor)
                if watched and before.get(attribute, _MISSING) is not value:
                    raise JitError(
                        f"autogradlib.jit: the step set {type(module).__name__}.{attribute} "
                        f"to a new {type(value).__name__}; a replay would not. Update tensors "
                        "in place (copy_, mul_, ...), and set flags (train(), eval()) outside"
                    )

    # --- The generated function -----------------------------------------------------------------

    def compile(self, result: Any, key: tuple) -> Callable:
        """The plan as one Python function of the flattened arguments, `replay(A)`, and
        `replay.enter(args)`, which checks the signature first (None unless every argument
        is a tensor or a Variable)."""
        returned = self.output(result)
        guards = " or ".join(self.guards) or "False"
        lines = drop_unused(self.folded(returned), returned)
        lines = simplified_transposes(self.fused(lines, returned), returned)
        lines = drop_unused(lines, returned)  # a transpose now read by nobody
        if not self.torch_autograd:  # out= cannot record torch's autograd
            lines = self.buffered(lines, returned)
        lines = free_after_last_use(lines, returned)
        if not self.torch_autograd:
            # torch's autograd has nothing to record (no tensor requires its grad): skip its
            # dispatch, about 0.3 us a call. Opaque calls run as outside, in case.
            lines = within(lines, "with _below_autograd():", outside=_OPAQUE_CALL)
        body = [f"if {guards}: raise Stale", *lines, f"return {returned}"]
        source = "def replay(A):\n" + "".join(f"    {line}\n" for line in body)
        check = self.signature_check(key)
        if check is not None:
            source += f"def enter(A):\n    if {check}: raise Stale\n    return replay(A)\n"
        exec(compile(source, f"<autogradlib.jit {self.function.__qualname__}>", "exec"),
             self.namespace)  # fmt: skip
        replay = self.namespace["replay"]
        replay.source = source
        replay.enter = self.namespace.get("enter")
        return replay

    def signature_check(self, key: tuple) -> str | None:
        """An expression true when the arguments `A` (a tuple) do not have the signature `key`:
        a few comparisons instead of building the signature; None unless every argument is a
        tensor or a Variable."""
        if self.kwargs or any(type(value) not in (torch.Tensor, Variable) for value in self.args):
            return None
        parts = [f"len(A) != {len(self.args)}"]
        for index, value in enumerate(self.args):
            argument = f"A[{index}]"
            tensor = argument + (".tensor" if type(value) is Variable else "")
            kind = self.constant(type(value))
            shape = self.constant(value.shape)
            dtype = self.constant(value.dtype)
            if value.device.type == "cpu":
                device = f"{tensor}.is_cpu is not True"
            else:
                device = f"{tensor}.device != {self.constant(value.device)}"
            parts += [
                f"type({argument}) is not {kind}", f"{tensor}.shape != {shape}",
                f"{tensor}.dtype is not {dtype}", device,
                f"{argument}.requires_grad is not {value.requires_grad}",
            ]  # fmt: skip
        parts.append(f"_grad_mode.enabled is not {key[2]}")
        parts.append(f"_is_grad_enabled() is not {key[3]}")
        return " or ".join(parts)

    def folded(self, returned: str) -> list[Line]:
        """The lines, each small tensor made from shapes alone (ones_like(loss) * 2 / n, ...) a
        constant computed once, unless the step changes it, returns it or gives it to a
        Variable: a replay would share it between calls."""
        lines = list(self.lines)
        escaping = set(_TENSOR_NAME.findall(returned))
        for line in lines:
            if not line.defines and " = " in line.text:  # a Variable's .grad or .tensor set
                escaping.update(_TENSOR_NAME.findall(line.text.split(" = ", 1)[1]))
        for name, (index, value, storage) in self.foldable.items():
            if name not in escaping and storage not in self.mutated_storages:
                lines[index] = Line(f"{name} = {self.constant(value)}", (name,), pure=True)
        return lines

    def fused(self, lines: list[Line], returned: str) -> list[Line]:
        """addmm then relu of its result (or of its transpose, in the tall layout), when nothing
        else reads the product: one call, torch._addmm_activation, which computes addmm and
        relu_ in place: the same numbers, one call and one tensor fewer."""
        uses: dict[str, list[int]] = {}
        for index, line in enumerate(lines):
            for name in set(_TENSOR_NAME.findall(line.text)) - set(line.defines):
                uses.setdefault(name, []).append(index)
        escaping = set(_TENSOR_NAME.findall(returned))
        fused = self.constant(torch._addmm_activation)
        lines = list(lines)
        for index, line in enumerate(lines):
            if line.func is not torch.addmm or "=" in line.arguments or len(line.defines) != 1:
                continue
            chain = [index]  # the product, perhaps its transpose, then the relu
            name = line.defines[0]
            while name not in escaping and len(uses.get(name, ())) == 1:
                after = lines[uses[name][0]]
                if after.arguments != name or len(after.defines) != 1:
                    break
                chain.append(uses[name][0])
                if after.func in _RELU:
                    break
                if after.func is not torch.Tensor.t or len(chain) > 2:
                    break
                name = after.defines[0]
            if len(chain) < 2 or lines[chain[-1]].func not in _RELU:
                continue
            product = line.defines[0]
            text = f"{product} = {fused}({line.arguments})"
            lines[index] = Line(text, (product,), True, torch._addmm_activation, line.arguments)
            relu = lines[chain[-1]].defines[0]
            lines[chain[-1]] = Line(f"{relu} = {lines[chain[-2]].defines[0]}", (relu,), True)
        return lines

    def buffered(self, lines: list[Line], returned: str) -> list[Line]:
        """Small results written into buffers allocated once (`out=`), each shared by results
        whose lifetimes do not overlap, so a replay holds what eager mode holds at its peak.
        Never a tensor that outlives the call (returned, a gradient) or shares its memory."""
        groups = _MemoryGroups(self.layouts)
        escaping = set(_TENSOR_NAME.findall(returned))
        for line in lines:
            alias = _ALIAS.match(line.text)
            if alias is not None:
                groups.join(alias.group(1), alias.group(2))
            elif not line.defines and " = " in line.text:  # a Variable's .grad or .tensor set
                escaping.update(_TENSOR_NAME.findall(line.text.split(" = ", 1)[1]))
        last_use: dict[Any, int] = {}
        for index, line in enumerate(lines):
            for name in _TENSOR_NAME.findall(line.text):
                last_use[groups.find(name)] = index
        escaping = {groups.find(name) for name in escaping}
        free: dict[tuple, list[str]] = {}  # layout -> buffers no result holds now
        released: dict[int, list[tuple[tuple, str]]] = {}
        lines = list(lines)
        for index, line in enumerate(lines):
            name = line.defines[0] if len(line.defines) == 1 else None
            out = _OUT_FORMS.get(line.func) if line.pure and name in self.layouts else None
            group = groups.find(name) if out is not None else None
            _, layout, elements = self.layouts[name] if out is not None else (0, None, 0)
            whole_sum = out is torch.sum and "," not in line.arguments  # no out= form
            owned = group not in escaping and elements <= BUFFER_LIMIT and not whole_sum
            if out is not None and owned:
                pool = free.setdefault(layout, [])
                buffer = pool.pop() if pool else self.constant(_empty(layout))
                text = f"{name} = {self.constant(out)}({line.arguments}, out={buffer})"
                lines[index] = line._replace(text=text)
                released.setdefault(last_use[group], []).append((layout, buffer))
            for layout, buffer in released.pop(index, ()):
                free.setdefault(layout, []).append(buffer)
        return lines

    def output(self, value: Any) -> str:
        if isinstance(value, Variable):
            if id(value) in self.leaf_names:
                return self.leaf_names[id(value)]
            return f"_wrap({self.tensor_name(value.tensor)})"
        if isinstance(value, torch.Tensor):
            return self.tensor_name(value)
        if value is None:
            return "None"
        if type(value) in (tuple, list):
            inner = "".join(f"{self.output(item)}, " for item in value)
            return f"({inner})" if type(value) is tuple else f"[{inner}]"
        if type(value) is dict:
            return (
                "{"
                + ", ".join(f"{key!r}: {self.output(item)}" for key, item in value.items())
                + "}"
            )
        raise JitError(
            f"autogradlib.jit: {self.function.__qualname__} returns a {type(value).__name__}; a "
            "replay could only return the recorded value. Return tensors, Variables, None, or "
            "tuples, lists and dicts of them"
        )

    def tensor_name(self, tensor: torch.Tensor) -> str:
        return self.name_of(tensor) or self.read_external(tensor)


def within(lines: list[str], header: str, outside: re.Pattern) -> list[str]:
    """The lines in `header` blocks, but those matching `outside`."""
    result = []
    inside = False
    for line in lines:
        if outside.match(line):
            result.append(line)
        elif inside:
            result.append("    " + line)
        else:
            result += [header, "    " + line]
        inside = not outside.match(line)
    return result


def simplified_transposes(lines: list[Line], returned: str) -> list[Line]:
    """A transpose taken again of the same tensor is the first one, and the transpose of a
    transpose is the tensor itself (views of the same memory, the same layout), when nothing
    changes a tensor's shape in place and the caller gets neither."""
    if any(getattr(line.func, "__name__", "") in _RESHAPES_IN_PLACE for line in lines):
        return lines
    escaping = set(_TENSOR_NAME.findall(returned))
    for line in lines:
        if not line.defines and " = " in line.text:  # a Variable's .grad or .tensor set
            escaping.update(_TENSOR_NAME.findall(line.text.split(" = ", 1)[1]))
    same: dict[str, str] = {}  # alias -> the name it stands for
    transposed: dict[str, str] = {}  # name -> the name of its transpose, and back
    result = []
    for line in lines:
        alias = _ALIAS.match(line.text)
        if alias is not None:
            same[alias.group(1)] = same.get(alias.group(2), alias.group(2))
        elif line.func is torch.Tensor.t and len(line.defines) == 1:
            name, source = line.defines[0], same.get(line.arguments, line.arguments)
            if source in transposed and name not in escaping:
                line = Line(f"{name} = {transposed[source]}", (name,), True)
                same[name] = transposed[source]
            else:
                transposed.setdefault(source, name)
                transposed.setdefault(name, source)
        result.append(line)
    return result


def drop_unused(lines: list[Line], returned: str) -> list[Line]:
    """The lines without those whose every name goes unused (the loss of a step that returns
    nothing, what only it needed, ...), last line first."""
    live = set(_TENSOR_NAME.findall(returned))
    kept = []
    for line in reversed(lines):
        if line.pure and live.isdisjoint(line.defines):
            continue
        live.difference_update(line.defines)
        live.update(_TENSOR_NAME.findall(line.text))
        kept.append(line)
    return kept[::-1]


def held_elsewhere(lines: list[Line]) -> set[str]:
    """Names whose tensors something outlasting the call holds (the caller's arguments, a
    Variable, a buffer, a cached view, a constant), and aliases and transposes of those: deleting
    them would free nothing."""
    held = set()
    for line in lines:
        held.update(name for name in _TENSOR_NAME.findall(line.text) if name[0] in "ax")
        if not line.defines and " = " in line.text:  # a Variable's .grad or .tensor set
            held.update(_TENSOR_NAME.findall(line.text.split(" = ", 1)[1]))
        elif len(line.defines) == 1:
            name, text = line.defines[0], line.text
            alias = _ALIAS.match(text)
            source = alias.group(2) if alias else line.arguments
            owned = ", out=c" in text or "_refresh(" in text or _CONSTANT.match(text)
            viewed = (alias or line.func is torch.Tensor.t) and source in held
            if owned or viewed:
                held.add(name)
    return held


def free_after_last_use(lines: list[Line], returned: str) -> list[str]:
    """The lines with `del name` after each tensor's last use, so that a replay holds no more
    memory than eager mode, which frees activations and gradients as backward passes them."""
    uses = [set(_TENSOR_NAME.findall(line.text)) for line in lines]
    kept = set(_TENSOR_NAME.findall(returned)) | held_elsewhere(lines)
    last_use = {}
    for index, names in enumerate(uses):
        for name in names:
            last_use[name] = index
    freed: dict[int, list[str]] = {}
    for name, index in last_use.items():
        if name not in kept:
            freed.setdefault(index, []).append(name)
    result = []
    for index, line in enumerate(lines):
        result.extend(line.text.split("\n"))
        if index in freed:
            result.append("del " + ", ".join(sorted(freed[index])))
    return result


def patch_methods(recorder: Recorder) -> list:
    """Route optimizers' step()/zero_grad(), schedulers' step() and Variable.backward through
    the recorder."""
    originals = []
    classes = [Optimizer, LRScheduler]
    while classes:
        owner = classes.pop()
        classes.extend(owner.__subclasses__())
        for name in OPAQUE_METHODS:
            if name in owner.__dict__:
                method = owner.__dict__[name]
                originals.append((owner, name, method))
                setattr(owner, name, _opaque(recorder, method))
    backward = Variable.backward

    def recorded_backward(variable, *args, **kwargs):
        recorder.before_backward(variable)
        return backward(variable, *args, **kwargs)

    originals.append((Variable, "backward", backward))
    Variable.backward = recorded_backward
    return originals


def _opaque(recorder: Recorder, method: Callable) -> Callable:
    @functools.wraps(method)
    def recorded(owner, *args, **kwargs):
        if recorder.opaque_depth:
            return method(owner, *args, **kwargs)
        return recorder.opaque_call(method, owner, args, kwargs)

    return recorded


def mutated_tensors(name: str, args: tuple, kwargs: dict) -> list[torch.Tensor]:
    """The tensors a call writes: its first argument if it is in place, and its `out=`."""
    written = list(tensors_in(kwargs.get("out")))
    if _mutates(name) and args and isinstance(args[0], torch.Tensor):
        written.append(args[0])
    return written


def _storage(tensor: torch.Tensor) -> int:
    """Where a tensor's memory starts: tensors that share memory share it."""
    try:
        return tensor.untyped_storage().data_ptr()
    except (RuntimeError, NotImplementedError):  # no storage (a sparse tensor, ...)
        return id(tensor)


class _MemoryGroups:
    """Names of tensors that share memory (views, one another's aliases), as disjoint sets."""

    def __init__(self, layouts: dict[str, tuple[int, tuple, int]]) -> None:
        self.parent: dict[Any, Any] = {}
        for name, (memory, _, _) in layouts.items():
            self.parent[name] = ("memory", memory)

    def find(self, name: Any) -> Any:
        while name in self.parent and self.parent[name] != name:
            name = self.parent[name]
        return name

    def join(self, first: str, second: str) -> None:
        root, other = self.find(first), self.find(second)
        if root != other:
            self.parent[root] = other


def _empty(layout: tuple) -> torch.Tensor:
    shape, strides, dtype, device = layout
    return torch.empty_strided(shape, strides, dtype=dtype, device=device)


def _refresh(cache: list, source: torch.Tensor, view: torch.Tensor) -> torch.Tensor:
    """A parameter's cached view, made anew for a new tensor."""
    cache[:] = source, view
    return view


def tensors_in(value: Any):
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from tensors_in(item)


def _mutates(name: str) -> bool:
    return (name.endswith("_") and not name.endswith("__")) or name in IN_PLACE_DUNDERS


def _filled(cell) -> bool:
    try:
        return cell.cell_contents is not cell
    except ValueError:  # a closure variable not assigned yet
        return False


def _wrap(tensor: torch.Tensor) -> Variable:
    return Variable._from_tensor(tensor)


def _check(tensor, expected: list, meta: tuple, slot: str):
    """A Variable's tensor or gradient that is a new object since the last replay: same kind?"""
    if not isinstance(tensor, torch.Tensor) or (tensor.shape, tensor.dtype, tensor.device) != meta:
        description = "None" if tensor is None else f"shape {tuple(tensor.shape)} {tensor.dtype}"
        raise JitError(
            f"autogradlib.jit: {slot} is {description} in this replay but was shape "
            f"{tuple(meta[0])} {meta[1]} when the step was recorded; this step cannot be replayed"
        )
    expected[0] = tensor
    return tensor


def user_line() -> str:
    """'file.py:12 in train_step', the innermost frame outside Autogradlib and torch."""
    for frame in reversed(traceback.extract_stack()):
        filename = os.path.abspath(frame.filename)
        if not filename.startswith((_PACKAGE_DIR, _TORCH_DIR)):
            return f"{frame.filename}:{frame.lineno} in {frame.name}"
    return "an unknown line"
