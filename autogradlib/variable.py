"""Variable: a tensor that remembers the operation that made it, so gradients can flow back."""

from __future__ import annotations

import math
import numbers
from collections import namedtuple

import torch

from autogradlib.errors import DTypeError, GraphError, ShapeError
from autogradlib.grad_mode import is_grad_enabled

MinMaxResult = namedtuple("MinMaxResult", ["values", "indices"])


class Variable:
    """Wraps `tensor`; after backward, `grad` holds dL/d(tensor) when the Variable is a leaf.

    `grad_op` is the GradOperator that produced this Variable (None for a leaf). Floating-point
    leaves require grad by default, as in the seed (integer ones cannot); data that needs no
    gradient can be passed as a plain tensor, or wrapped with requires_grad=False.
    """

    __slots__ = ("__weakref__", "grad", "grad_op", "name", "requires_grad", "tensor")
    # Make `tensor + variable` and `array + variable` defer to Variable's reflected operators.
    __array_priority__ = 1000

    def __init__(self, tensor, requires_grad: bool | None = None, name: str | None = None) -> None:
        if isinstance(tensor, Variable):
            tensor = tensor.tensor
        elif not isinstance(tensor, torch.Tensor):
            if not isinstance(tensor, (numbers.Number, list, tuple)):
                raise TypeError(
                    f"Variable: expected a torch.Tensor, a number or a (nested) list, "
                    f"got {type(tensor).__name__}"
                )
            tensor = torch.as_tensor(tensor)
        if tensor.requires_grad:
            # Autogradlib does its own differentiation: torch's tape would only cost time.
            tensor = tensor.detach()
        if requires_grad is None:
            # Leaves require grad by default (the seed's convention); labels and indices cannot.
            requires_grad = tensor.is_floating_point()
        if requires_grad and not tensor.is_floating_point():
            raise DTypeError(
                f"Variable: only floating-point tensors can require grad, got {tensor.dtype}; "
                "pass requires_grad=False or convert with .float()"
            )
        self.tensor = tensor
        self.grad = None
        self.grad_op = None
        self.requires_grad = bool(requires_grad)
        self.name = name

    @classmethod
    def _from_tensor(cls, tensor: torch.Tensor) -> Variable:
        """A Variable that requires no grad, skipping __init__'s checks (operator outputs)."""
        variable = cls.__new__(cls)
        variable.tensor = tensor
        variable.grad = None
        variable.grad_op = None
        variable.requires_grad = False
        variable.name = None
        return variable

    @classmethod
    def _from_operator(cls, tensor: torch.Tensor, grad_op) -> Variable:
        """The recorded output of `grad_op`."""
        variable = cls.__new__(cls)
        variable.tensor = tensor
        variable.grad = None
        variable.grad_op = grad_op
        variable.requires_grad = True
        variable.name = None
        return variable

    # --- Tensor-like attributes -------------------------------------------------------------

    @property
    def shape(self) -> torch.Size:
        return self.tensor.shape

    @property
    def dtype(self) -> torch.dtype:
        return self.tensor.dtype

    @property
    def device(self) -> torch.device:
        return self.tensor.device

    @property
    def ndim(self) -> int:
        return self.tensor.dim()

    @property
    def is_leaf(self) -> bool:
        return self.grad_op is None

    @property
    def data(self) -> torch.Tensor:
        return self.tensor

    @data.setter
    def data(self, tensor) -> None:
        """Replace the tensor, outside the graph, as torch's `p.data = t` (and `p.data -= u`)."""
        if isinstance(tensor, Variable):
            tensor = tensor.tensor
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"data: expected a torch.Tensor, got {type(tensor).__name__}")
        if self.requires_grad and not tensor.is_floating_point():
            raise DTypeError(
                f"data: this Variable requires grad, so its tensor must be floating-point, "
                f"got {tensor.dtype}"
            )
        self.tensor = tensor.detach() if tensor.requires_grad else tensor

    def size(self, dim: int | None = None):
        return self.tensor.size() if dim is None else self.tensor.size(dim)

    def dim(self) -> int:
        return self.tensor.dim()

    def numel(self) -> int:
        return self.tensor.numel()

    nelement = numel

    def item(self):
        return self.tensor.item()

    def tolist(self):
        return self.tensor.tolist()

    def numpy(self):
        return self.tensor.detach().cpu().numpy()

    def __len__(self) -> int:
        return len(self.tensor)

    def __iter__(self):
        return (self[index] for index in range(len(self)))

    def __bool__(self) -> bool:
        return bool(self.tensor)

    def __float__(self) -> float:
        return float(self.tensor)

    def __int__(self) -> int:
        return int(self.tensor)

    def __index__(self) -> int:
        return self.tensor.__index__()

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        body = repr(self.tensor).removeprefix("tensor(").removesuffix(")")
        body = body.replace("\n       ", "\n         ")
        if self.grad_op is not None:
            return f"Variable({body}, grad_op=<{self.grad_op.label}>)"
        if self.requires_grad:
            return f"Variable({body}, requires_grad=True)"
        return f"Variable({body})"

    # --- Graph --------------------------------------------------------------------------------

    def backward(
        self, gradient=None, retain_graph=None, create_graph: bool = False, inputs=None
    ) -> None:
        """Accumulate d(self)/d(leaf), times `gradient`, into the .grad of every leaf (of `inputs`
        only, when given); with create_graph, the gradients are recorded Variables."""
        run_backward(self, gradient, retain_graph, create_graph, inputs)

    def register_hook(self, fn):
        """Run fn(grad) when this Variable's gradient is computed; a result replaces it.
        Returns a handle whose .remove() unregisters it."""
        return hooks.register_hook(self, fn)

    def retain_grad(self) -> None:
        """Keep .grad on this intermediate Variable after backward (leaves always keep it)."""
        if not self.requires_grad:
            raise GraphError("retain_grad: this Variable does not require grad")
        if self.grad_op is not None:
            self.grad_op.retain(self)

    @property
    def retains_grad(self) -> bool:
        op = self.grad_op
        return op is not None and op.retained is not None and op.retained() is self

    def detach(self) -> Variable:
        """The same tensor, cut from the graph."""
        return Variable._from_tensor(self.tensor)

    def requires_grad_(self, requires_grad: bool = True) -> Variable:
        if self.grad_op is not None and not requires_grad:
            raise GraphError(
                "requires_grad_: only leaves can change requires_grad; use .detach() instead"
            )
        if requires_grad and not self.tensor.is_floating_point():
            raise DTypeError(f"requires_grad_: {self.tensor.dtype} tensors cannot require grad")
        self.requires_grad = requires_grad
        return self

    def zero_grad(self) -> None:
        self.grad = None

    def draw_graph(self, params: dict | None = None):
        """This Variable's graph as a graphviz.Digraph, drawn as torchviz draws it."""
        from autogradlib.drawing import draw_graph

        return draw_graph(self, params)

    # --- Conversions (not differentiable, except to() between float dtypes) -----------------

    def to(self, *args, **kwargs) -> Variable:
        """Move or cast; differentiable, so gradients flow back in the original dtype and device."""
        # to(other) takes other's dtype and device, whether other is a tensor or a Variable.
        args = tuple(arg.tensor if isinstance(arg, Variable) else arg for arg in args)
        moved = ops.To.apply(self, args=args, kwargs=kwargs)
        if moved.tensor is self.tensor:
            return self  # as torch: nothing to move, so an in-place change to it changes self
        return moved if moved.tensor.is_floating_point() else moved.detach()

    def float(self) -> Variable:
        return self.to(torch.float32)

    def double(self) -> Variable:
        return self.to(torch.float64)

    def long(self) -> Variable:
        return self.to(torch.int64)

    def int(self) -> Variable:
        return self.to(torch.int32)

    def bool(self) -> Variable:
        return self.to(torch.bool)

    def cpu(self) -> Variable:
        return self.to("cpu")

    def cuda(self, device=None) -> Variable:
        return self.to("cuda" if device is None else device)

    def argmax(
        self, dim=None, keepdim: bool = False, *, keepdims: bool | None = None, axis=None
    ) -> Variable:
        """With numpy's names too: axis= for dim=, keepdims= for keepdim=, as torch takes them."""
        dim = dim if axis is None else axis
        keepdim = keepdim if keepdims is None else keepdims
        return Variable._from_tensor(self.tensor.argmax(dim, keepdim))

    def argmin(
        self, dim=None, keepdim: bool = False, *, keepdims: bool | None = None, axis=None
    ) -> Variable:
        """With numpy's names too: axis= for dim=, keepdims= for keepdim=, as torch takes them."""
        dim = dim if axis is None else axis
        keepdim = keepdim if keepdims is None else keepdims
        return Variable._from_tensor(self.tensor.argmin(dim, keepdim))

    # --- Comparisons: plain boolean Variables, as torch returns boolean tensors --------------

    def _compare(self, other, compare) -> Variable:
        other = other.tensor if isinstance(other, Variable) else other
        result = compare(self.tensor, other)
        if result is NotImplemented:
            # Python then falls back as for tensors: `x == None` is False, `x < None` a TypeError.
            return NotImplemented
        return Variable._from_tensor(result)

    def __eq__(self, other):
        return self._compare(other, torch.Tensor.__eq__)

    def __ne__(self, other):
        return self._compare(other, torch.Tensor.__ne__)

    def __lt__(self, other):
        return self._compare(other, torch.Tensor.__lt__)

    def __le__(self, other):
        return self._compare(other, torch.Tensor.__le__)

    def __gt__(self, other):
        return self._compare(other, torch.Tensor.__gt__)

    def __ge__(self, other):
        return self._compare(other, torch.Tensor.__ge__)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    # --- Differentiable operations -------------------------------------------------------------

    def __add__(self, other):
        return ops.Add.apply(self, other)

    def __radd__(self, other):
        return ops.Add.apply(other, self)

    def __sub__(self, other):
        return ops.Sub.apply(self, other)

    def __rsub__(self, other):
        return ops.Sub.apply(other, self)

    def __mul__(self, other):
        return ops.Mul.apply(self, other)

    def __rmul__(self, other):
        return ops.Mul.apply(other, self)

    def __truediv__(self, other):
        return ops.Div.apply(self, other)

    def __rtruediv__(self, other):
        return ops.Div.apply(other, self)

    def __pow__(self, exponent):
        return ops.Pow.apply(self, exponent)

    def __rpow__(self, base):
        return ops.Pow.apply(base, self)

    def __matmul__(self, other):
        return ops.MatMul.apply(self, other)

    def __rmatmul__(self, other):
        return ops.MatMul.apply(other, self)

    def __neg__(self):
        return ops.Neg.apply(self)

    def __pos__(self):
        return self

    def __getitem__(self, index):
        return ops.Index.apply(self, index=_unwrap_index(index))

    mul, div, pow, matmul, neg = (
        __mul__,
        __truediv__,
        __pow__,
        __matmul__,
        __neg__,
    )
    multiply, divide, true_divide = mul, div, div

    def exp(self):
        return ops.Exp.apply(self)

    def log(self):
        return ops.Log.apply(self)

    def sqrt(self):
        return ops.Sqrt.apply(self)

    def square(self):
        return ops.Pow.apply(self, 2)

    def abs(self):
        return ops.Abs.apply(self)

    __abs__ = abs

    def sign(self):
        return ops.Sign.apply(self)

    def relu(self):
        return ops.ReLU.apply(self)

    def sigmoid(self):
        return ops.Sigmoid.apply(self)

    def tanh(self):
        return ops.Tanh.apply(self)

    def clamp(self, min=None, max=None):
        return ops.Clamp.apply(self, min=min, max=max)

    clip = clamp

    def softmax(self, dim: int, dtype: torch.dtype | None = None):
        source = self if dtype is None else self.to(dtype)
        return ops.Softmax.apply(source, dim=dim)

    def log_softmax(self, dim: int, dtype: torch.dtype | None = None):
        source = self if dtype is None else self.to(dtype)
        return ops.LogSoftmax.apply(source, dim=dim)

    def sum(self, dim=None, keepdim: bool = False, *, dtype=None, keepdims: bool | None = None):
        keepdim = keepdim if keepdims is None else keepdims
        source = self if dtype is None else self.to(dtype)
        return ops.Sum.apply(source, dim=dim, keepdim=keepdim)

    def mean(self, dim=None, keepdim: bool = False, *, dtype=None, keepdims: bool | None = None):
        keepdim = keepdim if keepdims is None else keepdims
        source = self if dtype is None else self.to(dtype)
        return ops.Mean.apply(source, dim=dim, keepdim=keepdim)

    def max(self, dim=None, keepdim: bool = False, *, keepdims: bool | None = None):
        """The largest element; with `dim`, (values, indices) along it; with a tensor or Variable,
        the element-wise maximum: as torch.max."""
        if isinstance(dim, (Variable, torch.Tensor)):
            return ops.Maximum.apply(self, dim)
        keepdim = keepdim if keepdims is None else keepdims
        if dim is None:
            return ops.Max.apply(self)
        indices = self.tensor.argmax(dim, keepdim=True)
        values = ops.MaxAlong.apply(self, dim=dim, indices=indices, keepdim=keepdim)
        return MinMaxResult(values, indices if keepdim else indices.squeeze(dim))

    def min(self, dim=None, keepdim: bool = False, *, keepdims: bool | None = None):
        """The smallest element; with `dim`, (values, indices) along it; with a tensor or Variable,
        the element-wise minimum: as torch.min."""
        if isinstance(dim, (Variable, torch.Tensor)):
            return ops.Minimum.apply(self, dim)
        keepdim = keepdim if keepdims is None else keepdims
        if dim is None:
            return ops.Min.apply(self)
        indices = self.tensor.argmin(dim, keepdim=True)
        values = ops.MinAlong.apply(self, dim=dim, indices=indices, keepdim=keepdim)
        return MinMaxResult(values, indices if keepdim else indices.squeeze(dim))

    def t(self):
        if self.dim() > 2:
            raise ShapeError(f"t: expects at most 2 dimensions, got shape {tuple(self.shape)}")
        return ops.Transpose.apply(self, dim0=0, dim1=-1)

    @property
    def T(self):
        """The dimensions in reverse order (a 2-D Variable's transpose), as torch's .T."""
        return ops.Permute.apply(self, dims=tuple(reversed(range(self.dim()))))

    @property
    def mT(self):
        """The last two dimensions swapped (a batch of transposed matrices), as torch's .mT."""
        return ops.Transpose.apply(self, dim0=-2, dim1=-1)

    def transpose(self, dim0: int, dim1: int):
        return ops.Transpose.apply(self, dim0=dim0, dim1=dim1)

    def permute(self, *dims):
        return ops.Permute.apply(self, dims=_flatten_sizes(dims))

    def reshape(self, *shape):
        return ops.Reshape.apply(self, shape=_flatten_sizes(shape))

    def view(self, *shape):
        return ops.View.apply(self, shape=_flatten_sizes(shape))

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        return ops.Reshape.apply(self, shape=self.tensor.flatten(start_dim, end_dim).shape)

    def unsqueeze(self, dim: int):
        return ops.Unsqueeze.apply(self, dim=dim)

    def squeeze(self, dim=None):
        return ops.Squeeze.apply(self, dim=dim)

    def repeat(self, *sizes):
        return ops.Repeat.apply(self, sizes=_flatten_sizes(sizes))

    def expand(self, *sizes):
        return ops.Expand.apply(self, sizes=_flatten_sizes(sizes))

    def expand_as(self, other):
        return self.expand(other.shape)

    def view_as(self, other):
        return self.view(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def clone(self):
        """A copy in new memory; differentiable, unlike detach()."""
        return ops.Clone.apply(self)

    def contiguous(self):
        """This Variable if its tensor is contiguous, else a contiguous copy, as torch does."""
        if self.tensor.is_contiguous():
            return self
        return ops.Clone.apply(self, memory_format=torch.contiguous_format)

    # --- The everyday Tensor surface: torch functions, formatting, more methods -----------------

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        """torch.exp(v), torch.cat([v, w]), tensor + v, F.relu(v): Autogradlib's operations
        (see torch_functions.py); a torch function it does not know raises a TypeError."""
        return torch_functions.dispatch(func, args, kwargs or {})

    def __format__(self, format_spec: str) -> str:
        """f"{loss:.4f}" on a 0-d Variable formats its number, as torch does for 0-d tensors."""
        if self.tensor.dim() == 0:
            return format(self.tensor.item(), format_spec)
        return object.__format__(self, format_spec)

    def __array__(self, dtype=None, copy=None):
        """np.asarray(v): the tensor's values (not an array of Variables)."""
        array = self.numpy()
        return array if dtype is None else array.astype(dtype, copy=False)

    def __contains__(self, element) -> bool:
        element = element.tensor if isinstance(element, Variable) else element
        return element in self.tensor

    def type(self, dtype=None, non_blocking: bool = False):
        """Without an argument, the type's name ('torch.FloatTensor'); with a dtype or a name such
        as 'torch.DoubleTensor', this Variable cast to it (differentiable, like to())."""
        if dtype is None:
            return self.tensor.type()
        if isinstance(dtype, str):  # 'torch.cuda.FloatTensor' names a device too
            return self.to(self.tensor.new_empty(0).type(dtype), non_blocking=non_blocking)
        return self.to(dtype, non_blocking=non_blocking)

    def type_as(self, other) -> Variable:
        return self.to(other.dtype)

    def element_size(self) -> int:
        return self.tensor.element_size()

    def is_floating_point(self) -> bool:
        return self.tensor.is_floating_point()

    def new_zeros(self, *size, **options) -> Variable:
        return _new_leaf(self.tensor.new_zeros, size, options)

    def new_ones(self, *size, **options) -> Variable:
        return _new_leaf(self.tensor.new_ones, size, options)

    def new_empty(self, *size, **options) -> Variable:
        return _new_leaf(self.tensor.new_empty, size, options)

    def new_full(self, size, fill_value, **options) -> Variable:
        return _new_leaf(self.tensor.new_full, (size, fill_value), options)

    def new_tensor(self, data, **options) -> Variable:
        data = data.tensor if isinstance(data, Variable) else data
        return _new_leaf(self.tensor.new_tensor, (data,), options)

    def add(self, other, *, alpha=1):
        """self + alpha * other."""
        return ops.Add.apply(self, other if alpha == 1 else other * alpha)

    def sub(self, other, *, alpha=1):
        """self - alpha * other."""
        return ops.Sub.apply(self, other if alpha == 1 else other * alpha)

    subtract = sub

    def sin(self):
        return ops.Sin.apply(self)

    def cos(self):
        return ops.Cos.apply(self)

    def log1p(self):
        return ops.Log1p.apply(self)

    def expm1(self):
        return ops.Expm1.apply(self)

    def reciprocal(self):
        """1 / self."""
        return ops.Div.apply(1.0, self)

    def rsqrt(self):
        """1 / sqrt(self)."""
        return ops.Pow.apply(self, -0.5)

    def round(self, *, decimals: int = 0):
        """Rounded halves to even; its gradient is 0, as PyTorch's is."""
        return ops.Round.apply(self, decimals=decimals)

    def floor(self):
        return ops.Floor.apply(self)

    def ceil(self):
        return ops.Ceil.apply(self)

    def trunc(self):
        return ops.Trunc.apply(self)

    # Products restricted to given dimensions: torch's own functions, dispatched back to us.
    def mm(self, mat2):
        return torch.mm(self, mat2)

    def bmm(self, mat2):
        return torch.bmm(self, mat2)

    def mv(self, vec):
        return torch.mv(self, vec)

    def dot(self, other):
        return torch.dot(self, other)

    def outer(self, vec2):
        return torch.outer(self, vec2)

    def maximum(self, other):
        return ops.Maximum.apply(self, other)

    def minimum(self, other):
        return ops.Minimum.apply(self, other)

    def norm(self, p="fro", dim=None, keepdim: bool = False, dtype=None):
        """The vector p-norm over `dim` (all elements by default; 'fro' is p = 2), as torch.norm."""
        if p == "fro" or p is None:
            p = 2.0
        if isinstance(p, str):
            raise ValueError(f"norm: p={p!r} (a matrix norm) is not supported; use p='fro' or 2")
        source = self if dtype is None else self.to(dtype)
        return ops.Norm.apply(source, p=p, dim=dim, keepdim=keepdim)

    def var(
        self, dim=None, unbiased=None, keepdim: bool = False, *, correction=None, keepdims=None
    ):
        """sum((x - mean)**2) / (n - correction) over `dim`; correction 1 (unbiased) by default."""
        centred, dim, divisor = self._spread(dim, unbiased, correction)
        keepdim = keepdim if keepdims is None else keepdims
        return (centred * centred).sum(dim, keepdim=keepdim) / divisor

    def std(
        self, dim=None, unbiased=None, keepdim: bool = False, *, correction=None, keepdims=None
    ):
        """sqrt(var) over `dim`, as ||x - mean|| / sqrt(n - correction)."""
        centred, dim, divisor = self._spread(dim, unbiased, correction)
        keepdim = keepdim if keepdims is None else keepdims
        # The norm's gradient is 0 where all values are equal, as torch's std's is (sqrt's is not).
        return ops.Norm.apply(centred, p=2, dim=dim, keepdim=keepdim) / math.sqrt(divisor)

    def _spread(self, dim, unbiased, correction) -> tuple:
        """(self - its mean over dim, dim, n - correction) for var and std."""
        if isinstance(dim, bool):  # var(False): torch's unbiased, given by position
            dim, unbiased = None, dim
        if correction is None:
            correction = 0 if unbiased is False else 1
        count = math.prod(self.shape[axis] for axis in reduced_dims(dim, self.dim()))
        return self - self.mean(dim, keepdim=True), dim, max(count - correction, 0)

    def logsumexp(self, dim, keepdim: bool = False, *, keepdims: bool | None = None):
        """log(sum(exp(x))) over dim, computed as m + log(sum(exp(x - m))) with m the maximum."""
        keepdim = keepdim if keepdims is None else keepdims
        shift = self.tensor.amax(dim, keepdim=True)
        # A constant shift leaves the gradient (the softmax) unchanged; an infinite one is skipped.
        shift = torch.where(shift.isinf(), 0.0, shift)
        total = ops.Sum.apply(ops.Exp.apply(self - shift), dim=dim, keepdim=True).log() + shift
        return total if keepdim else ops.Squeeze.apply(total, dim=dim)

    def prod(self, dim=None, keepdim: bool = False, *, dtype=None, keepdims: bool | None = None):
        keepdim = keepdim if keepdims is None else keepdims
        source = self if dtype is None else self.to(dtype)
        return ops.Prod.apply(source, dim=dim, keepdim=keepdim)

    def cumsum(self, dim: int):
        return ops.Cumsum.apply(self, dim=dim)

    def masked_fill(self, mask, value):
        """value where mask is True, self elsewhere; differentiable in self and a Variable value."""
        mask = mask.tensor if isinstance(mask, Variable) else mask
        return ops.Where.apply(mask, value, self)

    def gather(self, dim: int, index):
        """Elements picked along dim by index, as torch.gather (say logits.gather(1, labels))."""
        index = index.tensor if isinstance(index, Variable) else index
        return ops.Gather.apply(self, dim=dim, index=index)

    def split(self, split_size_or_sections, dim: int = 0) -> tuple:
        """Pieces along dim of the given size (or sizes), each a differentiable slice."""
        parts = self.tensor.split(split_size_or_sections, dim)
        return self._slices([part.shape[dim] for part in parts], dim)

    def chunk(self, chunks: int, dim: int = 0) -> tuple:
        """At most `chunks` pieces along dim, as torch.chunk, each a differentiable slice."""
        parts = self.tensor.chunk(chunks, dim)
        return self._slices([part.shape[dim] for part in parts], dim)

    def unbind(self, dim: int = 0) -> tuple:
        """The slices along dim, with dim removed."""
        before = (slice(None),) * (dim % self.dim())
        return tuple(self[(*before, index)] for index in range(self.shape[dim]))

    def _slices(self, sizes: list, dim: int) -> tuple:
        before = (slice(None),) * (dim % self.dim())
        starts = [sum(sizes[:position]) for position in range(len(sizes))]
        return tuple(
            self[(*before, slice(start, start + size))]
            for start, size in zip(starts, sizes, strict=True)
        )

    def all(self, dim=None, keepdim: bool = False, *, keepdims: bool | None = None) -> Variable:
        keepdim = keepdim if keepdims is None else keepdims
        tensor = self.tensor
        return Variable._from_tensor(tensor.all() if dim is None else tensor.all(dim, keepdim))

    def any(self, dim=None, keepdim: bool = False, *, keepdims: bool | None = None) -> Variable:
        keepdim = keepdim if keepdims is None else keepdims
        tensor = self.tensor
        return Variable._from_tensor(tensor.any() if dim is None else tensor.any(dim, keepdim))

    def isnan(self) -> Variable:
        return Variable._from_tensor(self.tensor.isnan())

    def isinf(self) -> Variable:
        return Variable._from_tensor(self.tensor.isinf())

    def isfinite(self) -> Variable:
        return Variable._from_tensor(self.tensor.isfinite())

    # --- In-place operations -------------------------------------------------------------------
    # Each changes this Variable's tensor and returns the Variable itself, so every alias sees the
    # change. Under no_grad(), or when nothing involved requires grad, only the tensor changes;
    # otherwise the operation is recorded and becomes this Variable's grad_op (_record_inplace).

    def add_(self, other, *, alpha=1) -> Variable:
        if self._records_inplace("add_", other):
            return self._record_inplace(ops.AddInplace, other, alpha=alpha)
        self.tensor.add_(_plain(other, "add_"), alpha=alpha)
        return self

    def sub_(self, other, *, alpha=1) -> Variable:
        if self._records_inplace("sub_", other):
            return self._record_inplace(ops.SubInplace, other, alpha=alpha)
        self.tensor.sub_(_plain(other, "sub_"), alpha=alpha)
        return self

    def mul_(self, other) -> Variable:
        if self._records_inplace("mul_", other):
            return self._record_inplace(ops.MulInplace, other, keep_a=_requires_grad(other))
        self.tensor.mul_(_plain(other, "mul_"))
        return self

    def div_(self, other) -> Variable:
        if self._records_inplace("div_", other):
            return self._record_inplace(ops.DivInplace, other, keep_a=_requires_grad(other))
        self.tensor.div_(_plain(other, "div_"))
        return self

    def __iadd__(self, other) -> Variable:
        return self.add_(other)

    def __isub__(self, other) -> Variable:
        return self.sub_(other)

    def __imul__(self, other) -> Variable:
        return self.mul_(other)

    def __itruediv__(self, other) -> Variable:
        return self.div_(other)

    def clamp_(self, min=None, max=None) -> Variable:
        if self._records_inplace("clamp_"):
            return self._record_inplace(ops.ClampInplace, min=min, max=max)
        self.tensor.clamp_(min, max)
        return self

    clip_ = clamp_

    def relu_(self) -> Variable:
        if self._records_inplace("relu_"):
            return self._record_inplace(ops.ReLUInplace)
        self.tensor.relu_()
        return self

    def copy_(self, src) -> Variable:
        if self._records_inplace("copy_", src):
            return self._record_inplace(ops.CopyInplace, src)
        self.tensor.copy_(_plain(src, "copy_"))
        return self

    def fill_(self, value) -> Variable:
        if isinstance(value, Variable):
            if value.dim() != 0:
                raise ShapeError(
                    "fill_ only supports 0-dimension value tensor but got tensor with "
                    f"{value.dim()} dimensions; use copy_ to copy a tensor of shape "
                    f"{tuple(value.shape)}"
                )
            return self.copy_(value)
        return self._overwrite("fill_", value)

    def zero_(self) -> Variable:
        return self._overwrite("zero_")

    def uniform_(self, from_: float = 0, to: float = 1, *, generator=None) -> Variable:
        return self._overwrite("uniform_", from_, to, generator=generator)

    def normal_(self, mean: float = 0, std: float = 1, *, generator=None) -> Variable:
        return self._overwrite("normal_", mean, std, generator=generator)

    def __setitem__(self, index, value) -> None:
        index = _unwrap_index(index)
        if self._records_inplace("__setitem__", value):
            self._record_inplace(ops.SetItem, value, index=index)
        else:
            self.tensor[index] = _plain(value, "__setitem__")

    def _overwrite(self, method: str, *args, **kwargs) -> Variable:
        """Fill the tensor with values that do not depend on it (fill_, zero_, uniform_, ...)."""
        if self._records_inplace(method):
            return self._record_inplace(ops.Overwrite, method=method, args=args, kwargs=kwargs)
        getattr(self.tensor, method)(*args, **kwargs)
        return self

    def _records_inplace(self, name: str, *operands) -> bool:
        """Whether an in-place change of self by `operands` must be recorded; while recording, a
        leaf that requires grad refuses it, as in PyTorch (its gradient would lose its meaning)."""
        if not is_grad_enabled():  # torch.no_grad() counts too: tutorials update under it
            return False
        if self.requires_grad:
            if self.grad_op is None:
                raise GraphError(
                    f"{name}: a leaf Variable that requires grad is being used in an in-place "
                    f"operation (shape {tuple(self.shape)}). To update parameters, do it under "
                    "`with no_grad():`, as optimizers do; to compute a new value, use an "
                    "out-of-place operation (w = w + 1 rather than w += 1)"
                )
            return True
        return any(_requires_grad(operand) for operand in operands)

    def _record_inplace(self, operator_class, *operands, **options) -> Variable:
        """Apply an in-place operator to self and make it self's grad_op (self stays the same
        object, so its aliases follow)."""
        previous = self.grad_op
        private = previous is not None and previous.output_view_is_private
        if self.tensor._base is not None and not private:
            raise GraphError(
                f"{operator_class.label}: in-place operation on a view (shape "
                f"{tuple(self.shape)}) of another tensor while recording: it would change that "
                "tensor behind the graph's back (PyTorch rebases the view's history; Autogradlib "
                "refuses rather than compute a wrong gradient). Use an out-of-place operation "
                "(v = v + 1, or y[i] = y[i] + 1 on the indexed Variable) or clone() the view first"
            )
        retains_grad = self.retains_grad
        self.grad_op = operator_class.apply(self, *operands, **options).grad_op
        self.requires_grad = True
        if private:
            self.grad_op.output_view_is_private = True  # the same memory as before
        if retains_grad:
            # .grad is then the gradient of the new value, as in PyTorch.
            previous.retained = None
            self.grad_op.retain(self)
        return self


def _flatten_sizes(sizes: tuple) -> tuple:
    """Accept both f(2, 3) and f((2, 3)), as torch does."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list, torch.Size)):
        return tuple(sizes[0])
    return sizes


def _new_leaf(make, args: tuple, options: dict) -> Variable:
    """A new Variable from one of the tensor's new_* methods, a leaf only if requires_grad=True."""
    requires_grad = options.pop("requires_grad", False)
    tensor = make(*args, **options)
    if requires_grad:
        return Variable(tensor, requires_grad=True)
    return Variable._from_tensor(tensor)


def _requires_grad(value) -> bool:
    return isinstance(value, Variable) and value.requires_grad


def _plain(value, name: str):
    """An in-place operation's operand as a tensor or a number, when nothing is recorded."""
    if isinstance(value, Variable):
        return value.tensor
    if isinstance(value, torch.Tensor) and value.requires_grad:
        return untracked_tensor(name, 1, value)
    return value


def _unwrap_index(index):
    """An index with Variables (say, a boolean mask) replaced by their tensors."""
    if isinstance(index, tuple):
        return tuple(_unwrap_index(part) for part in index)
    return index.tensor if isinstance(index, Variable) else index


# The operators build Variables, so they are imported once this class exists.
from autogradlib import hooks, operators as ops, torch_functions  # noqa: E402
from autogradlib.engine import run_backward  # noqa: E402
from autogradlib.grad_operator import untracked_tensor  # noqa: E402
from autogradlib.operators.reductions import reduced_dims  # noqa: E402
